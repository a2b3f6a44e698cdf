import Foundation

extension ConfigValidator {
    /// What reading `sa_config` gave: the settings (meaningful only when no issue was found)
    /// and the Sobol switch as far as it is known (nil when `sobol_indices` itself is invalid),
    /// which the study-level cross-checks need.
    struct SAReading {
        var config: SAConfig
        var sobolIndices: Bool?
    }

    /// Reads `sa_config`; `fieldNames` (when valid) are the study's fields, which `covariance_pairs` must
    /// name, and `fieldSizes` (when given) their cell counts, which `report_probes` must fall within.
    static func readSAConfig(_ r: ObjectReader, fieldNames: [String]?, fieldSizes: [Int]? = nil) -> SAReading {
        let (object, path, issues) = (r.object, r.path, r.issues)
        let thresholdExceedance = r.bool("threshold_exceedance", required: false)
        let quantiles = r.bool("quantiles", required: false)
        let sobol = r.bool("sobol_indices", required: false)
        let sobolKnown: Bool? = sobol ?? (object["sobol_indices"] == nil ? ConfigDefaults.sobolIndices : nil)

        let thresholds = readStatisticValues(r, key: "threshold_values", switchKey: "threshold_exceedance",
                                             switchedOn: thresholdExceedance == true, noun: "threshold")
        let quantileValues = readStatisticValues(r, key: "quantile_values", switchKey: "quantiles",
                                                 switchedOn: quantiles == true, noun: "quantile")
        if let quantileValues {
            checkProbabilities(quantileValues, path: path.appending("quantile_values"), issues: issues)
        }

        let width = r.number("sobol_convergence_width", required: false, greaterThan: 0,
                             atMost: ConfigDefaults.maximumSobolConvergenceWidth)
        if width != nil, sobolKnown == false {
            issues.add(path.appending("sobol_convergence_width"),
                       "only valid when sa_config.sobol_indices is true (it stops a Sobol study early); "
                       + "set sobol_indices to true or remove this key")
        }

        let pairs = readCovariancePairs(object["covariance_pairs"], path: path.appending("covariance_pairs"),
                                        fieldNames: fieldNames, issues: issues)
        let probes = r.intArray("report_probes", required: false, range: 0...Int.max)
        if let probes {
            let probesPath = path.appending("report_probes")
            ListRules.checkCount(probes.count, atMost: ConfigDefaults.maximumReportProbes, noun: "probe",
                                 path: probesPath, issues: issues)
            ListRules.checkNoDuplicates(probes, key: "report_probes", path: probesPath,
                                        render: { String($0) }, issues: issues)
            if let largest = fieldSizes?.max() {
                for (i, cell) in probes.enumerated() where cell >= largest {
                    issues.add(probesPath.appending(index: i),
                               "cell \(cell) is outside every field: study_options.field_sizes says the largest "
                               + "field has \(largest) cells (cells 0..\(largest - 1))")
                }
            }
        }
        let cacheLimit = r.number("cache_limit_mb", required: false, greaterThan: 0,
                                  atMost: ConfigDefaults.maximumMegabytes)
        let checkpointInterval = r.number("checkpoint_interval", required: false, greaterThan: 0,
                                          atMost: ConfigDefaults.maximumSeconds)

        let config = SAConfig(
            mean: r.bool("mean", required: false) ?? ConfigDefaults.mean,
            variance: r.bool("variance", required: false) ?? ConfigDefaults.variance,
            skewness: r.bool("skewness", required: false) ?? ConfigDefaults.skewness,
            kurtosis: r.bool("kurtosis", required: false) ?? ConfigDefaults.kurtosis,
            minimum: r.bool("min", required: false) ?? ConfigDefaults.minimum,
            maximum: r.bool("max", required: false) ?? ConfigDefaults.maximum,
            thresholdExceedance: thresholdExceedance ?? ConfigDefaults.thresholdExceedance,
            thresholdValues: thresholds ?? [],
            quantiles: quantiles ?? ConfigDefaults.quantiles, quantileValues: quantileValues ?? [],
            sobolIndices: sobol ?? ConfigDefaults.sobolIndices, sobolConvergenceWidth: width,
            covariancePairs: pairs ?? [], reportProbes: probes ?? [],
            cacheLimitMB: cacheLimit ?? ConfigDefaults.cacheLimitMB, checkpointInterval: checkpointInterval)
        return SAReading(config: config, sobolIndices: sobolKnown)
    }

    /// A list of statistic parameters (thresholds, quantile probabilities): finite, distinct, at most 64,
    /// and required non-empty when the statistic's switch is on.
    private static func readStatisticValues(_ r: ObjectReader, key: String, switchKey: String, switchedOn: Bool,
                                            noun: String) -> [Double]? {
        let keyPath = r.path.appending(key)
        if switchedOn && r.object[key] == nil {
            r.issues.add(keyPath, "missing; required when sa_config.\(switchKey) is true "
                         + "(expected a non-empty array of numbers)")
            return nil
        }
        guard let values = r.numberArray(key, required: false) else { return nil }
        if switchedOn && values.isEmpty {
            r.issues.add(keyPath, "must list at least one \(noun) when sa_config.\(switchKey) is true")
        }
        ListRules.checkCount(values.count, atMost: ConfigDefaults.maximumStatisticValues, noun: "value",
                             path: keyPath, issues: r.issues)
        ListRules.checkNoDuplicates(values, key: key, path: keyPath, render: { ObjectReader.format($0) },
                                    issues: r.issues)
        return values
    }

    /// Quantile probabilities must lie strictly inside (0, 1): 0 and 1 would be the minimum and maximum.
    private static func checkProbabilities(_ values: [Double], path: ConfigPath, issues: IssueCollector) {
        for (index, value) in values.enumerated() where !(value > 0 && value < 1) {
            issues.add(path.appending(index: index),
                       "must be strictly between 0 and 1 (a probability; use min or max for 0 and 1), "
                       + "got \(ObjectReader.format(value))")
        }
    }
}
