"""Check a hand-written NumPy derivative against the derivative microgradnp derives.

    report = mg.autograd.check_derivative(relu, relu_prime)
    print(report)              # where df is wrong, and the usual mistake by name
    report.raise_if_wrong()

``f`` is run on a Tensor, so the NumPy calls inside it (``np.maximum``, ``np.where``, ``np.exp``...)
record a graph and the true derivative comes from backward. When ``f`` cannot be traced (it converts
its input to an array, or calls NumPy functions without a gradient) central differences in float64 are
used instead, and the report says so.
"""
import warnings
from collections import namedtuple

import numpy as np

from .. import grad_mode
from ..tensor import Tensor
from . import derivative_diagnosis as diagnosis


class DerivativeMismatch(AssertionError):
    """Raised by ``DerivativeReport.raise_if_wrong()`` when a hand-written derivative is wrong."""


Mismatch = namedtuple("Mismatch", "x claimed true")
Mismatch.__doc__ = "One point where the claimed derivative disagrees with the true one."


def default_points():
    """The default x: a float64 column over [-3, 3] plus small values on both sides of 0.

    The coarse grid is offset by 0.0137 so that no point is a round number (kinks and thresholds sit at
    round numbers), and the small values catch derivatives that are wrong only on a short stretch
    such as (0, 0.1) or (0, 0.01).
    """
    coarse = np.linspace(-3.0, 3.0, 49) + 0.0137
    small = np.array([0.0007, 0.003, 0.007, 0.02, 0.04, 0.06, 0.08, 0.095])
    return np.unique(np.concatenate([coarse, small, -small])).reshape(-1, 1)


def check_derivative(f, df, x=None, *, atol=1e-6, rtol=1e-4):
    """Compare ``df``, a hand-written derivative of the elementwise NumPy function ``f``, with the true one.

    ``x`` (float64, any shape ``df`` accepts) defaults to ``default_points()``, a (65, 1) column. Returns
    a ``DerivativeReport``: ``.ok``, ``.diagnosis`` (the mistake by name, or None), ``.mismatches``
    (``Mismatch(x, claimed, true)`` where df is wrong) and ``.raise_if_wrong()``. A point passes when
    ``|claimed - true| <= atol + rtol * |true|``.
    """
    x = default_points() if x is None else np.array(x, dtype=np.float64)
    truth = TrueDerivative(f, x.shape)
    true = truth(x)
    probe_input = x.copy()
    raw_claimed = _call(df, probe_input, "df")
    checker = _Checker(f, df, truth, atol, rtol)
    findings, notes = [], list(truth.notes)
    if not np.array_equal(probe_input, x, equal_nan=True):
        findings.append(diagnosis.overwrites_input(x, probe_input, raw_claimed is probe_input))
    shape_problem = diagnosis.wrong_shape(raw_claimed, x)
    if shape_problem:
        return DerivativeReport(f, df, x, None, true, [shape_problem] + findings, [], truth.method, notes)

    claimed = np.broadcast_to(np.asarray(raw_claimed, dtype=np.float64), x.shape)
    valid = np.isfinite(true) & np.isfinite(truth.values(x))
    if not valid.all():
        notes.append(f"f or its derivative is not finite at {int((~valid).sum())} of {x.size} points (outside "
                     f"its domain?); they were skipped: pass x= to choose the points")
    bad = valid & ~checker.close(claimed, true)
    bad, kink_notes = checker.forgive_kinks(x, claimed, bad)
    notes += kink_notes
    if bad.any():
        findings.append(diagnosis.explain(checker, x, raw_claimed, claimed, true, bad, valid))
    mismatches = [Mismatch(float(a), float(c), float(t)) for a, c, t in
                  sorted(zip(x[bad], claimed[bad], true[bad]))]
    return DerivativeReport(f, df, x, claimed, true, findings, mismatches, truth.method, notes)


class DerivativeReport:
    """The verdict of ``check_derivative``: ``ok``, ``diagnosis``, ``mismatches`` and a readable ``str``."""

    def __init__(self, f, df, x, claimed, true, findings, mismatches, method, notes):
        self.f, self.df, self.x, self.claimed, self.true = f, df, x, claimed, true
        self.findings, self.mismatches, self.method, self.notes = findings, mismatches, method, notes
        self.ok = not findings
        self.diagnosis = "\n".join(findings) if findings else None

    def raise_if_wrong(self):
        """Raise ``DerivativeMismatch`` (with this report as its message) unless the derivative is right."""
        if not self.ok:
            raise DerivativeMismatch(str(self))
        return self

    def __str__(self):
        name = f"check_derivative({_name(self.f)}, {_name(self.df)})"
        n = self.x.size
        if self.ok:
            lines = [f"{name}: OK at all {n} points (true derivative {self.method})"]
        else:
            wrong = f"wrong at {len(self.mismatches)} of {n} points" if self.claimed is not None else "WRONG"
            lines = [f"{name}: {wrong} (true derivative {self.method})"]
            lines += ["  " + line for finding in self.findings for line in finding.splitlines()]
        if self.mismatches:
            lines.append(f"  {'x':>12} {'df(x)':>14} {'true':>14}")
            shown = self.mismatches if len(self.mismatches) <= 12 else self.mismatches[:6] + self.mismatches[-6:]
            for k, m in enumerate(shown):
                if k == 6 and len(self.mismatches) > 12:
                    lines.append(f"  {'...':>12} ({len(self.mismatches) - 12} more)")
                lines.append(f"  {m.x:>12.6g} {m.claimed:>14.6g} {m.true:>14.6g}")
        lines += ["  note: " + note for note in self.notes]
        return "\n".join(lines)

    def __repr__(self):
        return f"<DerivativeReport ok={self.ok} mismatches={len(self.mismatches)}>"


def _name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


def _call(fn, x, what):
    try:
        with np.errstate(all="ignore"):
            return fn(x)
    except Exception as error:
        if hasattr(error, "add_note"):
            error.add_note(f"check_derivative: raised by {what} ({_name(fn)}) on an input of shape {tuple(x.shape)}")
        raise


class TrueDerivative:
    """f'(x) for an elementwise f: traced through microgradnp, or central differences when f resists."""

    def __init__(self, f, shape):
        self.f, self.shape = f, shape
        self.method, self.notes = "traced by microgradnp", []
        self.traced = True

    def __call__(self, x):
        if self.traced:
            derivative, reason = self._trace(x)
            if reason is None:
                return derivative
            self.traced = False
            self.method = "by central differences"
            self.notes.append(f"f could not be traced through microgradnp ({reason}), so its derivative was "
                              f"estimated by float64 central differences")
        return self.central(x)

    def _trace(self, x):
        t = Tensor(x.copy(), requires_grad=True)
        try:
            with grad_mode.enable_grad(), np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y = self.f(t)
        except Exception as error:  # any failure to trace falls back to finite differences
            return None, f"calling f on a tensor raised {type(error).__name__}: {error}"
        if not isinstance(y, Tensor):
            return None, f"f returned a {type(y).__name__}, not a tensor: it converts its input to an array"
        _check_elementwise(y.shape, x.shape)
        if not y.requires_grad:
            return None, "f's result does not depend on its input through differentiable operations"
        with np.errstate(all="ignore"):
            y.backward(np.ones(y.shape, dtype=y.dtype))
        grad = t.grad._array if t.grad is not None else np.zeros(x.shape)
        return np.asarray(grad, dtype=np.float64), None

    def values(self, x):
        """f(x) on a plain array."""
        with np.errstate(all="ignore"):
            y = np.asarray(self.f(x.copy()), dtype=np.float64)
        _check_elementwise(np.shape(y), x.shape)
        return np.broadcast_to(y, x.shape)

    def one_sided(self, x):
        """(left, right) difference quotients of f at x: they differ where f has a kink."""
        h = 1e-7 * np.maximum(1.0, np.abs(x))
        y = self.values(x)
        return (y - self.values(x - h)) / h, (self.values(x + h) - y) / h

    def central(self, x):
        """Central differences of f at x (f elementwise)."""
        h = 1e-6 * np.maximum(1.0, np.abs(x))
        return (self.values(x + h) - self.values(x - h)) / (2 * h)


def _check_elementwise(shape, expected):
    if tuple(shape) != tuple(expected):
        raise ValueError(f"check_derivative: f must be elementwise, but for an input of shape {tuple(expected)} "
                         f"it returned shape {tuple(shape)}")


class _Checker:
    """Comparison helpers shared with the diagnosis: tolerance, and df / f' at chosen points."""

    def __init__(self, f, df, truth, atol, rtol):
        self.f, self.df, self.truth, self.atol, self.rtol = f, df, truth, atol, rtol

    def close(self, a, b):
        with np.errstate(all="ignore"):
            return np.isclose(a, b, atol=self.atol, rtol=self.rtol, equal_nan=True)

    def points(self, values, like):
        """``values`` laid out with ``like``'s number of dims (df may loop over shape[1])."""
        values = np.asarray(values, dtype=np.float64)
        return values.reshape((-1,) + (1,) * (like.ndim - 1)) if like.ndim else values

    def claimed_at(self, x):
        """df at x (on a copy), broadcast to x's shape."""
        out = _call(self.df, x.copy(), "df")
        return np.broadcast_to(np.asarray(out, dtype=np.float64), x.shape)

    def forgive_kinks(self, x, claimed, bad):
        """Accept a value between the left and right derivatives where f has a kink (ReLU at 0)."""
        if not bad.any():
            return bad, []
        left, right = self.truth.one_sided(x)
        low, high = np.minimum(left, right), np.maximum(left, right)
        slack = self.atol + self.rtol * np.maximum(np.abs(low), np.abs(high))
        kink = bad & ~self.close(left, right) & (claimed >= low - slack) & (claimed <= high + slack)
        notes = [f"x = {x[i]:g} is a kink of f (left derivative {left[i]:.6g}, right {right[i]:.6g}): df's "
                 f"{claimed[i]:.6g} there is one valid choice" for i in zip(*np.nonzero(kink))][:5]
        return bad & ~kink, notes
