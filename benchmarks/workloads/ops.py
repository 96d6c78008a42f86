"""ops: the cost of one op, forward and backward, in a chain of 1000 (x * 1.0001, + 0.001, tanh).

On 1 element the time is pure per-op overhead; on 1000 elements the arithmetic starts to count. The
hand-written NumPy baseline does the same forward and backward arithmetic with raw ufunc calls; the
``numpy forward`` row is the forward calls alone (the floor for any framework). A repeat times 20
chains of each size one by one and reports the median chain's time divided by 1000.
"""
import numpy as np

from . import chain
from .common import Metric, import_torch, ratio_target, time_steps

TITLE = "one op (x*1.0001, +0.001, tanh) in a 1000-op chain, forward + backward, float64"
LENGTH = 1000
SIZES = (1, 1000)
CHAINS = 20  # chains per size per repeat, timed one by one
REPEATS = 7
FRESH_PROCESS = False
METRICS = {f"us_per_op_{size}": Metric(f"per op, {size} element{'s' if size > 1 else ''}", "us", digits=2)
           for size in SIZES}


def _measure(one_chain):
    """Per-op microseconds (the median chain's) and check values for each size.

    ``one_chain(size)`` builds and differentiates one chain and returns (output, gradient or None).
    """
    metrics, check = {}, {}
    for size in SIZES:
        seconds, _, (out, grad) = time_steps(lambda _: one_chain(size), 0, CHAINS, 1)
        metrics[f"us_per_op_{size}"] = seconds / LENGTH * 1e6
        check[f"output sum, {size}"] = float(np.sum(out))
        if grad is not None:
            check[f"gradient sum, {size}"] = float(np.sum(grad))
    return {"metrics": metrics, "check": check}


class NumpyOps:
    """Forward and backward arithmetic written by hand with NumPy calls."""

    def __init__(self):
        self.inputs = {size: chain.start_array(size) for size in SIZES}

    def run(self):
        """Time ``CHAINS`` chains per size."""
        return _measure(lambda size: chain.numpy_forward_backward(self.inputs[size], LENGTH))


class NumpyForwardOps:
    """The forward NumPy calls alone: what any framework pays at least."""

    def __init__(self):
        self.inputs = {size: chain.start_array(size) for size in SIZES}

    def run(self):
        """Time ``CHAINS`` forward chains per size."""
        return _measure(lambda size: (chain.build(self.inputs[size], LENGTH, np.tanh), None))


class MicrogradnpOps:
    """The chain on a tensor that requires grad, then ``backward`` from the output."""

    def __init__(self):
        import microgradnp as mg

        self.mg = mg
        self.inputs = {size: mg.tensor(chain.start_array(size), requires_grad=True) for size in SIZES}
        self.seeds = {size: mg.ones(size, dtype=mg.float64) for size in SIZES}

    def one_chain(self, size):
        """Build the chain, differentiate it; returns (output, gradient) as arrays."""
        x = self.inputs[size]
        x.grad = None
        out = chain.build(x, LENGTH, self.mg.tanh)
        out.backward(self.seeds[size])
        return out.numpy(), x.grad.numpy()

    def run(self):
        """Time ``CHAINS`` chains per size."""
        return _measure(self.one_chain)


class TorchOps:
    """The same chain in PyTorch eager mode."""

    def __init__(self):
        torch = self.torch = import_torch()
        self.inputs = {size: torch.tensor(chain.start_array(size), requires_grad=True) for size in SIZES}
        self.seeds = {size: torch.ones(size, dtype=torch.float64) for size in SIZES}

    def one_chain(self, size):
        """Build the chain, differentiate it; returns (output, gradient) as arrays."""
        x = self.inputs[size]
        x.grad = None
        out = chain.build(x, LENGTH, self.torch.tanh)
        out.backward(self.seeds[size])
        return out.detach().numpy(), x.grad.numpy()

    def run(self):
        """Time ``CHAINS`` chains per size."""
        return _measure(self.one_chain)


IMPLEMENTATIONS = {"numpy": NumpyOps, "numpy forward": NumpyForwardOps, "microgradnp": MicrogradnpOps,
                   "torch": TorchOps}


def targets(summary):
    """The targets for this workload: at most 3 us per op (forward + backward) on 1 element, and on 1000
    elements at most 2x the hand-written NumPy op (its forward and backward calls)."""
    per_op = summary.median("microgradnp", "us_per_op_1")
    if per_op is None:
        return []
    return ([("ops, 1 element: <= 3 us per op fwd+bwd", f"{per_op:.2f} us", per_op <= 3.0)]
            + ratio_target(summary, "ops, 1000 elements: <= 2x the hand-written NumPy op", "microgradnp", 2.0,
                           metric="us_per_op_1000"))
