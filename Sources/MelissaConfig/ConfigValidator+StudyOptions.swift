import Foundation

extension ConfigValidator {
    /// What reading `study_options` gave: the options when every required key is valid, plus the
    /// individually valid values that the cross-section checks (with `sa_config`) need.
    struct StudyReading {
        var options: StudyOptions?
        /// The individually valid keys (`field_sizes` only when valid and one per field).
        var context: StudyContext
    }

    /// Reads `study_options` and checks the rules internal to it (bounds, field names and sizes).
    ///
    /// Rules that depend on the flavor's sampling plan (group size and simulation count of a
    /// Sobol study, the Halton dimension limit) are left to the flavor's section reader or to
    /// `checkStudyAgainstPlan`.
    static func readStudyOptions(_ object: [String: Any], path: ConfigPath, issues: IssueCollector) -> StudyReading {
        let r = ObjectReader(object: object, path: path, allowedKeys: ConfigSchema.studyOptions, issues: issues)
        let positive = 1...Int.max
        let fieldNames = r.stringArray("field_names", required: true)
        let sweepSize = r.int("parameter_sweep_size", required: true, range: 1...ConfigDefaults.maximumSimulationCount)
        let nbParameters = r.int("nb_parameters", required: true, range: positive)
        let nbTimeSteps = r.int("nb_time_steps", required: true, range: 1...ConfigDefaults.maximumTimeSteps)
        let seed = r.int("seed", required: false, range: 0...Int.max)
        let simulationTimeout = r.number("simulation_timeout", required: false, greaterThan: 0,
                                         atMost: ConfigDefaults.maximumSeconds)
        let crashes = r.int("crashes_before_redraw", required: false, range: positive)
        let maxRedraws = r.int("max_redraws", required: false, range: 0...ConfigDefaults.maximumRedraws)
        let verbosity = r.int("verbosity", required: false, range: 0...3)
        let groupSize = r.int("group_size", required: false, range: positive)
        let lBounds = r.numberArray("l_bounds", required: true)
        let uBounds = r.numberArray("u_bounds", required: true)
        let zmqHWM = r.int("zmq_hwm", required: false, range: 0...Int(Int32.max))
        let sampler = r.choice("sampler", required: false, as: SamplerKind.self)
        let fieldSizes = r.intArray("field_sizes", required: false, range: 1...ConfigDefaults.maximumFieldSize)
        let offline = r.bool("offline", required: false)

        if let fieldNames {
            checkFieldNames(fieldNames, path: path.appending("field_names"), issues: issues)
            if let fieldSizes, fieldSizes.count != fieldNames.count {
                issues.add(path.appending("field_sizes"),
                           "has \(fieldSizes.count) value\(fieldSizes.count == 1 ? "" : "s") but field_names has "
                           + "\(fieldNames.count); give one size per field, in the same order")
            }
        }
        checkBounds(lBounds: lBounds, uBounds: uBounds, nbParameters: nbParameters, path: path, issues: issues)

        let context = StudyContext(fieldNames: fieldNames,
                                   fieldSizes: fieldSizes?.count == fieldNames?.count ? fieldSizes : nil,
                                   sweepSize: sweepSize, nbParameters: nbParameters, groupSize: groupSize,
                                   sampler: sampler ?? (object["sampler"] == nil ? ConfigDefaults.sampler : nil))
        var reading = StudyReading(context: context)
        guard let fieldNames, let sweepSize, let nbParameters, let nbTimeSteps, let lBounds, let uBounds else {
            return reading
        }
        reading.options = StudyOptions(
            fieldNames: fieldNames, parameterSweepSize: sweepSize, nbParameters: nbParameters,
            nbTimeSteps: nbTimeSteps, seed: seed ?? ConfigDefaults.seed,
            simulationTimeout: simulationTimeout ?? ConfigDefaults.simulationTimeout,
            crashesBeforeRedraw: crashes ?? ConfigDefaults.crashesBeforeRedraw,
            maxRedraws: maxRedraws ?? ConfigDefaults.maxRedraws,
            verbosity: verbosity ?? ConfigDefaults.studyVerbosity, groupSize: groupSize ?? ConfigDefaults.groupSize,
            lBounds: lBounds, uBounds: uBounds, zmqHWM: zmqHWM ?? ConfigDefaults.zmqHWM,
            sampler: sampler ?? ConfigDefaults.sampler, fieldSizes: fieldSizes, offline: offline ?? false)
        return reading
    }

    /// One bound per parameter, and each lower bound strictly below its upper bound.
    private static func checkBounds(lBounds: [Double]?, uBounds: [Double]?, nbParameters: Int?, path: ConfigPath,
                                    issues: IssueCollector) {
        var boundsLengthsOK = true
        if let nbParameters {
            for (name, bounds) in [("l_bounds", lBounds), ("u_bounds", uBounds)] {
                if let bounds, bounds.count != nbParameters {
                    issues.add(path.appending(name),
                               "has \(bounds.count) value\(bounds.count == 1 ? "" : "s") but nb_parameters is \(nbParameters)")
                    boundsLengthsOK = false
                }
            }
        }
        if let lBounds, let uBounds, boundsLengthsOK, lBounds.count == uBounds.count {
            for index in lBounds.indices where !(lBounds[index] < uBounds[index]) {
                issues.add(path.appending("u_bounds").appending(index: index),
                           "must be greater than l_bounds[\(index)] (\(ObjectReader.format(lBounds[index]))), "
                           + "got \(ObjectReader.format(uBounds[index]))")
            }
        }
    }

    private static func checkFieldNames(_ names: [String], path: ConfigPath, issues: IssueCollector) {
        if names.isEmpty {
            issues.add(path, "must list at least one field name")
        }
        var firstIndex: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            if name.isEmpty {
                issues.add(path.appending(index: index), "must not be empty")
                continue
            }
            let bytes = name.utf8.count
            if bytes > ConfigDefaults.maximumFieldNameBytes {
                issues.add(path.appending(index: index),
                           "is \(bytes) bytes in UTF-8; at most \(ConfigDefaults.maximumFieldNameBytes) allowed")
            }
            if let first = firstIndex[name] {
                issues.add(path.appending(index: index),
                           "duplicate field name \(quoted(name)) (also at field_names[\(first)])")
            } else {
                firstIndex[name] = index
            }
        }
    }
}
