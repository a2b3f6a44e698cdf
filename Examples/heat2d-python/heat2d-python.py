#!/usr/bin/env python3
"""heat2d-python: the 2D heat equation of Examples/heat2d, in Python with NumPy and mpi4py,
streamed to a Melissa server through Melissa's Python module `melissa_api`.

    dT/dt = alpha * (d2T/dx2 + d2T/dy2)    on (0,1) x (0,1), T = T_boundary on the edges,
    T(x, y, 0) = T_initial inside.

Same numerics, options, output and dump files as the C version (see its README): the rows are
split over the ranks with one ghost row each side; u[1:-1] (this rank's rows, row-major) is a
C-contiguous float64 view that melissa_send passes by address.

Usage: heat2d-python.py [options] <T_initial> <T_boundary>
Run:   PYTHONPATH=$(melissa-config --pythonpath) mpirun -n 2 python3 heat2d-python.py 20 80
"""
import argparse
import os
import sys

import numpy as np
from mpi4py import MPI

import melissa_api


def parse(argv, rank):
    def positive(kind):
        def check(text):
            value = kind(text)
            if value <= 0:
                raise argparse.ArgumentTypeError(f"must be positive, got {text}")
            return value
        return check
    parser = argparse.ArgumentParser(prog="heat2d-python", description="2D heat equation streamed to Melissa")
    parser.add_argument("t_initial", type=float, help="initial temperature of the plate (study parameter 1)")
    parser.add_argument("t_boundary", type=float, help="temperature held on the edges (study parameter 2)")
    parser.add_argument("--nx", type=positive(int), default=64, help="interior points along x")
    parser.add_argument("--ny", type=positive(int), default=64, help="interior points along y, split over the ranks")
    parser.add_argument("--steps", type=positive(int), default=100, help="output steps sent to Melissa")
    parser.add_argument("--substeps", type=positive(int), default=250, help="explicit iterations per output step")
    parser.add_argument("--alpha", type=positive(float), default=1.0, help="diffusion coefficient")
    parser.add_argument("--t-end", type=positive(float), default=0.1, help="physical time of the last step")
    parser.add_argument("--no-melissa", action="store_true", help="compute without streaming")
    if rank != 0:  # one rank reports argument errors; the others exit with the same status
        parser.print_usage = parser.print_help = lambda *a, **k: None
        parser.exit = lambda status=0, message=None: sys.exit(status)
    return parser.parse_args(argv)


def main():
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    o = parse(sys.argv[1:], rank)
    if o.ny < size:
        if rank == 0:
            print(f"heat2d-python: --ny {o.ny} is smaller than the {size} ranks", file=sys.stderr)
        return 2

    local_ny = o.ny // size + (1 if rank < o.ny % size else 0)
    up = rank - 1 if rank > 0 else MPI.PROC_NULL
    down = rank + 1 if rank < size - 1 else MPI.PROC_NULL

    # Explicit Euler stability bound with a 0.9 margin, as in the C version.
    dx, dy = 1.0 / (o.nx + 1), 1.0 / (o.ny + 1)
    dt_max = 0.9 * dx * dx * dy * dy / (2.0 * o.alpha * (dx * dx + dy * dy))
    substeps = o.substeps
    per_step = o.t_end / o.steps
    if per_step / substeps > dt_max:
        substeps = int(per_step / dt_max) + 1
    dt = per_step / substeps
    rx, ry = o.alpha * dt / (dx * dx), o.alpha * dt / (dy * dy)

    # Rows 0 and local_ny + 1 are ghosts; columns 0 and nx + 1 hold the side boundary for good.
    u = np.full((local_ny + 2, o.nx + 2), o.t_initial)
    u[:, 0] = u[:, -1] = o.t_boundary
    if up == MPI.PROC_NULL:
        u[0, :] = o.t_boundary
    if down == MPI.PROC_NULL:
        u[-1, :] = o.t_boundary
    v = u.copy()
    # This rank's rows as the contiguous array melissa_send reads in place.
    field = np.empty((local_ny, o.nx))

    if not o.no_melissa:
        melissa_api.melissa_init("temperature", field.size, comm)
    dump = None
    if os.environ.get("HEAT2D_DUMP_DIR"):
        simu = os.environ.get("MELISSA_SIMU_ID", "none")
        dump = open(os.path.join(os.environ["HEAT2D_DUMP_DIR"], f"heat2d.sim{simu}.rank{rank}.bin"), "wb")

    start = MPI.Wtime()
    for _ in range(o.steps):
        for _ in range(substeps):
            comm.Sendrecv(u[1], dest=up, sendtag=0, recvbuf=u[-1], source=down, recvtag=0)
            comm.Sendrecv(u[-2], dest=down, sendtag=1, recvbuf=u[0], source=up, recvtag=1)
            c = u[1:-1, 1:-1]
            v[1:-1, 1:-1] = (c + rx * (u[1:-1, :-2] - 2.0 * c + u[1:-1, 2:])
                             + ry * (u[:-2, 1:-1] - 2.0 * c + u[2:, 1:-1]))
            u, v = v, u
        field[...] = u[1:-1, 1:-1]
        if not o.no_melissa:
            melissa_api.melissa_send("temperature", field)
        if dump is not None:
            field.astype("<f8").tofile(dump)
    compute = MPI.Wtime() - start

    start = MPI.Wtime()
    if not o.no_melissa:
        melissa_api.melissa_finalize()
    finalize = MPI.Wtime() - start
    if dump is not None:
        dump.close()
    if rank == 0:
        print(f"heat2d-python: simulation {os.environ.get('MELISSA_SIMU_ID', '-')}: {o.nx}x{o.ny} grid on {size} "
              f"rank(s), {o.steps} steps x {substeps} substeps, T_initial {o.t_initial:g}, T_boundary "
              f"{o.t_boundary:g}, {'not streamed' if o.no_melissa else 'streamed'}, {compute:.3f} s, "
              f"finalize {finalize:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
