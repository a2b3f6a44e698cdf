"""The connection budget end to end: a study whose client connections cannot fit the server's
open-files limit is refused before any client job runs, with the numbers and the remedy, and
the launcher does not restart the server over it (docs/SCHEDULERS.md, "Connection budget")."""
import json
import subprocess

from conftest import base_config, write_config


def test_a_study_beyond_the_open_files_limit_is_refused_before_any_job(tmp_path, prefix):
    # 4 jobs at once × 20 client ranks + the server's reserve of 256 = 336 > a hard limit of 300.
    cfg = base_config(tmp_path, sims=8, steps=2, executable=prefix / "bin" / "heat2d",
                      args=["--steps", 2, "--nx", 8, "--ny", 4], client_ranks=20, job_limit=4,
                      ports=(21503, 25503), fault_tolerance=True)
    config = write_config(tmp_path, cfg)
    # prlimit lowers the hard limit for the launcher and everything it starts (mpirun, the
    # server): the server cannot raise its soft limit past it.
    done = subprocess.run(["prlimit", "--nofile=300:300", str(prefix / "bin" / "melissa-launcher"), str(config)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    assert "connection budget exceeded" in out, out[-3000:]
    for part in ("limit is 300", "RLIMIT_NOFILE", "launcher_config.job_limit 4", "× 20 client rank(s)",
                 "336 open files", "ulimit -Hn", "(2 simulation(s) of 20 rank(s) fit)"):
        assert part in out, f"{part!r} missing from: {out[-3000:]}"
    study = tmp_path / "study"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == 0 and summary["exit_code"] == 1
    assert any("connection budget exceeded" in e for e in summary["errors"]), summary["errors"]
    # Nothing ran: no client script was started, and the server was not restarted over it.
    logs = study / "client_logs"
    assert not logs.exists() or not any(logs.iterdir()), list(logs.iterdir())
    assert summary["faults"]["server_restarts"] == 0
    assert "server restarted" not in out


def test_a_study_that_fits_raises_the_soft_limit_and_runs(tmp_path, prefix):
    # Soft 512, hard 4096: the server raises its soft limit to 4096 and the study runs.
    cfg = base_config(tmp_path, sims=2, steps=2, executable=prefix / "bin" / "heat2d",
                      args=["--steps", 2, "--nx", 8, "--ny", 4], ports=(21513, 25513))
    config = write_config(tmp_path, cfg)
    done = subprocess.run(["prlimit", "--nofile=512:4096", str(prefix / "bin" / "melissa-launcher"), str(config)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    log = "".join(p.read_text(errors="replace") for p in (tmp_path / "study").glob("server.*"))
    assert "open files: limit 4096 per server rank (hard 4096)" in log, log[-2000:]
