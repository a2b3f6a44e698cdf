import MelissaReport
/// Renders the monitor's one HTML page: the study's status now, refreshed in place every 2 s.
///
/// The page is self-contained (inline CSS, inline JS, inline SVG; no fonts, images or CDN), since
/// it is viewed on cluster front ends and through SSH tunnels with no internet. Two renderers
/// draw the same content: this Swift one for the first paint (and for browsers without JS,
/// which reload every 5 s via `<noscript><meta refresh>`), and the page's JS, which re-draws it
/// from `status.json`. The JS only ever writes text with `textContent` and numbers into
/// attributes, never HTML, so scheduler-supplied strings cannot become markup on either path.
public enum StatusPage {
    /// The full HTML document for `status`; `token` is embedded for the page's own `status.json`
    /// polls, and `nonce`, when given, is put on the inline `<style>` and `<script>` so that a
    /// `Content-Security-Policy` with that nonce lets them (and nothing else) run.
    public static func render(_ status: StudyStatus, token: String, nonce: String? = nil) -> String {
        let s = StatusJSON.finite(status)
        let nonceAttribute = nonce.map { " nonce=\"\(escapeHTML($0))\"" } ?? ""
        let sims = s.simulations
        let chart = ChartGeometry(history: s.history)
        var html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <noscript><meta http-equiv="refresh" content="5"></noscript>
        <title>Melissa: \(escapeHTML(s.study))</title>
        <style\(nonceAttribute)>\(style)</style>
        </head>
        <body>
        <header>
        <h1>Melissa study <code id="study">\(escapeHTML(s.study))</code></h1>
        <p class="meta">state <b id="state" class="\(stateClass(s.state))">\(escapeHTML(s.state))</b>
         · scheduler <span id="scheduler">\(escapeHTML(s.scheduler))</span>
         · elapsed <span id="elapsed">\(formatDuration(s.elapsedSeconds))</span></p>
        </header>
        <section class="card">
        <h2>Progress</h2>
        <progress id="bar" max="\(max(sims.total, 1))" value="\(min(max(sims.finished, 0), max(sims.total, 1)))"></progress>
        <p class="big"><span id="fraction">\(sims.finished) / \(sims.total)</span> finished
         (<span id="pct">\(percent(sims.finished, of: sims.total))</span>)</p>
        <table class="counts"><tr><th>total</th><th>finished</th><th>running</th><th>waiting</th><th>failed</th></tr>
        <tr><td id="n-total">\(sims.total)</td><td id="n-finished">\(sims.finished)</td><td id="n-running">\(sims.running)</td>\
        <td id="n-waiting">\(sims.waiting)</td><td id="n-failed">\(sims.failed)</td></tr></table>
        <dl>
        <dt>ETA</dt><dd id="eta">\(s.etaSeconds.map(formatDuration) ?? "unknown")</dd>
        <dt>Throughput</dt><dd id="throughput">\(formatBytes(s.throughputBytesPerSecond))/s</dd>
        <dt>Received</dt><dd id="bytes">\(formatBytes(Double(s.bytesReceived)))</dd>
        </dl>
        </section>
        <section class="card">
        <h2>Server</h2>
        <dl>
        <dt>State</dt><dd id="srv-state">\(escapeHTML(s.server.state))</dd>
        <dt>Ranks</dt><dd id="srv-ranks">\(s.server.ranks)</dd>
        <dt>Restarts</dt><dd id="srv-restarts">\(s.server.restarts)</dd>
        <dt>PID</dt><dd id="srv-pid">\(s.server.pid.map { String($0) } ?? "none")</dd>
        </dl>
        </section>
        <section class="card">
        <h2>Throughput over time</h2>
        <svg id="chart" viewBox="0 0 \(ChartGeometry.width) \(ChartGeometry.height)" role="img" aria-label="throughput over time">
        <line class="axis" x1="\(ChartGeometry.left)" y1="\(ChartGeometry.bottom)" x2="\(ChartGeometry.right)" y2="\(ChartGeometry.bottom)"/>
        <line class="axis" x1="\(ChartGeometry.left)" y1="\(ChartGeometry.top)" x2="\(ChartGeometry.left)" y2="\(ChartGeometry.bottom)"/>
        <text id="chart-ymax" class="label" x="\(ChartGeometry.left - 4)" y="\(ChartGeometry.top + 4)" text-anchor="end">\(chart.yMaxLabel)</text>
        <text class="label" x="\(ChartGeometry.left - 4)" y="\(ChartGeometry.bottom)" text-anchor="end">0</text>
        <text id="chart-t0" class="label" x="\(ChartGeometry.left)" y="\(ChartGeometry.height - 4)">\(chart.t0Label)</text>
        <text id="chart-t1" class="label" x="\(ChartGeometry.right)" y="\(ChartGeometry.height - 4)" text-anchor="end">\(chart.t1Label)</text>
        <text id="chart-empty" class="label" x="\(ChartGeometry.width / 2)" y="\(ChartGeometry.height / 2)" text-anchor="middle">\(chart.points.isEmpty ? "no data yet" : "")</text>
        <polyline id="chart-line" class="line" points="\(chart.points)"/>
        </svg>
        </section>
        <section class="card">
        <h2>Jobs</h2>
        <table class="jobs"><thead><tr><th>group</th><th>simulations</th><th>state</th><th>exit code</th><th>reason</th><th>batch job</th></tr></thead>
        <tbody id="jobs-body">

        """
        for job in s.jobs {
            html += "<tr><td>\(job.group)</td><td>\(simulationList(job.simulations))</td>"
            html += "<td class=\"\(stateClass(job.state))\">\(escapeHTML(job.state))</td><td>\(job.exitCode)</td>"
            html += "<td>\(escapeHTML(job.reason))</td><td>\(escapeHTML(job.batchJob ?? ""))</td></tr>\n"
        }
        html += """
        </tbody></table>
        </section>
        <footer id="updated">rendered by the launcher</footer>
        <script\(nonceAttribute)>
        const TOKEN = \(javaScriptString(token));
        \(script)
        </script>
        </body>
        </html>

        """
        return html
    }

    /// `text` safe as HTML element content or a quoted attribute value (the report's escaping:
    /// scheduler reasons and paths are hostile input).
    static func escapeHTML(_ text: String) -> String { HTMLEscaping.escape(text) }

    /// `text` as a double-quoted JavaScript string literal that is also inert inside `<script>`.
    ///
    /// Everything outside printable ASCII, and `<`, `>`, `&`, `'`, `"`, `\`, is written as
    /// `\uXXXX`: so `</script>`, `<!--`, line terminators (including U+2028/U+2029) and quotes
    /// cannot end the string or the script element, whatever the token holds.
    static func javaScriptString(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x20...0x7E where !"<>&'\"\\".utf16.contains(unit):
                out.unicodeScalars.append(Unicode.Scalar(unit)!)
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }

    /// A CSS class for a state string, from its lowercase letters only (states are free text).
    static func stateClass(_ state: String) -> String {
        "state-" + String(state.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) }.map(Character.init))
    }

    /// Simulation ids as a short list: ranges of consecutive ids collapse to `a–b`.
    static func simulationList(_ ids: [UInt32]) -> String {
        var parts: [String] = []
        var index = 0
        while index < ids.count {
            var end = index
            while end + 1 < ids.count, ids[end + 1] == ids[end] &+ 1, ids[end] != .max { end += 1 }
            parts.append(end > index + 1 ? "\(ids[index])–\(ids[end])" : (index..<end + 1).map { "\(ids[$0])" }.joined(separator: ", "))
            index = end + 1
        }
        return parts.joined(separator: ", ")
    }

    /// `part / whole` as a whole-number percentage; "0%" for an empty study.
    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "0%" }
        return "\(Int((Double(part) / Double(whole) * 100).rounded(.down)))%"
    }

    /// Bytes with a binary unit and one decimal: "12.5 MiB".
    static func formatBytes(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "0 B" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = bytes
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        if unit == 0 { return "\(Int(value)) B" }
        return "\(oneDecimal(value)) \(units[unit])"
    }

    /// Seconds as "1 h 02 min", "3 min 05 s" or "42 s".
    static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "unknown" }
        let total = Int(seconds.rounded())
        let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if h > 0 { return "\(h) h \(two(m)) min" }
        if m > 0 { return "\(m) min \(two(sec)) s" }
        return "\(sec) s"
    }

    /// `value` rounded to one decimal, without Foundation's locale-dependent formatters.
    private static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((abs(value) * 10).rounded())
        return (value < 0 && tenths > 0 ? "-" : "") + "\(tenths / 10).\(tenths % 10)"
    }

    /// The chart's frame and the throughput polyline drawn from `history`.
    ///
    /// Throughput between consecutive samples is (Δbytes / Δt); samples whose time does not
    /// advance are skipped. The JS in `script` computes exactly the same thing.
    struct ChartGeometry {
        static let width = 640, height = 200
        static let left = 90, right = 630, top = 10, bottom = 175

        /// SVG `points` text, empty when there are fewer than two usable samples.
        var points = ""
        var yMaxLabel = ""
        var t0Label = ""
        var t1Label = ""

        init(history: [StudyStatus.Sample]) {
            var rates: [(t: Double, rate: Double)] = []
            for (previous, sample) in zip(history, history.dropFirst()) where sample.t > previous.t {
                // Wrapping subtraction guards against a byte counter that went backwards (restart).
                let delta = sample.bytesReceived >= previous.bytesReceived ? sample.bytesReceived - previous.bytesReceived : 0
                rates.append((sample.t, Double(delta) / (sample.t - previous.t)))
            }
            guard let last = rates.last else { return }
            let t0 = history.first!.t
            let t1 = last.t
            let peak = max(rates.map(\.rate).max() ?? 0, 1)
            let span = max(t1 - t0, 1e-9)
            let w = Double(Self.right - Self.left), h = Double(Self.bottom - Self.top)
            points = rates.map { point in
                let x = Double(Self.left) + w * (point.t - t0) / span
                let y = Double(Self.bottom) - h * point.rate / peak
                return "\(StatusPage.oneDecimal(x)),\(StatusPage.oneDecimal(y))"
            }.joined(separator: " ")
            yMaxLabel = StatusPage.formatBytes(peak) + "/s"
            t0Label = StatusPage.formatDuration(t0)
            t1Label = StatusPage.formatDuration(t1)
        }
    }

    /// The page's stylesheet: readable in both light and dark mode, no external fonts.
    private static let style = """
    :root{color-scheme:light dark;--fg:#1d2330;--bg:#f6f7f9;--card:#fff;--mute:#667;--acc:#2f6fde;--bad:#c0392b;--ok:#2e8b57}
    @media (prefers-color-scheme:dark){:root{--fg:#e3e6ec;--bg:#14171c;--card:#1d2128;--mute:#99a;--acc:#6ea0ff}}
    body{font:15px/1.4 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:980px;padding:16px}
    h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:0 0 8px;color:var(--mute)}
    code{font-size:16px;word-break:break-all}.meta{margin:0 0 12px;color:var(--mute)}
    .card{background:var(--card);border-radius:8px;padding:12px 16px;margin:0 0 12px;box-shadow:0 1px 2px #0002}
    progress{width:100%;height:18px;accent-color:var(--acc)}.big{font-size:18px;margin:6px 0}
    table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #8883;vertical-align:top}
    td{word-break:break-word}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0 0}dt{color:var(--mute)}dd{margin:0}
    .state-failed{color:var(--bad)}.state-finished{color:var(--ok)}
    svg{width:100%;height:auto}.axis{stroke:var(--mute);stroke-width:1}.line{fill:none;stroke:var(--acc);stroke-width:2}
    .label{fill:var(--mute);font-size:12px}footer{color:var(--mute);font-size:12px}
    """

    /// The page's script: polls `status.json` every 2 s and re-draws the page from it.
    ///
    /// Text goes in with `textContent` only; on a failed poll the last data stays and the
    /// footer says so. `TOKEN` is defined just before this text.
    private static let script = #"""
    (function () {
      'use strict';
      var L = 90, R = 630, T = 10, B = 175;
      function $(id) { return document.getElementById(id); }
      function text(id, v) { $(id).textContent = String(v); }
      function cls(s) { return 'state-' + String(s).toLowerCase().replace(/[^a-z]/g, ''); }
      function tenth(v) {
        var t = Math.round(Math.abs(v) * 10);
        return (v < 0 && t > 0 ? '-' : '') + Math.floor(t / 10) + '.' + (t % 10);
      }
      function bytes(b) {
        if (!isFinite(b)) return '0 B';
        var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], i = 0;
        while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
        return i === 0 ? Math.floor(b) + ' B' : tenth(b) + ' ' + u[i];
      }
      function two(n) { return n < 10 ? '0' + n : '' + n; }
      function dur(s) {
        if (s === null || !isFinite(s) || s < 0) return 'unknown';
        var t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, x = t % 60;
        if (h > 0) return h + ' h ' + two(m) + ' min';
        if (m > 0) return m + ' min ' + two(x) + ' s';
        return x + ' s';
      }
      function sims(ids) {
        var parts = [], i = 0;
        while (i < ids.length) {
          var e = i;
          while (e + 1 < ids.length && ids[e + 1] === ids[e] + 1) e++;
          if (e > i + 1) parts.push(ids[i] + '\u2013' + ids[e]);
          else for (var k = i; k <= e; k++) parts.push(String(ids[k]));
          i = e + 1;
        }
        return parts.join(', ');
      }
      function chart(h) {
        var rates = [];
        for (var i = 1; i < h.length; i++) {
          if (h[i].t > h[i - 1].t) {
            var d = h[i].bytes_received >= h[i - 1].bytes_received ? h[i].bytes_received - h[i - 1].bytes_received : 0;
            rates.push([h[i].t, d / (h[i].t - h[i - 1].t)]);
          }
        }
        if (rates.length === 0) {
          $('chart-line').setAttribute('points', '');
          text('chart-empty', 'no data yet'); text('chart-ymax', ''); text('chart-t0', ''); text('chart-t1', '');
          return;
        }
        var t0 = h[0].t, t1 = rates[rates.length - 1][0], peak = 1;
        rates.forEach(function (r) { if (r[1] > peak) peak = r[1]; });
        var span = Math.max(t1 - t0, 1e-9);
        $('chart-line').setAttribute('points', rates.map(function (r) {
          return tenth(L + (R - L) * (r[0] - t0) / span) + ',' + tenth(B - (B - T) * r[1] / peak);
        }).join(' '));
        text('chart-empty', ''); text('chart-ymax', bytes(peak) + '/s'); text('chart-t0', dur(t0)); text('chart-t1', dur(t1));
      }
      function render(s) {
        var n = s.simulations, total = Math.max(n.total, 1);
        document.title = 'Melissa: ' + s.study;
        text('study', s.study); text('state', s.state); $('state').className = cls(s.state);
        text('scheduler', s.scheduler); text('elapsed', dur(s.elapsed_seconds));
        $('bar').max = total; $('bar').value = Math.min(Math.max(n.finished, 0), total);
        text('fraction', n.finished + ' / ' + n.total);
        text('pct', n.total > 0 ? Math.floor(n.finished / n.total * 100) + '%' : '0%');
        text('n-total', n.total); text('n-finished', n.finished); text('n-running', n.running);
        text('n-waiting', n.waiting); text('n-failed', n.failed);
        text('eta', s.eta_seconds === null ? 'unknown' : dur(s.eta_seconds));
        text('throughput', bytes(s.throughput_bytes_per_second) + '/s'); text('bytes', bytes(s.bytes_received));
        text('srv-state', s.server.state); text('srv-ranks', s.server.ranks); text('srv-restarts', s.server.restarts);
        text('srv-pid', s.server.pid === null ? 'none' : s.server.pid);
        chart(s.history);
        var body = document.createElement('tbody');
        body.id = 'jobs-body';
        s.jobs.forEach(function (j) {
          var tr = document.createElement('tr');
          [j.group, sims(j.simulations), j.state, j.exit_code, j.reason, j.batch_job === null ? '' : j.batch_job]
            .forEach(function (v, i) {
              var td = document.createElement('td');
              td.textContent = String(v);
              if (i === 2) td.className = cls(v);
              tr.appendChild(td);
            });
          body.appendChild(tr);
        });
        $('jobs-body').replaceWith(body);
        text('updated', 'updated ' + new Date().toLocaleTimeString());
      }
      function poll() {
        fetch('status.json?token=' + encodeURIComponent(TOKEN), { cache: 'no-store' })
          .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
          .then(render)
          .catch(function (e) { text('updated', 'monitor unreachable (' + e.message + '); showing the last data'); })
          .then(function () { setTimeout(poll, 2000); });
      }
      setTimeout(poll, 2000);
    })();
    """#
}
