"""A synthetic simulation for the deep-learning benchmark: sends `steps` time steps of one field
of `values` float64 (field "f0") as fast as it can through Melissa's Python API.

Usage (in a client script): python client.py <values> <steps> <p0> <p1>
"""
import sys

import numpy as np
from mpi4py import MPI

import melissa_api


def main():
    values, steps = int(sys.argv[1]), int(sys.argv[2])
    p0, p1 = float(sys.argv[3]), float(sys.argv[4])
    comm = MPI.COMM_WORLD
    field = np.empty(values)
    melissa_api.melissa_init("f0", values, comm)
    for t in range(steps):
        field[:] = p0 + p1 * t  # cheap, so the data arrives faster than it is trained on
        melissa_api.melissa_send("f0", field)
    melissa_api.melissa_finalize()


if __name__ == "__main__":
    main()
