"""Name the usual mistake in a hand-written derivative, for ``check_derivative``.

Each detector looks at df and the true derivative f' over the checked points and returns a sentence
when its mistake explains every disagreement: a scalar returned for an array, a derivative written in
terms of the activation's output, a sign error, a constant factor, a threshold in the wrong place.
Otherwise the report says where (which intervals of x) df and f' disagree.
"""
import numpy as np

REFINE_ROUNDS = 4
REFINE_POINTS = 33


def overwrites_input(before, after, returned_same):
    """The finding for a df that changes the array it was given (seed 003's reluGrad)."""
    changed = ~((before == after) | (np.isnan(before) & np.isnan(after)))
    first = tuple(int(i) for i in np.argwhere(changed)[0])
    same = " and returns that same array" if returned_same else ""
    return (f"df overwrites its input in place{same}: after df(x), {int(changed.sum())} of {before.size} elements "
            f"of x have changed (x{list(first)} was {before[first]:.6g}, now {after[first]:.6g}). The caller's "
            f"array (the layer's pre-activations) is destroyed; build the derivative in a new array, e.g. "
            f"np.where(x > 0, 1.0, 0.0), or work on x.copy().")


def wrong_shape(raw_claimed, x):
    """The finding for a df whose result has neither x's shape nor a single value, else None."""
    shape = np.shape(raw_claimed)
    if shape == () or shape == x.shape:
        return None
    return (f"df returned shape {shape} for an input of shape {tuple(x.shape)}: a derivative of an elementwise "
            f"function has one value per element, i.e. the input's shape")


def explain(checker, x, raw_claimed, claimed, true, bad, valid):
    """One finding that explains the disagreements at ``bad``: a named mistake, or where df is wrong."""
    if np.ndim(raw_claimed) == 0 and x.size > 1:
        intervals = Intervals(checker, x, claimed, true, bad, valid, refine=False)
        return (f"df returned a single number ({float(raw_claimed):g}) for an array of {x.size} inputs, so every "
                f"element got the same derivative; it must return one derivative per element. A Python `if` on "
                f"an array (`if np.all(eps < x): return 1`) decides for the whole array at once: compute it "
                f"elementwise, e.g. np.where(x > 0, 1.0, eps).\n{intervals.describe()}")
    for detector in (expects_output, applied_to_output, sign_error, constant_factor):
        finding = detector(checker, x, claimed, true, valid)
        if finding:
            return finding
    intervals = Intervals(checker, x, claimed, true, bad, valid, refine=True)
    return intervals.threshold() or intervals.describe()


def expects_output(checker, x, claimed, true, valid):
    """df(f(x)) == f'(x): df is written in terms of the activation's output y = f(x)."""
    y = checker.truth.values(x)
    on_output = checker.claimed_at(y)
    if checker.close(on_output, true)[valid].all():
        return ("df expects the activation's output, not its input: df(f(x)) equals f'(x), so df is written in "
                "terms of y = f(x) (like y * (1 - y) for the sigmoid). Call it on the output (df(f(x))), or "
                "rewrite it in terms of x.")
    return None


def applied_to_output(checker, x, claimed, true, valid):
    """df(x) == f'(f(x)): the derivative is evaluated at the activation's output instead of its input."""
    y = checker.truth.values(x)
    if not np.isfinite(y).all():
        return None
    at_output = checker.truth(y)
    if checker.close(claimed, at_output)[valid].all():
        return ("df evaluates the derivative at the activation's output: df(x) equals f'(f(x)), i.e. the output "
                "y = f(x) is fed where the input belongs (d_sigmoid(y_pred) with y_pred = sigmoid(z)). Apply "
                "the derivative to the pre-activation z, or use the output form y * (1 - y).")
    return None


def sign_error(checker, x, claimed, true, valid):
    """df == -f'."""
    nonzero = valid & (np.abs(true) > checker.atol)
    if nonzero.any() and checker.close(claimed, -true)[valid].all():
        return "sign error: df is -f' at every point (check the sign of each term, e.g. d(1/x)/dx = -1/x**2)."
    return None


def constant_factor(checker, x, claimed, true, valid):
    """df == k f' for one constant k != 1."""
    t, c = true[valid], claimed[valid]
    scale = float(t @ t)
    if scale <= checker.atol ** 2:
        return None
    k = float(c @ t) / scale
    if not checker.close(c, k * t).all() or checker.close(k, 1.0) or checker.close(k, -1.0):
        return None
    if checker.close(k, 0.0):
        return "df is 0 at every point, but f' is not: the derivative has been lost (a factor of 0)."
    return (f"constant factor: df is {k:.6g} times f' at every point (a missing or extra factor, like the 2 in "
            f"d(x**2)/dx = 2 * x, or a slope applied twice).")


class Intervals:
    """The stretches of x where df is wrong, with boundaries located between the grid points."""

    def __init__(self, checker, x, claimed, true, bad, valid, refine):
        self.checker, self.x = checker, x
        points = np.unique(x[valid])
        wrong = np.array([bad[valid & (x == p)].any() for p in points])
        self.runs = []
        for start, stop in _runs(wrong):
            inside = bad & (x >= points[start]) & (x <= points[stop])
            left = None if start == 0 else self._boundary(points[start - 1], points[start], False, refine)
            right = None if stop == len(points) - 1 else self._boundary(points[stop], points[stop + 1], True, refine)
            self.runs.append(dict(left=left, right=right, first=points[start], last=points[stop],
                                  claimed=_constant(checker, claimed[inside]), true=_constant(checker, true[inside]),
                                  example=(x[inside][0], claimed[inside][0], true[inside][0])))

    def _boundary(self, lo, hi, lo_wrong, refine):
        """(value, f' jumps there, df jumps there) for the switch between grid points lo and hi."""
        if refine:
            for _ in range(REFINE_ROUNDS):
                grid = np.linspace(lo, hi, REFINE_POINTS)
                wrong = self._wrong_at(grid)
                change = np.flatnonzero(wrong != lo_wrong)
                if change.size == 0 or change[0] == 0:
                    break
                lo, hi = grid[change[0] - 1], grid[change[0]]
        at = _round_number(lo, hi)
        if not refine:
            return dict(at=at, exact=False, true_jump=False, claimed_jump=False)
        step = 2 * (hi - lo) + 1e-12 * max(1.0, abs(lo))
        sides = self.checker.points([lo - step, hi + step], self.x)
        t = self.checker.truth(sides).reshape(2, -1)[:, 0]
        c = self.checker.claimed_at(sides).reshape(2, -1)[:, 0]
        return dict(at=at, exact=True, true_jump=not self.checker.close(t[0], t[1]),
                    claimed_jump=not self.checker.close(c[0], c[1]))

    def _wrong_at(self, values):
        pts = self.checker.points(values, self.x)
        wrong = ~self.checker.close(self.checker.claimed_at(pts), self.checker.truth(pts))
        return wrong.reshape(len(values), -1).any(axis=1)

    def threshold(self):
        """The finding for a df that switches at a different x than f' does, or None."""
        for run in self.runs:
            ends = [b for b in (run["left"], run["right"]) if b is not None]
            df_only = [b["at"] for b in ends if b["claimed_jump"] and not b["true_jump"]]
            f_only = [b["at"] for b in ends if b["true_jump"] and not b["claimed_jump"]]
            if len(ends) == 2 and df_only and f_only:
                return (f"wrong threshold: df switches value at x = {df_only[0]:g}, but f' switches at "
                        f"x = {f_only[0]:g}, so df is wrong {self._span(run)}{self._values(run)}. Check the "
                        f"comparison in df (e.g. `x > {df_only[0]:g}` where `x > {f_only[0]:g}` is meant).")
        return None

    def describe(self):
        """Where df and f' disagree, interval by interval."""
        parts = [f"{self._span(run)}{self._values(run)}" for run in self.runs]
        return "df disagrees with f' " + "; and ".join(parts) + "."

    @staticmethod
    def _span(run):
        left, right = run["left"], run["right"]
        if left is None and right is None:
            return "at every point checked"
        if left is None:
            return f"for x below {right['at']:g}" if right["exact"] else f"for x <= {run['last']:g}"
        if right is None:
            return f"for x above {left['at']:g}" if left["exact"] else f"for x >= {run['first']:g}"
        if left["exact"]:
            return f"between x = {left['at']:g} and x = {right['at']:g}"
        return f"for x in [{run['first']:g}, {run['last']:g}]"

    @staticmethod
    def _values(run):
        if run["claimed"] is not None and run["true"] is not None:
            return f" (df gives {run['claimed']:.6g} where f' is {run['true']:.6g})"
        x, c, t = run["example"]
        return f" (e.g. at x = {x:.6g} df gives {c:.6g} where f' is {t:.6g})"


def _runs(flags):
    runs, start = [], None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        if not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(flags) - 1))
    return runs


def _constant(checker, values):
    """The common value of ``values`` if they are all (nearly) equal, else None."""
    if values.size and checker.close(values, values[0]).all():
        return float(values[0])
    return None


def _round_number(lo, hi):
    """The number in [lo, hi] with the fewest decimals (a threshold is usually written as 0.1, not 0.10003)."""
    middle = (lo + hi) / 2
    for digits in range(0, 12):
        candidate = round(middle, digits)
        if lo <= candidate <= hi:
            return candidate + 0.0  # no -0
    return middle
