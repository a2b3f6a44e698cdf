import MelissaCheckpoint

/// Rank 0's coordinator in a checkpoint section (`COOR`), with every simulation's parameters.
extension StudyCoordinator {
    /// Encodes the coordinator and the current parameter rows.
    func encode(into w: inout CheckpointEncoder, parameters: [[Double]]) {
        w.u64(UInt64(simulationCount))
        w.u64(UInt64(groupSize))
        w.u64(UInt64(nextGroup))
        for state in states {
            switch state {
            case .pending: w.u8(0)
            case .submitted: w.u8(1)
            case .running: w.u8(2)
            case .awaitingData: w.u8(3)
            case .finished: w.u8(4)
            case let .failed(reason): w.u8(5); w.string(reason)
            }
        }
        w.u64Array(retryQueue.map(UInt64.init))
        w.u64Array(activeGroups.sorted().map(UInt64.init))
        let groups = records.keys.sorted()
        w.u64(UInt64(groups.count))
        for g in groups {
            guard let record = records[g] else { continue }
            w.u32(g)
            w.u64(UInt64(record.jobs))
            w.u64(UInt64(record.failuresThisDraw))
            w.u64(UInt64(record.draw))
            w.u64(UInt64(record.failures.count))
            for f in record.failures {
                w.u64(UInt64(f.attempt))
                w.u64(UInt64(f.draw))
                w.u64Array(f.simulations.map(UInt64.init))
                w.string(f.reason)
            }
        }
        let partial = completeRanks.keys.sorted()
        w.u64(UInt64(partial.count))
        for sim in partial {
            w.u32(sim)
            w.u64Array(completeRanks[sim]?.packedWords ?? [])
        }
        w.u64(UInt64(parameters.count))
        for row in parameters { w.f64Array(row) }
    }

    /// Restores a coordinator saved by `encode` into `self` (made for the same study) and
    /// returns the parameter rows. Simulations whose job was live when the checkpoint was
    /// written go back to pending and their groups to the front of the retry queue: a
    /// restarted server has no jobs (the launcher cancelled them), and that is not a failure.
    mutating func restore(from r: inout CheckpointDecoder, nbParameters: Int) throws(CheckpointError) -> [[Double]] {
        try r.expect(try r.u64(field: "simulation count"), equals: simulationCount, field: "simulation count")
        try r.expect(try r.u64(field: "group size"), equals: groupSize, field: "group size")
        let next = try r.u64(field: "next group")
        guard next <= UInt64(groupCount) else { throw r.invalid(field: "next group", "\(next) > \(groupCount) groups") }
        nextGroup = Int(next)
        finishedCount = 0
        failedCount = 0
        var interrupted = Set<UInt32>()
        for s in 0..<simulationCount {
            let code = try r.u8(field: "simulation state")
            switch code {
            case 0: states[s] = .pending
            case 1, 2, 3:
                states[s] = .pending
                interrupted.insert(group(of: UInt32(s)))
            case 4: states[s] = .finished; finishedCount += 1
            case 5: states[s] = .failed(reason: try r.string(field: "failure reason")); failedCount += 1
            default: throw r.invalid(field: "simulation state", "code \(code)")
            }
        }
        let queue = try r.u64Array(field: "retry queue")
        let active = try r.u64Array(field: "active groups")
        for g in queue + active where g >= UInt64(groupCount) {
            throw r.invalid(field: "retry queue", "group \(g) ≥ \(groupCount)")
        }
        interrupted.formUnion(active.map { UInt32($0) })
        let queued = queue.map { UInt32($0) }
        retryQueue = interrupted.sorted().filter { !queued.contains($0) } + queued
        activeGroups = []
        records = [:]
        let groupCountStored = try r.u64(field: "group records")
        guard groupCountStored <= UInt64(groupCount) else {
            throw r.invalid(field: "group records", "\(groupCountStored) > \(groupCount)")
        }
        for _ in 0..<groupCountStored {
            let g = try r.u32(field: "group id")
            guard Int(g) < groupCount else { throw r.invalid(field: "group id", "\(g) ≥ \(groupCount)") }
            var record = GroupRecord()
            record.jobs = Int(try r.u64(field: "jobs"))
            record.failuresThisDraw = Int(try r.u64(field: "failures this draw"))
            record.draw = Int(try r.u64(field: "draw"))
            let failures = try r.u64(field: "failures")
            guard failures <= UInt64(record.jobs) else { throw r.invalid(field: "failures", "\(failures) > \(record.jobs) jobs") }
            for _ in 0..<failures {
                let attempt = Int(try r.u64(field: "attempt"))
                let draw = Int(try r.u64(field: "failure draw"))
                let sims = try r.u64Array(field: "failed simulations")
                guard sims.allSatisfy({ $0 < UInt64(simulationCount) }) else {
                    throw r.invalid(field: "failed simulations", "an id ≥ \(simulationCount)")
                }
                record.failures.append(Failure(attempt: attempt, draw: draw, simulations: sims.map { UInt32($0) },
                                               reason: try r.string(field: "failure reason")))
            }
            records[g] = record
        }
        completeRanks = [:]
        let partial = try r.u64(field: "partially complete simulations")
        guard partial <= UInt64(simulationCount) else { throw r.invalid(field: "partially complete simulations", "\(partial)") }
        for _ in 0..<partial {
            let sim = try r.u32(field: "simulation id")
            guard Int(sim) < simulationCount else { throw r.invalid(field: "simulation id", "\(sim)") }
            _ = try r.bitset(capacity: serverRanks, field: "complete ranks")
        }
        // Read for the format's sake only: every rank repeats its completions after a restart
        // (its tracker is the truth), and a stored bit may be stale after a Sobol redraw.
        completeRanks = [:]
        probes = [:]
        let rows = try r.u64(field: "parameter rows")
        guard rows == UInt64(simulationCount) else { throw r.invalid(field: "parameter rows", "\(rows), expected \(simulationCount)") }
        var parameters: [[Double]] = []
        for _ in 0..<rows {
            let row = try r.f64Array(field: "parameters")
            guard row.count == nbParameters else { throw r.invalid(field: "parameters", "\(row.count) values, expected \(nbParameters)") }
            parameters.append(row)
        }
        return parameters
    }
}
