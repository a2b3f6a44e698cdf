"""End to end: only holders of the study's keys get in (docs/SECURITY.md). During a real
study, peers with fresh CURVE keys of their own, and peers without CURVE, connect to every
port (launcher, client handshake, each server rank's data socket) and send well-formed
messages; nothing they send is acted on: no job of theirs runs, no handshake is answered, no
data reaches the statistics (the results still equal numpy's of the real outputs)."""
import json
import re
import struct
import subprocess
import time

import numpy as np
import zmq

from conftest import load_results, study_config
from test_study import load_dumps


def control_frame(kind, body):
    return b"MLSC" + struct.pack("<HH", 2, kind) + body


def string(text):
    data = text.encode()
    return struct.pack("<H", len(data)) + data


def data_frame(sim, step, n):
    """A well-formed data message (docs/PROTOCOL.md §6) whose values would wreck the mean."""
    header = b"MLSD" + struct.pack("<HH", 1, 1) + struct.pack("<IIII", sim, step, 0, 0) + struct.pack("<QQQ", n, 0, n)
    return header + np.full(n, 1.0e12, dtype="<f8").tobytes()


def wait_for(path, pattern, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            m = re.search(pattern, path.read_text())
            if m:
                return m
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{pattern} never appeared in {path}")


def test_peers_without_the_study_keys_are_refused_on_every_port(tmp_path, prefix):
    sims, steps, n = 4, 20, 24 * 15
    config, dump = study_config(tmp_path, prefix, sims=sims, steps=steps, extra_args=["--substeps", 20000])
    study = tmp_path / "study"
    marker = tmp_path / "stranger-job-ran"
    log = tmp_path / "launcher.out"
    with open(log, "w") as out:
        launcher = subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        launcher_endpoint = wait_for(log, r"launcher listening on (tcp://\S+)").group(1)
        handshake_port = wait_for(log, r"clients connect to tcp://[^:\s]+:(\d+)").group(1)
        data_ports = [wait_for(study / f"server.rank{r}.log", r"data socket tcp://[^:\s]+:(\d+)").group(1) for r in (0, 1)]
        # Keys on disk are private to the study's user.
        assert oct((study / "keys").stat().st_mode & 0o777) == "0o700"
        assert all(oct(f.stat().st_mode & 0o777) == "0o600" for f in (study / "keys").iterdir())
        server_public = dict(l.split("=", 1) for l in (study / "keys" / "server.key").read_text().splitlines()
                             if "=" in l)["public"].encode()
        launcher_public = dict(l.split("=", 1) for l in (study / "keys" / "launcher.key").read_text().splitlines()
                               if "=" in l)["public"].encode()

        ctx = zmq.Context()
        sockets = []

        def stranger(kind, endpoint, server_key, curve=True):
            s = ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVTIMEO, 1500)
            if curve:
                s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
                s.curve_serverkey = server_key
            s.connect(endpoint)
            sockets.append(s)
            return s

        script = tmp_path / "stranger.sh"
        script.write_text(f"#!/bin/sh\ntouch {marker}\n")
        script.chmod(0o755)
        hello = control_frame(1, struct.pack("<I", 2) + string("tcp://evil:1") + struct.pack("<Q", 99))
        request = control_frame(3, struct.pack("<QQII", 99, 1, 0, 1) + struct.pack("<I", 0) + string(str(script)))
        handshake = b"MLSH" + struct.pack("<HH", 1, 1) + struct.pack("<II", 0, 1)
        for curve in (True, False):
            d = stranger(zmq.DEALER, launcher_endpoint, launcher_public, curve)
            d.send(hello, zmq.NOBLOCK)
            d.send(request, zmq.NOBLOCK)
            r = stranger(zmq.REQ, f"tcp://127.0.0.1:{handshake_port}", server_public, curve)
            r.send(handshake, zmq.NOBLOCK)
            for port in data_ports:
                p = stranger(zmq.PUSH, f"tcp://127.0.0.1:{port}", server_public, curve)
                for step in range(steps):
                    try:
                        p.send(data_frame(0, step, n), zmq.NOBLOCK)
                    except zmq.Again:
                        break  # never connected: nothing can leave
        # Nobody answers a stranger.
        for s in sockets:
            if s.type in (zmq.DEALER, zmq.REQ):
                try:
                    s.recv()
                    raise AssertionError("a peer without the study's keys got an answer")
                except zmq.Again:
                    pass
        for s in sockets:
            s.close()
        ctx.term()
        launcher.wait(timeout=240)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    output = log.read_text()
    assert launcher.returncode == 0, output
    assert not marker.exists(), "a stranger's job request reached the scheduler"
    assert re.search(r"refused [1-9]\d* connection\(s\) without the study's key", output), output
    refusals = (study / "server.rank0.log").read_text() + (study / "server.rank1.log").read_text()
    assert "connection(s) without the study's keys" in refusals
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["counters"]["malformed"] == 0
    assert summary["counters"]["duplicates"] == 0, "a stranger's step of simulation 0 must not even count as a duplicate"
    # The statistics are those of the real outputs alone.
    raw = load_dumps(dump, sims, steps, 2)
    res = load_results(study)
    np.testing.assert_allclose(res["mean"], raw.mean(axis=0), rtol=1e-12, atol=0)
    assert res["mean"].max() < 1.0e6
