"""A Python simulation for the end-to-end tests: Melissa's `melissa_api` module with mpi4py and
NumPy. Before streaming, rank 0 checks what the module refuses (a float32 array, a strided view,
a wrong size, a list) and how much memory melissa_send allocates in Python for a large field
(tracemalloc sees NumPy's and Python's allocations, so a copy made by the module would show). Results go to $HEAT2D_DUMP_DIR/checks.<id>.json.

    python_client.py <steps> <cells per rank> <p0> <p1>

Value of global cell g at step s: p0 * (g + 1) + p1 * s, dumped like heat2d for the oracle.
"""
import json
import os
import sys
import tracemalloc

import numpy as np
from mpi4py import MPI

import melissa_api

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
steps, cells = int(sys.argv[1]), int(sys.argv[2])
p0, p1 = float(sys.argv[3]), float(sys.argv[4])
dump_dir = os.environ["HEAT2D_DUMP_DIR"]
simu = os.environ["MELISSA_SIMU_ID"]

melissa_api.melissa_init("temperature", cells, comm)
# A field the study does not list: registered (the library warns and drops its sends), so a
# large send can be measured in Python without adding data to the statistics.
big = np.arange(1_000_000, dtype=np.float64)
melissa_api.melissa_init("scratch", big.size, comm)

checks = {"version": melissa_api.melissa_version()}
values = np.empty(cells)
for label, bad in [("float32", values.astype(np.float32)), ("strided", np.zeros(2 * cells)[::2]),
                   ("wrong_size", np.zeros(cells + 1)), ("list", [0.0] * cells),
                   ("big_endian", values.astype(">f8"))]:
    try:
        melissa_api.melissa_send("temperature", bad)
        checks[label] = "accepted"
    except (TypeError, ValueError) as error:
        checks[label] = f"{type(error).__name__}: {error}"

tracemalloc.start()
melissa_api.melissa_send("scratch", big)
checks["send_peak_bytes"] = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
checks["array_bytes"] = big.nbytes

with open(os.path.join(dump_dir, f"heat2d.sim{simu}.rank{rank}.bin"), "wb") as dump:
    for s in range(steps):
        values[:] = p0 * (rank * cells + np.arange(1, cells + 1)) + p1 * s
        melissa_api.melissa_send("temperature", values)
        values.tofile(dump)
melissa_api.melissa_finalize()
if rank == 0:
    with open(os.path.join(dump_dir, f"checks.{simu}.json"), "w") as out:
        json.dump(checks, out)
