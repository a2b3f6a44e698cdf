"""End to end: a checkpoint taken while a server rank is flooded with data must hold exactly
what the statistics hold, and the restart must find it. The server once serviced its timers (and so wrote checkpoints)
between recording a piece as received and handing it to the statistics: restarted from such
a checkpoint, that piece was a duplicate on resend and missing from the statistics for good.

Real launcher, server and 3-rank chaos clients sending as fast as they can to a server
slowed by MELISSA_FAULT_INGEST_DELAY_US (a steady backlog), checkpoints every 0.3 s, and one
server rank SIGKILLed right after a checkpoint; the statistics must equal the numpy oracle."""
import os
import signal
import subprocess
import time

import numpy as np

from chaos import THRESHOLDS, compile_client, mpi_environment, oracle, read_parameters, server_rank_processes
from conftest import base_config, load_results, write_config

SIMS, STEPS, CELLS = 8, 120, 30


def checkpoints_written(study, rank):
    try:
        return (study / f"server.rank{rank}.log").read_text().count("written:")
    except OSError:
        return 0


def flooded_study(tmp_path, prefix, *, ports, launcher_port, seed, checkpoint_interval):
    """A study of 3-rank clients sending as fast as they can to 2 server ranks slowed to a
    steady backlog; returns (config path, study dir, running launcher)."""
    client = compile_client(prefix, tmp_path)
    cfg = base_config(tmp_path, sims=SIMS, steps=STEPS, executable=client,
                      args=["--steps", STEPS, "--cells", CELLS, "--step-ms", 0],
                      client_ranks=3, server_ranks=2, job_limit=4, ports=ports,
                      simulation_timeout=20, seed=seed, bounds=([0.5, 1.0], [2.0, 5.0]), fault_tolerance=True)
    cfg["study_options"]["crashes_before_redraw"] = 5
    cfg["sa_config"] = {"mean": True, "variance": True, "min": True, "max": True, "threshold_exceedance": True,
                        "threshold_values": THRESHOLDS, "checkpoint_interval": checkpoint_interval}
    cfg["launcher_config"]["launcher_port"] = launcher_port
    config = write_config(tmp_path, cfg)
    env = mpi_environment()
    env["MELISSA_FAULT_INGEST_DELAY_US"] = "400"
    log = open(tmp_path / "launcher.log", "w")
    launcher = subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    return config, tmp_path / "study", launcher


def wait_for_data_on_rank1(study, deadline):
    rank1 = study / "server.rank1.log"
    while time.monotonic() < deadline and not (rank1.exists() and "field temperature" in rank1.read_text()):
        time.sleep(0.02)


def assert_fault_free_results(study):
    """The statistics equal the numpy oracle on what the clients sent: nothing lost or doubled."""
    got = load_results(study)
    want = oracle(read_parameters(study), STEPS, CELLS)
    np.testing.assert_array_equal(got["count"], want["count"], err_msg="a piece went missing across the restart")
    for name in ("min", "max", "threshold_exceedance"):
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    scale = want["_scale"]
    for name, floor in (("mean", scale), ("variance", scale ** 2)):
        assert (np.abs(got[name] - want[name]) <= 1e-12 * (np.abs(want[name]) + floor)).all(), name


def test_a_checkpoint_under_a_flood_restarts_with_every_piece_applied(tmp_path, prefix):
    config, study, launcher = flooded_study(tmp_path, prefix, ports=(26203, 30203), launcher_port=26253, seed=11,
                                            checkpoint_interval=0.3)
    try:
        # Once data flows (a backlog on rank 1), kill rank 1 right after its second checkpoint from then.
        deadline = time.monotonic() + 120
        wait_for_data_on_rank1(study, deadline)
        base = checkpoints_written(study, 1)
        while time.monotonic() < deadline and checkpoints_written(study, 1) < base + 2:
            time.sleep(0.005)
        ranks = server_rank_processes(config)
        assert 1 in ranks, ranks
        os.kill(ranks[1], signal.SIGKILL)
        launcher.wait(timeout=240)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    out = (tmp_path / "launcher.log").read_text()
    assert launcher.returncode == 0, out
    assert "server restarted (1/" in out, out
    # Rank 0 kept writing checkpoints after rank 1 died; it once got two ahead of rank 1 and
    # the restart shared no checkpoint with it (a silent restart from scratch).
    log = (study / "server.rank0.log").read_text()
    assert "restored checkpoint" in log and "from scratch" not in log, log
    assert_fault_free_results(study)


def test_a_sigusr1_checkpoint_under_a_flood_then_kill_9_of_the_server_gives_the_fault_free_results(tmp_path, prefix):
    """The issue's flood-restart check: periodic checkpoints off, one checkpoint asked for with
    SIGUSR1 while the ranks are flooded, then every server process killed with SIGKILL; the
    restarted server resumes from that checkpoint and the results equal the fault-free ones
    (the numpy oracle on what the clients sent)."""
    config, study, launcher = flooded_study(tmp_path, prefix, ports=(26207, 30207), launcher_port=26257, seed=17,
                                            checkpoint_interval=100000)
    try:
        deadline = time.monotonic() + 120
        wait_for_data_on_rank1(study, deadline)
        ranks = server_rank_processes(config)
        assert sorted(ranks) == [0, 1], ranks
        # Rank 0 coordinates a checkpoint on SIGUSR1; wait until both ranks wrote it, mid-flood.
        os.kill(ranks[0], signal.SIGUSR1)
        while time.monotonic() < deadline and checkpoints_written(study, 1) < 1:
            time.sleep(0.005)
        assert checkpoints_written(study, 0) >= 1 and checkpoints_written(study, 1) >= 1
        for pid in ranks.values():
            os.kill(pid, signal.SIGKILL)
        launcher.wait(timeout=240)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    out = (tmp_path / "launcher.log").read_text()
    assert launcher.returncode == 0, out
    assert "server restarted (1/" in out, out
    log = (study / "server.rank0.log").read_text()
    assert "received SIGUSR1" in log, log
    assert "restored checkpoint 1" in log and "from scratch" not in log, log
    assert_fault_free_results(study)
