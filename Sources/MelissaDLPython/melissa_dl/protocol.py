"""Trainer protocol v1: message encoding/decoding and the binary frame layouts.

Transport: one ZeroMQ REQ socket (trainer) talking to the server rank's REP socket, strict
request/reply.  Frame 0 of every message is a UTF-8 JSON object with an ``"op"`` key; binary
frames are little-endian.

A ``batch`` reply is followed by these frames (b = ``size``, P = ``nb_parameters``,
N_f = ``field_sizes[f]``, fields in the order of the config's ``field_names``)::

    frame 1   simulation ids   uint32[b]
    frame 2   time steps       uint32[b]
    frame 3   parameters       float64[b * P]    row-major (b, P)
    frame 4+f field f          float64[b * N_f]  row-major (b, N_f)

The decoded arrays are views on the received ZeroMQ frames (no copy).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

PROTOCOL_VERSION = 1

ID_DTYPE = np.dtype("<u4")
VALUE_DTYPE = np.dtype("<f8")


class ProtocolError(RuntimeError):
    """The peer sent something that does not follow protocol v1."""


# --------------------------------------------------------------------------------------------
# JSON header frames
# --------------------------------------------------------------------------------------------

def _finite_or_none(value: Any) -> Any:
    """Replace non-finite floats (NaN, inf) by None so the JSON stays strict (RFC 8259)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def encode(message: Mapping[str, Any]) -> bytes:
    """Encode a message header (frame 0) as compact, strict UTF-8 JSON."""
    if "op" not in message:
        raise ValueError("a protocol message needs an 'op' key")
    return json.dumps(_finite_or_none(dict(message)), separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def decode(frame: Any) -> Dict[str, Any]:
    """Decode frame 0 (bytes, memoryview or zmq.Frame) into a dict with an ``op`` key."""
    raw = _as_bytes(frame)
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"frame 0 is not UTF-8 JSON: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("op"), str):
        raise ProtocolError(f"frame 0 is not a JSON object with a string 'op': {raw[:200]!r}")
    return obj


def _as_bytes(frame: Any) -> bytes:
    if isinstance(frame, bytes):
        return frame
    if hasattr(frame, "bytes"):  # zmq.Frame
        return frame.bytes
    return bytes(frame)


def _as_buffer(frame: Any) -> Any:
    if hasattr(frame, "buffer"):  # zmq.Frame received with copy=False
        return frame.buffer
    return frame


# --------------------------------------------------------------------------------------------
# Requests (trainer -> server)
# --------------------------------------------------------------------------------------------

def hello(pid: int) -> Dict[str, Any]:
    return {"op": "hello", "protocol": PROTOCOL_VERSION, "pid": int(pid)}


def batch_request(saved: Optional[Mapping[str, Any]] = None, count: int = 1) -> Dict[str, Any]:
    """Asks for up to ``count`` batches (one reply, cut back into batches by ``split_batches``)."""
    msg: Dict[str, Any] = {"op": "batch"}
    if count != 1:
        msg["count"] = int(count)
    if saved is not None:
        msg["saved"] = dict(saved)
    return msg


def progress(batch: int, samples: int, train_loss: Optional[float],
             valid_loss: Optional[float], elapsed: float) -> Dict[str, Any]:
    return {"op": "progress", "batch": int(batch), "samples": int(samples),
            "train_loss": None if train_loss is None else float(train_loss),
            "valid_loss": None if valid_loss is None else float(valid_loss),
            "elapsed": float(elapsed)}


def done(batches: int, samples: int, model_path: Optional[str], dropped: int,
         saved: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    msg: Dict[str, Any] = {"op": "done", "batches": int(batches), "samples": int(samples),
                           "model_path": model_path, "dropped": int(dropped)}
    if saved is not None:
        msg["saved"] = dict(saved)
    return msg


# --------------------------------------------------------------------------------------------
# Config (reply to hello)
# --------------------------------------------------------------------------------------------

_CONFIG_REQUIRED = {
    "rank": int, "world_size": int, "batch_size": int, "nb_batches_update": int,
    "pseudo_epochs": int, "model_file": str, "field_names": list, "nb_parameters": int,
    "nb_time_steps": int, "results_directory": str, "checkpoint_directory": str, "seed": int,
}


def validate_config(config: Mapping[str, Any]) -> Dict[str, Any]:
    """Check a ``config`` reply; return it as a dict (``user`` defaults to ``{}``)."""
    if config.get("op") != "config":
        raise ProtocolError(f"expected a 'config' reply to hello, got op={config.get('op')!r}")
    if config.get("protocol") != PROTOCOL_VERSION:
        raise ProtocolError(f"server speaks protocol {config.get('protocol')!r}, "
                            f"this trainer speaks {PROTOCOL_VERSION}")
    for key, kind in _CONFIG_REQUIRED.items():
        value = config.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ProtocolError(f"config key {key!r} missing or not a {kind.__name__}: {value!r}")
    if not all(isinstance(n, str) for n in config["field_names"]) or not config["field_names"]:
        raise ProtocolError("config 'field_names' must be a non-empty list of strings")
    if config["batch_size"] < 1 or config["nb_batches_update"] < 1:
        raise ProtocolError("config 'batch_size' and 'nb_batches_update' must be >= 1")
    if not 0 <= config["rank"] < config["world_size"]:
        raise ProtocolError(f"config rank {config['rank']} not in [0, {config['world_size']})")
    validation = config.get("validation")
    if validation is not None:
        if (not isinstance(validation, dict) or not isinstance(validation.get("directory"), str)
                or not isinstance(validation.get("batch_size"), int)
                or validation["batch_size"] < 1):
            raise ProtocolError("config 'validation' must be null or "
                                "{\"directory\": str, \"batch_size\": int >= 1}")
    restore = config.get("restore_path")
    if restore is not None and not isinstance(restore, str):
        raise ProtocolError("config 'restore_path' must be null or a string")
    out = dict(config)
    out.setdefault("validation", None)
    out.setdefault("restore_path", None)
    if out.get("user") is None:
        out["user"] = {}
    if not isinstance(out["user"], dict):
        raise ProtocolError("config 'user' must be a JSON object")
    return out


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------

@dataclass
class Sample:
    """One (simulation, time step) sample.  Everything is a view into the batch's arrays.

    ``simulation_id``, ``time_step`` and ``data`` are the names of Melissa's simulation
    message, so ``process_simulation_data`` code ports as is.
    """

    simulation_id: int
    time_step: int
    parameters: torch.Tensor            # float64 (P,)
    data: Dict[str, torch.Tensor]       # field name -> float64 (N_f,)

    @property
    def fields(self) -> Dict[str, torch.Tensor]:
        return self.data


@dataclass
class Batch:
    """A batch of samples as sent by the server (or built from the validation set).

    ``parameters`` and ``fields`` are float64 torch tensors that share memory with the
    received ZeroMQ frames (treat them as read-only); ``simulation_ids`` and ``time_steps``
    are uint32 numpy arrays.
    """

    index: int
    simulation_ids: np.ndarray          # uint32 (b,)
    time_steps: np.ndarray              # uint32 (b,)
    parameters: torch.Tensor            # float64 (b, P)
    fields: Dict[str, torch.Tensor]     # name -> float64 (b, N_f)
    frames: List[Any] = field(default_factory=list, repr=False)  # keeps the buffers alive

    @property
    def size(self) -> int:
        return int(self.simulation_ids.shape[0])

    def __len__(self) -> int:
        return self.size

    def sample(self, i: int) -> Sample:
        return Sample(int(self.simulation_ids[i]), int(self.time_steps[i]), self.parameters[i],
                      {name: values[i] for name, values in self.fields.items()})

    def __iter__(self) -> Iterator[Sample]:
        for i in range(self.size):
            yield self.sample(i)


def _view(frame: Any, dtype: np.dtype, count: int, what: str) -> np.ndarray:
    buf = _as_buffer(frame)
    nbytes = memoryview(buf).nbytes
    if nbytes != count * dtype.itemsize:
        raise ProtocolError(f"{what}: frame has {nbytes} bytes, expected {count} x "
                            f"{dtype.itemsize} = {count * dtype.itemsize}")
    return np.frombuffer(buf, dtype=dtype, count=count)


def _tensor(array: np.ndarray) -> torch.Tensor:
    with warnings.catch_warnings():
        # Received frames may be read-only buffers; the tensors are documented as read-only.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def decode_batch(header: Mapping[str, Any], frames: Sequence[Any],
                 field_names: Sequence[str]) -> Batch:
    """Wrap the binary frames of a ``batch`` reply (frames 1.. of the message) without copying."""
    try:
        b = int(header["size"])
        p = int(header["nb_parameters"])
        sizes = [int(n) for n in header["field_sizes"]]
        index = int(header.get("index", -1))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed batch header {dict(header)!r}: {exc}") from None
    if b < 1 or p < 0 or any(n < 0 for n in sizes):
        raise ProtocolError(f"batch header has invalid sizes: {dict(header)!r}")
    if len(sizes) != len(field_names):
        raise ProtocolError(f"batch has {len(sizes)} fields, config names {len(field_names)} "
                            f"({list(field_names)})")
    if len(frames) != 3 + len(sizes):
        raise ProtocolError(f"batch reply has {len(frames)} binary frames, expected "
                            f"{3 + len(sizes)}")
    ids = _view(frames[0], ID_DTYPE, b, "simulation ids")
    steps = _view(frames[1], ID_DTYPE, b, "time steps")
    params = _tensor(_view(frames[2], VALUE_DTYPE, b * p, "parameters").reshape(b, p))
    fields = {}
    for name, n, frame in zip(field_names, sizes, frames[3:]):
        fields[name] = _tensor(_view(frame, VALUE_DTYPE, b * n, f"field {name!r}").reshape(b, n))
    return Batch(index, ids, steps, params, fields, list(frames))


def split_batches(header: Mapping[str, Any], batch: Batch) -> List[Batch]:
    """The batches a reply carries (header ``batches``: their sizes, in order), as views."""
    sizes = header.get("batches", [batch.size])
    try:
        sizes = [int(n) for n in sizes]
    except (TypeError, ValueError):
        raise ProtocolError(f"malformed 'batches' {sizes!r}") from None
    if not sizes or any(n < 1 for n in sizes) or sum(sizes) != batch.size:
        raise ProtocolError(f"'batches' {sizes} does not add up to the reply's {batch.size} samples")
    if len(sizes) == 1:
        return [batch]
    out, first = [], 0
    for i, n in enumerate(sizes):
        last = first + n
        out.append(Batch(batch.index + i, batch.simulation_ids[first:last], batch.time_steps[first:last],
                         batch.parameters[first:last],
                         {name: values[first:last] for name, values in batch.fields.items()}, batch.frames))
        first = last
    return out


def encode_batch(index: int, simulation_ids: Sequence[int], time_steps: Sequence[int],
                 parameters: np.ndarray, fields: Sequence[np.ndarray]) -> List[bytes]:
    """Build a whole ``batch`` reply (header + binary frames).  Reference / test helper."""
    ids = np.asarray(simulation_ids, dtype=ID_DTYPE)
    b = ids.shape[0]
    params = np.asarray(parameters, dtype=VALUE_DTYPE).reshape(b, -1)
    arrays = [np.asarray(f, dtype=VALUE_DTYPE).reshape(b, -1) for f in fields]
    header = {"op": "batch", "size": int(b), "nb_parameters": int(params.shape[1]),
              "field_sizes": [int(a.shape[1]) for a in arrays], "index": int(index)}
    return [encode(header), ids.tobytes(), np.asarray(time_steps, dtype=ID_DTYPE).tobytes(),
            params.tobytes()] + [a.tobytes() for a in arrays]


def split_reply(frames: Sequence[Any]) -> Tuple[Dict[str, Any], List[Any]]:
    """Split a received multipart message into (header dict, binary frames)."""
    if not frames:
        raise ProtocolError("empty message")
    return decode(frames[0]), list(frames[1:])
