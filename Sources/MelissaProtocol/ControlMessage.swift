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

/// Launcher <-> server control messages (one ZeroMQ frame each; DEALER on the
/// server, ROUTER on the launcher). See docs/PROTOCOL.md for the byte layouts.
public enum ControlMessage: Equatable, Sendable {
    /// Server -> launcher, first message: server size and the address clients connect to.
    case hello(serverCommSize: UInt32, connectionEndpoint: String)
    /// Launcher -> server: the hello was accepted.
    case welcome
    /// Server -> launcher: run these simulations as one job (a group).
    case jobRequest(groupID: UInt32, members: [JobMember])
    /// Launcher -> server: a group's job changed state.
    case jobState(groupID: UInt32, state: JobState, exitCode: Int32, reason: String)
    /// Either way: I am alive.
    case ping
    /// Server -> launcher: study counters for the progress display.
    case progress(finished: UInt32, failed: UInt32, total: UInt32, bytesReceived: UInt64)
    /// Launcher -> server: stop now (signal or error), with the reason.
    case stop(reason: String)
    /// Server -> launcher, last message: the study is over.
    case studyEnd(exitCode: Int32, finished: UInt32, failed: UInt32, summary: String)
    /// Server -> launcher: cancel this group's job (its simulations stopped sending data);
    /// the launcher then reports the job failed, with `reason`.
    case cancelJob(groupID: UInt32, reason: String)

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
        }
    }

    /// The encoded frame.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.raw(Magic.control.bytes); w.u16(protocolVersion); w.u16(kind)
        switch self {
        case let .hello(size, endpoint):
            w.u32(size); w.string(endpoint)
        case .welcome, .ping:
            break
        case let .jobRequest(group, members):
            w.u32(group); w.u32(UInt32(members.count))
            for m in members { w.u32(m.simulationID); w.string(m.script) }
        case let .jobState(group, state, code, reason):
            w.u32(group); w.u8(state.rawValue); w.i32(code); w.string(reason)
        case let .progress(finished, failed, total, bytes):
            w.u32(finished); w.u32(failed); w.u32(total); w.u64(bytes)
        case let .stop(reason):
            w.string(reason)
        case let .studyEnd(code, finished, failed, summary):
            w.i32(code); w.u32(finished); w.u32(failed); w.string(summary)
        case let .cancelJob(group, reason):
            w.u32(group); w.string(reason)
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
            message = .hello(serverCommSize: try r.u32(), connectionEndpoint: try r.string("connection endpoint"))
        case 2:
            message = .welcome
        case 3:
            let group = try r.u32()
            let n = try r.u32()
            guard n >= 1, n <= UInt32(Limits.maxGroupSize) else {
                throw .invalidValue(what: "job member count", detail: "\(n) not in 1...\(Limits.maxGroupSize)")
            }
            var members: [JobMember] = []
            for _ in 0..<n {
                members.append(JobMember(simulationID: try r.u32(), script: try r.string("script path")))
            }
            message = .jobRequest(groupID: group, members: members)
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
            message = .cancelJob(groupID: try r.u32(), reason: try r.string("reason"))
        default:
            throw .unknownKind(channel: "control", kind: kind)
        }
        try r.end()
        return message
    }
}
