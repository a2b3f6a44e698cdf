import Foundation
import Glibc
import MelissaCheckpoint
import MelissaConfig
import MelissaProtocol

/// Checkpoints: every rank saves its state when rank 0 says so (every `checkpoint_interval`
/// seconds, on SIGUSR1, and before stopping on SIGTERM or the launcher's `stop`), and a
/// server started with `MELISSA_RESTART=1` reloads the newest checkpoint that every rank has
/// (docs/CHECKPOINT.md, docs/FAULTS.md).
extension BaseServer {
    /// This rank's checkpoint files, in `<study>/checkpoints`.
    var checkpointStore: CheckpointStore { CheckpointStore(directory: "\(studyDirectory)/checkpoints", rank: rank) }

    /// The store for writing checkpoint `sequence`, with the fault injection hook when
    /// `MELISSA_FAULT_KILL_IN_CHECKPOINT` names this rank and checkpoint.
    func checkpointStore(writing sequence: UInt64) -> CheckpointStore {
        var store = checkpointStore
        // Each names one server run: a restarted server continues the numbering, and would
        // otherwise die again at the same checkpoint until max_server_restarts.
        if let kill = checkpointKills.first(where: { $0.sequence == sequence }) {
            let target = kill.stage
            store.faultHook = { stage in if stage == target { Glibc.kill(getpid(), SIGKILL) } }
        }
        return store
    }

    /// Identifies the study a checkpoint belongs to: what decides the statistics (study
    /// options, statistics, the simulation's arguments); rank and comm size are header fields of their own.
    var studyFingerprint: UInt64 {
        var text = "\(config.studyOptions)|\(config.flavorSettings)|\(config.clientConfig.commandDefaultArgs)"
        // The flavor too, so a config whose server_class changed refuses the other flavor's
        // checkpoints; the default flavor adds nothing, which keeps older checkpoints valid.
        if config.serverClass != FlavorRegistry.defaultName { text += "|flavor=\(config.serverClass)" }
        return StudyFingerprint.of(Array(text.utf8))
    }

    /// Seconds between periodic checkpoints (the flavor section's `checkpoint_interval`, default 300).
    var checkpointInterval: Double { config.flavorSettings.checkpointInterval ?? 300 }

    /// Rank 0: every rank writes checkpoint number `sequence + 1` now.
    ///
    /// Not while a rank has yet to confirm the previous one (it may be dead, and mpirun sends
    /// SIGTERM to the others when a rank dies): every rank keeps two checkpoints, so writing
    /// another would leave rank 0 with none in common with that rank. A stop then goes without
    /// a final checkpoint, and the restart resumes from the last common one (exactly once still).
    func requestCheckpoint(thenStop: Bool) throws {
        guard checkpointPending.isEmpty else {
            log.event("no \(thenStop ? "final " : "")checkpoint: rank(s) \(checkpointPending.sorted().map(String.init).joined(separator: ", ")) have not confirmed checkpoint \(checkpointSequence) (one may be dead); another would leave no checkpoint every rank holds")
            return
        }
        checkpointSequence += 1
        lastCheckpoint = Self.now()
        checkpointPending = Set(1..<max(1, commSize))
        let message = InternalMessage.checkpoint(sequence: checkpointSequence, thenStop: thenStop).encode()
        for r in 1..<max(1, commSize) { try transport.sendInternal(message, to: r) }
        writeCheckpoint(sequence: checkpointSequence)
    }

    /// Rank 0: a periodic checkpoint when one is due, and every rank wrote the previous one.
    /// Each rank keeps two checkpoints: were rank 0 to write two more while a rank is dead or
    /// far behind, no checkpoint would be common to every rank after a restart.
    func checkpointIfDue(now: Double) throws {
        guard !stopping, now - lastCheckpoint >= checkpointInterval else { return }
        guard checkpointPending.isEmpty else {
            if now - lastCheckpoint >= checkpointInterval + 60, !checkpointOverdueLogged {
                checkpointOverdueLogged = true
                log.error("rank(s) \(checkpointPending.sorted().map(String.init).joined(separator: ", ")) did not say they wrote checkpoint \(checkpointSequence) for \(Int(now - lastCheckpoint)) s: no new checkpoint until they do")
            }
            return
        }
        try requestCheckpoint(thenStop: false)
    }

    /// Rank 0: rank `r` finished (or failed) writing checkpoint `sequence`.
    func checkpointWritten(rank r: Int, sequence: UInt64, written: Bool) {
        guard sequence == checkpointSequence else { return }
        checkpointPending.remove(r)
        if checkpointPending.isEmpty { checkpointOverdueLogged = false }
        if !written { log.error("rank \(r) could not write checkpoint \(sequence); its previous one stays (see server.rank\(r).log)") }
    }

    /// Writes this rank's checkpoint `sequence`. A failed write is logged and the study goes
    /// on: the previous checkpoint is still in place. Returns whether it was written.
    @discardableResult
    func writeCheckpoint(sequence: UInt64) -> Bool {
        // Without the flavor's state, a checkpoint of the base alone would restore "received"
        // marks for data nobody holds (see `canCheckpoint`): nothing is written, nothing failed.
        guard canCheckpoint else {
            log.log(.debug, "checkpoint \(sequence) skipped: \(type(of: self)) keeps no checkpoints")
            return true
        }
        let start = Self.now()
        do {
            let sections = try checkpointSectionsOfThisRank()
            let header = CheckpointHeader(fingerprint: studyFingerprint, rank: UInt32(rank), commSize: UInt32(commSize),
                                          sequence: sequence, unixTime: Int64(time(nil)))
            try checkpointStore(writing: sequence).write(header: header, sections: sections)
            let bytes = sections.reduce(0) { $0 + $1.bytes.count }
            let text = "checkpoint \(sequence) written: \(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB in \(String(format: "%.2f", Self.now() - start)) s"
            if rank == 0 { log.event(text) } else { log.log(.info, text) }
            return true
        } catch {
            log.error("checkpoint \(sequence) could not be written (the previous one stays): \(error)")
            return false
        }
    }

    /// The base server's sections (`BASE` on every rank, `TRAK`, `COOR` on rank 0) and the flavor's.
    func checkpointSectionsOfThisRank() throws -> [CheckpointSection] {
        var base = CheckpointEncoder()
        base.u64Array(counters.values.map { UInt64(bitPattern: $0) })
        base.u64Array(fieldLayouts.map { $0?.globalSize ?? UInt64.max })
        let redrawn = knownDraws.keys.sorted()
        base.u64Array(redrawn.map(UInt64.init))
        base.u64Array(redrawn.map { UInt64(knownDraws[$0] ?? 0) })
        base.f64(elapsedBeforeRestart + Self.now() - startTime)
        var trak = CheckpointEncoder()
        tracker.encode(into: &trak)
        var sections = [CheckpointSection(tag: "BASE", bytes: base.bytes), CheckpointSection(tag: "TRAK", bytes: trak.bytes)]
        if rank == 0 {
            var coor = CheckpointEncoder()
            coordinator.encode(into: &coor, parameters: parameters)
            sections.append(CheckpointSection(tag: "COOR", bytes: coor.bytes))
        }
        let own = try checkpointSections()
        for section in own where ["BASE", "TRAK", "COOR"].contains(section.tag) {
            throw ServerError.setup("flavor checkpoint section tag \(section.tag) is reserved for the base server")
        }
        return sections + own
    }

    // MARK: - restart

    /// Restart mode (`MELISSA_RESTART=1`): every rank loads the newest checkpoint sequence
    /// that all ranks hold valid files of (current or previous). Refused files are logged with
    /// why; with no common sequence the study starts from scratch. Collective.
    func restoreIfRestarting() throws {
        guard ProcessInfo.processInfo.environment["MELISSA_RESTART"] == "1" else { return }
        guard canCheckpoint else {
            if rank == 0 { log.event("restart: \(type(of: self)) keeps no checkpoints; the study starts over") }
            return
        }
        let found = loadCheckpointCandidates()
        let candidates = found.mapValues(\.sections)
        var mine = CheckpointEncoder()
        mine.u64Array(candidates.keys.sorted())
        let everyone = try comm.allgather(mine.bytes)
        var common: Set<UInt64>?
        for bytes in everyone {
            var r = CheckpointDecoder(bytes, section: "sequences")
            let sequences = Set(try r.u64Array(field: "sequences"))
            common = common.map { $0.intersection(sequences) } ?? sequences
        }
        guard let chosen = common?.max(), let sections = candidates[chosen] else {
            if rank == 0 {
                log.event("restart: no checkpoint that every rank holds (this rank has \(candidates.keys.sorted())); starting the study from scratch")
            }
            return
        }
        try restore(sections: sections)
        checkpointSequence = chosen
        restoredFromCheckpoint = true
        // The chosen checkpoint becomes this rank's current file. A newer one that not every
        // rank completed (the server died while writing it) is dropped: left in place, the
        // next write would rotate the chosen one away on this rank while another rank may
        // still need it, and a second death there would leave no common checkpoint.
        if let path = found[chosen]?.path, path != checkpointStore.currentPath {
            do {
                try checkpointStore.makeCurrent(previous: path)
                let newer = found.keys.filter { $0 > chosen }.sorted().map(String.init).joined(separator: ", ")
                log.event(newer.isEmpty
                          ? "restart: checkpoint \(chosen), this rank's previous file, is current again"
                          : "restart: dropped this rank's checkpoint \(newer), which not every rank completed; checkpoint \(chosen) is current again")
            } catch {
                throw ServerError.setup("restart: cannot make checkpoint \(chosen) current again: \(error)")
            }
        }
        if rank == 0 {
            log.event("restart \(serverRestarts): restored checkpoint \(chosen) (\(coordinator.finishedCount) simulations finished, \(coordinator.failedCount) failed, \(coordinator.retryQueue.count) group(s) to run again)")
        }
    }

    /// This rank's valid checkpoints by sequence, with their files: current and previous,
    /// each checked for format, checksums and identity (study, rank, comm size).
    func loadCheckpointCandidates() -> [UInt64: (path: String, sections: [CheckpointSection])] {
        let store = checkpointStore
        var out: [UInt64: (path: String, sections: [CheckpointSection])] = [:]
        for path in [store.currentPath, store.previousPath] where FileManager.default.fileExists(atPath: path) {
            do {
                let (header, sections) = try CheckpointFile.decode(try Self.readWholeFile(path), source: path)
                try CheckpointFile.checkIdentity(header, path: path, fingerprint: studyFingerprint,
                                                 rank: UInt32(rank), commSize: UInt32(commSize))
                // Current first: of two files with one sequence, current is the newer write.
                if out[header.sequence] == nil { out[header.sequence] = (path, sections) }
            } catch {
                log.error("restart: refused \(error)")
            }
        }
        return out
    }

    static func readWholeFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServerError.setup("cannot read checkpoint \(path)")
        }
        return [UInt8](data)
    }

    /// Applies one checkpoint's sections to this rank.
    func restore(sections list: [CheckpointSection]) throws {
        var sections: [String: [UInt8]] = [:]
        for s in list { sections[s.tag] = s.bytes }
        guard let baseBytes = sections["BASE"], let trakBytes = sections["TRAK"] else {
            throw ServerError.setup("checkpoint lacks its BASE or TRAK section")
        }
        let options = config.studyOptions
        var base = CheckpointDecoder(baseBytes, section: "BASE")
        let values = try base.u64Array(field: "counters")
        guard values.count == ServerCounters.names.count else {
            throw ServerError.setup("checkpoint BASE holds \(values.count) counters, this server has \(ServerCounters.names.count)")
        }
        counters = ServerCounters(values: values.map { Int64(bitPattern: $0) })
        let sizes = try base.u64Array(field: "field sizes")
        guard sizes.count == fieldLayouts.count else {
            throw ServerError.setup("checkpoint BASE holds \(sizes.count) fields, the study has \(fieldLayouts.count)")
        }
        for (f, size) in sizes.enumerated() where size != UInt64.max {
            fieldLayouts[f] = FieldLayout(globalSize: size,
                                          block: routing.block(globalSize: size, rank: rank, serverCount: commSize))
        }
        let groups = try base.u64Array(field: "redrawn groups")
        let draws = try base.u64Array(field: "draws")
        guard groups.count == draws.count else { throw ServerError.setup("checkpoint BASE: redraw lists differ in length") }
        knownDraws = [:]
        for (g, d) in zip(groups, draws) { knownDraws[UInt32(truncatingIfNeeded: g)] = UInt32(truncatingIfNeeded: d) }
        let elapsed = try base.f64(field: "elapsed seconds")
        guard elapsed.isFinite, elapsed >= 0 else { throw ServerError.setup("checkpoint BASE: elapsed time \(elapsed)") }
        elapsedBeforeRestart = elapsed
        try base.finish()
        var trak = CheckpointDecoder(trakBytes, section: "TRAK")
        tracker = try CompletionTracker.decode(from: &trak, simulationCount: config.simulationCount,
                                               nbFields: options.fieldNames.count, nbTimeSteps: options.nbTimeSteps,
                                               routing: routing, rank: rank, serverCount: commSize)
        try trak.finish()
        if rank == 0 {
            guard let coorBytes = sections["COOR"] else { throw ServerError.setup("rank 0's checkpoint lacks its COOR section") }
            var coor = CheckpointDecoder(coorBytes, section: "COOR")
            parameters = try coordinator.restore(from: &coor, nbParameters: options.nbParameters)
            try coor.finish()
        }
        try restoreCheckpoint(sections)
    }

    /// After a restore, before any job runs: rank 0 repeats what it decided that other ranks
    /// may have missed (abandoned simulations, redraws), and every rank repeats its
    /// completions. All of these are idempotent, so whatever did arrive changes nothing.
    func resynchronizeAfterRestore() throws {
        guard restoredFromCheckpoint else { return }
        if rank == 0 {
            var failed: [UInt32] = []
            for (i, state) in coordinator.states.enumerated() {
                if case .failed = state { failed.append(UInt32(i)) }
            }
            try abandon(failed)
            for g in coordinator.records.keys.sorted() {
                guard let draw = coordinator.records[g]?.draw, draw > 0 else { continue }
                // No simulations: the parameters themselves reach every rank with the setup.
                for r in 1..<max(1, commSize) {
                    try transport.sendInternal(InternalMessage.groupRedrawn(groupID: g, draw: UInt32(draw), simulations: []).encode(), to: r)
                }
                try groupRedrawnLocally(group: g, draw: UInt32(draw), simulations: [])
            }
        }
        for sim in tracker.closedSimulationIDs { try reportComplete(sim) }
    }
}
