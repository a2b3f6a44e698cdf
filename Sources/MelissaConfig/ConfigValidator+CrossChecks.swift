import Foundation

extension ConfigValidator {
    /// The rules any flavor's sampling plan sets on `study_options` (for flavors whose reader
    /// does not check them itself): a joined plan runs each draw's members as one job, an
    /// independent one groups at most the whole sweep; the total fits a simulation id; the
    /// sampler supports the drawn dimensions.
    static func checkStudyAgainstPlan(_ study: StudyContext, plan: SamplingPlan, flavor: String, path: ConfigPath,
                                      issues: IssueCollector) {
        if plan.joined, let groupSize = study.groupSize, groupSize != plan.membersPerDraw {
            issues.add(path.appending("group_size"),
                       "must equal \(plan.membersPerDraw) for server_class '\(flavor)' (the simulations of one draw "
                       + "run as one job), got \(groupSize); leave group_size out to get this value")
        } else if !plan.joined, let groupSize = study.groupSize, let sweepSize = study.sweepSize, groupSize > sweepSize {
            issues.add(path.appending("group_size"),
                       "must not exceed parameter_sweep_size (\(sweepSize)), got \(groupSize)")
        }
        if let sweepSize = study.sweepSize {
            let (total, overflow) = sweepSize.multipliedReportingOverflow(by: plan.membersPerDraw)
            if overflow || total > ConfigDefaults.maximumSimulationCount {
                issues.add(path.appending("parameter_sweep_size"),
                           "server_class '\(flavor)' runs \(plan.membersPerDraw) simulations per draw: more than "
                           + "\(ConfigDefaults.maximumSimulationCount) in all (simulation ids are 32-bit)")
            }
        }
        if let sampler = study.sampler, let maximum = sampler.maximumDimensions, let p = study.nbParameters {
            let (dimensions, overflow) = p.multipliedReportingOverflow(by: plan.drawWidth)
            if overflow || dimensions > maximum {
                let how = plan.drawWidth == 1 ? "nb_parameters = \(p) dimensions"
                    : "\(plan.drawWidth) × nb_parameters = \(overflow ? "too many" : String(dimensions)) dimensions"
                issues.add(path.appending("sampler"),
                           "'\(sampler.rawValue)' supports at most \(maximum) sampled dimensions; this study samples "
                           + "\(how); use 'uniform' or 'lhs'")
            }
        }
    }

    /// Rules that join `study_options` and `sa_config`: how simulations group into jobs, how many
    /// simulations the study runs, and whether the sampler supports the sampled dimensions.
    ///
    /// A rule is checked only when the keys it involves are individually valid; when
    /// `sobolIndices` is nil (`sa_config.sobol_indices` invalid) the Sobol-dependent rules are skipped.
    static func checkStudyAgainstSA(_ study: StudyContext, sobolIndices: Bool?, path: ConfigPath,
                                    issues: IssueCollector) {
        guard let sobol = sobolIndices else { return }
        guard sobol else {
            // Without Sobol the statistics flavor draws one simulation at a time: the generic rules.
            checkStudyAgainstPlan(study, plan: .independent, flavor: FlavorSpec.sensitivityAnalysis.name,
                                  path: path, issues: issues)
            return
        }
        checkSobolGroupSize(study, path: path, issues: issues)
        checkSobolSimulationCount(study, path: path, issues: issues)
        checkSobolSamplerDimensions(study, path: path, issues: issues)
    }

    /// A Sobol group is the p + 2 pick-freeze simulations A, B, C_1..C_p, which must run as one job.
    private static func checkSobolGroupSize(_ study: StudyContext, path: ConfigPath, issues: IssueCollector) {
        guard let groupSize = study.groupSize, let p = study.nbParameters else { return }
        let (members, overflow) = p.addingReportingOverflow(2)
        guard overflow || groupSize != members else { return }
        issues.add(path.appending("group_size"),
                   "must equal nb_parameters + 2 (\(overflow ? "too large" : String(members))) when "
                   + "sa_config.sobol_indices is true, got \(groupSize): a Sobol group is the p+2 pick-freeze "
                   + "simulations A, B, C_1..C_p, which run as one job; leave group_size out to get this value")
    }

    /// In a Sobol study `parameter_sweep_size` counts groups of p + 2 simulations; their total must fit a simulation id.
    private static func checkSobolSimulationCount(_ study: StudyContext, path: ConfigPath, issues: IssueCollector) {
        guard let sweepSize = study.sweepSize, let p = study.nbParameters else { return }
        let (members, overflowAdd) = p.addingReportingOverflow(2)
        let (total, overflowMultiply) = sweepSize.multipliedReportingOverflow(by: members)
        let maximum = ConfigDefaults.maximumSimulationCount
        guard overflowAdd || overflowMultiply || total > maximum else { return }
        let totalText = overflowAdd || overflowMultiply ? "more than \(maximum)" : String(total)
        issues.add(path.appending("parameter_sweep_size"),
                   "a Sobol study runs parameter_sweep_size × (nb_parameters + 2) = \(totalText) simulations; "
                   + "at most \(maximum) are possible (simulation ids are 32-bit)")
    }

    /// Halton has one prime base per sampled dimension; a Sobol study samples A and B side by side (2p dimensions).
    private static func checkSobolSamplerDimensions(_ study: StudyContext, path: ConfigPath, issues: IssueCollector) {
        guard let sampler = study.sampler, let maximum = sampler.maximumDimensions,
              let p = study.nbParameters else { return }
        let (dimensions, overflow) = p.multipliedReportingOverflow(by: 2)
        guard overflow || dimensions > maximum else { return }
        issues.add(path.appending("sampler"),
                   "'\(sampler.rawValue)' supports at most \(maximum) sampled dimensions; this study samples "
                   + "2 × nb_parameters = \(overflow ? "too many" : String(dimensions)) dimensions "
                   + "(a Sobol study samples the A and B points side by side); use 'uniform' or 'lhs'")
    }
}
