"""Anomaly detection: a NaN or Inf produced by backward raises, naming the op and where it was created."""
import threading
from contextlib import contextmanager

import numpy as np

from .node import record


class _AnomalyState(threading.local):
    depth = 0  # the class attribute is each thread's starting value


state = _AnomalyState()
"""``state.depth`` > 0 inside ``detect_anomaly()`` (per thread); the engine reads it once per backward."""


def is_enabled():
    """True inside ``detect_anomaly()``."""
    return state.depth > 0


@contextmanager
def detect_anomaly():
    """Context manager: record where each op is created and raise on NaN/Inf gradients in backward.

    Recording costs time on every op, so use it to find a bug, not for training runs.
    """
    state.depth += 1
    try:
        with record():
            yield
    finally:
        state.depth -= 1


def where_created(node):
    """'file.py:12 in fn' for a node created while recording, or a hint to record."""
    trace = node.info("trace")
    if trace is None:
        return "(creation site not recorded: create the graph inside mg.autograd.detect_anomaly())"
    filename, lineno, function = trace
    return f"{filename}:{lineno} in {function}"


def check(node, index, gradient):
    """Raise if ``gradient`` (for input ``index`` of ``node``) holds a NaN or an Inf."""
    data = getattr(gradient, "data", gradient)
    data = np.asarray(data)
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        kind = "nan" if np.isnan(data).any() else "inf"
        raise RuntimeError(
            f"Function '{node.fn.name}' returned {kind} values in its gradient for input {index} "
            f"(shape {tuple(data.shape)}). The op was created at {where_created(node)}")
