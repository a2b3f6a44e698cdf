"""The trainer process: ``python -m melissa_dl.trainer``.

Started by a server rank (one trainer per rank).  Environment:

``MELISSA_DL_ENDPOINT``     ZeroMQ endpoint of the rank's REP socket (``ipc://...``), required
``RANK``, ``WORLD_SIZE``    this trainer's rank / number of trainers (default 0 / 1)
``MASTER_ADDR``, ``MASTER_PORT``  gloo rendezvous (required when ``WORLD_SIZE`` > 1)
``MELISSA_DL_PARENT_PID``   pid of the server rank; the trainer exits when it is gone
Optional tuning: ``MELISSA_DL_REPLY_TIMEOUT`` (s, default 120: no reply -> server presumed
dead, exit 1), ``MELISSA_DL_GLOO_TIMEOUT`` (s, default 120), ``MELISSA_DL_PARENT_POLL``
(s, default 0.5).

Exit status: 0 after a completed ``done`` exchange, 1 on any error (server ``error`` reply,
missing server, protocol violation, user-code exception, parent death).
"""

from __future__ import annotations

import collections
import ctypes
import datetime
import importlib.util
import inspect
import os
import queue
import random
import signal
import sys
import threading
import time
import traceback
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist
import zmq

from . import checkpoint, protocol
from .hooks import TorchTrainer
from .protocol import Batch, ProtocolError
from .validation import ValidationError, ValidationSet

PR_SET_PDEATHSIG = 1
FINAL_MODEL_NAME = "model.safetensors"


class TrainerError(RuntimeError):
    """A fatal condition with a message meant for the user (no traceback needed)."""


_log_prefix = "melissa-dl trainer"


def _stderr(message: str) -> None:
    try:
        sys.stderr.write(f"{_log_prefix}: {message}\n")
        sys.stderr.flush()
    except Exception:
        pass


def _die(message: str, code: int = 1) -> None:
    """Report and exit at once (no interpreter teardown: it could block on gloo)."""
    _stderr(message)
    try:
        sys.stdout.flush()
    except Exception:
        pass
    os._exit(code)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise TrainerError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise TrainerError(f"{name} must be > 0, got {raw!r}")
    return value


def _env_int(name: str, default: Optional[int]) -> Optional[int]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise TrainerError(f"{name}={raw!r} is not an integer") from None


# --------------------------------------------------------------------------------------------
# parent death
# --------------------------------------------------------------------------------------------

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def guard_parent(parent_pid: Optional[int], poll: float) -> None:
    """Die with the server rank: PR_SET_PDEATHSIG plus a polling thread as a backstop.

    The polling thread exits the process when the parent changes (we were re-parented) or
    when ``parent_pid`` no longer exists; it runs even while the main thread is blocked in
    a ZeroMQ receive or a gloo collective.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            _stderr(f"warning: prctl(PR_SET_PDEATHSIG) failed (errno {ctypes.get_errno()})")
    except (OSError, AttributeError) as exc:  # non-Linux
        _stderr(f"warning: PR_SET_PDEATHSIG unavailable ({exc}); relying on polling")
    initial_ppid = os.getppid()
    if parent_pid is not None and not _pid_alive(parent_pid):
        _die(f"server rank (pid {parent_pid}) is already gone; exiting")
    if initial_ppid == 1 and parent_pid not in (None, 1):
        _die("parent process already exited (re-parented to init); exiting")

    def watch() -> None:
        while True:
            time.sleep(poll)
            ppid = os.getppid()
            if ppid != initial_ppid:
                _die(f"parent process {initial_ppid} exited (now re-parented to {ppid}); "
                     "exiting")
            if parent_pid is not None and parent_pid != initial_ppid \
                    and not _pid_alive(parent_pid):
                _die(f"server rank (pid {parent_pid}) is gone; exiting")

    threading.Thread(target=watch, name="melissa-dl-parent-watch", daemon=True).start()


# --------------------------------------------------------------------------------------------
# server connection
# --------------------------------------------------------------------------------------------

class ServerClient:
    """The REQ side of the protocol: strict request/reply with a bounded wait for replies."""

    def __init__(self, endpoint: str, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.REQ)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
        self.socket.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))
        self.lock = threading.Lock()
        try:
            self.socket.connect(endpoint)
        except zmq.ZMQError as exc:
            raise TrainerError(f"cannot connect to {endpoint!r}: {exc}") from None

    def request(self, message: Dict[str, Any]) -> Tuple[Dict[str, Any], List[Any]]:
        op = message.get("op")
        try:
            # The prefetch thread and the main thread share the socket: a request and its
            # reply go together.
            with self.lock:
                self.socket.send(protocol.encode(message))
                frames = self.socket.recv_multipart(copy=False)
        except zmq.Again:
            raise TrainerError(
                f"no reply from the server at {self.endpoint} within {self.timeout:g} s "
                f"(request {op!r}); the server rank is presumed dead") from None
        except zmq.ZMQError as exc:
            raise TrainerError(f"ZeroMQ error talking to {self.endpoint} "
                               f"(request {op!r}): {exc}") from None
        header, rest = protocol.split_reply(frames)
        if header["op"] == "error":
            raise TrainerError(f"server error (request {op!r}): "
                               f"{header.get('message', '(no message)')}")
        return header, rest

    def expect_ok(self, message: Dict[str, Any]) -> Dict[str, Any]:
        header, _ = self.request(message)
        if header["op"] != "ok":
            raise ProtocolError(f"expected 'ok' in reply to {message['op']!r}, "
                                f"got {header['op']!r}")
        return header

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()


class Prefetcher:
    """Asks for the next batch while the current one trains, so the data path (request,
    reply, decoding) overlaps the training step instead of adding to it. One request ahead at
    most: a batch is fetched only once the main thread took the previous reply. Its own
    thread; ZeroMQ and torch release the GIL while they work. An error on the thread is
    raised again by `next()` on the main thread."""

    def __init__(self, fetch) -> None:
        self.fetch = fetch
        self.replies: "queue.Queue" = queue.Queue()
        self.slot = threading.Semaphore(1)
        self.thread = threading.Thread(target=self.work, name="melissa-dl-prefetch", daemon=True)
        self.thread.start()

    def work(self) -> None:
        try:
            while True:
                self.slot.acquire()
                reply = self.fetch()
                self.replies.put(reply)
                if reply[0] == "end":
                    return
        except BaseException as exc:  # handed to the main thread
            self.replies.put(exc)

    def next(self) -> Tuple[str, Optional[Batch], Optional[Dict[str, Any]]]:
        """The next reply; call `release()` once it is handled, to let the next request go."""
        reply = self.replies.get()
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def release(self) -> None:
        self.slot.release()


# --------------------------------------------------------------------------------------------
# user code
# --------------------------------------------------------------------------------------------

def load_trainer_class(path: str) -> type:
    """Import the model file and return its single (leaf) subclass of TorchTrainer."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise TrainerError(f"model file {path} does not exist")
    name = "melissa_dl_user_model"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TrainerError(f"model file {path} cannot be imported (not a Python file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except Exception:
        raise TrainerError(f"importing model file {path} failed:\n"
                           + traceback.format_exc().rstrip()) from None
    found = [obj for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, TorchTrainer)
             and obj is not TorchTrainer and obj.__module__ == name]
    leaves = [c for c in found if not any(o is not c and issubclass(o, c) for o in found)]
    if not leaves:
        raise TrainerError(f"model file {path} defines no subclass of melissa_dl.TorchTrainer "
                           "(define exactly one class deriving from melissa_dl.TorchTrainer)")
    if len(leaves) > 1:
        names = ", ".join(sorted(c.__name__ for c in leaves))
        raise TrainerError(f"model file {path} defines several subclasses of "
                           f"melissa_dl.TorchTrainer ({names}); define exactly one")
    return leaves[0]


def _positional_count(fn) -> int:
    return len([p for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])


# --------------------------------------------------------------------------------------------
# the training run
# --------------------------------------------------------------------------------------------

class Run:
    def __init__(self) -> None:
        global _log_prefix
        endpoint = os.environ.get("MELISSA_DL_ENDPOINT")
        if not endpoint:
            raise TrainerError("MELISSA_DL_ENDPOINT is not set")
        self.rank = _env_int("RANK", 0)
        self.world_size = _env_int("WORLD_SIZE", 1)
        _log_prefix = f"melissa-dl trainer rank {self.rank}"
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise TrainerError(f"RANK={self.rank} WORLD_SIZE={self.world_size} is inconsistent")
        self.client = ServerClient(endpoint, _env_float("MELISSA_DL_REPLY_TIMEOUT", 120.0))
        self.gloo_timeout = _env_float("MELISSA_DL_GLOO_TIMEOUT", 120.0)
        self.distributed = False
        self.batches = 0
        self.samples = 0
        self.dropped = 0
        # Where the loop's time goes (printed at the end): asking for batches (the data path,
        # and waiting for data) against training steps (hooks, backward, averaging, optimizer).
        self.seconds_waiting = 0.0
        self.seconds_stalled = 0.0  # the part after the first step: the trainer starved
        self.seconds_training = 0.0
        self.pending_saved: Optional[Dict[str, Any]] = None
        self.saved_lock = threading.Lock()
        # Batches per request: one round trip (JSON, ZeroMQ, decoding) serves several steps.
        self.batches_per_request = max(1, min(64, _env_int("MELISSA_DL_BATCHES_PER_REQUEST", 4) or 1))
        self.fetched: "collections.deque[Batch]" = collections.deque()

    # ---- collective helpers ---------------------------------------------------------------

    def all_sum(self, values: List[float]) -> List[float]:
        t = torch.tensor(values, dtype=torch.float64)
        if self.distributed:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    # ---- setup ----------------------------------------------------------------------------

    def handshake(self) -> Dict[str, Any]:
        header, _ = self.client.request(protocol.hello(os.getpid()))
        config = protocol.validate_config(header)
        if config["rank"] != self.rank or config["world_size"] != self.world_size:
            raise TrainerError(f"config says rank {config['rank']}/{config['world_size']}, "
                               f"environment says RANK={self.rank} WORLD_SIZE={self.world_size}")
        return config

    def init_distributed(self) -> None:
        if self.world_size == 1:
            return  # one trainer: nothing to average, no process group
        for var in ("MASTER_ADDR", "MASTER_PORT"):
            if not os.environ.get(var):
                raise TrainerError(f"{var} is not set (needed for WORLD_SIZE={self.world_size})")
        try:
            dist.init_process_group("gloo", rank=self.rank, world_size=self.world_size,
                                    timeout=datetime.timedelta(seconds=self.gloo_timeout))
        except Exception as exc:
            raise TrainerError(
                f"gloo rendezvous at {os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']} "
                f"(rank {self.rank} of {self.world_size}) failed: {exc}") from None
        self.distributed = True

    def build(self, config: Dict[str, Any]) -> None:
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        print(f"[melissa-dl rank {self.rank}] torch {torch.__version__}, {torch.get_num_threads()} "
              f"thread(s), CPUs {cpus}", flush=True)
        seed = int(config["seed"])
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed % (2 ** 32))
        cls = load_trainer_class(config["model_file"])
        try:
            self.user = user = cls(config)
        except Exception:
            raise TrainerError(f"{cls.__name__}(config) failed (the class must accept the "
                               "config dict and call super().__init__(config)):\n"
                               + traceback.format_exc().rstrip()) from None
        if not hasattr(user, "criterion"):
            raise TrainerError(f"{cls.__name__}.__init__ must call super().__init__(config)")
        attrs = user.prepare_training_attributes()
        if not (isinstance(attrs, (tuple, list)) and len(attrs) == 2
                and isinstance(attrs[0], torch.nn.Module)
                and isinstance(attrs[1], torch.optim.Optimizer)):
            raise TrainerError(f"{cls.__name__}.prepare_training_attributes() must return "
                               "(torch.nn.Module, torch.optim.Optimizer)")
        module, optimizer = attrs
        module.to(user.device)
        restore = config.get("restore_path")
        if restore:
            try:
                info = checkpoint.load(restore, module, optimizer)
            except checkpoint.CheckpointError as exc:
                raise TrainerError(f"cannot restore: {exc}") from None
            self.batches, self.samples = info["batches"], info["samples"]
            print(f"[melissa-dl rank {self.rank}] restored {restore} "
                  f"(batches={self.batches}, samples={self.samples})", flush=True)
        self.module, self.optimizer = module, optimizer
        # Every rank starts from rank 0's weights (what DDP's constructor does); gradients are
        # then averaged in train_step, so the replicas stay identical.
        if self.distributed:
            with torch.no_grad():
                for tensor in module.state_dict().values():
                    dist.broadcast(tensor, src=0)
        self.wrapped = module
        self.parameters = [p for p in module.parameters() if p.requires_grad]
        user.module, user.model, user.optimizer = module, self.wrapped, optimizer
        user.batch_idx = self.batches
        self._valid_args = _positional_count(user.validation_step)
        self.nb_batches_update = int(config["nb_batches_update"])
        self.validation = None
        if config.get("validation"):
            try:
                self.validation = ValidationSet(config["validation"]["directory"],
                                                config["field_names"], config["nb_parameters"])
            except ValidationError as exc:
                raise TrainerError(f"validation set: {exc}") from None
            self.valid_batch_size = int(config["validation"]["batch_size"])

    # ---- batches and checkpoints -----------------------------------------------------------

    def fetch_batch(self) -> Tuple[str, List[Batch], Optional[Dict[str, Any]]]:
        """One batch request (on the prefetch thread) for up to BATCHES_PER_REQUEST batches:
        the reply's op, its batches, and the checkpoint it asks for (saved by the main
        thread, between two steps)."""
        with self.saved_lock:
            saved, self.pending_saved = self.pending_saved, None
        header, frames = self.client.request(protocol.batch_request(saved, self.batches_per_request))
        op = header["op"]
        batches: List[Batch] = []
        if op == "batch":
            batches = protocol.split_batches(header, protocol.decode_batch(header, frames,
                                                                           self.config["field_names"]))
        elif op not in ("wait", "end"):
            raise ProtocolError(f"unexpected reply {op!r} to a batch request")
        return op, batches, header.get("checkpoint")

    def request_batch(self) -> Tuple[str, Optional[Batch]]:
        """The next batch: one already received, or the next reply, fetched ahead by the
        prefetcher while the last step trained."""
        if self.fetched:
            return "batch", self.fetched.popleft()
        op, batches, request = self.prefetcher.next()
        if request is not None:
            self.save_checkpoint(request)
        # After the save, so the next request reports it.
        self.prefetcher.release()
        if op != "batch":
            return op, None
        self.fetched.extend(batches[1:])
        return op, batches[0]

    def save_checkpoint(self, request: Dict[str, Any]) -> None:
        try:
            sequence = int(request["sequence"])
            path = str(request["path"])
        except (KeyError, TypeError, ValueError):
            raise ProtocolError(f"malformed checkpoint request {request!r}") from None
        try:
            checkpoint.save(path, self.module, self.optimizer, self.batches, self.samples)
        except Exception as exc:
            raise TrainerError(f"saving checkpoint {sequence} to {path} failed: {exc}") from None
        with self.saved_lock:
            self.pending_saved = {"sequence": sequence, "path": path, "batches": self.batches}

    # ---- training ---------------------------------------------------------------------------

    def train_step(self, batch: Optional[Batch]) -> Optional[float]:
        """One data-parallel step. ``batch`` None: this rank has no data for it and adds a
        zero gradient. Gradients are averaged over the ranks weighted by their batch sizes,
        so the step follows the mean loss over every sample of the step (DDP's average when
        all batches have the same size). One all_reduce per step, like DDP's bucketed one."""
        user = self.user
        user.batch_idx = self.batches
        self.wrapped.train()
        value = None
        weight = 0.0
        if batch is not None:
            data = user.process_batch(batch)
            loss = user.training_step(data, self.batches)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise TrainerError(f"training_step must return the loss as a one-element tensor, "
                                   f"got {type(loss).__name__}")
            loss.backward()
            value = float(loss.detach())
            weight = float(batch.size)
        if self.distributed:
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.parameters]
            flat = torch.cat([g.reshape(-1).to(torch.float64) * weight for g in grads]
                             + [torch.tensor([weight], dtype=torch.float64)])
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            total = float(flat[-1])
            offset = 0
            for p, g in zip(self.parameters, grads):
                n = g.numel()
                p.grad = (flat[offset:offset + n] / total).reshape(p.shape).to(p.dtype)
                offset += n
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if value is not None:
            user.on_batch_end(self.batches, value)
        return value

    def run_validation(self, batch_idx: int) -> Optional[float]:
        user = self.user
        user.model = self.module
        self.module.eval()
        try:
            user.on_validation_start(batch_idx)
            total, count = 0.0, 0
            with torch.no_grad():
                for vidx, vbatch in self.validation.batches(self.valid_batch_size, self.rank,
                                                            self.world_size):
                    data = user.process_batch(vbatch)
                    if self._valid_args >= 3:
                        loss = user.validation_step(data, vidx, batch_idx)
                    else:
                        loss = user.validation_step(data, vidx)
                    if loss is None:
                        raise TrainerError("validation_step must return the batch's mean loss")
                    total += float(loss) * vbatch.size
                    count += vbatch.size
            total, count = self.all_sum([total, float(count)])
            user.valid_loss = total / count if count else None
            user.on_validation_end(batch_idx)
            return user.valid_loss
        finally:
            user.model = self.wrapped
            self.module.train()

    def report(self, loss_sum: float, loss_n: int, started: float) -> None:
        batch_idx = self.batches - 1
        valid = self.run_validation(batch_idx) if self.validation is not None else None
        s, n, samples = self.all_sum([loss_sum, float(loss_n), float(self.samples)])
        train = s / n if n else None
        elapsed = time.monotonic() - started
        if self.rank == 0:
            self.client.expect_ok(protocol.progress(self.batches, int(samples), train, valid,
                                                    elapsed))
            vtxt = "n/a" if valid is None else f"{valid:.6g}"
            ttxt = "n/a" if train is None else f"{train:.6g}"
            print(f"[melissa-dl] batch {self.batches} samples {int(samples)} "
                  f"train_loss {ttxt} valid_loss {vtxt} elapsed {elapsed:.1f}s", flush=True)

    #: Rounds (each about 50 ms: the server's wait for data) a step waits for a rank whose
    #: buffer has no batch yet before it goes on without it.
    PARTIAL_AFTER = 4

    def loop(self) -> None:
        """All ranks iterate in lockstep (one all_reduce per round), so they decide alike:
        stop once every rank's buffer is exhausted; step when every rank has a batch or is
        exhausted; when some rank is still waiting for data, step without it after
        PARTIAL_AFTER rounds. A rank whose buffer runs dry never blocks the others, and no
        sample is dropped at the end."""
        held: Optional[Batch] = None
        at_end = False
        idle = 0
        loss_sum, loss_n = 0.0, 0
        started = time.monotonic()
        self.user.on_train_start()
        self.prefetcher = Prefetcher(self.fetch_batch)
        while True:
            if held is None and not at_end:
                asked = time.perf_counter()
                op, batch = self.request_batch()
                waited = time.perf_counter() - asked
                self.seconds_waiting += waited
                if self.batches > 0:
                    self.seconds_stalled += waited
                if op == "batch":
                    held = batch
                elif op == "end":
                    at_end = True
            have, ended = self.all_sum([1.0 if held is not None else 0.0,
                                        1.0 if at_end else 0.0])
            if int(ended) == self.world_size:
                return
            if int(have) == 0:
                continue
            if int(have + ended) < self.world_size:
                idle += 1
                if idle < self.PARTIAL_AFTER:
                    continue  # keep a held batch; ranks without one ask again
            idle = 0
            stepped = time.perf_counter()
            value = self.train_step(held)
            self.seconds_training += time.perf_counter() - stepped
            if value is not None:
                loss_sum += value
                loss_n += 1
                self.samples += held.size
            self.batches += 1
            held = None
            if self.batches % self.nb_batches_update == 0:
                self.report(loss_sum, loss_n, started)
                loss_sum, loss_n = 0.0, 0

    def finish(self) -> None:
        model_path = None
        if self.rank == 0:
            model_path = os.path.join(self.config["results_directory"], FINAL_MODEL_NAME)
            checkpoint.save(model_path, self.module, self.optimizer, self.batches, self.samples)
        self.user.model = self.module
        self.user.on_train_end()
        with self.saved_lock:
            saved, self.pending_saved = self.pending_saved, None
        self.client.expect_ok(protocol.done(self.batches, self.samples, model_path,
                                            self.dropped, saved))
        self.pending_saved = None
        print(f"[melissa-dl rank {self.rank}] time: {self.seconds_waiting:.3f} s asking for batches "
              f"({self.seconds_stalled:.3f} s of it after the first step), "
              f"{self.seconds_training:.3f} s in training steps", flush=True)
        print(f"[melissa-dl rank {self.rank}] done: batches {self.batches} samples "
              f"{self.samples} dropped {self.dropped}"
              + (f" model {model_path}" if model_path else ""), flush=True)

    def main(self) -> None:
        self.config = self.handshake()
        self.init_distributed()
        self.build(self.config)
        self.loop()
        self.finish()
        if self.distributed:
            try:
                dist.destroy_process_group()
            except Exception:
                pass
        self.client.close()


def main() -> None:
    global _log_prefix
    _log_prefix = f"melissa-dl trainer rank {os.environ.get('RANK', '0')}"
    try:
        guard_parent(_env_int("MELISSA_DL_PARENT_PID", None),
                     _env_float("MELISSA_DL_PARENT_POLL", 0.5))
        Run().main()
    except (TrainerError, ProtocolError, checkpoint.CheckpointError) as exc:
        kind = "protocol error: " if isinstance(exc, ProtocolError) else ""
        _die(f"{kind}{exc}")
    except KeyboardInterrupt:
        _die("interrupted")
    except BaseException:
        _die("unexpected error:\n" + traceback.format_exc().rstrip())
    # Everything is saved, fsynced and acknowledged: skip the interpreter teardown (about a
    # second with torch loaded, and it could block on gloo/ZeroMQ internals).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
