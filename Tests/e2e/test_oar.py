"""End to end on a real OAR 2.5: the one-node cluster of Scripts/oar-cluster.sh (started by
Scripts/test.sh). OAR refuses jobs from root, so the launcher runs as the cluster's job
user; it submits every client job with oarsub, reads states with oarstat and cancels with
oardel, and the tests check what OAR itself recorded."""
import json
import os
import pathlib
import pwd
import shutil
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

from conftest import base_config, load_results, write_config
from test_study import load_dumps

JOB_USER = os.environ.get("MELISSA_OAR_USER", "melissa-oar")

if os.environ.get("MELISSA_SKIP_OAR") == "1":
    pytest.skip("MELISSA_SKIP_OAR=1", allow_module_level=True)


@pytest.fixture(scope="module")
def job_user():
    """Fails (not skips) when the test OAR is not up: Scripts/test.sh starts it."""
    assert shutil.which("oarsub"), "OAR is not installed: run Scripts/oar-cluster.sh start"
    up = subprocess.run(["oarnodes", "-s"], capture_output=True, text=True)
    assert up.returncode == 0 and "Alive" in up.stdout, f"the test OAR is not up: {up.stdout}{up.stderr}"
    return pwd.getpwnam(JOB_USER)


@pytest.fixture(scope="module")
def oar_prefix(job_user, prefix):
    """A copy of the installed prefix the job user can reach (the checkout may sit in a
    directory only root can enter); its libraries are found through LD_LIBRARY_PATH."""
    copy = pathlib.Path(job_user.pw_dir) / "e2e-prefix"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(prefix, copy, symlinks=True)
    for root, dirs, files in os.walk(copy):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.lchown(name, job_user.pw_uid, job_user.pw_gid)
    yield copy
    shutil.rmtree(copy, ignore_errors=True)


@pytest.fixture
def workdir(job_user, request):
    """A study folder the job user owns (pytest's own tmp_path is root's, mode 0700)."""
    path = os.path.join(job_user.pw_dir, "e2e", request.node.name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    for root, dirs, _ in os.walk(os.path.join(job_user.pw_dir, "e2e")):
        os.chown(root, job_user.pw_uid, job_user.pw_gid)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


def oar_config(tmp, prefix, user, *, sims, steps, ports, substeps=1, fault_tolerance=False):
    dump = tmp / "dump"
    dump.mkdir(exist_ok=True)
    os.chown(dump, user.pw_uid, user.pw_gid)
    cfg = base_config(tmp, sims=sims, steps=steps, executable=prefix / "bin" / "heat2d",
                      args=["--steps", steps, "--nx", 24, "--ny", 15, "--substeps", substeps],
                      job_limit=2, ports=ports, fault_tolerance=fault_tolerance,
                      preprocessing=[f"export HEAT2D_DUMP_DIR={dump}",
                                     f"export LD_LIBRARY_PATH={prefix / 'lib'}"])
    cfg["study_options"]["crashes_before_redraw"] = 100
    cfg["launcher_config"].update({
        "scheduler": "oar",
        # oarsub options for one job: one simulation on 2 cores.
        "scheduler_arg_client": ["-l", "core=2,walltime=0:10:0"],
        "timer_delay": 0.3,
        "verbosity": 2,
    })
    path = write_config(tmp, cfg)
    os.chown(path, user.pw_uid, user.pw_gid)
    return path, dump


def start_launcher(prefix, config, user):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_ALLOW_RUN_AS_ROOT", "PMIX_", "OMPI_COMM"))}
    env.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
    return subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)], cwd=os.path.dirname(config),
                            user=user.pw_uid, group=user.pw_gid, extra_groups=[], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)


def oar_jobs(launcher_pid):
    """{job name: (state, exit_code, id)} for the launcher's jobs, from oarstat."""
    out = subprocess.run(["oarstat", "-f", "-J", "--sql", f"job_name like 'melissa.{launcher_pid}.%'"],
                         capture_output=True, text=True, check=True).stdout
    if not out.strip():
        return {}
    return {job["name"]: (job["state"], job["exit_code"], int(job_id)) for job_id, job in json.loads(out).items()}


def live(jobs):
    return [n for n, (state, _, _) in jobs.items() if state not in ("Terminated", "Error")]


def test_the_study_runs_on_oar_and_every_job_terminates_with_exit_code_0(workdir, job_user, oar_prefix):
    prefix = oar_prefix
    sims, steps = 3, 12
    config, dump = oar_config(workdir, prefix, job_user, sims=sims, steps=steps, ports=(20403, 20500))
    launcher = start_launcher(prefix, config, job_user)
    out, _ = launcher.communicate(timeout=240)
    assert launcher.returncode == 0, out
    study = workdir / "study"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    raw = load_dumps(dump, sims, steps, 2)
    res = load_results(study)
    np.testing.assert_allclose(res["mean"], raw.mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(res["variance"], raw.var(axis=0, ddof=1), rtol=1e-12, atol=1e-300)
    jobs = oar_jobs(launcher.pid)
    assert len(jobs) == sims, (jobs, out)
    assert all(state == "Terminated" and code == 0 for state, code, _ in jobs.values()), jobs
    assert "submitted as oar job" in out


def test_a_job_deleted_with_oardel_is_failed_and_run_again(workdir, job_user, oar_prefix):
    prefix = oar_prefix
    sims = 3
    config, _ = oar_config(workdir, prefix, job_user, sims=sims, steps=30, substeps=240000, ports=(20503, 20600),
                           fault_tolerance=True)
    launcher = start_launcher(prefix, config, job_user)
    deleted = []

    def delete_first_running_job():
        deadline = time.time() + 120
        while time.time() < deadline and not deleted:
            for name, (state, _, job_id) in oar_jobs(launcher.pid).items():
                if state == "Running":
                    subprocess.run(["su", JOB_USER, "-c", f"oardel {job_id}"], check=True, capture_output=True)
                    deleted.append((job_id, name))
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=delete_first_running_job, daemon=True)
    killer.start()
    out, _ = launcher.communicate(timeout=300)
    killer.join(timeout=5)
    assert deleted, out
    assert launcher.returncode == 0, out
    job_id, name = deleted[0]
    jobs = oar_jobs(launcher.pid)
    assert jobs[name][0] == "Error", jobs
    assert f"oar job {job_id}: OAR job deleted (oardel)" in out, out
    faults = json.loads((workdir / "study" / "faults.json").read_text())
    assert faults["resubmitted"] >= 1, faults
    summary = json.loads((workdir / "study" / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    assert live(jobs) == []


def test_ctrl_c_deletes_every_oar_job(workdir, job_user, oar_prefix):
    prefix = oar_prefix
    config, _ = oar_config(workdir, prefix, job_user, sims=4, steps=100000, ports=(20603, 20700))
    launcher = start_launcher(prefix, config, job_user)
    deadline = time.time() + 90
    while time.time() < deadline and not any(s == "Running" for s, _, _ in oar_jobs(launcher.pid).values()):
        time.sleep(0.2)
    assert live(oar_jobs(launcher.pid)), "no job ever ran"
    launcher.send_signal(signal.SIGINT)
    out, _ = launcher.communicate(timeout=120)
    assert launcher.returncode == 130, out
    jobs = oar_jobs(launcher.pid)
    assert jobs and live(jobs) == [], (jobs, out)
