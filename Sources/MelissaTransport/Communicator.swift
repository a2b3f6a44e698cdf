import CMPI

/// A failed MPI call with its error string.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    /// What went wrong when the call itself succeeded (e.g. too little thread support).
    public let detail: String?
    public init(_ call: String, _ code: Int32, detail: String? = nil) {
        self.call = call
        self.code = code
        self.detail = detail
    }
    public var description: String {
        if let detail { return "\(call): \(detail)" }
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(call): \(text) (code \(code))"
    }
}

@inline(__always)
private func check(_ call: String, _ rc: Int32) throws(MPIError) {
    if rc != MPI_SUCCESS { throw MPIError(call, rc) }
}

/// The thread support a program needs from MPI (`MPI_Init_thread`'s levels, in order).
public enum MPIThreadLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// One thread (the server's loop).
    case single
    /// Several threads; only the one that initialised MPI calls it.
    case funneled
    /// Several threads call MPI, never two at once.
    case serialized
    /// Any thread calls MPI at any time.
    case multiple

    var mpiValue: Int32 {
        switch self {
        case .single: return Int32(MPI_THREAD_SINGLE)
        case .funneled: return Int32(MPI_THREAD_FUNNELED)
        case .serialized: return Int32(MPI_THREAD_SERIALIZED)
        case .multiple: return Int32(MPI_THREAD_MULTIPLE)
        }
    }

    init?(mpiValue: Int32) {
        guard let level = Self.allCases.first(where: { $0.mpiValue == mpiValue }) else { return nil }
        self = level
    }

    public static func < (lhs: MPIThreadLevel, rhs: MPIThreadLevel) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String {
        switch self {
        case .single: return "MPI_THREAD_SINGLE"
        case .funneled: return "MPI_THREAD_FUNNELED"
        case .serialized: return "MPI_THREAD_SERIALIZED"
        case .multiple: return "MPI_THREAD_MULTIPLE"
        }
    }
}

/// MPI process setup: init once per process, finalize once at the end.
public enum MPIRuntime {
    /// Initialises MPI unless the application already did (the client case), asking for
    /// `threadLevel`; throws when the MPI library provides less. Returns true when this call
    /// initialised it (and so should finalize it).
    public static func initializeIfNeeded(threadLevel: MPIThreadLevel = .single) throws(MPIError) -> Bool {
        var flag: Int32 = 0
        try check("MPI_Initialized", MPI_Initialized(&flag))
        var provided: Int32 = 0
        let initialised: Bool
        if flag != 0 {
            try check("MPI_Query_thread", MPI_Query_thread(&provided))
            initialised = false
        } else {
            try check("MPI_Init_thread", MPI_Init_thread(nil, nil, threadLevel.mpiValue, &provided))
            initialised = true
        }
        let level = MPIThreadLevel(mpiValue: provided) ?? .single
        guard level >= threadLevel else {
            throw MPIError(initialised ? "MPI_Init_thread" : "MPI_Query_thread", 0,
                           detail: "asked for \(threadLevel), the MPI library provides \(level)")
        }
        return initialised
    }

    /// The thread support MPI provides (MPI must be initialised).
    public static func threadLevel() throws(MPIError) -> MPIThreadLevel {
        var provided: Int32 = 0
        try check("MPI_Query_thread", MPI_Query_thread(&provided))
        return MPIThreadLevel(mpiValue: provided) ?? .single
    }

    /// Finalizes MPI if it is initialised and not finalized yet.
    public static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// Ends every rank of the job (after an unrecoverable error on one rank).
    public static func abort(_ code: Int32) -> Never {
        MPI_Abort(melissa_mpi_comm_world(), code)
        fatalError("MPI_Abort returned")
    }
}

/// A thin wrapper over an MPI communicator with the collectives the project needs.
public struct Communicator: @unchecked Sendable {
    /// The raw handle, for passing back to C.
    public let handle: MPI_Comm

    /// Wraps a communicator the application owns (e.g. `comm_app` from `melissa_init`).
    public init(_ handle: MPI_Comm) { self.handle = handle }

    /// MPI_COMM_WORLD.
    public static var world: Communicator { Communicator(melissa_mpi_comm_world()) }

    /// This process's rank.
    public func rank() throws(MPIError) -> Int {
        var r: Int32 = 0
        try check("MPI_Comm_rank", MPI_Comm_rank(handle, &r))
        return Int(r)
    }

    /// Number of ranks.
    public func size() throws(MPIError) -> Int {
        var s: Int32 = 0
        try check("MPI_Comm_size", MPI_Comm_size(handle, &s))
        return Int(s)
    }

    /// Waits for every rank.
    public func barrier() throws(MPIError) {
        try check("MPI_Barrier", MPI_Barrier(handle))
    }

    /// Broadcasts a byte array from `root`; every rank returns root's bytes.
    public func broadcast(_ bytes: [UInt8], root: Int) throws(MPIError) -> [UInt8] {
        var count = Int64(bytes.count)
        try check("MPI_Bcast", MPI_Bcast(&count, 1, melissa_mpi_long_long(), Int32(root), handle))
        var buffer = (try rank()) == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        if count > 0 {
            let rc = buffer.withUnsafeMutableBytes {
                MPI_Bcast($0.baseAddress, Int32(count), melissa_mpi_byte(), Int32(root), handle)
            }
            try check("MPI_Bcast", rc)
        }
        return buffer
    }

    /// Sum of `value` over all ranks.
    public func allreduceSum(_ value: Int64) throws(MPIError) -> Int64 {
        var input = value
        var output: Int64 = 0
        try check("MPI_Allreduce", MPI_Allreduce(&input, &output, 1, melissa_mpi_long_long(), melissa_mpi_sum(), handle))
        return output
    }

    /// Maximum of `value` over all ranks.
    public func allreduceMax(_ value: Int64) throws(MPIError) -> Int64 {
        var input = value
        var output: Int64 = 0
        try check("MPI_Allreduce", MPI_Allreduce(&input, &output, 1, melissa_mpi_long_long(), melissa_mpi_max(), handle))
        return output
    }

    /// Element-wise sum of `values` over all ranks.
    public func allreduceSum(_ values: [Int64]) throws(MPIError) -> [Int64] {
        var output = [Int64](repeating: 0, count: values.count)
        let rc = values.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                MPI_Allreduce(UnsafeMutableRawPointer(mutating: input.baseAddress), out.baseAddress,
                              Int32(values.count), melissa_mpi_long_long(), melissa_mpi_sum(), handle)
            }
        }
        try check("MPI_Allreduce", rc)
        return output
    }

    /// Exclusive prefix sum: the sum of `value` over ranks below this one (0 on rank 0).
    public func exclusiveScanSum(_ value: Int64) throws(MPIError) -> Int64 {
        var input = value
        var output: Int64 = 0
        try check("MPI_Exscan", MPI_Exscan(&input, &output, 1, melissa_mpi_long_long(), melissa_mpi_sum(), handle))
        return (try rank()) == 0 ? 0 : output
    }

    /// Gathers one byte array per rank onto every rank, in rank order.
    public func allgather(_ bytes: [UInt8]) throws(MPIError) -> [[UInt8]] {
        let n = try size()
        var mine = Int32(bytes.count)
        var counts = [Int32](repeating: 0, count: n)
        try check("MPI_Allgather", MPI_Allgather(&mine, 1, melissa_mpi_int(), &counts, 1, melissa_mpi_int(), handle))
        var displacements = [Int32](repeating: 0, count: n)
        for i in 1..<max(n, 1) where i < n { displacements[i] = displacements[i - 1] + counts[i - 1] }
        let total = Int(counts.reduce(0, +))
        var all = [UInt8](repeating: 0, count: max(total, 1))
        let rc = bytes.withUnsafeBytes { input in
            all.withUnsafeMutableBytes { out in
                MPI_Allgatherv(input.baseAddress, mine, melissa_mpi_byte(), out.baseAddress,
                               &counts, &displacements, melissa_mpi_byte(), handle)
            }
        }
        try check("MPI_Allgatherv", rc)
        return (0..<n).map { Array(all[Int(displacements[$0])..<Int(displacements[$0] + counts[$0])]) }
    }

    /// Gathers each rank's doubles onto `root` in rank order; other ranks get [].
    public func gather(_ values: UnsafeBufferPointer<Double>, root: Int) throws(MPIError) -> [Double] {
        let n = try size()
        let me = try rank()
        var mine = Int32(values.count)
        var counts = [Int32](repeating: 0, count: n)
        try check("MPI_Gather", MPI_Gather(&mine, 1, melissa_mpi_int(), &counts, 1, melissa_mpi_int(), Int32(root), handle))
        var displacements = [Int32](repeating: 0, count: n)
        for i in 1..<max(n, 1) where i < n { displacements[i] = displacements[i - 1] + counts[i - 1] }
        let total = me == root ? Int(counts.reduce(0, +)) : 0
        var out = [Double](repeating: 0, count: max(total, 1))
        let rc = out.withUnsafeMutableBufferPointer { o in
            MPI_Gatherv(UnsafeMutableRawPointer(mutating: values.baseAddress), mine, melissa_mpi_double(),
                        o.baseAddress, &counts, &displacements, melissa_mpi_double(), Int32(root), handle)
        }
        try check("MPI_Gatherv", rc)
        return me == root ? Array(out.prefix(total)) : []
    }
}
