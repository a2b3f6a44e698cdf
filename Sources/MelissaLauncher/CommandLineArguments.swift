/// What the command line asks for.
enum LauncherInvocation: Equatable {
    /// `--help` / `-h`.
    case help
    /// `--version`.
    case version
    /// Run the study described by this config file.
    case run(configPath: String)

    /// Parses argv without the program name. One config path, or one of the flags alone.
    static func parse(_ arguments: [String]) throws(LauncherError) -> LauncherInvocation {
        if arguments.contains("--help") || arguments.contains("-h") { return .help }
        if arguments.contains("--version") { return .version }
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
               melissa-launcher --help | --version

        Runs a Melissa ensemble study: creates the study directory (output_dir), starts
        melissa-server with mpirun, runs the simulation jobs the server asks for, and
        reports progress until the study ends.

        exit status: 0 study succeeded, 1 study failed or server died,
                     2 usage or config error (nothing started), 130/143 interrupted
        environment: MELISSA_SERVER_EXECUTABLE  melissa-server to run (default: next to this program)
        see docs/LAUNCHER.md for details
        """
}
