import Foundation
import Glibc
import XCTest
@testable import MelissaMonitor

/// The launcher reads SIGINT/SIGTERM/SIGCHLD from a signalfd with the signals blocked in every
/// thread: the monitor must install no handler and start no thread that can receive them.
final class SignalSafetyTests: XCTestCase {
    /// The signals the launcher owns: nobody in the test process may have a handler for them.
    private let owned: [Int32] = [SIGINT, SIGTERM, SIGCHLD]
    /// Others whose disposition must not change (SIGQUIT is not here because the Swift runtime's
    /// backtracer already handles it; it is checked for "unchanged" below with the rest).
    private let others: [Int32] = [SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM]

    /// The raw handler word and flags of `signal`'s current disposition.
    private func disposition(_ signal: Int32) -> [UInt8] {
        var action = sigaction()
        sigaction(signal, nil, &action)
        return withUnsafeBytes(of: action.__sigaction_handler) { Array($0) } + withUnsafeBytes(of: action.sa_flags) { Array($0) }
    }

    /// True when `signal` has its default disposition (no handler installed, not ignored).
    private func hasDefaultDisposition(_ signal: Int32) -> Bool {
        var action = sigaction()
        sigaction(signal, nil, &action)
        return action.__sigaction_handler.sa_handler == nil
    }

    func testServingInstallsNoSignalHandler() throws {
        for signal in owned {
            XCTAssertTrue(hasDefaultDisposition(signal), "signal \(signal) already handled before the test")
        }
        let before = (owned + others).map(disposition)
        let server = try MonitorServer(board: StatusBoard(Fixtures.status), port: 0, token: "t")
        let port = try server.start()
        XCTAssertEqual(try RawHTTP.request(port: port, target: "/status.json?token=t").status, 200)
        XCTAssertEqual((owned + others).map(disposition), before, "a disposition changed while serving")
        server.stop()
        XCTAssertEqual((owned + others).map(disposition), before, "a disposition changed after stop")
        for signal in owned {
            XCTAssertTrue(hasDefaultDisposition(signal), "signal \(signal) got a handler")
        }
    }

    /// Threads started by start() (and by serving) have the launcher's signals blocked.
    ///
    /// Seen here: the NIO event-loop thread inherits the caller's mask; Swift-concurrency
    /// worker threads (libdispatch's root queues) block all non-fatal signals themselves.
    func testNewThreadsKeepTheCallersBlockedSignals() throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGINT, SIGTERM, SIGCHLD] { sigaddset(&blocked, signal) }
        var previous = sigset_t()
        XCTAssertEqual(pthread_sigmask(SIG_BLOCK, &blocked, &previous), 0)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }

        let before = Set(threadIDs())
        let server = try MonitorServer(board: StatusBoard(Fixtures.status), port: 0, token: "t")
        let port = try server.start()
        for _ in 0..<5 {
            XCTAssertEqual(try RawHTTP.request(port: port, target: "/?token=t").status, 200)
        }
        let started = Set(threadIDs()).subtracting(before)
        XCTAssertFalse(started.isEmpty, "start() should have created at least the event-loop thread")
        for tid in started {
            // A thread may have ended since it was listed.
            guard let mask = blockedMask(of: tid) else { continue }
            for signal in [SIGINT, SIGTERM, SIGCHLD] {
                XCTAssertNotEqual(mask & (UInt64(1) << UInt64(signal - 1)), 0,
                                  "thread \(tid) (\(threadName(tid))) can receive signal \(signal)")
            }
        }
        server.stop()
    }

    private func threadIDs() -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).compactMap { Int($0) }
    }

    /// The thread's `SigBlk` mask from /proc, bit n-1 for signal n.
    private func blockedMask(of tid: Int) -> UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/self/task/\(tid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("SigBlk:") {
            return UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        }
        return nil
    }

    private func threadName(_ tid: Int) -> String {
        ((try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? "?")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
