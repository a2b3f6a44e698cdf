"""End to end: the server killed with SIGKILL, the launcher stopped with SIGTERM, checkpoints
corrupted on disk. Every study must end with exactly the statistics of a fault-free run.

Real launcher, real server under mpirun, real heat2d clients, real signals; the corruption
is done on the real checkpoint files (docs/CHECKPOINT.md)."""
import json
import os
import shutil
import signal
import subprocess
import time
import zlib

import numpy as np
import pytest

from conftest import base_config, load_results, run_launcher, write_config

SIMS = 10


def heat_config(tmp, prefix, ports, checkpoint_interval=1.0):
    cfg = base_config(tmp, sims=SIMS, steps=20, executable=prefix / "bin" / "heat2d",
                      args=["--steps", 20, "--nx", 24, "--ny", 20, "--substeps", 20000],
                      job_limit=2, ports=ports, simulation_timeout=20, seed=31, fault_tolerance=True)
    cfg["sa_config"] = {"mean": True, "variance": True, "min": True, "max": True,
                        "checkpoint_interval": checkpoint_interval}
    return cfg


@pytest.fixture(scope="module")
def reference(tmp_path_factory, prefix):
    """A fault-free run of the same study."""
    tmp = tmp_path_factory.mktemp("reference")
    result = run_launcher(prefix, write_config(tmp, heat_config(tmp, prefix, (24103, 28100))))
    assert result.returncode == 0, result.stdout + result.stderr
    return load_results(tmp / "study")


def assert_same(study, reference):
    got = load_results(study)
    for name in ("mean", "variance", "min", "max"):
        np.testing.assert_allclose(got[name], reference[name], rtol=1e-12, atol=0, err_msg=name)
    np.testing.assert_array_equal(got["count"], reference["count"])
    assert (got["count"] == SIMS).all()


def pids(pattern):
    """Processes whose command line contains `pattern`."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if pattern.encode() in f.read().replace(b"\0", b" "):
                        out.append(int(entry))
            except OSError:
                pass
    return out


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def finished(study):
    log = study / "server.rank0.log"
    return log.read_text().count("finished (") if log.exists() else 0


def wait_for(condition, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def start(prefix, config):
    """The launcher in the background, its output in <config dir>/launcher.log."""
    log = open(config.parent / "launcher.log", "w")
    return subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def said(config):
    return (config.parent / "launcher.log").read_text()


def test_server_killed_twice_is_restarted_from_its_checkpoint(tmp_path, prefix, reference):
    config = write_config(tmp_path, heat_config(tmp_path, prefix, (24203, 28200)))
    study = tmp_path / "study"
    launcher = start(prefix, config)
    server = f"melissa-server {config}"
    for kill in range(2):
        # Let it make progress and checkpoint, then kill every server process like a node failure.
        assert wait_for(lambda: finished(study) >= 3 * (kill + 1)), "the study made no progress"
        written = (study / "server.rank0.log").read_text().count("written")
        assert wait_for(lambda: (study / "server.rank0.log").read_text().count("written") > written)
        victims = pids(server)
        if kill == 1:
            # The second time only mpirun dies, as when its node is lost: its orphaned ranks
            # must not survive next to the new server.
            victims = [p for p in victims if _cmdline(p).startswith("/usr/bin/mpirun") or "mpirun" in _cmdline(p).split(" ")[0]]
            assert victims, "mpirun not found"
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: f"server restarted ({kill + 1}/3)" in said(config)), said(config)
    launcher.wait(timeout=180)
    assert launcher.returncode == 0, said(config)
    log = (study / "server.rank0.log").read_text()
    assert log.count("restored checkpoint") == 2, log
    faults = json.loads((study / "faults.json").read_text())
    assert faults["server_restarts"] == 2, faults
    assert_same(study, reference)
    assert not pids(str(study)) and not pids(server), "nothing of the study may outlive it"


def test_a_second_death_in_the_same_checkpoint_still_restarts_from_the_common_one(tmp_path, prefix, reference):
    """Found by the chaos harness: rank 1 dies writing checkpoint 3 (rank 0 wrote it), the
    restarted server restores 2 and, numbering on from there, writes 3 again, and rank 1 dies
    in it again. Rank 0's second 3 used to rotate its 2 away: no checkpoint in common, and the
    study started over from scratch. Now every restart restores 2."""
    config = write_config(tmp_path, heat_config(tmp_path, prefix, (24703, 28700)))
    study = tmp_path / "study"
    env = dict(os.environ, MELISSA_FAULT_KILL_IN_CHECKPOINT="1:3,1:3@1")
    result = subprocess.run([str(prefix / "bin" / "melissa-launcher"), str(config)], env=env, capture_output=True,
                            text=True, timeout=240, stdin=subprocess.DEVNULL)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    log = (study / "server.rank0.log").read_text()
    assert "from scratch" not in log, log
    assert log.count("restored checkpoint 2 ") == 2, log
    assert "dropped this rank's checkpoint 3, which not every rank completed" in log, log
    assert "server restarted (2/3)" in out, out
    assert_same(study, reference)
    assert not pids(str(study)), "nothing of the study may outlive it"


def relocate(stopped, target, prefix, ports):
    """A copy of a stopped study in `target`/study, with its own config (same study options,
    so its checkpoints are valid there): a way to resume one stopped study several times."""
    target.mkdir()
    shutil.copytree(stopped, target / "study")
    cfg = heat_config(target, prefix, ports)
    config = write_config(target, cfg)
    shutil.copy(config, target / "study" / "config.json")
    (target / "study" / "config.path").write_text(f"{config}\n")
    return target / "study"


def resume(prefix, study):
    return subprocess.run([str(prefix / "bin" / "melissa-launcher"), "--resume", str(study)],
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)


def refix_header_crc(data):
    """Recomputes the header checksum after an edit of the header's fields (bytes 0..52)."""
    data[52:56] = zlib.crc32(bytes(data[0:52])).to_bytes(4, "little")


def test_sigterm_then_resume_and_corrupt_checkpoints(tmp_path, prefix, reference):
    config = write_config(tmp_path, heat_config(tmp_path, prefix, (24303, 28300)))
    study = tmp_path / "study"
    launcher = start(prefix, config)
    assert wait_for(lambda: finished(study) >= 3), "the study made no progress"
    assert wait_for(lambda: (study / "checkpoints" / "rank-1.prev.ckpt").exists())
    launcher.send_signal(signal.SIGTERM)
    launcher.wait(timeout=60)
    out = said(config)
    assert launcher.returncode == 143, out
    assert f"resume with: melissa-launcher --resume {study}" in out, out
    assert not pids(str(study)) and not pids(f"melissa-server {config}"), "processes outlived the launcher"
    log = (study / "server.rank0.log").read_text()
    assert "writing a final checkpoint" in log or "writing a checkpoint, then ending" in log, log
    assert finished(study) < SIMS, "the study must have been stopped before its end"
    stopped = tmp_path / "stopped"
    shutil.copytree(study, stopped)
    ckpt = lambda s, r, prev=False: s / "checkpoints" / f"rank-{r}{'.prev' if prev else ''}.ckpt"

    # 1. As left: resumed from the final checkpoint.
    result = resume(prefix, study)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "restored checkpoint" in (study / "server.rank0.log").read_text().split("launcher asked to stop")[-1]
    assert_same(study, reference)

    # 2. Rank 0's current checkpoint truncated: refused, both ranks fall back to the previous one.
    s2 = relocate(stopped, tmp_path / "truncated", prefix, (24403, 28400))
    data = ckpt(s2, 0).read_bytes()
    ckpt(s2, 0).write_bytes(data[: len(data) // 2])
    result = resume(prefix, s2)
    assert result.returncode == 0, result.stdout + result.stderr
    log = (s2 / "server.rank0.log").read_text().split("launcher asked to stop")[-1]
    assert "refused" in log and "truncated" in log, log
    assert "restored checkpoint" in log, log
    assert_same(s2, reference)

    # 3. Flipped bits in both of rank 1's files, a wrong version in rank 0's current, another
    #    study's fingerprint in rank 0's previous: nothing valid in common, so from scratch.
    s3 = relocate(stopped, tmp_path / "corrupt", prefix, (24503, 28500))
    for prev in (False, True):
        data = bytearray(ckpt(s3, 1, prev).read_bytes())
        data[len(data) // 2] ^= 0x10
        ckpt(s3, 1, prev).write_bytes(bytes(data))
    data = bytearray(ckpt(s3, 0).read_bytes())
    data[8] = 2  # format version
    ckpt(s3, 0).write_bytes(bytes(data))
    data = bytearray(ckpt(s3, 0, True).read_bytes())
    data[16] ^= 0xFF  # fingerprint, with a valid header checksum: a well-formed file of another study
    refix_header_crc(data)
    ckpt(s3, 0, True).write_bytes(bytes(data))
    result = resume(prefix, s3)
    assert result.returncode == 0, result.stdout + result.stderr
    logs = "".join((s3 / f"server.rank{r}.log").read_text().split("launcher asked to stop")[-1] for r in (0, 1))
    assert "checksum mismatch" in logs, logs
    assert "format version 2; this server reads version 1" in logs, logs
    assert "belongs to another study" in logs, logs
    assert "starting the study from scratch" in logs, logs
    assert_same(s3, reference)


def test_max_server_restarts_zero_ends_the_study_at_the_first_death(tmp_path, prefix):
    cfg = heat_config(tmp_path, prefix, (24603, 28600))
    cfg["launcher_config"]["max_server_restarts"] = 0
    config = write_config(tmp_path, cfg)
    study = tmp_path / "study"
    launcher = start(prefix, config)
    assert wait_for(lambda: finished(study) >= 1), "the study made no progress"
    for pid in pids(f"melissa-server {config}"):
        os.kill(pid, signal.SIGKILL)
    launcher.wait(timeout=60)
    out = said(config)
    assert launcher.returncode == 1, out
    assert "launcher_config.max_server_restarts is 0" in out, out
    assert not pids(str(study)) and not pids(f"melissa-server {config}"), "processes outlived the launcher"


def test_resume_refuses_what_it_cannot_resume(tmp_path, prefix):
    result = subprocess.run([str(prefix / "bin" / "melissa-launcher"), "--resume", str(tmp_path / "nope")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "no such study directory" in result.stderr, result.stderr
    (tmp_path / "empty").mkdir()
    result = subprocess.run([str(prefix / "bin" / "melissa-launcher"), "--resume", str(tmp_path / "empty")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "config.path" in result.stderr, result.stderr


def test_sobol_study_survives_two_server_kills(tmp_path, prefix):
    """Pick-freeze groups held back in the join cache go through the checkpoint (JOIN) and
    meet their late members after the restart: the indices equal a fault-free run's."""
    from test_sensitivity import ishigami_config
    sa = {"mean": True, "variance": True, "sobol_indices": True, "checkpoint_interval": 0.5}
    opts = {"field_sizes": [4]}
    (tmp_path / "ref").mkdir()
    ref_config = ishigami_config(tmp_path / "ref", prefix, sweep=40, cells=4, steps=2, sa=sa, job_limit=3,
                                 ports=(24903, 28900), options=opts)
    result = run_launcher(prefix, ref_config)
    assert result.returncode == 0, result.stdout + result.stderr
    config = ishigami_config(tmp_path, prefix, sweep=40, cells=4, steps=2, sa=sa, job_limit=3,
                             ports=(25003, 29000), options=opts)
    data = json.loads("\n".join(l for l in config.read_text().splitlines() if not l.startswith("//")))
    data["launcher_config"]["fault_tolerance"] = True
    config = write_config(tmp_path, data)
    study = tmp_path / "study"
    launcher = start(prefix, config)
    for kill in range(2):
        assert wait_for(lambda: finished(study) >= 50 * (kill + 1)), "the study made no progress"
        written = (study / "server.rank0.log").read_text().count("written")
        assert wait_for(lambda: (study / "server.rank0.log").read_text().count("written") > written)
        for pid in pids(f"melissa-server {config}"):
            os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: f"server restarted ({kill + 1}/3)" in said(config)), said(config)
    launcher.wait(timeout=180)
    assert launcher.returncode == 0, said(config)
    assert (study / "server.rank0.log").read_text().count("restored checkpoint") == 2
    ref, got = load_results(tmp_path / "ref" / "study", "y"), load_results(study, "y")
    for name in ("mean", "variance", "sobol_first", "sobol_total"):
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-12, atol=1e-14, err_msg=name)
    np.testing.assert_array_equal(got["sobol_groups"], ref["sobol_groups"])
    assert (got["sobol_groups"] == 40).all()
