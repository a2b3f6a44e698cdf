import MelissaConfig
import MelissaProtocol

/// `dl_config`: the deep-learning flavor's config section (docs/DEEP_LEARNING.md). Keys follow
/// Melissa's deep-learning server where it has them (`batch_size`, `per_server_watermark`,
/// `buffer_size`, `buffer`, `pseudo_epochs`, `nb_batches_update`, `checkpoint_interval`).
public struct DeepLearningSettings: FlavorSettings, Equatable {
    /// `routing`: which server rank trains on which samples.
    public enum Routing: String, CaseIterable, Sendable {
        /// Time step t of every simulation to rank t mod M (Melissa's default).
        case steps = "steps"
        /// Every step of simulation s to rank s mod M.
        case simulations = "simulations"

        /// The wire protocol's routing (told to clients in the handshake).
        public var dataRouting: DataRouting {
            switch self {
            case .steps: return .stepRoundRobin
            case .simulations: return .simulationRoundRobin
            }
        }
    }

    /// `model_file`: the user's Python file with one `melissa_dl.TorchTrainer` subclass (absolute after loading).
    public var modelFile: String
    /// `python`: the interpreter that runs the trainers (needs torch, safetensors, pyzmq, numpy).
    public var python: String
    /// `batch_size`: samples per batch on each rank.
    public var batchSize: Int
    /// `buffer_size`: samples a rank holds at most (its memory bound).
    public var bufferSize: Int
    /// `per_server_watermark`: samples a rank collects before its first batch.
    public var watermark: Int
    /// `buffer`: the buffer policy.
    public var buffer: BufferPolicy
    /// `pseudo_epochs`: 1 trains while data streams; more collects everything, then trains that many passes.
    public var pseudoEpochs: Int
    /// `nb_batches_update`: batches between two loss reports (and validations).
    public var nbBatchesUpdate: Int
    /// `checkpoint_interval`: seconds between checkpoints; nil keeps the server's default.
    public var checkpointInterval: Double?
    /// `validation_directory`: `.npz` files of an offline study (one per simulation), or nil.
    public var validationDirectory: String?
    /// `validation_batch_size`: samples per validation batch.
    public var validationBatchSize: Int
    /// `routing`: steps (default) or simulations.
    public var routing: Routing
    /// `user`: a free-form object handed to the user's hooks (hyper-parameters), as JSON text.
    public var userJSON: String

    /// Settings with Melissa's defaults except the model file.
    public init(modelFile: String, python: String = "python3", batchSize: Int = 10, bufferSize: Int = 1000,
                watermark: Int? = nil, buffer: BufferPolicy = .firo, pseudoEpochs: Int = 1, nbBatchesUpdate: Int = 10,
                checkpointInterval: Double? = nil, validationDirectory: String? = nil,
                validationBatchSize: Int? = nil, routing: Routing = .steps, userJSON: String = "{}") {
        self.modelFile = modelFile
        self.python = python
        self.batchSize = batchSize
        self.bufferSize = bufferSize
        self.watermark = watermark ?? min(batchSize, bufferSize)
        self.buffer = buffer
        self.pseudoEpochs = pseudoEpochs
        self.nbBatchesUpdate = nbBatchesUpdate
        self.checkpointInterval = checkpointInterval
        self.validationDirectory = validationDirectory
        self.validationBatchSize = validationBatchSize ?? batchSize
        self.routing = routing
        self.userJSON = userJSON
    }

    /// The buffer a rank builds from these settings (the study's seed, offset by rank).
    public func bufferSettings(seed: UInt64) -> BufferSettings {
        BufferSettings(policy: buffer, capacity: bufferSize, watermark: watermark, batchSize: batchSize,
                       pseudoEpochs: pseudoEpochs, seed: seed)
    }

    /// Paths relative to the config file's directory: the model file, the validation set,
    /// and an interpreter given as a path (a bare `python3` is looked up on PATH).
    public func resolvingPaths(relativeTo directory: String) -> any FlavorSettings {
        var copy = self
        copy.modelFile = ConfigPaths.resolve(modelFile, against: directory)
        copy.validationDirectory = validationDirectory.map { ConfigPaths.resolve($0, against: directory) }
        if python.contains("/") { copy.python = ConfigPaths.resolve(python, against: directory) }
        return copy
    }

    /// Every key `dl_config` accepts.
    public static let keys = ["model_file", "python", "batch_size", "buffer_size", "per_server_watermark", "buffer",
                              "pseudo_epochs", "nb_batches_update", "checkpoint_interval", "validation_directory",
                              "validation_batch_size", "routing", "user"]

    /// The registry entry: `server_class: "deep-learning"`, section `dl_config`.
    public static let spec = FlavorSpec(
        name: DeepLearningServer.flavorName,
        summary: "trains a PyTorch surrogate on the ensemble's outputs as they stream in (docs/DEEP_LEARNING.md)",
        sectionName: "dl_config", sectionKeys: keys,
        read: { section, _ in
            let modelFile = section.string("model_file", required: true)
            let python = section.string("python") ?? "python3"
            let batchSize = section.int("batch_size", range: 1...1_000_000) ?? 10
            let bufferSize = section.int("buffer_size", range: 1...100_000_000) ?? 1000
            let watermark = section.int("per_server_watermark", range: 1...100_000_000)
            let buffer = section.choice("buffer", as: BufferPolicy.self) ?? .firo
            let pseudoEpochs = section.int("pseudo_epochs", range: 1...1_000_000) ?? 1
            let update = section.int("nb_batches_update", range: 1...1_000_000_000) ?? 10
            let interval = section.number("checkpoint_interval", greaterThan: 0, atMost: 1_000_000)
            let validation = section.string("validation_directory")
            let validationBatch = section.int("validation_batch_size", range: 1...1_000_000)
            let routing = section.choice("routing", as: Routing.self) ?? .steps
            let user = section.objectJSON("user") ?? "{}"
            if batchSize > bufferSize {
                section.report("batch_size", "is \(batchSize), larger than buffer_size (\(bufferSize)): no batch could ever be assembled")
            }
            if let watermark, watermark > bufferSize {
                section.report("per_server_watermark", "is \(watermark), larger than buffer_size (\(bufferSize)): training would never start")
            }
            if let modelFile, !modelFile.hasSuffix(".py") {
                section.report("model_file", "must name a Python file (.py), got '\(modelFile)'")
            }
            guard let modelFile else { return nil }
            return DeepLearningSettings(modelFile: modelFile, python: python, batchSize: batchSize, bufferSize: bufferSize,
                                        watermark: watermark, buffer: buffer, pseudoEpochs: pseudoEpochs,
                                        nbBatchesUpdate: update, checkpointInterval: interval,
                                        validationDirectory: validation, validationBatchSize: validationBatch,
                                        routing: routing, userJSON: user)
        })
}
