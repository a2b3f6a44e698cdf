"""melissa_dl: the Python trainer of the Melissa (Swift) deep-learning flavor.

Each server rank starts one trainer (``python -m melissa_dl.trainer``) and feeds it batches
over ZeroMQ (protocol v1, see :mod:`melissa_dl.protocol`); the trainers train one model
data-parallel with ``torch.distributed`` (gloo).  A study's model file defines one subclass
of :class:`TorchTrainer` (Melissa's name :class:`TorchServer` is an alias).
"""

import os as _os

# A trainer inherits its server rank's CPU binding (mpirun binds ranks to cores), which would
# confine PyTorch to one core. The server asks for the binding to be widened to every CPU the
# node lets this process use (a cgroup or cpuset still limits it) before torch is imported,
# since torch sizes its thread pool when it starts.
if _os.environ.get("MELISSA_DL_UNBIND") == "1" and hasattr(_os, "sched_setaffinity"):
    try:
        _os.sched_setaffinity(0, range(_os.cpu_count() or 1))
    except OSError:
        pass

from .hooks import TorchServer, TorchTrainer  # noqa: E402
from .protocol import PROTOCOL_VERSION, Batch, Sample  # noqa: E402

__version__ = "1.0.0"

__all__ = ["TorchTrainer", "TorchServer", "Batch", "Sample", "PROTOCOL_VERSION", "__version__"]
