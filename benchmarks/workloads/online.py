"""online: the mlp workload's network trained one sample at a time (batch 1), as the seed posts train.

Not one of the issue's targets: it shows what a batch of one costs. There every weight gradient is an
outer product, and ``x.T @ grad``, the hand-written NumPy of the seed posts, computes an outer product
without BLAS (NumPy's matmul does so whenever the inner dimension is 1), several times slower than the
BLAS call microgradnp makes. Same model, learning rate, warm-up and step count as ``mlp``.
"""
from . import mlp

TITLE = "MLP 784-256-128-10, float32, one sample per step: one training step"
BATCH = 1
REPEATS = 9
FRESH_PROCESS = False
METRICS = mlp.METRICS


class NumpyOnline(mlp.NumpyMLP):
    """The hand-written NumPy of the mlp workload, one sample at a time."""

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


IMPLEMENTATIONS = {"numpy": NumpyOnline, "microgradnp": MicrogradnpOnline, "torch": TorchOnline}


def targets(summary):
    """No target of the issue's: the table's ratios are the result."""
    return []
