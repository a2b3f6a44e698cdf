extension StudyConfig {
    /// Simulations per parameter draw: p + 2 in a Sobol study (the pick-freeze group A, B, C_1..C_p), else 1.
    public var membersPerDraw: Int { samplingPlan.membersPerDraw }

    /// Total simulations the study runs: `parameter_sweep_size` × `membersPerDraw`.
    ///
    /// In a Sobol study `parameter_sweep_size` counts pick-freeze groups, so the launcher runs
    /// (nb_parameters + 2) times as many simulations. Validation keeps this at most 2^32 − 1.
    public var simulationCount: Int {
        studyOptions.parameterSweepSize * membersPerDraw
    }

    /// Simulations launched together as one job: a whole draw when the plan joins its members
    /// (a Sobol pick-freeze group, joined cell by cell), otherwise `group_size`.
    public var jobGroupSize: Int {
        let plan = samplingPlan
        return plan.joined ? plan.membersPerDraw : studyOptions.groupSize
    }
}
