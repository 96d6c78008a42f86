"""What ``mg.viz.Monitor`` records at a step: the statistics of a module's output and of a parameter.

Each function here reads NumPy arrays only; ``monitor.py`` calls them from its hooks on recorded steps.
"""
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

    ``grad_data`` is std(grad) / std(param). ``update_data`` is log10(std(change) / std(param)), the change
    being what the parameter's values did between this step's backward and the next forward (or
    ``Monitor.step``): ``-inf`` when it did not change, None until known.
    """

    grad_norm: float
    grad_std: float
    grad_data: float
    grad_nan: int = 0
    update_data: float = None


@dataclass
class StepRecord:
    """Everything recorded at one step: its number, its loss, and a record per module and per parameter."""

    step: int
    loss: float = None
    modules: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def _nonfinite(a):
    """(NaN count, Inf count) of a floating array, counted only when its sum is not finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum(dtype=np.float64)
    if np.isfinite(total):
        return 0, 0
    return int(np.isnan(a).sum()), int(np.isinf(a).sum())


def module_record(kind, a, saturation):
    """The ``ModuleRecord`` of output array ``a`` of a module of class ``kind``."""
    nan, inf = _nonfinite(a)
    finite = a[np.isfinite(a)] if nan or inf else a
    if finite.size:
        mean, std = float(finite.mean()), float(finite.std())
        absmax = float(max(finite.max(), -finite.min()))
    else:
        mean = std = absmax = float("nan")
    record = ModuleRecord(kind, mean, std, absmax, nan, inf)
    if kind in SATURATING and finite.size:
        if "sigmoid" in kind.lower():
            finite = 2 * finite - 1
        record.saturated = float(np.count_nonzero(np.abs(finite) > saturation)) / finite.size
    elif kind in RELU_FAMILY and a.size and not (nan or inf):
        positive = a > 0
        if a.ndim <= 1:
            alive = np.array([positive.any()])
        elif a.ndim == 2:
            alive = positive.any(axis=0)
        else:
            alive = positive.any(axis=tuple(i for i in range(a.ndim) if i != 1))
        record.units = int(alive.size)
        record.dead = 1.0 - np.count_nonzero(alive) / alive.size
    return record


def param_record(g, p):
    """The ``ParamRecord`` of gradient array ``g`` of parameter values ``p`` (update not yet known)."""
    nan, inf = _nonfinite(g)
    with np.errstate(over="ignore", invalid="ignore"):
        norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
        grad_std = float(g.std())
        p_std = float(p.std())
    ratio = grad_std / p_std if p_std > 0 else float("inf") if grad_std > 0 else float("nan")
    return ParamRecord(norm, grad_std, ratio, nan + inf)


def update_ratio(before, after):
    """log10(std(after - before) / std(before)): how far an optimizer step moved a parameter."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        change = float((after - before).std())
        scale = float(before.std())
        if change == 0:
            return float("-inf")
        if not scale > 0:
            return float("nan") if not np.isfinite(change) else float("inf")
        return float(np.log10(change / scale))


def sample(a):
    """At most ``SAMPLE_SIZE`` values of ``a`` (evenly strided), copied, as a flat array."""
    flat = a.reshape(-1)
    return np.array(flat[::max(1, flat.size // SAMPLE_SIZE)][:SAMPLE_SIZE])
