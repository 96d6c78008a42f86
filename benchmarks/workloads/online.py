"""online: the mlp workload's network trained one sample at a time (batch 1), as seed post 004 trains.

Not one of the issue's targets: it shows what a batch of one costs. There every weight gradient is an
outer product (an inner dimension of 1), which ``np.matmul`` (``@``) computes without BLAS, in a plain
loop several times slower than ``np.dot``. The hand-written baseline, ``numpy``, therefore takes its
weight gradients with ``np.dot`` (as seed post 004 does); ``numpy @`` is the mlp workload's code as it
stands, with ``@``. Same model, learning rate, warm-up and step count as ``mlp``.
"""
import numpy as np

from . import mlp
from .common import compiled, ratio_target

TITLE = "MLP 784-256-128-10, float32, one sample per step: one training step"
BATCH = 1
REPEATS = 9
FRESH_PROCESS = False
METRICS = mlp.METRICS


# the mlp workload's implementations, built for a batch of one
IMPLEMENTATIONS = {
    "numpy": lambda: mlp.NumpyMLP(BATCH, weight_product=np.dot),
    "numpy @": lambda: mlp.NumpyMLP(BATCH),
    "microgradnp": lambda: mlp.MicrogradnpMLP(BATCH),
    "microgradnp compiled": lambda: compiled(mlp.MicrogradnpMLP)(BATCH),
    "torch": lambda: mlp.TorchMLP(BATCH),
}


def targets(summary):
    """The compiled step at most as slow as the hand-written NumPy step (with ``np.dot``)."""
    return ratio_target(summary, "compiled mlp step, one sample, <= 1.0x hand-written NumPy", "microgradnp compiled",
                        1.0)
