import Foundation
import MelissaProtocol

/// A transport that runs a server rank in-process on scripted messages: no sockets, no
/// signals, no waiting. A test queues client data, launcher messages and signals, runs the
/// server, and reads what the server sent. With one MPI rank (`commSize` 1) a whole study
/// runs this way, flavors included (see `Tests/MelissaServerTests/BaseServerLoopTests.swift`).
///
/// Each `poll` reports what is queued; when nothing is, it calls `onIdle` once (the script's
/// turn to react to what the server sent: answer a job request, send the next data) and
/// reports what that queued. A server that keeps polling with nothing to do would spin, so
/// after `idleLimit` idle polls in a row `poll` throws.
public final class EmbeddedServerTransport: ServerTransport {
    public let dataEndpoint = "embedded://data"
    public let internalEndpoint = "embedded://internal"

    /// Client data messages waiting for the server, each a list of frames (usually one).
    public var inboundData: [[[UInt8]]] = []
    /// Launcher messages waiting for the server (one frame each).
    public var inboundLauncher: [[UInt8]] = []
    /// Client handshakes waiting for the server (one frame each).
    public var inboundHandshakes: [[UInt8]] = []
    /// Internal messages waiting for this rank (one frame each).
    public var inboundInternal: [[UInt8]] = []
    /// Signals to deliver (SIGUSR1, SIGTERM, ...).
    public var inboundSignals: [Int32] = []

    /// Every frame the server sent the launcher, in order (the hello first).
    public private(set) var sentToLauncher: [[UInt8]] = []
    /// Every handshake reply, in order.
    public private(set) var handshakeReplies: [[UInt8]] = []
    /// Every internal frame sent, with its destination rank.
    public private(set) var sentInternal: [(rank: Int, frame: [UInt8])] = []
    /// Data messages the server has taken so far.
    public private(set) var dataTaken = 0
    /// Whether the launcher channel was closed (the study's last step).
    public private(set) var launcherClosed = false

    /// Answers the launcher hello (default: the welcome the launcher would send).
    public var onHello: ([UInt8]) throws -> [[UInt8]]
    /// Called by `poll` when nothing is queued: the script queues what comes next.
    public var onIdle: ((EmbeddedServerTransport) throws -> Void)?
    /// Idle polls in a row (nothing queued even after `onIdle`) before `poll` gives up.
    public var idleLimit = 10_000
    var idlePolls = 0
    var current: [[UInt8]] = []
    var currentFrame = 0
    /// The current data frame, kept at a stable, 16-byte aligned address until the next receive.
    var storage: UnsafeMutableRawPointer?
    var storageCount = 0

    /// A transport whose launcher answers the hello with `welcome(session)` of the hello.
    public init() {
        onHello = { hello in
            let message = try hello.withUnsafeBytes { try ControlMessage.decode($0) }
            guard case let .hello(_, _, session) = message else {
                throw ServerError.launcher("embedded launcher: expected hello, got \(message)")
            }
            return [ControlMessage.welcome(session: session).encode()]
        }
    }

    deinit { storage?.deallocate() }

    public func connectInternal(endpoints: [String], rank: Int) throws {}
    public func bindHandshake() throws -> String { "embedded://handshake" }

    public func connectLauncher(hello: [UInt8], timeout: Double) throws -> [[UInt8]] {
        sentToLauncher.append(hello)
        return try onHello(hello)
    }

    public func poll(timeoutMilliseconds: Int) throws -> ServerEvents {
        var events = queued
        if events.isEmpty {
            try onIdle?(self)
            events = queued
        }
        if events.isEmpty {
            idlePolls += 1
            if idlePolls >= idleLimit {
                throw ServerError.invariant("embedded transport: \(idlePolls) polls in a row with nothing queued and nothing scripted")
            }
        } else {
            idlePolls = 0
        }
        return events
    }

    var queued: ServerEvents {
        var events: ServerEvents = []
        if !inboundSignals.isEmpty { events.insert(.signal) }
        if !inboundInternal.isEmpty { events.insert(.internalMessage) }
        if !inboundData.isEmpty { events.insert(.data) }
        if !inboundHandshakes.isEmpty { events.insert(.handshake) }
        if !inboundLauncher.isEmpty { events.insert(.launcher) }
        return events
    }

    public func nextSignal() -> Int32? { inboundSignals.isEmpty ? nil : inboundSignals.removeFirst() }

    public func receiveData() throws -> Bool {
        guard !inboundData.isEmpty else { return false }
        current = inboundData.removeFirst()
        dataTaken += 1
        currentFrame = 0
        try load(frame: 0)
        return true
    }

    func load(frame: Int) throws {
        storage?.deallocate()
        let bytes = current.isEmpty ? [] : current[frame]
        let target = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { if let base = $0.baseAddress { target.copyMemory(from: base, byteCount: $0.count) } }
        storage = target
        storageCount = bytes.count
    }

    public func withCurrentData<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: storageCount))
    }

    public var currentDataHasMore: Bool { currentFrame + 1 < current.count }

    /// What `currentDataPeer` reports for every data message (a test sets it).
    public var dataPeer: String?
    public var currentDataPeer: String? { dataPeer }

    public func discardRemainingDataFrames() throws {
        while currentDataHasMore {
            currentFrame += 1
            try load(frame: currentFrame)
        }
    }

    public func receive(_ channel: ControlChannel) throws -> [[UInt8]]? {
        switch channel {
        case .internalMessages: return inboundInternal.isEmpty ? nil : [inboundInternal.removeFirst()]
        case .handshake: return inboundHandshakes.isEmpty ? nil : [inboundHandshakes.removeFirst()]
        case .launcher: return inboundLauncher.isEmpty ? nil : [inboundLauncher.removeFirst()]
        }
    }

    public func sendInternal(_ frame: [UInt8], to rank: Int) throws { sentInternal.append((rank, frame)) }
    public func replyHandshake(_ frame: [UInt8]) throws { handshakeReplies.append(frame) }
    public func sendLauncher(_ frame: [UInt8]) throws { sentToLauncher.append(frame) }
    public func closeLauncher() { launcherClosed = true }
    /// True once the server shut its transport down.
    public private(set) var isShutDown = false
    public func shutdown() { isShutDown = true }
    public var refusals: (count: Int, last: String) { (0, "") }
}
