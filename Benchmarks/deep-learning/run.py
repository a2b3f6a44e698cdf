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
import json
import os
import pathlib
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
    directory.mkdir(parents=True, exist_ok=True)
    samples = sims * steps
    python = sys.executable
    cfg = {
        "output_dir": str(directory / "study"),
        "server_class": "deep-learning",
        "study_options": {"field_names": ["f0"], "parameter_sweep_size": sims, "nb_parameters": 2,
                          "nb_time_steps": steps, "seed": 1, "l_bounds": [0, 0], "u_bounds": [1, 1],
                          "verbosity": 1, "simulation_timeout": 120},
        "dl_config": {"model_file": str(HERE / "model.py"), "python": python, "buffer": "FIRO",
                      "buffer_size": samples, "per_server_watermark": batch, "batch_size": batch,
                      "pseudo_epochs": epochs, "nb_batches_update": 10, "user": {"cells": values}},
        "launcher_config": {"scheduler": "openmpi", "scheduler_arg_client": ["-n", "1"],
                            "scheduler_arg_server": ["-n", "1"], "job_limit": 2, "timer_delay": 0.1},
        "client_config": {"executable_command": python,
                          "command_default_args": [str(HERE / "client.py"), str(values), str(steps)],
                          "preprocessing_commands": [f"export PYTHONPATH={prefix}/lib/python"]},
        "server_config": {"connection_port": port, "data_port": port + 100},
    }
    config = directory / "study.json"
    config.write_text(json.dumps(cfg, indent=1))
    peak = {"rss": 0}
    stop = threading.Event()

    def sample_memory():
        while not stop.is_set():
            for pid in server_pids(config):
                peak["rss"] = max(peak["rss"], peak_rss(pid))
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
    ceiling_run = subprocess.run([python, str(HERE / "ceiling.py"), str(HERE / "model.py"), str(values), str(samples),
                                  str(batch), str(batches), str(steps)], capture_output=True, text=True,
                                 env={**os.environ, "PYTHONPATH": str(prefix / "lib" / "python")}, check=True)
    ceiling = json.loads(ceiling_run.stdout)["samples_per_second"]
    sample_bytes = (values + 2) * 8
    buffer_bytes = samples * sample_bytes
    return {"case": name, "sample_bytes": values * 8, "samples": samples, "batch_size": batch,
            "pseudo_epochs": epochs, "batches": batches, "ours_samples_per_second": ours,
            "ceiling_samples_per_second": ceiling, "ratio": ours / ceiling,
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
    print(f"{'case':6} {'samples/s ours':>15} {'ceiling':>10} {'ratio':>6} {'peak RSS MiB':>13} {'buffer MiB':>11} {'RSS-buffer MiB':>15}")
    for r in results:
        print(f"{r['case']:6} {r['ours_samples_per_second']:15.0f} {r['ceiling_samples_per_second']:10.0f} {r['ratio']:6.2f}"
              f" {r['server_peak_rss_bytes'] / 2**20:13.1f} {r['buffer_bytes'] / 2**20:11.1f}"
              f" {r['rss_minus_buffer_bytes'] / 2**20:15.1f}")
    if o.json:
        pathlib.Path(o.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
