import Synchronization

/// The one shared `StudyStatus`: the launcher's poll loop writes it, the monitor's threads read it.
///
/// A `Mutex` (not an actor) because the writer is plain synchronous C-style code that must not
/// await; every critical section is a copy or a small in-place edit, so contention is negligible.
public final class StatusBoard: Sendable {
    private let status: Mutex<StudyStatus>

    /// A board showing `initial` until the first update.
    public init(_ initial: StudyStatus) {
        status = Mutex(initial)
    }

    /// Edits the status in place under the lock; keep `body` short and free of I/O.
    public func update(_ body: (inout StudyStatus) -> Void) {
        status.withLock { body(&$0) }
    }

    /// A consistent copy of the current status (all fields from the same update).
    public func snapshot() -> StudyStatus {
        status.withLock { $0 }
    }
}
