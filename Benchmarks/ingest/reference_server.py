"""Reference side of the ingest benchmark: a Melissa-style server in Python.

What the modern Melissa server does per message (melissa/server/sensitivity_analysis_server.py):
pyzmq receives it, numpy views the values, and iterative-stats folds them into one
IterativeMoments per field and time step. This one speaks our wire protocol (docs/PROTOCOL.md:
the handshake on rank 0's REP socket, one PULL data socket per rank, 48-byte data headers), so
the very same synthetic clients on the real client library feed both servers.

One process per server rank, started by run.py (no mpi4py: the ranks share nothing but the
handshake reply, which lists every rank's endpoint). Each rank ends after receiving the
expected number of messages and prints one JSON line: messages, bytes and the seconds from its
first to its last message, with the first and last wall-clock times so run.py can take the
union of the ranks' windows. It saves its block's mean and variance as .npy for the check.

Usage: reference_server.py --rank R --ranks M --host H --connection-port P --data-port D
                           --fields F --steps T --simulations N --out DIR
Rank r's data port is D + r; only rank 0 answers handshakes.
"""
import argparse
import json
import pathlib
import resource
import struct
import sys
import time

import numpy as np
import zmq
from iterative_stats.iterative_moments import IterativeMoments

PROTOCOL_VERSION = 1   # data channel
HANDSHAKE_VERSION = 3  # handshake channel
ROUTING_CELL_BLOCKS = 0  # data split into one block of cells per server rank (docs/PROTOCOL.md section 5)
DATA_MECHANISM_CURVE = 1  # the reference has no keys: clients without a keys dir connect unauthenticated
HEADER = struct.Struct("<4sHHIIIIQQQ")  # magic, version, kind, sim, step, field, rank, global, offset, count
assert HEADER.size == 48


def encode_string(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


def handshake_reply(ranks, steps, fields, endpoints):
    body = b"MLSH" + struct.pack("<HHIIIIII", HANDSHAKE_VERSION, 2, ranks, steps, 0, DATA_MECHANISM_CURVE,
                                 ROUTING_CELL_BLOCKS, len(fields))
    return body + b"".join(encode_string(f) for f in fields) + b"".join(encode_string(e) for e in endpoints)


def block(global_size, ranks, rank):
    """The server rank's block [lo, hi), as BlockPartition cuts it: the first ones get the remainder."""
    base, extra = divmod(global_size, ranks)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def cpu_seconds():
    """User + system CPU time of this process, every thread (pyzmq's I/O thread too)."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def main():
    ap = argparse.ArgumentParser()
    for name in ("rank", "ranks", "connection-port", "data-port", "fields", "steps", "simulations"):
        ap.add_argument("--" + name, type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    context = zmq.Context()
    data = context.socket(zmq.PULL)
    data.bind(f"tcp://{a.host}:{a.data_port + a.rank}")
    poller = zmq.Poller()
    poller.register(data, zmq.POLLIN)
    connection = None
    if a.rank == 0:
        connection = context.socket(zmq.REP)
        connection.bind(f"tcp://{a.host}:{a.connection_port}")
        poller.register(connection, zmq.POLLIN)
    fields = [f"f{i}" for i in range(a.fields)]
    endpoints = [f"tcp://{a.host}:{a.data_port + r}" for r in range(a.ranks)]
    reply = handshake_reply(a.ranks, a.steps, fields, endpoints)
    print("ready", flush=True)

    expected = a.simulations * a.fields * a.steps
    moments = {}  # (field, step) -> IterativeMoments over this rank's block
    lo = hi = None
    received = nbytes = 0
    first = last = None
    while received < expected:
        events = dict(poller.poll(60_000))
        if not events:
            sys.exit(f"reference rank {a.rank}: no message for 60 s after {received} of {expected}")
        if connection is not None and connection in events:
            request = connection.recv()
            if request[:4] != b"MLSH":
                sys.exit(f"reference rank 0: not a handshake request: {request[:16]!r}")
            connection.send(reply)
        if data not in events:
            continue
        # Drain what is waiting before polling again, as a real server loop does.
        while received < expected:
            try:
                frame = data.recv(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            buf = frame.buffer
            magic, version, kind, sim, step, field, crank, gsize, offset, count = HEADER.unpack_from(buf)
            if magic != b"MLSD" or version != PROTOCOL_VERSION or field >= a.fields or step >= a.steps:
                sys.exit(f"reference rank {a.rank}: unexpected message {magic!r} v{version} field {field} step {step}")
            if lo is None:
                lo, hi = block(gsize, a.ranks, a.rank)
            if offset != lo or count != hi - lo:
                sys.exit(f"reference rank {a.rank}: a message covers [{offset}, {offset + count}), not the block "
                         f"[{lo}, {hi}): this reference handles one client rank per simulation")
            values = np.frombuffer(buf, dtype="<f8", count=count, offset=HEADER.size)
            key = (field, step)
            m = moments.get(key)
            if m is None:
                m = moments[key] = IterativeMoments(max_order=2, dim=count)
            m.increment(values)
            received += 1
            nbytes += len(buf)
            now = time.time()
            if first is None:
                first = now
                cpu_first, bytes_first = cpu_seconds(), nbytes
            last = now

    cpu = cpu_seconds() - cpu_first  # first to last message, as our server measures
    out = pathlib.Path(a.out)
    mean = np.stack([np.stack([moments[(f, t)].get_mean() for t in range(a.steps)]) for f in range(a.fields)])
    var = np.stack([np.stack([moments[(f, t)].get_variance() for t in range(a.steps)]) for f in range(a.fields)])
    np.save(out / f"reference_mean.rank{a.rank}.npy", mean)
    np.save(out / f"reference_variance.rank{a.rank}.npy", var)
    print(json.dumps({"rank": a.rank, "messages": received, "bytes": nbytes, "first": first, "last": last,
                      "block": [lo, hi], "cpu_seconds": cpu, "cpu_bytes": nbytes - bytes_first}), flush=True)
    data.close(linger=0)
    if connection is not None:
        connection.close(linger=0)
    context.term()


if __name__ == "__main__":
    main()
