"""End to end: only holders of the study's keys get in (docs/SECURITY.md). During a real
study, with the data sockets encrypted (CURVE) and not (PLAIN, `data_encryption: false`),
peers with fresh CURVE keys of their own, peers without any mechanism and peers with a wrong
data password connect to every port (launcher, client handshake, each server rank's data and
internal sockets) and send well-formed messages; insiders use a study secret on a channel it
does not open (the data password on the launcher and handshake ports, the client key on the
server-internal ports). Nothing they send is acted on: no job of theirs runs, no handshake is
answered, no stop reaches a rank, no data reaches the statistics (the results still equal
numpy's of the real outputs)."""
import json
import re
import struct
import subprocess
import time

import numpy as np
import pytest
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


def read_keys(study, name):
    return dict(l.split("=", 1) for l in (study / "keys" / name).read_text().splitlines()
                if "=" in l and not l.startswith("#"))


@pytest.mark.parametrize("encrypted", [True, False], ids=["curve-data", "plain-data"])
def test_peers_without_the_study_keys_are_refused_on_every_port(tmp_path, prefix, encrypted):
    sims, steps, n = 4, 20, 24 * 15
    config, dump = study_config(tmp_path, prefix, sims=sims, steps=steps, extra_args=["--substeps", 20000],
                                server={"data_encryption": encrypted})
    study = tmp_path / "study"
    marker = tmp_path / "stranger-job-ran"
    log = tmp_path / "launcher.out"
    with open(log, "w") as out:
        launcher = subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        launcher_endpoint = wait_for(log, r"launcher listening on (tcp://\S+)").group(1)
        handshake_port = wait_for(log, r"clients connect to tcp://[^:\s]+:(\d+)").group(1)
        sockets_line = [wait_for(study / f"server.rank{r}.log",
                                 r"data socket tcp://[^:\s]+:(\d+) \((\w+)\), internal tcp://[^:\s]+:(\d+)") for r in (0, 1)]
        data_ports = [m.group(1) for m in sockets_line]
        internal_ports = [m.group(3) for m in sockets_line]
        assert {m.group(2) for m in sockets_line} == {"CURVE" if encrypted else "PLAIN"}
        # Keys on disk are private to the study's user.
        assert oct((study / "keys").stat().st_mode & 0o777) == "0o700"
        assert all(oct(f.stat().st_mode & 0o777) == "0o600" for f in (study / "keys").iterdir())
        assert {f.name for f in (study / "keys").iterdir()} == {"launcher.key", "server.key", "client.key", "data.password"}
        server_public = read_keys(study, "server.key")["public"].encode()
        launcher_public = read_keys(study, "launcher.key")["public"].encode()
        client = read_keys(study, "client.key")
        password = read_keys(study, "data.password")["password"].encode()

        ctx = zmq.Context()
        sockets = []

        def stranger(kind, endpoint, server_key, how):
            """A peer authenticating as `how`: fresh CURVE keys, no mechanism, a wrong data
            password, the study's data password, or the study's client key."""
            s = ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVTIMEO, 1500)
            if how in ("fresh-curve", "client-key"):
                s.curve_publickey, s.curve_secretkey = (
                    zmq.curve_keypair() if how == "fresh-curve" else (client["public"].encode(), client["secret"].encode()))
                s.curve_serverkey = server_key
            elif how in ("wrong-password", "data-password"):
                s.plain_username = b"melissa"
                s.plain_password = password if how == "data-password" else password[::-1]
            s.connect(endpoint)
            sockets.append(s)
            return s

        script = tmp_path / "stranger.sh"
        script.write_text(f"#!/bin/sh\ntouch {marker}\n")
        script.chmod(0o755)
        hello = control_frame(1, struct.pack("<I", 2) + string("tcp://evil:1") + struct.pack("<Q", 99))
        request = control_frame(3, struct.pack("<QQII", 99, 1, 0, 1) + struct.pack("<I", 0) + string(str(script)))
        handshake = b"MLSH" + struct.pack("<HH", 3, 1) + struct.pack("<II", 0, 1)
        internal_stop = b"MLSI" + struct.pack("<HH", 1, 3)

        def push_all(sock, frames):
            for frame in frames:
                try:
                    sock.send(frame, zmq.NOBLOCK)
                except zmq.Again:
                    break  # never connected: nothing can leave

        for how in ("fresh-curve", "none", "wrong-password", "data-password"):
            d = stranger(zmq.DEALER, launcher_endpoint, launcher_public, how)
            d.send(hello, zmq.NOBLOCK)
            d.send(request, zmq.NOBLOCK)
            r = stranger(zmq.REQ, f"tcp://127.0.0.1:{handshake_port}", server_public, how)
            r.send(handshake, zmq.NOBLOCK)
            if how != "data-password":  # on the data sockets the password is the right key
                for port in data_ports:
                    push_all(stranger(zmq.PUSH, f"tcp://127.0.0.1:{port}", server_public, how),
                             [data_frame(0, step, n) for step in range(steps)])
        # Server-internal sockets: strangers, and an insider holding the client key.
        for how in ("fresh-curve", "none", "data-password", "client-key"):
            for port in internal_ports:
                push_all(stranger(zmq.PUSH, f"tcp://127.0.0.1:{port}", server_public, how), [internal_stop])
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
