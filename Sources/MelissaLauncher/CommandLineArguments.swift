/// What the command line asks for.
enum LauncherInvocation: Equatable {
    /// `--help` / `-h`.
    case help
    /// `--version`.
    case version
    /// Run the study described by this config file.
    case run(configPath: String)
    /// Finish a study that was stopped (or whose launcher died), from its checkpoint.
    case resume(studyDirectory: String)

    /// Parses argv without the program name. One config path, or one of the flags alone.
    static func parse(_ arguments: [String]) throws(LauncherError) -> LauncherInvocation {
        if arguments.contains("--help") || arguments.contains("-h") { return .help }
        if arguments.contains("--version") { return .version }
        if let i = arguments.firstIndex(of: "--resume") {
            let rest = arguments.enumerated().filter { $0.offset != i }.map(\.element)
            guard rest.count == 1, !rest[0].hasPrefix("-") || rest[0] == "-" else {
                throw .usage("--resume needs exactly one study directory, got \(rest.count == 0 ? "none" : rest.joined(separator: " "))")
            }
            return .resume(studyDirectory: rest[0])
        }
        // "--" ends the options, so a config file whose name starts with "-" can still be given.
        var operands: [String] = []
        var optionsEnded = false
        for argument in arguments {
            if !optionsEnded && argument == "--" { optionsEnded = true; continue }
            if !optionsEnded && argument.hasPrefix("-") && argument != "-" {
                throw .usage("unknown option \(argument)")
            }
            operands.append(argument)
        }
        switch operands.count {
        case 0: throw .usage("missing the config file argument")
        case 1: return .run(configPath: operands[0])
        default: throw .usage("expected one config file, got \(operands.count) arguments: \(operands.joined(separator: " "))")
        }
    }

    /// The one-line reminder printed after a usage error.
    static let shortUsage = "usage: melissa-launcher <config.json>   (melissa-launcher --help for more)"

    /// The `--help` text.
    static let usage = """
        usage: melissa-launcher <config.json>
               melissa-launcher --resume <study directory>
               melissa-launcher --help | --version

        Runs a Melissa ensemble study: creates the study directory (output_dir), starts
        melissa-server with mpirun, runs the simulation jobs the server asks for, and
        reports progress until the study ends. With fault tolerance on (the default) failed
        simulations run again and a dead server is restarted from its checkpoint.
        --resume finishes a study that was stopped (Ctrl-C, SIGTERM, a killed launcher)
        from its last checkpoint, with the config file it was started from.

        exit status: 0 study succeeded, 1 study failed or server died,
                     2 usage or config error (nothing started), 130/143 interrupted
        environment: MELISSA_SERVER_EXECUTABLE  melissa-server to run (default: next to this program)
        see docs/LAUNCHER.md for details
        """
}
