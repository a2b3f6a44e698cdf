"""A fake, hostile simulation for the end-to-end tests, run by the real launcher.

The generated client script runs it as
    <venv python> hostile_client.py --plan PLAN.json --dump DIR p0 p1 ...
under `mpirun -n 1`, with MELISSA_SIMU_ID and MELISSA_SERVER_ADDRESS exported. It speaks the
wire protocol of docs/PROTOCOL.md by hand with pyzmq, as one client rank (clientRank 0):

* the handshake (REQ) with server rank 0;
* the VALID data of its simulation: one field (index 0) of `global_size` cells over the
  study's time steps, one message per (time step, server rank) carrying that rank's block,
  value = `value(sim, step, cell)`; what it sent is saved to DIR/valid.sim<S>.npy;
* mixed in, the hostile messages its plan entry lists (see HOSTILE below);
* optionally, a handshake of another protocol version on a second REQ socket, whose
  answer is saved to DIR/handshake.sim<S>.json.

PLAN.json: {"global_size": N, "sims": {"<sim id>": {"kinds": [...], "stop_after": k,
"bad_handshake": true, "exit_code": 0, "hang_after": k}}}; a simulation absent from "sims" is
well behaved. "hang_after": k sends k steps and then hangs (sleeps) without exiting, on its
first run only (a marker file in DIR records it), so a rerun completes.
Every message sent (valid or not) is logged to DIR/sent.sim<S>.json: per kind, the count
and bytes, so a test can check that it expects exactly what went on the wire.
"""
import json
import math
import os
import pathlib
import random
import struct
import sys
import time

import numpy as np
import zmq

VERSION = 1            # data channel
HANDSHAKE_VERSION = 3  # handshake channel (its reply names the data mechanism and the routing)
U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF
POISON = 1.0e12  # hostile payloads: any of them applied would wreck the mean


def value(sim, step, cell):
    """The valid value of `cell` at time step `step` of simulation `sim`."""
    return (sim + 1) * math.sin(0.3 * cell + 0.7 * step + 0.13 * sim) + 0.01 * step


def valid_field(sim, steps, n):
    return np.array([[value(sim, t, i) for i in range(n)] for t in range(steps)], dtype="<f8")


def block(r, n, m):
    """Server rank r's block [lo, hi) of a field of n values over m ranks (PROTOCOL.md 5)."""
    q, e = divmod(n, m)
    lo = r * q + min(r, e)
    return lo, lo + q + (1 if r < e else 0)


def data_message(sim, step, field, client_rank, global_size, offset, values, *, count=None,
                 version=VERSION, kind=1, magic=b"MLSD"):
    """A data message; `count` defaults to len(values) (set it to lie about the payload)."""
    values = np.asarray(values, dtype="<f8")
    n = len(values) if count is None else count
    header = magic + struct.pack("<HHIIIIQQQ", version, kind, sim, step, field, client_rank,
                                 global_size, offset, n)
    assert len(header) == 48
    return header + values.tobytes()


def poison(count):
    return [POISON + i for i in range(count)]


# --- handshake ---------------------------------------------------------------------------

def handshake_request(sim, comm_size=1, version=HANDSHAKE_VERSION, kind=1):
    return b"MLSH" + struct.pack("<HHII", version, kind, sim, comm_size)


def read_str(buf, pos):
    (length,) = struct.unpack_from("<H", buf, pos)
    pos += 2
    return buf[pos:pos + length].decode("utf-8"), pos + length


def decode_handshake_answer(buf):
    """{"magic", "version", "kind", ...}: a reply's layout, or a refusal's reason."""
    out = {"magic": buf[:4].decode("latin-1"), "length": len(buf)}
    if len(buf) < 8:
        return out
    out["version"], out["kind"] = struct.unpack_from("<HH", buf, 4)
    if out["kind"] == 3:
        out["reason"], _ = read_str(buf, 8)
    elif out["kind"] == 2:
        m, steps, verbosity, mechanism, routing, nfields = struct.unpack_from("<IIIIII", buf, 8)
        pos = 32
        fields, endpoints = [], []
        for _ in range(nfields):
            name, pos = read_str(buf, pos)
            fields.append(name)
        for _ in range(m):
            ep, pos = read_str(buf, pos)
            endpoints.append(ep)
        out.update(server_ranks=m, nb_time_steps=steps, verbosity=verbosity, data_mechanism=mechanism,
                   routing=routing, fields=fields,
                   endpoints=endpoints, trailing=len(buf) - pos)
    return out


def study_keys(study=None):
    """(client public, client secret, server public) from the study's keys/ (docs/SECURITY.md),
    as the client library reads them; None when the study has no keys."""
    study = study or os.environ.get("MELISSA_STUDY_DIR")
    if not study or not os.path.isdir(os.path.join(study, "keys")):
        return None

    def read(role):
        fields = dict(line.split("=", 1) for line in
                      pathlib.Path(study, "keys", f"{role}.key").read_text().splitlines()
                      if "=" in line and not line.startswith("#"))
        return fields["public"].encode(), fields["secret"].encode()

    public, secret = read("client")
    return public, secret, read("server")[0]


def with_curve(sock, keys=None):
    """Makes `sock` a CURVE client with the study's client key (an insider: these tests are
    about hostile protocol input from an authenticated simulation)."""
    keys = keys or study_keys()
    if keys:
        sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = keys
    return sock


def data_password(study=None):
    """The study's data password (keys/data.password), for data sockets using PLAIN."""
    study = study or os.environ.get("MELISSA_STUDY_DIR")
    fields = dict(line.split("=", 1) for line in
                  pathlib.Path(study, "keys", "data.password").read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    return fields["password"].encode()


def data_socket(ctx, mechanism):
    """A PUSH socket authenticated as the handshake reply says: CURVE (1) or PLAIN (2)."""
    sock = ctx.socket(zmq.PUSH)
    if mechanism == 2:
        sock.plain_username, sock.plain_password = b"melissa", data_password()
        return sock
    return with_curve(sock)


def ask(ctx, address, frames, timeout_ms=10000):
    """One REQ round trip on a fresh socket; the decoded answer."""
    req = with_curve(ctx.socket(zmq.REQ))
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, timeout_ms)
    req.setsockopt(zmq.SNDTIMEO, timeout_ms)
    req.connect(address)
    try:
        req.send_multipart(frames)
        return decode_handshake_answer(req.recv())
    finally:
        req.close()


# --- the hostile catalogue ---------------------------------------------------------------
# Each kind: (phase, builder). Phases: "pre" before the valid step 0, "post" right after
# the valid step 0 (the receiving rank then knows the field's layout and has step 0 of
# this simulation complete, but not the simulation), "after" after the last valid step
# (the simulation is complete on every rank), "first" before anything (even the handshake's
# data sockets' valid traffic). A builder returns [(server rank, [frames...]), ...].

def _hostile(kind, c):
    sim, steps, n, m, sims = c["sim"], c["steps"], c["n"], c["m"], c["sims"]
    b0, b1 = block(0, n, m), block(1, n, m)
    good = lambda r, t: data_message(sim, t, 0, 0, n, block(r, n, m)[0], c["field"][t, slice(*block(r, n, m))])
    rnd = random.Random(1000 + sim)
    if kind == "garbage":  # malformed: bad magic, empty, too short, random bytes
        return [(0, [bytes(rnd.randrange(256) for _ in range(64)).replace(b"MLSD", b"XXXX")]),
                (1, [b""]),
                (0, [b"MLSD\x01\x00"]),
                (1, [b"MLSX" + good(1, 0)[4:]])]
    if kind == "truncated":  # malformed: fewer values than count, header cut short
        return [(0, [data_message(sim, 0, 0, 0, n, b0[0], poison(3), count=5)]),
                (1, [good(1, 0)[:40]])]
    if kind == "count_mismatch":  # malformed: more values than count
        return [(0, [data_message(sim, 0, 0, 0, n, b0[0], poison(5), count=3)]),
                (1, [data_message(sim, 0, 0, 0, n, b1[0], poison(6), count=5)])]
    if kind == "wrong_version":  # malformed: version 2 and 0, otherwise well formed
        return [(0, [data_message(sim, 0, 0, 0, n, b0[0], poison(5), version=2)]),
                (1, [data_message(sim, 0, 0, 0, n, b1[0], poison(5), version=0)])]
    if kind == "wrong_kind":  # malformed: data kind 2 does not exist
        return [(0, [data_message(sim, 0, 0, 0, n, b0[0], poison(5), kind=2)])]
    if kind == "slice_overflow":  # malformed: offset + count > global size, and u64 overflow
        return [(1, [data_message(sim, 0, 0, 0, n, n - 2, poison(5))]),
                (1, [data_message(sim, 0, 0, 0, n, U64, poison(1))])]
    if kind == "unknown_simulation":
        return [(0, [data_message(sims, 0, 0, 0, n, b0[0], poison(5))]),
                (1, [data_message(U32, 0, 0, 0, n, b1[0], poison(5))])]
    if kind == "unknown_field":
        return [(0, [data_message(sim, 0, 1, 0, n, b0[0], poison(5))]),
                (1, [data_message(sim, 0, U32, 0, n, b1[0], poison(5))])]
    if kind == "out_of_range_step":
        return [(0, [data_message(sim, steps, 0, 0, n, b0[0], poison(5))]),
                (1, [data_message(sim, steps + 1, 0, 0, n, b1[0], poison(5))]),
                (0, [data_message(sim, U32, 0, 0, n, b0[0], poison(5))])]
    if kind == "misrouted":  # slices outside the receiving rank's block
        return [(0, [data_message(sim, 0, 0, 0, n, b1[0], poison(b1[1] - b1[0]))]),
                (1, [data_message(sim, 0, 0, 0, n, b0[0], poison(b0[1] - b0[0]))]),
                (0, [data_message(sim, 0, 0, 0, n, b0[1] - 2, poison(4))]),  # straddles 0|1
                (0, [data_message(sim, 0, 0, 0, n, b0[1], [])])]  # empty notice, block not empty
    if kind == "duplicate":  # exact copies of the valid step 0, before the simulation completes
        return [(0, [good(0, 0)]), (1, [good(1, 0)])]
    if kind == "inconsistent":  # another global size once the rank knows the field's
        return [(0, [data_message(sim, 1, 0, 0, n + 1, b0[0], poison(b0[1] - b0[0]))]),
                (1, [data_message(sim, 1, 0, 0, n - 1, b1[0], poison(n - 1 - b1[0]))])]
    if kind == "overfill":  # another "client rank" adding values to a complete step: inconsistent
        return [(0, [data_message(sim, 0, 0, 1, n, b0[0], poison(b0[1] - b0[0]))]),
                (1, [data_message(sim, 0, 0, 7, n, b1[1] - 1, poison(1))])]
    if kind == "after_close":  # exact copies of the last valid step, after completion
        return [(0, [good(0, steps - 1)]), (1, [good(1, steps - 1)])]
    if kind == "multipart":  # a valid-looking message with a second frame: malformed as a whole
        return [(0, [data_message(sim, 0, 0, 0, n, b0[0], poison(b0[1] - b0[0])), b"tail"])]
    if kind == "layout_poison":  # first message a rank sees: other global size, misrouted
        return [(0, [data_message(sim, 0, 0, 0, 1000, 900, poison(1))])]
    if kind == "layout_accepted":  # first message a rank sees: other global size, in its block
        return [(0, [data_message(sim, 0, 0, 0, 1000, 0, poison(b0[1] - b0[0]))])]
    raise ValueError(f"unknown hostile kind {kind!r}")


PHASES = {"duplicate": "post", "inconsistent": "post", "overfill": "post", "after_close": "after",
          "multipart": "pre", "layout_poison": "first",
          "layout_accepted": "first"}


def main(argv):
    args = argv[1:]
    plan_path = args[args.index("--plan") + 1]
    dump = pathlib.Path(args[args.index("--dump") + 1])
    params = [float(a) for a in args[args.index("--dump") + 2:]]
    plan = json.loads(pathlib.Path(plan_path).read_text())
    sim = int(os.environ["MELISSA_SIMU_ID"])
    address = os.environ["MELISSA_SERVER_ADDRESS"]
    mine = plan.get("sims", {}).get(str(sim), {})
    n = plan["global_size"]

    ctx = zmq.Context()
    hello = ask(ctx, address, [handshake_request(sim)])
    (dump / f"reply.sim{sim}.json").write_text(json.dumps({"reply": hello, "params": params}))
    if hello.get("kind") != 2:
        print(f"sim {sim}: handshake refused: {hello}", file=sys.stderr)
        return 3
    steps, m = hello["nb_time_steps"], hello["server_ranks"]
    stop_after = mine.get("stop_after", steps)

    if mine.get("bad_handshake"):
        observed = {
            "version1": ask(ctx, address, [handshake_request(sim, version=1)]),
            "version1_short": ask(ctx, address, [b"MLSH\x01\x00"]),
            "garbage": ask(ctx, address, [b"\x00\x01\x02"]),
            "unknown_simulation": ask(ctx, address, [handshake_request(plan["sims_total"])]),
            "zero_ranks": ask(ctx, address, [handshake_request(sim, comm_size=0)]),
            "two_frames": ask(ctx, address, [handshake_request(sim), b"x"]),
        }
        (dump / f"handshake.sim{sim}.json").write_text(json.dumps(observed, indent=1))

    field = valid_field(sim, steps, n)
    c = {"sim": sim, "steps": steps, "n": n, "m": m, "sims": plan["sims_total"], "field": field}
    pushes = []
    for ep in hello["endpoints"]:
        s = data_socket(ctx, hello["data_mechanism"])
        s.setsockopt(zmq.LINGER, 20000)
        s.connect(ep)
        pushes.append(s)
    sent = {}

    def send(kind, r, frames):
        pushes[r].send_multipart(frames)
        entry = sent.setdefault(kind, {"messages": 0, "bytes": 0, "frames": 0})
        entry["messages"] += 1
        entry["frames"] += len(frames)
        entry["bytes"] += sum(len(f) for f in frames)

    def hostile(phase):
        for kind in mine.get("kinds", []):
            if PHASES.get(kind, "pre") == phase:
                for r, frames in _hostile(kind, c):
                    send(kind, r, frames)

    hostile("first")
    hang_marker = dump / f"hung.sim{sim}"
    hang_after = mine.get("hang_after") if not hang_marker.exists() else None
    for t in range(stop_after):
        if t == hang_after:
            hang_marker.write_text("hung once\n")
            time.sleep(3600)
        if t == 0:
            hostile("pre")
        for r in range(m):
            lo, hi = block(r, n, m)
            if hi > lo:
                send("valid", r, [data_message(sim, t, 0, 0, n, lo, field[t, lo:hi])])
        if t == 0:
            hostile("post")
    if stop_after == steps:
        hostile("after")
    np.save(dump / f"valid.sim{sim}.npy", field[:stop_after])
    (dump / f"sent.sim{sim}.json").write_text(json.dumps(sent, indent=1))
    for s in pushes:
        s.close()  # LINGER: everything queued is delivered before the context ends
    ctx.term()
    return int(mine.get("exit_code", 0))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
