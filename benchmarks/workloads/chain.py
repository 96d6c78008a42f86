"""The op chain shared by the ops and deep workloads: x * 1.0001, + 0.001, tanh, repeated.

Each implementation builds ``length`` ops on a float64 array, then gets d(sum of output)/dx.
"""
import numpy as np

MUL = 1.0001
ADD = 0.001
START = 0.5


def start_array(size):
    """The chain's input: ``size`` float64 values, the same in every implementation."""
    return np.linspace(START, -START, size) if size > 1 else np.full(1, START)


def build(h, length, tanh):
    """Apply ``length`` ops to ``h`` (any array or tensor type; ``tanh`` is that type's tanh)."""
    triples, rest = divmod(length, 3)
    for _ in range(triples):
        h = tanh(h * MUL + ADD)
    if rest >= 1:
        h = h * MUL
    if rest == 2:
        h = h + ADD
    return h


def numpy_forward(x, length):
    """The chain's forward written by hand; returns (output, the tanh outputs its derivative needs)."""
    triples, rest = divmod(length, 3)
    saved = []
    h = x
    for _ in range(triples):
        h = np.tanh(h * MUL + ADD)
        saved.append(h)
    if rest >= 1:
        h = h * MUL
    if rest == 2:
        h = h + ADD
    return h, saved


def numpy_backward(saved, length, output):
    """d(sum of output)/dx written by hand: the gradient multiplied back through every op."""
    grad = np.ones_like(output)
    if length % 3 >= 1:
        grad = grad * MUL
    for t in reversed(saved):
        grad = grad * (1.0 - t * t) * MUL  # tanh' = 1 - tanh^2, then the multiplication; + passes it on
    return grad


def numpy_forward_backward(x, length):
    """The chain's output and its gradient, both written by hand in NumPy."""
    out, saved = numpy_forward(x, length)
    return out, numpy_backward(saved, length, out)
