"""What ``mg.viz.Monitor`` records at a step: the statistics of a module's output and of a parameter.

Each function here reads NumPy arrays only; ``monitor.py`` calls them from its hooks on recorded steps.
"""
import math
from dataclasses import dataclass, field

import numpy as np

SATURATING = ("Tanh", "Sigmoid", "Hardtanh", "Hardsigmoid")
"""Module classes whose outputs can saturate (named by class, so the engine need not import ``nn``)."""

RELU_FAMILY = ("ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU")
"""Module classes whose units die: a unit with no positive output for any sample passes (almost) no gradient."""

SAMPLE_SIZE = 4096
"""At most this many values of an output or a gradient are kept for a histogram."""


@dataclass
class ModuleRecord:
    """The statistics of one module's output at one recorded step (over its finite values).

    ``saturated``: for Tanh-like modules the fraction of values with |y| > ``saturation``, for Sigmoid-like
    ones of values with |2y - 1| > ``saturation`` (y < 0.015 or y > 0.985 at the default 0.97); None for
    other modules. ``dead``: for ReLU-family modules the fraction of units with no positive output for any
    sample of the batch (a unit is an entry of the last axis of a 2-D output, a channel, axis 1, of an
    (N, C, ...) output); None for other modules.
    """

    kind: str
    mean: float
    std: float
    absmax: float
    nan: int = 0
    inf: int = 0
    saturated: float = None
    dead: float = None
    units: int = 0


@dataclass
class ParamRecord:
    """One parameter's gradient at one recorded step, and the change the optimizer then made.

    ``grad_data`` is std(grad) / std(param), ``param_std`` std(param). ``update_data`` is
    log10(std(change) / std(param)), the change being what the parameter's values did between this
    step's backward and the next one (or ``Monitor.step``, or the exit): ``-inf`` when it did not
    change, None until known.
    """

    grad_norm: float
    grad_std: float
    grad_data: float
    grad_nan: int = 0
    update_data: float = None
    param_std: float = None


@dataclass
class StepRecord:
    """Everything recorded at one step: its number, its loss, and a record per module and per parameter."""

    step: int
    loss: float = None
    modules: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def _moments(a):
    """(mean, std, sum of squares) of a floating array, from one sum and one dot product (BLAS): far
    cheaper than ``a.std()``; NaN or Inf anywhere makes the sum of squares non-finite."""
    flat = _flat(a)
    with np.errstate(over="ignore", invalid="ignore"):
        n = flat.size
        total = float(flat.sum())
        squares = float(np.dot(flat, flat))
        mean = total / n
        var = squares / n - mean * mean
    return mean, math.sqrt(var) if var > 0 else 0.0, squares


def _flat(a):
    # a view where one exists: a weight gradient is often a transposed product, and reshaping it copies
    return a.T.reshape(-1) if not a.flags.c_contiguous and a.T.flags.c_contiguous else a.reshape(-1)


def _count_nonfinite(a):
    return int(np.isnan(a).sum()), int(np.isinf(a).sum())


def module_record(kind, a, saturation):
    """The ``ModuleRecord`` of output array ``a`` of a module of class ``kind``."""
    mean, std, squares = _moments(a) if a.size else (math.nan, math.nan, math.nan)
    nan = inf = 0
    finite = a
    if not math.isfinite(squares) and a.size:
        nan, inf = _count_nonfinite(a)
        if nan or inf:
            finite = a[np.isfinite(a)]
            mean, std, squares = _moments(finite) if finite.size else (math.nan, math.nan, math.nan)
    absmax = float(max(finite.max(), -finite.min())) if finite.size else math.nan
    record = ModuleRecord(kind, mean, std, absmax, nan, inf)
    if kind in SATURATING and finite.size:
        if "sigmoid" in kind.lower():
            limit = (1 - saturation) / 2
            count = np.count_nonzero(finite < limit) + np.count_nonzero(finite > 1 - limit)
        else:
            count = np.count_nonzero(finite > saturation) + np.count_nonzero(finite < -saturation)
        record.saturated = float(count) / finite.size
    elif kind in RELU_FAMILY and a.size and not (nan or inf):
        if a.ndim <= 1:
            alive = np.array([a.max() > 0])
        elif a.ndim == 2:
            alive = a.max(axis=0) > 0
        else:
            alive = a.max(axis=tuple(i for i in range(a.ndim) if i != 1)) > 0
        record.units = int(alive.size)
        record.dead = 1.0 - np.count_nonzero(alive) / alive.size
    return record


def param_record(g, p):
    """The ``ParamRecord`` of gradient array ``g`` of parameter values ``p`` (update not yet known)."""
    _, grad_std, squares = _moments(g)
    bad = 0 if math.isfinite(squares) else sum(_count_nonfinite(g))
    p_std = _moments(p)[1]
    ratio = grad_std / p_std if p_std > 0 else math.inf if grad_std > 0 else math.nan
    return ParamRecord(math.sqrt(squares) if math.isfinite(squares) else squares, grad_std, ratio, bad,
                       param_std=p_std)


def update_ratio(before, after, scale=None):
    """log10(std(after - before) / std(before)): how far an optimizer step moved a parameter.

    ``before`` is overwritten with the change (the monitor's own copy); ``scale`` is std(before) when known.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if scale is None:
            scale = _moments(before)[1]
        change = _moments(np.subtract(after, before, out=before))[1]
    if change == 0:
        return -math.inf
    if not math.isfinite(change):
        return math.nan
    if not scale > 0:
        return math.inf
    return math.log10(change / scale)


def sample(a):
    """At most ``SAMPLE_SIZE`` values of ``a`` (evenly strided), copied, as a flat array."""
    flat = _flat(a)
    return np.array(flat[::max(1, flat.size // SAMPLE_SIZE)][:SAMPLE_SIZE])
