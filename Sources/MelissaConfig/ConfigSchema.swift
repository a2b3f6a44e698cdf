/// The key names each level of the config accepts (Melissa's names).
enum ConfigSchema {
    /// The core's top-level keys; each registered flavor adds its own section (`sa_config`, ...).
    static let topLevel = ["output_dir", "server_class", "server_filename", "study_options",
                           "launcher_config", "client_config", "server_config"]
    static let studyOptions = ["field_names", "parameter_sweep_size", "nb_parameters", "nb_time_steps", "seed",
                               "simulation_timeout", "crashes_before_redraw", "max_redraws", "verbosity", "group_size",
                               "l_bounds", "u_bounds", "zmq_hwm", "sampler", "field_sizes", "offline"]
    static let saConfig = ["mean", "variance", "skewness", "kurtosis", "min", "max", "threshold_exceedance",
                           "threshold_values", "quantiles", "quantile_values", "sobol_indices",
                           "sobol_convergence_width", "covariance_pairs", "report_probes", "cache_limit_mb",
                           "checkpoint_interval"]
    static let launcherConfig = ["scheduler", "scheduler_arg_client", "scheduler_arg_server", "job_limit",
                                 "timer_delay", "fault_tolerance", "max_server_restarts", "launcher_port", "bind_address",
                                 "advertised_host", "server_timeout",
                                 "std_output", "verbosity", "http_port", "http_host", "http_token"]
    static let clientConfig = ["executable_command", "command_default_args", "preprocessing_commands",
                               "persistent_jobs"]
    static let serverConfig = ["preprocessing_commands", "connection_port", "data_port", "bind_address",
                               "advertised_host", "memory_limit_mb", "data_encryption"]

    /// Every core section with its keys, and the built-in statistics flavor's; the empty name is the top level.
    static let sections: [(name: String, keys: [String])] = [
        ("", topLevel + ["sa_config"]), ("study_options", studyOptions), ("sa_config", saConfig),
        ("launcher_config", launcherConfig), ("client_config", clientConfig), ("server_config", serverConfig),
    ]

    /// Names of the sections that define `key` (for "belongs in ..." hints).
    static func sectionsContaining(_ key: String) -> [String] {
        sections.filter { $0.keys.contains(key) }.map(\.name)
    }
}
