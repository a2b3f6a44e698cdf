"""The statistics benchmark in a tiny size, so it cannot rot: both sides run on the same data
and reference.py's cross-check against iterative-stats must pass. Asserts agreement, never a
speed (docs/PERFORMANCE.md has the figures)."""
import subprocess
import sys

from conftest import ROOT


def bench_binary():
    """The debug build of melissa-bench-statistics that `swift build --build-tests` made."""
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    return f"{bin_dir}/melissa-bench-statistics"


def test_statistics_benchmark_short_mode_agrees_with_iterative_stats(tmp_path):
    data = tmp_path / "data.npy"
    ours = subprocess.run([bench_binary(), "--messages", "100", "--cells", "300", "--repeat", "1",
                           "--steps", "2", "--quantile-cells", "50",
                           "--data-out", str(data), "--results-out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert ours.returncode == 0, ours.stderr
    assert "moments4+extrema" in ours.stdout and "sobol-martinez-p3" in ours.stdout
    reference = subprocess.run([sys.executable, str(ROOT / "Benchmarks/statistics/reference.py"),
                                "--data", str(data), "--results", str(tmp_path), "--repeat", "1",
                                "--steps", "2"], capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stdout + reference.stderr
    assert "rate=" in reference.stdout


def test_reference_check_fails_on_a_wrong_result(tmp_path):
    """The cross-check can fail: one perturbed mean makes reference.py exit 1."""
    import numpy as np
    data = tmp_path / "data.npy"
    subprocess.run([bench_binary(), "--messages", "50", "--cells", "100", "--repeat", "1",
                    "--quantile-cells", "20", "--data-out", str(data), "--results-out", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    means = tmp_path / "mean.npy"
    m = np.load(means)
    m.flat[7] += 1e-6 * max(abs(m.flat[7]), 1.0)
    np.save(means, m)
    reference = subprocess.run([sys.executable, str(ROOT / "Benchmarks/statistics/reference.py"),
                                "--data", str(data), "--results", str(tmp_path), "--repeat", "1"],
                               capture_output=True, text=True, timeout=300)
    assert reference.returncode == 1, reference.stdout + reference.stderr
    assert "mean" in reference.stdout + reference.stderr
