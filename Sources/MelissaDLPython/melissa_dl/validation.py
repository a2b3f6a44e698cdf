"""The validation set: a directory of ``.npz`` files, one per simulation.

Each file holds ``parameters`` (P,), ``time_steps`` (T,) and one array per field name of
shape (T, N_f); optionally ``simulation_id`` (scalar; default: the file's index in name
order).  Samples are every (simulation, time step), simulation-major, files in name order.
Batches are :class:`~melissa_dl.protocol.Batch` objects whose arrays are slices (views) of
the set, so they go through ``process_batch`` exactly like training batches.
"""

from __future__ import annotations

import os
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .protocol import Batch


class ValidationError(RuntimeError):
    pass


class ValidationSet:
    def __init__(self, directory: str, field_names: Sequence[str],
                 nb_parameters: Optional[int] = None) -> None:
        if not os.path.isdir(directory):
            raise ValidationError(f"validation directory {directory!r} does not exist")
        files = sorted(f for f in os.listdir(directory) if f.endswith(".npz"))
        if not files:
            raise ValidationError(f"validation directory {directory!r} holds no .npz file")
        self.directory = directory
        self.field_names = list(field_names)
        self.files = [os.path.join(directory, f) for f in files]
        ids: List[np.ndarray] = []
        steps: List[np.ndarray] = []
        params: List[np.ndarray] = []
        fields: Dict[str, List[np.ndarray]] = {name: [] for name in self.field_names}
        sizes: Dict[str, int] = {}
        for index, path in enumerate(self.files):
            try:
                with np.load(path, allow_pickle=False) as z:
                    keys = set(z.files)
                    missing = {"parameters", "time_steps", *self.field_names} - keys
                    if missing:
                        raise ValidationError(f"{path}: missing array(s) {sorted(missing)} "
                                              f"(has {sorted(keys)})")
                    p = np.asarray(z["parameters"], dtype=np.float64).reshape(-1)
                    t = np.asarray(z["time_steps"]).reshape(-1)
                    sim = int(z["simulation_id"]) if "simulation_id" in keys else index
                    arrays = {name: np.asarray(z[name], dtype=np.float64)
                              for name in self.field_names}
            except ValidationError:
                raise
            except Exception as exc:
                raise ValidationError(f"{path}: cannot read ({exc})") from None
            if nb_parameters is not None and p.shape[0] != nb_parameters:
                raise ValidationError(f"{path}: {p.shape[0]} parameters, config says "
                                      f"{nb_parameters}")
            if params and p.shape[0] != params[0].shape[1]:
                raise ValidationError(f"{path}: {p.shape[0]} parameters, other files have "
                                      f"{params[0].shape[1]}")
            nsteps = t.shape[0]
            for name, a in arrays.items():
                if a.ndim == 1 and nsteps == 1:
                    a = a.reshape(1, -1)
                if a.ndim != 2 or a.shape[0] != nsteps:
                    raise ValidationError(f"{path}: field {name!r} has shape {a.shape}, "
                                          f"expected ({nsteps}, N)")
                if sizes.setdefault(name, a.shape[1]) != a.shape[1]:
                    raise ValidationError(f"{path}: field {name!r} has {a.shape[1]} values per "
                                          f"step, other files have {sizes[name]}")
                fields[name].append(a)
            ids.append(np.full(nsteps, sim, dtype=np.uint32))
            steps.append(t.astype(np.uint32))
            params.append(np.broadcast_to(p, (nsteps, p.shape[0])))
        self.simulation_ids = np.concatenate(ids)
        self.time_steps = np.concatenate(steps)
        self.parameters = torch.from_numpy(np.ascontiguousarray(np.concatenate(params)))
        self.fields = {name: torch.from_numpy(np.ascontiguousarray(np.concatenate(parts)))
                       for name, parts in fields.items()}

    def __len__(self) -> int:
        return int(self.simulation_ids.shape[0])

    @property
    def nb_simulations(self) -> int:
        return len(self.files)

    def batch(self, start: int, stop: int, index: int) -> Batch:
        return Batch(index, self.simulation_ids[start:stop], self.time_steps[start:stop],
                     self.parameters[start:stop],
                     {name: v[start:stop] for name, v in self.fields.items()})

    def nb_batches(self, batch_size: int) -> int:
        return (len(self) + batch_size - 1) // batch_size

    def batches(self, batch_size: int, rank: int = 0,
                world_size: int = 1) -> Iterator[Tuple[int, Batch]]:
        """(valid_batch_idx, batch) for this rank's shard: batches rank, rank+M, ..."""
        for i in range(rank, self.nb_batches(batch_size), world_size):
            start = i * batch_size
            yield i, self.batch(start, min(start + batch_size, len(self)), i)


def write_simulation(path: str, parameters: np.ndarray, time_steps: np.ndarray,
                     fields: Dict[str, np.ndarray], simulation_id: Optional[int] = None) -> None:
    """Write one validation file in the expected layout (helper for tools and tests)."""
    arrays = {"parameters": np.asarray(parameters, dtype=np.float64),
              "time_steps": np.asarray(time_steps)}
    for name, a in fields.items():
        arrays[name] = np.asarray(a, dtype=np.float64)
    if simulation_id is not None:
        arrays["simulation_id"] = np.asarray(simulation_id)
    np.savez(path, **arrays)
