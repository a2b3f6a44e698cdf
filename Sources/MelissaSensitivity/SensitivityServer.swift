import Foundation
import MelissaCheckpoint
import MelissaConfig
import MelissaProtocol
import MelissaServer
import MelissaStatistics
import MelissaTransport

/// The sensitivity-analysis flavor: per field, time step and cell, every statistic switched
/// on in `sa_config` (moments, extrema, threshold exceedance, quantiles, covariance between
/// fields, Sobol indices), written to `<study>/results/<field>.nc`, with an HTML report.
///
/// Plain studies fold each message in as it arrives. Sobol studies hold each member's data
/// for a step in a bounded join cache until all p+2 members of its pick-freeze group have
/// delivered it, then apply the group's step once: the Martinez estimators take A, B and
/// C_1..C_p, and the other statistics take A and B, the group's two independent samples.
public final class SensitivityServer: BaseServer {
    /// The name `server_class` selects this flavor by.
    public static let flavorName = FlavorSpec.sensitivityAnalysis.name
    /// This flavor's registry entry: `sa_config`, read by `MelissaConfig` (Melissa's default study).
    public static let flavor = ServerFlavor(spec: .sensitivityAnalysis) {
        try SensitivityServer(config: $0, studyDirectory: $1, launcherAddress: $2)
    }

    /// Per field, once its block size is known.
    var statistics: [FieldStatistics?] = []
    /// Per field, in Sobol studies.
    var sobol: [SobolMartinez?] = []
    /// Per `covariance_pairs` entry.
    var covariances: [CovarianceStatistics?] = []
    /// For each field, the covariance pairs it belongs to and on which side (0 or 1).
    var pairsOfField: [[(pair: Int, side: Int)]] = []
    var cache: JoinCache
    /// Pieces refused by the join cache (full, or not fitting), and groups whose step never completed.
    var joinDropped: Int64 = 0
    let selection: StatisticsSelection
    let members: Int
    var lastConvergenceCheck = 0.0
    var convergedVerdict = false

    /// Sets up the statistics for `config.saConfig` (cell-block routing: every rank its block).
    public init(config: StudyConfig, studyDirectory: String, launcherAddress: String,
                communicator: Communicator = .world, transport: (any ServerTransport)? = nil) throws {
        let sa = config.saConfig
        let sobolStudy = sa.sobolIndices
        selection = StatisticsSelection(
            mean: sa.mean, variance: sa.variance, skewness: sa.skewness, kurtosis: sa.kurtosis,
            minimum: sa.minimum, maximum: sa.maximum,
            thresholds: sa.thresholdExceedance ? sa.thresholdValues : [],
            quantileLevels: sa.quantiles ? sa.quantileValues : [],
            // Quantile step sizes follow the number of samples each cell will see.
            expectedSamples: sobolStudy ? 2 * config.studyOptions.parameterSweepSize : config.simulationCount)
        members = config.membersPerDraw
        cache = JoinCache(limitBytes: Int(sa.cacheLimitMB * 1024 * 1024))
        try super.init(config: config, studyDirectory: studyDirectory, launcherAddress: launcherAddress,
                       communicator: communicator, routing: .cellBlocks, transport: transport)
        let fields = config.studyOptions.fieldNames
        statistics = Array(repeating: nil, count: fields.count)
        sobol = Array(repeating: nil, count: fields.count)
        covariances = Array(repeating: nil, count: sa.covariancePairs.count)
        pairsOfField = Array(repeating: [], count: fields.count)
        for (p, pair) in sa.covariancePairs.enumerated() {
            for (side, name) in [pair.first, pair.second].enumerated() {
                if let f = fields.firstIndex(of: name) { pairsOfField[f].append((p, side)) }
            }
        }
    }

    /// Refuses the study before anything starts when its statistics cannot fit in memory.
    /// A Sobol draw is A and B side by side; its group is the pick-freeze rows A, B, C_1..C_p
    /// (the plan `SAConfig.samplingPlan` declares). Other studies draw one simulation at a time.
    public override func expandDraw(_ draw: [Double]) throws -> [[Double]] {
        guard config.saConfig.sobolIndices else { return try super.expandDraw(draw) }
        let p = config.studyOptions.nbParameters
        return PickFreeze.expand(a: Array(draw[0..<p]), b: Array(draw[p..<(2 * p)]))
    }

    public override func prepare() throws {
        try checkMemoryBeforeStart()
    }

    /// Folds each admitted piece in (directly, or through the join cache).
    public override func apply(_ piece: DataPiece) throws {
        try fold(piece)
    }

    /// Sobol early stop is checked as groups complete and, when data pauses, here.
    public override func tick(now: Double) throws {
        checkConvergence()
    }

    /// Writes results/<field>.nc (collective).
    public override func finish() throws {
        if cache.count > 0 {
            log.event("\(cache.count) held-back step blocks never completed (a member or partner field failed); not applied")
        }
        try writeResults()
    }

    /// Statistics, Sobol estimators, covariances and the join cache are all checkpointed.
    public override var canCheckpoint: Bool { true }

    // MARK: - folding data in

    /// Applies one accepted piece: directly in a plain study, through the join cache for
    /// Sobol groups and covariance pairs.
    func fold(_ piece: DataPiece) throws {
        let f = Int(piece.header.field)
        let step = Int(piece.header.timeStep)
        let blockSize = Int(piece.layout.blockSize)
        try ensureState(field: f, blockSize: blockSize)
        let sim = piece.header.simulationID
        if members > 1 {
            // Covariance uses the same samples as the moments: the A and B members.
            if Int(sim) % members < 2 { joinCovariance(piece, field: f, step: step, blockSize: blockSize) }
            joinGroup(piece, field: f, step: step, blockSize: blockSize)
        } else {
            piece.withValues { statistics[f]?.update(step: step, localOffset: piece.localOffset, values: $0) }
            joinCovariance(piece, field: f, step: step, blockSize: blockSize)
        }
    }

    /// Sobol: stores a member's piece; when the group's step is complete, applies it once.
    func joinGroup(_ piece: DataPiece, field f: Int, step: Int, blockSize: Int) {
        let sim = piece.header.simulationID
        let key = JoinKey(owner: sim / UInt32(members), slot: UInt32(f), step: UInt32(step))
        let outcome = piece.withValues {
            cache.add(key: key, part: Int(sim) % members, parts: members, blockSize: blockSize,
                      localOffset: piece.localOffset, piece: $0)
        }
        switch outcome {
        case .waiting: return
        case let .complete(entry):
            sobol[f]?.update(step: step, members: UnsafeBufferPointer(rebasing: entry.values[0..<(members * blockSize)]))
            statistics[f]?.update(step: step, localOffset: 0, values: entry.row(0))
            statistics[f]?.update(step: step, localOffset: 0, values: entry.row(1))
            cache.release(key)
            checkConvergence()
        case .overflow: refused(piece, why: "the join cache is full (sa_config.cache_limit_mb = \(config.saConfig.cacheLimitMB))")
        case .mismatch: refused(piece, why: "it does not fit the group's other members (block size \(blockSize))")
        }
    }

    /// Covariance pairs: stores the piece under its simulation; applies the pair's step once
    /// both fields of that simulation have arrived.
    func joinCovariance(_ piece: DataPiece, field f: Int, step: Int, blockSize: Int) {
        for (pair, side) in pairsOfField[f] {
            let key = JoinKey(owner: piece.header.simulationID, slot: pairSlot(pair), step: UInt32(step))
            let outcome = piece.withValues {
                cache.add(key: key, part: side, parts: 2, blockSize: blockSize, localOffset: piece.localOffset, piece: $0)
            }
            switch outcome {
            case .waiting: continue
            case let .complete(entry):
                if covariances[pair] == nil {
                    covariances[pair] = CovarianceStatistics(nbTimeSteps: config.studyOptions.nbTimeSteps,
                                                             blockSize: blockSize)
                }
                covariances[pair]?.update(step: step, localOffset: 0, x: entry.row(0), y: entry.row(1))
                cache.release(key)
            case .overflow: refused(piece, why: "the join cache is full (sa_config.cache_limit_mb = \(config.saConfig.cacheLimitMB))")
            case .mismatch:
                refused(piece, why: "the fields of covariance pair \(pair) have different sizes on this rank")
            }
        }
    }

    func refused(_ piece: DataPiece, why: String) {
        joinDropped += 1
        if joinDropped <= 10 {
            log.error("could not hold back data of simulation \(piece.header.simulationID), field \(config.studyOptions.fieldNames[Int(piece.header.field)]), step \(piece.header.timeStep): \(why); that step will miss it")
        }
    }

    /// Rank 0, at the end: the HTML report.
    public override func studyWillEnd(_ summary: StudySummary) throws {
        try writeReport(summary)
    }

    /// Join-cache slots: fields for Sobol groups, then covariance pairs.
    var fieldSlots: Range<UInt32> { 0..<UInt32(config.studyOptions.fieldNames.count) }
    func pairSlot(_ pair: Int) -> UInt32 { UInt32(config.studyOptions.fieldNames.count + pair) }
    var pairSlots: Range<UInt32> { fieldSlots.upperBound..<UInt32.max }

    /// Checkpoint sections of this flavor (SensitivityServer+Checkpoint.swift).
    public override func checkpointSections() throws -> [CheckpointSection] { try flavorCheckpointSections() }

    /// Restart: the flavor's state from a checkpoint (SensitivityServer+Checkpoint.swift).
    public override func restoreCheckpoint(_ sections: [String: [UInt8]]) throws { try restoreFlavorCheckpoint(sections) }

    /// A failed simulation's held-back data can never complete its group or pair.
    public override func simulationAbandoned(_ simulation: UInt32) {
        var dropped = cache.discard(owner: simulation, slots: pairSlots).count
        if members > 1 { dropped += cache.discard(owner: simulation / UInt32(members), slots: fieldSlots).count }
        if dropped > 0 { log.log(.info, "dropped \(dropped) held-back step blocks of failed simulation \(simulation)") }
    }

    /// A redrawn Sobol group: the steps its members delivered under the old draw and that
    /// were never applied are dropped, and accepted again from the new draw. Steps already
    /// applied stay applied (their resent data are duplicates). Covariance pieces held for
    /// the members are dropped too (that step then misses the pair for those members).
    public override func groupRedrawn(_ group: UInt32, members sims: [UInt32]) {
        var dropped = 0
        if members > 1 {
            let keys = cache.discard(owner: group, slots: fieldSlots)
            dropped += keys.count
            let steps = keys.map { (field: Int($0.slot), step: Int($0.step)) }
            for sim in sims { forgetReceived(simulation: sim, steps: steps) }
        }
        for sim in sims { dropped += cache.discard(owner: sim, slots: pairSlots).count }
        log.log(.info, "group \(group) redrawn: dropped \(dropped) held-back step blocks of its previous draw")
    }

    /// Creates a field's state on its first piece, checking its size against the memory limits.
    func ensureState(field f: Int, blockSize: Int) throws {
        guard statistics[f] == nil else { return }
        let steps = config.studyOptions.nbTimeSteps
        let budget = MemoryBudget(config: config, selection: selection)
        if config.studyOptions.fieldSizes == nil {
            // Sizes were not in the config: this is the first moment the cost is known.
            try budget.check(bytes: budget.bytes(field: f, blockSize: blockSize), ranksOnNode: 1,
                             what: "field \(config.studyOptions.fieldNames[f]) (\(blockSize) cells on rank \(rank))", log: log)
        }
        statistics[f] = FieldStatistics(selection: selection, nbTimeSteps: steps, blockSize: blockSize)
        if members > 1 {
            sobol[f] = SobolMartinez(nbParameters: config.studyOptions.nbParameters, nbTimeSteps: steps,
                                     blockSize: blockSize)
        }
    }

    // MARK: - early stop

    /// Sobol early stop: at most once a second, tells rank 0 whether every interval on this
    /// rank is narrower than `sobol_convergence_width`.
    func checkConvergence() {
        guard let width = config.saConfig.sobolConvergenceWidth else { return }
        let now = Self.now()
        guard now - lastConvergenceCheck >= 1 else { return }
        lastConvergenceCheck = now
        var widest = 0.0
        for (f, state) in sobol.enumerated() {
            guard let state else { widest = .infinity; break }
            if statistics[f]?.blockSize == 0 { continue }
            widest = max(widest, state.widestInterval())
        }
        let verdict = widest < width
        guard verdict != convergedVerdict else { return }
        convergedVerdict = verdict
        log.log(.info, "widest Sobol interval on this rank: \(widest) (target \(width))")
        do { try reportConvergence(verdict) } catch { log.error("cannot report convergence: \(error)") }
    }
}
