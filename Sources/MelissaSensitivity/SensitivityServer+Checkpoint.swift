import MelissaCheckpoint
import MelissaServer
import MelissaStatistics

/// The flavor's checkpoint sections: `STAT` (per field statistics), `SOBL` (per field Sobol
/// estimators), `COVA` (per covariance pair), `JOIN` (data held back for its partners) and
/// `SENS` (counters). Each statistics state is its own checksummed encoding
/// (docs/STATISTICS.md), nested in the section.
extension SensitivityServer {
    func flavorCheckpointSections() throws -> [CheckpointSection] {
        func states(_ list: [[UInt8]?]) -> [UInt8] {
            var w = CheckpointEncoder()
            w.u64(UInt64(list.count))
            for item in list {
                w.bool(item != nil)
                if let item { w.bytes(item) }
            }
            return w.bytes
        }
        var join = CheckpointEncoder()
        cache.encode(into: &join)
        var sens = CheckpointEncoder()
        sens.i64(joinDropped)
        return [
            CheckpointSection(tag: "STAT", bytes: states(statistics.map { $0?.encoded() })),
            CheckpointSection(tag: "SOBL", bytes: states(sobol.map { $0?.encoded() })),
            CheckpointSection(tag: "COVA", bytes: states(covariances.map { $0?.encoded() })),
            CheckpointSection(tag: "JOIN", bytes: join.bytes),
            CheckpointSection(tag: "SENS", bytes: sens.bytes),
        ]
    }

    func restoreFlavorCheckpoint(_ sections: [String: [UInt8]]) throws {
        func states(_ tag: String, count: Int) throws -> [[UInt8]?] {
            guard let bytes = sections[tag] else { throw ServerError.setup("checkpoint lacks its \(tag) section") }
            var r = CheckpointDecoder(bytes, section: tag)
            let n = try r.u64(field: "entries")
            guard n == UInt64(count) else {
                throw ServerError.setup("checkpoint \(tag) holds \(n) entries, this study has \(count)")
            }
            var out: [[UInt8]?] = []
            for _ in 0..<n { out.append(try r.bool(field: "present") ? try r.bytes(field: "state") : nil) }
            try r.finish()
            return out
        }
        let steps = config.studyOptions.nbTimeSteps
        for (f, bytes) in try states("STAT", count: statistics.count).enumerated() {
            guard let bytes else { continue }
            let state = try FieldStatistics(decoding: bytes)
            guard state.selection == selection, state.nbTimeSteps == steps,
                  UInt64(state.blockSize) == fieldLayouts[f]?.blockSize else {
                throw ServerError.setup("checkpoint statistics of field \(config.studyOptions.fieldNames[f]) do not match this study (statistics, time steps or block size)")
            }
            statistics[f] = state
        }
        for (f, bytes) in try states("SOBL", count: sobol.count).enumerated() {
            guard let bytes else { continue }
            let state = try SobolMartinez(decoding: bytes)
            guard members > 1, state.nbParameters == config.studyOptions.nbParameters, state.nbTimeSteps == steps,
                  UInt64(state.blockSize) == fieldLayouts[f]?.blockSize else {
                throw ServerError.setup("checkpoint Sobol estimators of field \(config.studyOptions.fieldNames[f]) do not match this study")
            }
            sobol[f] = state
        }
        for (p, bytes) in try states("COVA", count: covariances.count).enumerated() {
            guard let bytes else { continue }
            let state = try CovarianceStatistics(decoding: bytes)
            guard state.nbTimeSteps == steps else {
                throw ServerError.setup("checkpoint covariance pair \(p) does not match this study's time steps")
            }
            covariances[p] = state
        }
        guard let joinBytes = sections["JOIN"], let sensBytes = sections["SENS"] else {
            throw ServerError.setup("checkpoint lacks its JOIN or SENS section")
        }
        var join = CheckpointDecoder(joinBytes, section: "JOIN")
        try cache.restore(from: &join, maxOwner: UInt32(clamping: config.simulationCount),
                          maxSlot: pairSlot(covariances.count), maxStep: UInt32(steps))
        try join.finish()
        var sens = CheckpointDecoder(sensBytes, section: "SENS")
        joinDropped = try sens.i64(field: "join drops")
        try sens.finish()
    }
}
