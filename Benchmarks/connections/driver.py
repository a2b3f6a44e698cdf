"""Synthetic simulation for the connection-budget benchmark: ONE process plays N client ranks.

The launcher runs it as the study's `client_config.executable_command` through the generated
client script (`mpirun -n 1 ... client.<id>.sh`, MELISSA_SIMU_ID, MELISSA_SERVER_ADDRESS and
MELISSA_STUDY_DIR exported):

    <python> driver.py --ranks N [--cells-per-rank C] [--events FILE] [--settle S] [--hold S]
                       [--linger S] [parameters...]

It speaks the wire protocol of docs/PROTOCOL.md directly (pyzmq; no MPI, no client library):

1. one handshake (REQ, CURVE with the study's client key) claiming `clientCommSize = N`;
2. waits `--settle` seconds (the benchmark samples the server's idle baseline meanwhile);
3. opens, like the real client library does (MelissaClient.openDataSockets), one PUSH socket per
   (emulated client rank, server rank): N x M sockets, each authenticated as the reply says
   (CURVE client key, or PLAIN with keys/data.password), ZMQ_IMMEDIATE set so that a socket
   accepts a message only once its connection has completed the ZMTP/CURVE/ZAP handshake;
4. sends time step 0 of every field on every socket as soon as that socket's connection is
   ready: when the last one went out, every connection was established and authenticated
   (the "connect time");
5. holds all connections open for `--hold` seconds (the benchmark samples the server), then
   sends the remaining time steps (the "ingest" phase), every emulated rank its own slice with
   its clientRank/offset/count (cell-block routing, or whole steps if the reply says so), and
   client rank 0 the empty-block notices, so the server counts the simulation complete;
6. closes every socket (linger `--linger` s) and terminates the context.

The global field of each field has N x C cells, client rank i owning [i*C, (i+1)*C); the value
of cell c at step t of field f in simulation s is `value(s, t, f, c)` below (run.py checks the
server's mean against it). Timestamps (unix seconds) of each phase go, one JSON object per
line, to `--events` (run.py reads them while the study runs) and a summary to stderr.
"""
import argparse
import json
import os
import pathlib
import resource
import select
import struct
import sys
import time

import zmq

DATA_VERSION = 1        # data channel (docs/PROTOCOL.md 6)
HANDSHAKE_VERSION = 3   # handshake channel (Sources/MelissaProtocol/Constants.swift)
HEADER = struct.Struct("<4sHHIIIIQQQ")  # the 48-byte DataHeader


def value(sim, step, field, cell):
    """The value every emulated rank sends for `cell` (exact in binary64 for the sizes used)."""
    return sim * 1000.0 + step + 0.25 * field + cell / 1024.0


def block(r, n, m):
    """Server rank r's block [lo, hi) of a field of n values over m ranks (PROTOCOL.md 5)."""
    q, e = divmod(n, m)
    lo = r * q + min(r, e)
    return lo, lo + q + (1 if r < e else 0)


def data_message(sim, step, field, client_rank, global_size, offset, count):
    header = HEADER.pack(b"MLSD", DATA_VERSION, 1, sim, step, field, client_rank, global_size, offset, count)
    values = struct.pack(f"<{count}d", *(value(sim, step, field, c) for c in range(offset, offset + count)))
    return header + values


def read_key_file(path):
    return dict(line.split("=", 1) for line in pathlib.Path(path).read_text().splitlines()
                if "=" in line and not line.startswith("#"))


def study_keys(study):
    """(client public, client secret, server public) from $MELISSA_STUDY_DIR/keys (docs/SECURITY.md)."""
    keys = pathlib.Path(study, "keys")
    client = read_key_file(keys / "client.key")
    server = read_key_file(keys / "server.key")
    return client["public"].encode(), client["secret"].encode(), server["public"].encode()


def handshake_request(sim, comm_size):
    return b"MLSH" + struct.pack("<HHII", HANDSHAKE_VERSION, 1, sim, comm_size)


def read_str(buf, pos):
    (length,) = struct.unpack_from("<H", buf, pos)
    pos += 2
    return buf[pos:pos + length].decode("utf-8"), pos + length


def decode_answer(buf):
    """The handshake reply as a dict, or raises with the refusal's reason."""
    if len(buf) < 8 or buf[:4] != b"MLSH":
        raise RuntimeError(f"not a handshake answer: {buf[:16]!r}")
    version, kind = struct.unpack_from("<HH", buf, 4)
    if kind == 3:
        raise RuntimeError(f"handshake refused: {read_str(buf, 8)[0]}")
    if kind != 2:
        raise RuntimeError(f"unknown handshake answer kind {kind} (version {version})")
    m, steps, verbosity, mechanism, routing, nfields = struct.unpack_from("<IIIIII", buf, 8)
    pos, fields, endpoints = 32, [], []
    for _ in range(nfields):
        name, pos = read_str(buf, pos)
        fields.append(name)
    for _ in range(m):
        ep, pos = read_str(buf, pos)
        endpoints.append(ep)
    return {"version": version, "server_ranks": m, "nb_time_steps": steps, "verbosity": verbosity,
            "data_mechanism": mechanism, "routing": routing, "fields": fields, "endpoints": endpoints}


def plan_messages(sim, step, nfields, n_ranks, cells, m, routing):
    """[(client rank, server rank, frame)] for one time step of every field (PROTOCOL.md 5)."""
    g = n_ranks * cells
    out = []
    for f in range(nfields):
        if routing == 0:
            for i in range(n_ranks):
                lo, hi = i * cells, (i + 1) * cells
                for r in range(m):
                    blo, bhi = block(r, g, m)
                    a, b = max(lo, blo), min(hi, bhi)
                    if b > a:
                        out.append((i, r, data_message(sim, step, f, i, g, a, b - a)))
            for r in range(m):  # empty blocks (g < m): client rank 0's notices
                blo, bhi = block(r, g, m)
                if bhi == blo:
                    out.append((0, r, data_message(sim, step, f, 0, g, blo, 0)))
        else:  # whole steps: routing 1 by time step, 2 by simulation
            target = (step if routing == 1 else sim) % m
            for i in range(n_ranks):
                out.append((i, target, data_message(sim, step, f, i, g, i * cells, cells)))
    return out


def proc_status(key):
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, required=True, help="N, the client ranks this process plays")
    ap.add_argument("--cells-per-rank", type=int, default=4)
    ap.add_argument("--events", help="append one JSON line per phase here")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between handshake and first connect")
    ap.add_argument("--hold", type=float, default=1.5, help="seconds all connections stay idle before the ingest phase")
    ap.add_argument("--linger", type=float, default=120.0, help="ZMQ_LINGER of the data sockets at close, seconds")
    ap.add_argument("--connect-timeout", type=float, default=300.0,
                    help="give up when not every connection is ready after this many seconds")
    ap.add_argument("parameters", nargs="*", help="the study's parameters (appended by the client script; unused)")
    a = ap.parse_args()
    sim = int(os.environ["MELISSA_SIMU_ID"])
    address = os.environ["MELISSA_SERVER_ADDRESS"]
    study = os.environ["MELISSA_STUDY_DIR"]
    events = open(a.events, "a") if a.events else None
    report = {"simulation": sim, "ranks": a.ranks, "cells_per_rank": a.cells_per_rank, "pid": os.getpid()}

    def event(name, **extra):
        usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread: Python and libzmq's I/O thread
        record = {"event": name, "time": time.time(), "simulation": sim,
                  "cpu": usage.ru_utime + usage.ru_stime, **extra}
        report[name] = record["time"]
        if events:
            events.write(json.dumps(record) + "\n")
            events.flush()

    # One process holds N x M sockets: each a TCP fd plus its mailbox's eventfd. The soft limit
    # goes to the hard one; with CAP_SYS_RESOURCE the hard one goes up to what N ranks of up to 4
    # server ranks need (a container's root usually lacks it: then the driver shares the hard
    # limit run.py --server-nofile gives the server, and says so below when it is too low).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 8 * a.ranks + 256
    try:
        if hard != resource.RLIM_INFINITY and hard < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
    except (ValueError, OSError):
        pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    report["rlimit_nofile"] = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    client_public, client_secret, server_public = study_keys(study)
    event("start")
    hs_ctx = zmq.Context()
    req = hs_ctx.socket(zmq.REQ)
    req.curve_publickey, req.curve_secretkey, req.curve_serverkey = client_public, client_secret, server_public
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 60000)
    req.setsockopt(zmq.SNDTIMEO, 60000)
    req.connect(address)
    req.send(handshake_request(sim, a.ranks))
    reply = decode_answer(req.recv())
    req.close()
    hs_ctx.term()
    m, steps, nfields, routing = reply["server_ranks"], reply["nb_time_steps"], len(reply["fields"]), reply["routing"]
    event("handshake", endpoints=reply["endpoints"], data_mechanism=reply["data_mechanism"],
          routing=routing, nb_time_steps=steps, fields=reply["fields"])

    # Every message of every step, built before any connection exists (so building them does
    # not compete with the connections or the ingest window for the two cores).
    per_step = [plan_messages(sim, t, nfields, a.ranks, a.cells_per_rank, m, routing) for t in range(steps)]
    report["messages"] = sum(len(s) for s in per_step)
    report["bytes"] = sum(len(frame) for s in per_step for _, _, frame in s)
    report["message_bytes"] = len(per_step[0][0][2]) if per_step and per_step[0] else 0
    time.sleep(a.settle)

    # ZMQ_MAX_SOCKETS (default 1023) is fixed when a context opens its first socket, so the data
    # sockets get a context of their own, sized once the reply told us M.
    ctx = zmq.Context()
    ctx.max_sockets = a.ranks * m + 64
    need = 2 * a.ranks * m + 64
    if need > report["rlimit_nofile"]:
        event("driver_limit", need=need, limit=report["rlimit_nofile"])
        print(f"driver: {a.ranks} x {m} data sockets need about {need} open files in this process, "
              f"its limit is {report['rlimit_nofile']} (RLIMIT_NOFILE, hard limit reached)", file=sys.stderr)
        return 5
    password = None
    if reply["data_mechanism"] == 2:
        password = read_key_file(pathlib.Path(study, "keys", "data.password"))["password"].encode()
    event("connect_start")
    sockets = {}
    for i in range(a.ranks):
        for r, endpoint in enumerate(reply["endpoints"]):
            s = ctx.socket(zmq.PUSH)
            s.setsockopt(zmq.LINGER, -1)
            s.setsockopt(zmq.IMMEDIATE, 1)  # a pipe only once the handshake completed
            if password is not None:
                s.plain_username, s.plain_password = b"melissa", password
            else:
                s.curve_publickey, s.curve_secretkey, s.curve_serverkey = client_public, client_secret, server_public
            s.connect(endpoint)
            sockets[(i, r)] = s
    event("connect_calls", sockets=len(sockets), fds=len(os.listdir("/proc/self/fd")))

    # Step 0, socket by socket, as soon as each connection is ready: with ZMQ_IMMEDIATE a PUSH
    # socket is writable (ZMQ_EVENTS has POLLOUT) only once its pipe exists, i.e. once the TCP
    # connection, the ZMTP greeting and the CURVE/PLAIN handshake (with the server's ZAP check)
    # completed. Asking ZMQ_EVENTS of every socket costs ~11 us each (44 ms a sweep at 4000,
    # enough to starve the server of a core), so only the sockets whose mailbox fd (ZMQ_FD)
    # became readable are asked, through one epoll set; a full sweep runs when nothing
    # happened for 0.5 s. A socket without step-0 traffic (whole-step routing elsewhere) is
    # waited for all the same.
    pending = {key: [] for key in sockets}
    for i, r, frame in per_step[0] if per_step else []:
        pending[(i, r)].append(frame)
    by_fd = {}
    ep = select.epoll()
    for key, s in sockets.items():
        fd = s.get(zmq.FD)
        by_fd[fd] = key
        ep.register(fd, select.EPOLLIN)
    ready_at = []
    t0 = report["connect_start"]
    deadline = time.time() + a.connect_timeout

    def try_ready(key):
        s = sockets[key]
        if not s.get(zmq.EVENTS) & zmq.POLLOUT:
            return False
        for frame in pending.pop(key):
            s.send(frame, zmq.NOBLOCK)
        ep.unregister(s.get(zmq.FD))
        ready_at.append(time.time() - t0)
        return True

    sweeps = 0
    candidates = list(pending)
    while pending:
        for key in candidates:
            if key in pending:
                try_ready(key)
        if not pending:
            break
        if time.time() > deadline:
            event("connect_timeout", ready=len(ready_at), pending=len(pending))
            print(f"driver: only {len(ready_at)} of {len(sockets)} connections ready after "
                  f"{a.connect_timeout} s", file=sys.stderr)
            for s in sockets.values():
                s.close(linger=0)
            ctx.term()
            return 4
        fired = ep.poll(0.5)
        if fired:
            candidates = [by_fd[fd] for fd, _ in fired]
        else:
            candidates, sweeps = list(pending), sweeps + 1
    ep.close()
    ready_at.sort()

    def pct(q):
        return ready_at[min(len(ready_at) - 1, int(q * len(ready_at)))] if ready_at else None

    event("connected", seconds=time.time() - report["connect_start"], sweeps=sweeps, p50=pct(0.5), p90=pct(0.9),
          p99=pct(0.99), max=ready_at[-1] if ready_at else None,
          after_1s=sum(1 for x in ready_at if x > 1.0),
          fds=len(os.listdir("/proc/self/fd")), rss_kib=proc_status("VmRSS"))
    time.sleep(a.hold)

    event("ingest_start")
    sent = 0
    for t in range(1, steps):
        for i, r, frame in per_step[t]:
            sockets[(i, r)].send(frame)
            sent += 1
    event("ingest_sent", messages=sent)
    for s in sockets.values():
        s.close(linger=int(a.linger * 1000))
    ctx.term()  # returns once every queued message went out (or the linger expired)
    event("closed")
    print("driver: " + json.dumps({k: v for k, v in report.items() if not isinstance(v, float) or v < 1e9}),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
