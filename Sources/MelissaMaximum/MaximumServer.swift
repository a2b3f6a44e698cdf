import Foundation
import MelissaCheckpoint
import MelissaProtocol
import MelissaConfig
import MelissaServer
import MelissaTransport

/// The example flavor of docs/FLAVORS.md, run by `server_class: "maximum"`: per field, time step
/// and cell, the maximum over the simulations and how many simulations contributed. Small on
/// purpose, and complete: it checkpoints, so it survives a server restart, and its counts show
/// that every piece was applied exactly once (each cell's count is the number of finished
/// simulations). Results: `results/<field>.maximum.f64` and `results/<field>.count.f64`, raw
/// little-endian float64, `nb_time_steps` rows of the field's global size.
public final class MaximumServer: BaseServer {
    /// The name `server_class` selects this flavor by.
    public static let flavorName = "maximum"
    /// This flavor's registry entry: `server_class: "maximum"` and its section `maximum_config`.
    public static let flavor = ServerFlavor(spec: MaximumSettings.spec) {
        try MaximumServer(config: $0, studyDirectory: $1, launcherAddress: $2)
    }

    /// Sets up the server with the routing `maximum_config.routing` asks for.
    public init(config: StudyConfig, studyDirectory: String, launcherAddress: String,
                communicator: Communicator = .world, transport: (any ServerTransport)? = nil) throws {
        let routing = config.settings(as: MaximumSettings.self)?.routing.dataRouting ?? .cellBlocks
        try super.init(config: config, studyDirectory: studyDirectory, launcherAddress: launcherAddress,
                       communicator: communicator, routing: routing, transport: transport)
    }

    /// One field's state on this rank: step-major, `blockSize` cells per step.
    struct FieldState {
        var maxima: [Double]
        var counts: [Double]
        init(cells: Int) {
            maxima = Array(repeating: -.infinity, count: cells)
            counts = Array(repeating: 0, count: cells)
        }
    }

    /// Per field, once its first piece arrived (or at the end, for a rank that got none).
    var fields: [FieldState?] = []

    /// One slot per field; a restored checkpoint replaces them.
    public override func prepare() throws {
        fields = Array(repeating: nil, count: config.studyOptions.fieldNames.count)
    }

    /// Folds one piece in: a running maximum and a count per cell.
    public override func apply(_ piece: DataPiece) throws {
        let field = Int(piece.header.field)
        let cells = config.studyOptions.nbTimeSteps * Int(piece.layout.blockSize)
        let block = Int(piece.layout.blockSize)
        var state = fields[field] ?? FieldState(cells: cells)
        // A restored state that does not fit this rank's block would be indexed out of bounds.
        guard state.maxima.count == cells else {
            throw ServerError.setup("field \(config.studyOptions.fieldNames[field]): the restored state has \(state.maxima.count) cells, this rank's block needs \(cells)")
        }
        // Taken out while it is updated, so `state` holds the arrays' only reference (no copy).
        fields[field] = nil
        let start = Int(piece.header.timeStep) * block + piece.localOffset
        piece.withValues { values in
            for (j, value) in values.enumerated() {
                state.maxima[start + j] = max(state.maxima[start + j], value)
                state.counts[start + j] += 1
            }
        }
        fields[field] = state
    }

    /// Gathers every rank's state on rank 0, which writes the two files per field: blocks side
    /// by side under cell blocks, whole fields combined (maximum, sum) under whole steps. Collective.
    public override func finish() throws {
        let steps = config.studyOptions.nbTimeSteps
        let directory = "\(studyDirectory)/results"
        if rank == 0 { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        for (f, name) in config.studyOptions.fieldNames.enumerated() {
            // A rank without data still takes part: the field's size comes from the others.
            let known = fieldLayouts[f].map { Int64($0.globalSize) }
            let globalSize = Int(try comm.allreduceMax(known ?? 0))
            let smallest = -(try comm.allreduceMax(-(known ?? Int64.max)))
            guard globalSize > 0 else { continue }
            // Ranks that learned different sizes (simulations disagreeing) hold blocks that do not
            // assemble into one field; every rank sees the same two reductions, so all skip it.
            guard smallest == Int64(globalSize) else {
                if rank == 0 { recordError("field \(name): server ranks received different field sizes (\(smallest) and \(globalSize)); no results written for it") }
                continue
            }
            guard routing == .cellBlocks else {
                try finishWholeSteps(field: f, name: name, globalSize: globalSize, directory: directory)
                continue
            }
            let blocks = BlockPartition(globalSize: UInt64(globalSize), serverCount: commSize)
            let mine = fields[f] ?? FieldState(cells: steps * Int(blocks.block(rank).count))
            let maxima = try mine.maxima.withUnsafeBufferPointer { try comm.gather($0, root: 0) }
            let counts = try mine.counts.withUnsafeBufferPointer { try comm.gather($0, root: 0) }
            guard rank == 0 else { continue }
            guard maxima.count == steps * globalSize, counts.count == maxima.count else {
                throw ServerError.invariant("field \(name): gathered \(maxima.count) values for \(steps) steps of \(globalSize)")
            }
            try write(rowMajor(maxima, blocks: blocks, steps: steps), to: "\(directory)/\(name).maximum.f64")
            try write(rowMajor(counts, blocks: blocks, steps: steps), to: "\(directory)/\(name).count.f64")
        }
    }

    /// Whole-step routing: each rank holds whole fields for the steps (or simulations) routed to
    /// it, -inf and 0 elsewhere; rank 0 combines every rank's arrays cell by cell.
    func finishWholeSteps(field f: Int, name: String, globalSize: Int, directory: String) throws {
        let cells = config.studyOptions.nbTimeSteps * globalSize
        let mine = fields[f] ?? FieldState(cells: cells)
        guard mine.maxima.count == cells else {
            throw ServerError.invariant("field \(name): this rank holds \(mine.maxima.count) cells, the field needs \(cells)")
        }
        let maxima = try mine.maxima.withUnsafeBufferPointer { try comm.gather($0, root: 0) }
        let counts = try mine.counts.withUnsafeBufferPointer { try comm.gather($0, root: 0) }
        guard rank == 0 else { return }
        guard maxima.count == commSize * cells, counts.count == maxima.count else {
            throw ServerError.invariant("field \(name): gathered \(maxima.count) values from \(commSize) ranks of \(cells)")
        }
        var maximum = [Double](repeating: -.infinity, count: cells)
        var count = [Double](repeating: 0, count: cells)
        for r in 0..<commSize {
            for i in 0..<cells {
                maximum[i] = max(maximum[i], maxima[r * cells + i])
                count[i] += counts[r * cells + i]
            }
        }
        try write(maximum, to: "\(directory)/\(name).maximum.f64")
        try write(count, to: "\(directory)/\(name).count.f64")
    }

    /// Rank-ordered step-major blocks, rearranged into `steps` rows of the global field.
    func rowMajor(_ gathered: [Double], blocks: BlockPartition, steps: Int) -> [Double] {
        let size = Int(blocks.globalSize)
        var out = [Double](repeating: 0, count: steps * size)
        var offset = 0
        for r in 0..<blocks.serverCount {
            let range = blocks.block(r)
            let width = Int(range.count)
            for step in 0..<steps {
                for cell in 0..<width { out[step * size + Int(range.lowerBound) + cell] = gathered[offset + step * width + cell] }
            }
            offset += steps * width
        }
        return out
    }

    func write(_ values: [Double], to path: String) throws {
        let data = values.withUnsafeBytes { Data($0) }  // x86-64 and arm64 are little-endian
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    // MARK: - checkpoints

    public override var canCheckpoint: Bool { true }

    /// `MAXV`: per field, present (u8), then maxima and counts (f64 arrays).
    public override func checkpointSections() throws -> [CheckpointSection] {
        var encoder = CheckpointEncoder()
        let count = config.studyOptions.fieldNames.count
        for f in 0..<count {
            let state = f < fields.count ? fields[f] : nil
            encoder.u8(state == nil ? 0 : 1)
            if let state {
                encoder.f64Array(state.maxima)
                encoder.f64Array(state.counts)
            }
        }
        return [CheckpointSection(tag: "MAXV", bytes: encoder.bytes)]
    }

    public override func restoreCheckpoint(_ sections: [String: [UInt8]]) throws {
        guard let bytes = sections["MAXV"] else {
            throw ServerError.setup("the checkpoint has no MAXV section: it was not written by the maximum flavor")
        }
        var decoder = CheckpointDecoder(bytes, section: "MAXV")
        fields = try config.studyOptions.fieldNames.map { _ -> FieldState? in
            guard try decoder.u8(field: "present") == 1 else { return nil }
            let maxima = try decoder.f64Array(field: "maxima")
            let counts = try decoder.f64Array(field: "counts")
            guard maxima.count == counts.count, maxima.count % config.studyOptions.nbTimeSteps == 0 else {
                throw ServerError.setup("MAXV: \(maxima.count) maxima and \(counts.count) counts do not fit \(config.studyOptions.nbTimeSteps) time steps")
            }
            var state = FieldState(cells: 0)
            state.maxima = maxima
            state.counts = counts
            return state
        }
    }
}
