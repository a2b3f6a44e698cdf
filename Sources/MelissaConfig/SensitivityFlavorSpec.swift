/// The statistics flavor's entry in the registry: `server_class: "sensitivity-analysis"` (the
/// default) and its section `sa_config`. It lives here, not in `MelissaSensitivity`, because
/// it is Melissa's default study and every tool that reads a config knows it.
extension FlavorSpec {
    /// Sensitivity analysis: moments, extrema, thresholds, quantiles and Sobol indices per cell.
    public static let sensitivityAnalysis = FlavorSpec(
        name: "sensitivity-analysis",
        summary: "iterative statistics (moments, extrema, thresholds, quantiles, Sobol indices) over the ensemble",
        sectionName: "sa_config", sectionKeys: ConfigSchema.saConfig, checksStudyOptions: true,
        read: { section, study in
            let reading = ConfigValidator.readSAConfig(section.reader, fieldNames: study.fieldNames,
                                                       fieldSizes: study.fieldSizes)
            ConfigValidator.checkStudyAgainstSA(study, sobolIndices: reading.sobolIndices,
                                                path: ConfigPath.root.appending("study_options"),
                                                issues: section.reader.issues)
            return reading.config
        })
}

extension SAConfig: FlavorSettings {
    /// Sobol studies run pick-freeze groups: one draw of 2p values makes the p + 2 simulations
    /// A, B, C_1..C_p, which run as one job (their data is joined cell by cell).
    public func samplingPlan(nbParameters p: Int) -> SamplingPlan {
        guard sobolIndices else { return .independent }
        return SamplingPlan(membersPerDraw: p + 2, drawWidth: 2, joined: true,
                            roles: ["A", "B"] + (0..<p).map { "C\($0 + 1)" })
    }
}
