/// What a server rank's loop needs from its sockets, and nothing more: the seam between
/// `BaseServer`'s logic and ZeroMQ. `ZMQServerTransport` is the real one (CURVE sockets,
/// signalfd); `EmbeddedServerTransport` runs a server in-process on scripted messages, for
/// tests (the way swift-nio's `EmbeddedChannel` stands in for a socket).
///
/// Everything is called on the rank's one thread, from `BaseServer`'s loop.
public protocol ServerTransport: AnyObject {
    /// Where clients send this rank's data (every rank's goes into the handshake reply).
    var dataEndpoint: String { get }
    /// Where the other ranks reach this rank's internal socket.
    var internalEndpoint: String { get }

    /// Connects the internal channel: rank 0 to every rank's endpoint (in rank order), any
    /// other rank to rank 0's. Once, at setup.
    func connectInternal(endpoints: [String], rank: Int) throws
    /// Rank 0: binds the client handshake socket; returns the endpoint clients connect to.
    func bindHandshake() throws -> String
    /// Rank 0: connects to the launcher, sends `hello` and returns the launcher's first
    /// message (its frames), waiting up to `timeout` seconds.
    func connectLauncher(hello: [UInt8], timeout: Double) throws -> [[UInt8]]

    /// Waits up to `timeoutMilliseconds` for any channel to be ready; returns which are.
    func poll(timeoutMilliseconds: Int) throws -> ServerEvents
    /// The next signal that arrived (SIGTERM, SIGINT, SIGUSR1), or nil.
    func nextSignal() -> Int32?

    /// Takes the next data message without waiting, as the current one; false when none is
    /// waiting. The previous current message is released.
    func receiveData() throws -> Bool
    /// The current data message's first frame, borrowed: valid until the next `receiveData`.
    func withCurrentData<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// Whether the current data message has frames after the first.
    var currentDataHasMore: Bool { get }
    /// The IP address the current data message came from (nil over `ipc://`, or in tests):
    /// asked once per simulation and rank, to show where the data travelled from.
    var currentDataPeer: String? { get }
    /// Reads and drops the current data message's remaining frames.
    func discardRemainingDataFrames() throws

    /// The next whole message (its frames) waiting on a control channel, or nil.
    func receive(_ channel: ControlChannel) throws -> [[UInt8]]?
    /// Sends one frame to `rank`'s internal socket (rank 0 to any rank, others to rank 0).
    func sendInternal(_ frame: [UInt8], to rank: Int) throws
    /// Answers the handshake just received (the handshake socket is request-reply).
    func replyHandshake(_ frame: [UInt8]) throws
    /// Sends one frame to the launcher.
    func sendLauncher(_ frame: [UInt8]) throws
    /// Closes the launcher channel after the last message (sent messages still go out).
    func closeLauncher()
    /// Closes every socket and waits until what they still queue has left (each within its
    /// linger): the study's last words reach the launcher and rank 0 before the process exits.
    func shutdown()
    /// Peers refused by authentication so far, with the last one's description.
    var refusals: (count: Int, last: String) { get }
}

/// The channels `poll` reports on.
public struct ServerEvents: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// A signal arrived.
    public static let signal = ServerEvents(rawValue: 1 << 0)
    /// A message from another server rank.
    public static let internalMessage = ServerEvents(rawValue: 1 << 1)
    /// Client data.
    public static let data = ServerEvents(rawValue: 1 << 2)
    /// A client handshake (rank 0).
    public static let handshake = ServerEvents(rawValue: 1 << 3)
    /// A launcher message (rank 0).
    public static let launcher = ServerEvents(rawValue: 1 << 4)
}

/// The one-frame-per-message channels besides data.
public enum ControlChannel: Sendable {
    /// Between server ranks.
    case internalMessages
    /// Client handshakes (rank 0).
    case handshake
    /// The launcher (rank 0).
    case launcher
}
