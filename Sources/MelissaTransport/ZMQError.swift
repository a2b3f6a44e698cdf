import CZMQ

/// A failed libzmq call: which call, on what, and errno's text.
public struct ZMQError: Error, CustomStringConvertible, Sendable {
    /// The libzmq function that failed.
    public let call: String
    /// What it was applied to (an endpoint, an option).
    public let context: String
    /// errno at the time of the failure.
    public let code: Int32

    /// Captures errno right after a failed call.
    public init(_ call: String, _ context: String = "") {
        self.init(call, context, code: zmq_errno())
    }

    /// An error with a code read before anything else could overwrite errno.
    public init(_ call: String, _ context: String, code: Int32) {
        self.call = call
        self.context = context
        self.code = code
    }

    /// True when the call failed because a timeout expired or it would block.
    public var isTimeout: Bool { code == EAGAIN }
    /// True when the socket or context is being shut down.
    public var isTerminated: Bool { code == ETERM }
    /// True when the address is already taken by someone else.
    public var isAddressInUse: Bool { code == EADDRINUSE }
    /// True when a blocking call was interrupted by a signal.
    public var isInterrupted: Bool { code == EINTR }

    public var description: String {
        let text = String(cString: zmq_strerror(code))
        return context.isEmpty ? "\(call): \(text)" : "\(call) (\(context)): \(text)"
    }
}
