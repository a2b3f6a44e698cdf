import CMPI
import MelissaClient
import MelissaTransport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The C ABI of include/melissa_api.h. Melissa's API has no handle, so the process keeps one client.
// Every failure is fatal on purpose: a simulation that cannot stream would burn its allocation
// for nothing, and the server counts it failed either way. So each error prints
// `melissa: <message>` and aborts the whole MPI job.

/// The process's client, created by the first melissa_init.
/// nonisolated(unsafe): the C API, like Melissa's, must be called from the simulation's one
/// MPI thread; there is no concurrent access to guard against.
nonisolated(unsafe) private var sharedClient: MelissaClient?
/// The communicator of the first melissa_init, used to abort from melissa_send/finalize.
nonisolated(unsafe) private var sharedCommunicator: MPI_Comm?
/// The simulation the last melissa_fetch_next_parameters handed out: the next melissa_init
/// streams as it instead of as MELISSA_SIMU_ID.
nonisolated(unsafe) private var fetchedSimulation: UInt32?

/// Registers `field_name` with `local_vect_size` values on this rank; the first call connects to
/// the server. Collective over `comm_app`.
@_cdecl("melissa_init")
public func melissa_init(_ fieldName: UnsafePointer<CChar>?, _ localVectSize: Int32, _ commApp: MPI_Comm?) {
    requireMPIRunning("melissa_init")
    guard let commApp, commApp != melissa_mpi_comm_null() else {
        fatal("melissa_init: comm_app is MPI_COMM_NULL; pass the simulation's communicator",
              abortOn: melissa_mpi_comm_world())
    }
    let name = fieldNameOrFail(fieldName, call: "melissa_init", abortOn: commApp)
    do throws(ClientError) {
        let client: MelissaClient
        if let sharedClient {
            client = sharedClient
        } else {
            var settings = try ClientSettings(environment: ProcessEnvironment.current())
            if let fetchedSimulation { settings.simulationID = fetchedSimulation }
            client = try MelissaClient(communicator: Communicator(commApp), settings: settings)
            sharedClient = client
            sharedCommunicator = commApp
        }
        try client.register(field: name, localSize: Int(localVectSize))
    } catch {
        fatal(error.description, abortOn: commApp)
    }
}

/// Fortran's melissa_init (Melissa's `include "melissa/api.f90"` binds to this symbol): the size by
/// reference and the communicator as a Fortran handle, converted with MPI_Comm_f2c. The name may
/// lack a NUL: it ends at the first NUL or blank (see `boundedFieldName`).
@_cdecl("melissa_init_f")
public func melissa_init_f(_ fieldName: UnsafePointer<CChar>?, _ localVectSize: UnsafeMutablePointer<Int32>?,
                           _ commFortran: UnsafeMutablePointer<melissa_mpi_fint>?) {
    requireMPIRunning("melissa_init")
    guard let localVectSize else { fatal("melissa_init: local_vect_size is a null reference", abortOn: melissa_mpi_comm_world()) }
    guard let commFortran else { fatal("melissa_init: comm is a null reference", abortOn: melissa_mpi_comm_world()) }
    let comm = MPI_Comm_f2c(commFortran.pointee)
    guard let comm, comm != melissa_mpi_comm_null() else {
        fatal("melissa_init: comm (\(commFortran.pointee)) is MPI_COMM_NULL or not a valid Fortran communicator handle",
              abortOn: melissa_mpi_comm_world())
    }
    let name = boundedFieldName(fieldName, call: "melissa_init", abortOn: comm)
    name.withCString { melissa_init($0, localVectSize.pointee, comm) }
}

/// The library's version, "major.minor.patch" (Melissa's `melissa_version`); the string is static.
@_cdecl("melissa_version")
public func melissa_version() -> UnsafePointer<CChar>? {
    UnsafePointer(versionCString)
}

/// Allocated once (a global's initializer runs exactly once, thread-safely), never freed and
/// never written: nonisolated(unsafe) only because a raw pointer is not Sendable.
nonisolated(unsafe) private let versionCString: UnsafeMutablePointer<CChar>? = strdup(LibraryVersion.string)

/// Sends the next time step of `field_name`: `send_vect` holds the registered local size of doubles.
@_cdecl("melissa_send")
public func melissa_send(_ fieldName: UnsafePointer<CChar>?, _ sendVect: UnsafePointer<Double>?) {
    guard let client = sharedClient else {
        fatal("melissa_send called before melissa_init", abortOn: melissa_mpi_comm_world())
    }
    let comm: MPI_Comm? = sharedCommunicator ?? melissa_mpi_comm_world()
    // Matching against the registered names first keeps a send free of String allocations
    // (names over 15 bytes would allocate); the decoding path is for the error message.
    // Names end at the first NUL or blank (Fortran passes no NUL); the slow path only builds the
    // error message for a name that is not registered.
    let name = registeredName(matching: fieldName, in: client)
        ?? boundedFieldName(fieldName, call: "melissa_send", abortOn: comm)
    // An unregistered field falls through to send's own error, which lists the registered ones.
    let count = client.localSize(of: name) ?? 0
    if count > 0 && sendVect == nil {
        fatal("melissa_send: send_vect is NULL for field '\(name)' (\(count) local values registered)", abortOn: comm)
    }
    do throws(ClientError) {
        try client.send(field: name, values: UnsafeBufferPointer(start: sendVect, count: count))
    } catch {
        fatal(error.description, abortOn: comm)
    }
}

/// Flushes the queued time steps and closes the connections; call it before MPI_Finalize.
@_cdecl("melissa_finalize")
public func melissa_finalize() {
    // Without melissa_init there is nothing to flush; Melissa's finalize is a no-op then too.
    guard let client = sharedClient else { return }
    do throws(ClientError) {
        try client.finalize()
    } catch {
        fatal(error.description, abortOn: sharedCommunicator ?? melissa_mpi_comm_world())
    }
}

/// Persistent clients: which simulation to run next and its `capacity` parameters, written to
/// `parameters`. Returns the number of parameters (at least 1), or 0 when the study has nothing
/// more for this job (the simulation should then end). Collective over `comm_app`. The current
/// simulation, if any, is finalized first; the next melissa_init streams as the new one.
@_cdecl("melissa_fetch_next_parameters")
public func melissa_fetch_next_parameters(_ parameters: UnsafeMutablePointer<Double>?, _ capacity: Int32,
                                          _ commApp: MPI_Comm?) -> Int32 {
    requireMPIRunning("melissa_fetch_next_parameters")
    guard let commApp, commApp != melissa_mpi_comm_null() else {
        fatal("melissa_fetch_next_parameters: comm_app is MPI_COMM_NULL; pass the simulation's communicator",
              abortOn: melissa_mpi_comm_world())
    }
    do throws(ClientError) {
        if let client = sharedClient {
            try client.finalize()
            sharedClient = nil
        }
        let settings = try ClientSettings(environment: ProcessEnvironment.current())
        switch try MelissaClient.fetchNextSimulation(communicator: Communicator(commApp), settings: settings,
                                                      previous: fetchedSimulation) {
        case .finished:
            fetchedSimulation = nil
            return 0
        case let .run(simulation, values):
            guard values.count <= Int(max(0, capacity)), let parameters else {
                fatal("melissa_fetch_next_parameters: simulation \(simulation) has \(values.count) parameters "
                      + "(study_options.nb_parameters) but the buffer holds \(max(0, capacity))", abortOn: commApp)
            }
            for (i, value) in values.enumerated() { parameters[i] = value }
            fetchedSimulation = simulation
            return Int32(values.count)
        }
    } catch {
        fatal(error.description, abortOn: commApp)
    }
}

/// The simulation this process streams as: the one melissa_fetch_next_parameters handed out
/// last, else MELISSA_SIMU_ID; -1 when neither is known (or MELISSA_SIMU_ID is malformed).
@_cdecl("melissa_simulation_id")
public func melissa_simulation_id() -> Int32 {
    if let fetchedSimulation { return Int32(bitPattern: fetchedSimulation) }
    guard let text = getenv("MELISSA_SIMU_ID"), let id = Int32(String(cString: text)), id >= 0 else { return -1 }
    return id
}

/// Fortran's melissa_fetch_next_parameters: the capacity by reference and the communicator as a
/// Fortran handle.
@_cdecl("melissa_fetch_next_parameters_f")
public func melissa_fetch_next_parameters_f(_ parameters: UnsafeMutablePointer<Double>?, _ capacity: UnsafeMutablePointer<Int32>?,
                                            _ commFortran: UnsafeMutablePointer<melissa_mpi_fint>?) -> Int32 {
    requireMPIRunning("melissa_fetch_next_parameters")
    guard let capacity else { fatal("melissa_fetch_next_parameters: capacity is a null reference", abortOn: melissa_mpi_comm_world()) }
    guard let commFortran else { fatal("melissa_fetch_next_parameters: comm is a null reference", abortOn: melissa_mpi_comm_world()) }
    let comm = MPI_Comm_f2c(commFortran.pointee)
    guard let comm, comm != melissa_mpi_comm_null() else {
        fatal("melissa_fetch_next_parameters: comm (\(commFortran.pointee)) is MPI_COMM_NULL or not a valid Fortran communicator handle",
              abortOn: melissa_mpi_comm_world())
    }
    return melissa_fetch_next_parameters(parameters, capacity.pointee, comm)
}

/// The registered field name the bytes at `pointer` start with, followed by a NUL or a blank
/// (a C string, or a Fortran name without NUL), found without building a String: this runs on
/// every melissa_send. Reads at most one byte past the longest registered name.
private func registeredName(matching pointer: UnsafePointer<CChar>?, in client: MelissaClient) -> String? {
    guard let pointer else { return nil }
    for name in client.registeredFields {
        let matches = name.withCString { registered -> Bool in
            let length = strlen(registered)
            guard strncmp(registered, pointer, length) == 0 else { return false }
            let next = pointer[length]
            return next == 0 || next == CChar(UInt8(ascii: " "))
        }
        if matches { return name }
    }
    return nil
}

/// The field name as a String, or a fatal error for NULL or invalid UTF-8.
private func fieldNameOrFail(_ pointer: UnsafePointer<CChar>?, call: String, abortOn comm: MPI_Comm?) -> String {
    guard let pointer else { fatal("\(call): field_name is NULL", abortOn: comm) }
    guard let name = String(validatingCString: pointer) else {
        fatal("\(call): field_name is not valid UTF-8", abortOn: comm)
    }
    return name
}

/// Longest field name the study accepts (study_options.field_names), in bytes.
private let maximumFieldNameBytes = 255

/// A field name that may lack a terminating NUL (Fortran passes `character` data by address with
/// no terminator; blank-padded variables are common): it ends at the first NUL or blank, and at
/// most `maximumFieldNameBytes + 1` bytes are read, so a name without any terminator is an error
/// rather than a read past the caller's memory.
private func boundedFieldName(_ pointer: UnsafePointer<CChar>?, call: String, abortOn comm: MPI_Comm?) -> String {
    guard let pointer else { fatal("\(call): field_name is NULL", abortOn: comm) }
    var bytes: [UInt8] = []
    while true {
        let byte = UInt8(bitPattern: pointer[bytes.count])
        if byte == 0 || byte == UInt8(ascii: " ") { break }
        if bytes.count == maximumFieldNameBytes {
            fatal("\(call): field_name has no NUL or blank within \(maximumFieldNameBytes) bytes "
                  + "(from Fortran, end it with c_null_char or pass a blank-padded variable)", abortOn: comm)
        }
        bytes.append(byte)
    }
    if bytes.isEmpty { fatal("\(call): field_name is empty", abortOn: comm) }
    guard let name = String(validating: bytes, as: UTF8.self) else {
        fatal("\(call): field_name is not valid UTF-8", abortOn: comm)
    }
    return name
}

/// MPI_Abort needs a running MPI; before MPI_Init or after MPI_Finalize only exit is left.
private func requireMPIRunning(_ call: String) {
    var initialized: Int32 = 0
    var finalized: Int32 = 0
    MPI_Initialized(&initialized)
    MPI_Finalized(&finalized)
    if initialized == 0 { fatal("\(call) called before MPI_Init", abortOn: nil) }
    if finalized != 0 { fatal("\(call) called after MPI_Finalize", abortOn: nil) }
}

/// Prints `melissa: <message>` to stderr and aborts every rank of `comm` (or exits when MPI is unusable).
private func fatal(_ message: String, abortOn comm: MPI_Comm?) -> Never {
    Diagnostics.standardError(message)
    if let comm {
        MPI_Abort(comm, 1)
    }
    exit(1)
}
