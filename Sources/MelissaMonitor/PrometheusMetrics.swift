/// Renders a `StudyStatus` as Prometheus text exposition format 0.0.4 for `/metrics`.
///
/// Written by hand rather than with swift-prometheus: the values are a snapshot the launcher
/// already keeps, not instruments updated in place, and the format is a few lines of text.
public enum PrometheusMetrics {
    /// The `Content-Type` Prometheus expects for this format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every metric with its `# HELP` and `# TYPE` lines; names and labels are in docs/MONITORING.md.
    ///
    /// Families are always present (a family can have no samples, e.g. `melissa_jobs` before the
    /// first job) so that scrapers and dashboards see a fixed set of names.
    public static func render(_ status: StudyStatus) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            out += "# HELP \(name) \(escapeHelp(help))\n"
            out += "# TYPE \(name) \(type)\n"
            for sample in samples {
                out += name
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.0)=\"\(escapeLabelValue($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " \(sample.value)\n"
            }
        }
        let sims = status.simulations
        family("melissa_study_info", "gauge", "Study identity and state; the value is always 1.",
               [([("study", status.study), ("scheduler", status.scheduler), ("state", status.state)], "1")])
        family("melissa_simulations", "gauge", "Simulations by state.",
               [([("state", "finished")], String(sims.finished)), ([("state", "running")], String(sims.running)),
                ([("state", "waiting")], String(sims.waiting)), ([("state", "failed")], String(sims.failed))])
        family("melissa_simulations_total", "gauge", "Simulations in the study.", [([], String(sims.total))])
        family("melissa_bytes_received_total", "counter", "Payload bytes received by the server from simulations.",
               [([], String(status.bytesReceived))])
        family("melissa_throughput_bytes_per_second", "gauge", "Recent receive rate in bytes per second.",
               [([], format(status.throughputBytesPerSecond))])
        // No sample while there is no estimate: a made-up value would draw a false line.
        family("melissa_eta_seconds", "gauge", "Estimated seconds until the study finishes (absent when unknown).",
               status.etaSeconds.map { [([], format($0))] } ?? [])
        family("melissa_start_time_seconds", "gauge", "When the study started, in Unix seconds.",
               [([], format(status.startedAt))])
        family("melissa_elapsed_seconds", "gauge", "Seconds since the study started.", [([], format(status.elapsedSeconds))])
        family("melissa_server_ranks", "gauge", "MPI ranks of the server job.", [([], String(status.server.ranks))])
        family("melissa_server_restarts_total", "counter", "Times the launcher restarted the server.",
               [([], String(status.server.restarts))])
        family("melissa_server_info", "gauge", "Server job state; the value is always 1.",
               [([("state", status.server.state)], "1")])
        // Sorted so the output is stable from one scrape to the next.
        var jobsByState: [String: Int] = [:]
        for job in status.jobs { jobsByState[job.state, default: 0] += 1 }
        family("melissa_jobs", "gauge", "Scheduler jobs by state.",
               jobsByState.keys.sorted().map { ([("state", $0)], String(jobsByState[$0]!)) })
        // Training flavors only; no sample otherwise (absent, not zero).
        let training = status.training
        family("melissa_training_steps_total", "counter", "Training steps taken so far (the same on every trainer).",
               training.map { [([], String($0.batch))] } ?? [])
        family("melissa_training_samples_total", "counter", "Samples trained so far, all trainers.",
               training.map { [([], String($0.samples))] } ?? [])
        family("melissa_training_loss", "gauge", "Mean training loss since the previous report.",
               training.map { [([], format($0.trainLoss))] } ?? [])
        family("melissa_validation_loss", "gauge", "Loss on the validation set at the latest report (absent without one).",
               training?.validLoss.map { [([], format($0))] } ?? [])
        return out
    }

    /// A label value escaped per the format: backslash, double quote and line feed.
    static func escapeLabelValue(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// HELP text escaped per the format: backslash and line feed.
    static func escapeHelp(_ text: String) -> String {
        text.replacingBackslashAndNewline()
    }

    /// A Double sample value: whole numbers without a fraction, the format's own spellings for
    /// NaN and infinities, otherwise Swift's shortest round-trip form. (Integer metrics such as
    /// byte counts are written from their integer type, so they stay exact beyond 2^53.)
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9.007_199_254_740_992e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

extension String {
    /// `self` with `\` and line feeds written as `\\` and `\n`.
    fileprivate func replacingBackslashAndNewline() -> String {
        var out = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
