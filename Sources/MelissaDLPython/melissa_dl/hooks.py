"""The user-facing base class.

A study's model file (``model_file`` in the config) defines exactly one subclass of
:class:`TorchTrainer`; the trainer process imports the file, instantiates the subclass with
the config and drives the hooks below.  Hook names follow Melissa's deep-learning server
(``melissa.server.deep_learning``: ``prepare_training_attributes``,
``process_simulation_data``, ``training_step``, ``on_validation_start``, ``validation_step``,
``on_validation_end``, ``on_train_end``) so existing user code ports with small changes.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, Optional, Sequence, Tuple

import torch

from .protocol import Batch, Sample


class TorchTrainer:
    """Base class for a study's training code.  Override the hooks you need.

    Attributes available from ``__init__`` on:

    ``config``   the whole ``config`` reply of the server (a dict)
    ``user``     ``config["user"]``, the study's free-form object
    ``rank``, ``world_size``   this trainer's rank and the number of trainers
    ``device``   ``torch.device("cpu")``
    ``batch_size``, ``nb_batches_update``, ``pseudo_epochs``, ``field_names``,
    ``nb_parameters``, ``nb_time_steps``, ``seed``, ``results_directory``,
    ``checkpoint_directory``   copies of the config entries
    ``criterion``  loss used by the default steps (``torch.nn.MSELoss()``)

    Set by the trainer after :meth:`prepare_training_attributes`:

    ``model``      the model (the trainer averages gradients over the ranks itself, weighted
                   by batch size, so a rank without data never blocks the others; there is
                   no ``DistributedDataParallel`` wrapper)
    ``module``     the bare model (never wrapped)
    ``optimizer``  the optimizer
    ``batch_idx``  index of the batch being trained (0-based, continues after a restore)
    ``valid_loss`` mean validation loss over all ranks (set before ``on_validation_end``)
    """

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config
        self.user: Dict[str, Any] = config.get("user") or {}
        self.rank: int = int(config.get("rank", 0))
        self.world_size: int = int(config.get("world_size", 1))
        self.device = torch.device("cpu")
        self.batch_size = config.get("batch_size")
        self.nb_batches_update = config.get("nb_batches_update")
        self.pseudo_epochs = config.get("pseudo_epochs")
        self.field_names = list(config.get("field_names") or [])
        self.nb_parameters = config.get("nb_parameters")
        self.nb_time_steps = config.get("nb_time_steps")
        self.seed = config.get("seed")
        self.results_directory = config.get("results_directory")
        self.checkpoint_directory = config.get("checkpoint_directory")
        self.criterion: torch.nn.Module = torch.nn.MSELoss()
        self.model: Optional[torch.nn.Module] = None
        self.module: Optional[torch.nn.Module] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.batch_idx: int = 0
        self.valid_loss: Optional[float] = None

    # ---- required ---------------------------------------------------------------------------

    def prepare_training_attributes(self) -> Tuple[torch.nn.Module, torch.optim.Optimizer]:
        """Build and return ``(model, optimizer)``.  Called once, after ``torch.manual_seed``."""
        raise NotImplementedError(
            f"{type(self).__name__} must define prepare_training_attributes() returning "
            "(model, optimizer)")

    def process_simulation_data(self, sample: Sample, config_dict: Optional[Dict] = None
                                ) -> Tuple[torch.Tensor, ...]:
        """Turn one sample into ``(x, y)`` tensors (the default ``process_batch`` stacks them).

        ``sample.parameters`` is a float64 (P,) tensor, ``sample.data[name]`` a float64 (N,)
        tensor per field, ``sample.simulation_id`` and ``sample.time_step`` ints.  They are
        views on the received buffers: do not modify them in place.  Melissa's signature
        ``(msg, config_dict)`` is accepted too (``config_dict`` is then ``self.config``).
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define process_simulation_data(sample) returning "
            "(x, y), or override process_batch(batch)")

    # ---- data -------------------------------------------------------------------------------

    def process_batch(self, batch: Batch) -> Tuple[torch.Tensor, ...]:
        """Turn a whole batch into ``(x, y)`` (tensors with the batch as first dimension).

        Default: call :meth:`process_simulation_data` on each sample (views, no copy of the
        field data) and ``torch.stack`` the results.  Override with vectorised code on
        ``batch.parameters`` (b, P), ``batch.fields[name]`` (b, N), ``batch.time_steps`` (b,)
        and ``batch.simulation_ids`` (b,) for speed.
        """
        call = self._sample_caller()
        outs = [call(batch.sample(i)) for i in range(batch.size)]
        if not outs:
            raise ValueError("empty batch")
        first = outs[0]
        if isinstance(first, torch.Tensor):
            return (torch.stack(outs),)
        if not isinstance(first, (tuple, list)):
            raise TypeError(f"process_simulation_data must return a tuple of tensors such as "
                            f"(x, y), got {type(first).__name__}")
        return tuple(_stack([o[j] for o in outs]) for j in range(len(first)))

    def _sample_caller(self):
        fn = self.process_simulation_data
        func = getattr(fn, "__func__", fn)
        if getattr(self, "_psd_fn", None) is not func:
            params = [p for p in inspect.signature(fn).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            self._psd_fn = func
            self._psd_two = len(params) >= 2
        if self._psd_two:
            return lambda s: fn(s, self.config)
        return fn

    # ---- steps ------------------------------------------------------------------------------

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Return the loss tensor of one batch; the trainer runs backward, step and zero_grad.

        ``batch`` is what :meth:`process_batch` returned.  Default: ``criterion(model(x), y)``.
        """
        x, y = batch
        return self.criterion(self.model(x), y)

    def validation_step(self, batch: Sequence[torch.Tensor], valid_batch_idx: int,
                        batch_idx: int) -> torch.Tensor:
        """Return the (mean) loss of one validation batch.  Runs in eval mode, under no_grad.

        Melissa's signature; a 2-argument override ``validation_step(batch, valid_batch_idx)``
        works too.  Default: ``criterion(model(x), y)``.
        """
        x, y = batch
        return self.criterion(self.model(x), y)

    # ---- events -----------------------------------------------------------------------------

    def on_train_start(self) -> None:
        """Called once, after the model is built (and restored), before the first batch."""

    def on_batch_end(self, batch_idx: int, loss: float) -> None:
        """Called after each optimizer step with the batch's (local) loss."""

    def on_validation_start(self, batch_idx: int) -> None:
        """Called before validation (every ``nb_batches_update`` batches), on every rank."""

    def on_validation_end(self, batch_idx: int) -> None:
        """Called after validation; ``self.valid_loss`` holds the mean over all ranks."""

    def on_train_end(self) -> None:
        """Called once on every rank when training stops (after the final model is saved)."""


#: Melissa's name for the user base class (``melissa.server.deep_learning.torch_server``).
TorchServer = TorchTrainer


def _stack(items):
    if isinstance(items[0], torch.Tensor):
        return torch.stack(items)
    return torch.as_tensor(items)
