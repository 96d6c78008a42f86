"""gradcheck: compare a function's analytic gradients with float64 central differences.

Small problems get the full Jacobian, entry by entry. Large ones get random-direction checks instead:
``v^T J u`` costs one backward pass and two evaluations per input, however many elements there are.

Where a central difference disagrees, the step is shrunk once (truncation error, or a kink near but not
at the point) and then the one-sided differences are compared. If the left and right derivatives differ,
the function has a kink there (ReLU or abs at 0, clamp at its bound, a tie in max): any analytic value
between them is a valid subgradient, so the point is reported with a ``NondifferentiablePointWarning``
instead of failing at random. Anything else raises ``GradcheckError`` with a table per input, worst first.
"""
import warnings

import numpy as np

from ..tensor import Tensor, arrays_replaced
from .engine import grad

FULL_JACOBIAN_LIMIT = 256
"""Inputs (all checked elements together) and outputs up to this size get the full Jacobian."""

ELEMENT_SAMPLE = 512
"""When a direction check fails on a large input, this many of its elements are checked one by one."""

TABLE_ROWS = 12


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytic and numerical gradients disagree."""


class NondifferentiablePointWarning(UserWarning):
    """Issued by ``gradcheck`` at a kink, where the analytic gradient is one valid subgradient."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, *, full_jacobian=None,
              directions=3, seed=0):
    """Check ``fn``'s analytic gradients against float64 central differences; return True or raise.

    ``inputs`` is a tensor or a tuple of arguments for ``fn``; the float64 tensors with
    ``requires_grad=True`` are checked. ``fn`` returns a tensor or a tuple of tensors. The full Jacobian
    is compared when inputs and outputs are small (or ``full_jacobian=True``), otherwise ``directions``
    random products ``v^T J u`` are. An entry passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
    With ``raise_exception=False`` a mismatch returns False instead of raising.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = _checked_inputs(inputs)
    with _writable(inputs, checked):
        probe = _Probe(fn, inputs)
        n_in = sum(inputs[i]._array.size for i in checked)
        if full_jacobian is None:
            full_jacobian = n_in <= FULL_JACOBIAN_LIMIT and probe.base.size <= FULL_JACOBIAN_LIMIT
        tol = _Tolerance(atol, rtol)
        if full_jacobian:
            mismatches, kinks = _check_full(probe, checked, eps, tol)
        else:
            mismatches, kinks = _check_directions(probe, checked, eps, tol, directions, seed)
    if kinks:
        kinks = list({(m["input"], m["element"], m["output"]): m for m in kinks}.values())
        warnings.warn(NondifferentiablePointWarning(_kink_note(probe, kinks)), stacklevel=2)
    if mismatches:
        if not raise_exception:
            return False
        raise GradcheckError(_mismatch_table(probe, mismatches, eps, atol, rtol))
    return True


# ---- inputs and evaluation ---------------------------------------------------------------------------

def _checked_inputs(inputs):
    checked = []
    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        if t.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} (shape {t._array.shape}) has dtype {t.dtype}; finite differences need float64 "
                f"(in {t.dtype} the rounding error of f(x + eps) - f(x - eps) swamps the difference itself). "
                f"Create the inputs with dtype=mg.float64, or pass t.double().detach().requires_grad_()")
        if not t.is_leaf:
            raise ValueError(f"gradcheck: input {i} (shape {t._array.shape}) is not a leaf tensor; pass "
                             f"t.detach().requires_grad_() so that its elements can be perturbed")
        checked.append(i)
    if not checked:
        raise ValueError("gradcheck: none of the inputs requires grad, so there is nothing to check; "
                         "create the inputs with requires_grad=True")
    return checked


class _writable:
    """Give each checked input a private writable copy of its data for the duration of the check."""

    def __init__(self, inputs, checked):
        self.tensors = [inputs[i] for i in checked]

    def __enter__(self):
        self.saved = [t._array for t in self.tensors]
        for t in self.tensors:
            t._array = np.array(t._array, copy=True)
        arrays_replaced[0] += 1

    def __exit__(self, *exc):
        for t, data in zip(self.tensors, self.saved):
            t._array = data
        arrays_replaced[0] += 1
        return False


def _outputs_of(result):
    outs = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    for k, out in enumerate(outs):
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a tensor or a tuple of tensors, output {k} is a "
                            f"{type(out).__name__}")
        if not np.issubdtype(out.dtype, np.floating):
            raise TypeError(f"gradcheck: output {k} has dtype {out.dtype}; only floating outputs have gradients")
        if out.dtype != np.float64:
            raise TypeError(f"gradcheck: output {k} (shape {out._array.shape}) has dtype {out.dtype}; finite "
                            f"differences need float64 all the way through (fn casts its result down)")
    return outs


class _Probe:
    """Evaluates ``fn`` as one flat float64 vector, with one input perturbed."""

    def __init__(self, fn, inputs):
        self.fn, self.inputs = fn, inputs
        outs = _outputs_of(fn(*inputs))
        self.shapes = [o.shape for o in outs]
        self.base = self._flat(outs)

    @staticmethod
    def _flat(outs):
        return np.concatenate([np.asarray(o._array, dtype=np.float64).reshape(-1) for o in outs])

    def __call__(self):
        # grad mode stays on: fn may itself differentiate (a second-order check calls autograd.grad)
        return self._flat(_outputs_of(self.fn(*self.inputs)))

    def shifted(self, i, j, h):
        """Outputs with flat element ``j`` of input ``i`` moved by +h and by -h."""
        data = self.inputs[i]._array
        index = np.unravel_index(j, data.shape)
        saved = data[index]
        try:
            data[index] = saved + h
            plus = self()
            data[index] = saved - h
            minus = self()
        finally:
            data[index] = saved
        return plus, minus

    def along(self, i, u, h):
        """Outputs with input ``i`` moved by +h*u and by -h*u."""
        t = self.inputs[i]
        saved = t._array
        step = h * u.reshape(saved.shape)
        arrays_replaced[0] += 1  # (the arrays below are t's only while this runs)
        try:
            t._array = saved + step
            plus = self()
            t._array = saved - step
            minus = self()
        finally:
            t._array = saved
            arrays_replaced[0] += 1
        return plus, minus

    def output_label(self, k):
        """'[1, 2]' (or 'out1[1, 2]' when fn returns several tensors) for flat output index ``k``."""
        for n, shape in enumerate(self.shapes):
            size = int(np.prod(shape))
            if k < size:
                label = _index_label(k, shape)
                return label if len(self.shapes) == 1 else f"out{n}{label}"
            k -= size
        return str(k)

    def record(self):
        """Run ``fn`` with the graph recorded (for the analytic side)."""
        return _outputs_of(self.fn(*self.inputs))

    def vjp(self, v, checked, outs=None):
        """Analytic J_i^T v for each checked input, flat float64 (one backward pass; ``outs`` is kept)."""
        retain = outs is not None
        outs = outs if retain else self.record()
        pieces, start = [], 0
        for o in outs:
            pieces.append(v[start:start + o._array.size].reshape(o.shape))
            start += o._array.size
        live = [(o, p) for o, p in zip(outs, pieces) if o.requires_grad]
        targets = [self.inputs[i] for i in checked]
        if not live:
            return [np.zeros(t._array.size) for t in targets]
        grads = grad([o for o, _ in live], targets, grad_outputs=[Tensor(p.astype(o.dtype)) for o, p in live],
                     retain_graph=retain, allow_unused=True)
        result = []
        for i, t, g in zip(checked, targets, grads):
            if g is None:
                result.append(np.zeros(t._array.size))
                continue
            if g.shape != t.shape or g.dtype != t.dtype:
                raise GradcheckError(f"gradcheck: the gradient of input {i} has shape {g._array.shape} and dtype "
                                     f"{g.dtype}, but the input has shape {t._array.shape} and dtype {t.dtype}")
            result.append(np.asarray(g._array, dtype=np.float64).reshape(-1))
        return result


def _index_label(k, shape):
    if not shape:
        return "[]"
    return "[" + ", ".join(str(int(n)) for n in np.unravel_index(k, shape)) + "]"


class _Tolerance:
    def __init__(self, atol, rtol):
        self.atol, self.rtol = atol, rtol

    def close(self, analytic, numeric):
        return np.abs(analytic - numeric) <= self.atol + self.rtol * np.abs(numeric)

    def sides_agree(self, left, right):
        return np.abs(left - right) <= self.atol + self.rtol * np.maximum(np.abs(left), np.abs(right))


# ---- the two strategies --------------------------------------------------------------------------------

def _check_full(probe, checked, eps, tol):
    n_out = probe.base.size
    outs = probe.record()
    rows = [probe.vjp(np.eye(1, n_out, k).reshape(-1), checked, outs) for k in range(n_out)]
    mismatches, kinks = [], []
    for c, i in enumerate(checked):
        analytic = np.stack([row[c] for row in rows]) if rows else np.zeros((0, probe.inputs[i]._array.size))
        elements = range(probe.inputs[i]._array.size)
        m, k = _compare_elements(probe, i, elements, analytic, lambda f: f, eps, tol)
        mismatches += m
        kinks += k
    return mismatches, kinks


def _check_directions(probe, checked, eps, tol, directions, seed):
    rng = np.random.default_rng(seed)
    mismatches, kinks = [], []
    failed = set()
    for _ in range(directions):
        v = _unit(rng.standard_normal(probe.base.size))
        grads = probe.vjp(v, checked)
        for c, i in enumerate(checked):
            if i in failed:
                continue
            size = probe.inputs[i]._array.size
            u = _unit(rng.standard_normal(size))
            analytic = grads[c] @ u
            plus, minus = probe.along(i, u, eps)
            if tol.close(analytic, v @ (plus - minus) / (2 * eps)):
                continue
            h = eps / 10
            plus, minus = probe.along(i, u, h)
            s0, sp, sm = v @ probe.base, v @ plus, v @ minus
            numeric = (sp - sm) / (2 * h)
            if tol.close(analytic, numeric):
                continue
            # find the elements responsible: all of a small input, a sample of a large one
            whole = size <= ELEMENT_SAMPLE
            elements = range(size) if whole else np.sort(rng.choice(size, ELEMENT_SAMPLE, replace=False))
            project = lambda f, v=v: np.array([v @ f])  # noqa: E731
            m, k = _compare_elements(probe, i, elements, grads[c][None, list(elements)], project, eps, tol,
                                     output_label="v.out")
            kinks += k
            if m:
                mismatches += m
                failed.add(i)
            elif not whole:
                # no sampled element explains it: a wrong gradient elsewhere, unless the direction crosses kinks
                left, right = (s0 - sm) / h, (sp - s0) / h
                entry = dict(input=i, output="v.out", element="along u", analytic=analytic, numeric=numeric,
                             left=left, right=right, kink=not tol.sides_agree(left, right))
                if entry["kink"]:
                    kinks.append(entry)
                else:
                    mismatches.append(entry)
                    failed.add(i)
    return mismatches, kinks


def _unit(x):
    norm = np.linalg.norm(x)
    return x / norm if norm > 0 else x


def _compare_elements(probe, i, elements, analytic, project, eps, tol, output_label=None):
    """Compare column c of ``analytic`` with the central difference in element ``elements[c]`` of input i.

    ``project`` maps the flat outputs to the rows being compared (all outputs, or one v.out).
    Returns (mismatches, kinks) as lists of dicts.
    """
    mismatches, kinks = [], []
    shape = probe.inputs[i].shape
    base = None
    for c, j in enumerate(elements):
        plus, minus = probe.shifted(i, j, eps)
        numeric = (project(plus) - project(minus)) / (2 * eps)
        ana = analytic[:, c]
        bad = np.flatnonzero(~tol.close(ana, numeric))
        if bad.size == 0:
            continue
        if base is None:
            base = project(probe.base)
        h = eps / 10
        plus, minus = probe.shifted(i, j, h)
        plus, minus = project(plus), project(minus)
        central, right, left = (plus - minus) / (2 * h), (plus - base) / h, (base - minus) / h
        for k in bad:
            if tol.close(ana[k], central[k]):
                continue
            entry = dict(input=i, output=output_label or probe.output_label(k), element=_index_label(j, shape),
                         analytic=ana[k], numeric=numeric[k], left=left[k], right=right[k], kink=False)
            if not tol.sides_agree(left[k], right[k]):
                entry["kink"] = True
                low, high = min(left[k], right[k]), max(left[k], right[k])
                slack = tol.atol + tol.rtol * max(abs(low), abs(high))
                if low - slack <= ana[k] <= high + slack:
                    kinks.append(entry)
                    continue
            mismatches.append(entry)
    return mismatches, kinks


# ---- reports -------------------------------------------------------------------------------------------

def _mismatch_table(probe, mismatches, eps, atol, rtol):
    lines = [f"gradcheck: analytic and numerical gradients differ (central differences, eps={eps:g}; "
             f"an entry passes when |analytic - numeric| <= {atol:g} + {rtol:g} * |numeric|)"]
    if any(m["output"] == "v.out" for m in mismatches):
        lines.append("(the input is large, so the check projects the outputs on a random unit vector v: "
                     "'v.out' is v . fn(*inputs))")
    by_input = {}
    for m in mismatches:
        by_input.setdefault(m["input"], []).append(m)
    for i, entries in sorted(by_input.items()):
        t = probe.inputs[i]
        entries.sort(key=lambda m: -abs(m["analytic"] - m["numeric"]))
        lines.append(f"input {i} (shape {t._array.shape}, {t.dtype}): {len(entries)} "
                     f"entr{'y' if len(entries) == 1 else 'ies'} differ, worst first:")
        lines.append(f"  {'output':>12} {'input':>12} {'analytic':>14} {'numeric':>14} {'difference':>12}")
        for m in entries[:TABLE_ROWS]:
            note = ""
            if m["kink"]:
                note = (f"  (kink: left {m['left']:.6g}, right {m['right']:.6g}; the analytic value "
                        f"lies outside both)")
            lines.append(f"  {m['output']:>12} {m['element']:>12} {m['analytic']:>14.6g} {m['numeric']:>14.6g} "
                         f"{m['analytic'] - m['numeric']:>12.3g}{note}")
        if len(entries) > TABLE_ROWS:
            lines.append(f"  ... and {len(entries) - TABLE_ROWS} more")
    return "\n".join(lines)


def _kink_note(probe, kinks):
    entries = "entry sits" if len(kinks) == 1 else "entries sit"
    lines = [f"gradcheck: {len(kinks)} Jacobian {entries} at points where the "
             f"function is not differentiable (the left and right derivatives differ); the analytic gradient "
             f"is a valid subgradient there, so they are not counted as failures:"]
    for m in kinks[:TABLE_ROWS]:
        lines.append(f"  input {m['input']} element {m['element']} -> output {m['output']}: left {m['left']:.6g}, "
                     f"right {m['right']:.6g}, analytic {m['analytic']:.6g}")
        if m["element"] == "along u":
            lines.append("    (a random direction through several kinks: this direction is inconclusive)")
    if len(kinks) > TABLE_ROWS:
        lines.append(f"  ... and {len(kinks) - TABLE_ROWS} more")
    return "\n".join(lines)
