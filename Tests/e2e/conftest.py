"""Shared fixtures for the end-to-end tests: the installed prefix and study configs."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def prefix():
    """The install prefix Scripts/build.sh filled (bin/, lib/, include/)."""
    p = pathlib.Path(os.environ.get("MELISSA_PREFIX", ROOT / "build"))
    assert (p / "bin" / "melissa-launcher").exists(), f"run Scripts/build.sh first ({p})"
    return p


def study_config(tmp, prefix, *, sims=6, steps=12, nx=24, ny=15, server_ranks=2, client_ranks=2,
                 executable=None, extra_args=(), job_limit=2, preprocessing=()):
    """A small heat2d study in `tmp`, its raw outputs dumped for the numpy oracle."""
    dump = tmp / "dump"
    dump.mkdir(exist_ok=True)
    cfg = {
        "output_dir": str(tmp / "study"),
        "study_options": {
            "field_names": ["temperature"],
            "parameter_sweep_size": sims,
            "nb_parameters": 2,
            "nb_time_steps": steps,
            "seed": 7,
            "l_bounds": [0.5, 100.0],
            "u_bounds": [2.0, 500.0],
            "verbosity": 2,
        },
        "sa_config": {"mean": True, "variance": True},
        "launcher_config": {
            "scheduler": "openmpi",
            "scheduler_arg_client": ["-n", str(client_ranks)],
            "scheduler_arg_server": ["-n", str(server_ranks)],
            "job_limit": job_limit,
            "timer_delay": 0.1,
            "server_timeout": 30,
        },
        "client_config": {
            "executable_command": executable or str(prefix / "bin" / "heat2d"),
            "command_default_args": ["--steps", str(steps), "--nx", str(nx), "--ny", str(ny), *extra_args],
            "preprocessing_commands": [f"export HEAT2D_DUMP_DIR={dump}", *preprocessing],
        },
        "server_config": {"connection_port": 21003, "data_port": 25000},
    }
    path = tmp / "study.json"
    path.write_text("// written by the end-to-end tests\n" + json.dumps(cfg, indent=2))
    return path, dump


def run_launcher(prefix, config, timeout=240):
    """Runs melissa-launcher to the end; returns the CompletedProcess."""
    return subprocess.run([str(prefix / "bin" / "melissa-launcher"), str(config)],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
