"""Ingest benchmark driver (Benchmarks/ingest/run.sh builds and calls it; see there for usage).

For each message size it runs, one after the other on this machine:
  raw     libzmq PUSH -> PULL between two processes (melissa-bench-ingest raw-push/raw-pull),
          the same number of messages of the same size: the ceiling;
  raw-nm  the same, in our study's shape: N pushers, each sending to M pullers in turn;
  ours    a real study through melissa-launcher: N synthetic clients (melissa-bench-ingest client,
          the real client library, one rank each) streaming to melissa-server under mpirun -np M
          with mean and variance on; the rate is summary.json's `ingest` section (first to last
          accepted message); data sockets CURVE-encrypted (the default);
  ours-plain  the same study with server_config.data_encryption false (PLAIN: authenticated,
          not encrypted), so ours/ours-plain is what encryption costs;
  ref     the same N clients streaming to reference_server.py (pyzmq + numpy + iterative-stats,
          M processes as M ranks);
checks that ours and ref computed the exact mean and variance of what the clients sent (and
that ours accepted every message and dropped none), and prints GB/s, CPU per GB, page faults
per message and the ratios.
"""
import argparse
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import time

import numpy as np

HEADER = 48
SIDES = ("raw", "raw-nm", "ours", "ours-plain", "ref")
SERVER_RANKS = 2  # the setting: the default of --server-ranks


def base_values(sims, field, global_size):
    """(sims, G) values every step sends (main.swift's baseValue)."""
    s = np.arange(sims, dtype=np.float64)[:, None]
    i = np.arange(global_size)[None, :]
    return (s % 7) + field * 0.25 + (i % 13) * 0.125


def expected_statistics(sims, field, global_size, steps, ddof):
    """Exact (T, G) mean and variance of what the clients send: the base pattern, with cell
    step % G holding sim * 2 + step % 5 (main.swift's markerValue)."""
    base = base_values(sims, field, global_size)
    mean = np.tile(base.mean(axis=0), (steps, 1))
    var = np.tile(base.var(axis=0, ddof=ddof), (steps, 1))
    s = np.arange(sims, dtype=np.float64)
    for t in range(steps):
        markers = s * 2 + t % 5
        mean[t, t % global_size] = markers.mean()
        var[t, t % global_size] = markers.var(ddof=ddof) if sims > ddof else 0.0
    return mean, var


def check_statistics(who, mean, var, sims, field, steps, global_size, ddof):
    want_mean, want_var = expected_statistics(sims, field, global_size, steps, ddof)
    for name, got, want in (("mean", mean, want_mean), ("variance", var, want_var)):
        if got.shape != want.shape:
            sys.exit(f"CHECK FAILED: {who} field f{field} {name} has shape {got.shape}, expected {want.shape}")
        bad = ~np.isclose(got, want, rtol=1e-12, atol=1e-12)
        if bad.any():
            t, c = np.argwhere(bad)[0]
            sys.exit(f"CHECK FAILED: {who} field f{field} {name}[step {t}, cell {c}] = {got[t, c]!r}, "
                     f"expected {want[t, c]!r} ({int(bad.sum())} cells differ)")


def clean_env():
    """This environment (run.sh sourced Scripts/mpi-env.sh into it) without the variables of an
    enclosing mpirun job, which would make the clients' MPI_Init join that job."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_COMM_WORLD", "PMIX_"))}


def wait_ready(proc, what):
    """Waits for the process's "ready [endpoint]" line; returns the endpoint, if any."""
    words = proc.stdout.readline().split()
    if not words or words[0] != "ready":
        proc.kill()
        sys.exit(f"{what} did not start: {' '.join(words)!r}")
    return words[1] if len(words) > 1 else None


def run_raw(bench, messages, size):
    # Pullers bind a free port and say which: no fixed port to collide with.
    pull = subprocess.Popen([bench, "raw-pull", "--bind", "tcp://127.0.0.1:*", "--messages", str(messages)],
                            stdout=subprocess.PIPE, text=True)
    endpoint = wait_ready(pull, "raw-pull")
    subprocess.run([bench, "raw-push", "--connect", endpoint, "--messages", str(messages),
                    "--size", str(size)], check=True, timeout=600)
    out, _ = pull.communicate(timeout=600)
    if pull.returncode != 0:
        sys.exit(f"raw-pull failed with {pull.returncode}")
    r = json.loads(out.strip().splitlines()[-1])
    if r["messages"] != messages or r["bytes"] != messages * size:
        sys.exit(f"CHECK FAILED: raw-pull received {r}, expected {messages} messages of {size} bytes")
    return {"messages": r["messages"], "bytes": r["bytes"], "seconds": r["seconds"],
            "receiver_cpu_seconds_per_gb": per_gb(r["cpu_seconds"], r["cpu_bytes"])}


def run_raw_topology(bench, pushers, pullers, messages, size):
    """Raw libzmq in our study's shape: `pushers` processes, each with one PUSH socket per
    puller sent to in turn, into `pullers` PULL processes (the ceiling for that topology)."""
    per_pusher = messages // pushers
    pulls, bound = [], []
    for _ in range(pullers):
        p = subprocess.Popen([bench, "raw-pull", "--bind", "tcp://127.0.0.1:*",
                              "--messages", str(messages // pullers)], stdout=subprocess.PIPE, text=True)
        bound.append(wait_ready(p, "raw-pull"))
        pulls.append(p)
    endpoints = ",".join(bound)
    pushes = [subprocess.Popen([bench, "raw-push", "--connect", endpoints, "--messages", str(per_pusher),
                                "--size", str(size)]) for _ in range(pushers)]
    for p in pushes:
        if p.wait(timeout=600) != 0:
            sys.exit("raw-push failed")
    windows = []
    for p in pulls:
        out, _ = p.communicate(timeout=600)
        if p.returncode != 0:
            sys.exit(f"raw-pull failed with {p.returncode}")
        windows.append(json.loads(out.strip().splitlines()[-1]))
    # The pullers ran side by side: the slowest one's window bounds the whole transfer.
    return {"messages": sum(w["messages"] for w in windows), "bytes": sum(w["bytes"] for w in windows),
            "seconds": max(w["seconds"] for w in windows),
            "receiver_cpu_seconds_per_gb": per_gb(sum(w["cpu_seconds"] for w in windows),
                                                  sum(w["cpu_bytes"] for w in windows))}


def run_ours(a, work, size, steps, values, ports, encrypted=True):
    name = "ours" if encrypted else "ours-plain"
    study = work / f"{name}-{size}"
    if study.exists():
        shutil.rmtree(study)  # the launcher refuses to overwrite a study, rightly
    config = {
        "output_dir": str(study),
        "study_options": {
            "field_names": [f"f{f}" for f in range(a.fields)],
            "parameter_sweep_size": a.simulations, "nb_parameters": 1, "nb_time_steps": steps,
            "l_bounds": [0.0], "u_bounds": [1.0], "verbosity": 1, "simulation_timeout": 120,
            "zmq_hwm": a.server_hwm,
        },
        "sa_config": {"mean": True, "variance": True},
        "launcher_config": {
            "scheduler": "openmpi", "scheduler_arg_client": ["-n", "1"],
            "scheduler_arg_server": ["-n", str(a.server_ranks)], "job_limit": a.job_limit or a.simulations,
            "timer_delay": 0.05, "server_timeout": 120, "fault_tolerance": False,
        },
        "client_config": {
            "executable_command": a.bench,
            "command_default_args": ["client", "--fields", str(a.fields), "--values", str(values),
                                     "--steps", str(steps), "--start-at", str(time.time() + a.start_delay)],
        },
        "server_config": {"connection_port": ports[0], "data_port": ports[1], "data_encryption": encrypted},
    }
    path = work / f"{name}-{size}.json"
    path.write_text(json.dumps(config, indent=2))
    env = clean_env()
    if a.server_delay_us:
        env["MELISSA_FAULT_INGEST_DELAY_US"] = str(a.server_delay_us)
    if a.client_hwm:
        env["MELISSA_ZMQ_HWM"] = str(a.client_hwm)
    log = work / f"{name}-{size}.launcher.log"
    with open(log, "w") as out:
        launcher = subprocess.Popen([a.launcher, str(path)], stdout=out, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL)
        samples = sample_server_rss(launcher, str(path), a.server_ranks) if a.rss else []
        rc = launcher.wait(timeout=3600)
    if rc != 0:
        sys.exit(f"CHECK FAILED: the study exited {rc}; see {log}\n" + log.read_text()[-3000:])
    summary = json.loads((study / "summary.json").read_text())
    counters = summary["counters"]
    expected = a.simulations * a.fields * steps * a.server_ranks
    dropped = {k: v for k, v in counters.items() if k not in ("messages", "bytes", "accepted") and v}
    if counters["accepted"] != expected or dropped or summary["finished"] != a.simulations:
        sys.exit(f"CHECK FAILED: {name} accepted {counters['accepted']} of {expected} messages, dropped {dropped}, "
                 f"finished {summary['finished']}/{a.simulations}")
    import netCDF4
    for f in range(a.fields):
        with netCDF4.Dataset(study / "results" / f"f{f}.nc") as ds:
            ds.set_auto_mask(False)
            check_statistics(name, np.array(ds["mean"][...]), np.array(ds["variance"][...]),
                             a.simulations, f, steps, values, ddof=1)
    ingest = summary["ingest"]
    if samples:
        (work / f"{name}-{size}.rss.json").write_text(json.dumps(samples))
    return {"messages": ingest["messages"], "bytes": ingest["bytes"], "seconds": ingest["seconds"],
            # Absent until a rank has taken 256 messages (docs/RESULTS.md).
            "receiver_cpu_seconds_per_gb": ingest.get("cpu_seconds_per_gb"),
            "rss": rss_report(samples, ingest) if samples else None}


def server_pids(config_path):
    """Pids of the melissa-server ranks running `config_path` (their command line names it)."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) >= 2 and argv[0].endswith(b"melissa-server") and argv[1] == config_path.encode():
            pids.append(int(entry.name))
    return pids


def rss_bytes(pid):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def sample_server_rss(launcher, config_path, ranks, period=0.05):
    """(wall time, summed RSS of the server ranks) every `period` s while the launcher runs."""
    samples = []
    pids = []
    while launcher.poll() is None:
        if len(pids) < ranks:
            pids = server_pids(config_path)
        values = [rss_bytes(p) for p in pids]
        if pids and all(v is not None for v in values):
            samples.append((time.time(), sum(values)))
        time.sleep(period)
    return samples


def rss_report(samples, ingest):
    """The server's RSS over the ingest window: after warm-up (the first 10 % of the window),
    at the end of the window, and the most it reached while data came in."""
    first, last = ingest.get("first_message_unix"), ingest.get("last_message_unix")
    inside = [(t, r) for t, r in samples if first is not None and first <= t <= last]
    if len(inside) < 3:
        return None
    warm = first + 0.1 * (last - first)
    after_warmup = next(r for t, r in inside if t >= warm)
    return {"after_warmup": after_warmup, "end": inside[-1][1], "max": max(r for _, r in inside),
            "end_over_warmup": inside[-1][1] / after_warmup}


def run_reference(a, work, size, steps, values, ports):
    out = work / f"ref-{size}"
    out.mkdir(exist_ok=True)
    env = clean_env()
    ranks = []
    for r in range(a.server_ranks):
        p = subprocess.Popen([a.python, str(pathlib.Path(__file__).with_name("reference_server.py")),
                              "--rank", str(r), "--ranks", str(a.server_ranks), "--connection-port", str(ports[0]),
                              "--data-port", str(ports[1]), "--fields", str(a.fields), "--steps", str(steps),
                              "--simulations", str(a.simulations), "--out", str(out)],
                             stdout=subprocess.PIPE, text=True, env=env)
        wait_ready(p, f"reference rank {r}")
        ranks.append(p)
    clients = []
    start_at = time.time() + a.start_delay
    for sim in range(a.simulations):
        cenv = dict(env, MELISSA_SIMU_ID=str(sim), MELISSA_SERVER_ADDRESS=f"tcp://127.0.0.1:{ports[0]}")
        clients.append(subprocess.Popen(["mpirun", "-n", "1", a.bench, "client", "--fields", str(a.fields),
                                         "--values", str(values), "--steps", str(steps),
                                         "--start-at", str(start_at)],
                                        env=cenv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
    for c in clients:
        if c.wait(timeout=3600) != 0:
            sys.exit(f"a client of the reference server exited {c.returncode}")
    results = []
    for r, p in enumerate(ranks):
        text, _ = p.communicate(timeout=3600)
        if p.returncode != 0:
            sys.exit(f"reference rank {r} exited {p.returncode}")
        results.append(json.loads(text.strip().splitlines()[-1]))
    for f in range(a.fields):
        mean = np.concatenate([np.load(out / f"reference_mean.rank{r}.npy")[f] for r in range(a.server_ranks)], axis=1)
        var = np.concatenate([np.load(out / f"reference_variance.rank{r}.npy")[f] for r in range(a.server_ranks)], axis=1)
        check_statistics("reference", mean, var, a.simulations, f, steps, values, ddof=0)
    first = min(r["first"] for r in results)
    last = max(r["last"] for r in results)
    return {"messages": sum(r["messages"] for r in results), "bytes": sum(r["bytes"] for r in results),
            "seconds": last - first,
            "receiver_cpu_seconds_per_gb": per_gb(sum(r["cpu_seconds"] for r in results),
                                                  sum(r["cpu_bytes"] for r in results))}


def per_gb(cpu_seconds, cpu_bytes):
    """CPU seconds per GB, or None when nothing was measured."""
    return cpu_seconds / (cpu_bytes / 1e9) if cpu_bytes > 0 else None


def rates(r):
    s = max(r["seconds"], 1e-9)
    return r["bytes"] / s / 1e9, r["messages"] / s


def non_negative_int(text):
    """argparse type: an integer >= 0, refused with the value named."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def positive_int(text):
    """argparse type: an integer >= 1."""
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("0 is not positive")
    return value


def positive_list(text):
    """argparse type: comma-separated integers >= 1."""
    return [positive_int(item) for item in text.split(",")]


def side_list(text):
    """argparse type: comma-separated names among SIDES."""
    names = set(filter(None, text.split(",")))
    unknown = names - set(SIDES)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown side(s) {sorted(unknown)}; the sides are {', '.join(SIDES)}")
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bench", required=True, help="melissa-bench-ingest")
    ap.add_argument("--launcher", required=True, help="melissa-launcher (its melissa-server beside it)")
    ap.add_argument("--python", default=sys.executable, help="python with pyzmq, numpy, iterative-stats")
    ap.add_argument("--work", required=True)
    ap.add_argument("--sizes", type=positive_list, default="1024,65536,1048576",
                    help="payload bytes per message, comma-separated multiples of 8")
    ap.add_argument("--messages", type=positive_list, default="200000,16384,1024",
                    help="messages per size (ours: simulations x fields x steps x server ranks)")
    ap.add_argument("--simulations", type=positive_int, default=8, help="clients streaming at once (>= 2)")
    ap.add_argument("--fields", type=positive_int, default=1)
    ap.add_argument("--skip", type=side_list, default=set(), help="comma-separated sides to skip: " + ", ".join(SIDES))
    ap.add_argument("--port", type=positive_int, default=30500,
                    help="first of the ports our study and the reference use (10 per size); below Linux's "
                         "ephemeral range (32768+), where outgoing connections could take them")
    ap.add_argument("--server-delay-us", type=non_negative_int, default=0, help="slow our server down per message (back-pressure)")
    ap.add_argument("--client-hwm", type=non_negative_int, default=0, help="MELISSA_ZMQ_HWM for our clients")
    ap.add_argument("--server-hwm", type=non_negative_int, default=0, help="study_options.zmq_hwm of our server (0: default)")
    ap.add_argument("--start-delay", type=float, default=3.0,
                    help="clients start streaming together this many seconds after they are started")
    ap.add_argument("--rss", action="store_true", help="sample our server's memory (RSS) during the run")
    ap.add_argument("--job-limit", type=non_negative_int, default=0,
                    help="simulations running at once in our study (default: all); with --start-delay 0 "
                         "a long study of many short simulations")
    ap.add_argument("--server-ranks", type=positive_int, default=SERVER_RANKS, help="server ranks (ours and ref)")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    work = pathlib.Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    sizes, counts = a.sizes, a.messages
    if len(counts) != len(sizes):
        sys.exit("--messages needs one count per --sizes entry")
    if a.simulations < 2:
        sys.exit("--simulations must be at least 2 (the unbiased variance of one sample is undefined)")
    skip = a.skip
    rows = []
    for k, (size, count) in enumerate(zip(sizes, counts)):
        if size % 8:
            sys.exit(f"--sizes: {size} is not a whole number of float64 values")
        per_step = a.simulations * a.fields * a.server_ranks
        steps = max(1, round(count / per_step))
        values = a.server_ranks * size // 8  # per client rank: one message of `size` bytes per server rank
        messages = per_step * steps
        row = {"payload_bytes": size, "message_bytes": size + HEADER, "messages": messages, "steps": steps}
        base = a.port + 10 * k
        sides = {
            "raw": lambda: run_raw(a.bench, messages, size + HEADER),
            "raw-nm": lambda: run_raw_topology(a.bench, a.simulations, a.server_ranks, messages, size + HEADER),
            "ours": lambda: run_ours(a, work, size, steps, values, (base + 3, base + 5)),
            "ours-plain": lambda: run_ours(a, work, size, steps, values, (base + 0, base + 1), encrypted=False),
            "ref": lambda: run_reference(a, work, size, steps, values, (base + 7, base + 8)),
        }
        for side, run in sides.items():
            if side in skip:
                continue
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            row[side] = run()
            # Every process of the side (servers, clients, mpirun, launcher) was waited for, so
            # their CPU time and page faults are in RUSAGE_CHILDREN: costs per byte, whatever
            # the core count and the other load on the machine.
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            row[side]["cpu_seconds"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            row[side]["page_faults"] = after.ru_minflt - before.ru_minflt
        rows.append(row)
        print(f"size {size} B: {messages} messages checked: " + ", ".join(
            f"{side} {rates(row[side])[0]:.3f} GB/s" for side in SIDES if side in row), flush=True)

    print()
    print(f"Ingest: {a.simulations} clients x {a.fields} field(s), 1 rank each -> server of {a.server_ranks} ranks "
          f"(mean + variance). raw: one PUSH -> one PULL process; raw-nm: {a.simulations} PUSH processes -> "
          f"{a.server_ranks} PULL processes, our study's shape; ours: data sockets encrypted (CURVE, the default); "
          f"ours-plain: data_encryption false (PLAIN); ref: the Python reference server. GB/s count the "
          f"48-byte headers too; CPU s/GB: CPU time of every process of the side (clients included) per GB.")
    # ours-plain/ref compares like with like: the reference server encrypts nothing.
    ratios = (("ours", "raw"), ("ours", "raw-nm"), ("ours", "ref"), ("ours-plain", "raw-nm"), ("ours-plain", "ref"),
              ("ours", "ours-plain"))
    widths = [max(9, len(f"{x}/{y}")) for x, y in ratios]
    head = f"{'payload':>9} {'messages':>9} " + " ".join(f"{s + ' GB/s':>15}" for s in SIDES)
    print(head + " " + " ".join(f"{x}/{y}".rjust(w) for (x, y), w in zip(ratios, widths))
          + "   " + " ".join(f"{s + ' CPU s/GB':>19}" for s in SIDES))
    for row in rows:
        line = f"{row['payload_bytes']:>9} {row['messages']:>9} "
        line += " ".join(f"{rates(row[side])[0]:>15.3f}" if side in row else f"{'-':>15}" for side in SIDES)
        for (side, other), width in zip(ratios, widths):
            if side in row and other in row:
                ratio = rates(row[side])[0] / max(rates(row[other])[0], 1e-12)
                row[f"{side}/{other}"] = ratio
                line += f" {ratio:>{width}.2f}"
            else:
                line += f" {'-':>{width}}"
        line += "   " + " ".join(f"{row[side]['cpu_seconds'] / (row[side]['bytes'] / 1e9):>19.2f}"
                                 if side in row else f"{'-':>19}" for side in SIDES)
        print(line)
    print()
    print("Receiver CPU (every thread of the PULL processes or server ranks, first to last message) per GB, "
          "and page faults of every process of the side per message:")
    print(f"{'payload':>9} " + " ".join(f"{s + ' recv s/GB':>20}" for s in SIDES)
          + f" {'ours/raw-nm':>12}   " + " ".join(f"{s + ' faults/msg':>21}" for s in SIDES))
    for row in rows:
        costs = {side: row[side]["receiver_cpu_seconds_per_gb"] for side in SIDES
                 if side in row and row[side].get("receiver_cpu_seconds_per_gb")}
        line = f"{row['payload_bytes']:>9} " + " ".join(
            f"{costs[side]:>20.2f}" if side in costs else f"{'-':>20}" for side in SIDES)
        line += f" {costs['ours'] / costs['raw-nm']:>12.2f}   " if "ours" in costs and "raw-nm" in costs else f" {'-':>12}   "
        line += " ".join(f"{row[side]['page_faults'] / row['messages']:>21.1f}" if side in row else f"{'-':>21}"
                         for side in SIDES)
        print(line)
    rss_rows = [row for row in rows if "ours" in row and row["ours"].get("rss")]
    if rss_rows:
        print()
        print("Our server's memory (RSS, all ranks) over the ingest window:")
        print(f"{'payload':>9} {'after warm-up MB':>17} {'end MB':>9} {'max MB':>9} {'end/warm-up':>12}")
        for row in rss_rows:
            r = row["ours"]["rss"]
            print(f"{row['payload_bytes']:>9} {r['after_warmup'] / 1e6:>17.1f} {r['end'] / 1e6:>9.1f} "
                  f"{r['max'] / 1e6:>9.1f} {r['end_over_warmup']:>12.3f}")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
