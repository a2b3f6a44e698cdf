import Foundation
import MelissaTransport

/// The end of a study: counters summed over ranks, summary.json, the launcher told.
extension BaseServer {
    /// Records a problem that leaves the results incomplete: logged, listed in summary.json,
    /// and the study ends with exit code 1. Call it on rank 0 (or on every rank).
    public func recordError(_ message: String) {
        log.error(message)
        studyErrors.append(message)
        exitCode = 1
    }

    /// Every rank's `dataPeers`, on rank 0 (empty elsewhere), sorted by rank and address. Collective.
    func gatherDataPeers() throws -> [(rank: Int, address: String, simulations: Int)] {
        if !dataPeers.isEmpty {
            log.log(.info, "data came from " + dataPeers.sorted { $0.key < $1.key }
                .map { "\($0.key) (\($0.value) simulation(s))" }.joined(separator: ", "))
        }
        let lines = dataPeers.map { "\($0.key) \($0.value)" }.joined(separator: "\n")
        let gathered = try comm.allgather(Array(lines.utf8))
        guard rank == 0 else { return [] }
        var peers: [(rank: Int, address: String, simulations: Int)] = []
        for (r, bytes) in gathered.enumerated() {
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let count = Int(parts[1]) else { continue }
                peers.append((r, String(parts[0]), count))
            }
        }
        return peers.sorted { ($0.rank, $0.address) < ($1.rank, $1.address) }
    }

    /// Sums the counters over ranks, writes `summary.json` and tells the launcher the study
    /// ended (rank 0). Collective: `run()` calls it on every rank after `finish()`.
    func closeConnection() throws {
        let totals = ServerCounters(values: try comm.allreduceSum(counters.values))
        let window = IngestWindow(firstMicros: -(try comm.allreduceMax(-ingest.firstMicros)),
                                  lastMicros: try comm.allreduceMax(ingest.lastMicros),
                                  messages: try comm.allreduceSum(ingest.messages),
                                  bytes: try comm.allreduceSum(ingest.bytes),
                                  cpuMicros: try comm.allreduceSum(ingest.cpuMicros),
                                  cpuBytes: try comm.allreduceSum(ingest.cpuBytes))
        let peers = try gatherDataPeers()
        let refused = transport.refusals
        if refused.count > 0 {
            log.event("refused \(refused.count) connection(s) without the study's keys (last: \(refused.last))")
        }
        guard rank == 0 else { return }
        let finished = coordinator.finishedCount
        let failed = coordinator.failedCount
        let elapsed = elapsedBeforeRestart + Self.now() - startTime
        var failures: [[String: Any]] = []
        for (i, state) in coordinator.states.enumerated() {
            if case let .failed(reason) = state { failures.append(["simulation": i, "reason": reason]) }
        }
        var summary: [String: Any] = [
            "simulations": coordinator.simulationCount, "finished": finished, "failed": failed,
            "failures": failures, "wall_time_seconds": elapsed, "exit_code": Int(exitCode),
            "server_ranks": commSize, "stopped": stopReason ?? NSNull(), "errors": studyErrors,
        ]
        let faults = coordinator.faultCounts
        summary["faults"] = ["resubmitted": faults.resubmitted, "redrawn": faults.redrawn, "given_up": faults.givenUp,
                             "server_restarts": serverRestarts]
        do { try writeFaultReport() } catch { recordError("cannot write faults.json: \(error)") }
        for (key, value) in summaryExtras() where summary[key] == nil { summary[key] = value }
        summary["ingest"] = window.summary
        summary["data_peers"] = peers.map { ["rank": $0.rank, "address": $0.address, "simulations": $0.simulations] }
        summary["counters"] = Dictionary(uniqueKeysWithValues: zip(ServerCounters.names, totals.values.map { Int($0) }))
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: URL(fileURLWithPath: "\(studyDirectory)/summary.json"))
        do {
            try studyWillEnd(StudySummary(simulations: coordinator.simulationCount, finished: finished, failed: failed,
                                          failures: coordinator.states.enumerated().compactMap { i, state in
                                              if case let .failed(reason) = state { return (i, reason) }
                                              return nil
                                          },
                                          wallTime: elapsed, counters: totals, serverRanks: commSize,
                                          stopReason: stopReason, errors: studyErrors, exitCode: exitCode,
                                          resubmitted: faults.resubmitted, redrawn: faults.redrawn,
                                          givenUp: faults.givenUp, serverRestarts: serverRestarts))
        } catch {
            // The statistics are written; a report that fails is an error, not a lost study.
            recordError("end-of-study hook failed: \(error)")
        }
        let text = "\(finished)/\(coordinator.simulationCount) simulations finished, \(failed) failed, "
            + "\(totals.accepted) messages applied (\(totals.bytes) bytes), \(totals.dropped) dropped "
            + "(\(totals.duplicates) duplicate, \(totals.outOfRangeStep) out-of-range step, \(totals.malformed) malformed), "
            + String(format: "%.1f s", elapsed)
            + (window.seconds > 0 ? String(format: ", ingest %.1f MB/s", Double(window.bytes) / window.seconds / 1e6) : "")
            + (faults.resubmitted + faults.redrawn + serverRestarts > 0
                ? "; faults: \(faults.resubmitted) resubmitted, \(faults.redrawn) redrawn, \(serverRestarts) server restart(s) (faults.json)" : "")
            + (stopReason.map { "; \($0)" } ?? "")
            // Why the study failed reaches the launcher's output, not only summary.json.
            + (studyErrors.first.map { "; error: \($0)" + (studyErrors.count > 1 ? " (\(studyErrors.count - 1) more in summary.json)" : "") } ?? "")
        log.event("study ended: \(text)")
        try sendToLauncher(.studyEnd(exitCode: exitCode, finished: UInt32(finished), failed: UInt32(failed), summary: text))
        transport.closeLauncher()
    }

}
