import MelissaCheckpoint
import MelissaProtocol

/// The tracker in a checkpoint section (`TRAK`): open simulations with their per-step
/// progress, and the closed ones. Decoding checks every count against the study's shape.
extension CompletionTracker {
    /// Encodes the tracker's whole state.
    func encode(into w: inout CheckpointEncoder) {
        w.u64(UInt64(closedSimulations.capacity))
        w.u64(UInt64(nbFields))
        w.u64(UInt64(nbTimeSteps))
        w.u64Array(closedSimulations.packedWords)
        let sims = open.keys.sorted()
        w.u64(UInt64(sims.count))
        for sim in sims {
            guard let simulation = open[sim] else { continue }
            w.u32(sim)
            w.u64(UInt64(simulation.completeFields))
            for field in simulation.fields {
                guard let progress = field else { w.bool(false); continue }
                w.bool(true)
                w.u64(progress.blockSize)
                w.u64(UInt64(progress.completeSteps))
                w.u64Array(progress.valuesPerStep)
                w.bool(progress.sealed != nil)
                if let sealed = progress.sealed { w.u64Array(sealed.packedWords) }
                let ranks = progress.seen.keys.sorted()
                w.u64(UInt64(ranks.count))
                for r in ranks {
                    w.u32(r)
                    w.u64Array(progress.seen[r]?.packedWords ?? [])
                }
            }
        }
    }

    /// Rebuilds a tracker for `simulationCount` simulations of this study's shape, on server rank
    /// `rank` of `serverCount` under `routing` (not stored: the study fingerprint fixes it).
    static func decode(from r: inout CheckpointDecoder, simulationCount: Int, nbFields: Int, nbTimeSteps: Int,
                       routing: DataRouting = .cellBlocks, rank: Int = 0,
                       serverCount: Int = 1) throws(CheckpointError) -> CompletionTracker {
        var tracker = CompletionTracker(simulationCount: simulationCount, nbFields: nbFields, nbTimeSteps: nbTimeSteps,
                                        routing: routing, rank: rank, serverCount: serverCount)
        try r.expect(try r.u64(field: "simulation count"), equals: simulationCount, field: "simulation count")
        try r.expect(try r.u64(field: "field count"), equals: nbFields, field: "field count")
        try r.expect(try r.u64(field: "time steps"), equals: nbTimeSteps, field: "time steps")
        tracker.closedSimulations = try r.bitset(capacity: simulationCount, field: "closed simulations")
        let openCount = try r.u64(field: "open simulations")
        guard openCount <= UInt64(simulationCount) else {
            throw r.invalid(field: "open simulations", "\(openCount) for a study of \(simulationCount)")
        }
        for _ in 0..<openCount {
            let sim = try r.u32(field: "simulation id")
            guard Int(sim) < simulationCount else { throw r.invalid(field: "simulation id", "\(sim) ≥ \(simulationCount)") }
            let simulation = SimulationProgress(nbFields: nbFields)
            simulation.completeFields = Int(try r.u64(field: "complete fields"))
            guard simulation.completeFields <= nbFields else {
                throw r.invalid(field: "complete fields", "\(simulation.completeFields) > \(nbFields)")
            }
            for f in 0..<nbFields {
                guard try r.bool(field: "field present") else { continue }
                let progress = FieldProgress(steps: nbTimeSteps)
                progress.blockSize = try r.u64(field: "block size")
                progress.completeSteps = Int(try r.u64(field: "complete steps"))
                guard progress.completeSteps <= nbTimeSteps else {
                    throw r.invalid(field: "complete steps", "\(progress.completeSteps) > \(nbTimeSteps)")
                }
                progress.valuesPerStep = try r.u64Array(field: "values per step")
                guard progress.valuesPerStep.count == nbTimeSteps else {
                    throw r.invalid(field: "values per step", "\(progress.valuesPerStep.count) steps, expected \(nbTimeSteps)")
                }
                if try r.bool(field: "sealed present") {
                    progress.sealed = try r.bitset(capacity: nbTimeSteps, field: "sealed steps")
                }
                let ranks = try r.u64(field: "client ranks")
                guard ranks <= UInt64(Int32.max) else { throw r.invalid(field: "client ranks", "\(ranks)") }
                for _ in 0..<ranks {
                    let clientRank = try r.u32(field: "client rank")
                    progress.seen[clientRank] = try r.bitset(capacity: nbTimeSteps, field: "steps seen")
                }
                simulation.fields[f] = progress
            }
            tracker.open[sim] = simulation
        }
        return tracker
    }

    /// Simulations closed on this rank (completed or abandoned), for the re-sync after a restart.
    var closedSimulationIDs: [UInt32] {
        (0..<closedSimulations.capacity).filter { closedSimulations.contains($0) }.map(UInt32.init)
    }
}

extension CheckpointDecoder {
    /// A bitset of `capacity` members stored as its packed words.
    mutating func bitset(capacity: Int, field: String) throws(CheckpointError) -> Bitset {
        let words = try u64Array(field: field)
        guard let set = Bitset(capacity: capacity, packedWords: words) else {
            throw invalid(field: field, "\(words.count) words do not hold a set of \(capacity)")
        }
        return set
    }

    /// Refuses a stored value that differs from this study's.
    func expect(_ value: UInt64, equals expected: Int, field: String) throws(CheckpointError) {
        guard value == UInt64(expected) else { throw invalid(field: field, "\(value), this study has \(expected)") }
    }
}
