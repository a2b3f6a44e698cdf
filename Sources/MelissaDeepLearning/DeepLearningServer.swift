import Foundation
import MelissaCheckpoint
import MelissaConfig
import MelissaProtocol
import MelissaServer
import MelissaTransport

/// The deep-learning flavor, run by `server_class: "deep-learning"`: each server rank keeps the
/// samples routed to it (whole fields at one time step) in a buffer and feeds a PyTorch trainer
/// process; the trainers train one model data-parallel (docs/DEEP_LEARNING.md).
///
/// Threads: the loop thread (every callback below) assembles samples and puts them in the
/// buffer; a feeder thread answers the trainer from the same buffer (`TrainerFeed`). When the
/// buffer is full the loop waits for the trainer, which is the back-pressure clients feel.
public final class DeepLearningServer: BaseServer {
    /// The name `server_class` selects this flavor by.
    public static let flavorName = "deep-learning"
    /// This flavor's registry entry. MPI with `funneled`: the feeder thread never calls MPI.
    public static let flavor = ServerFlavor(spec: DeepLearningSettings.spec, mpiThreadLevel: .funneled) {
        try DeepLearningServer(config: $0, studyDirectory: $1, launcherAddress: $2)
    }

    /// The validated `dl_config`.
    public let settings: DeepLearningSettings
    /// This rank's buffer settings (its seed is the study's, offset by rank).
    var bufferSettings: BufferSettings
    let feed: TrainerFeed
    /// Whole fields of one (simulation, field, step), from the pieces of every client rank.
    var assembler: StepAssembler
    /// Steps with some of their fields complete, waiting for the others (several fields only).
    var pendingFields: [SampleKey: [Int: [Double]]] = [:]
    var trainer: TrainerProcess?
    /// The private directory of the trainer socket (removed at the end).
    var socketDirectory: String?
    /// Whether the trainer may be told its config (after any restore).
    var configPublished = false
    /// The model checkpoint to restore from, when restarting; then the last model saved.
    var restoredModel: String?
    /// Rank 0: the model file each of the last checkpoints names.
    var modelsOfCheckpoints: [UInt64: String] = [:]
    /// Rank 0: every loss report so far (restored with the checkpoint).
    var history: [TrainerProtocol.TrainingProgress] = []
    /// Seconds the loop waited on a full buffer (back-pressure), and samples dropped.
    var backPressureSeconds = 0.0
    var backPressureLogged = false
    /// What every rank's trainer reported at the end (rank 0, for the summary).
    var trainedBatchesPerRank: [Int] = []
    var servedBatchesPerRank: [Int] = []
    var samplesTrainedPerRank: [Int] = []
    var trainingEnd: TrainerProtocol.TrainingDone?

    struct SampleKey: Hashable, Comparable {
        var simulation: UInt32
        var step: UInt32
        static func < (a: SampleKey, b: SampleKey) -> Bool { (a.simulation, a.step) < (b.simulation, b.step) }
    }

    /// Sets up the rank; the trainer starts in `prepare()`.
    public init(config: StudyConfig, studyDirectory: String, launcherAddress: String,
                communicator: Communicator = .world, transport: (any ServerTransport)? = nil) throws {
        guard let settings = config.settings(as: DeepLearningSettings.self) else {
            throw ServerError.setup("server_class '\(Self.flavorName)' needs a dl_config section")
        }
        self.settings = settings
        // Partial steps may hold at most one batch worth of whole fields beyond the buffer.
        assembler = StepAssembler(limitBytes: 1 << 30)
        bufferSettings = settings.bufferSettings(seed: 0)
        let rankSeed = UInt64(truncatingIfNeeded: config.studyOptions.seed) &* 0x9E37_79B9_7F4A_7C15
        feed = TrainerFeed(buffer: SampleBuffer(settings: settings.bufferSettings(seed: rankSeed)))
        try super.init(config: config, studyDirectory: studyDirectory, launcherAddress: launcherAddress,
                       communicator: communicator, routing: settings.routing.dataRouting, transport: transport)
        // Each rank draws its own random batches; the seed stays a function of the study's.
        bufferSettings = settings.bufferSettings(seed: rankSeed &+ UInt64(rank))
        feed.buffer = SampleBuffer(settings: bufferSettings)
    }

    deinit {
        feed.locked { $0.stopRequested = true }
        trainer?.terminate(grace: 1)
        if let socketDirectory { try? FileManager.default.removeItem(atPath: socketDirectory) }
    }

    // MARK: - setup

    /// Collective: checks the model file, agrees on the trainers' rendezvous (rank 0's host and
    /// a free port), starts the feeder thread and this rank's trainer.
    public override func prepare() throws {
        // An offline study (a validation set, say) streams nothing: there is nothing to train.
        guard !config.studyOptions.offline else {
            log.event("offline study: no trainer is started")
            return
        }
        guard FileManager.default.isReadableFile(atPath: settings.modelFile) else {
            throw ServerError.setup("dl_config.model_file: cannot read '\(settings.modelFile)'")
        }
        var rendezvous: [UInt8] = []
        if rank == 0 { rendezvous = Array("\(HostName.current())\n\(try Self.freePort())".utf8) }
        let shared = String(decoding: try comm.broadcast(rendezvous, root: 0), as: UTF8.self).split(separator: "\n")
        guard shared.count == 2, let port = Int(shared[1]) else {
            throw ServerError.invariant("rank 0 shared a malformed trainer rendezvous: \(shared)")
        }
        // The socket lives in a private directory (0700): only this user's processes reach it.
        // /tmp, because ipc:// paths are limited to about 100 bytes and study paths are not.
        var template = Array("/tmp/melissa-dl.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw ServerError.setup("cannot create a private directory for the trainer socket in /tmp")
        }
        let directory = String(cString: made)
        socketDirectory = directory
        let endpoint = "ipc://\(directory)/trainer.ipc"
        TrainerFeeder.start(feed: feed, endpoint: endpoint, nbParameters: config.studyOptions.nbParameters)
        trainer = try TrainerProcess(python: settings.python, pythonPath: Self.installedPythonDirectory(),
                                     studyDirectory: studyDirectory, rank: rank, worldSize: commSize,
                                     endpoint: endpoint, masterAddress: String(shared[0]), masterPort: port)
        log.event("trainer started (pid \(trainer?.process.processIdentifier ?? 0), \(settings.python), log trainer.rank\(rank).log), buffer \(settings.buffer.rawValue) of \(settings.bufferSize) samples")
    }

    /// A TCP port free right now on this host (the trainers' torch.distributed store binds it
    /// a moment later; another process taking it in between makes the trainers fail loudly).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError.setup("cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw ServerError.setup("cannot bind a socket to find a free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw ServerError.setup("getsockname failed while looking for a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `<prefix>/lib/python` next to this program's `bin`, where Scripts/build.sh installs
    /// `melissa_dl`; nil when absent (then the interpreter must find it on its own path).
    static func installedPythonDirectory() -> String? {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidate = exe.deletingLastPathComponent().appendingPathComponent("lib/python").path
        return FileManager.default.fileExists(atPath: "\(candidate)/melissa_dl/__init__.py") ? candidate : nil
    }

    /// The trainer's `config` reply, published once any checkpoint is restored.
    func publishConfig() {
        guard !configPublished else { return }
        configPublished = true
        let options = config.studyOptions
        let userObject = (try? JSONSerialization.jsonObject(with: Data(settings.userJSON.utf8))) ?? [String: Any]()
        var reply: [String: Any] = [
            "op": "config", "protocol": TrainerProtocol.version, "rank": rank, "world_size": commSize,
            "batch_size": settings.batchSize, "nb_batches_update": settings.nbBatchesUpdate,
            "pseudo_epochs": settings.pseudoEpochs, "model_file": settings.modelFile,
            "field_names": options.fieldNames, "nb_parameters": options.nbParameters,
            "nb_time_steps": options.nbTimeSteps, "results_directory": "\(studyDirectory)/results",
            "checkpoint_directory": "\(studyDirectory)/checkpoints", "seed": options.seed, "user": userObject,
            "restore_path": restoredModel ?? NSNull(),
        ]
        reply["validation"] = settings.validationDirectory.map {
            ["directory": $0, "batch_size": settings.validationBatchSize] as [String: Any]
        } ?? NSNull()
        let frame = TrainerProtocol.jsonFrame(reply)
        feed.locked { $0.configReply = frame; $0.condition.broadcast() }
    }

    // MARK: - data

    /// Assembles whole fields; a step with every field becomes a sample in the buffer. Waits
    /// while the buffer is full (FIFO, FIRO): the trainer frees space batch by batch.
    public override func apply(_ piece: DataPiece) throws {
        publishConfig()
        switch assembler.add(piece) {
        case .pending:
            return
        case .refusedFull:
            throw ServerError.setup("more than \(assembler.limitBytes >> 20) MiB of partial time steps: clients send steps far out of order")
        case .refusedMismatch:
            recordError("simulation \(piece.header.simulationID) step \(piece.header.timeStep): a piece does not fit its field's block; the step is not trained on")
            return
        case let .complete(key, values):
            let sampleKey = SampleKey(simulation: key.simulation, step: key.step)
            let fieldCount = config.studyOptions.fieldNames.count
            var fields = pendingFields[sampleKey] ?? [:]
            fields[Int(key.field)] = values
            guard fields.count == fieldCount else {
                pendingFields[sampleKey] = fields
                return
            }
            pendingFields[sampleKey] = nil
            let ordered = (0..<fieldCount).compactMap { fields[$0] }
            let sizes = ordered.map(\.count)
            let known = feed.locked { feed -> [Int] in
                if feed.fieldSizes == nil { feed.fieldSizes = sizes }
                return feed.fieldSizes ?? sizes
            }
            guard known == sizes else {
                recordError("simulation \(key.simulation) step \(key.step): field sizes \(sizes) differ from the study's \(known); the step is not trained on")
                return
            }
            let sample = Sample(simulation: key.simulation, timeStep: key.step,
                                parameters: parameters(of: key.simulation) ?? [], values: Array(ordered.joined()))
            try put(sample)
        }
    }

    /// Puts one sample in the buffer, waiting (with the trainer and feeder watched) while it is full.
    func put(_ sample: Sample) throws {
        let start = Self.now()
        while true {
            let outcome = feed.locked { feed -> PutOutcome in
                let outcome = feed.buffer.put(sample)
                if outcome == .full { _ = feed.condition.wait(until: Date() + 0.5) }
                return outcome
            }
            if outcome != .full { break }
            if settings.pseudoEpochs > 1 {
                throw ServerError.setup("dl_config.buffer_size (\(settings.bufferSize)) is too small for pseudo_epochs: this rank must hold every sample routed to it before training starts; raise buffer_size or set pseudo_epochs to 1")
            }
            if !backPressureLogged {
                backPressureLogged = true
                log.event("buffer full (\(settings.bufferSize) samples): waiting for the trainer before taking more data (back-pressure)")
            }
            try checkTrainer()
        }
        backPressureSeconds += Self.now() - start
    }

    /// Throws when the feeder failed or the trainer ended before training did.
    func checkTrainer() throws {
        if let failure = feed.locked({ $0.failure }) { throw ServerError.setup("trainer link: \(failure)") }
        guard let trainer, !trainer.isRunning else { return }
        if feed.locked({ $0.done }) != nil && trainer.succeeded { return }
        throw ServerError.setup("the trainer ended (\(trainer.ending)) before training did; last lines of \(trainer.logPath):\n\(trainer.logTail())")
    }

    public override func tick(now: Double) throws {
        publishConfig()
        try checkTrainer()
        reportProgress()
    }

    /// Logs the loss reports that arrived (rank 0's trainer sends them), keeps them, and tells
    /// the launcher the latest (its status page and metrics).
    func reportProgress() {
        let reports = feed.locked { feed -> [TrainerProtocol.TrainingProgress] in
            defer { feed.progress.removeAll() }
            return feed.progress
        }
        for report in reports {
            history.append(report)
            let valid = report.validLoss.map { String(format: ", validation loss %.6g", $0) } ?? ""
            log.event("training: batch \(report.batch), \(report.samples) samples, loss \(String(format: "%.6g", report.trainLoss))\(valid) (\(String(format: "%.1f", report.elapsed)) s)")
        }
        if let last = reports.last {
            do {
                try reportTraining(batch: last.batch, samples: last.samples, trainLoss: last.trainLoss, validLoss: last.validLoss)
            } catch {
                log.error("cannot send the training progress to the launcher: \(error)")
            }
        }
    }

    /// A simulation given up: its partial steps go; complete samples stay (they are real outputs).
    public override func simulationAbandoned(_ simulation: UInt32) {
        dropPartial(simulation)
    }

    /// A redrawn group's partial steps came from the old draw: dropped, and forgotten so the
    /// new draw's data is accepted. Complete samples keep the parameters they were made with.
    public override func groupRedrawn(_ group: UInt32, members: [UInt32]) {
        for simulation in members { dropPartial(simulation) }
    }

    func dropPartial(_ simulation: UInt32) {
        var steps = assembler.drop(simulation: simulation)
        for key in pendingFields.keys where key.simulation == simulation {
            for field in (pendingFields[key] ?? [:]).keys { steps.append((field, Int(key.step))) }
            pendingFields[key] = nil
        }
        if !steps.isEmpty { forgetReceived(simulation: simulation, steps: steps) }
    }

    // MARK: - the end

    /// Collective: the buffers drain into the trainers, which stop together; rank 0 keeps the
    /// launcher informed meanwhile. Then every rank's trained batch count is gathered.
    public override func finish() throws {
        guard !config.studyOptions.offline else { return }
        publishConfig()
        feed.locked { $0.receptionOver = true; $0.condition.broadcast() }
        log.event("every simulation's data is in: the trainer drains the buffer (\(feed.locked { $0.buffer.count }) samples)")
        var failure: String?
        while true {
            let done = feed.locked { feed -> Bool in
                if feed.done == nil { _ = feed.condition.wait(until: Date() + 0.5) }
                return feed.done != nil
            }
            reportProgress()
            if done { break }
            do { try checkTrainer() } catch { failure = "\(error)"; break }
            try keepLauncherInformed()
        }
        if let trainer {
            let deadline = Self.now() + 30
            while trainer.isRunning && Self.now() < deadline {
                try keepLauncherInformed()
                usleep(50_000)
            }
            if trainer.isRunning {
                log.error("the trainer did not exit within 30 s of its last message: stopping it")
                trainer.terminate()
            }
            if failure == nil && !trainer.succeeded { failure = "the trainer ended with \(trainer.ending); see \(trainer.logPath)" }
        }
        feed.locked { $0.stopRequested = true }
        let done = feed.locked { $0.done }
        let served = feed.locked { $0.batchesServed }
        // Per rank: steps taken (the same on every rank), batches its buffer served, samples trained.
        let mine = "\(done?.batches ?? -1) \(served) \(done?.samples ?? 0)"
        let all = try comm.allgather(Array(mine.utf8)).map {
            String(decoding: $0, as: UTF8.self).split(separator: " ").map { Int($0) ?? -1 }
        }
        trainedBatchesPerRank = all.map { $0.first ?? -1 }
        servedBatchesPerRank = all.map { $0.count > 1 ? $0[1] : -1 }
        samplesTrainedPerRank = all.map { $0.count > 2 ? $0[2] : 0 }
        let failedRanks = try comm.allreduceSum(Int64(failure == nil ? 0 : 1))
        if let failure { recordError(failure) }
        if rank == 0 {
            trainingEnd = done
            if failedRanks > 0 && failure == nil { recordError("training failed on \(failedRanks) rank(s); see their server and trainer logs") }
            log.event("training ended: \(done?.batches ?? 0) batches per rank \(trainedBatchesPerRank), model \(done?.modelPath ?? "not saved")")
            try writeTrainingReport()
        }
    }

    /// `results/training.json`: every loss report, batches per rank, the model's path.
    func writeTrainingReport() throws {
        let directory = "\(studyDirectory)/results"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let data = try JSONSerialization.data(withJSONObject: trainingSummary(), options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: "\(directory)/training.json"), options: .atomic)
    }

    /// What summary.json's `training` entry and results/training.json hold.
    func trainingSummary() -> [String: Any] {
        let losses: [[String: Any]] = history.map { report in
            ["batch": report.batch, "samples": report.samples, "train_loss": Self.jsonNumber(report.trainLoss),
             "valid_loss": report.validLoss.map(Self.jsonNumber) ?? NSNull(), "elapsed": report.elapsed]
        }
        return ["losses": losses, "batches_per_rank": trainedBatchesPerRank,
                "batches_served_per_rank": servedBatchesPerRank, "samples_trained_per_rank": samplesTrainedPerRank,
                "samples_trained": samplesTrainedPerRank.reduce(0, +),
                "model": trainingEnd?.modelPath ?? NSNull(), "buffer": settings.buffer.rawValue,
                "back_pressure_seconds": backPressureSeconds]
    }

    /// JSON has no NaN or infinity: a diverged loss is written as null.
    static func jsonNumber(_ value: Double) -> Any { value.isFinite ? value : NSNull() }

    public override func summaryExtras() -> [String: Any] { ["training": trainingSummary()] }

    /// Rank 0: `report.html` with the loss curves (not for an offline study: nothing trained).
    public override func studyWillEnd(_ summary: StudySummary) throws {
        guard !config.studyOptions.offline else { return }
        try writeReport(summary)
    }

    // MARK: - checkpoints (DeepLearningServer+Checkpoint.swift)

    public override var canCheckpoint: Bool { true }
    public override func checkpointSections() throws -> [CheckpointSection] { try checkpointState() }
    public override func restoreCheckpoint(_ sections: [String: [UInt8]]) throws { try restoreState(sections) }
}
