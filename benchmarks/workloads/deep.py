"""deep: a 1,000,000-op chain (x * 1.0001, + 0.001, tanh, repeated) built and differentiated.

A recursive backward fails here; an iterative one must also keep each node small. Every repeat runs in
a fresh process, so the peak resident memory (VmHWM, restarted just before the chain is built) belongs
to this chain alone; divided by the number of ops it gives the memory per node at the peak. The
baseline is a hand-written NumPy loop doing the same forward and backward arithmetic.
"""
import gc
import time

from . import chain
from .common import Metric, current_rss, import_torch, peak_rss, reset_peak_rss

TITLE = "a 1,000,000-op chain (x*1.0001, +0.001, tanh), forward + backward"
LENGTH = 1_000_000
REPEATS = 5
FRESH_PROCESS = True
METRICS = {
    "total_s": Metric("forward + backward", "s", digits=2),
    "forward_s": Metric("forward (building the graph)", "s", digits=2),
    "backward_s": Metric("backward", "s", digits=2),
    "bytes_per_node": Metric("peak memory per op", "B", digits=0, ratio=False),
}


def _measure(forward, backward):
    """Time ``forward()`` then ``backward(output)``; memory is the peak RSS above the RSS at the start."""
    gc.collect()
    exact_peak = reset_peak_rss()
    before = current_rss() if exact_peak else peak_rss()
    start = time.perf_counter()
    out = forward()
    built = time.perf_counter()
    value, grad = backward(out)
    done = time.perf_counter()
    peak = peak_rss()
    return {"metrics": {"total_s": done - start, "forward_s": built - start, "backward_s": done - built,
                        "bytes_per_node": (peak - before) / LENGTH},
            "check": {"output": float(value), "gradient": float(grad)}}


class NumpyDeep:
    """The forward loop keeps tanh's outputs; the backward loop multiplies the gradient through them."""

    def run(self):
        """Build and differentiate the chain once."""
        x = chain.start_array(1)

        def backward(forward_result):
            out, saved = forward_result
            return out[0], chain.numpy_backward(saved, LENGTH, out)[0]

        return _measure(lambda: chain.numpy_forward(x, LENGTH), backward)


class MicrogradnpDeep:
    """The chain on a tensor that requires grad, then ``out.backward()`` (garbage collector left on)."""

    def __init__(self):
        import microgradnp as mg

        self.mg = mg

    def run(self):
        """Build and differentiate the chain once."""
        return _autograd_chain(self.mg.tensor(chain.start_array(1), requires_grad=True), self.mg.tanh)


class MicrogradnpDeepGcOff(MicrogradnpDeep):
    """The same with Python's cyclic garbage collector off while the chain lives.

    The collector rescans the growing graph as it is built; the difference between the two rows is
    what those scans cost (a user can switch the collector off too, as ``gc.disable()``).
    """

    def run(self):
        """Build and differentiate the chain once, the collector off."""
        gc.disable()
        try:
            return super().run()
        finally:
            gc.enable()


class TorchDeep:
    """The same chain in PyTorch eager mode."""

    def __init__(self):
        self.torch = import_torch()

    def run(self):
        """Build and differentiate the chain once."""
        return _autograd_chain(self.torch.tensor(chain.start_array(1), requires_grad=True), self.torch.tanh)


def _autograd_chain(x, tanh):
    # the same code for microgradnp and torch: build the chain on x, then out.backward()
    def backward(out):
        out.backward()
        return out.item(), x.grad.item()

    return _measure(lambda: chain.build(x, LENGTH, tanh), backward)


IMPLEMENTATIONS = {"numpy": NumpyDeep, "microgradnp": MicrogradnpDeep, "microgradnp gc off": MicrogradnpDeepGcOff,
                   "torch": TorchDeep}


def targets(summary):
    """The issue's targets: at most 1 KB per node at the peak, and at most 5x the NumPy loop's time."""
    per_node = summary.median("microgradnp", "bytes_per_node")
    ratio = summary.ratio("microgradnp", "total_s")
    if per_node is None:
        return []
    return [("deep: <= 1 KB per node at peak", f"{per_node:.0f} B", per_node <= 1024),
            ("deep: time <= 5x the NumPy loop", f"{ratio:.2f}x", ratio <= 5.0)]
