/// How clients split their data over the server ranks: chosen by the server's flavor and sent
/// in the handshake reply, so one client library serves every flavor (docs/PROTOCOL.md, section 4).
public enum DataRouting: UInt32, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// Each field is cut into one contiguous block of cells per server rank (`BlockPartition`);
    /// every rank receives its block of every step. The statistics flavor's routing.
    case cellBlocks = 0
    /// Whole fields, by time step: step t of every simulation goes to server rank t mod M.
    case stepRoundRobin = 1
    /// Whole fields, by simulation: every step of simulation s goes to server rank s mod M.
    case simulationRoundRobin = 2

    public var description: String {
        switch self {
        case .cellBlocks: return "cell blocks"
        case .stepRoundRobin: return "whole steps, round robin by time step"
        case .simulationRoundRobin: return "whole steps, one server rank per simulation"
        }
    }

    /// The one server rank that receives the whole field of (simulation, step), or nil for
    /// cell blocks (every rank receives its block).
    public func wholeStepRank(simulation: UInt32, step: UInt32, serverCount: Int) -> Int? {
        precondition(serverCount >= 1)
        switch self {
        case .cellBlocks: return nil
        case .stepRoundRobin: return Int(step % UInt32(serverCount))
        case .simulationRoundRobin: return Int(simulation % UInt32(serverCount))
        }
    }

    /// Whether server rank `rank` receives data of (simulation, step).
    public func delivers(simulation: UInt32, step: UInt32, to rank: Int, serverCount: Int) -> Bool {
        wholeStepRank(simulation: simulation, step: step, serverCount: serverCount).map { $0 == rank } ?? true
    }

    /// How many of a simulation's `nbTimeSteps` steps server rank `rank` receives.
    public func stepCount(simulation: UInt32, rank: Int, nbTimeSteps: Int, serverCount: Int) -> Int {
        precondition(serverCount >= 1 && rank >= 0 && rank < serverCount)
        switch self {
        case .cellBlocks: return nbTimeSteps
        case .stepRoundRobin: return nbTimeSteps / serverCount + (rank < nbTimeSteps % serverCount ? 1 : 0)
        case .simulationRoundRobin: return Int(simulation % UInt32(serverCount)) == rank ? nbTimeSteps : 0
        }
    }

    /// The part of a field of `globalSize` values that server rank `rank` holds: its cell block,
    /// or the whole field when steps are routed whole.
    public func block(globalSize: UInt64, rank: Int, serverCount: Int) -> Range<UInt64> {
        self == .cellBlocks ? BlockPartition(globalSize: globalSize, serverCount: serverCount).block(rank) : 0..<globalSize
    }
}
