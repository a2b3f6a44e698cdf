"""The client library as simulations in C, C++, Fortran and Python see it: the installed headers,
include files, module and Python package build and run real studies (real launcher, server
ranks under mpirun, client jobs under mpirun) whose statistics equal numpy's on what each client
dumped; libmelissa.so exports the C API and nothing else; the launcher's preflight refuses a
study whose client executable is missing."""
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import ROOT, base_config, load_results, run_launcher, write_config

C_API = {"melissa_init", "melissa_init_f", "melissa_send", "melissa_finalize", "melissa_version",
         "melissa_fetch_next_parameters", "melissa_fetch_next_parameters_f", "melissa_simulation_id"}
CLIENTS = ROOT / "Tests" / "e2e" / "clients"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def config_flags(prefix, *options):
    out = subprocess.run([str(prefix / "bin" / "melissa-config"), *options], capture_output=True, text=True, check=True)
    return out.stdout.split()


def compile_client(prefix, tmp, source, compiler, flags):
    exe = tmp / source.stem
    proc = subprocess.run([compiler, str(source), *config_flags(prefix, flags, "--libs"), "-o", str(exe)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return exe


def dumps(dump, sims, steps, client_ranks):
    """(sims, steps, cells): each client rank's dumped slice, concatenated in rank order."""
    return np.stack([
        np.concatenate([np.fromfile(dump / f"heat2d.sim{s}.rank{r}.bin", dtype="<f8").reshape(steps, -1)
                        for r in range(client_ranks)], axis=1)
        for s in range(sims)])


def run_study(tmp, prefix, *, executable, args, sims, steps, client_ranks=3, server_ranks=2, ports,
              preprocessing=()):
    """Runs a study whose clients dump into tmp/dump; returns (raw dumps, results)."""
    dump = tmp / "dump"
    dump.mkdir()
    cfg = base_config(tmp, sims=sims, steps=steps, executable=executable, args=args, ports=ports,
                      client_ranks=client_ranks, server_ranks=server_ranks,
                      preprocessing=[f"export HEAT2D_DUMP_DIR={dump}", *preprocessing])
    proc = run_launcher(prefix, write_config(tmp, cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp / "study" / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    return dumps(dump, sims, steps, client_ranks), load_results(tmp / "study")


def assert_matches_numpy(raw, results, sims):
    assert results["mean"].shape == raw.shape[1:]
    assert (results["count"] == sims).all()
    np.testing.assert_allclose(results["mean"], raw.mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(results["variance"], raw.var(axis=0, ddof=1), rtol=1e-12, atol=1e-300)
    assert results["variance"].max() > 0  # the simulations really differed


def test_library_exports_only_the_c_api(prefix):
    library = prefix / "lib" / "libmelissa.so"
    table = subprocess.run(["readelf", "--dyn-syms", "-W", str(library)], capture_output=True, text=True, check=True)
    exported = set()
    for line in table.stdout.splitlines():
        fields = line.split()
        # Num: Value Size Type Bind Vis Ndx Name; defined (Ndx not UND) global or weak symbols are
        # what another object can bind to.
        if len(fields) >= 8 and fields[4] in ("GLOBAL", "WEAK") and fields[6] != "UND":
            exported.add(fields[7].split("@")[0])
    assert exported == C_API, sorted(exported - C_API)[:20]
    dynamic = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True, check=True).stdout
    assert "Library soname: [libmelissa.so.0]" in dynamic, dynamic
    # No Foundation (and so no ICU) and no Swift toolchain at run time: the runtime is inside.
    assert "Foundation" not in dynamic and "libswiftCore" not in dynamic, dynamic
    assert os.path.realpath(library).endswith(".so." + config_flags(prefix, "--version")[0])


def test_cpp_simulation_with_both_header_names(tmp_path, prefix):
    exe = compile_client(prefix, tmp_path, CLIENTS / "cpp_client.cpp", "mpicxx", "--cflags")
    sims, steps = 4, 5
    raw, results = run_study(tmp_path, prefix, executable=exe, args=[steps, 7], sims=sims, steps=steps,
                             client_ranks=2, ports=(21103, 25100))
    assert_matches_numpy(raw, results, sims)
    assert (tmp_path / "dump" / "version.txt").read_text().strip() == config_flags(prefix, "--version")[0]


def test_fortran_heat2d_with_melissas_include_file(tmp_path, prefix):
    """Examples/heat2d-fortran: include "mpif.h" and "melissa/api.f90" unchanged, a blank-padded
    field name with no char(0); 3 client ranks onto 2 server ranks."""
    sims, steps = 4, 6
    raw, results = run_study(tmp_path, prefix, executable=prefix / "bin" / "heat2d-fortran",
                             args=["--steps", steps, "--nx", 9, "--ny", 8], sims=sims, steps=steps,
                             ports=(21113, 25110))
    assert raw.shape == (sims, steps, 9 * 8)
    assert_matches_numpy(raw, results, sims)


def test_fortran_module_with_mpi_f08(tmp_path, prefix):
    exe = compile_client(prefix, tmp_path, CLIENTS / "fortran_module_client.f90", "mpifort", "--fflags")
    sims, steps = 3, 4
    raw, results = run_study(tmp_path, prefix, executable=exe, args=[steps, 5], sims=sims, steps=steps,
                             ports=(21123, 25120))
    assert_matches_numpy(raw, results, sims)
    assert (tmp_path / "dump" / "version.txt").read_text().strip() == config_flags(prefix, "--version")[0]


def test_python_heat2d(tmp_path, prefix):
    """Examples/heat2d-python under the venv's Python, mpi4py, 3 client ranks onto 2 server ranks."""
    sims, steps = 4, 5
    raw, results = run_study(tmp_path, prefix, executable=VENV_PYTHON,
                             args=[prefix / "bin" / "heat2d-python", "--steps", steps, "--nx", 10, "--ny", 9],
                             sims=sims, steps=steps, ports=(21133, 25130),
                             preprocessing=[f"export PYTHONPATH={prefix / 'lib' / 'python'}"])
    assert raw.shape == (sims, steps, 90)
    assert_matches_numpy(raw, results, sims)


def test_python_module_refuses_bad_arrays_and_does_not_copy(tmp_path, prefix):
    sims, steps = 2, 3
    raw, results = run_study(tmp_path, prefix, executable=VENV_PYTHON,
                             args=[CLIENTS / "python_client.py", steps, 6], sims=sims, steps=steps,
                             ports=(21143, 25140), preprocessing=[f"export PYTHONPATH={prefix / 'lib' / 'python'}"])
    assert_matches_numpy(raw, results, sims)
    checks = json.loads((tmp_path / "dump" / "checks.0.json").read_text())
    assert checks["version"] == config_flags(prefix, "--version")[0]
    assert checks["float32"].startswith("TypeError") and "float64" in checks["float32"], checks
    assert checks["big_endian"].startswith("TypeError"), checks
    assert checks["strided"].startswith("ValueError") and "contiguous" in checks["strided"], checks
    assert checks["wrong_size"].startswith("ValueError") and "registered with 6" in checks["wrong_size"], checks
    assert checks["list"].startswith("TypeError"), checks
    # An 8 MB array sent without Python allocating anything near its size (a copy would).
    assert checks["array_bytes"] == 8_000_000
    assert checks["send_peak_bytes"] < checks["array_bytes"] // 100, checks


def test_python_module_checks_before_calling_the_library(prefix):
    """Type and layout errors are raised before any MPI or server is involved."""
    code = ("import numpy as np, melissa_api\n"
            "for bad in (np.zeros(3, np.float32), np.zeros(6)[::2]):\n"
            "    try: melissa_api.melissa_send('temperature', bad)\n"
            "    except (TypeError, ValueError) as e: print(type(e).__name__)\n"
            "try: melissa_api.melissa_init('temperature', 3, object())\n"
            "except TypeError as e: print('TypeError', 'mpi4py' in str(e))\n"
            "try: melissa_api.melissa_init('bad name', 3, None)\n"
            "except ValueError as e: print('ValueError')\n")
    proc = subprocess.run([str(VENV_PYTHON), "-c", code], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(prefix / "lib" / "python")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:4] == ["TypeError", "ValueError", "TypeError True", "ValueError"], proc.stdout


def test_fortran_name_without_terminator_fails_clearly(tmp_path, prefix):
    exe = compile_client(prefix, tmp_path, CLIENTS / "unterminated_name.c", "mpicc", "--cflags")
    proc = subprocess.run(["mpirun", "-n", "1", str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "melissa: melissa_init: field_name has no NUL or blank within 255 bytes" in proc.stderr, proc.stderr


def test_preflight_refuses_a_missing_client_executable(tmp_path, prefix):
    missing = tmp_path / "no-such-simulation"
    cfg = base_config(tmp_path, sims=2, steps=2, executable=missing, args=[], ports=(21153, 25150))
    proc = run_launcher(prefix, write_config(tmp_path, cfg), timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f'client_config.executable_command is "{missing}", which does not exist' in proc.stderr, proc.stderr
    assert "nothing was started" in proc.stderr
    assert not (tmp_path / "study").exists()


def test_preflight_refuses_a_client_that_is_not_executable(tmp_path, prefix):
    script = tmp_path / "simulation.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    cfg = base_config(tmp_path, sims=2, steps=2, executable=script, args=[], ports=(21163, 25160))
    proc = run_launcher(prefix, write_config(tmp_path, cfg), timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "is not executable (mode 644; chmod +x it)" in proc.stderr, proc.stderr


def test_preflight_looks_bare_names_up_on_path(tmp_path, prefix):
    cfg = base_config(tmp_path, sims=2, steps=2, executable="melissa-no-such-program", args=[], ports=(21173, 25170))
    cfg["client_config"]["preprocessing_commands"] = []
    proc = run_launcher(prefix, write_config(tmp_path, cfg), timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert '"melissa-no-such-program", which is not an executable file in any directory of PATH=' in proc.stderr
