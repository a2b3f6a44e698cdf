import Glibc
import CLinux

/// Turns SIGINT/SIGTERM (and friends) into a readable file descriptor, so a poll loop
/// handles signals like any other event instead of in an async handler.
///
/// The signals are blocked in the calling thread; create it before starting other
/// threads (they inherit the mask) and reset the mask in spawned children.
public final class SignalFD {
    /// The descriptor to register with `ZMQPoller.add(fileDescriptor:)`.
    public let fileDescriptor: Int32

    /// Blocks `signals` in the calling thread. Call it first thing in `main`, before MPI or
    /// libzmq start threads: they inherit the mask, so a signal sent to the process waits for
    /// the signalfd instead of hitting a thread where its default action (terminate) applies.
    public static func block(_ signals: [Int32]) throws(SignalFDError) {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        guard pthread_sigmask(SIG_BLOCK, &set, nil) == 0 else { throw SignalFDError(call: "pthread_sigmask", code: errno) }
    }

    /// Blocks `signals` and opens a non-blocking signalfd for them.
    public init(signals: [Int32]) throws(SignalFDError) {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        guard pthread_sigmask(SIG_BLOCK, &set, nil) == 0 else { throw SignalFDError(call: "pthread_sigmask", code: errno) }
        let fd = signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard fd >= 0 else { throw SignalFDError(call: "signalfd", code: errno) }
        fileDescriptor = fd
    }

    deinit { Glibc.close(fileDescriptor) }

    /// Returns the next pending signal number, or nil when none is pending.
    public func next() -> Int32? {
        var info = signalfd_siginfo()
        let n = read(fileDescriptor, &info, MemoryLayout<signalfd_siginfo>.size)
        guard n == MemoryLayout<signalfd_siginfo>.size else { return nil }
        return Int32(info.ssi_signo)
    }
}

/// A failed signal-setup call.
public struct SignalFDError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public var description: String { "\(call): \(String(cString: strerror(code)))" }
}
