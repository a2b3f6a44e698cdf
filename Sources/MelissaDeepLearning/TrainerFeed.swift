import Foundation

/// What a server rank's loop thread and its feeder thread share: the sample buffer and the
/// trainer's reports. Every access holds `condition`'s lock, hence `@unchecked Sendable`; the
/// condition wakes the loop when a batch freed space (back-pressure) and the feeder when a
/// sample arrived (so a trainer waiting for data gets it within milliseconds).
final class TrainerFeed: @unchecked Sendable {
    let condition = NSCondition()
    /// The samples waiting to be trained on.
    var buffer: SampleBuffer
    /// Set once every simulation's data is in: the buffer then drains.
    var receptionOver = false
    /// The `config` reply, once the rank is ready to talk to its trainer (after a restore).
    var configReply: [UInt8]?
    /// Per field, its global size, once its first sample arrived (the batch frames' widths).
    var fieldSizes: [Int]?
    /// A model checkpoint the loop asked for and the trainer has not been told about yet.
    var checkpointToAnnounce: (sequence: Int, path: String)?
    /// Set while rank 0 checkpoints: batch requests are answered `wait`.
    var holdForCheckpoint = false
    /// Whether the trainer got its config (it has a model to save from then on).
    var trainerConnected = false
    /// The last model checkpoint the trainer wrote.
    var lastSaved: TrainerProtocol.SavedModel?
    /// Loss reports, oldest first (rank 0's trainer sends them).
    var progress: [TrainerProtocol.TrainingProgress] = []
    /// The trainer's last word.
    var done: TrainerProtocol.TrainingDone?
    /// Batches handed out, and the samples in them.
    var batchesServed = 0
    var samplesServed = 0
    /// Why the feeder gave up (socket error, protocol violation), for the loop to report.
    var failure: String?
    /// Tells the feeder thread to leave.
    var stopRequested = false
    /// Set by the feeder thread when it left.
    var feederExited = false

    init(buffer: SampleBuffer) { self.buffer = buffer }

    /// Runs `body` holding the lock.
    func locked<T>(_ body: (TrainerFeed) throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body(self)
    }
}
