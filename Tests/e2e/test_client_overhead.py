"""The client-overhead benchmark (Benchmarks/client-overhead) in its short mode, so it cannot rot:
heat2d with and without melissa_send through the real launcher and server, then its correctness
checks (every message accepted, results mean == mean of the dumped values, --no-melissa values
bitwise those streamed). Asserts correctness, never a speed (docs/PERFORMANCE.md has the figures)."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

BENCH = ROOT / "Benchmarks" / "client-overhead"
PORTS = ("30003", "31000")  # distinct from every other end-to-end test
LAUNCHER_PORT = "32000"
SHORT = {"nx": 48, "ny": 48, "steps": 10, "client_ranks": 2, "server_ranks": 2}


def clean_env():
    """The environment without Open MPI's/PMIx's variables (a singleton MPI_Init in this process
    or a surrounding mpirun would leak them into the benchmark's mpirun); run.sh sources
    Scripts/mpi-env.sh for the settings it needs."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OMPI_", "PMIX_", "OPAL_", "ORTE_", "PRTE_"))}


@pytest.fixture(scope="module")
def short_run(prefix, tmp_path_factory):
    """One `run.sh --short` for the module; its work directory is kept for the failure test."""
    work = tmp_path_factory.mktemp("client-overhead") / "work"
    result = subprocess.run([str(BENCH / "run.sh"), "--short", "--prefix", str(prefix), "--work-dir", str(work),
                             "--ports", *PORTS, "--launcher-port", LAUNCHER_PORT],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=clean_env())
    return result, work


def check_command(work, study, **extra):
    args = [sys.executable, str(BENCH / "check.py"), "--study", str(study),
            "--nx", str(SHORT["nx"]), "--ny", str(SHORT["ny"]), "--steps", str(SHORT["steps"]),
            "--client-ranks", str(SHORT["client_ranks"]), "--server-ranks", str(SHORT["server_ranks"])]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_short_mode_streams_everything_and_prints_the_slowdown(short_run):
    result, work = short_run
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"^slowdown: loop [+-]\d+\.\d %", out, re.M), out
    assert "results/temperature.nc mean == mean of 2 dumped simulations" in out, out
    assert "--no-melissa values are bitwise those streamed" in out, out
    # 2 client ranks x 2 server ranks with the rows split in halves: 2 pieces per step, not 4.
    assert "2/2 simulations finished, 40/40 messages accepted, 0 dropped" in out, out
    assert (work / "round1" / "study" / "summary.json").exists()


def test_check_fails_on_a_perturbed_dump(short_run):
    """The correctness check can fail: one dumped value changed by 1e-6 relative."""
    result, work = short_run
    assert result.returncode == 0, result.stdout + result.stderr
    study, dump = work / "check" / "study", work / "check" / "dump"
    assert check_command(work, study, dump=dump).returncode == 0
    path = dump / "heat2d.sim1.rank1.bin"
    values = np.fromfile(path, dtype="<f8")
    values[-5] *= 1 + 1e-6  # last step
    values.tofile(path)
    failed = check_command(work, study, dump=dump)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "FAILED" in failed.stderr and "beyond 1e-9 relative" in failed.stderr, failed.stderr


def test_check_fails_on_a_wrong_message_count(short_run):
    """check.py's expected message count depends on the decomposition: claiming 3 client ranks
    (whose middle rank's rows straddle both server blocks: 4 pieces per step) must fail."""
    result, work = short_run
    assert result.returncode == 0, result.stdout + result.stderr
    failed = subprocess.run([sys.executable, str(BENCH / "check.py"), "--study", str(work / "round1" / "study"),
                             "--nx", "48", "--ny", "48", "--steps", "10", "--client-ranks", "3",
                             "--server-ranks", "2"], capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "expected 80" in failed.stderr, failed.stderr
