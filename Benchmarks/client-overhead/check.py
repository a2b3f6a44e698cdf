#!/usr/bin/env python3
"""Correctness checks of the client-overhead benchmark (Benchmarks/client-overhead/run.sh).

    check.py --study DIR --nx N --ny N --steps S --client-ranks C --server-ranks M
             [--dump DIR] [--off-dump DIR]

For the study in DIR (the launcher's output_dir):

* summary.json: exit_code 0, not stopped, no errors, finished == simulations, failed 0,
  every drop counter 0, and messages == accepted == the expected number of data messages:
  simulations x steps x pieces per step, where the pieces per step follow the client library's
  redistribution (docs/PROTOCOL.md, section 5): each client rank sends one message per server
  rank whose block overlaps its slice of rows (heat2d splits the ny rows over the C ranks, the
  first ny % C ranks getting one more), plus, when the field is smaller than M, one header-only
  notice per empty block from client rank 0.
* with --dump DIR (the study ran heat2d with HEAT2D_DUMP_DIR=DIR): results/temperature.nc has
  count == simulations everywhere, and its mean equals the mean over simulations of the dumped
  values to 1e-9 relative, at every time step (the last one reported).
* with --off-dump DIR (heat2d --no-melissa run with the same parameters, MELISSA_SIMU_ID set
  to the same ids, HEAT2D_DUMP_DIR=DIR): those values are bitwise those the study streamed
  (streaming does not change the computation).

Prints what it checked; on any failure prints `check.py: FAILED: ...` and exits 1.
"""
import argparse
import csv
import json
import pathlib
import sys

import numpy as np

RTOL = 1e-9
DROP_COUNTERS = ("malformed", "unknown_simulation", "unknown_field", "out_of_range_step", "misrouted",
                 "duplicates", "closed_simulation", "inconsistent")


def pieces_per_step(nx, ny, client_ranks, server_ranks):
    """Data messages one simulation sends per time step (all client ranks together)."""
    total = nx * ny
    q, e = divmod(total, server_ranks)
    blocks = [(r * q + min(r, e), r * q + min(r, e) + q + (1 if r < e else 0)) for r in range(server_ranks)]
    pieces, offset = 0, 0
    for r in range(client_ranks):
        rows = ny // client_ranks + (1 if r < ny % client_ranks else 0)
        lo, hi = offset, offset + rows * nx
        offset = hi
        pieces += sum(1 for b_lo, b_hi in blocks if max(lo, b_lo) < min(hi, b_hi))
    pieces += sum(1 for b_lo, b_hi in blocks if b_lo == b_hi)  # empty-block notices (total < M)
    return pieces


def simulation_ids(study):
    with open(study / "parameters.csv", newline="") as f:
        return [int(row["simulation_id"]) for row in csv.DictReader(f)]


def load_dump(dump_dir, sim, client_ranks, steps):
    """The global field of one simulation, (steps, nx*ny), from its per-rank dump files."""
    parts = []
    for r in range(client_ranks):
        path = dump_dir / f"heat2d.sim{sim}.rank{r}.bin"
        values = np.fromfile(path, dtype="<f8")
        if values.size % steps != 0:
            raise ValueError(f"{path}: {values.size} values, not a multiple of {steps} steps")
        parts.append(values.reshape(steps, -1))
    return np.concatenate(parts, axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=pathlib.Path, required=True)
    parser.add_argument("--nx", type=int, required=True)
    parser.add_argument("--ny", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--client-ranks", type=int, required=True)
    parser.add_argument("--server-ranks", type=int, required=True)
    parser.add_argument("--dump", type=pathlib.Path)
    parser.add_argument("--off-dump", type=pathlib.Path)
    args = parser.parse_args()

    failures = []

    def check(ok, message):
        if not ok:
            failures.append(message)
        return ok

    study = args.study
    summary = json.loads((study / "summary.json").read_text())
    sims = summary["simulations"]
    counters = summary["counters"]
    expected = sims * args.steps * pieces_per_step(args.nx, args.ny, args.client_ranks, args.server_ranks)
    check(summary["exit_code"] == 0, f"summary.json: exit_code {summary['exit_code']}")
    check(summary.get("stopped") is None, f"summary.json: stopped: {summary.get('stopped')}")
    check(not summary.get("errors"), f"summary.json: errors: {summary.get('errors')}")
    check(summary["finished"] == sims and summary["failed"] == 0,
          f"summary.json: {summary['finished']} of {sims} simulations finished, {summary['failed']} failed")
    drops = {k: counters.get(k) for k in DROP_COUNTERS if counters.get(k) != 0}
    check(not drops, f"summary.json: dropped messages: {drops}")
    check(counters["accepted"] == expected and counters["messages"] == expected,
          f"summary.json: {counters['messages']} messages, {counters['accepted']} accepted, expected {expected} "
          f"({sims} simulations x {args.steps} steps x "
          f"{pieces_per_step(args.nx, args.ny, args.client_ranks, args.server_ranks)} pieces per step)")
    print(f"check.py: {study.name}: {summary['finished']}/{sims} simulations finished, "
          f"{counters['accepted']}/{expected} messages accepted, 0 dropped" if not failures else
          f"check.py: {study.name}: summary.json checked")

    if args.dump is not None:
        import netCDF4
        with netCDF4.Dataset(study / "results" / "temperature.nc") as ds:
            ds.set_auto_mask(False)
            mean = np.array(ds["mean"][...])
            count = np.array(ds["count"][...])
        ids = simulation_ids(study)
        fields = [load_dump(args.dump, sim, args.client_ranks, args.steps) for sim in ids]
        reference = np.mean(fields, axis=0)
        if check(mean.shape == reference.shape,
                 f"results mean has shape {mean.shape}, the dumps give {reference.shape}"):
            check(np.all(count == len(ids)), f"results count is not {len(ids)} everywhere "
                  f"(min {count.min()}, max {count.max()})")
            scale = np.maximum(np.abs(reference), np.finfo(float).tiny)
            rel = np.abs(mean - reference) / scale
            worst = float(np.max(rel)) if rel.size else 0.0
            last = float(np.max(rel[-1])) if rel.size else 0.0
            bad = np.argwhere(~(rel <= RTOL))
            if check(bad.size == 0, "results mean differs from the dumps' mean beyond 1e-9 relative at "
                     f"{len(bad)} (step, cell) values, first at (step, cell) = {tuple(int(i) for i in bad[0])}"
                     if bad.size else ""):
                print(f"check.py: {study.name}: results/temperature.nc mean == mean of {len(ids)} dumped "
                      f"simulations, max relative difference {last:.2e} at the last step, {worst:.2e} over all "
                      f"{args.steps} steps")
        if args.off_dump is not None:
            same = [np.array_equal(load_dump(args.off_dump, sim, args.client_ranks, args.steps), field)
                    for sim, field in zip(ids, fields)]
            if check(all(same), "heat2d --no-melissa computed other values than the streamed run for "
                     f"simulation(s) {[sim for sim, s in zip(ids, same) if not s]}"):
                print(f"check.py: --no-melissa values are bitwise those streamed ({len(ids)} simulations)")

    for message in failures:
        print(f"check.py: FAILED: {study}: {message}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as error:
        print(f"check.py: FAILED: {error}", file=sys.stderr)
        sys.exit(1)
