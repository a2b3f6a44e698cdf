import MelissaProtocol

/// Rank 0's bookkeeping of the study: which simulations are pending, submitted, finished
/// or failed, which groups hold a job slot, and when the study is over. Pure state, no I/O,
/// so every transition is unit-testable.
public struct StudyCoordinator {
    /// Where one simulation stands.
    public enum SimulationState: Equatable, Sendable {
        case pending
        case submitted
        case running
        /// Its job ended but not every server rank has all its data yet; fails at `deadline`.
        case awaitingData(deadline: Double)
        case finished
        case failed(reason: String)
    }

    public let simulationCount: Int
    public let groupSize: Int
    public let jobLimit: Int
    public let serverRanks: Int
    /// Seconds a simulation whose job ended may still take to deliver its data.
    public let dataGrace: Double

    public private(set) var states: [SimulationState]
    private var completeRanks: [UInt32: Bitset] = [:]
    private var nextGroup = 0
    /// Groups holding a job slot (submitted, job not ended).
    public private(set) var activeGroups: Set<UInt32> = []
    public private(set) var finishedCount = 0
    public private(set) var failedCount = 0

    public init(simulationCount: Int, groupSize: Int, jobLimit: Int, serverRanks: Int, dataGrace: Double) {
        self.simulationCount = simulationCount
        self.groupSize = max(1, groupSize)
        self.jobLimit = max(1, jobLimit)
        self.serverRanks = serverRanks
        self.dataGrace = dataGrace
        states = Array(repeating: .pending, count: simulationCount)
    }

    /// Number of groups in the study (the last one may be smaller).
    public var groupCount: Int { (simulationCount + groupSize - 1) / groupSize }

    /// Simulation ids of group `g`.
    public func members(ofGroup g: UInt32) -> Range<Int> {
        let lo = Int(g) * groupSize
        return lo..<min(lo + groupSize, simulationCount)
    }

    /// True once every simulation finished or failed.
    public var isDone: Bool { finishedCount + failedCount == simulationCount }

    /// Simulations whose job is running.
    public var runningCount: Int { states.filter { $0 == .running }.count }

    /// Takes the next groups to submit while job slots are free.
    public mutating func groupsToSubmit() -> [UInt32] {
        var out: [UInt32] = []
        while activeGroups.count < jobLimit, nextGroup < groupCount {
            let g = UInt32(nextGroup)
            nextGroup += 1
            activeGroups.insert(g)
            for s in members(ofGroup: g) where states[s] == .pending { states[s] = .submitted }
            out.append(g)
        }
        return out
    }

    /// Records that server rank `rank` holds all of simulation `sim`'s data.
    /// Returns true when this made the simulation finished.
    public mutating func rankCompleted(rank: Int, simulation sim: UInt32) -> Bool {
        let s = Int(sim)
        guard s < simulationCount, rank < serverRanks else { return false }
        switch states[s] {
        case .finished, .failed: return false
        default: break
        }
        var ranks = completeRanks[sim] ?? Bitset(capacity: serverRanks)
        ranks.insert(rank)
        guard ranks.isFull else { completeRanks[sim] = ranks; return false }
        completeRanks[sim] = nil
        states[s] = .finished
        finishedCount += 1
        return true
    }

    /// Applies a job state from the launcher; returns the simulations that failed because of it.
    public mutating func jobChanged(group: UInt32, state: JobState, exitCode: Int32, reason: String,
                                    now: Double) -> [(simulation: UInt32, reason: String)] {
        guard Int(group) < groupCount, activeGroups.contains(group) else { return [] }
        var failures: [(UInt32, String)] = []
        for s in members(ofGroup: group) {
            switch (states[s], state) {
            case (.submitted, .running):
                states[s] = .running
            case (.submitted, .terminated), (.running, .terminated):
                states[s] = .awaitingData(deadline: now + dataGrace)
            case (.submitted, .failed), (.running, .failed), (.awaitingData, .failed):
                let why = reason.isEmpty ? "job failed with exit code \(exitCode)" : reason
                states[s] = .failed(reason: why)
                failedCount += 1
                completeRanks[UInt32(s)] = nil
                failures.append((UInt32(s), why))
            default:
                break
            }
        }
        if state == .terminated || state == .failed { activeGroups.remove(group) }
        return failures
    }

    /// Fails the simulations whose data did not all arrive within the grace period.
    public mutating func expireGracePeriods(now: Double) -> [(simulation: UInt32, reason: String)] {
        var failures: [(UInt32, String)] = []
        for s in 0..<simulationCount {
            if case let .awaitingData(deadline) = states[s], now >= deadline {
                let have = completeRanks[UInt32(s)]?.count ?? 0
                let why = "job exited 0 but only \(have) of \(serverRanks) server ranks received all its data"
                states[s] = .failed(reason: why)
                failedCount += 1
                completeRanks[UInt32(s)] = nil
                failures.append((UInt32(s), why))
            }
        }
        return failures
    }

    /// The earliest pending grace deadline, for the poll timeout.
    public var nextDeadline: Double? {
        states.compactMap { if case let .awaitingData(d) = $0 { return d } else { return nil } }.min()
    }
}
