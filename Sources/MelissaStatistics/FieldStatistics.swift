#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A field's statistics on one server rank: `nbTimeSteps × blockSize` cells, every enabled
/// statistic updated in one fused pass per message.
///
/// State is step-major; each step holds one plane of `blockSize` doubles per stored
/// quantity (count, mean, M2, …), so a message (one step, a contiguous run of cells)
/// updates one contiguous run in each of its step's planes, four cells per vector
/// operation. Layout and semantics: docs/STATISTICS.md.
public struct FieldStatistics: Sendable {
    public let selection: StatisticsSelection
    public let nbTimeSteps: Int
    public let blockSize: Int
    let layout: FieldLayout
    /// Per step, `layout.planes` planes of `blockSize` doubles: index
    /// `(step · planes + plane) · blockSize + cell`.
    private(set) var state: [Double]

    /// Creates an empty state. Traps on negative dimensions, negative `expectedSamples`,
    /// a NaN threshold or a quantile level outside (0, 1) (the configuration is validated
    /// before this point).
    public init(selection: StatisticsSelection, nbTimeSteps: Int, blockSize: Int) {
        precondition(nbTimeSteps >= 0 && blockSize >= 0, "negative dimensions \(nbTimeSteps) × \(blockSize)")
        Self.validate(selection)
        self.selection = selection
        self.nbTimeSteps = nbTimeSteps
        self.blockSize = blockSize
        layout = FieldLayout(selection)
        let planes = layout.planes
        state = [Double](repeating: 0, count: nbTimeSteps * planes * blockSize)
        if layout.extrema {
            let lo = layout.minPlane, hi = layout.maxPlane
            state.withUnsafeMutableBufferPointer { s in
                for step in 0 ..< nbTimeSteps {
                    let stepBase = step * planes * blockSize
                    for c in 0 ..< blockSize {
                        s[stepBase + lo * blockSize + c] = .infinity
                        s[stepBase + hi * blockSize + c] = -.infinity
                    }
                }
            }
        }
    }

    private static func validate(_ s: StatisticsSelection) {
        precondition(s.expectedSamples >= 0, "expectedSamples \(s.expectedSamples) < 0")
        for t in s.thresholds { precondition(!t.isNaN, "NaN threshold") }
        for a in s.quantileLevels { precondition(a > 0 && a < 1, "quantile level \(a) outside (0, 1)") }
        precondition(s.thresholds.count <= Int(UInt32.max) && s.quantileLevels.count <= Int(UInt32.max))
    }

    /// iterative-stats' `max_it`: `expectedSamples`, at least 2.
    var robbinsMonroMaxIt: Double { Double(max(2, selection.expectedSamples)) }

    /// Folds `values` into cells `localOffset ..< localOffset + values.count` of `step`.
    /// Each value is read once and every enabled statistic is updated in the same pass;
    /// nothing is allocated (unless this value was copied since its last update: then the
    /// state is copied once, copy-on-write). Traps if the step or the cells are outside
    /// the state.
    public mutating func update(step: Int, localOffset: Int, values: UnsafeBufferPointer<Double>) {
        precondition(step >= 0 && step < nbTimeSteps, "step \(step) outside 0..<\(nbTimeSteps)")
        precondition(localOffset >= 0 && values.count <= blockSize - localOffset,
                     "cells \(localOffset)..<\(localOffset + values.count) outside the block of \(blockSize)")
        if values.isEmpty { return }
        let first = step * layout.planes * blockSize + localOffset
        let layout = self.layout
        let blockSize = self.blockSize
        let maxIt = robbinsMonroMaxIt
        selection.thresholds.withUnsafeBufferPointer { thresholds in
            selection.quantileLevels.withUnsafeBufferPointer { levels in
                state.withUnsafeMutableBufferPointer { s in
                    foldDispatch(layout: layout, run: PlaneRun(first: s.baseAddress! + first, planeStride: blockSize),
                                 values: values,
                                 tails: TailParameters(thresholds: thresholds, levels: levels, maxIt: maxIt))
                }
            }
        }
    }

    /// The statistics this selection can extract, in a stable order: count, mean, variance,
    /// skewness, kurtosis, minimum, maximum, thresholds (in selection order), quantiles
    /// (in selection order), each present only when selected.
    public var available: [Statistic] {
        var list: [Statistic] = [.count]
        if selection.mean { list.append(.mean) }
        if selection.variance { list.append(.variance) }
        if selection.skewness { list.append(.skewness) }
        if selection.kurtosis { list.append(.kurtosis) }
        if selection.minimum { list.append(.minimum) }
        if selection.maximum { list.append(.maximum) }
        for i in selection.thresholds.indices { list.append(.threshold(i)) }
        for i in selection.quantileLevels.indices { list.append(.quantile(i)) }
        return list
    }

    /// Whether `available` contains `s` (without building the list).
    func isAvailable(_ s: Statistic) -> Bool {
        switch s {
        case .count: return true
        case .mean: return selection.mean
        case .variance: return selection.variance
        case .skewness: return selection.skewness
        case .kurtosis: return selection.kurtosis
        case .minimum: return selection.minimum
        case .maximum: return selection.maximum
        case let .threshold(i): return selection.thresholds.indices.contains(i)
        case let .quantile(i): return selection.quantileLevels.indices.contains(i)
        }
    }

    public var stateBytes: Int { state.count * MemoryLayout<Double>.size }

    /// Writes statistic `s` of `step` for all `blockSize` cells into `output` (count:
    /// `blockSize`). Undefined values are NaN (docs/STATISTICS.md). Traps if `s` is not in
    /// `available`, on a bad step or on a wrong output size.
    public func extract(_ s: Statistic, step: Int, into output: UnsafeMutableBufferPointer<Double>) {
        precondition(step >= 0 && step < nbTimeSteps, "step \(step) outside 0..<\(nbTimeSteps)")
        precondition(output.count == blockSize, "output holds \(output.count) values, block has \(blockSize)")
        precondition(isAvailable(s), "statistic \(s) is not in the selection")
        let layout = self.layout
        let blockSize = self.blockSize
        state.withUnsafeBufferPointer { st in
            guard let base = st.baseAddress.map({ $0 + step * layout.planes * blockSize }) else { return }
            func plane(_ k: Int) -> UnsafePointer<Double> { base + k * blockSize }
            let n = plane(0)
            /// Plane `k` where n > 0, NaN elsewhere.
            func defined(_ k: Int) {
                let p = plane(k)
                for c in 0 ..< blockSize { output[c] = n[c] > 0 ? p[c] : .nan }
            }
            switch s {
            case .count:
                for c in 0 ..< blockSize { output[c] = n[c] }
            case .mean:
                defined(1)
            case .variance:
                let m2 = plane(2)
                for c in 0 ..< blockSize { output[c] = n[c] >= 2 ? m2[c] / (n[c] - 1) : .nan }
            case .skewness:
                let m2 = plane(2), m3 = plane(3)
                for c in 0 ..< blockSize {
                    // Written as iterative-stats writes it: n ** 0.5 * M3 / M2 ** 1.5.
                    output[c] = n[c] > 0 && m2[c] != 0 ? pow(n[c], 0.5) * m3[c] / pow(m2[c], 1.5) : .nan
                }
            case .kurtosis:
                let m2 = plane(2), m4 = plane(4)
                for c in 0 ..< blockSize {
                    output[c] = n[c] > 0 && m2[c] != 0 ? n[c] * m4[c] / (m2[c] * m2[c]) : .nan
                }
            case .minimum:
                defined(layout.minPlane)
            case .maximum:
                defined(layout.maxPlane)
            case let .threshold(i):
                let p = plane(layout.thresholdPlane + i)
                for c in 0 ..< blockSize { output[c] = p[c] }
            case let .quantile(i):
                defined(layout.quantilePlane + i)
            }
        }
    }

    // MARK: - Encoding

    private static let flagBits: UInt32 = 0x3F

    private static func flags(_ s: StatisticsSelection) -> UInt32 {
        (s.mean ? 1 : 0) | (s.variance ? 2 : 0) | (s.skewness ? 4 : 0) | (s.kurtosis ? 8 : 0)
            | (s.minimum ? 16 : 0) | (s.maximum ? 32 : 0)
    }

    /// Versioned, checksummed byte encoding of the whole state (docs/STATISTICS.md, "State encoding").
    public func encoded() -> [UInt8] {
        let header = StateFormat.commonHeaderBytes + 24
        let capacity = header + 8 * (selection.thresholds.count + selection.quantileLevels.count) + 8 + stateBytes + 4
        var w = StateWriter(kind: StateKind.field, nbTimeSteps: nbTimeSteps, blockSize: blockSize, capacity: capacity)
        w.u32(Self.flags(selection))
        w.u32(UInt32(selection.thresholds.count))
        w.u32(UInt32(selection.quantileLevels.count))
        w.u32(UInt32(layout.planes))
        w.u64(UInt64(selection.expectedSamples))
        for t in selection.thresholds { w.f64(t) }
        for a in selection.quantileLevels { w.f64(a) }
        w.u64(UInt64(state.count))
        state.withUnsafeBufferPointer { w.f64s($0) }
        return w.finish()
    }

    /// Decodes `encoded()` output. Validates magic, version, kind, every length (before
    /// allocating anything from it) and the CRC-32, then the selection.
    public init(decoding bytes: [UInt8]) throws(StatisticsStateError) {
        var r = StateReader(bytes)
        let (steps, block) = try r.commonHeader(kind: StateKind.field)
        let flags = try r.u32()
        let thresholdCount = Int(try r.u32())
        let quantileCount = Int(try r.u32())
        let planes = Int(try r.u32())
        let expectedSamples = try r.size("expectedSamples")
        // Selection arrays: check they are there before allocating them.
        let tailBytes = 8 * (thresholdCount + quantileCount)
        if bytes.count - r.offset < tailBytes {
            throw .truncated(needed: r.offset + tailBytes, available: bytes.count)
        }
        var thresholds = [Double](), levels = [Double]()
        thresholds.reserveCapacity(thresholdCount)
        levels.reserveCapacity(quantileCount)
        for _ in 0 ..< thresholdCount { thresholds.append(try r.f64()) }
        for _ in 0 ..< quantileCount { levels.append(try r.f64()) }
        let selection = StatisticsSelection(
            mean: flags & 1 != 0, variance: flags & 2 != 0, skewness: flags & 4 != 0, kurtosis: flags & 8 != 0,
            minimum: flags & 16 != 0, maximum: flags & 32 != 0,
            thresholds: thresholds, quantileLevels: levels, expectedSamples: expectedSamples)
        let layout = FieldLayout(selection)
        guard planes == layout.planes else {
            throw .inconsistentSizes(what: "planes (doubles per cell)", declared: planes, expected: layout.planes)
        }
        let count = try r.payloadHeader(expected: checkedProduct(steps, block, planes))
        // The bytes are now known to be intact: check the selection's values.
        guard flags & ~Self.flagBits == 0 else { throw .invalidValue(what: "selection flags", value: Double(flags)) }
        for t in thresholds where t.isNaN { throw .invalidValue(what: "threshold", value: t) }
        for a in levels where !(a > 0 && a < 1) { throw .invalidValue(what: "quantile level", value: a) }
        var state = [Double](repeating: 0, count: count)
        try state.withUnsafeMutableBufferPointer { (s) throws(StatisticsStateError) in try r.f64s(into: s) }
        self.selection = selection
        self.nbTimeSteps = steps
        self.blockSize = block
        self.layout = layout
        self.state = state
    }
}
