import Foundation
import MelissaTransport

/// The thread that serves a rank's trainer: it owns the REP socket (libzmq sockets have one
/// owner) and answers each request from the shared `TrainerFeed`. A thread of its own, so a
/// trainer asking for a batch is answered at once while the loop thread receives data; it
/// calls no MPI (the server initialises MPI with `funneled`) and never logs (the loop reports
/// what `feed` records).
enum TrainerFeeder {
    /// Seconds a batch request waits for data before the answer is `wait`.
    static let batchWait = 0.05

    /// Binds `endpoint` and serves requests on a new thread until `feed.stopRequested`.
    static func start(feed: TrainerFeed, endpoint: String, nbParameters: Int) {
        let thread = Thread {
            serve(feed: feed, endpoint: endpoint, nbParameters: nbParameters)
            feed.locked { $0.feederExited = true; $0.condition.broadcast() }
        }
        thread.name = "melissa-trainer-feeder"
        thread.start()
    }

    static func serve(feed: TrainerFeed, endpoint: String, nbParameters: Int) {
        let socket: ZMQSocket
        let context: ZMQContext
        do {
            context = try ZMQContext()
            socket = try context.socket(.rep)
            // The receive timeout is how often the thread looks at `stopRequested`.
            try socket.setTimeouts(send: 10_000, receive: 200, linger: 0)
            try socket.bind(endpoint)
        } catch {
            feed.locked { $0.failure = "cannot open the trainer socket \(endpoint): \(error)" }
            return
        }
        defer { socket.close() }
        _ = context
        while !feed.locked({ $0.stopRequested }) {
            let frames: [[UInt8]]
            do {
                frames = try socket.receiveMultipart()
            } catch {
                if error.isTimeout { continue }
                feed.locked { $0.failure = "trainer socket: \(error)" }
                return
            }
            let reply: [[UInt8]]
            do {
                reply = try answer(TrainerProtocol.decodeRequest(frames), feed: feed, nbParameters: nbParameters)
            } catch {
                let message = "malformed request from the trainer: \(error)"
                feed.locked { $0.failure = message }
                reply = [TrainerProtocol.jsonFrame(["op": "error", "message": message])]
            }
            do {
                for (i, frame) in reply.enumerated() { try socket.send(frame, more: i < reply.count - 1) }
            } catch {
                feed.locked { $0.failure = "cannot answer the trainer: \(error)" }
                return
            }
        }
    }

    /// The reply to one request.
    static func answer(_ request: TrainerProtocol.Request, feed: TrainerFeed, nbParameters: Int) -> [[UInt8]] {
        switch request {
        case let .hello(version, _):
            guard version == TrainerProtocol.version else {
                let message = "the trainer speaks protocol \(version), this server \(TrainerProtocol.version) (mismatched melissa_dl package?)"
                feed.locked { $0.failure = message }
                return [TrainerProtocol.jsonFrame(["op": "error", "message": message])]
            }
            // The config is ready once the rank restored its checkpoint (it names the model to load).
            return feed.locked { feed in
                while feed.configReply == nil && !feed.stopRequested { _ = feed.condition.wait(until: Date() + 0.2) }
                feed.trainerConnected = feed.configReply != nil
                return [feed.configReply ?? TrainerProtocol.jsonFrame(["op": "error", "message": "the server is stopping"])]
            }
        case let .batch(count, saved):
            // Samples leave the buffer under the lock; the reply's frames are assembled after,
            // so the loop thread is not held up by the copy.
            let taken: (samples: [Sample], sizes: [Int], outcome: TakeOutcome, index: Int, fieldSizes: [Int],
                        checkpoint: (sequence: Int, path: String)?) = feed.locked { feed in
                if let saved { feed.lastSaved = saved; feed.condition.broadcast() }
                let checkpoint = feed.checkpointToAnnounce
                feed.checkpointToAnnounce = nil
                // While rank 0 checkpoints, nothing leaves the buffer: the model the trainer
                // saves and the buffer the loop writes then hold every sample exactly once.
                if feed.holdForCheckpoint {
                    // Paced like an empty buffer: the hold ends when the loop took its snapshot.
                    if checkpoint == nil { _ = feed.condition.wait(until: Date() + batchWait) }
                    return ([], [], .wait, feed.batchesServed, feed.fieldSizes ?? [], checkpoint)
                }
                var outcome = feed.buffer.take(receptionOver: feed.receptionOver)
                if outcome == .wait {
                    _ = feed.condition.wait(until: Date() + batchWait)
                    outcome = feed.buffer.take(receptionOver: feed.receptionOver)
                }
                let index = feed.batchesServed
                var samples: [Sample] = []
                var sizes: [Int] = []
                // Up to `count` batches, each taken as the policy says; stops at the first that is not ready.
                while case let .batch(batch) = outcome {
                    samples += batch
                    sizes.append(batch.count)
                    guard sizes.count < count else { break }
                    outcome = feed.buffer.take(receptionOver: feed.receptionOver)
                }
                if !sizes.isEmpty {
                    feed.batchesServed += sizes.count
                    feed.samplesServed += samples.count
                    // Space was freed: a loop blocked on a full buffer goes on.
                    feed.condition.broadcast()
                }
                return (samples, sizes, outcome, index, feed.fieldSizes ?? [], checkpoint)
            }
            if !taken.sizes.isEmpty {
                return TrainerProtocol.batchFrames(taken.samples, index: taken.index, nbParameters: nbParameters,
                                                   fieldSizes: taken.fieldSizes, batches: taken.sizes,
                                                   checkpoint: taken.checkpoint)
            }
            return [TrainerProtocol.reply(taken.outcome == .exhausted ? "end" : "wait", checkpoint: taken.checkpoint)]
        case let .progress(progress):
            feed.locked { $0.progress.append(progress) }
            return [TrainerProtocol.reply("ok")]
        case let .done(done, saved):
            feed.locked { feed in
                if let saved { feed.lastSaved = saved }
                feed.done = done
                feed.condition.broadcast()
            }
            return [TrainerProtocol.reply("ok")]
        }
    }
}
