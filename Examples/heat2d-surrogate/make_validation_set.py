#!/usr/bin/env python3
"""Turns an offline heat2d study into the validation set of the surrogate study.

The offline study (Config/heat2d-surrogate-validation.json, `study_options.offline: true`) runs
heat2d with HEAT2D_DUMP_DIR set: each simulation writes its temperature field, step after
step, to `<dump dir>/heat2d.sim<id>.rank0.bin` (float64), and streams nothing. This script
writes one `sim<id>.npz` per finished simulation, the format `dl_config.validation_directory`
reads (docs/DEEP_LEARNING.md): `parameters` (P,), `time_steps` (T,), `temperature` (T, N).

Usage: make_validation_set.py <offline study dir> <dump dir> <output dir> --steps T --cells N
"""
import argparse
import csv
import json
import os
import sys

import numpy as np


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", help="the offline study's directory (parameters.csv, summary.json)")
    parser.add_argument("dumps", help="HEAT2D_DUMP_DIR of that study")
    parser.add_argument("output", help="directory for the .npz files")
    parser.add_argument("--steps", type=int, required=True, help="nb_time_steps of the study")
    parser.add_argument("--cells", type=int, required=True, help="cells of the field (nx * ny)")
    o = parser.parse_args(argv)

    with open(os.path.join(o.study, "summary.json")) as f:
        summary = json.load(f)
    failed = {entry["simulation"] for entry in summary.get("failures", [])}
    os.makedirs(o.output, exist_ok=True)
    written = 0
    with open(os.path.join(o.study, "parameters.csv")) as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    first_parameter = 1 + (1 if len(header) > 1 and header[1] == "role" else 0)
    for row in rows:
        sim = int(row[0])
        if sim in failed:
            continue
        path = os.path.join(o.dumps, f"heat2d.sim{sim}.rank0.bin")
        field = np.fromfile(path, dtype="<f8")
        if field.size != o.steps * o.cells:
            sys.exit(f"{path}: {field.size} values, expected {o.steps} steps x {o.cells} cells")
        np.savez(os.path.join(o.output, f"sim{sim}.npz"),
                 parameters=np.array([float(v) for v in row[first_parameter:]]),
                 time_steps=np.arange(o.steps, dtype=np.float64),
                 temperature=field.reshape(o.steps, o.cells))
        written += 1
    if written == 0:
        sys.exit(f"no finished simulation in {o.study}")
    print(f"make_validation_set: {written} simulations, {written * o.steps} samples in {o.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
