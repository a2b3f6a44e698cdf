import MelissaProtocol
import MelissaTransport

/// What a job runs next (`melissa_fetch_next_parameters`): the same answer on every rank.
public enum NextSimulation: Equatable, Sendable {
    /// Run this simulation, with these input parameters.
    case run(simulationID: UInt32, parameters: [Double])
    /// The study has nothing more for this job: the simulation should end (exit 0).
    case finished
}

extension MelissaClient {
    /// Asks server rank 0 which simulation this job runs next (`client_config.persistent_jobs`):
    /// first the job's own (`MELISSA_SIMU_ID`), then others while the study has some waiting.
    /// Collective over `communicator`; `previous` is the simulation this process ran last, for
    /// the server's log. A refusal (the job is not running for this server, e.g. after a server
    /// restart) is an error, like a refused handshake.
    public static func fetchNextSimulation(communicator: Communicator, settings: ClientSettings,
                                           previous: UInt32?) throws(ClientError) -> NextSimulation {
        let rank: Int
        do { rank = try communicator.rank() } catch {
            throw .mpi(error, during: "reading the client communicator's rank")
        }
        let context: ZMQContext
        do { context = try ZMQContext() } catch { throw .transport(error, during: "creating the ZeroMQ context") }
        let request = NextSimulationRequest(jobSimulationID: settings.simulationID,
                                            previousSimulationID: previous ?? NextSimulationRequest.none)
        let answer = try askServerRankZero(request.encode(), what: "next-simulation", settings: settings,
                                           context: context, communicator: communicator, rank: rank)
        let address = settings.serverAddress
        let decoded: Result<NextSimulationOutcome, ProtocolError> = answer.withUnsafeBytes { buffer in
            do throws(ProtocolError) { return .success(try NextSimulationReply.decode(buffer)) } catch {
                return .failure(error)
            }
        }
        switch decoded {
        case let .failure(.versionMismatch(ours, theirs)):
            throw .versionMismatch(address: address, client: ours, server: theirs)
        case let .failure(error):
            throw .malformedReply(address: address, error)
        case let .success(.refused(refusal)):
            throw .refused(address: address, reason: refusal.reason)
        case let .success(.next(reply)):
            return reply.simulationID == NextSimulationRequest.none
                ? .finished : .run(simulationID: reply.simulationID, parameters: reply.parameters)
        }
    }
}
