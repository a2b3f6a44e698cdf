/// How many MPI ranks one simulation runs with, as far as `scheduler_arg_client` tells: the
/// server sizes its connection budget from it (every client rank opens one connection to each
/// server rank) before any client exists.
public enum ClientRankCount {
    /// The ranks of one simulation as the scheduler would read `arguments`, or nil when they do
    /// not say (then the scheduler's default, one rank, applies).
    ///
    /// - openmpi: `-n N`, `-np N`, `--n N`, `--np N`, `-c N`, `--np=N`, `--n=N` (mpirun's spellings).
    /// - slurm: `-n N`, `-nN`, `--ntasks=N`, `--ntasks N` (one simulation's share; sbatch's).
    /// - oar: the cores of `-l` (`nodes=2/core=4` is 8) shared by the job's `groupSize` members.
    /// The last occurrence wins, as in the schedulers themselves.
    public static func perSimulation(scheduler: Scheduler, arguments: [String], groupSize: Int) -> Int? {
        switch scheduler {
        case .openmpi: return lastValue(in: arguments, flags: ["-n", "-np", "--n", "--np", "-c"],
                                        prefixes: ["--np=", "--n="])
        case .slurm: return slurmTasks(arguments)
        case .oar:
            guard let cores = oarCores(arguments) else { return nil }
            return max(1, cores / max(1, groupSize))
        }
    }

    /// sbatch's task count in `arguments` (`-n N`, `-nN`, `--ntasks=N`, `--ntasks N`), or nil.
    public static func slurmTasks(_ arguments: [String]) -> Int? {
        var tasks: Int?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let next = index + 1 < arguments.count ? arguments[index + 1] : nil
            if argument == "-n" || argument == "--ntasks", let next, let value = Int(next), value > 0 {
                tasks = value
                index += 1
            } else if argument.hasPrefix("--ntasks="), let value = Int(argument.dropFirst(9)), value > 0 {
                tasks = value
            } else if argument.hasPrefix("-n"), !argument.hasPrefix("--"), let value = Int(argument.dropFirst(2)), value > 0 {
                tasks = value
            }
            index += 1
        }
        return tasks
    }

    private static func lastValue(in arguments: [String], flags: Set<String>, prefixes: [String]) -> Int? {
        var found: Int?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if flags.contains(argument), index + 1 < arguments.count, let value = Int(arguments[index + 1]), value > 0 {
                found = value
                index += 1
            } else if let prefix = prefixes.first(where: { argument.hasPrefix($0) }),
                      let value = Int(argument.dropFirst(prefix.count)), value > 0 {
                found = value
            }
            index += 1
        }
        return found
    }

    /// The cores an `oarsub -l` resource request asks for: the product of the counts in its
    /// hierarchy (`nodes=2/core=4,walltime=1:0:0` is 8), the last `-l` winning.
    private static func oarCores(_ arguments: [String]) -> Int? {
        var request: String?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "-l" || argument == "--resource", index + 1 < arguments.count {
                request = arguments[index + 1]
                index += 1
            } else if argument.hasPrefix("--resource=") {
                request = String(argument.dropFirst(11))
            } else if argument.hasPrefix("-l"), argument.count > 2 {
                request = String(argument.dropFirst(2))
            }
            index += 1
        }
        guard let request else { return nil }
        let hierarchy = request.split(separator: ",").first.map(String.init) ?? request
        var product = 1
        var counted = false
        for level in hierarchy.split(separator: "/") {
            let parts = level.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, ["nodes", "host", "cpu", "core"].contains(parts[0].trimmingWhitespace),
                  let value = Int(parts[1].trimmingWhitespace), value > 0 else { continue }
            product *= value
            counted = true
        }
        return counted ? product : nil
    }
}

private extension Substring {
    var trimmingWhitespace: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
