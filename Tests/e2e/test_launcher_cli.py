"""The launcher's command line against the installed binaries: bad configurations are
refused with their key path and exit code 2 before anything is started or written,
and a taken port is replaced by the next free one."""
import json
import socket

import pytest

from conftest import run_launcher, study_config

# (description, edit applied to a valid config, key path the error must name)
BAD = [
    ("unknown top-level key", lambda c: c.update(outptu_dir="x"), "outptu_dir"),
    ("typo in a nested key", lambda c: c["launcher_config"].update(job_limt=2), "launcher_config.job_limt"),
    ("wrong type", lambda c: c["study_options"].update(nb_time_steps="ten"), "study_options.nb_time_steps"),
    ("bool for an int", lambda c: c["launcher_config"].update(job_limit=True), "launcher_config.job_limit"),
    ("fraction for an int", lambda c: c["study_options"].update(parameter_sweep_size=2.5),
     "study_options.parameter_sweep_size"),
    ("impossible value", lambda c: c["launcher_config"].update(job_limit=0), "launcher_config.job_limit"),
    ("bounds reversed", lambda c: c["study_options"].update(l_bounds=[0.5, 600.0]), "study_options.u_bounds[1]"),
    ("bounds length", lambda c: c["study_options"].update(u_bounds=[1.0]), "study_options.u_bounds"),
    ("unknown scheduler", lambda c: c["launcher_config"].update(scheduler="pbs"), "launcher_config.scheduler"),
    ("missing required key", lambda c: c["client_config"].pop("executable_command"),
     "client_config.executable_command"),
    ("empty field list", lambda c: c["study_options"].update(field_names=[]), "study_options.field_names"),
    ("port out of range", lambda c: c["server_config"].update(data_port=70000), "server_config.data_port"),
]


@pytest.mark.parametrize("description,edit,key_path", BAD, ids=[b[0] for b in BAD])
def test_bad_config_exits_2_naming_the_key_and_writes_nothing(tmp_path, prefix, description, edit, key_path):
    path, _ = study_config(tmp_path, prefix)
    config = json.loads(path.read_text().split("\n", 1)[1])
    edit(config)
    path.write_text(json.dumps(config))
    proc = run_launcher(prefix, path, timeout=30)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert key_path in proc.stderr, proc.stderr
    assert not (tmp_path / "study").exists(), "nothing may be written for a bad config"


def test_typo_gets_the_nearest_valid_key(tmp_path, prefix):
    path, _ = study_config(tmp_path, prefix)
    config = json.loads(path.read_text().split("\n", 1)[1])
    config["launcher_config"]["job_limt"] = 2
    path.write_text(json.dumps(config))
    proc = run_launcher(prefix, path, timeout=30)
    assert "job_limit" in proc.stderr.split("job_limt", 1)[1], proc.stderr


def test_truncated_json_names_line_and_column(tmp_path, prefix):
    path, _ = study_config(tmp_path, prefix)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    proc = run_launcher(prefix, path, timeout=30)
    assert proc.returncode == 2
    assert f"{path}:" in proc.stderr and "JSON" in proc.stderr, proc.stderr


def test_taken_connection_port_moves_to_the_next_free_one(tmp_path, prefix):
    """The server binds (never checks then binds) and announces the port it really got."""
    with socket.socket() as blocker:
        blocker.bind(("0.0.0.0", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        path, _ = study_config(tmp_path, prefix, sims=2, steps=3)
        config = json.loads(path.read_text().split("\n", 1)[1])
        config["server_config"]["connection_port"] = taken
        config["server_config"]["data_port"] = taken + 100
        path.write_text(json.dumps(config))
        proc = run_launcher(prefix, path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = (tmp_path / "study" / "server.out").read_text()
    assert f"connection port {taken} was taken" in out, out
    script = (tmp_path / "study" / "client_scripts" / "client.0.sh").read_text()
    assert f":{taken}'" not in script and "MELISSA_SERVER_ADDRESS='tcp://" in script


def test_server_refuses_a_study_directory_it_cannot_write(tmp_path, prefix):
    """Started by hand with a bad MELISSA_STUDY_DIR, the server says why instead of running blind."""
    import os
    import subprocess
    path, _ = study_config(tmp_path, prefix)
    env = dict(os.environ, MELISSA_LAUNCHER_ADDRESS="tcp://127.0.0.1:1",
               MELISSA_STUDY_DIR=str(tmp_path / "does-not-exist"))
    proc = subprocess.run([str(prefix / "bin" / "melissa-server"), str(path)], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert "cannot create the log file" in proc.stderr and "does-not-exist" in proc.stderr, proc.stderr


def test_server_help_and_usage(prefix):
    import subprocess
    ok = subprocess.run([str(prefix / "bin" / "melissa-server"), "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "usage:" in ok.stdout
    bad = subprocess.run([str(prefix / "bin" / "melissa-server")], capture_output=True, text=True)
    assert bad.returncode == 2 and "usage:" in bad.stderr
