"""Connection budget: what ONE server rank pays per connected client rank.

Benchmarks/connections/run.sh calls it (see there for usage). For each N in --ranks it runs a
real study through melissa-launcher (scheduler openmpi, one server rank, one simulation) whose
"simulation" is driver.py: one process that does one handshake claiming N client ranks, then
opens N data connections (one PUSH socket per emulated client rank, as the client library
does), sends step 0 on each as soon as it is ready, holds them idle, then streams the remaining
steps and closes. Meanwhile it samples the melissa-server process every --period seconds:
open fds (/proc/PID/fd), VmRSS/VmHWM/Threads (/proc/PID/status), CPU time (/proc/PID/stat) and
the ESTABLISHED TCP connections whose local port is the data port (/proc/net/tcp{,6}), and the
kernel's TcpExt ListenOverflows (/proc/net/netstat: SYNs dropped because the data socket's accept
queue, libzmq's ZMQ_BACKLOG of 100 by default, was full).

Per N it reports the server's idle baseline (after the handshake, before any data connection),
the state with all N connections up and idle, the per-client-rank deltas, the driver's connect
time (first connect() to the last connection through its CURVE handshake), the server CPU spent
on connecting, and the ingest rate of the remaining steps (bytes sent after the hold / time to
the server's last accepted message). It checks that the study succeeded (launcher exit 0, the
simulation finished, every message accepted, nothing dropped, the mean equal to what was sent);
a failure at some N is recorded with the log lines that explain it, and the run goes on to the
next N (exit status 1 at the end). The installed binaries' sha256 and mtime are printed and kept
in the rows: <prefix> may be reinstalled between runs.
"""
import argparse
import json
import math
import os
import pathlib
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
HEADER = 48
CLK_TCK = os.sysconf("SC_CLK_TCK")


def value(sim, step, field, cell):
    """driver.py's value(): what every emulated rank sends (kept in sync by the check below)."""
    return sim * 1000.0 + step + 0.25 * field + cell / 1024.0


def clean_env():
    """This environment without the variables of an enclosing mpirun job."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_COMM_WORLD", "PMIX_"))}


def server_pids(config_path):
    """Pids of the melissa-server processes whose command line names `config_path`."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"melissa-server") and config_path.encode() in argv[1:]:
            pids.append(int(entry.name))
    return sorted(pids)


def status_fields(pid):
    out = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads", "Cpus_allowed_list"):
            out[key] = rest.strip()
    return out


def cpu_seconds(pid):
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def nofile_limit(pid):
    for line in pathlib.Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return {"soft": soft, "hard": hard}
    return None


def established_regex(ports):
    """Matches /proc/net/tcp{,6} lines of ESTABLISHED (01) sockets whose LOCAL port is one of `ports`."""
    alternatives = b"|".join(b"%04X" % p for p in ports)
    return re.compile(rb": [0-9A-F]{8,32}:(?:" + alternatives + rb") [0-9A-F]{8,32}:[0-9A-F]{4} 01 ")


def count_established(regex):
    n = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            n += len(regex.findall(pathlib.Path(name).read_bytes()))
        except OSError:
            pass
    return n


def listen_counters():
    """TcpExt ListenOverflows and ListenDrops (machine-wide, since boot): SYNs dropped because a
    listening socket's accept queue (its backlog) was full; the peer retransmits 1 s later."""
    lines = [l.split() for l in pathlib.Path("/proc/net/netstat").read_text().splitlines() if l.startswith("TcpExt:")]
    values = dict(zip(lines[0][1:], (int(v) for v in lines[1][1:])))
    return values.get("ListenOverflows", 0), values.get("ListenDrops", 0)


def sample(pid, regex):
    """One sample of the server process, or None when it is gone."""
    try:
        st = status_fields(pid)
        s = {"t": time.time(), "fds": len(os.listdir(f"/proc/{pid}/fd")),
             "rss_kib": int(st["VmRSS"].split()[0]), "hwm_kib": int(st["VmHWM"].split()[0]),
             "threads": int(st["Threads"]), "cpu": cpu_seconds(pid)}
    except (OSError, KeyError, ValueError):
        return None
    s["conns"] = count_established(regex) if regex else 0
    s["listen_overflows"], s["listen_drops"] = listen_counters()
    return s


def read_events(path):
    events = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                events[record["event"]] = record
    return events


def median(values):
    values = sorted(values)
    if not values:
        return None
    k = len(values) // 2
    return values[k] if len(values) % 2 else (values[k - 1] + values[k]) / 2


def window(samples, lo, hi):
    return [s for s in samples if lo <= s["t"] <= hi]


def summarize(samples, key):
    return median([s[key] for s in samples]) if samples else None


def log_excerpt(path, patterns=("error", "fail", "assert", "too many", "emfile", "refus", "abandon", "warn",
                                "connected with", "simulation"), limit=40):
    """The lines of `path` that explain a failure (or the tail when none matches)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    hits = [l for l in lines if any(p in l.lower() for p in patterns)]
    return (hits or lines)[-limit:]


def run_one(a, index, n):
    name = f"n{n}" if a.ranks.count(n) == 1 else f"n{n}.{index}"  # --ranks may repeat an N
    study = a.work / name
    if study.exists():
        shutil.rmtree(study)  # the launcher refuses to overwrite a study
    config_path = a.work / f"{name}.json"
    events_path = a.work / f"{name}.events.jsonl"
    events_path.unlink(missing_ok=True)
    target = a.messages
    steps = max(2, math.ceil(target / n)) + 1  # step 0 while connecting, then >= `target` messages
    port = a.port + 10 * index
    config = {
        "output_dir": str(study),
        "study_options": {
            "field_names": ["f0"], "parameter_sweep_size": 1, "nb_parameters": 1, "nb_time_steps": steps,
            "l_bounds": [0.0], "u_bounds": [1.0], "verbosity": 2, "simulation_timeout": a.timeout,
        },
        "sa_config": {"mean": True},
        "launcher_config": {
            "scheduler": "openmpi",
            # Unbound: mpirun would otherwise pin both the server and the driver to core 0.
            "scheduler_arg_client": ["-n", "1", "--bind-to", "none"],
            "scheduler_arg_server": ["-n", "1", "--bind-to", "none"],
            "job_limit": 1, "timer_delay": 0.1, "server_timeout": 60, "fault_tolerance": False,
            "launcher_port": port + 2,
        },
        "client_config": {
            "executable_command": a.python,
            "command_default_args": [str(HERE / "driver.py"), "--ranks", str(n),
                                     "--cells-per-rank", str(a.cells_per_rank), "--events", str(events_path),
                                     "--settle", str(a.settle), "--hold", str(a.hold),
                                     "--connect-timeout", str(a.timeout)],
        },
        "server_config": {"connection_port": port, "data_port": port + 1, "data_encryption": not a.plain},
    }
    config_path.write_text(json.dumps(config, indent=2))
    log_path = a.work / f"{name}.launcher.log"

    def limits():
        if a.server_nofile:  # inherited by mpirun and the server (the driver raises its own)
            soft, hard = a.server_nofile
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard or resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    row = {"ranks": n, "server_ranks": 1, "connections": n, "steps": steps,
           "cells_per_rank": a.cells_per_rank, "encryption": "PLAIN" if a.plain else "CURVE",
           "study": str(study), "errors": []}
    samples, pid, regex, timed_out = [], None, None, False
    started = time.time()
    with open(log_path, "w") as out:
        launcher = subprocess.Popen([a.launcher, str(config_path)], stdout=out, stderr=subprocess.STDOUT,
                                    env=clean_env(), stdin=subprocess.DEVNULL, preexec_fn=limits)
        while launcher.poll() is None:
            if pid is None:
                pids = server_pids(str(config_path))
                if pids:
                    pid = pids[0]
                    try:
                        row["server_nofile_at_start"] = nofile_limit(pid)
                        row["server_cpus"] = status_fields(pid).get("Cpus_allowed_list")
                    except OSError:
                        pass
            if pid is not None and "server_nofile" not in row and "connected" in read_events(events_path):
                try:
                    row["server_nofile"] = nofile_limit(pid)  # after the server's own setrlimit, if any
                except OSError:
                    pass
            if regex is None:
                ev = read_events(events_path)
                if "handshake" in ev:
                    ports = [int(e.rsplit(":", 1)[1]) for e in ev["handshake"]["endpoints"]]
                    row["data_ports"] = ports
                    regex = established_regex(ports)
            if pid is not None:
                s = sample(pid, regex)
                if s:
                    samples.append(s)
            if time.time() - started > a.timeout and not timed_out:
                timed_out = True
                row["errors"].append(f"no end after {a.timeout} s: SIGINT to the launcher")
                launcher.send_signal(signal.SIGINT)
                try:
                    launcher.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    launcher.kill()
                    for p in server_pids(str(config_path)):
                        os.kill(p, signal.SIGKILL)
            time.sleep(a.period)
        rc = launcher.wait()
    row["launcher_exit"] = rc
    row["server_log_budget"] = [l for l in log_excerpt(study / "server.rank0.log", patterns=(
        "open files", "client ranks", "budget", "rlimit", "connection"), limit=20)]
    ev = read_events(events_path)
    row["events"] = ev
    (a.work / f"{name}.samples.json").write_text(json.dumps(samples))

    # --- what the study says ---------------------------------------------------------------
    summary_path = study / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    expected = n * steps  # one message per (client rank, step): one field, one server rank, >= 1 cell each
    if rc != 0:
        row["errors"].append(f"the launcher exited {rc}")
    if summary is None:
        row["errors"].append("no summary.json")
    else:
        counters = summary["counters"]
        dropped = {k: v for k, v in counters.items() if k not in ("messages", "bytes", "accepted") and v}
        row["summary"] = {"finished": summary["finished"], "failed": summary["failed"],
                          "simulations": summary["simulations"], "accepted": counters["accepted"],
                          "expected": expected, "dropped": dropped, "exit_code": summary["exit_code"],
                          "ingest": summary.get("ingest"), "errors": summary.get("errors")}
        if summary["finished"] != 1 or summary["failed"]:
            row["errors"].append(f"finished {summary['finished']}/1, failed {summary['failed']}")
        if counters["accepted"] != expected:
            row["errors"].append(f"accepted {counters['accepted']} of {expected} messages")
        if dropped:
            row["errors"].append(f"dropped {dropped}")
    if not row["errors"]:
        row["mean_check"] = check_mean(study, steps, n * a.cells_per_rank)
        if row["mean_check"] != "ok":
            row["errors"].append(row["mean_check"])
    if row["errors"]:
        row["launcher_log"] = log_excerpt(log_path)
        row["server_log"] = log_excerpt(study / "server.rank0.log")
        row["client_log"] = log_excerpt(study / "client_logs" / "simulation.0.err")

    # --- the measurements -------------------------------------------------------------------
    if not all(k in ev for k in ("handshake", "connect_start", "connected", "ingest_start")) or not samples:
        row["errors"].append("the driver did not reach every phase (reached: " + (", ".join(ev) or "none") + ")")
        return row
    base = window(samples, ev["handshake"]["time"] + 0.1, ev["connect_start"]["time"])
    if not base:
        base = [s for s in samples if s["t"] <= ev["connect_start"]["time"]][-1:]
    idle = window(samples, ev["connected"]["time"] + 0.1, ev["ingest_start"]["time"])
    row["samples"] = {"baseline": len(base), "connected": len(idle), "total": len(samples)}
    row["baseline"] = {k: summarize(base, k) for k in ("fds", "rss_kib", "conns", "threads")}
    row["connected"] = {k: summarize(idle, k) for k in ("fds", "rss_kib", "conns", "threads")}
    row["peak"] = {"fds": max(s["fds"] for s in samples), "rss_kib": max(s["rss_kib"] for s in samples),
                   "hwm_kib": samples[-1]["hwm_kib"], "conns": max(s["conns"] for s in samples)}
    after = [s for s in samples if "closed" in ev and s["t"] >= ev["closed"]["time"] + 0.2]
    if after:
        row["after_close"] = {"fds": after[-1]["fds"], "conns": after[-1]["conns"], "rss_kib": after[-1]["rss_kib"]}
    conns = n
    b, c = row["baseline"], row["connected"]
    if base and idle:
        row["per_connection"] = {
            "fds": (c["fds"] - b["fds"]) / conns,
            "rss_kib": (c["rss_kib"] - b["rss_kib"]) / conns,
        }
    # Server CPU while the connections came up (CURVE handshakes, ZAP, step 0 of each).
    before = [s for s in samples if s["t"] <= ev["connect_start"]["time"]]
    upto = [s for s in samples if s["t"] >= ev["connected"]["time"]]
    connected = ev["connected"]
    row["connect"] = {
        "handshake_ms": (ev["handshake"]["time"] - ev["start"]["time"]) * 1000,
        "seconds": connected["seconds"], "p50": connected["p50"], "p90": connected["p90"],
        "p99": connected["p99"], "max": connected["max"], "slower_than_1s": connected["after_1s"],
        "ms_per_1000": connected["seconds"] / conns * 1000 * 1000,
        "server_cpu_seconds": (upto[0]["cpu"] - before[-1]["cpu"]) if before and upto else None,
        "server_cpu_ms_per_connection": ((upto[0]["cpu"] - before[-1]["cpu"]) / conns * 1000) if before and upto else None,
        "driver_fds": connected["fds"], "driver_rss_kib": connected["rss_kib"],
        "driver_cpu_seconds": connected["cpu"] - ev["connect_start"]["cpu"],
        "listen_overflows": (upto[0]["listen_overflows"] - before[-1]["listen_overflows"]) if before and upto else None,
        "listen_drops": (upto[0]["listen_drops"] - before[-1]["listen_drops"]) if before and upto else None,
    }
    seen = [s for s in samples if s["t"] >= ev["connect_start"]["time"] and s["conns"] >= conns]
    row["connect"]["server_sees_all_tcp_after"] = (seen[0]["t"] - ev["connect_start"]["time"]) if seen else None
    if row.get("summary") and row["summary"]["ingest"] and "ingest_sent" in ev:
        ingest = row["summary"]["ingest"]
        message_bytes = HEADER + 8 * a.cells_per_rank
        messages = ev["ingest_sent"]["messages"]
        seconds = ingest["last_message_unix"] - ev["ingest_start"]["time"]
        # Server CPU from the last sample before the phase to the first after its last message
        # (the server is idle around it: its poll loop costs nothing measurable).
        pre = [s for s in samples if s["t"] <= ev["ingest_start"]["time"]]
        post = [s for s in samples if s["t"] >= ingest["last_message_unix"]]
        cpu = (post[0]["cpu"] - pre[-1]["cpu"]) if pre and post else None
        row["ingest"] = {
            "messages": messages, "bytes": messages * message_bytes, "message_bytes": message_bytes,
            "seconds": seconds, "messages_per_second": messages / seconds if seconds > 0 else None,
            "mb_per_second": messages * message_bytes / seconds / 1e6 if seconds > 0 else None,
            "driver_send_seconds": ev["ingest_sent"]["time"] - ev["ingest_start"]["time"],
            "driver_cpu_seconds": ev["ingest_sent"]["cpu"] - ev["ingest_start"]["cpu"],
            "server_cpu_seconds": cpu,
            "server_cpu_us_per_message": cpu / messages * 1e6 if cpu is not None and messages else None,
        }
    return row


def check_mean(study, steps, cells):
    """The server's mean (one simulation: the values themselves) against what the driver sent."""
    try:
        import netCDF4
        import numpy as np
    except ImportError:
        return "ok"  # nothing to check with
    with netCDF4.Dataset(study / "results" / "f0.nc") as ds:
        ds.set_auto_mask(False)
        mean = np.array(ds["mean"][...])
    want = np.array([[value(0, t, 0, c) for c in range(cells)] for t in range(steps)])
    if mean.shape != want.shape:
        return f"mean has shape {mean.shape}, expected {want.shape}"
    bad = mean != want
    if bad.any():
        t, c = np.argwhere(bad)[0]
        return f"mean[step {t}, cell {c}] = {mean[t, c]!r}, expected {want[t, c]!r} ({int(bad.sum())} cells differ)"
    return "ok"


def binary_identity(path):
    """sha256 prefix and mtime of an installed binary: the build in <prefix> can change between runs."""
    import datetime
    import hashlib
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        mtime = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
        return f"sha256:{digest} ({mtime:%Y-%m-%dT%H:%M:%SZ})"
    except OSError as error:
        return f"unreadable: {error}"


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def marginal(rows, key):
    """Least-squares slope of connected[key] against the number of connections (per connection),
    over the rows that succeeded: the cost of one more connection, without the fixed part."""
    points = [(r["connections"], r["connected"][key]) for r in rows if not r["errors"] and r.get("connected")]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def print_table(rows):
    print()
    print("Connection budget: one melissa-server rank; one driver process plays N client ranks "
          "(one PUSH connection each)")
    print(f"{'N':>6} {'ESTAB':>6} {'fds idle->conn':>15} {'fd/conn':>7} {'RSS MiB idle->conn':>19} "
          f"{'KiB/conn':>8} {'peak MiB':>8} {'connect s':>9} {'p50/p99 s':>10} {'ovfl':>5} "
          f"{'srv ms/conn':>11} {'ingest msg/s':>12} {'srv us/msg':>10}  status")
    mib = lambda k: None if k is None else k / 1024
    for r in rows:
        b, c, p = r.get("baseline", {}), r.get("connected", {}), r.get("peak", {})
        per, con, ing = r.get("per_connection", {}), r.get("connect", {}), r.get("ingest", {})
        status = "ok" if not r["errors"] else "FAILED"
        print(f"{r['ranks']:>6} {fmt(c.get('conns'), '.0f'):>6} "
              f"{fmt(b.get('fds'), '.0f') + ' -> ' + fmt(c.get('fds'), '.0f'):>15} {fmt(per.get('fds'), '.2f'):>7} "
              f"{fmt(mib(b.get('rss_kib')), '.1f') + ' -> ' + fmt(mib(c.get('rss_kib')), '.1f'):>19} "
              f"{fmt(per.get('rss_kib'), '.1f'):>8} {fmt(mib(p.get('hwm_kib')), '.1f'):>8} "
              f"{fmt(con.get('seconds'), '.3f'):>9} "
              f"{fmt(con.get('p50'), '.2f') + '/' + fmt(con.get('p99'), '.2f'):>10} "
              f"{fmt(con.get('listen_overflows'), 'd'):>5} {fmt(con.get('server_cpu_ms_per_connection'), '.2f'):>11} "
              f"{fmt(ing.get('messages_per_second'), '.0f'):>12} {fmt(ing.get('server_cpu_us_per_message'), '.1f'):>10}  {status}")
    slopes = {k: marginal(rows, k) for k in ("fds", "rss_kib")}
    if slopes["fds"] is not None:
        print(f"marginal cost (least squares over the N that succeeded): {slopes['fds']:.3f} fd and "
              f"{slopes['rss_kib']:.1f} KiB RSS per connection")
    print("ESTAB: ESTABLISHED TCP connections to the data port with all N connected; idle: the server after the "
          "handshake, before any data connection; conn: all N connected and idle (medians of the samples);")
    print("fd/conn, KiB/conn: (conn - idle) / connections (KiB/conn includes the fixed cost of the first data, "
          "see the marginal cost); peak: VmHWM at the end (ingest included);")
    print("connect s: driver's first connect() to the last connection through its CURVE/PLAIN handshake (p50/p99 "
          "per connection); ovfl: the kernel's ListenOverflows meanwhile (SYNs dropped because the data socket's "
          "accept queue was full: the client retries 1 s, 3 s, ... later);")
    print("srv ms/conn: server CPU while connecting, per connection; ingest msg/s: the steps after the hold, to "
          "the server's last accepted message (bounded by the one Python sender); srv us/msg: server CPU per message")
    for r in rows:
        if r["errors"]:
            print(f"\nN = {r['ranks']}: " + "; ".join(r["errors"]))
            for name in ("server_log", "client_log", "launcher_log"):
                if r.get(name):
                    print(f"  {name}:")
                    for line in r[name][-15:]:
                        print("    " + line)


def positive_list(text):
    values = [int(x) for x in text.split(",") if x]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated positive integers")
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--launcher", required=True, help="melissa-launcher (its melissa-server beside it)")
    ap.add_argument("--python", default=sys.executable, help="python with pyzmq for driver.py")
    ap.add_argument("--work", required=True, type=pathlib.Path)
    ap.add_argument("--ranks", type=positive_list, default=[100, 1000, 4000], help="client ranks N, comma-separated")
    ap.add_argument("--short", action="store_true", help="N = 50,200, fewer messages, shorter pauses (the test suite)")
    ap.add_argument("--cells-per-rank", type=int, default=4, help="cells of each emulated rank's slice")
    ap.add_argument("--messages", type=int, default=200000,
                    help="about this many messages in the ingest phase (steps = ceil(messages / N) + 1, at least 3)")
    ap.add_argument("--port", type=int, default=30700, help="first port (10 per N: connection, data, launcher)")
    ap.add_argument("--plain", action="store_true", help="data_encryption false (PLAIN data sockets)")
    ap.add_argument("--server-nofile", default="",
                    help="SOFT[:HARD] RLIMIT_NOFILE for the launcher, mpirun and the server (default: inherit)")
    ap.add_argument("--settle", type=float, default=1.0, help="idle seconds after the handshake (baseline)")
    ap.add_argument("--hold", type=float, default=1.5, help="idle seconds with every connection up")
    ap.add_argument("--period", type=float, default=0.05, help="sampling period, seconds")
    ap.add_argument("--timeout", type=float, default=600, help="per N: stop the study after this many seconds")
    ap.add_argument("--json", type=pathlib.Path, help="also write the rows here")
    a = ap.parse_args()
    if a.short:
        if a.ranks == [100, 1000, 4000]:
            a.ranks = [50, 200]
        a.messages, a.settle, a.hold = min(a.messages, 2000), 0.8, 1.0
    if a.server_nofile:
        soft, _, hard = a.server_nofile.partition(":")
        a.server_nofile = (int(soft), int(hard) if hard else 0)
    a.work = a.work.resolve()
    a.work.mkdir(parents=True, exist_ok=True)
    binaries = {name: binary_identity(pathlib.Path(a.launcher).with_name(name))
                for name in ("melissa-launcher", "melissa-server")}
    print("binaries: " + ", ".join(f"{k} {v}" for k, v in binaries.items()), flush=True)
    rows = []
    for index, n in enumerate(a.ranks):
        row = run_one(a, index, n)
        row["binaries"] = binaries
        rows.append(row)
        c = row.get("connected", {})
        print(f"N = {n}: {'ok' if not row['errors'] else 'FAILED'}; server fds {row.get('baseline', {}).get('fds')} -> "
              f"{c.get('fds')}, ESTABLISHED {c.get('conns')}, connect {fmt(row.get('connect', {}).get('seconds'), '.3f')} s",
              flush=True)
        if a.json:
            a.json.write_text(json.dumps(rows, indent=1))
    print_table(rows)
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
