"""Persistent client jobs (client_config.persistent_jobs): a few jobs run every simulation of
the study one after another, each asking the server for the next (melissa_fetch_next_parameters),
so a study needs as many scheduler jobs as it has persistent jobs, not one per simulation. The
statistics equal numpy's on the raw outputs, and a job killed in the middle costs exactly the
simulation it was running."""
import json
import os
import re
import signal
import subprocess

import numpy as np
import pytest

from conftest import base_config, load_results, write_config
from test_restart import pids, wait_for
from test_study import load_dumps


def persistent_config(tmp, prefix, *, sims, steps, jobs, ports, substeps=1, scheduler="openmpi", fault_tolerance=False):
    dump = tmp / "dump"
    dump.mkdir(exist_ok=True)
    cfg = base_config(tmp, sims=sims, steps=steps, executable=prefix / "bin" / "heat2d",
                      args=["--persistent", "--steps", steps, "--nx", 24, "--ny", 15, "--substeps", substeps],
                      job_limit=8, ports=ports, fault_tolerance=fault_tolerance,
                      preprocessing=[f"export HEAT2D_DUMP_DIR={dump}"])
    cfg["client_config"]["persistent_jobs"] = jobs
    launcher = cfg["launcher_config"]
    launcher["scheduler"] = scheduler
    if scheduler == "slurm":
        launcher["timer_delay"] = 0.2
    cfg["study_options"]["crashes_before_redraw"] = 100
    return write_config(tmp, cfg), dump


def assert_matches_numpy(study, dump, sims, steps):
    raw = load_dumps(dump, sims, steps, 2)
    res = load_results(study)
    np.testing.assert_allclose(res["mean"], raw.mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(res["variance"], raw.var(axis=0, ddof=1), rtol=1e-12, atol=1e-300)
    assert (res["count"] == sims).all()


def handed_out(study):
    """(job's simulation, simulation run next) for every hand-out the server logged."""
    log = (study / "server.rank0.log").read_text()
    return [(int(a), int(b)) for a, b in re.findall(r"the persistent job of simulation (\d+) runs simulation (\d+) next", log)]


def test_three_persistent_jobs_run_twelve_simulations(tmp_path, prefix):
    sims, steps, jobs = 12, 8, 3
    config, dump = persistent_config(tmp_path, prefix, sims=sims, steps=steps, jobs=jobs, ports=(21703, 25703))
    done = subprocess.run([str(prefix / "bin" / "melissa-launcher"), str(config)], capture_output=True, text=True,
                          timeout=240, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    study = tmp_path / "study"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    assert summary["counters"]["duplicates"] == 0
    assert_matches_numpy(study, dump, sims, steps)
    # Three jobs ran their own simulation (0, 1, 2) and were handed every other one, once each.
    pairs = handed_out(study)
    assert sorted(b for _, b in pairs) == list(range(jobs, sims)), pairs
    assert {a for a, _ in pairs} <= set(range(jobs)), pairs


def test_a_persistent_job_killed_mid_simulation_costs_only_that_simulation(tmp_path, prefix):
    sims, steps, jobs = 10, 10, 2
    config, dump = persistent_config(tmp_path, prefix, sims=sims, steps=steps, jobs=jobs, ports=(21713, 25713),
                                     substeps=20000, fault_tolerance=True)
    study = tmp_path / "study"
    log = open(tmp_path / "launcher.log", "w")
    launcher = subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        # Once both jobs are past their own simulation, kill one rank of one of them.
        assert wait_for(lambda: (study / "server.rank0.log").exists() and len(handed_out(study)) >= 3, timeout=120), \
            (tmp_path / "launcher.log").read_text()
        victims = [p for p in pids("heat2d --persistent") if "mpirun" not in open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")[0].decode()]
        assert victims, "no heat2d rank found"
        os.kill(victims[0], signal.SIGKILL)
        assert launcher.wait(timeout=240) == 0, (tmp_path / "launcher.log").read_text()
    finally:
        if launcher.poll() is None:
            launcher.kill()
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    assert_matches_numpy(study, dump, sims, steps)
    faults = json.loads((study / "faults.json").read_text())
    # Exactly one simulation was run again: the one the killed job was running.
    assert summary["faults"]["resubmitted"] == 1, (summary["faults"], faults)


@pytest.mark.skipif(os.environ.get("MELISSA_SKIP_SLURM") == "1", reason="MELISSA_SKIP_SLURM=1")
def test_four_persistent_slurm_jobs_run_forty_simulations(tmp_path, prefix):
    sims, steps, jobs = 40, 6, 4
    config, dump = persistent_config(tmp_path, prefix, sims=sims, steps=steps, jobs=jobs, ports=(21723, 25723),
                                     scheduler="slurm")
    launcher = subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
                                env={k: v for k, v in os.environ.items() if k != "SLURM_CONF"})
    out, _ = launcher.communicate(timeout=400)
    assert launcher.returncode == 0, out
    study = tmp_path / "study"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    assert_matches_numpy(study, dump, sims, steps)
    # Slurm's own accounting: 4 client jobs (and the server's), none failed. A job still winding
    # down (MPI_Finalize) when the last data arrived is cancelled with the study's end, as any
    # job is.
    records = subprocess.run(["sacct", "-c", "-X", "-n", "-P", "-o", "JobName,State,ExitCode"], capture_output=True,
                             text=True, check=True, env={k: v for k, v in os.environ.items() if k != "SLURM_CONF"}).stdout
    mine = [line.split("|") for line in records.splitlines() if line.startswith(f"melissa.{launcher.pid}.")]
    clients = [r for r in mine if not r[0].endswith(".server")]
    assert len(clients) == jobs, mine
    assert all(state in ("COMPLETED", "CANCELLED") and code == "0:0" for _, state, code in clients), clients
    assert sum(state == "COMPLETED" for _, state, _ in clients) >= 1, clients
