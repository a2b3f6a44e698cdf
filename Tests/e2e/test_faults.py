"""End to end: client jobs killed with SIGKILL mid-study are run again, and the study ends
with exactly the statistics of a fault-free run with the same seed.

Real launcher, real server under mpirun, real heat2d clients; the fault injection is a
thread that kill -9s client processes of chosen simulations while they stream."""
import json
import os
import random
import signal
import threading
import time

import numpy as np
import pytest

from conftest import base_config, load_results, run_launcher, write_config


def heat_config(tmp, prefix, *, sims, ports, options=None, launcher=None):
    cfg = base_config(tmp, sims=sims, steps=20, executable=prefix / "bin" / "heat2d",
                      args=["--steps", 20, "--nx", 24, "--ny", 20, "--substeps", 20000],
                      job_limit=2, ports=ports, simulation_timeout=20, seed=31, fault_tolerance=True)
    cfg["sa_config"] = {"mean": True, "variance": True, "min": True, "max": True}
    cfg["study_options"].update(options or {})
    cfg["launcher_config"].update(launcher or {})
    return write_config(tmp, cfg)


def client_processes(study):
    """(pid, simulation id, start time) of the heat2d processes of this study."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            if b"heat2d" not in cmdline:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
        except OSError:
            continue
        if env.get(b"MELISSA_STUDY_DIR", b"").decode() != str(study) or b"MELISSA_SIMU_ID" not in env:
            continue
        out.append((int(entry), int(env[b"MELISSA_SIMU_ID"]), os.stat(f"/proc/{entry}").st_mtime))
    return out


class Killer(threading.Thread):
    """Kills one client process of each chosen simulation once, at a random moment of its run."""

    def __init__(self, study, victims, seed):
        super().__init__(daemon=True)
        self.study, self.victims, self.rng = study, set(victims), random.Random(seed)
        self.killed = {}
        self.stop = threading.Event()
        self.delay = {sim: self.rng.uniform(0.2, 0.9) for sim in victims}

    def run(self):
        first_seen = {}
        while not self.stop.is_set() and len(self.killed) < len(self.victims):
            for pid, sim, _ in client_processes(self.study):
                if sim not in self.victims or sim in self.killed:
                    continue
                seen = first_seen.setdefault(sim, time.monotonic())
                if time.monotonic() - seen >= self.delay[sim]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        self.killed[sim] = time.monotonic() - seen
                    except ProcessLookupError:
                        pass
            time.sleep(0.02)


def assert_same_statistics(a, b):
    for name in ("mean", "variance", "min", "max"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-12, atol=0, err_msg=name)
    np.testing.assert_array_equal(a["count"], b["count"])


def test_killed_clients_are_run_again_and_the_statistics_equal_a_fault_free_run(tmp_path, prefix):
    sims = 10
    (tmp_path / "ref").mkdir()
    (tmp_path / "faulty").mkdir()
    options = {"crashes_before_redraw": 100}
    reference = run_launcher(prefix, heat_config(tmp_path / "ref", prefix, sims=sims, ports=(23503, 27500),
                                                 options=options))
    assert reference.returncode == 0, reference.stdout + reference.stderr

    study = tmp_path / "faulty" / "study"
    victims = [1, 4, 6, 8]  # 40 % of the simulations
    killer = Killer(study, victims, seed=5)
    killer.start()
    faulty = run_launcher(prefix, heat_config(tmp_path / "faulty", prefix, sims=sims, ports=(23603, 27600),
                                              options=options))
    killer.stop.set()
    killer.join()
    out = faulty.stdout + faulty.stderr
    assert faulty.returncode == 0, out
    assert sorted(killer.killed) == victims, (killer.killed, out)

    faults = json.loads((study / "faults.json").read_text())
    assert faults["resubmitted"] >= len(victims), faults
    assert faults["redrawn"] == 0 and faults["given_up"] == 0, faults
    failed_sims = sorted({s for g in faults["groups"] for f in g["failures"] for s in f["simulations"]})
    assert set(victims) <= set(failed_sims), faults
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    # Killed mid-stream: the reruns resent steps that had arrived, and those were dropped.
    assert summary["counters"]["duplicates"] > 0, summary

    ref = load_results(tmp_path / "ref" / "study")
    got = load_results(study)
    assert_same_statistics(got, ref)
    # Every simulation counted exactly once, at every (step, cell).
    assert (got["count"] == sims).all()


def test_without_fault_tolerance_the_first_failure_ends_the_study(tmp_path, prefix):
    study = tmp_path / "study"
    killer = Killer(study, [2], seed=9)
    killer.start()
    result = run_launcher(prefix, heat_config(tmp_path, prefix, sims=6, ports=(23703, 27700),
                                              launcher={"fault_tolerance": False}))
    killer.stop.set()
    killer.join()
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "fault_tolerance is false" in out, out
    summary = json.loads((study / "summary.json").read_text())
    assert summary["failed"] >= 1 and "fault_tolerance is false" in summary["stopped"], summary


def test_a_group_that_keeps_failing_is_redrawn_then_given_up_and_reported(tmp_path, prefix):
    """A client that always crashes: 2 attempts per draw, 1 redraw, then given up."""
    crash = tmp_path / "crash.sh"
    crash.write_text("#!/bin/sh\nexit 3\n")
    crash.chmod(0o755)
    cfg = base_config(tmp_path, sims=2, steps=3, executable=crash, args=[], job_limit=1, ports=(23803, 27800),
                      simulation_timeout=20, seed=3, fault_tolerance=True)
    cfg["study_options"].update({"crashes_before_redraw": 2, "max_redraws": 1})
    result = run_launcher(prefix, write_config(tmp_path, cfg))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    faults = json.loads((tmp_path / "study" / "faults.json").read_text())
    assert faults["given_up"] == 2 and faults["redrawn"] == 2, faults
    for group in faults["groups"]:
        assert group["state"] == "given_up" and group["jobs"] == 4 and group["draws"] == 2, group
        assert [f["draw"] for f in group["failures"]] == [0, 0, 1, 1], group
        assert all("exit code 3" in f["reason"] for f in group["failures"]), group
    log = (tmp_path / "study" / "server.rank0.log").read_text()
    assert "drawing new parameters for simulation(s) 0 (draw 1" in log, log
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    assert summary["failed"] == 2 and any("cannot complete" in e for e in summary["errors"]), summary


def test_a_simulation_that_stops_sending_is_cancelled_and_run_again(tmp_path, prefix):
    """simulation_timeout: a client that hangs mid-study (alive, silent) is cancelled
    through the launcher and run again; the rerun's resent steps are dropped as duplicates."""
    from test_hostile_clients import hostile_study, GLOBAL_SIZE, STEPS
    from hostile_client import valid_field
    sims = 3
    config, dump = hostile_study(tmp_path, {1: {"hang_after": 2}}, sims=sims, simulation_timeout=2,
                                 ports=(23903, 27900))
    cfg = json.loads("\n".join(l for l in config.read_text().splitlines() if not l.startswith("//")))
    cfg["launcher_config"]["fault_tolerance"] = True
    cfg["study_options"]["crashes_before_redraw"] = 5
    config = write_config(tmp_path, cfg)
    result = run_launcher(prefix, config, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert (dump / "hung.sim1").exists(), "the client did hang"
    assert "cancelling" in out and "simulation_timeout" in out, out
    faults = json.loads((tmp_path / "study" / "faults.json").read_text())
    [group] = [g for g in faults["groups"] if 1 in g["simulations"]]
    assert "study_options.simulation_timeout" in group["failures"][0]["reason"], group
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    assert summary["counters"]["duplicates"] >= 2, summary  # the rerun resent steps 0 and 1
    expected = np.mean([valid_field(s, STEPS, GLOBAL_SIZE) for s in range(sims)], axis=0)
    got = load_results(tmp_path / "study")
    np.testing.assert_allclose(got["mean"], expected, rtol=1e-12, atol=1e-12)
    assert (got["count"] == sims).all()
