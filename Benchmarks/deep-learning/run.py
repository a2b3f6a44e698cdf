"""Deep-learning benchmark: samples per second reaching the trainer in a real study, against
the ceiling of a plain PyTorch loop over the same tensors in memory (ceiling.py), at the
heat2d surrogate's sample size (256 values, 2 KiB) and at 1 MiB samples; and the server
rank's peak memory against its buffer (`buffer_size` samples).

The study: melissa-launcher, one server rank, synthetic Python clients (client.py) that send
their steps as fast as they can, `pseudo_epochs` > 1 with a FIRO buffer holding every sample:
all data arrives first, then the trainer trains `pseudo_epochs` passes fed by the server rank.
So the measured phase is the data path alone (buffer, feeder thread, trainer protocol, batch
decoding) with nothing else running: the "data arrives fast enough" case. Our rate is taken
between the trainer's first and last loss report (results/training.json), after warm-up.

Usage: run.py [--short] [--prefix DIR] [--work DIR] [--json FILE]
"""
import argparse
import datetime
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# name, values per sample, simulations, steps, batch size, pseudo-epochs
CASES = {
    "full": [("2KiB", 256, 40, 50, 32, 20), ("1MiB", 131072, 8, 16, 8, 6)],
    "short": [("2KiB", 256, 4, 25, 16, 4), ("1MiB", 131072, 2, 8, 4, 3)],
}


def server_pids(config):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if f"melissa-server {config}".encode() in f.read().replace(b"\0", b" "):
                        out.append(int(entry))
            except OSError:
                pass
    return out


def peak_rss(pid):
    """VmHWM (peak resident set) in bytes, or 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_case(name, values, sims, steps, batch, epochs, prefix, work, port):
    directory = work / name
    if (directory / "study").exists():
        shutil.rmtree(directory / "study")  # the benchmark's own scratch directory
    directory.mkdir(parents=True, exist_ok=True)
    samples = sims * steps
    # About eight loss reports over the run: the rate is taken between the first and the last.
    update = max(1, -(-samples // batch) * epochs // 8)
    python = sys.executable
    cfg = {
        "output_dir": str(directory / "study"),
        "server_class": "deep-learning",
        "study_options": {"field_names": ["f0"], "parameter_sweep_size": sims, "nb_parameters": 2,
                          "nb_time_steps": steps, "seed": 1, "l_bounds": [0, 0], "u_bounds": [1, 1],
                          "verbosity": 1, "simulation_timeout": 120},
        "dl_config": {"model_file": str(HERE / "model.py"), "python": python, "buffer": "FIRO",
                      "buffer_size": samples, "per_server_watermark": batch, "batch_size": batch,
                      "pseudo_epochs": epochs, "nb_batches_update": update, "user": {"cells": values}},
        "launcher_config": {"scheduler": "openmpi", "scheduler_arg_client": ["-n", "1"],
                            "scheduler_arg_server": ["-n", "1"], "job_limit": 2, "timer_delay": 0.1},
        "client_config": {"executable_command": python,
                          "command_default_args": [str(HERE / "client.py"), str(values), str(steps)],
                          "preprocessing_commands": [f"export PYTHONPATH={prefix}/lib/python"]},
        "server_config": {"connection_port": port, "data_port": port + 100},
    }
    config = directory / "study.json"
    config.write_text(json.dumps(cfg, indent=1))
    peak = {"rss": 0, "cpu": []}
    stop = threading.Event()
    ticks = os.sysconf("SC_CLK_TCK")

    def sample_memory():
        while not stop.is_set():
            total, pids = 0.0, server_pids(config)
            for pid in pids:
                peak["rss"] = max(peak["rss"], peak_rss(pid))
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    # utime and stime (fields 14 and 15 of stat), every thread of the process.
                    total += (int(fields[11]) + int(fields[12])) / ticks
                except (OSError, IndexError, ValueError):
                    pass
            if pids:  # mpirun and the server rank (its trainer is not counted)
                peak["cpu"].append((time.time(), total))
            time.sleep(0.05)

    watcher = threading.Thread(target=sample_memory, daemon=True)
    watcher.start()
    done = subprocess.run([str(prefix / "bin" / "melissa-launcher"), str(config)], capture_output=True,
                          text=True, timeout=1800, stdin=subprocess.DEVNULL)
    stop.set()
    watcher.join()
    if done.returncode != 0:
        sys.exit(f"{name}: the study failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    training = json.loads((directory / "study" / "results" / "training.json").read_text())
    reports = training["losses"]
    if len(reports) < 2:
        sys.exit(f"{name}: fewer than two loss reports: {reports}")
    first, last = reports[0], reports[-1]
    ours = (last["samples"] - first["samples"]) / (last["elapsed"] - first["elapsed"])
    batches = training["batches_per_rank"][0]
    # The ceiling three times, the median: this machine's speed varies by tens of percent.
    ceilings = []
    for _ in range(3):
        ceiling_run = subprocess.run([python, str(HERE / "ceiling.py"), str(HERE / "model.py"), str(values),
                                      str(samples), str(batch), str(batches), str(steps)], capture_output=True,
                                     text=True, env={**os.environ, "PYTHONPATH": str(prefix / "lib" / "python")},
                                     check=True)
        ceilings.append(json.loads(ceiling_run.stdout)["samples_per_second"])
    ceiling = sorted(ceilings)[1]
    # The trainer's own split of its loop: asking for batches (data path and waiting for data,
    # the streaming phase included) against training steps.
    split = re.search(r"time: ([\d.]+) s asking for batches \(([\d.]+) s of it after the first step\), "
                      r"([\d.]+) s in training steps", (directory / "study" / "trainer.rank0.log").read_text())
    # The server rank's CPU time over the training phase (first to last loss report, from the
    # log's timestamps): what feeding the trainer costs, per GB of samples served.
    log = (directory / "study" / "server.rank0.log").read_text()
    stamps = [datetime.datetime.fromisoformat(m.replace("Z", "+00:00")).timestamp()
              for m in re.findall(r"^(\S+) \[rank 0\] INFO training: batch", log, re.M)]
    cpu = None
    if len(stamps) >= 2:
        before = [c for t, c in peak["cpu"] if t <= stamps[0]]
        after = [c for t, c in peak["cpu"] if t >= stamps[-1]]
        if before and after:
            cpu = after[0] - before[-1]
    served_gb = (last["samples"] - first["samples"]) * values * 8 / 1e9
    sample_bytes = (values + 2) * 8
    buffer_bytes = samples * sample_bytes
    return {"case": name, "sample_bytes": values * 8, "samples": samples, "batch_size": batch,
            "pseudo_epochs": epochs, "batches": batches, "ours_samples_per_second": ours,
            "ceiling_samples_per_second": ceiling, "ratio": ours / ceiling,
            "ceiling_runs": ceilings,
            "trainer_seconds_asking": float(split.group(1)) if split else None,
            "trainer_seconds_stalled": float(split.group(2)) if split else None,
            "trainer_seconds_training": float(split.group(3)) if split else None,
            "server_cpu_seconds_training_phase": cpu,
            "server_cpu_seconds_per_gb": cpu / served_gb if cpu is not None and served_gb > 0 else None,
            "server_peak_rss_bytes": peak["rss"], "buffer_bytes": buffer_bytes,
            "rss_minus_buffer_bytes": peak["rss"] - buffer_bytes}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="small cases (seconds), as the test suite runs it")
    parser.add_argument("--prefix", default=str(ROOT / "build"))
    parser.add_argument("--work", default="/tmp/melissa-bench-dl")
    parser.add_argument("--json", help="also write the results to this file")
    o = parser.parse_args(argv)
    prefix, work = pathlib.Path(o.prefix), pathlib.Path(o.work)
    results = []
    for i, case in enumerate(CASES["short" if o.short else "full"]):
        results.append(run_case(*case, prefix, work, 23003 + 10 * i))
    print(f"{'case':6} {'samples/s ours':>15} {'ceiling':>10} {'ratio':>6} {'stalled %':>9} {'server CPU s/GB':>15}"
          f" {'peak RSS MiB':>13} {'buffer MiB':>11} {'RSS-buffer MiB':>15}")
    for r in results:
        stalled = r["trainer_seconds_stalled"]
        busy = (stalled or 0) + (r["trainer_seconds_training"] or 0)
        stalled_pct = f"{100 * stalled / busy:9.1f}" if stalled is not None and busy > 0 else f"{'n/a':>9}"
        per_gb = r["server_cpu_seconds_per_gb"]
        print(f"{r['case']:6} {r['ours_samples_per_second']:15.0f} {r['ceiling_samples_per_second']:10.0f} {r['ratio']:6.2f}"
              f" {stalled_pct} {per_gb if per_gb is None else round(per_gb, 2):>15}"
              f" {r['server_peak_rss_bytes'] / 2**20:13.1f} {r['buffer_bytes'] / 2**20:11.1f}"
              f" {r['rss_minus_buffer_bytes'] / 2**20:15.1f}")
    if o.json:
        pathlib.Path(o.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
