"""End to end: the example flavor of docs/FLAVORS.md (`server_class: "maximum"`, module
MelissaMaximum) runs real studies through the flavor API, and survives `kill -9` of the server:
its per-cell maxima equal numpy's on what the clients dumped, and its per-cell counts equal the
number of simulations exactly (a piece lost or applied twice across the restart would show)."""
import json
import os
import signal

import numpy as np
import pytest

from conftest import base_config, run_launcher, write_config
from test_restart import finished, pids, said, start, wait_for


def maximum_config(tmp, prefix, *, sims, steps, nx, ny, ports, server_ranks=2, slow=False, routing=None):
    dump = tmp / "dump"
    dump.mkdir()
    args = ["--steps", steps, "--nx", nx, "--ny", ny] + (["--substeps", 3000] if slow else [])
    cfg = base_config(tmp, sims=sims, steps=steps, executable=prefix / "bin" / "heat2d", args=args,
                      server_ranks=server_ranks, ports=ports, seed=13, fault_tolerance=slow,
                      simulation_timeout=60 if slow else None,
                      preprocessing=[f"export HEAT2D_DUMP_DIR={dump}"])
    cfg["server_class"] = "maximum"
    # The flavor's own section (MaximumSettings); sa_config belongs to sensitivity analysis.
    del cfg["sa_config"]
    cfg["maximum_config"] = {"checkpoint_interval": 1.0}
    if routing:
        cfg["maximum_config"]["routing"] = routing
    return write_config(tmp, cfg), dump


def expected(dump, sims, steps):
    raw = np.stack([np.concatenate([np.fromfile(dump / f"heat2d.sim{s}.rank{r}.bin", dtype="<f8").reshape(steps, -1)
                                    for r in range(2)], axis=1) for s in range(sims)])
    return raw.max(axis=0)


def results(study, steps):
    maxima = np.fromfile(study / "results" / "temperature.maximum.f64", dtype="<f8").reshape(steps, -1)
    counts = np.fromfile(study / "results" / "temperature.count.f64", dtype="<f8").reshape(steps, -1)
    return maxima, counts


@pytest.mark.parametrize("routing,port", [("cell-blocks", 0), ("steps", 1), ("simulations", 2)])
def test_maximum_flavor_matches_numpy_on_uneven_blocks(tmp_path, prefix, routing, port):
    """Cell blocks (uneven over 3 ranks), and whole steps routed round robin by step or by
    simulation (the handshake tells the clients): the same results either way."""
    sims, steps = 5, 6
    config, dump = maximum_config(tmp_path, prefix, sims=sims, steps=steps, nx=7, ny=11,
                                  ports=(21203 + 20 * port, 25200 + 20 * port), server_ranks=3, routing=routing)
    proc = run_launcher(prefix, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    if routing != "cell-blocks":
        # Whole steps: each of the 2 client ranks sent one message per step, to one server rank
        # (cell blocks split a slice over the blocks it overlaps: more messages).
        assert summary["counters"]["accepted"] == sims * steps * 2, summary["counters"]
        assert summary["counters"]["misrouted"] == 0, summary["counters"]
    maxima, counts = results(tmp_path / "study", steps)
    assert maxima.shape == (steps, 77)
    np.testing.assert_array_equal(maxima, expected(dump, sims, steps))
    assert (counts == sims).all(), counts
    assert summary["finished"] == sims and summary["counters"]["duplicates"] == 0, summary


@pytest.mark.parametrize("routing,port", [("cell-blocks", 0), ("steps", 1)])
def test_maximum_flavor_survives_kill_9_of_the_server(tmp_path, prefix, routing, port):
    sims, steps = 10, 20
    config, dump = maximum_config(tmp_path, prefix, sims=sims, steps=steps, nx=24, ny=20,
                                  ports=(21213 + 20 * port, 25210 + 20 * port), slow=True, routing=routing)
    study = tmp_path / "study"
    launcher = start(prefix, config)
    server = f"melissa-server {config}"
    # Progress and a checkpoint, then every server process dies at once, like a node failure.
    assert wait_for(lambda: finished(study) >= 3), "the study made no progress"
    written = (study / "server.rank0.log").read_text().count("written")
    assert wait_for(lambda: (study / "server.rank0.log").read_text().count("written") > written)
    for pid in pids(server):
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: "server restarted (1/3)" in said(config)), said(config)
    launcher.wait(timeout=180)
    assert launcher.returncode == 0, said(config)
    log = (study / "server.rank0.log").read_text()
    assert "restored checkpoint" in log, log
    maxima, counts = results(study, steps)
    np.testing.assert_array_equal(maxima, expected(dump, sims, steps))
    # Exactly once across the restart: every cell saw every simulation once.
    assert (counts == sims).all(), np.unique(counts)
