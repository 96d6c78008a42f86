"""The two namespaces a VJP computes with (its ``xp`` argument).

``NUMPY`` maps every primitive's name to its raw NumPy forward: an ordinary backward pass runs on
ndarrays and records nothing. ``TENSOR`` maps the names to the primitives themselves: with
``create_graph=True`` the backward pass is recorded and can be differentiated again.
"""
from types import SimpleNamespace

import numpy as np

from .. import functions, ops
from .primitive import PRIMITIVES


def _numpy_sum(x, axis=None, keepdims=False):
    # the ufunc's reduce directly: np.sum is a Python function around it (gradients are floats, so
    # np.sum's integer promotion never applies here)
    return np.add.reduce(x, axis=axis, keepdims=keepdims)


def _numpy_broadcast_to(x, shape):
    # a fresh writable array: np.broadcast_to is slow for small arrays and returns a read-only view
    # that every later consumer would have to copy anyway
    out = np.empty(shape, dtype=np.result_type(x))
    out[...] = x
    return out


def build():
    """Both namespaces, from the primitive table (every primitive in ``ops`` is declared by now)."""
    numpy_ops = {name: prim.forward for name, prim in PRIMITIVES.items()}
    tensor_ops = dict(PRIMITIVES)
    # sign has no gradient (it is flat almost everywhere), so it is a function, not a primitive
    numpy_ops["sign"], tensor_ops["sign"] = np.sign, functions.sign
    # inside a backward pass the shapes were already checked by the forward pass
    numpy_ops["matmul"] = ops.linalg.product
    numpy_ops["broadcast_to"] = _numpy_broadcast_to
    numpy_ops["sum"] = _numpy_sum
    # every caller inside a backward pass gives the shape as a tuple: skip the primitive's conversion frame
    numpy_ops["sum_to"] = ops.shape.sum_to_shape
    return SimpleNamespace(**numpy_ops), SimpleNamespace(**tensor_ops)


NUMPY, TENSOR = build()
