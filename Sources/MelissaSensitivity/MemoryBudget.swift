import Foundation
import MelissaConfig
import MelissaServer
import MelissaStatistics

/// The memory a server rank's statistics will take, computed from the config before any data
/// arrives, and the limits it must fit: `server_config.memory_limit_mb` and the memory the
/// machine has free (shared by the ranks on the node).
struct MemoryBudget {
    let config: StudyConfig
    let selection: StatisticsSelection

    /// State bytes per (time step, cell) of field `f`: its statistics, its Sobol estimators,
    /// and the covariance pairs it opens (a pair's state is counted with its first field).
    func bytesPerCell(field f: Int) -> Int {
        let sa = config.saConfig
        var bytes = selection.bytesPerCell
        if sa.sobolIndices { bytes += SobolMartinez.bytesPerCell(nbParameters: config.studyOptions.nbParameters) }
        let name = config.studyOptions.fieldNames[f]
        bytes += sa.covariancePairs.filter { $0.first == name }.count * CovarianceStatistics.bytesPerCell
        return bytes
    }

    /// State bytes of field `f` for a block of `blockSize` cells.
    func bytes(field f: Int, blockSize: Int) -> Int {
        config.studyOptions.nbTimeSteps * blockSize * bytesPerCell(field: f)
    }

    /// The join cache's bound, when the study needs one (Sobol groups, covariance pairs).
    var cacheBytes: Int {
        let sa = config.saConfig
        return sa.sobolIndices || !sa.covariancePairs.isEmpty ? Int(sa.cacheLimitMB * 1024 * 1024) : 0
    }

    /// Throws a setup error naming the keys involved when `bytes` per rank exceed the
    /// configured limit, or `ranksOnNode` ranks of it exceed the machine's available memory.
    func check(bytes: Int, ranksOnNode: Int, what: String, log: ServerLog) throws {
        if let limit = config.serverConfig.memoryLimitMB, Double(bytes) > limit * 1024 * 1024 {
            throw ServerError.setup("\(what) needs \(Self.mebibytes(bytes)) per server rank, more than server_config.memory_limit_mb (\(Self.format(limit)) MiB); use more server ranks, fewer time steps or statistics\(cacheBytes > 0 ? ", a smaller sa_config.cache_limit_mb" : ""), or raise the limit")
        }
        if let available = Self.availableMemory(), bytes * ranksOnNode > available {
            throw ServerError.setup("\(what) needs \(Self.mebibytes(bytes)) per server rank × \(ranksOnNode) rank(s) on this node, more than the \(Self.mebibytes(available)) the machine has available (MemAvailable); use more nodes or server ranks, or fewer time steps or statistics\(cacheBytes > 0 ? ", or a smaller sa_config.cache_limit_mb" : "")")
        }
    }

    /// MemAvailable from /proc/meminfo, in bytes (nil where the kernel does not say).
    static func availableMemory() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
        }
        return nil
    }

    static func mebibytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
    static func format(_ value: Double) -> String { String(format: "%g", value) }
}

extension SensitivityServer {
    /// Prints the state size per rank and refuses to start when it cannot fit. With
    /// `study_options.field_sizes` the size is exact before any client runs; without, the
    /// cost per cell is printed and each field is checked when its first data arrives.
    func checkMemoryBeforeStart() throws {
        let budget = MemoryBudget(config: config, selection: selection)
        let options = config.studyOptions
        let hostnames = try comm.allgather(Array(Self.localHostName().utf8))
        let ranksOnNode = hostnames.filter { $0 == hostnames[rank] }.count
        let cacheNote = budget.cacheBytes > 0
            ? "; join cache for Sobol groups / covariance pairs bounded at \(MemoryBudget.mebibytes(budget.cacheBytes)) (sa_config.cache_limit_mb)"
            : ""
        guard let sizes = options.fieldSizes else {
            let costs = options.fieldNames.indices.map { "\(options.fieldNames[$0]) \(budget.bytesPerCell(field: $0)) B" }
            if rank == 0 {
                log.event("statistics state per time step and cell: \(costs.joined(separator: ", ")) × \(options.nbTimeSteps) steps; field sizes are not in the config (study_options.field_sizes), so memory is checked when each field's first data arrives\(cacheNote)")
            }
            try budget.check(bytes: budget.cacheBytes, ranksOnNode: ranksOnNode, what: "the join cache", log: log)
            return
        }
        var total = budget.cacheBytes
        var parts: [String] = []
        for (f, size) in sizes.enumerated() {
            let block = (size + commSize - 1) / commSize
            let bytes = budget.bytes(field: f, blockSize: block)
            total += bytes
            parts.append("\(options.fieldNames[f]) \(MemoryBudget.mebibytes(bytes))")
        }
        if rank == 0 {
            log.event("statistics state per server rank: \(MemoryBudget.mebibytes(total)) (\(parts.joined(separator: ", "))\(cacheNote))")
        }
        let what = budget.cacheBytes > 0
            ? "the study's statistics state (\(MemoryBudget.mebibytes(total - budget.cacheBytes))) plus the join cache bound (\(MemoryBudget.mebibytes(budget.cacheBytes)), sa_config.cache_limit_mb)"
            : "the study's statistics state"
        try budget.check(bytes: total, ranksOnNode: ranksOnNode, what: what, log: log)
    }

    static func localHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
