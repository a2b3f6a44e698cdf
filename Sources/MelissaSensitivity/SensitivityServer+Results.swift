import Foundation
import MelissaNetCDF
import MelissaProtocol
import MelissaServer
import MelissaStatistics

/// Writing the results: one NetCDF-4 file per field, `<study>/results/<field>.nc`, that rank 0
/// creates and every rank then fills with its own block, in turn (no gather to one rank).
extension SensitivityServer {
    /// One variable of the results and how a rank produces its block of it.
    struct ResultSource {
        let variable: ResultVariable
        let extraIndex: Int?
        /// Fills `steps × blockSize` values, step-major.
        let fill: (UnsafeMutableBufferPointer<Double>) -> Void
    }

    /// Writes every field's file. Collective: every rank calls it once, after its loop.
    func writeResults() throws {
        let directory = "\(studyDirectory)/results"
        if rank == 0 { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        for (f, name) in config.studyOptions.fieldNames.enumerated() {
            // A rank that got no data still learns the field's size from the others; ranks that
            // learned different sizes (clients disagreeing) cannot be assembled into one file.
            let known = fieldLayouts[f].map { Int64($0.globalSize) }
            let globalSize = try comm.allreduceMax(known ?? 0)
            let smallest = -(try comm.allreduceMax(-(known ?? Int64.max)))
            guard globalSize > 0 else {
                if rank == 0 { log.event("field \(name): no data received, no results written") }
                continue
            }
            guard smallest == globalSize else {
                if rank == 0 {
                    recordError("field \(name): server ranks received data for different field sizes (\(smallest) and \(globalSize)); the simulations disagree on the field's size, no results written for it")
                }
                continue
            }
            let block = BlockPartition(globalSize: UInt64(globalSize), serverCount: commSize).block(rank)
            let blockSize = Int(block.count)
            if statistics[f] == nil { try ensureState(field: f, blockSize: blockSize) }
            let path = "\(directory)/\(name).nc"
            let sources = resultSources(field: f, blockSize: blockSize)
            // Rank 0 creates the file; then each rank in turn writes its block of every variable.
            var failure: String?
            if rank == 0 {
                do {
                    // One source per extra index (threshold, quantile level, parameter): one variable each.
                    var seen = Set<String>()
                    let variables = sources.map(\.variable).filter { seen.insert($0.name).inserted }
                    try FieldResultsFile.create(path: path, schema: schema(field: f, cellCount: Int(globalSize),
                                                                           variables: variables))
                } catch { failure = "\(error)" }
            }
            let created = try comm.allreduceMax(failure == nil ? 0 : 1) == 0
            guard created else {
                if rank == 0 { recordError("field \(name): cannot create \(path): \(failure ?? "")") }
                continue
            }
            let steps = config.studyOptions.nbTimeSteps
            let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, steps * blockSize))
            defer { buffer.deallocate() }
            var writeFailures: Int64 = 0
            for turn in 0..<commSize {
                if turn == rank, blockSize > 0 {
                    for source in sources {
                        let values = UnsafeMutableBufferPointer(rebasing: buffer[0..<(steps * blockSize)])
                        source.fill(values)
                        do {
                            try FieldResultsFile.writeBlock(path: path, variable: source.variable.name,
                                                            extraIndex: source.extraIndex,
                                                            cellRange: Int(block.lowerBound)..<Int(block.upperBound),
                                                            values: UnsafeBufferPointer(values))
                        } catch {
                            log.error("field \(name): writing \(source.variable.name) failed: \(error)")
                            writeFailures += 1
                        }
                    }
                }
                try comm.barrier()
            }
            if try comm.allreduceSum(writeFailures) > 0 {
                if rank == 0 { recordError("field \(name): some blocks of \(path) could not be written (see the rank logs)") }
            } else if rank == 0 {
                log.event("results for field \(name) written to \(path)")
            }
        }
        if joinDropped > 0 { log.error("\(joinDropped) pieces could not be held back for their group or pair") }
        let dropped = try comm.allreduceSum(joinDropped)
        if rank == 0, dropped > 0 {
            recordError("\(dropped) pieces of data could not be held back in the join cache (full, or sizes that do not fit); the steps they belonged to were not applied for their group or pair")
        }
    }

    /// The variables of field `f`'s file, each with how this rank fills its block.
    func resultSources(field f: Int, blockSize: Int) -> [ResultSource] {
        let steps = config.studyOptions.nbTimeSteps
        var sources: [ResultSource] = []
        func perStep(_ extract: @escaping (Int, UnsafeMutableBufferPointer<Double>) -> Void)
            -> (UnsafeMutableBufferPointer<Double>) -> Void {
            { out in
                for t in 0..<steps {
                    extract(t, UnsafeMutableBufferPointer(rebasing: out[(t * blockSize)..<((t + 1) * blockSize)]))
                }
            }
        }
        if let state = statistics[f] {
            for statistic in state.available {
                let (variable, extra) = Self.describe(statistic)
                sources.append(ResultSource(variable: variable, extraIndex: extra,
                                            fill: perStep { t, out in state.extract(statistic, step: t, into: out) }))
            }
        }
        if let state = sobol[f] {
            for k in 0..<config.studyOptions.nbParameters {
                let kinds: [(String, String, (Int, UnsafeMutableBufferPointer<Double>) -> Void)] = [
                    ("sobol_first", "first-order Sobol index S_k (Martinez estimator)",
                     { t, out in state.firstOrder(parameter: k, step: t, into: out) }),
                    ("sobol_total", "total Sobol index ST_k (Martinez estimator)",
                     { t, out in state.totalOrder(parameter: k, step: t, into: out) }),
                ]
                for (name, text, extract) in kinds {
                    sources.append(ResultSource(
                        variable: ResultVariable(name: name, extraDimension: "parameter", isInteger: false,
                                                 units: "1", description: text),
                        extraIndex: k, fill: perStep(extract)))
                }
                for (name, first, lower) in [("sobol_first_lower", true, true), ("sobol_first_upper", true, false),
                                             ("sobol_total_lower", false, true), ("sobol_total_upper", false, false)] {
                    let bound = lower ? "lower" : "upper"
                    let kind = first ? "S_k" : "ST_k"
                    sources.append(ResultSource(
                        variable: ResultVariable(name: name, extraDimension: "parameter", isInteger: false, units: "1",
                                                 description: "\(bound) bound of the 95 % confidence interval of \(kind) (Fisher z-transform)"),
                        extraIndex: k,
                        fill: { out in
                            // The bound not asked for lands in scratch.
                            let scratch = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, blockSize))
                            defer { scratch.deallocate() }
                            let other = UnsafeMutableBufferPointer(rebasing: scratch[0..<blockSize])
                            for t in 0..<steps {
                                let mine = UnsafeMutableBufferPointer(rebasing: out[(t * blockSize)..<((t + 1) * blockSize)])
                                switch (first, lower) {
                                case (true, true): state.firstOrderInterval(parameter: k, step: t, lower: mine, upper: other)
                                case (true, false): state.firstOrderInterval(parameter: k, step: t, lower: other, upper: mine)
                                case (false, true): state.totalOrderInterval(parameter: k, step: t, lower: mine, upper: other)
                                case (false, false): state.totalOrderInterval(parameter: k, step: t, lower: other, upper: mine)
                                }
                            }
                        }))
                }
            }
            sources.append(ResultSource(
                variable: ResultVariable(name: "sobol_groups", extraDimension: nil, isInteger: true, units: "1",
                                         description: "pick-freeze groups applied to the Sobol estimators"),
                extraIndex: nil,
                fill: perStep { t, out in
                    let n = Double(state.count(step: t))
                    for j in out.indices { out[j] = n }
                }))
        }
        let fields = config.studyOptions.fieldNames
        for (pair, side) in pairsOfField[f] where side == 0 {
            let other = config.saConfig.covariancePairs[pair].second
            let state = covariances[pair] ?? CovarianceStatistics(nbTimeSteps: steps, blockSize: blockSize)
            sources.append(ResultSource(
                variable: ResultVariable(name: "covariance_\(other)", extraDimension: nil, isInteger: false,
                                         units: "", description: "sample covariance (n - 1) of \(fields[f]) and \(other) over the same simulations"),
                extraIndex: nil, fill: perStep { t, out in state.extractCovariance(step: t, into: out) }))
        }
        return sources
    }

    /// NetCDF name, extra-dimension index and description of one statistic.
    static func describe(_ statistic: Statistic) -> (ResultVariable, Int?) {
        func v(_ name: String, _ text: String, extra: String? = nil, integer: Bool = false) -> ResultVariable {
            ResultVariable(name: name, extraDimension: extra, isInteger: integer, units: integer ? "1" : "", description: text)
        }
        switch statistic {
        case .count: return (v("count", "samples folded into the statistics", integer: true), nil)
        case .mean: return (v("mean", "mean over the samples"), nil)
        case .variance: return (v("variance", "sample variance (n - 1); NaN with fewer than 2 samples"), nil)
        case .skewness: return (v("skewness", "skewness sqrt(n) M3 / M2^1.5"), nil)
        case .kurtosis: return (v("kurtosis", "kurtosis n M4 / M2^2 (not excess)"), nil)
        case .minimum: return (v("min", "minimum over the samples"), nil)
        case .maximum: return (v("max", "maximum over the samples"), nil)
        case let .threshold(i):
            return (v("threshold_exceedance", "samples above the threshold (x > t)", extra: "threshold", integer: true), i)
        case let .quantile(i):
            return (v("quantile", "Robbins-Monro estimate of the quantile", extra: "quantile_level"), i)
        }
    }

    /// The file layout of field `f`: extra dimensions and global attributes.
    func schema(field f: Int, cellCount: Int, variables: [ResultVariable]) -> FieldResultsSchema {
        let sa = config.saConfig
        let options = config.studyOptions
        let names = (0..<options.nbParameters).map { "p\($0)" }
        var extra: [ExtraDimension] = []
        if !selection.thresholds.isEmpty {
            extra.append(ExtraDimension(name: "threshold", coordinates: selection.thresholds, units: "",
                                        description: "exceedance thresholds (sa_config.threshold_values)", labels: nil))
        }
        if !selection.quantileLevels.isEmpty {
            extra.append(ExtraDimension(name: "quantile_level", coordinates: selection.quantileLevels, units: "1",
                                        description: "quantile levels (sa_config.quantile_values)", labels: nil))
        }
        if sa.sobolIndices {
            extra.append(ExtraDimension(name: "parameter", coordinates: (0..<options.nbParameters).map(Double.init),
                                        units: "1", description: "index of the study parameter",
                                        labels: names))
        }
        // `field` is written by the layout itself.
        let attributes: [(String, AttributeValue)] = [
            ("title", .text("Melissa sensitivity analysis of field \(options.fieldNames[f])")),
            ("study", .text(URL(fileURLWithPath: studyDirectory).lastPathComponent)),
            ("source", .text("melissa-server \(Self.flavorName)")),
            ("study_directory", .text(studyDirectory)),
            ("parameter_names", .text(names.joined(separator: ","))),
            ("nb_simulations", .int64(Int64(config.simulationCount))),
            ("nb_finished", .int64(Int64(finishedSimulations))),
            ("nb_failed", .int64(Int64(failedSimulations))),
            ("parameter_sweep_size", .int64(Int64(options.parameterSweepSize))),
            ("nb_parameters", .int64(Int64(options.nbParameters))),
            ("sampler", .text(options.sampler.rawValue)),
            ("seed", .int64(Int64(options.seed))),
            ("l_bounds", .doubles(options.lBounds)),
            ("u_bounds", .doubles(options.uBounds)),
            ("sobol", .int64(sa.sobolIndices ? 1 : 0)),
            ("server_ranks", .int64(Int64(commSize))),
        ]
        return FieldResultsSchema(field: options.fieldNames[f], nbTimeSteps: options.nbTimeSteps, cellCount: cellCount,
                                  extraDimensions: extra, variables: variables, globalAttributes: attributes)
    }
}
