"""Reference side of the statistics benchmark: the same updates with iterative-stats.

Reads the (N, K) float64 messages written by `melissa-bench-statistics --data-out`, folds
them with iterative-stats (IterativeMoments(max_order=4) + IterativeExtrema, and
IterativeSensitivityMartinez(nb_parms=3) on groups of 5 messages A, B, C1, C2, C3),
prints element-updates per second, and compares with the Swift results written by
`--results-out` at 1e-10 relative. Exits 1 (loudly) on any mismatch.

Usage: reference.py --data DATA.npy --results DIR [--repeat R] [--steps S]

With S > 1, message i is folded into time step i % S and Sobol group g into step g % S,
one iterative-stats object per step (as a Melissa server keeps them).
"""
import argparse
import logging
import sys
import time

import numpy as np
from iterative_stats.iterative_extrema import IterativeExtrema
from iterative_stats.iterative_moments import IterativeMoments
from iterative_stats.iterative_quantile import IterativeQuantile
from iterative_stats.sensitivity.sensitivity_martinez import IterativeSensitivityMartinez

RTOL = 1e-10


def fold_moments(data, steps):
    n, k = data.shape
    moments = [IterativeMoments(max_order=4, dim=k) for _ in range(steps)]
    extrema = [IterativeExtrema(dim=k) for _ in range(steps)]
    for i in range(n):
        row = data[i]
        moments[i % steps].increment(row)
        extrema[i % steps].increment(row)
    return moments, extrema


def fold_sobol(data, steps):
    n, k = data.shape
    sobol = [IterativeSensitivityMartinez(nb_parms=3, dim=k) for _ in range(steps)]
    for g in range(n // 5):
        sobol[g % steps].increment(data[5 * g:5 * g + 5])
    return sobol


def best_time(fold, data, steps, repeats):
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fold(data, steps)
        best = min(best, time.perf_counter() - t0)
    return best, result


def compare(name, ours, theirs, failures, floor=0.0):
    """Relative difference |a − b| / max(|a|, |b|, floor) must be ≤ RTOL."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        failures.append(f"{name}: shape {ours.shape} (Swift) != {theirs.shape} (iterative-stats)")
        return
    scale = np.maximum(np.maximum(np.abs(ours), np.abs(theirs)), floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, np.abs(ours - theirs) / scale, 0.0)
    bad = ~(rel <= RTOL)  # NaN counts as bad
    worst = float(np.nanmax(rel)) if rel.size else 0.0
    print(f"check {name}: max relative difference {worst:.3g} over {rel.size} values")
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        failures.append(f"{name}: {int(bad.sum())} values differ by more than {RTOL:g} relative; "
                        f"first at flat index {i}: Swift {ours.ravel()[i]!r}, iterative-stats {theirs.ravel()[i]!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1)
    args = parser.parse_args()
    # iterative-stats configures the root logger at DEBUG on import and logs every
    # IterativeMean/IterativeVariance increment (used by the Sobol estimator). Emitting those
    # lines would dominate its time; silence them (the f-strings are still formatted, as
    # they are in any use of the package).
    logging.getLogger().setLevel(logging.WARNING)

    data = np.load(args.data)
    n, k = data.shape
    steps = args.steps
    elements = n * k

    t_moments, (moments, _extrema) = best_time(fold_moments, data, steps, args.repeat)
    print(f"python moments4+extrema seconds={t_moments} rate={elements / t_moments}")
    with np.errstate(invalid="ignore", divide="ignore"):
        t_sobol, sobol = best_time(fold_sobol, data, steps, args.repeat)
    print(f"python sobol-martinez-p3 seconds={t_sobol} rate={elements / t_sobol}")

    failures = []
    load = lambda name: np.load(f"{args.results}/{name}.npy")
    stack = lambda f: np.stack([f(m) for m in moments])
    compare("mean", load("mean"), stack(lambda m: m.get_mean()), failures)
    # IterativeMoments.get_variance() is M2/n; ours is the sample variance M2/(n-1).
    compare("variance", load("variance"), stack(lambda m: m.m2 / (m.iteration - 1)), failures)
    # Skewness and kurtosis are dimensionless and can be ~0 with few samples: relative to max(|.|, 1).
    compare("skewness", load("skewness"), stack(lambda m: m.get_skewness()), failures, 1.0)
    compare("kurtosis", load("kurtosis"), stack(lambda m: m.get_kurtosis()), failures, 1.0)
    # IterativeExtrema starts from 0 (its min of all-positive data is 0): compare with numpy.
    compare("minimum", load("minimum"), np.stack([data[t::steps].min(axis=0) for t in range(steps)]), failures)
    compare("maximum", load("maximum"), np.stack([data[t::steps].max(axis=0) for t in range(steps)]), failures)
    # Sobol indices are correlations (|S| <= 1); near 0 a relative difference is meaningless
    # (the covariance sum cancels), so they are compared relative to max(|S|, 1).
    compare("first_order", load("first_order"), np.stack([s.getFirstOrderIndices().T for s in sobol]), failures, 1.0)
    compare("total_order", load("total_order"), np.stack([s.getTotalOrderIndices().T for s in sobol]), failures, 1.0)

    quantiles = load("quantiles")
    m = quantiles.shape[1]
    theirs = []
    for alpha in (0.1, 0.5, 0.9):
        q = IterativeQuantile(dim=m, alpha=alpha, max_it=n)
        for i in range(n):
            q.increment(data[i, :m].copy())  # copy: iteration 1 keeps (and later mutates) its argument
        theirs.append(q.get_stats())
    compare("quantiles", quantiles, np.array(theirs), failures)

    if failures:
        print("MISMATCH between Swift and iterative-stats:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        sys.exit(1)
    print("check: Swift and iterative-stats agree at 1e-10 relative")


if __name__ == "__main__":
    main()
