"""A results file written by the Swift layer (MelissaNetCDF.FieldResultsFile), read with
Python's netCDF4: dimensions, coordinates, values, NaN, attributes and chunking as
docs/RESULTS.md describes them.

The file comes from the XCTest PythonFixtureTests.testWritesResultsFixture, run with
MELISSA_NETCDF_FIXTURE_DIR set; its contents follow the formulas in
Tests/MelissaNetCDFTests/ResultsFixture.swift, repeated below. The Swift test binary must be
built first: `swift build --scratch-path <dir> --build-tests`, with MELISSA_SWIFT_SCRATCH=<dir>
(default .build at the repository root)."""
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

netCDF4 = pytest.importorskip("netCDF4")

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEST = "MelissaNetCDFTests.PythonFixtureTests/testWritesResultsFixture"
STEPS, CELLS = 4, 11


def expected(variable, extra=0):
    """ResultsFixture.value over the whole (time, cell) grid at one extra index."""
    step, cell = np.meshgrid(np.arange(STEPS), np.arange(CELLS), indexing="ij")
    base = 1000.0 * step + cell
    if variable == "variance":
        return np.where(cell % 4 == 0, np.nan, base + 0.5)
    if variable == "count":
        return (step + cell).astype(np.int64)
    if variable in ("sobol_first", "quantile"):
        return base + 0.25 * extra
    return base


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    """Runs the Swift fixture test into a fresh directory and returns the file's path."""
    scratch = pathlib.Path(os.environ.get("MELISSA_SWIFT_SCRATCH", ".build"))
    if not scratch.is_absolute():
        scratch = ROOT / scratch
    bundle = scratch / "debug" / "melissa-swiftPackageTests.xctest"
    if not bundle.exists():
        pytest.skip(f"Swift test binary not built ({bundle}): run "
                    f"`swift build --scratch-path {scratch} --build-tests` or set MELISSA_SWIFT_SCRATCH")
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    if not pathlib.Path(swift).exists():
        pytest.skip("no swift toolchain on PATH")
    out = tmp_path_factory.mktemp("netcdf")
    env = dict(os.environ, MELISSA_NETCDF_FIXTURE_DIR=str(out))
    proc = subprocess.run([swift, "test", "--scratch-path", str(scratch), "--skip-build", "--filter", TEST],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    # --filter matching nothing also exits 0: the file is the proof the test ran.
    assert "Executed 1 test, with 0 failures" in proc.stdout, proc.stdout[-4000:]
    path = out / "temperature.nc"
    assert path.exists(), f"{TEST} did not write {path}"
    return path


@pytest.fixture
def ds(results_file):
    with netCDF4.Dataset(results_file) as dataset:
        yield dataset


def test_netcdf4_format_dimensions_and_coordinates(ds):
    assert ds.data_model == "NETCDF4"
    assert {name: len(d) for name, d in ds.dimensions.items()} == \
        {"time": STEPS, "cell": CELLS, "parameter": 3, "quantile_level": 3}
    assert not any(d.isunlimited() for d in ds.dimensions.values())
    assert ds["time"].dtype == np.int64 and ds["cell"].dtype == np.int64
    np.testing.assert_array_equal(ds["time"][:], np.arange(STEPS))
    np.testing.assert_array_equal(ds["cell"][:], np.arange(CELLS))
    np.testing.assert_array_equal(ds["parameter"][:], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(ds["quantile_level"][:], [0.05, 0.5, 0.95])
    assert ds["parameter"].labels.split(",") == ["alpha", "beta", "gamma"]
    assert ds["quantile_level"].description == "quantile level"


def test_variables_dimensions_types_and_values(ds):
    ds.set_auto_mask(False)
    layout = {"mean": ("time", "cell"), "variance": ("time", "cell"), "count": ("time", "cell"),
              "sobol_first": ("parameter", "time", "cell"), "quantile": ("quantile_level", "time", "cell")}
    for name, dims in layout.items():
        assert ds[name].dimensions == dims, name
    assert ds["count"].dtype == np.int64
    np.testing.assert_array_equal(ds["mean"][:], expected("mean"))
    np.testing.assert_array_equal(ds["count"][:], expected("count"))
    for p in range(3):
        np.testing.assert_array_equal(ds["sobol_first"][p], expected("sobol_first", p))
        np.testing.assert_array_equal(ds["quantile"][p], expected("quantile", p))


def test_nan_survives_and_nothing_is_masked(ds):
    variance = ds["variance"][:]  # netCDF4's default: a masked array
    assert not np.ma.is_masked(variance), "NaN must not be mistaken for a fill value"
    data = np.ma.getdata(variance)
    cell = np.arange(CELLS)[None, :].repeat(STEPS, axis=0)
    np.testing.assert_array_equal(np.isnan(data), cell % 4 == 0)
    np.testing.assert_array_equal(data, expected("variance"))  # NaN == NaN for numpy's testing
    assert "_FillValue" not in ds["variance"].ncattrs()


def test_attributes(ds):
    assert ds.field == "temperature"
    assert ds.results_format_version == 1
    assert ds.study == "fixture study"
    assert ds.parameter_names.split(",") == ["alpha", "beta", "gamma"]
    assert ds.nb_simulations == 12
    np.testing.assert_array_equal(ds.l_bounds, [0.5, 100.0, 1.0])
    assert ds.threshold == 0.75
    assert (ds["mean"].units, ds["mean"].description) == ("K", "mean over simulations")
    assert (ds["count"].units, ds["count"].description) == ("1", "samples folded in")
    assert ds["sobol_first"].description == "first-order Sobol index"


def test_chunking_and_no_compression(ds):
    # 11 cells x 4 steps fit in one 16 Ki-value chunk; one extra index per chunk.
    assert ds["mean"].chunking() == [STEPS, CELLS]
    assert ds["sobol_first"].chunking() == [1, STEPS, CELLS]
    assert ds["time"].chunking() == "contiguous"
    assert not ds["mean"].filters()["zlib"]
