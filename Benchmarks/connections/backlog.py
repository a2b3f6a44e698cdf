"""Raw libzmq, no Melissa: how the listen backlog of a PULL socket shapes a burst of connections.

    <python> Benchmarks/connections/backlog.py [--connections N] [--backlog B,B,..] [--port P]

For each backlog B: a child process binds one PULL socket (ZMQ_BACKLOG = B; libzmq's default, which
melissa-server's data socket keeps, is 100) on 127.0.0.1 and counts the messages it receives; this
process opens N PUSH sockets with ZMQ_IMMEDIATE (no CURVE, to leave only TCP and ZMTP), connects
them all at once, sends one message on each as soon as it is writable, and reports the time until
the last one went out, per-connection percentiles, and the kernel's TcpExt ListenOverflows
meanwhile (SYNs dropped because the accept queue was full: each costs the client a SYN
retransmission 1 s, then 3 s, 7 s, ... after its first try). The kernel caps the backlog at
net.core.somaxconn.
"""
import argparse
import multiprocessing
import pathlib
import resource
import select
import time

import zmq


def listen_overflows():
    lines = [l.split() for l in pathlib.Path("/proc/net/netstat").read_text().splitlines() if l.startswith("TcpExt:")]
    return dict(zip(lines[0][1:], (int(v) for v in lines[1][1:])))["ListenOverflows"]


def puller(port, backlog, n, ready):
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.setsockopt(zmq.BACKLOG, backlog)
    s.bind(f"tcp://127.0.0.1:{port}")
    ready.set()
    for _ in range(n):
        s.recv()
    s.close(linger=0)
    ctx.term()


def one(n, backlog, port):
    ready = multiprocessing.Event()
    child = multiprocessing.Process(target=puller, args=(port, backlog, n, ready))
    child.start()
    ready.wait()
    ctx = zmq.Context()
    ctx.max_sockets = n + 16
    overflows = listen_overflows()
    t0 = time.time()
    socks = []
    for _ in range(n):
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.IMMEDIATE, 1)
        s.setsockopt(zmq.LINGER, 5000)
        s.connect(f"tcp://127.0.0.1:{port}")
        socks.append(s)
    ep = select.epoll()
    by_fd = {}
    for s in socks:
        by_fd[s.get(zmq.FD)] = s
        ep.register(s.get(zmq.FD), select.EPOLLIN)
    pending, done = set(socks), []
    candidates = list(pending)
    while pending:
        for s in candidates:
            if s in pending and s.get(zmq.EVENTS) & zmq.POLLOUT:
                s.send(b"x", zmq.NOBLOCK)
                pending.discard(s)
                ep.unregister(s.get(zmq.FD))
                done.append(time.time() - t0)
        fired = ep.poll(0.5) if pending else []
        candidates = [by_fd[fd] for fd, _ in fired] if fired else list(pending)
    seconds = time.time() - t0
    overflows = listen_overflows() - overflows
    for s in socks:
        s.close()
    ctx.term()
    child.join()
    done.sort()
    pct = lambda q: done[min(len(done) - 1, int(q * len(done)))]
    print(f"backlog {backlog:>5}: {n} connections in {seconds:.3f} s (p50 {pct(0.5):.3f} s, p99 {pct(0.99):.3f} s, "
          f"{sum(1 for x in done if x > 1.0)} over 1 s), ListenOverflows +{overflows}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=4000)
    ap.add_argument("--backlog", default="100,4096")
    ap.add_argument("--port", type=int, default=30790)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    somaxconn = pathlib.Path("/proc/sys/net/core/somaxconn").read_text().strip()
    print(f"net.core.somaxconn {somaxconn}, libzmq {zmq.zmq_version()}")
    for k, b in enumerate(int(x) for x in a.backlog.split(",")):
        one(a.connections, b, a.port + k)


if __name__ == "__main__":
    main()
