"""End to end on a real Slurm: the one-node cluster of Scripts/slurm-cluster.sh (started by
Scripts/test.sh). The launcher submits every client job with sbatch, runs the server under
srun, reads states back with squeue/sacct and cancels with scancel; the tests check what
Slurm's own accounting says happened."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import numpy as np
import pytest

from conftest import base_config, load_results, write_config
from test_study import load_dumps

if os.environ.get("MELISSA_SKIP_SLURM") == "1":
    pytest.skip("MELISSA_SKIP_SLURM=1", allow_module_level=True)


@pytest.fixture(scope="module", autouse=True)
def slurm_cluster():
    """Fails (not skips) when the test cluster is not up: Scripts/test.sh starts it."""
    assert shutil.which("sbatch"), "Slurm is not installed: run Scripts/slurm-cluster.sh start"
    info = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True)
    assert info.returncode == 0 and info.stdout.strip() in ("idle", "mix", "alloc"), \
        f"the test Slurm is not up ({info.stdout.strip()} {info.stderr.strip()}): run Scripts/slurm-cluster.sh start"


def slurm_config(tmp, prefix, *, sims, steps, ports, substeps=1, fault_tolerance=False, job_limit=2):
    dump = tmp / "dump"
    dump.mkdir(exist_ok=True)
    cfg = base_config(tmp, sims=sims, steps=steps, executable=prefix / "bin" / "heat2d",
                      args=["--steps", steps, "--nx", 24, "--ny", 15, "--substeps", substeps],
                      job_limit=job_limit, ports=ports, fault_tolerance=fault_tolerance,
                      preprocessing=[f"export HEAT2D_DUMP_DIR={dump}"])
    cfg["launcher_config"]["scheduler"] = "slurm"
    # A failed group runs again with the same parameters (no redraw), so it is "resubmitted".
    cfg["study_options"]["crashes_before_redraw"] = 100
    # srun/sbatch read the same "-n 2" as mpirun; 0.2 s between squeue polls.
    cfg["launcher_config"]["timer_delay"] = 0.2
    cfg["launcher_config"]["verbosity"] = 2  # job states in the output
    return write_config(tmp, cfg), dump


def accounting(launcher_pid):
    """{job name: (state, exit code)} from Slurm's job-completion records for the jobs of
    the launcher with this pid (its jobs are named melissa.<pid>.<n> and melissa.<pid>.server)."""
    out = subprocess.run(["sacct", "-c", "-X", "-n", "-P", "-o", "JobIDRaw,JobName,State,ExitCode"],
                         capture_output=True, text=True, check=True).stdout
    jobs = {}
    for line in out.splitlines():
        job_id, name, state, code = line.split("|")
        if name.startswith(f"melissa.{launcher_pid}."):
            jobs[name] = (state.split()[0], code, int(job_id))
    return jobs


def live_jobs(launcher_pid):
    """Names of this launcher's jobs Slurm still lists as pending, running or completing."""
    out = subprocess.run(["squeue", "-h", "-t", "PD,R,CG,CF,S", "-o", "%j"],
                         capture_output=True, text=True, check=True).stdout
    return [n for n in out.split() if n.startswith(f"melissa.{launcher_pid}.")]


def start_launcher(prefix, config):
    return subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)


def test_the_study_runs_on_slurm_and_every_job_completes_in_slurms_accounting(tmp_path, prefix):
    sims, steps = 6, 12
    config, dump = slurm_config(tmp_path, prefix, sims=sims, steps=steps, ports=(20103, 20200))
    launcher = start_launcher(prefix, config)
    out, _ = launcher.communicate(timeout=240)
    assert launcher.returncode == 0, out
    study = tmp_path / "study"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary

    raw = load_dumps(dump, sims, steps, 2)
    res = load_results(study)
    np.testing.assert_allclose(res["mean"], raw.mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(res["variance"], raw.var(axis=0, ddof=1), rtol=1e-12, atol=1e-300)

    jobs = accounting(launcher.pid)
    assert f"melissa.{launcher.pid}.server" in jobs, (jobs, out)
    clients = {name: v for name, v in jobs.items() if not name.endswith(".server")}
    assert len(clients) == sims, (jobs, out)
    assert all(state == "COMPLETED" and code == "0:0" for state, code, _ in jobs.values()), jobs
    assert live_jobs(launcher.pid) == []
    # The launcher said which Slurm job ran each group.
    assert "submitted as slurm job" in out
    # The server (a Slurm job, which could run on another node) reached the launcher at its
    # host name, not at loopback.
    assert f"launcher listening on tcp://{socket.gethostname()}:" in out and "(bound to *)" in out, out


def test_a_job_cancelled_with_scancel_is_failed_and_run_again(tmp_path, prefix):
    sims = 4
    config, _ = slurm_config(tmp_path, prefix, sims=sims, steps=20, substeps=20000, ports=(20203, 20300),
                             fault_tolerance=True)
    launcher = start_launcher(prefix, config)
    cancelled = []

    def cancel_first_running_client():
        deadline = time.time() + 120
        while time.time() < deadline and not cancelled:
            out = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i|%j"], capture_output=True, text=True).stdout
            for line in out.split():
                job_id, name = line.split("|")
                if name.startswith(f"melissa.{launcher.pid}.") and not name.endswith(".server"):
                    time.sleep(0.5)  # let it stream a little first
                    subprocess.run(["scancel", job_id], check=True)
                    cancelled.append((job_id, name))
                    return
            time.sleep(0.1)

    killer = threading.Thread(target=cancel_first_running_client, daemon=True)
    killer.start()
    out, _ = launcher.communicate(timeout=300)
    killer.join(timeout=5)
    assert cancelled, out
    assert launcher.returncode == 0, out
    job_id, name = cancelled[0]
    jobs = accounting(launcher.pid)
    assert jobs[name][0] == "CANCELLED", jobs
    # The launcher saw the cancellation as a failure of that job, and the server ran the
    # group again as a new job.
    assert f"slurm job {job_id}: Slurm job cancelled" in out, out
    faults = json.loads((tmp_path / "study" / "faults.json").read_text())
    assert faults["resubmitted"] >= 1, faults
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    completed = [n for n, (state, _, _) in jobs.items() if state == "COMPLETED" and not n.endswith(".server")]
    assert len(completed) == sims, jobs
    assert live_jobs(launcher.pid) == []


def test_ctrl_c_cancels_every_slurm_job(tmp_path, prefix):
    config, _ = slurm_config(tmp_path, prefix, sims=6, steps=100000, ports=(20303, 20400))
    launcher = start_launcher(prefix, config)
    deadline = time.time() + 90
    while time.time() < deadline and len([n for n in live_jobs(launcher.pid) if not n.endswith(".server")]) < 2:
        time.sleep(0.2)
    running = live_jobs(launcher.pid)
    assert len(running) >= 3, running  # the server and two clients
    launcher.send_signal(signal.SIGINT)
    out, _ = launcher.communicate(timeout=120)
    assert launcher.returncode == 130, out
    assert live_jobs(launcher.pid) == [], out
    jobs = accounting(launcher.pid)
    clients = {name: state for name, (state, _, _) in jobs.items() if not name.endswith(".server")}
    assert clients and set(clients.values()) == {"CANCELLED"}, jobs
    # The server stopped when asked (it exits 1: the study did not finish) or was cancelled.
    assert jobs[f"melissa.{launcher.pid}.server"][0] in ("FAILED", "CANCELLED", "COMPLETED"), jobs
