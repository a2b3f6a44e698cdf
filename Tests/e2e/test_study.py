"""End to end: melissa-launcher starts the server under mpirun over 2 ranks, runs real
heat2d clients under mpirun over 2 ranks, and the results equal numpy's statistics of
the very outputs the clients produced."""
import json
import os
import signal
import subprocess
import time

import numpy as np

from conftest import load_results, run_launcher, study_config


def load_dumps(dump, sims, steps, client_ranks):
    """(sims, steps, cells): each client rank's slice, concatenated in rank order."""
    out = []
    for s in range(sims):
        parts = [np.fromfile(dump / f"heat2d.sim{s}.rank{r}.bin", dtype="<f8").reshape(steps, -1)
                 for r in range(client_ranks)]
        out.append(np.concatenate(parts, axis=1))
    return np.stack(out)


def test_study_matches_numpy(tmp_path, prefix):
    sims, steps = 6, 12
    config, dump = study_config(tmp_path, prefix, sims=sims, steps=steps)
    proc = run_launcher(prefix, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    study = tmp_path / "study"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0
    assert summary["counters"]["duplicates"] == 0 and summary["counters"]["malformed"] == 0

    raw = load_dumps(dump, sims, steps, 2)
    res = load_results(study)
    mean, var, count = res["mean"], res["variance"], res["count"]
    assert mean.shape == raw.shape[1:] == (steps, 24 * 15)
    assert (count == sims).all()
    np.testing.assert_allclose(mean, raw.mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(var, raw.var(axis=0, ddof=1), rtol=1e-12, atol=1e-300)
    # The simulations really differed: the study sampled distinct parameters.
    assert var.max() > 0
    params = (study / "parameters.csv").read_text().splitlines()
    assert len(params) == sims + 1 and params[0].startswith("simulation_id,p0,p1")
    assert all((study / "client_scripts" / f"client.{s}.sh").exists() for s in range(sims))
    assert (study / "server.rank0.log").exists() and (study / "server.rank1.log").exists()


def test_uneven_decomposition_three_server_ranks(tmp_path, prefix):
    """3 server ranks, 2 client ranks, a field size no rank count divides."""
    sims, steps = 3, 5
    config, dump = study_config(tmp_path, prefix, sims=sims, steps=steps, nx=7, ny=11, server_ranks=3)
    proc = run_launcher(prefix, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = load_dumps(dump, sims, steps, 2)
    mean = load_results(tmp_path / "study")["mean"]
    np.testing.assert_allclose(mean, raw.mean(axis=0), rtol=1e-12, atol=0)


def test_groups_of_simulations_run_as_one_job(tmp_path, prefix):
    """group_size 2: each job request carries two simulations, run side by side."""
    sims, steps = 5, 4
    config, dump = study_config(tmp_path, prefix, sims=sims, steps=steps, group_size=2, job_limit=1)
    proc = run_launcher(prefix, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = (tmp_path / "study" / "server.rank0.log").read_text()
    assert "requesting group 0: simulations [0, 1]" in log and "requesting group 2: simulations [4]" in log, log
    raw = load_dumps(dump, sims, steps, 2)
    mean = load_results(tmp_path / "study")["mean"]
    np.testing.assert_allclose(mean, raw.mean(axis=0), rtol=1e-12, atol=0)


def test_failing_simulations_end_the_study_with_the_reason(tmp_path, prefix):
    """With fault tolerance off (the e2e default, see conftest), the first failure ends it."""
    config, _ = study_config(tmp_path, prefix, sims=2, steps=3, executable="/bin/false", job_limit=1)
    proc = run_launcher(prefix, config)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    assert summary["failed"] == 1 and summary["finished"] == 0, summary
    assert "exit code 1" in summary["failures"][0]["reason"], summary
    assert "fault_tolerance is false" in summary["stopped"], summary
    assert "fault_tolerance is false" in proc.stdout, proc.stdout


def test_sigterm_stops_everything_and_leaves_no_process(tmp_path, prefix):
    config, _ = study_config(tmp_path, prefix, sims=4, steps=100000, nx=8, ny=8)
    proc = subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    study = tmp_path / "study"
    deadline = time.time() + 60
    # Wait until clients are running (their scripts exist and the server logged a connection).
    while time.time() < deadline and "connected" not in _read(study / "server.rank0.log"):
        time.sleep(0.2)
    assert "connected" in _read(study / "server.rank0.log"), "no client ever connected"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, out + err
    time.sleep(1)
    alive = [p for p in _study_processes(str(tmp_path)) if _alive(p)]
    assert not alive, f"processes left behind: {alive}"


def _read(path):
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def _study_processes(marker):
    """Pids whose command line or environment mentions `marker` (the server, mpirun,
    client scripts and the simulations, which inherit MELISSA_STUDY_DIR)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        for name in ("cmdline", "environ"):
            try:
                with open(f"/proc/{entry}/{name}", "rb") as f:
                    if marker.encode() in f.read():
                        pids.append(entry)
                        break
            except OSError:
                pass
    return pids


def _alive(pid):
    """False for zombies too (a reaped-soon process still shows in /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
