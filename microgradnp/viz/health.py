"""Gradient health: classify one tensor's value and gradient into a status a drawing can colour.

The statuses, most severe first:

``nonfinite``  a NaN or Inf in the value or the gradient
``blocked``    gradient arrives at an op but none leaves it toward its inputs (e.g. a dead ReLU)
``dead``       the gradient is exactly zero everywhere (nothing arrives)
``exploding``  the gradient's L2 norm is above ``Thresholds.exploding``
``vanishing``  the gradient's L2 norm is above zero but below ``Thresholds.vanishing``
``partly_dead`` at least ``Thresholds.dead_fraction`` of an activation's units pass no gradient
``ok``         a finite, non-zero gradient of a reasonable size
``unknown``    no gradient to judge (not computed, or freed by backward)
"""
from dataclasses import dataclass

import numpy as np

SEVERITY = ("nonfinite", "blocked", "dead", "exploding", "vanishing", "partly_dead", "ok", "unknown")
"""Statuses ordered from most to least severe; a collapsed group shows its most severe member."""


@dataclass(frozen=True)
class Thresholds:
    """Where a gradient norm counts as vanishing or exploding, and how many dead units make a layer "partly dead".

    ``vanishing``: an L2 gradient norm above 0 and below this is vanishing (default 1e-6).
    ``exploding``: an L2 gradient norm above this is exploding (default 1e3).
    ``dead_fraction``: an activation with at least this fraction of units passing no gradient is
    coloured partly dead (default 0.5); any dead unit is still written in its label.
    """

    vanishing: float = 1e-6
    exploding: float = 1e3
    dead_fraction: float = 0.5

    def __post_init__(self):
        if not (self.vanishing >= 0 and self.exploding > self.vanishing):
            raise ValueError(f"draw_graph: thresholds need 0 <= vanishing < exploding, got vanishing="
                             f"{self.vanishing}, exploding={self.exploding}")
        if not 0 < self.dead_fraction <= 1:
            raise ValueError(f"draw_graph: dead_fraction must be in (0, 1], got {self.dead_fraction}")


@dataclass
class Health:
    """What is known about one tensor: its status plus the numbers a label shows."""

    status: str = "unknown"
    grad_norm: float = None
    value_stats: tuple = None        # (min, mean, max) over finite values, or None
    nonfinite_in: str = None         # "value", "grad" or "value and grad"
    dead_units: int = 0
    units: int = 0

    @property
    def dead_text(self):
        """'3/4 units pass no gradient' style text, or '' when no unit is dead."""
        return f"{self.dead_units}/{self.units} units dead" if self.dead_units else ""


def _floating(array):
    return array is not None and np.issubdtype(np.asarray(array).dtype, np.inexact)


def has_nonfinite(array):
    """True when a floating array holds a NaN or an Inf."""
    return _floating(array) and not np.isfinite(array).all()


def value_stats(array):
    """(min, mean, max) over the finite entries of a numeric array, or None when there are none."""
    if array is None:
        return None
    array = np.asarray(array)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number) or array.size == 0:
        return None
    finite = array[np.isfinite(array)] if _floating(array) else array
    if finite.size == 0:
        return None
    return float(finite.min()), float(finite.mean()), float(finite.max())


def dead_unit_count(grad):
    """(dead, total): units (last axis) whose gradient is zero for every sample, and how many units there are.

    A tensor of 0 or 1 dimensions is one unit (a batch of scalars, or a single value).
    """
    grad = np.asarray(grad)
    if grad.ndim <= 1:
        return int(not np.any(grad)), 1
    flat = grad.reshape(-1, grad.shape[-1])
    alive = np.any(flat != 0, axis=0)
    return int(alive.size - np.count_nonzero(alive)), int(alive.size)


def _norm(grad):
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.sqrt(np.sum(np.square(np.asarray(grad, dtype=np.float64)))))


def assess(value, grad, thresholds, passed=None):
    """The health of a tensor with ``value`` (array or None) and gradient ``grad`` (array or None).

    ``passed`` is, for an op, the list of gradients it sends to its differentiable inputs (the first
    one, when shaped like the output, defines an elementwise op's dead units); None for leaves.
    """
    health = Health(value_stats=value_stats(value))
    bad = [where for where, array in (("value", value), ("grad", grad)) if has_nonfinite(array)]
    if passed and any(has_nonfinite(p) for p in passed) and "grad" not in bad:
        bad.append("grad")
    if grad is None:
        health.status = "nonfinite" if bad else "unknown"
        health.nonfinite_in = " and ".join(bad) or None
        return health
    health.grad_norm = _norm(grad)
    # an elementwise op (input shaped like its output) owns its dead units: they are where it passes
    # nothing back; any other op only reports the units that receive nothing, which some op below caused
    elementwise = bool(passed) and np.shape(passed[0]) == np.shape(grad)
    if passed is not None:
        health.dead_units, health.units = dead_unit_count(passed[0] if elementwise else grad)
    if bad:
        health.status, health.nonfinite_in = "nonfinite", " and ".join(bad)
    elif not np.any(grad):
        health.status = "dead"
    elif passed and not any(np.any(p) for p in passed):
        health.status = "blocked"
    elif health.grad_norm > thresholds.exploding:
        health.status = "exploding"
    elif health.grad_norm < thresholds.vanishing:
        health.status = "vanishing"
    elif elementwise and health.dead_units / health.units >= thresholds.dead_fraction:
        health.status = "partly_dead"
    else:
        health.status = "ok"
    return health


def worst(statuses):
    """The most severe of several statuses ('unknown' when there are none)."""
    ranked = [SEVERITY.index(s) for s in statuses]
    return SEVERITY[min(ranked)] if ranked else "unknown"
