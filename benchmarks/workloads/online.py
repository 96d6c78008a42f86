"""online: the mlp workload's network trained one sample at a time (batch 1), as seed post 004 trains.

Not one of the issue's targets: it shows what a batch of one costs. There every weight gradient is an
outer product (an inner dimension of 1), which ``np.matmul`` (``@``) computes without BLAS, in a plain
loop several times slower than ``np.dot``. The hand-written baseline, ``numpy``, therefore takes its
weight gradients with ``np.dot`` (as seed post 004 does); ``numpy @`` is the mlp workload's code as it
stands, with ``@``. Same model, learning rate, warm-up and step count as ``mlp``.
"""
import numpy as np

from . import mlp

TITLE = "MLP 784-256-128-10, float32, one sample per step: one training step"
BATCH = 1
REPEATS = 9
FRESH_PROCESS = False
METRICS = mlp.METRICS


class NumpyOnline(mlp.NumpyMLP):
    """The hand-written NumPy of the mlp workload, one sample at a time, weight gradients by ``np.dot``."""

    def __init__(self):
        super().__init__(BATCH, weight_product=np.dot)


class NumpyMatmulOnline(mlp.NumpyMLP):
    """The same with ``@`` for the weight gradients, as the mlp workload writes them."""

    def __init__(self):
        super().__init__(BATCH)


class MicrogradnpOnline(mlp.MicrogradnpMLP):
    """microgradnp as a user writes it, one sample at a time."""

    def __init__(self):
        super().__init__(BATCH)


class TorchOnline(mlp.TorchMLP):
    """PyTorch CPU eager mode, one sample at a time."""

    def __init__(self):
        super().__init__(BATCH)


IMPLEMENTATIONS = {"numpy": NumpyOnline, "numpy @": NumpyMatmulOnline, "microgradnp": MicrogradnpOnline,
                   "torch": TorchOnline}


def targets(summary):
    """No target of the issue's: the table's ratios are the result."""
    return []
