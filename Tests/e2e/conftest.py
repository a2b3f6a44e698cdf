"""Shared fixtures for the end-to-end tests: the installed prefix and study configs."""
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def prefix():
    """The install prefix Scripts/build.sh filled (bin/, lib/, include/)."""
    p = pathlib.Path(os.environ.get("MELISSA_PREFIX", ROOT / "build"))
    assert (p / "bin" / "melissa-launcher").exists(), f"run Scripts/build.sh first ({p})"
    return p


def base_config(tmp, *, sims, steps, executable, args, server_ranks=2, client_ranks=2, job_limit=2,
                preprocessing=(), ports=(21003, 25000), simulation_timeout=None, seed=7,
                bounds=([0.5, 100.0], [2.0, 500.0]), group_size=1, fault_tolerance=False):
    """A valid two-parameter study config (a dict) whose output goes to `tmp/study`."""
    options = {
        "field_names": ["temperature"],
        "parameter_sweep_size": sims,
        "nb_parameters": 2,
        "nb_time_steps": steps,
        "seed": seed,
        "l_bounds": bounds[0],
        "u_bounds": bounds[1],
        "verbosity": 2,
        "group_size": group_size,
    }
    if simulation_timeout is not None:
        options["simulation_timeout"] = simulation_timeout
    return {
        "output_dir": str(tmp / "study"),
        "study_options": options,
        "sa_config": {"mean": True, "variance": True},
        "launcher_config": {
            "scheduler": "openmpi",
            "scheduler_arg_client": ["-n", str(client_ranks)],
            "scheduler_arg_server": ["-n", str(server_ranks)],
            "job_limit": job_limit,
            "timer_delay": 0.1,
            "server_timeout": 30,
            # Off unless a test is about faults: a deliberately failing client then fails once.
            "fault_tolerance": fault_tolerance,
        },
        "client_config": {
            "executable_command": str(executable),
            "command_default_args": [str(a) for a in args],
            "preprocessing_commands": list(preprocessing),
        },
        "server_config": {"connection_port": ports[0], "data_port": ports[1]},
    }


def write_config(tmp, cfg, comment="written by the end-to-end tests"):
    """Writes `cfg` as `tmp/study.json`, with a // comment line as users may have."""
    path = tmp / "study.json"
    path.write_text(f"// {comment}\n" + json.dumps(cfg, indent=2))
    return path


def study_config(tmp, prefix, *, sims=6, steps=12, nx=24, ny=15, server_ranks=2, client_ranks=2,
                 executable=None, extra_args=(), job_limit=2, preprocessing=(), group_size=1, server=None):
    """A small heat2d study in `tmp`, its raw outputs dumped for the numpy oracle; `server`
    adds or overrides server_config keys."""
    dump = tmp / "dump"
    dump.mkdir(exist_ok=True)
    cfg = base_config(tmp, sims=sims, steps=steps, executable=executable or prefix / "bin" / "heat2d",
                      args=["--steps", steps, "--nx", nx, "--ny", ny, *extra_args],
                      server_ranks=server_ranks, client_ranks=client_ranks, job_limit=job_limit,
                      group_size=group_size,
                      preprocessing=[f"export HEAT2D_DUMP_DIR={dump}", *preprocessing])
    cfg["server_config"].update(server or {})
    return write_config(tmp, cfg), dump


def load_results(study, field="temperature"):
    """Every variable of `study/results/<field>.nc` as numpy arrays, plus its global attributes
    under the key "attributes" (opened with Python's netCDF4, as users would)."""
    import netCDF4
    with netCDF4.Dataset(study / "results" / f"{field}.nc") as ds:
        ds.set_auto_mask(False)
        out = {name: np.array(var[...]) for name, var in ds.variables.items()}
        out["attributes"] = {k: ds.getncattr(k) for k in ds.ncattrs()}
        out["units"] = {name: var.getncattr("units") for name, var in ds.variables.items() if "units" in var.ncattrs()}
    return out


def run_launcher(prefix, config, timeout=240):
    """Runs melissa-launcher to the end; returns the CompletedProcess."""
    return subprocess.run([str(prefix / "bin" / "melissa-launcher"), str(config)],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
