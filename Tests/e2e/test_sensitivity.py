"""End to end: the sensitivity-analysis flavor with every statistic, on real Ishigami clients.

The Ishigami function is analytic, so the oracle recomputes every simulation's output from
parameters.csv (what the server sampled) and compares the server's NetCDF results with numpy
and with the `iterative-stats` package (what the modern Melissa server uses)."""
import csv
import json
import math

import numpy as np
import pytest

from conftest import base_config, load_results, run_launcher, write_config

PI = math.pi
A, B = 7.0, 0.1
# Analytic Sobol indices of Ishigami for a = 7, b = 0.1 (Examples/ishigami/README.md).
V = A * A / 8 + B * PI**4 / 5 + B * B * PI**8 / 18 + 0.5
S_FIRST = [0.5 * (1 + B * PI**4 / 5) ** 2 / V, A * A / 8 / V, 0.0]
ST3 = 8 * B * B * PI**8 / 225 / V
S_TOTAL = [S_FIRST[0] + ST3, S_FIRST[1], ST3]


def ishigami_config(tmp, prefix, *, sweep, cells=5, steps=3, with_z=False, sa=None, sampler="uniform",
                    server_ranks=2, client_ranks=2, job_limit=1, ports=(22003, 26000), seed=11,
                    options=None, server=None):
    cfg = base_config(tmp, sims=sweep, steps=steps, executable=prefix / "bin" / "ishigami",
                      args=["--cells", cells, "--steps", steps] + (["--with-z"] if with_z else []),
                      server_ranks=server_ranks, client_ranks=client_ranks, job_limit=job_limit,
                      ports=ports, simulation_timeout=20, seed=seed, bounds=([-PI] * 3, [PI] * 3))
    options_ = cfg["study_options"]
    del options_["group_size"]  # Sobol studies derive it (p + 2); others run one simulation per job
    options_.update({"field_names": ["y", "z"] if with_z else ["y"], "nb_parameters": 3, "sampler": sampler,
                     **(options or {})})
    cfg["sa_config"] = sa or {"mean": True, "variance": True}
    cfg["server_config"].update(server or {})
    return write_config(tmp, cfg)


def read_parameters(study):
    with open(study / "parameters.csv") as f:
        rows = list(csv.DictReader(f))
    return rows, np.array([[float(r[f"p{k}"]) for k in range(3)] for r in rows])


def outputs(x, steps, cells):
    """(sims, steps, cells) arrays of y and z exactly as the client computes them."""
    y = np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])
    z = x[:, 0] + x[:, 1] * x[:, 2]
    t = np.arange(steps)[None, :, None] + 1.0
    c = np.arange(cells)[None, None, :]
    return t * y[:, None, None] + c, t * z[:, None, None] + c


def check(proc, code=0):
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def test_every_statistic_matches_numpy_and_iterative_stats(tmp_path, prefix):
    from iterative_stats.iterative_moments import IterativeMoments
    from iterative_stats.iterative_quantile import IterativeQuantile

    sims, steps, cells = 40, 3, 5
    thresholds, levels = [0.0, 3.5, 9.0], [0.1, 0.5, 0.9]
    sa = {"mean": True, "variance": True, "skewness": True, "kurtosis": True, "min": True, "max": True,
          "threshold_exceedance": True, "threshold_values": thresholds,
          "quantiles": True, "quantile_values": levels, "covariance_pairs": [["y", "z"]]}
    # job_limit 1: simulations run one after the other, so every cell sees them in id order
    # and the order-dependent Robbins-Monro quantile can be replayed exactly.
    config = ishigami_config(tmp_path, prefix, sweep=sims, cells=cells, steps=steps, with_z=True, sa=sa)
    check(run_launcher(prefix, config))
    study = tmp_path / "study"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0
    _, x = read_parameters(study)
    y, z = outputs(x, steps, cells)
    r = load_results(study, "y")

    assert r["mean"].shape == (steps, cells)
    assert (r["count"] == sims).all() and r["count"].dtype.kind == "i"
    np.testing.assert_allclose(r["mean"], y.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(r["variance"], y.var(axis=0, ddof=1), rtol=1e-10)
    d = y - y.mean(axis=0)
    m2, m3, m4 = (d**2).sum(axis=0), (d**3).sum(axis=0), (d**4).sum(axis=0)
    np.testing.assert_allclose(r["skewness"], math.sqrt(sims) * m3 / m2**1.5, rtol=1e-10)
    np.testing.assert_allclose(r["kurtosis"], sims * m4 / m2**2, rtol=1e-10)
    np.testing.assert_array_equal(r["min"], y.min(axis=0))
    np.testing.assert_array_equal(r["max"], y.max(axis=0))
    for i, t in enumerate(thresholds):
        np.testing.assert_array_equal(r["threshold_exceedance"][i], (y > t).sum(axis=0))
    np.testing.assert_allclose(r["threshold"], thresholds)
    np.testing.assert_allclose(r["quantile_level"], levels)
    np.testing.assert_allclose(r["covariance_z"], ((y - y.mean(0)) * (z - z.mean(0))).sum(0) / (sims - 1), rtol=1e-10)

    # iterative-stats, fed the same samples in the same order, step by step.
    for t in range(steps):
        moments = IterativeMoments(4, dim=cells)
        for s in range(sims):
            moments.increment(y[s, t].copy())
        np.testing.assert_allclose(r["mean"][t], moments.get_mean(), rtol=1e-10)
        np.testing.assert_allclose(r["variance"][t] * (sims - 1) / sims, moments.get_variance(), rtol=1e-10)
        np.testing.assert_allclose(r["skewness"][t], moments.get_skewness(), rtol=1e-10)
        np.testing.assert_allclose(r["kurtosis"][t], moments.get_kurtosis(), rtol=1e-10)
        for i, level in enumerate(levels):
            q = IterativeQuantile(dim=cells, alpha=level, max_it=sims)
            for s in range(sims):
                q.increment(y[s, t].copy())
            np.testing.assert_allclose(r["quantile"][i, t], q.get_stats(), rtol=1e-10)
            # And the documented tolerance against the empirical quantile (docs/STATISTICS.md):
            # a few percent of the sample range at this sample size.
            spread = y[:, t].max(axis=0) - y[:, t].min(axis=0)
            assert (np.abs(r["quantile"][i, t] - np.quantile(y[:, t], level, axis=0)) <= 0.15 * spread).all()

    attrs = r["attributes"]
    assert attrs["field"] == "y" and attrs["nb_simulations"] == sims and attrs["sampler"] == "uniform"
    assert attrs["nb_finished"] == sims and attrs["nb_failed"] == 0 and attrs["parameter_names"] == "p0,p1,p2"
    assert r["units"]["count"] == "1"
    rz = load_results(study, "z")
    np.testing.assert_allclose(rz["mean"], z.mean(axis=0), rtol=1e-10)
    assert "covariance_y" not in rz  # a pair's covariance is stored once, with its first field
    report = (study / "report.html").read_text()
    assert "<svg" in report and f"{sims}" in report


def test_sobol_indices_of_ishigami_contain_the_analytic_values(tmp_path, prefix):
    groups, steps, cells = 160, 2, 3
    sa = {"mean": True, "variance": True, "sobol_indices": True, "report_probes": [0, 2]}
    config = ishigami_config(tmp_path, prefix, sweep=groups, cells=cells, steps=steps, sa=sa,
                             client_ranks=1, job_limit=4, sampler="halton", ports=(22103, 26100))
    check(run_launcher(prefix, config, timeout=600))
    study = tmp_path / "study"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == groups * 5 and summary["failed"] == 0

    rows, x = read_parameters(study)
    assert [r["role"] for r in rows[:5]] == ["A", "B", "C1", "C2", "C3"]
    for g in range(groups):
        a, b, cs = x[5 * g], x[5 * g + 1], x[5 * g + 2:5 * g + 5]
        for k in range(3):
            expected = a.copy()
            expected[k] = b[k]
            np.testing.assert_array_equal(cs[k], expected)

    r = load_results(study, "y")
    assert r["sobol_first"].shape == (3, steps, cells)
    assert (r["sobol_groups"] == groups).all()
    for k in range(3):
        lo, hi = r["sobol_first_lower"][k], r["sobol_first_upper"][k]
        assert (lo <= S_FIRST[k]).all() and (S_FIRST[k] <= hi).all(), (k, lo, hi)
        lo, hi = r["sobol_total_lower"][k], r["sobol_total_upper"][k]
        assert (lo <= S_TOTAL[k]).all() and (S_TOTAL[k] <= hi).all(), (k, lo, hi)
        assert (r["sobol_first_lower"][k] <= r["sobol_first"][k]).all()
        assert (r["sobol_first"][k] <= r["sobol_first_upper"][k]).all()

    # The Martinez estimates equal the correlations computed by numpy from the same outputs.
    y, _ = outputs(x, steps, cells)
    ya, yb = y[0::5], y[1::5]
    for k in range(3):
        yc = y[2 + k::5]
        for t in range(steps):
            for c in range(cells):
                s = np.corrcoef(yb[:, t, c], yc[:, t, c])[0, 1]
                st = 1 - np.corrcoef(ya[:, t, c], yc[:, t, c])[0, 1]
                assert abs(r["sobol_first"][k, t, c] - s) <= 1e-10 * max(1, abs(s))
                assert abs(r["sobol_total"][k, t, c] - st) <= 1e-10 * max(1, abs(st))
    # Moments of a Sobol study use the A and B members: 2 independent samples per group.
    assert (r["count"] == 2 * groups).all()
    both = np.concatenate([ya, yb])
    np.testing.assert_allclose(r["mean"], both.mean(axis=0), rtol=1e-10)

    report = (study / "report.html").read_text()
    assert report.count("<svg") >= 4 and "p2" in report


def test_sobol_study_stops_early_once_intervals_are_narrow(tmp_path, prefix):
    groups = 400
    sa = {"mean": True, "sobol_indices": True, "sobol_convergence_width": 0.9}
    config = ishigami_config(tmp_path, prefix, sweep=groups, cells=2, steps=1, sa=sa, client_ranks=1,
                             job_limit=4, ports=(22203, 26200))
    proc = run_launcher(prefix, config, timeout=600)
    check(proc)
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    assert summary["stopped"] == "statistics converged", summary
    assert 0 < summary["finished"] < groups * 5, summary
    r = load_results(tmp_path / "study", "y")
    assert 4 <= r["sobol_groups"].min() < groups


def test_memory_limit_refuses_to_start_with_the_keys_named(tmp_path, prefix):
    config = ishigami_config(tmp_path, prefix, sweep=2, options={"field_sizes": [50_000_000]},
                             server={"memory_limit_mb": 64}, ports=(22303, 26300),
                             sa={"mean": True, "variance": True, "kurtosis": True})
    proc = run_launcher(prefix, config, timeout=120)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    logs = "".join(p.read_text() for p in (tmp_path / "study").glob("*.log"))
    assert "server_config.memory_limit_mb" in text + logs, text + logs
    assert not (tmp_path / "study" / "client_scripts").exists() or not any((tmp_path / "study" / "client_scripts").iterdir())


def test_field_sizes_refuse_data_of_another_size(tmp_path, prefix):
    config = ishigami_config(tmp_path, prefix, sweep=2, cells=5, options={"field_sizes": [4], "simulation_timeout": 2},
                             ports=(22403, 26400))
    proc = run_launcher(prefix, config, timeout=120)
    check(proc, 1)
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    assert summary["counters"]["inconsistent"] > 0 and summary["counters"]["accepted"] == 0, summary
    assert summary["failed"] >= 1 and summary["finished"] == 0, summary
    log = (tmp_path / "study" / "server.rank0.log").read_text()
    assert "study_options.field_sizes says 4" in log
