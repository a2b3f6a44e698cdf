/// The launcher's view of a running study: what the monitor serves as HTML, JSON and metrics.
///
/// The JSON form (snake_case keys, `null` for unknown optionals) is documented in
/// docs/MONITORING.md and pinned by a golden test: rename a Swift property freely, but never a
/// `CodingKeys` raw value.
public struct StudyStatus: Sendable, Codable, Equatable {
    /// The most samples `history` keeps: 600 samples is 10 minutes at one sample a second,
    /// enough for a chart while keeping every JSON poll small.
    public static let maxHistory = 600

    /// Study directory, as given to the launcher.
    public var study: String
    /// Scheduler backend name (for example "openmpi").
    public var scheduler: String
    /// Study state: "starting", "running", "stopping", "finished" or "failed".
    public var state: String
    /// When the study started, in Unix seconds.
    public var startedAt: Double
    /// Seconds since the study started.
    public var elapsedSeconds: Double
    /// Simulation counts by state.
    public var simulations: SimulationCounts
    /// Payload bytes the server has received from simulations so far.
    public var bytesReceived: UInt64
    /// Recent receive rate, in bytes per second.
    public var throughputBytesPerSecond: Double
    /// Estimated seconds until the study finishes, or nil while there is no estimate.
    public var etaSeconds: Double?
    /// The server job's state.
    public var server: ServerStatus
    /// One row per scheduler job (a group of simulations run together).
    public var jobs: [JobRow]
    /// Progress over time, oldest first, at most `maxHistory` samples.
    public var history: [Sample]
    /// A training flavor's loss reports, nil for other flavors.
    public var training: Training?

    /// A training flavor's progress: the latest loss report and the recent ones.
    public struct Training: Sendable, Codable, Equatable {
        /// Steps trained so far (the same on every rank).
        public var batch: UInt64
        /// Samples trained so far, all ranks.
        public var samples: UInt64
        /// Mean training loss since the previous report.
        public var trainLoss: Double
        /// Validation loss, nil without a validation set.
        public var validLoss: Double?
        /// Earlier reports, oldest first, at most `maxHistory` (each without its own history).
        public var reports: [Report]

        /// One loss report.
        public struct Report: Sendable, Codable, Equatable {
            public var batch: UInt64
            public var trainLoss: Double
            public var validLoss: Double?
            /// A report.
            public init(batch: UInt64, trainLoss: Double, validLoss: Double?) {
                self.batch = batch
                self.trainLoss = trainLoss
                self.validLoss = validLoss
            }
            enum CodingKeys: String, CodingKey {
                case batch = "batch"
                case trainLoss = "train_loss"
                case validLoss = "valid_loss"
            }
            /// Encodes every key; a missing or non-finite loss as `null` (JSON has no NaN).
            public func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(batch, forKey: .batch)
                try container.encode(trainLoss.isFinite ? trainLoss : nil, forKey: .trainLoss)
                try container.encode(validLoss.flatMap { $0.isFinite ? $0 : nil }, forKey: .validLoss)
            }
            /// Reads what `encode` writes (`null` losses as NaN / nil).
            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                batch = try container.decode(UInt64.self, forKey: .batch)
                trainLoss = try container.decodeIfPresent(Double.self, forKey: .trainLoss) ?? .nan
                validLoss = try container.decodeIfPresent(Double.self, forKey: .validLoss)
            }
        }

        /// The state after the first report.
        public init(batch: UInt64, samples: UInt64, trainLoss: Double, validLoss: Double?, reports: [Report] = []) {
            self.batch = batch
            self.samples = samples
            self.trainLoss = trainLoss
            self.validLoss = validLoss
            self.reports = reports
        }

        /// Takes a new report in, keeping at most `maxHistory` of them.
        public mutating func record(batch: UInt64, samples: UInt64, trainLoss: Double, validLoss: Double?) {
            self.batch = batch
            self.samples = samples
            self.trainLoss = trainLoss
            self.validLoss = validLoss
            reports.append(Report(batch: batch, trainLoss: trainLoss, validLoss: validLoss))
            if reports.count > StudyStatus.maxHistory { reports.removeFirst(reports.count - StudyStatus.maxHistory) }
        }

        enum CodingKeys: String, CodingKey {
            case batch = "batch"
            case samples = "samples"
            case trainLoss = "train_loss"
            case validLoss = "valid_loss"
            case reports = "reports"
        }

        /// Encodes every key; a missing or non-finite loss as `null`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(batch, forKey: .batch)
            try container.encode(samples, forKey: .samples)
            try container.encode(trainLoss.isFinite ? trainLoss : nil, forKey: .trainLoss)
            try container.encode(validLoss.flatMap { $0.isFinite ? $0 : nil }, forKey: .validLoss)
            try container.encode(reports, forKey: .reports)
        }

        /// Reads what `encode` writes.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            batch = try container.decode(UInt64.self, forKey: .batch)
            samples = try container.decode(UInt64.self, forKey: .samples)
            trainLoss = try container.decodeIfPresent(Double.self, forKey: .trainLoss) ?? .nan
            validLoss = try container.decodeIfPresent(Double.self, forKey: .validLoss)
            reports = try container.decode([Report].self, forKey: .reports)
        }
    }

    /// Simulation counts by state; `total` is the study's size, the others partition what has started.
    public struct SimulationCounts: Sendable, Codable, Equatable {
        /// Simulations in the study.
        public var total: Int
        /// Simulations that finished and whose data the server has.
        public var finished: Int
        /// Simulations running now.
        public var running: Int
        /// Simulations submitted and waiting for resources.
        public var waiting: Int
        /// Simulations that failed for good (after any retries).
        public var failed: Int

        /// Counts, all zero unless given.
        public init(total: Int = 0, finished: Int = 0, running: Int = 0, waiting: Int = 0, failed: Int = 0) {
            self.total = total
            self.finished = finished
            self.running = running
            self.waiting = waiting
            self.failed = failed
        }

        // Keys are spelled out so that a Swift rename can never change the documented format.
        enum CodingKeys: String, CodingKey {
            case total = "total"
            case finished = "finished"
            case running = "running"
            case waiting = "waiting"
            case failed = "failed"
        }
    }

    /// The server job: its MPI ranks, how often the launcher restarted it, and its process.
    public struct ServerStatus: Sendable, Codable, Equatable {
        /// MPI ranks of the server job.
        public var ranks: Int
        /// Times the launcher restarted the server (from its checkpoint).
        public var restarts: Int
        /// Server job state, as the launcher tracks it (for example "running").
        public var state: String
        /// Process id of the server job's leader, or nil when it is not running.
        public var pid: Int32?

        /// A server status; not running unless told otherwise.
        public init(ranks: Int = 0, restarts: Int = 0, state: String = "waiting", pid: Int32? = nil) {
            self.ranks = ranks
            self.restarts = restarts
            self.state = state
            self.pid = pid
        }

        enum CodingKeys: String, CodingKey {
            case ranks = "ranks"
            case restarts = "restarts"
            case state = "state"
            case pid = "pid"
        }

        // Written by hand so that a nil pid is `"pid":null` rather than a missing key:
        // clients then see one fixed set of keys.
        /// Encodes every key, nil as `null`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(ranks, forKey: .ranks)
            try container.encode(restarts, forKey: .restarts)
            try container.encode(state, forKey: .state)
            try container.encode(pid, forKey: .pid)
        }
    }

    /// One scheduler job: the simulations of one group and how the job stands or ended.
    public struct JobRow: Sendable, Codable, Equatable {
        /// Group id the job runs.
        public var group: UInt32
        /// Simulation ids in the group.
        public var simulations: [UInt32]
        /// Job state (for example "waiting", "running", "finished", "failed").
        public var state: String
        /// Exit code once the job ended, 0 before.
        public var exitCode: Int32
        /// Why the job ended as it did, in the scheduler's words; free text, may be empty.
        public var reason: String
        /// Batch system job id, or nil when the scheduler has none (local runs).
        public var batchJob: String?

        /// A job row.
        public init(group: UInt32, simulations: [UInt32], state: String, exitCode: Int32 = 0,
                    reason: String = "", batchJob: String? = nil) {
            self.group = group
            self.simulations = simulations
            self.state = state
            self.exitCode = exitCode
            self.reason = reason
            self.batchJob = batchJob
        }

        enum CodingKeys: String, CodingKey {
            case group = "group"
            case simulations = "simulations"
            case state = "state"
            case exitCode = "exit_code"
            case reason = "reason"
            case batchJob = "batch_job"
        }

        /// Encodes every key, nil as `null`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(group, forKey: .group)
            try container.encode(simulations, forKey: .simulations)
            try container.encode(state, forKey: .state)
            try container.encode(exitCode, forKey: .exitCode)
            try container.encode(reason, forKey: .reason)
            try container.encode(batchJob, forKey: .batchJob)
        }
    }

    /// One point of the progress history.
    public struct Sample: Sendable, Codable, Equatable {
        /// Seconds since the study started.
        public var t: Double
        /// `bytesReceived` at that time.
        public var bytesReceived: UInt64
        /// Finished simulations at that time.
        public var finished: Int

        /// A sample.
        public init(t: Double, bytesReceived: UInt64, finished: Int) {
            self.t = t
            self.bytesReceived = bytesReceived
            self.finished = finished
        }

        enum CodingKeys: String, CodingKey {
            case t = "t"
            case bytesReceived = "bytes_received"
            case finished = "finished"
        }
    }

    /// A status for a study that is about to start; counters start at zero.
    public init(study: String, scheduler: String, state: String = "starting", startedAt: Double,
                elapsedSeconds: Double = 0, simulations: SimulationCounts = .init(), bytesReceived: UInt64 = 0,
                throughputBytesPerSecond: Double = 0, etaSeconds: Double? = nil, server: ServerStatus = .init(),
                jobs: [JobRow] = [], history: [Sample] = [], training: Training? = nil) {
        self.study = study
        self.scheduler = scheduler
        self.state = state
        self.startedAt = startedAt
        self.elapsedSeconds = elapsedSeconds
        self.simulations = simulations
        self.bytesReceived = bytesReceived
        self.throughputBytesPerSecond = throughputBytesPerSecond
        self.etaSeconds = etaSeconds
        self.server = server
        self.jobs = jobs
        self.history = Array(history.suffix(Self.maxHistory))
        self.training = training
    }

    /// Appends a sample to `history`, dropping the oldest ones beyond `maxHistory`.
    public mutating func record(sample: Sample) {
        history.append(sample)
        // One over the cap in steady state, so this drops one sample; removing the whole excess
        // also repairs a `history` that was assigned directly with too many samples.
        if history.count > Self.maxHistory {
            history.removeFirst(history.count - Self.maxHistory)
        }
    }

    enum CodingKeys: String, CodingKey {
        case study = "study"
        case scheduler = "scheduler"
        case state = "state"
        case startedAt = "started_at"
        case elapsedSeconds = "elapsed_seconds"
        case simulations = "simulations"
        case bytesReceived = "bytes_received"
        case throughputBytesPerSecond = "throughput_bytes_per_second"
        case etaSeconds = "eta_seconds"
        case server = "server"
        case jobs = "jobs"
        case history = "history"
        case training = "training"
    }

    /// Encodes every key, a nil ETA as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(study, forKey: .study)
        try container.encode(scheduler, forKey: .scheduler)
        try container.encode(state, forKey: .state)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try container.encode(simulations, forKey: .simulations)
        try container.encode(bytesReceived, forKey: .bytesReceived)
        try container.encode(throughputBytesPerSecond, forKey: .throughputBytesPerSecond)
        try container.encode(etaSeconds, forKey: .etaSeconds)
        try container.encode(server, forKey: .server)
        try container.encode(jobs, forKey: .jobs)
        try container.encode(history, forKey: .history)
        try container.encode(training, forKey: .training)
    }
}
