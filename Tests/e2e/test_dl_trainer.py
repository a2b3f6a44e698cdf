"""End-to-end tests of the deep-learning trainer (Sources/MelissaDLPython/melissa_dl).

Real trainer processes (`python -m melissa_dl.trainer`) run against a feeder written here with
pyzmq REP sockets: a stand-in for the Swift server rank that speaks trainer protocol v1 and
serves synthetic linear-regression data y = A·[parameters, t/T] + c, which a linear model can
learn.  Nothing here needs the Swift build.
"""
import io
import json
import os
import pathlib
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
import zmq
from safetensors.torch import load_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKG = ROOT / "Sources" / "MelissaDLPython"
sys.path.insert(0, str(PKG))

from melissa_dl import TorchTrainer, checkpoint, protocol  # noqa: E402
from melissa_dl.protocol import decode_batch  # noqa: E402
from melissa_dl.validation import ValidationSet, write_simulation  # noqa: E402

PYTHON = sys.executable
NB_PARAMS = 3
FIELD_SIZE = 4
NB_STEPS = 10
_rng = np.random.default_rng(1234)
A = _rng.normal(size=(FIELD_SIZE, NB_PARAMS + 1))
C = _rng.normal(size=FIELD_SIZE)


def target(params, steps):
    """The synthetic field for (b, P) parameters and (b,) time steps."""
    x = np.concatenate([params, (steps / NB_STEPS)[:, None]], axis=1)
    return x @ A.T + C


def make_batch(index, size):
    """Batch `index` of `size` samples, deterministic in `index` (same data on every run)."""
    rng = np.random.default_rng(10_000 + index)
    ids = rng.integers(0, 1000, size=size).astype("<u4")
    steps = rng.integers(0, NB_STEPS, size=size).astype("<u4")
    params = rng.uniform(-1, 1, size=(size, NB_PARAMS))
    return ids, steps, params, target(params, steps)


MODEL_FILE = '''
import torch
from melissa_dl import TorchTrainer


class LinearRegression(TorchTrainer):
    def prepare_training_attributes(self):
        model = torch.nn.Linear(self.nb_parameters + 1, self.user["field_size"])
        optimizer = torch.optim.Adam(model.parameters(), lr=self.user.get("lr", 0.05))
        return model, optimizer

    def process_simulation_data(self, sample):
        t = torch.tensor([sample.time_step / self.nb_time_steps], dtype=torch.float64)
        return torch.cat([sample.parameters, t]).float(), sample.data["temperature"].float()
'''

# The same model with a vectorised process_batch and Melissa's two-argument
# process_simulation_data signature (not called: process_batch is overridden).
VECTOR_MODEL_FILE = '''
import torch
from melissa_dl import TorchTrainer


class VectorRegression(TorchTrainer):
    def prepare_training_attributes(self):
        model = torch.nn.Linear(self.nb_parameters + 1, self.user["field_size"])
        optimizer = torch.optim.Adam(model.parameters(), lr=self.user.get("lr", 0.05))
        return model, optimizer

    def process_simulation_data(self, msg, config_dict):
        raise AssertionError("process_batch is overridden")

    def process_batch(self, batch):
        t = torch.from_numpy(batch.time_steps.astype("float64")) / self.nb_time_steps
        x = torch.cat([batch.parameters, t[:, None]], dim=1).float()
        return x, batch.fields["temperature"].float()
'''


# --------------------------------------------------------------------------------------------
# the feeder: a stand-in for one Swift server rank
# --------------------------------------------------------------------------------------------

class Feeder(threading.Thread):
    """Serves one trainer over a REP socket.

    `script` lists the replies to successive `batch` requests: ("batch",), ("wait",),
    ("end",), or ("error", message), optionally with a checkpoint dict as second item
    ("batch", {"sequence": n, "path": p}).  After the script: `end`.  `hello_reply`
    overrides the config reply; a `silent` feeder receives `hello` and never answers.
    """

    def __init__(self, endpoint, config, script, batch_size, first_index=0,
                 hello_reply=None, silent=False, wait_delay=0.01):
        super().__init__(daemon=True)
        self.endpoint, self.config, self.script = endpoint, config, list(script)
        self.batch_size, self.next_index = batch_size, first_index
        self.hello_reply, self.silent = hello_reply, silent
        self.wait_delay = wait_delay
        self.requests, self.progress, self.done = [], [], None
        self.batches_served = 0
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.error = None

    def _reply_for_batch(self, sock, step):
        kind = step[0]
        extra = step[1] if len(step) > 1 and isinstance(step[1], dict) else None
        header = {}
        if extra is not None:
            header["checkpoint"] = extra
        if kind == "batch":
            ids, steps, params, field = make_batch(self.next_index, self.batch_size)
            header.update({"op": "batch", "size": self.batch_size, "nb_parameters": NB_PARAMS,
                           "field_sizes": [FIELD_SIZE], "index": self.next_index})
            self.next_index += 1
            self.batches_served += 1
            # Encoded independently of melissa_dl.protocol: little-endian, row-major.
            sock.send_multipart([json.dumps(header).encode(),
                                 struct.pack(f"<{len(ids)}I", *ids.tolist()),
                                 struct.pack(f"<{len(steps)}I", *steps.tolist()),
                                 struct.pack(f"<{params.size}d", *params.ravel().tolist()),
                                 struct.pack(f"<{field.size}d", *field.ravel().tolist())])
            return
        if kind == "wait":
            time.sleep(self.wait_delay)
            header["op"] = "wait"
        elif kind == "end":
            header["op"] = "end"
        elif kind == "error":
            header = {"op": "error", "message": step[1]}
        sock.send(json.dumps(header).encode())

    def run(self):
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.REP)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(self.endpoint)
        self.ready.set()
        try:
            while not self.stop.is_set():
                if not sock.poll(50):
                    continue
                msg = json.loads(sock.recv())
                self.requests.append(msg)
                op = msg["op"]
                if op == "hello":
                    if self.silent:
                        self.stop.wait()
                        return
                    sock.send(json.dumps(self.hello_reply or self.config).encode())
                elif op == "batch":
                    step = self.script.pop(0) if self.script else ("end",)
                    self._reply_for_batch(sock, step)
                elif op == "progress":
                    self.progress.append(msg)
                    sock.send(b'{"op":"ok"}')
                elif op == "done":
                    self.done = msg
                    sock.send(b'{"op":"ok"}')
                    return
                else:
                    sock.send(json.dumps({"op": "error", "message": f"bad op {op}"}).encode())
        except Exception as exc:  # surfaced by the test
            self.error = exc
        finally:
            sock.close(linger=0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_config(tmp, rank, world, model_file, batch_size=16, update=5, validation=None,
                restore=None, seed=3, lr=0.05, results=None):
    return {"op": "config", "protocol": 1, "rank": rank, "world_size": world,
            "batch_size": batch_size, "nb_batches_update": update, "pseudo_epochs": 1,
            "model_file": str(model_file), "field_names": ["temperature"],
            "nb_parameters": NB_PARAMS, "nb_time_steps": NB_STEPS,
            "validation": validation,
            "results_directory": str(results or tmp / "results"),
            "checkpoint_directory": str(tmp / "checkpoints"),
            "restore_path": None if restore is None else str(restore), "seed": seed,
            "user": {"field_size": FIELD_SIZE, "lr": lr}}


def trainer_env(endpoint, rank, world, port=None, parent_pid=None, **extra):
    env = dict(os.environ)
    env.update({"PYTHONPATH": str(PKG), "MELISSA_DL_ENDPOINT": endpoint, "RANK": str(rank),
                "WORLD_SIZE": str(world), "OMP_NUM_THREADS": "1",
                "MELISSA_DL_PARENT_PID": str(parent_pid or os.getpid())})
    if port is not None:
        env.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    else:
        env.pop("MASTER_ADDR", None)
        env.pop("MASTER_PORT", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_trainer(env):
    return subprocess.Popen([PYTHON, "-m", "melissa_dl.trainer"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs, feeders, timeout=45):
    """Wait for the trainers (killing them on timeout) and the feeders; return outputs."""
    deadline = time.monotonic() + timeout
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            outs.append((p.returncode, out, err))
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        details = [p.communicate() for p in procs]
        pytest.fail(f"trainers did not finish within {timeout} s (deadlock?): {details}")
    finally:
        for f in feeders:
            f.stop.set()
            f.join(5)
    for f in feeders:
        assert f.error is None, f.error
    return outs


def run_world(tmp, configs, scripts, first_indices=None, timeout=45, **env_extra):
    world = len(configs)
    port = free_port() if world > 1 else None
    feeders, procs = [], []
    for rank in range(world):
        endpoint = f"ipc://{tmp}/rank{rank}.ipc"
        f = Feeder(endpoint, configs[rank], scripts[rank], configs[rank]["batch_size"],
                   first_index=(first_indices or [rank * 1000] * world)[rank])
        f.start()
        assert f.ready.wait(5)
        feeders.append(f)
        procs.append(start_trainer(trainer_env(endpoint, rank, world, port, **env_extra)))
    return feeders, finish(procs, feeders, timeout)


def assert_ok(outs):
    for code, out, err in outs:
        assert code == 0, f"trainer failed ({code}):\nstdout:\n{out}\nstderr:\n{err}"


def assert_pure_safetensors(path):
    """The file is exactly: u64 header length, JSON header, tensor bytes. No pickle, no zip."""
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = len(raw) - 8 - n
    spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
    end = 0
    for start, stop in spans:
        assert start == end, "gap or overlap between tensors"
        end = stop
    assert end == data, "bytes beyond the declared tensors"
    assert not raw.startswith(b"PK") and raw[0] != 0x80  # neither a zip nor a pickle stream
    with pytest.raises(Exception):  # torch's pickle/zip loader finds nothing it can read
        torch.load(io.BytesIO(raw), weights_only=False)
    return header.get("__metadata__", {})


def regression_script(n_batches, wait_every, checkpoint_at=None):
    script = []
    for i in range(n_batches):
        if wait_every and i % wait_every == 1:
            script.append(("wait",))
        script.append(("batch", checkpoint_at[1]) if checkpoint_at and i == checkpoint_at[0]
                      else ("batch",))
    return script


# --------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------

def test_two_ranks_learn_with_waits_validation_and_checkpoint(tmp_path):
    """DDP over two trainers: same batch count, loss falls >90 %, waits and a checkpoint."""
    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    vdir = tmp_path / "valid"
    vdir.mkdir()
    rng = np.random.default_rng(99)
    for s in range(3):
        p = rng.uniform(-1, 1, NB_PARAMS)
        steps = np.arange(NB_STEPS)
        write_simulation(str(vdir / f"sim{s}.npz"), p, steps,
                         {"temperature": target(np.tile(p, (NB_STEPS, 1)), steps)})
    validation = {"directory": str(vdir), "batch_size": 8}
    ckpt = tmp_path / "checkpoints" / "model-1.safetensors"
    n = 60
    configs = [make_config(tmp_path, r, 2, model, validation=validation) for r in range(2)]
    scripts = [regression_script(n, 4, checkpoint_at=(10, {"sequence": 1, "path": str(ckpt)})),
               regression_script(n, 3)]
    feeders, outs = run_world(tmp_path, configs, scripts)
    assert_ok(outs)

    d0, d1 = feeders[0].done, feeders[1].done
    assert d0["batches"] == d1["batches"] == n
    assert d0["samples"] == d1["samples"] == n * 16
    assert d0["dropped"] == d1["dropped"] == 0
    assert d1["model_path"] is None
    final = tmp_path / "results" / "model.safetensors"
    assert d0["model_path"] == str(final) and final.exists()
    assert assert_pure_safetensors(final)["batches"] == str(n)

    prog = feeders[0].progress
    assert feeders[1].progress == []  # only rank 0 reports
    assert [p["batch"] for p in prog] == list(range(5, n + 1, 5))
    assert prog[-1]["samples"] == 2 * n * 16  # summed over the ranks
    assert prog[-1]["train_loss"] < 0.1 * prog[0]["train_loss"], prog
    assert all(p["valid_loss"] is not None for p in prog)
    assert prog[-1]["valid_loss"] < 0.1 * prog[0]["valid_loss"], prog
    assert "[melissa-dl] batch 60" in outs[0][1]

    # The checkpoint came with the 11th batch reply: saved before training on it (10 batches
    # done), reported in the next batch request.
    saved = [r["saved"] for r in feeders[0].requests if "saved" in r]
    assert saved == [{"sequence": 1, "path": str(ckpt), "batches": 10}]
    meta = assert_pure_safetensors(ckpt)
    assert meta["format"] == "melissa-dl-1" and meta["batches"] == "10"
    tensors = load_file(str(ckpt))
    assert set(tensors) == {"model.weight", "model.bias", "optimizer.state.0.step",
                            "optimizer.state.0.exp_avg", "optimizer.state.0.exp_avg_sq",
                            "optimizer.state.1.step", "optimizer.state.1.exp_avg",
                            "optimizer.state.1.exp_avg_sq"}
    assert json.loads(meta["optimizer.param_groups"])[0]["lr"] == 0.05
    assert not list(tmp_path.glob("checkpoints/.*tmp"))  # temp file renamed away


def test_one_rank_runs_dry_the_other_trains_on_without_it(tmp_path):
    """Rank 0's feeder ends after 3 batches (with waits), rank 1 has 20: no deadlock, and
    rank 1's samples are all trained on, rank 0 adding zero gradients once it is done."""
    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    configs = [make_config(tmp_path, r, 2, model, batch_size=8, update=2) for r in range(2)]
    scripts = [[("wait",), ("batch",), ("wait",), ("batch",), ("batch",), ("end",)],
               [("batch",)] * 20]
    feeders, outs = run_world(tmp_path, configs, scripts, timeout=30)
    assert_ok(outs)
    d0, d1 = feeders[0].done, feeders[1].done
    # Both ranks took part in every step: the same count, each sample trained exactly once.
    assert d0["batches"] == d1["batches"] == 20
    assert d0["samples"] == 3 * 8 and d1["samples"] == 20 * 8
    assert d0["dropped"] == d1["dropped"] == 0
    # Rank 1 held its batch while rank 0 waited (fewer rounds than PARTIAL_AFTER): never asked twice.
    assert feeders[1].batches_served == 20
    assert [p["batch"] for p in feeders[0].progress] == list(range(2, 21, 2))


def test_restore_continues_bitwise(tmp_path):
    """A checkpoint restored into a new trainer continues exactly like the original run."""
    model = tmp_path / "model.py"
    model.write_text(VECTOR_MODEL_FILE)
    ckpt = tmp_path / "checkpoints" / "model-7.safetensors"
    last = tmp_path / "checkpoints" / "model-8.safetensors"
    # Run A: 6 batches; checkpoint 7 arrives with batch 3 (saved after 3 batches), checkpoint
    # 8 with the end reply (reported in `done`).
    script_a = [("batch",)] * 3 + [("batch", {"sequence": 7, "path": str(ckpt)})] \
        + [("batch",)] * 2 + [("end", {"sequence": 8, "path": str(last)})]
    cfg_a = make_config(tmp_path, 0, 1, model, update=2, results=tmp_path / "a")
    feeders, outs = run_world(tmp_path, [cfg_a], [script_a], first_indices=[0])
    assert_ok(outs)
    assert feeders[0].done["batches"] == 6
    assert feeders[0].done["saved"] == {"sequence": 8, "path": str(last), "batches": 6}
    assert load_file(str(ckpt))["optimizer.state.0.step"].item() == 3.0

    # Run B: restore checkpoint 7 (different seed: restore must override the init) and get
    # the same batches 3..5.
    cfg_b = make_config(tmp_path, 0, 1, model, update=2, restore=ckpt, seed=11,
                        results=tmp_path / "b")
    feeders, outs = run_world(tmp_path, [cfg_b], [[("batch",)] * 3], first_indices=[3])
    assert_ok(outs)
    assert feeders[0].done["batches"] == 6  # the counter continues from the checkpoint
    assert [p["batch"] for p in feeders[0].progress] == [4, 6]
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k

    # Loading the checkpoint into a fresh model gives the saved model's outputs.
    fresh = torch.nn.Linear(NB_PARAMS + 1, FIELD_SIZE)
    x = torch.randn(5, NB_PARAMS + 1)
    before = fresh(x)
    info = checkpoint.load(str(ckpt), fresh)
    assert info["batches"] == 3
    raw = load_file(str(ckpt))
    assert not torch.equal(before, fresh(x))
    assert torch.equal(fresh(x), torch.nn.functional.linear(x, raw["model.weight"],
                                                            raw["model.bias"]))


def test_adam_state_roundtrip_is_bitwise(tmp_path):
    """After save/load, Adam's next step is bitwise identical to the original's."""
    def build(seed):
        torch.manual_seed(seed)
        m = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
        return m, torch.optim.Adam(m.parameters(), lr=3e-3, betas=(0.8, 0.95), weight_decay=1e-4)

    def step(m, opt, x, y):
        opt.zero_grad()
        torch.nn.functional.mse_loss(m(x), y).backward()
        opt.step()

    torch.manual_seed(0)
    data = [(torch.randn(16, 5), torch.randn(16, 3)) for _ in range(4)]
    m1, o1 = build(1)
    for x, y in data[:3]:
        step(m1, o1, x, y)
    path = tmp_path / "adam.safetensors"
    checkpoint.save(str(path), m1, o1, batches=3, samples=48)
    assert_pure_safetensors(path)
    m2, o2 = build(2)  # different init, fresh optimizer
    info = checkpoint.load(str(path), m2, o2)
    assert (info["batches"], info["samples"]) == (3, 48)
    assert o2.param_groups[0]["betas"] == (0.8, 0.95)
    step(m1, o1, *data[3])
    step(m2, o2, *data[3])
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p1, p2)
    s1, s2 = o1.state_dict(), o2.state_dict()
    for i in s1["state"]:
        for k in s1["state"][i]:
            assert torch.equal(s1["state"][i][k], s2["state"][i][k]), (i, k)
    assert s1["param_groups"] == s2["param_groups"]


@pytest.mark.parametrize("body,expected", [
    ("import torch\nclass NotATrainer:\n    pass\n", "defines no subclass"),
    (MODEL_FILE + "\nclass Other(TorchTrainer):\n    pass\n", "several subclasses"),
])
def test_model_file_without_single_subclass_fails_clearly(tmp_path, body, expected):
    model = tmp_path / "bad_model.py"
    model.write_text(body)
    feeders, outs = run_world(tmp_path, [make_config(tmp_path, 0, 1, model)], [[]], timeout=30)
    code, out, err = outs[0]
    assert code == 1
    assert expected in err and str(model) in err and "TorchTrainer" in err
    assert "Traceback" not in err


def test_server_error_reply_and_silent_server_exit_1(tmp_path):
    """An `error` reply (here mid-training) is printed and exits 1; so does a server that
    stops answering."""
    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    cfg = make_config(tmp_path, 0, 1, model)
    f1 = Feeder(f"ipc://{tmp_path}/e1.ipc", cfg, [("batch",), ("error", "buffer exploded")], 16)
    f2 = Feeder(f"ipc://{tmp_path}/e2.ipc", cfg, [], 16, silent=True)
    for f in (f1, f2):
        f.start()
        assert f.ready.wait(5)
    p1 = start_trainer(trainer_env(f1.endpoint, 0, 1))
    p2 = start_trainer(trainer_env(f2.endpoint, 0, 1, MELISSA_DL_REPLY_TIMEOUT=1.5))
    (c1, _, e1), (c2, _, e2) = finish([p1, p2], [f1, f2], timeout=30)
    assert c1 == 1 and "buffer exploded" in e1, e1
    assert c2 == 1 and "no reply from the server" in e2 and "presumed dead" in e2, e2


def _gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_trainer_dies_with_its_parent(tmp_path):
    """kill -9 of the process that started the trainer takes the trainer down (PDEATHSIG);
    a trainer whose MELISSA_DL_PARENT_PID disappears exits too (the polling backstop).
    Both trainers are blocked waiting for the server's reply to `hello` at that moment."""
    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    feeders = []
    for name in ("a", "b"):
        f = Feeder(f"ipc://{tmp_path}/{name}.ipc", make_config(tmp_path, 0, 1, model), [], 16,
                   silent=True)
        f.start()
        assert f.ready.wait(5)
        feeders.append(f)
    env = trainer_env(feeders[0].endpoint, 0, 1)
    env.pop("MELISSA_DL_PARENT_PID")
    launcher = ("import os, subprocess, sys, time\n"
                "env = dict(os.environ, MELISSA_DL_PARENT_PID=str(os.getpid()))\n"
                "p = subprocess.Popen([sys.executable, '-m', 'melissa_dl.trainer'], env=env)\n"
                "print(p.pid, flush=True)\n"
                "time.sleep(120)\n")
    middle = subprocess.Popen([PYTHON, "-c", launcher], env=env, stdout=subprocess.PIPE,
                              text=True)
    # Trainer b is our child, but its declared server rank is this unrelated process.
    server = subprocess.Popen(["sleep", "120"])
    direct = start_trainer(trainer_env(feeders[1].endpoint, 0, 1, parent_pid=server.pid))
    trainer_pid = None
    try:
        trainer_pid = int(middle.stdout.readline())
        deadline = time.monotonic() + 20
        while not all(f.requests for f in feeders):
            assert time.monotonic() < deadline, "trainers never said hello"
            assert not _gone(trainer_pid) and direct.poll() is None, "a trainer died early"
            time.sleep(0.05)
        os.kill(middle.pid, signal.SIGKILL)
        middle.wait(5)
        server.kill()
        server.wait(5)  # reaped: the pid no longer exists
        deadline = time.monotonic() + 5
        while not _gone(trainer_pid):
            assert time.monotonic() < deadline, "trainer outlived its parent"
            time.sleep(0.05)
        _, err = direct.communicate(timeout=5)
        assert direct.returncode == 1 and f"pid {server.pid}) is gone" in err, err
    finally:
        for p in (middle, server, direct):
            if p.poll() is None:
                p.kill()
                p.wait()
        if trainer_pid is not None and not _gone(trainer_pid):
            os.kill(trainer_pid, signal.SIGKILL)
        for f in feeders:
            f.stop.set()
            f.join(5)


def test_frames_wrapped_without_copy_hooks_and_validation_set_in_process(tmp_path):
    ids, steps, params, field = make_batch(0, 6)
    frames = [zmq.Frame(ids.tobytes()), zmq.Frame(steps.tobytes()),
              zmq.Frame(params.astype("<f8").tobytes()), zmq.Frame(field.astype("<f8").tobytes())]
    header = {"op": "batch", "size": 6, "nb_parameters": NB_PARAMS, "field_sizes": [FIELD_SIZE],
              "index": 0}
    batch = decode_batch(header, frames, ["temperature"])
    field_view = np.frombuffer(frames[3].buffer, dtype="<f8")
    assert batch.fields["temperature"].data_ptr() == field_view.ctypes.data  # no copy
    assert batch.parameters.data_ptr() == np.frombuffer(frames[2].buffer, "<f8").ctypes.data
    s = batch.sample(2)
    assert s.data["temperature"].data_ptr() == field_view.ctypes.data + 2 * FIELD_SIZE * 8
    assert np.array_equal(s.data["temperature"].numpy(), field[2])
    assert (s.simulation_id, s.time_step) == (int(ids[2]), int(steps[2]))

    # The default process_batch stacks process_simulation_data, Melissa's (msg, config_dict)
    # signature included.
    class Melissa(TorchTrainer):
        def process_simulation_data(self, msg, config_dict):
            assert config_dict is self.config
            return msg.parameters * 2, msg.data["temperature"][:2]

    x, y = Melissa(make_config(tmp_path, 0, 1, "unused.py")).process_batch(batch)
    assert torch.equal(x, torch.from_numpy(params) * 2)
    assert torch.equal(y, torch.from_numpy(field[:, :2]))
    # Strict JSON: a diverged loss goes out as null, never NaN.
    wire = json.loads(protocol.encode(protocol.progress(5, 80, float("nan"), float("inf"), 1.5)))
    assert wire["train_loss"] is None and wire["valid_loss"] is None

    vdir = tmp_path / "v"
    vdir.mkdir()
    for k in range(2):
        write_simulation(str(vdir / f"s{k}.npz"), np.arange(NB_PARAMS) + k, np.arange(NB_STEPS),
                         {"temperature": np.full((NB_STEPS, FIELD_SIZE), float(k))})
    vs = ValidationSet(str(vdir), ["temperature"], NB_PARAMS)
    assert len(vs) == 2 * NB_STEPS
    shard0 = list(vs.batches(6, rank=0, world_size=2))
    shard1 = list(vs.batches(6, rank=1, world_size=2))
    assert [i for i, _ in shard0] == [0, 2] and [i for i, _ in shard1] == [1, 3]
    assert sum(b.size for _, b in shard0 + shard1) == 2 * NB_STEPS
    b2 = shard0[1][1]
    assert b2.fields["temperature"].data_ptr() == \
        vs.fields["temperature"].data_ptr() + 12 * FIELD_SIZE * 8  # a view
    assert b2.simulation_ids.tolist() == [1] * 6 and b2.time_steps.tolist() == [2, 3, 4, 5, 6, 7]


def test_a_reply_with_several_batches_is_cut_back_into_them_without_copies():
    """The server answers a request for `count` batches with one reply whose `batches` lists
    their sizes; the trainer cuts the frames back into batches, as views."""
    ids, steps = list(range(7)), [3] * 7
    params = np.arange(14, dtype=np.float64).reshape(7, 2)
    field = np.arange(21, dtype=np.float64).reshape(7, 3)
    frames = protocol.encode_batch(4, ids, steps, params, [field])
    header = json.loads(frames[0])
    header["batches"] = [3, 3, 1]
    whole = decode_batch(header, [zmq.Frame(f) for f in frames[1:]], ["u"])
    parts = protocol.split_batches(header, whole)
    assert [p.size for p in parts] == [3, 3, 1]
    assert [p.index for p in parts] == [4, 5, 6]
    assert list(parts[1].simulation_ids) == [3, 4, 5]
    np.testing.assert_array_equal(parts[2].fields["u"].numpy(), field[6:7])
    np.testing.assert_array_equal(parts[0].parameters.numpy(), params[:3])
    assert parts[1].fields["u"].data_ptr() == whole.fields["u"].data_ptr() + 3 * 3 * 8
    assert protocol.batch_request(None, 4) == {"op": "batch", "count": 4}
    assert protocol.batch_request(None) == {"op": "batch"}
    for bad in ([3, 3], [7, 0], "x"):
        header["batches"] = bad
        with pytest.raises(protocol.ProtocolError):
            protocol.split_batches(header, whole)
