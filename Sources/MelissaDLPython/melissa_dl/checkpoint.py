"""Model + optimizer checkpoints in safetensors format (no pickle anywhere).

Layout of a ``melissa-dl-1`` file:

tensors
    ``model.<name>``                     every tensor of ``model.state_dict()``
    ``optimizer.state.<i>.<key>``        every tensor in ``optimizer.state_dict()["state"][i]``
                                         (e.g. Adam's ``step``, ``exp_avg``, ``exp_avg_sq``)
    ``optimizer.param_groups.<g>.<key>`` a tensor-valued hyper-parameter (rare, e.g. tensor lr)
metadata (all strings)
    ``format``                  ``"melissa-dl-1"``
    ``batches``, ``samples``    training counters at save time (decimal)
    ``optimizer.param_groups``  JSON of ``optimizer.state_dict()["param_groups"]``
    ``optimizer.state``         JSON of the optimizer state, tensors replaced by
                                ``{"__tensor__": "<tensor name>"}``, non-tensor values inline
    ``optimizer.class``         optimizer class name (informational)
    ``model.extra``             JSON of non-tensor model state entries (usually ``{}``)
    ``torch_version``, ``created``

In the JSON, tuples are written ``{"__tuple__": [...]}`` so that e.g. Adam's ``betas``
comes back as a tuple; dicts with non-string keys as ``{"__items__": [[k, v], ...]}``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any, Dict, Mapping, Optional, Tuple

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

FORMAT = "melissa-dl-1"


class CheckpointError(RuntimeError):
    pass


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel (or DataParallel) wrapper."""
    return getattr(model, "module", model) if isinstance(
        model, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)) else model


# --------------------------------------------------------------------------------------------
# tagged JSON with tensors stored aside
# --------------------------------------------------------------------------------------------

class _TensorTable:
    def __init__(self) -> None:
        self.tensors: Dict[str, torch.Tensor] = {}
        self._storages: set = set()

    def add(self, name: str, tensor: torch.Tensor) -> str:
        if name in self.tensors:
            raise CheckpointError(f"duplicate tensor name {name!r}")
        t = tensor.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        # safetensors refuses tensors sharing storage (tied weights, views): copy those.
        ptr = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if not t.is_contiguous() or (t.numel() > 0 and ptr in self._storages) \
                or t.storage_offset() != 0 or t.untyped_storage().nbytes() != t.nbytes:
            t = t.contiguous().clone()
        elif t.numel() > 0:
            self._storages.add(ptr)
        self.tensors[name] = t
        return name


def _encode(obj: Any, path: str, table: _TensorTable) -> Any:
    if isinstance(obj, torch.Tensor):
        return {"__tensor__": table.add(path, obj)}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{path}.{i}", table) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}.{i}", table) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k.startswith("__") for k in obj):
            return {k: _encode(v, f"{path}.{k}", table) for k, v in obj.items()}
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise CheckpointError(f"{path}: dict key {k!r} of type {type(k).__name__} "
                                      "cannot be stored")
            items.append([k, _encode(v, f"{path}.{k}", table)])
        return {"__items__": items}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise CheckpointError(f"{path}: value of type {type(obj).__name__} cannot be stored "
                          "without pickle (only tensors, numbers, strings, bools, None, "
                          "lists, tuples and dicts are supported)")


def _decode(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            name = obj["__tensor__"]
            if name not in tensors:
                raise CheckpointError(f"metadata refers to missing tensor {name!r}")
            return tensors[name]
        if set(obj) == {"__tuple__"}:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        if set(obj) == {"__items__"}:
            return {k: _decode(v, tensors) for k, v in obj["__items__"]}
        return {k: _decode(v, tensors) for k, v in obj.items()}
    return obj


# --------------------------------------------------------------------------------------------
# save / load
# --------------------------------------------------------------------------------------------

def state_to_safetensors(model: torch.nn.Module, optimizer: Optional[torch.optim.Optimizer],
                         batches: int = 0, samples: int = 0,
                         extra_metadata: Optional[Mapping[str, str]] = None
                         ) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """The (tensors, metadata) pair that :func:`save` writes."""
    table = _TensorTable()
    extra: Dict[str, Any] = {}
    for name, value in unwrap(model).state_dict().items():
        if isinstance(value, torch.Tensor):
            table.add(f"model.{name}", value)
        else:
            extra[name] = _encode(value, f"model.extra.{name}", table)
    metadata = {
        "format": FORMAT,
        "batches": str(int(batches)),
        "samples": str(int(samples)),
        "model.extra": json.dumps(extra),
        "torch_version": torch.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if optimizer is not None:
        sd = optimizer.state_dict()
        state = {str(int(i)): _encode(s, f"optimizer.state.{int(i)}", table)
                 for i, s in sd["state"].items()}
        groups = [_encode(g, f"optimizer.param_groups.{j}", table)
                  for j, g in enumerate(sd["param_groups"])]
        metadata["optimizer.state"] = json.dumps(state)
        metadata["optimizer.param_groups"] = json.dumps(groups)
        metadata["optimizer.class"] = type(optimizer).__name__
    if extra_metadata:
        for k, v in extra_metadata.items():
            if k in metadata:
                raise CheckpointError(f"metadata key {k!r} is reserved")
            metadata[str(k)] = str(v)
    return table.tensors, metadata


def save(path: str, model: torch.nn.Module, optimizer: Optional[torch.optim.Optimizer] = None,
         batches: int = 0, samples: int = 0,
         extra_metadata: Optional[Mapping[str, str]] = None) -> str:
    """Write model (+ optimizer) state to ``path`` atomically (temp file, fsync, rename)."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tensors, metadata = state_to_safetensors(model, optimizer, batches, samples, extra_metadata)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def read(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """(tensors, metadata) of a checkpoint file, checking its format tag."""
    try:
        with safe_open(path, framework="pt") as fh:
            metadata = dict(fh.metadata() or {})
        tensors = load_file(path)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path!r} does not exist") from None
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{path!r} is not a readable safetensors file: {exc}") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path!r}: format {metadata.get('format')!r}, expected {FORMAT!r}")
    return tensors, metadata


def load(path: str, model: torch.nn.Module,
         optimizer: Optional[torch.optim.Optimizer] = None) -> Dict[str, Any]:
    """Restore model (and optimizer, when given) from ``path``.

    Returns ``{"batches": int, "samples": int, "metadata": {...}}``.
    """
    tensors, metadata = read(path)
    module = unwrap(model)
    model_sd: Dict[str, Any] = {k[len("model."):]: v for k, v in tensors.items()
                                if k.startswith("model.")}
    extra = _decode(json.loads(metadata.get("model.extra", "{}")), tensors)
    model_sd.update(extra)
    try:
        module.load_state_dict(model_sd, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path!r} does not match the model: {exc}") from None
    if optimizer is not None:
        if "optimizer.param_groups" not in metadata:
            raise CheckpointError(f"{path!r} holds no optimizer state")
        state = {int(i): _decode(s, tensors)
                 for i, s in json.loads(metadata["optimizer.state"]).items()}
        groups = _decode(json.loads(metadata["optimizer.param_groups"]), tensors)
        try:
            optimizer.load_state_dict({"state": state, "param_groups": groups})
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"{path!r} does not match the optimizer: {exc}") from None
    return {"batches": int(metadata.get("batches", "0")),
            "samples": int(metadata.get("samples", "0")), "metadata": metadata}
