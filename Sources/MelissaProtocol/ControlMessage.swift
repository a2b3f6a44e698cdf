/// One simulation of a job request: its id and the client script to run.
public struct JobMember: Equatable, Sendable {
    public var simulationID: UInt32
    /// Absolute path of the generated client script.
    public var script: String
    public init(simulationID: UInt32, script: String) {
        self.simulationID = simulationID
        self.script = script
    }
}

/// How the launcher settled a numbered request (`requestDone`).
public enum RequestOutcome: UInt8, Sendable, Equatable {
    /// Acted on: a job is queued, or a live job is being cancelled.
    case accepted = 0
    /// The group already has a job (waiting, running or terminated): nothing new was started.
    case duplicate = 1
    /// Nothing to do (a cancel for a group without a live job).
    case ignored = 2
}

/// Launcher <-> server control messages (one ZeroMQ frame each; DEALER on the
/// server, ROUTER on the launcher), control protocol version 2. See docs/PROTOCOL.md.
///
/// Every request of the server (`jobRequest`, `cancelJob`) carries the server's session id
/// (random, new for every server process) and a request number (1, 2, ... within the
/// session). The launcher acts on each (session, request) once and answers `requestDone`;
/// a repeated request gets the stored answer again and never a second job.
public enum ControlMessage: Equatable, Sendable {
    /// Server -> launcher, first message: server size, the address clients connect to, and
    /// the server's session id.
    case hello(serverCommSize: UInt32, connectionEndpoint: String, session: UInt64)
    /// Launcher -> server: the hello was accepted (echoes the session id).
    case welcome(session: UInt64)
    /// Server -> launcher: run these simulations as one job (a group).
    case jobRequest(session: UInt64, request: UInt64, groupID: UInt32, members: [JobMember])
    /// Launcher -> server: a group's job changed state.
    case jobState(groupID: UInt32, state: JobState, exitCode: Int32, reason: String)
    /// Either way: are you alive? Answered with `pong`.
    case ping
    /// Either way: the answer to `ping`.
    case pong
    /// Server -> launcher: study counters for the progress display.
    case progress(finished: UInt32, failed: UInt32, total: UInt32, bytesReceived: UInt64)
    /// Launcher -> server: stop now (signal or error), with the reason.
    case stop(reason: String)
    /// Server -> launcher, last message: the study is over.
    case studyEnd(exitCode: Int32, finished: UInt32, failed: UInt32, summary: String)
    /// Server -> launcher: cancel this group's job (its simulations stopped sending data);
    /// the launcher then reports the job failed, with `reason`.
    case cancelJob(session: UInt64, request: UInt64, groupID: UInt32, reason: String)
    /// Launcher -> server: request `request` of session `session` was settled; sent again,
    /// identical, whenever the request is repeated.
    case requestDone(session: UInt64, request: UInt64, outcome: RequestOutcome, detail: String)
    /// Server -> launcher: a training flavor's loss report (steps and samples trained so far,
    /// the mean training loss since the last report, the validation loss if there is one), for
    /// the status page and metrics.
    case training(batch: UInt64, samples: UInt64, trainLoss: Double, validLoss: Double?)

    /// Kind code on the wire.
    public var kind: UInt16 {
        switch self {
        case .hello: return 1
        case .welcome: return 2
        case .jobRequest: return 3
        case .jobState: return 4
        case .ping: return 5
        case .progress: return 6
        case .stop: return 7
        case .studyEnd: return 8
        case .cancelJob: return 9
        case .requestDone: return 10
        case .pong: return 11
        case .training: return 12
        }
    }

    /// The encoded frame.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.raw(Magic.control.bytes); w.u16(Magic.control.version); w.u16(kind)
        switch self {
        case let .hello(size, endpoint, session):
            w.u32(size); w.string(endpoint); w.u64(session)
        case let .welcome(session):
            w.u64(session)
        case .ping, .pong:
            break
        case let .jobRequest(session, request, group, members):
            w.u64(session); w.u64(request); w.u32(group); w.u32(UInt32(members.count))
            for m in members { w.u32(m.simulationID); w.string(m.script) }
        case let .jobState(group, state, code, reason):
            w.u32(group); w.u8(state.rawValue); w.i32(code); w.string(reason)
        case let .progress(finished, failed, total, bytes):
            w.u32(finished); w.u32(failed); w.u32(total); w.u64(bytes)
        case let .stop(reason):
            w.string(reason)
        case let .studyEnd(code, finished, failed, summary):
            w.i32(code); w.u32(finished); w.u32(failed); w.string(summary)
        case let .cancelJob(session, request, group, reason):
            w.u64(session); w.u64(request); w.u32(group); w.string(reason)
        case let .requestDone(session, request, outcome, detail):
            w.u64(session); w.u64(request); w.u8(outcome.rawValue); w.string(detail)
        case let .training(batch, samples, trainLoss, validLoss):
            w.u64(batch); w.u64(samples); w.f64(trainLoss); w.u8(validLoss == nil ? 0 : 1); w.f64(validLoss ?? 0)
        }
        return w.bytes
    }

    /// Decodes one frame; anything malformed throws and changes nothing.
    public static func decode(_ buffer: UnsafeRawBufferPointer) throws(ProtocolError) -> ControlMessage {
        var r = ByteReader(buffer, message: "control message")
        let kind = try r.header(magic: .control)
        let message: ControlMessage
        switch kind {
        case 1:
            message = .hello(serverCommSize: try r.u32(), connectionEndpoint: try r.string("connection endpoint"),
                             session: try r.u64())
        case 2:
            message = .welcome(session: try r.u64())
        case 3:
            let session = try r.u64()
            let request = try r.u64()
            let group = try r.u32()
            let n = try r.u32()
            guard n >= 1, n <= UInt32(Limits.maxGroupSize) else {
                throw .invalidValue(what: "job member count", detail: "\(n) not in 1...\(Limits.maxGroupSize)")
            }
            var members: [JobMember] = []
            for _ in 0..<n {
                members.append(JobMember(simulationID: try r.u32(), script: try r.string("script path")))
            }
            message = .jobRequest(session: session, request: request, groupID: group, members: members)
        case 4:
            let group = try r.u32()
            let raw = try r.u8()
            guard let state = JobState(rawValue: raw) else {
                throw .invalidValue(what: "job state", detail: "code \(raw)")
            }
            message = .jobState(groupID: group, state: state, exitCode: try r.i32(), reason: try r.string("reason"))
        case 5:
            message = .ping
        case 6:
            message = .progress(finished: try r.u32(), failed: try r.u32(), total: try r.u32(),
                                bytesReceived: try r.u64())
        case 7:
            message = .stop(reason: try r.string("reason"))
        case 8:
            message = .studyEnd(exitCode: try r.i32(), finished: try r.u32(), failed: try r.u32(),
                                summary: try r.string("summary"))
        case 9:
            message = .cancelJob(session: try r.u64(), request: try r.u64(), groupID: try r.u32(),
                                 reason: try r.string("reason"))
        case 10:
            let session = try r.u64()
            let request = try r.u64()
            let raw = try r.u8()
            guard let outcome = RequestOutcome(rawValue: raw) else {
                throw .invalidValue(what: "request outcome", detail: "code \(raw)")
            }
            message = .requestDone(session: session, request: request, outcome: outcome, detail: try r.string("detail"))
        case 11:
            message = .pong
        case 12:
            let batch = try r.u64()
            let samples = try r.u64()
            let trainLoss = try r.f64()
            let hasValid = try r.u8()
            guard hasValid <= 1 else { throw .invalidValue(what: "validation loss flag", detail: "\(hasValid)") }
            let validLoss = try r.f64()
            message = .training(batch: batch, samples: samples, trainLoss: trainLoss, validLoss: hasValid == 1 ? validLoss : nil)
        default:
            throw .unknownKind(channel: "control", kind: kind)
        }
        try r.end()
        return message
    }
}
