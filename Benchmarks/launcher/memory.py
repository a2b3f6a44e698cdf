#!/usr/bin/env python3
"""Memory of the launcher and the server over a long study: N short simulations (default
2,000) on the openmpi backend, RSS sampled every 0.5 s; prints the RSS while simulations
100-199 run and while the last 100 run, their ratio (flat = 1.0), and the peak (the server's
comes after the last simulation, when it writes the results).

    Benchmarks/launcher/memory.py [--sims N] [--job-limit J] [--prefix DIR] [--work DIR] [--json FILE]
"""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def server_pids(study):
    """melissa-server processes of this study (by MELISSA_STUDY_DIR in their environment)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != "melissa-server":
                    continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if f"MELISSA_STUDY_DIR={study}".encode() in f.read():
                    out.append(int(entry))
        except OSError:
            pass
    return sorted(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--job-limit", type=int, default=4)
    parser.add_argument("--prefix", default=str(ROOT / "build"))
    parser.add_argument("--work", default="/tmp/melissa-bench-launcher-memory")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.sims < 200:
        parser.error("--sims must be at least 200 (the first 100 are the baseline)")
    work = pathlib.Path(args.work)
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    prefix = pathlib.Path(args.prefix)
    config = {
        "output_dir": str(work / "study"),
        "study_options": {"field_names": ["temperature"], "parameter_sweep_size": args.sims, "nb_parameters": 2,
                          "nb_time_steps": 2, "l_bounds": [0.5, 100.0], "u_bounds": [2.0, 500.0], "seed": 3,
                          "verbosity": 1},
        "sa_config": {"mean": True, "variance": True},
        "launcher_config": {"scheduler": "openmpi", "scheduler_arg_client": ["-n", "1"],
                            "scheduler_arg_server": ["-n", "2"], "job_limit": args.job_limit, "timer_delay": 0.05,
                            "std_output": False, "verbosity": 1},
        "client_config": {"executable_command": str(prefix / "bin" / "heat2d"),
                          "command_default_args": ["--steps", "2", "--nx", "16", "--ny", "16"]},
        "server_config": {"connection_port": 20603, "data_port": 20700},
    }
    (work / "study.json").write_text(json.dumps(config, indent=1))
    start = time.time()
    launcher = subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(work / "study.json")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = [0]
    lines = []

    def reader():
        for line in launcher.stdout:
            lines.append(line)
            m = re.search(r"(\d+)/(\d+) done", line)
            if m:
                done[0] = int(m.group(1))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    samples = []  # (seconds, done, launcher KiB, server KiB summed over ranks)
    while launcher.poll() is None:
        servers = server_pids(work / "study")
        launcher_rss = rss_kib(launcher.pid)
        server_rss = [rss_kib(p) for p in servers]
        if launcher_rss and servers and all(server_rss):
            samples.append((time.time() - start, done[0], launcher_rss, sum(server_rss)))
        time.sleep(0.5)
    thread.join(timeout=5)
    wall = time.time() - start
    if launcher.returncode != 0:
        sys.exit("memory.py: the study failed:\n" + "".join(lines[-30:]))
    summary = json.loads((work / "study" / "summary.json").read_text())
    if summary["finished"] != args.sims:
        sys.exit(f"memory.py: {summary['finished']} of {args.sims} simulations finished")
    early = [s for s in samples if 100 <= s[1] < 200]
    # The last 100 simulations while they run; what the server does after the last one
    # (results file, report, final checkpoint) is its end-of-study peak, reported apart.
    late = [s for s in samples if args.sims - 100 <= s[1] < args.sims]
    if not early or not late:
        sys.exit(f"memory.py: not enough samples ({len(samples)}) to compare early and late")
    first = (max(s[2] for s in early), max(s[3] for s in early))
    last = (max(s[2] for s in late), max(s[3] for s in late))
    peak = (max(s[2] for s in samples), max(s[3] for s in samples))
    print(f"{args.sims} simulations on openmpi (job_limit {args.job_limit}) in {wall:.0f} s "
          f"({args.sims / wall:.1f} simulations/s)")
    print(f"  launcher RSS: {first[0] / 1024:.1f} MiB at 100-199 done, {last[0] / 1024:.1f} MiB in the last 100, "
          f"ratio {last[0] / first[0]:.3f} (peak {peak[0] / 1024:.1f} MiB)")
    print(f"  server RSS (2 ranks): {first[1] / 1024:.1f} MiB at 100-199 done, {last[1] / 1024:.1f} MiB in the last 100, "
          f"ratio {last[1] / first[1]:.3f} (peak {peak[1] / 1024:.1f} MiB)")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({
            "simulations": args.sims, "seconds": wall, "launcher_kib": {"early": first[0], "late": last[0], "peak": peak[0]},
            "server_kib": {"early": first[1], "late": last[1], "peak": peak[1]},
            "launcher_ratio": last[0] / first[0], "server_ratio": last[1] / first[1], "samples": samples}, indent=1))


if __name__ == "__main__":
    main()
