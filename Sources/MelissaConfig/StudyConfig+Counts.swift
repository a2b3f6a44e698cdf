extension StudyConfig {
    /// Simulations per parameter set: p + 2 in a Sobol study (the pick-freeze group A, B, C_1..C_p), else 1.
    public var sobolMembers: Int {
        saConfig.sobolIndices ? studyOptions.nbParameters + 2 : 1
    }

    /// Total simulations the study runs: `parameter_sweep_size` × `sobolMembers`.
    ///
    /// In a Sobol study `parameter_sweep_size` counts pick-freeze groups, so the launcher runs
    /// (nb_parameters + 2) times as many simulations. Validation keeps this at most 2^32 − 1.
    public var simulationCount: Int {
        studyOptions.parameterSweepSize * sobolMembers
    }

    /// Simulations launched together as one job: the whole pick-freeze group in a Sobol study
    /// (its members must be joined cell by cell), otherwise `group_size`.
    public var jobGroupSize: Int {
        saConfig.sobolIndices ? sobolMembers : studyOptions.groupSize
    }
}
