import Foundation
import MelissaProtocol
import MelissaServer
import MelissaTransport

/// The sensitivity-analysis flavor: per field, time step and cell, the mean and variance of
/// the simulations' outputs, written to `<study>/results/` as `.npy` files at the end.
public final class SensitivityServer: BaseServer {
    private var fields: [WelfordField?] = []

    /// The name `server_class` selects this flavor by.
    public static let flavorName = "sensitivity-analysis"

    public override func start() throws {
        fields = Array(repeating: nil, count: config.studyOptions.fieldNames.count)
        try initializeConnections()
        while let piece = try pollSockets() {
            let f = Int(piece.header.field)
            if fields[f] == nil {
                fields[f] = WelfordField(nbTimeSteps: config.studyOptions.nbTimeSteps,
                                         blockSize: Int(piece.layout.blockSize))
            }
            fields[f]?.update(step: Int(piece.header.timeStep), localOffset: piece.localOffset, values: piece.values)
        }
        try writeResults()
        try closeConnection()
    }

    /// Gathers every rank's blocks on rank 0 and writes, per field, `<field>.mean.npy`,
    /// `<field>.variance.npy` (float64, shape (time steps, cells)) and `<field>.count.npy`
    /// (int64, samples per step and cell). Collective.
    func writeResults() throws {
        let steps = config.studyOptions.nbTimeSteps
        let directory = "\(studyDirectory)/results"
        if rank == 0 { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        for (f, name) in config.studyOptions.fieldNames.enumerated() {
            // A rank that got no data still knows the field's size from the others; ranks that
            // learned different sizes (clients disagreeing) cannot be assembled into one table.
            let known = fieldLayouts[f].map { Int64($0.globalSize) }
            let globalSize = try comm.allreduceMax(known ?? 0)
            let smallest = -(try comm.allreduceMax(-(known ?? Int64.max)))
            guard globalSize > 0 else {
                if rank == 0 { log.event("field \(name): no data received, no results written") }
                continue
            }
            guard smallest == globalSize else {
                if rank == 0 {
                    recordError("field \(name): server ranks received data for different field sizes (\(smallest) and \(globalSize)); the simulations disagree on the field's size, no results written for it")
                }
                continue
            }
            let blocks = (0..<commSize).map { BlockPartition(globalSize: UInt64(globalSize), serverCount: commSize).block($0) }
            let mine = blocks[rank]
            let state = fields[f] ?? WelfordField(nbTimeSteps: steps, blockSize: Int(mine.count))
            // Decided from the config alone, so every rank joins the same collectives.
            var selected: [(String, [Double])] = [("count", state.counts.map(Double.init))]
            if config.saConfig.mean { selected.append(("mean", state.mean)) }
            if config.saConfig.variance { selected.append(("variance", state.variance)) }
            for (statistic, local) in selected {
                let gathered = try local.withUnsafeBufferPointer { try comm.gather($0, root: 0) }
                guard rank == 0 else { continue }
                let table = Self.interleave(gathered, blocks: blocks, steps: steps, globalSize: Int(globalSize))
                let path = "\(directory)/\(name).\(statistic).npy"
                if statistic == "count" {
                    try NpyWriter.write(table.map { Int64($0) }, shape: [steps, Int(globalSize)], to: path)
                } else {
                    try NpyWriter.write(table, shape: [steps, Int(globalSize)], to: path)
                }
            }
            if rank == 0 { log.event("results for field \(name) written to \(directory)") }
        }
    }

    /// Rank-major gathered blocks (each step-major) to one (step, global cell) table.
    static func interleave(_ gathered: [Double], blocks: [Range<UInt64>], steps: Int, globalSize: Int) -> [Double] {
        var table = [Double](repeating: 0, count: steps * globalSize)
        var cursor = 0
        for block in blocks {
            let size = Int(block.count)
            for t in 0..<steps {
                let dst = t * globalSize + Int(block.lowerBound)
                for j in 0..<size { table[dst + j] = gathered[cursor + t * size + j] }
            }
            cursor += steps * size
        }
        return table
    }
}
