import MelissaTransport

/// The open-files limit, raised at start so a rank can carry as many client connections as
/// the machine allows (docs/SCHEDULERS.md, "Connection budget").
extension BaseServer {
    /// Every rank raises its soft `RLIMIT_NOFILE` to the hard limit; the lowest result over the
    /// ranks is the limit the budget is checked against. Collective.
    func raiseFileLimit() throws {
        var local: FileDescriptorLimit
        do {
            let (before, after) = try FileDescriptorLimit.raiseSoftToHard()
            local = after
            if after.soft != before.soft {
                log.log(.debug, "raised the open-files limit (RLIMIT_NOFILE) from \(before.soft) to \(after.soft)")
            }
        } catch {
            // Not fatal: the budget check below still sees whatever limit is in force.
            log.error("cannot raise the open-files limit: \(error)")
            local = (try? FileDescriptorLimit.current()) ?? FileDescriptorLimit(soft: Int.max, hard: Int.max)
        }
        let soft = -(try comm.allreduceMax(-Int64(clamping: local.soft)))
        let hard = -(try comm.allreduceMax(-Int64(clamping: local.hard)))
        fileLimit = FileDescriptorLimit(soft: Int(soft), hard: Int(hard))
        if rank == 0 {
            let budget = connectionBudget
            log.event("open files: limit \(fileLimit.soft) per server rank (hard \(fileLimit.hard)); the study's budget: "
                      + "\(budget.concurrentSimulations) simulation(s) at once × \(budget.ranksPerSimulation) client rank(s) "
                      + "= \(budget.clientConnections) connections, \(budget.neededDescriptors) open files")
        }
    }
}
