// melissa-bench-launcher slurm-overhead: submission -> RUNNING latency of one job through the
// launcher's slurm backend (BatchScheduler over SlurmBatchSystem: job script, sbatch with
// retries, squeue parsing) against sbatch alone, interleaved job by job in one run, both
// polled at the same interval. Needs a running Slurm (Scripts/slurm-cluster.sh start).
//
//   melissa-bench-launcher slurm-overhead [--jobs N] [--poll SECONDS] [--work DIR] [--json FILE]
import Foundation
import Glibc
import MelissaSchedulers

struct Options {
    var jobs = 20
    var poll = 0.05
    var work = "/tmp/melissa-bench-launcher"
    var json: String?
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("melissa-bench-launcher: error: \(message)\n".utf8))
    exit(1)
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    var index = 0
    func value(_ name: String) -> String {
        index += 1
        guard index < arguments.count else { fail("\(name) needs a value") }
        return arguments[index]
    }
    while index < arguments.count {
        switch arguments[index] {
        case "--jobs":
            guard let n = Int(value("--jobs")), n >= 1, n <= 10_000 else { fail("--jobs must be 1...10000") }
            options.jobs = n
        case "--poll":
            guard let p = Double(value("--poll")), p >= 0.01, p <= 10 else { fail("--poll must be 0.01...10 seconds") }
            options.poll = p
        case "--work": options.work = value("--work")
        case "--json": options.json = value("--json")
        default: fail("unknown argument \(arguments[index])")
        }
        index += 1
    }
    return options
}

/// sbatch alone: submit, then poll squeue for that job until Slurm says it runs (or ran).
func rawLatency(script: String, poll: Double, squeue: String, sbatch: String) -> Double {
    let start = MonotonicClock.now()
    let runner = SchedulerCommand(scratchDirectory: "/tmp/melissa-bench-launcher-raw",
                                  policy: RetryPolicy(attempts: 1, firstDelay: 0, timeout: 30))
    let submitted = runner.runOnce(sbatch, ["--parsable", "--output=/dev/null", script])
    guard submitted.succeeded, let id = SlurmBatchSystem.parseSubmission(submitted.output) else {
        fail("sbatch: \(submitted.failureSummary)")
    }
    while true {
        let state = runner.runOnce(squeue, ["-h", "-t", "all", "-j", id, "-o", "%T"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        if ["RUNNING", "COMPLETING", "COMPLETED"].contains(state) { return MonotonicClock.now() - start }
        if ["FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"].contains(state) { fail("raw job \(id) \(state)") }
        MonotonicClock.sleep(poll)
    }
}

/// The launcher's backend: submit a one-member group, poll until it is reported running.
func oursLatency(scheduler: BatchScheduler, script: String, poll: Double, number: UInt32) -> Double {
    let start = MonotonicClock.now()
    let job = scheduler.submit([SimulationSpec(simulationID: number, script: script)])
    while true {
        for update in scheduler.poll() where update.job == job {
            switch update.state {
            case .running, .terminated: return MonotonicClock.now() - start
            case .failed: fail("our job failed: \(update.reason)")
            case .waiting: break
            }
        }
        MonotonicClock.sleep(poll)
    }
}

func summary(_ values: [Double]) -> [String: Double] {
    let sorted = values.sorted()
    func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))] }
    return ["median": at(0.5), "p90": at(0.9), "min": sorted[0], "mean": values.reduce(0, +) / Double(values.count)]
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "slurm-overhead" else { fail("usage: melissa-bench-launcher slurm-overhead [--jobs N] [--poll S] [--work DIR] [--json FILE]") }
let options = parse(Array(arguments.dropFirst()))
try? FileManager.default.createDirectory(atPath: options.work, withIntermediateDirectories: true)
let script = options.work + "/job.sh"
guard ScriptFile.write("#!/bin/sh\nexit 0\n", to: script) == nil else { fail("cannot write \(script)") }
let sbatch: String, squeue: String
do {
    sbatch = try ExecutableSearch.find("sbatch", searchPath: ExecutableSearch.currentPath())
    squeue = try ExecutableSearch.find("squeue", searchPath: ExecutableSearch.currentPath())
} catch { fail("\(error): start Slurm with Scripts/slurm-cluster.sh start") }
let runner = SchedulerCommand(scratchDirectory: options.work + "/scheduler")
let slurm: SlurmBatchSystem
do {
    slurm = try SlurmBatchSystem(clientArguments: [], workingDirectory: options.work, logDirectory: nil,
                                 jobNamePrefix: "melissa-bench.\(getpid())", runner: runner)
} catch { fail("\(error)") }
let scheduler = BatchScheduler(system: slurm, pollInterval: options.poll)
// One warm-up job each: the first job after a controller start waits for a scheduling pass.
_ = rawLatency(script: script, poll: options.poll, squeue: squeue, sbatch: sbatch)
_ = oursLatency(scheduler: scheduler, script: script, poll: options.poll, number: 0)
var raw: [Double] = []
var ours: [Double] = []
for index in 0..<options.jobs {
    // Alternate which side goes first, so drift in the controller's load hits both alike.
    if index % 2 == 0 {
        raw.append(rawLatency(script: script, poll: options.poll, squeue: squeue, sbatch: sbatch))
        ours.append(oursLatency(scheduler: scheduler, script: script, poll: options.poll, number: UInt32(index + 1)))
    } else {
        ours.append(oursLatency(scheduler: scheduler, script: script, poll: options.poll, number: UInt32(index + 1)))
        raw.append(rawLatency(script: script, poll: options.poll, squeue: squeue, sbatch: sbatch))
    }
}
let r = summary(raw), o = summary(ours)
let paired = zip(ours, raw).map { $0 - $1 }
let overhead = summary(paired)
print(String(format: "submission -> RUNNING over %d jobs, polled every %.0f ms", options.jobs, options.poll * 1000))
print(String(format: "  sbatch alone        median %7.1f ms   p90 %7.1f ms   mean %7.1f ms", r["median"]! * 1000, r["p90"]! * 1000, r["mean"]! * 1000))
print(String(format: "  launcher backend    median %7.1f ms   p90 %7.1f ms   mean %7.1f ms", o["median"]! * 1000, o["p90"]! * 1000, o["mean"]! * 1000))
print(String(format: "  overhead per job    median %+7.1f ms (paired), ratio of medians %.2f", overhead["median"]! * 1000, o["median"]! / r["median"]!))
if let path = options.json {
    let object: [String: Any] = ["jobs": options.jobs, "poll_seconds": options.poll, "sbatch_alone": r, "launcher": o,
                                 "overhead_paired": overhead, "ratio_of_medians": o["median"]! / r["median"]!]
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
          FileManager.default.createFile(atPath: path, contents: data) else { fail("cannot write \(path)") }
}
