#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The fused one-pass update of FieldStatistics, specialised per selection shape.
//
// `foldRun` is generic over three compile-time tags: the highest moment kept (0…4), whether
// the state holds min/max, and whether it holds thresholds/quantiles ("tails"). The
// optimiser specialises it for each of the 20 shapes, so the per-value loop has no
// branches on the selection: a "moments up to order 4 + extrema" fold is a straight run
// of four-lane vector arithmetic over the message's run in each plane. Thresholds and
// quantiles, whose counts are only known at run time, are inner loops of the tails shapes.

protocol MomentOrderTag { static var order: Int { get } }
enum MomentOrder0: MomentOrderTag { static var order: Int { 0 } }
enum MomentOrder1: MomentOrderTag { static var order: Int { 1 } }
enum MomentOrder2: MomentOrderTag { static var order: Int { 2 } }
enum MomentOrder3: MomentOrderTag { static var order: Int { 3 } }
enum MomentOrder4: MomentOrderTag { static var order: Int { 4 } }

protocol ShapeFlag { static var on: Bool { get } }
enum ShapeOn: ShapeFlag { static var on: Bool { true } }
enum ShapeOff: ShapeFlag { static var on: Bool { false } }

/// Run-time parameters of the thresholds and quantiles ("tails") of a selection.
struct TailParameters {
    var thresholds: UnsafeBufferPointer<Double>
    var levels: UnsafeBufferPointer<Double>
    /// iterative-stats' `max_it` as a double (at least 2).
    var maxIt: Double
}

/// Robbins–Monro step exponent: n^gamma with gamma = 0.5 + 0.5·(n−1)/(max_it−1), written
/// as iterative-stats writes it so the floating-point operations are the same.
@inline(__always)
func robbinsMonroDenominator(n: Double, maxIt: Double) -> Double {
    let gamma = 0.5 + 0.5 * ((n - 1.0) / (maxIt - 1.0))
    return pow(n, gamma)
}

typealias Lanes = SIMD4<Double>

/// The run of one message in every plane of its step: plane k of the run starts at
/// `first + k·planeStride`.
struct PlaneRun {
    let first: UnsafeMutablePointer<Double>
    let planeStride: Int

    @inline(__always) func plane(_ k: Int) -> UnsafeMutablePointer<Double> { first + k * planeStride }
}

/// Four lanes from `p` (`full`), or `p[0]` in every lane (the last values of a run that
/// do not fill a vector; only lane 0 is stored back).
@inline(__always)
func loadLanes(_ p: UnsafeMutablePointer<Double>, _ full: Bool) -> Lanes {
    full ? UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) : Lanes(repeating: p.pointee)
}

@inline(__always)
func storeLanes(_ p: UnsafeMutablePointer<Double>, _ v: Lanes, _ full: Bool) {
    if full { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) } else { p.pointee = v[0] }
}

/// The Robbins–Monro denominator of the last count seen (a pow, computed once per distinct n).
struct DenominatorCache {
    var n = -1.0
    var value = 1.0

    @inline(__always)
    mutating func get(_ n: Double, maxIt: Double) -> Double {
        if n != self.n {
            self.n = n
            value = robbinsMonroDenominator(n: n, maxIt: maxIt)
        }
        return value
    }
}

/// The factors of the moment updates that depend only on the new count n, per lane. All
/// cells of a message usually have the same count, so they are computed once per message
/// (one division) instead of once per value, which also takes the division out of each
/// value's dependency chain.
struct MomentCoefficients {
    private(set) var n = Lanes(repeating: -1)
    private(set) var reciprocal = Lanes(repeating: 0)  // 1/n
    private(set) var a2 = Lanes(repeating: 0)  // (n−1)/n
    private(set) var a3 = Lanes(repeating: 0)  // (n−1)(n−2)/n²
    private(set) var a4 = Lanes(repeating: 0)  // (n−1)(n²−3n+3)/n³

    @inline(__always)
    mutating func prepare(_ n: Lanes) {
        if n != self.n { recompute(n) }
    }

    @inline(never)
    private mutating func recompute(_ n: Lanes) {
        self.n = n
        let r = 1 / n
        reciprocal = r
        a2 = (n - 1) * r
        a3 = a2 * (n - 2) * r
        a4 = a2 * ((n - 3) * n + 3) * (r * r)
    }
}

/// Folds values `i ..< i + 4` (`full`) or `i` alone into the same cells of `run`. Four
/// cells per step: the planar layout makes each plane's four cells one unaligned vector
/// load and store (two SSE2 registers on baseline x86-64, one AVX register when built
/// for a CPU with AVX).
@inline(__always)
func foldLanes<O: MomentOrderTag, E: ShapeFlag, T: ShapeFlag>(
    _: O.Type, _: E.Type, _: T.Type, run: PlaneRun, at i: Int, full: Bool,
    values: UnsafePointer<Double>, tails: TailParameters, cache: inout DenominatorCache,
    coefficients: inout MomentCoefficients
) {
    let order = O.order
    let extrema = E.on
    let hasTails = T.on
    let minPlane = 1 + order, maxPlane = 2 + order
    let thresholdPlane = 1 + order + (extrema ? 2 : 0)

    let x = full ? UnsafeRawPointer(values + i).loadUnaligned(as: Lanes.self) : Lanes(repeating: values[i])
    let nPtr = run.plane(0) + i
    let n = loadLanes(nPtr, full) + 1
    storeLanes(nPtr, n, full)
    if order >= 1 {
        // Pébay's one-sample updates from the previous moments, with the factors that
        // depend only on n hoisted out (MomentCoefficients). With δ = x − mean, dn = δ/n:
        //   mean' = mean + dn
        //   M2'   = M2 + δ²·(n−1)/n
        //   M3'   = M3 + δ³·(n−1)(n−2)/n² − 3·dn·M2
        //   M4'   = M4 + δ⁴·(n−1)(n²−3n+3)/n³ + dn·(6·dn·M2 − 4·M3)
        // Every order reads only the previous moments, so the updates run in parallel.
        coefficients.prepare(n)
        let k = coefficients
        let meanPtr = run.plane(1) + i
        let mean = loadLanes(meanPtr, full)
        let delta = x - mean
        let deltaN = delta * k.reciprocal
        storeLanes(meanPtr, mean + deltaN, full)
        if order >= 2 {
            let m2Ptr = run.plane(2) + i
            let m2 = loadLanes(m2Ptr, full)
            let delta2 = delta * delta
            storeLanes(m2Ptr, m2 + delta2 * k.a2, full)
            if order >= 3 {
                let m3Ptr = run.plane(3) + i
                let m3 = loadLanes(m3Ptr, full)
                let y = deltaN * m2
                storeLanes(m3Ptr, m3 + (delta2 * delta * k.a3 - 3 * y), full)
                if order >= 4 {
                    let m4Ptr = run.plane(4) + i
                    let m4 = loadLanes(m4Ptr, full)
                    storeLanes(m4Ptr, m4 + (delta2 * delta2 * k.a4 + deltaN * (6 * y - 4 * m3)), full)
                }
            }
        }
    }
    if extrema {
        let loPtr = run.plane(minPlane) + i, hiPtr = run.plane(maxPlane) + i
        let lo = loadLanes(loPtr, full), hi = loadLanes(hiPtr, full)
        let newLo = lo.replacing(with: x, where: x .< lo)
        let newHi = hi.replacing(with: x, where: x .> hi)
        storeLanes(loPtr, newLo, full)
        storeLanes(hiPtr, newHi, full)
        if hasTails && tails.levels.count > 0 {
            let range = newHi - newLo
            var den = Lanes(repeating: cache.get(n[0], maxIt: tails.maxIt))
            if full {
                for l in 1 ..< Lanes.scalarCount { den[l] = cache.get(n[l], maxIt: tails.maxIt) }
            }
            let step = range / den
            let first = n .== 1
            let quantilePlane = thresholdPlane + tails.thresholds.count
            for j in 0 ..< tails.levels.count {
                let qPtr = run.plane(quantilePlane + j) + i
                let q = loadLanes(qPtr, full)
                let indicator = Lanes(repeating: 0).replacing(with: 1, where: x .<= q)
                let next = q - step * (indicator - tails.levels[j])
                storeLanes(qPtr, next.replacing(with: x, where: first), full)
            }
        }
    }
    if hasTails {
        for j in 0 ..< tails.thresholds.count {
            let cPtr = run.plane(thresholdPlane + j) + i
            let c = loadLanes(cPtr, full)
            storeLanes(cPtr, c.replacing(with: c + 1, where: x .> Lanes(repeating: tails.thresholds[j])), full)
        }
    }
}

/// Folds `values[i]` into cell i of `run`, for every i.
@inline(__always)
func foldRun<O: MomentOrderTag, E: ShapeFlag, T: ShapeFlag>(
    _ o: O.Type, _ e: E.Type, _ t: T.Type, run: PlaneRun, values: UnsafeBufferPointer<Double>, tails: TailParameters
) {
    guard let input = values.baseAddress else { return }
    let count = values.count
    var cache = DenominatorCache()
    var coefficients = MomentCoefficients()
    var i = 0
    while count - i >= Lanes.scalarCount {
        foldLanes(o, e, t, run: run, at: i, full: true, values: input, tails: tails, cache: &cache,
                  coefficients: &coefficients)
        i += Lanes.scalarCount
    }
    while i < count {
        foldLanes(o, e, t, run: run, at: i, full: false, values: input, tails: tails, cache: &cache,
                  coefficients: &coefficients)
        i += 1
    }
}

func foldDispatch(layout: FieldLayout, run: PlaneRun, values: UnsafeBufferPointer<Double>, tails: TailParameters) {
    switch layout.order {
    case 0: foldDispatch(MomentOrder0.self, layout, run, values, tails)
    case 1: foldDispatch(MomentOrder1.self, layout, run, values, tails)
    case 2: foldDispatch(MomentOrder2.self, layout, run, values, tails)
    case 3: foldDispatch(MomentOrder3.self, layout, run, values, tails)
    default: foldDispatch(MomentOrder4.self, layout, run, values, tails)
    }
}

@inline(__always)
private func foldDispatch<O: MomentOrderTag>(_ o: O.Type, _ layout: FieldLayout, _ run: PlaneRun,
                                             _ values: UnsafeBufferPointer<Double>, _ tails: TailParameters) {
    let hasTails = layout.thresholdCount + layout.quantileCount > 0
    switch (layout.extrema, hasTails) {
    case (false, false): foldRun(o, ShapeOff.self, ShapeOff.self, run: run, values: values, tails: tails)
    case (true, false): foldRun(o, ShapeOn.self, ShapeOff.self, run: run, values: values, tails: tails)
    case (false, true): foldRun(o, ShapeOff.self, ShapeOn.self, run: run, values: values, tails: tails)
    case (true, true): foldRun(o, ShapeOn.self, ShapeOn.self, run: run, values: values, tails: tails)
    }
}
