"""melissa_dl: the Python trainer of the Melissa (Swift) deep-learning flavor.

Each server rank starts one trainer (``python -m melissa_dl.trainer``) and feeds it batches
over ZeroMQ (protocol v1, see :mod:`melissa_dl.protocol`); the trainers train one model
data-parallel with ``torch.distributed`` (gloo).  A study's model file defines one subclass
of :class:`TorchTrainer` (Melissa's name :class:`TorchServer` is an alias).
"""

from .hooks import TorchServer, TorchTrainer
from .protocol import PROTOCOL_VERSION, Batch, Sample

__version__ = "1.0.0"

__all__ = ["TorchTrainer", "TorchServer", "Batch", "Sample", "PROTOCOL_VERSION", "__version__"]
