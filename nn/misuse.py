"""Warnings for the mistakes that from-scratch networks keep making, raised where the loss sees them.

Each check is cheap (a look at the input's graph node, or a test on one row before the whole array) so it
can run on every training step. Each warning is a ``MisuseWarning`` (a ``UserWarning``), silenced like any
other: ``warnings.filterwarnings("ignore", category=nn.MisuseWarning)``.
"""
import os
import sys
import warnings

import numpy as np

import microgradnp as mg

_NN_DIR = os.path.dirname(os.path.abspath(__file__))

# ops that only move elements around: a ReLU output passed through them is still a ReLU output
_PASS_THROUGH = frozenset({"reshape", "transpose", "getitem", "astype", "broadcast_to"})


class MisuseWarning(UserWarning):
    """A layer or loss was used in a way that trains badly or not at all (the message says what to use)."""


def warn(message):
    """Issue a ``MisuseWarning`` attributed to the first line of user code outside ``nn``."""
    warnings.warn(message, MisuseWarning, stacklevel=_user_stacklevel())


def _user_stacklevel():
    frame, level = sys._getframe(2), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_NN_DIR):
        frame, level = frame.f_back, level + 1
    return level


def comes_from_relu(t):
    """True when ``t`` is (a reshaped view of) the output of a ReLU, judged from its graph node."""
    node = t.grad_fn if isinstance(t, mg.Tensor) else None
    while node is not None and node.fn.name in _PASS_THROUGH:
        edge = node.edges[0]
        node = None if edge is None or isinstance(edge, mg.Tensor) else edge
    return node is not None and node.fn.name == "relu"


def warn_if_relu_output(input, loss):  # noqa: A002
    """Flag a loss fed directly by a ReLU, e.g. a ``Sequential`` whose last layer is ``nn.ReLU()`` (seed 004)."""
    if comes_from_relu(input):
        warn(f"{loss}: its input comes straight out of a ReLU (for example a Sequential whose last layer is "
             f"nn.ReLU()). Outputs the ReLU clips to 0 get no gradient and stay stuck there (dying ReLU), and "
             f"negative targets can never be reached. Drop the final ReLU (end with nn.Linear, or nn.Identity) "
             f"for regression; for classification feed the raw scores to nn.CrossEntropyLoss or "
             f"nn.BCEWithLogitsLoss (or end with nn.Sigmoid before nn.BCELoss).")


def looks_like_probabilities(array, dim, atol=1e-3):
    """True when every value is in [0, 1] and every slice along ``dim`` (of length >= 2) sums to 1."""
    if array.ndim == 0 or array.size == 0 or array.shape[dim] < 2 or array.dtype.kind != "f":
        return False
    # one value first: a probability is in [0, 1], and logits often have one outside it (NaN fails too);
    # this runs on every loss call, and reading one value costs a tenth of the first row's sum below
    if not 0.0 <= array.item(0) <= 1.0:
        return False
    # one slice first: logits almost never pass it, so the full check rarely runs
    if array.ndim == 2 and dim == 1:  # (N, C) scores, the usual case: the first row without building an index
        first = array[0]
    else:
        index = [0] * array.ndim
        index[dim] = slice(None)
        first = array[tuple(index)]
    if abs(float(np.add.reduce(first)) - 1.0) > atol or np.minimum.reduce(first) < 0 or np.maximum.reduce(first) > 1:
        return False
    if array.min() < 0 or array.max() > 1:
        return False
    return bool(np.all(np.abs(array.sum(axis=dim) - 1.0) <= atol))
