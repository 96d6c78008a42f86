"""Fused loss primitives: one node instead of a dozen for the two losses every training step ends in.

They exist for speed (and to compute PyTorch's exact clamped values); the test suite checks each against
the composite built from elementary ops. ``nn.functional`` wraps them with argument checks and options.
"""
import math

import numpy as np

from ..autograd.primitive import primitive
from .constant_arrays import ONE, ScalarTable, ones_vector

_LOG_MIN = -100.0   # PyTorch clamps each log of the binary cross-entropy here
_EPS = 1e-12        # and divides by max(p * (1 - p), eps) in its gradient
_TINY = 1e-44       # log(1e-44) < -100, and 1e-44 is representable (subnormal) even in float32
_NO_CLAMP = 1e-43   # above this no log is clamped (log(1e-43) > -99), even after rounding to float32
_EPS_OF = ScalarTable(_EPS)  # _EPS as a 0-d array of each dtype (see constant_arrays)


def _clamped_log(xp, x):
    # max(log(x), -100) without log(0): flooring x first avoids the warning and an errstate switch;
    # xp is NumPy itself in a forward pass, the VJP namespace in a backward pass
    return xp.maximum(xp.log(xp.maximum(x, _TINY)), _LOG_MIN)


def _reduce(loss, reduction):
    # the ufunc's reduce directly: ndarray.sum adds a Python frame on every loss call
    if reduction == "mean":
        size = loss.size
        if size:
            return np.add.reduce(loss, axis=None) / size
        return loss.dtype.type(np.nan)  # the mean of nothing, as in PyTorch, without NumPy's 0 / 0 warning
    if reduction == "sum":
        return np.add.reduce(loss, axis=None)
    return loss


def _scale(xp, g, reduction, size):
    # the incoming gradient per element: the mean spreads it over every element (of which an empty
    # input has none: its gradient is empty whatever g is, and g / 0 would warn)
    return g / size if reduction == "mean" and size else g


def _nearest_to_0_or_1(p, q):
    """min(p, 1 - p): >= 0 exactly on [0, 1], NaN for NaN; raises the op's error for anything else."""
    # one reduce of an array the loss needs anyway, instead of a min and a max; a NaN fails the test,
    # as it fails PyTorch's check (a Python float: the two comparisons with it cost less)
    nearest = float(np.minimum.reduce(np.minimum(p, q), axis=None)) if p.size else 1.0
    if not nearest >= 0:
        finite = p[np.isfinite(p)]
        seen = f"values from {finite.min():.4g} to {finite.max():.4g}" if finite.size else "no finite values"
        nan = " and NaN" if np.isnan(p).any() else ""
        raise ValueError(f"binary_cross_entropy: all input values must be probabilities in [0, 1], got {seen}{nan} "
                         f"(shape {tuple(p.shape)}); if these are raw scores (logits), use nn.BCEWithLogitsLoss / "
                         f"binary_cross_entropy_with_logits instead")
    return nearest


def _binary_cross_entropy(p, target, weight=None, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)) with each log clamped at -100, then reduced; p must be in [0, 1]."""
    q = ONE[p.dtype] - p  # (p is an array: the range check below reads its size and shape too)
    if _nearest_to_0_or_1(p, q) >= _NO_CLAMP:  # the usual case: no log reaches -100
        log_p, log_q = np.log(p), np.log(q)
    else:
        log_p, log_q = _clamped_log(np, p), _clamped_log(np, q)
    # t log p + (1 - t) log(1 - p) as log(1 - p) + t (log p - log(1 - p)): one array operation fewer
    log_p -= log_q
    log_likelihood = target * log_p
    log_likelihood += log_q
    if weight is not None:
        log_likelihood = log_likelihood * weight
    if reduction == "none":
        if type(log_likelihood) is not np.ndarray:  # a 0-d input gives NumPy scalars: nothing to write into
            return -log_likelihood
        return np.negative(log_likelihood, out=log_likelihood)
    return -_reduce(log_likelihood, reduction)  # negating the reduced scalar, not every element


def _bce_weighted(xp, g, p, weight, reduction):
    # the incoming gradient per element, times the element's weight
    g = _scale(xp, g, reduction, math.prod(p.shape))
    return g if weight is None else g * weight


def _bce_vjp_p(xp, g, ans, p, target, weight=None, reduction="mean"):
    return (p - target) * _bce_weighted(xp, g, p, weight, reduction) / xp.maximum(p * (ONE[p.dtype] - p),
                                                                                 _EPS_OF[p.dtype])


def _bce_vjp_target(xp, g, ans, p, target, weight=None, reduction="mean"):
    log_odds = _clamped_log(xp, 1.0 - p) - _clamped_log(xp, p)
    return log_odds * _bce_weighted(xp, g, p, weight, reduction)


binary_cross_entropy = primitive("binary_cross_entropy", _binary_cross_entropy,
                                 vjp=(_bce_vjp_p, _bce_vjp_target, None))


def _shifted_exp(logits):
    """(logits - shift, exp of that, its row sums) for (N, C) logits, with a shift that keeps exp finite.

    The shift is the largest logit overall, one reduce over contiguous memory, instead of each row's
    own maximum, a reduce along a short axis that costs several times more. It is exact unless some row
    sits so far below the overall maximum that its exponentials lose precision: then every row is
    shifted by its own maximum, as before. Row sums are a matrix-vector product, for the same reason.
    """
    n, classes = logits.shape
    if n and classes:
        shifted = logits - np.maximum.reduce(logits, axis=None)
        exp = np.exp(shifted)
        total = exp.dot(ones_vector(classes, exp.dtype))
        # each row's largest term is >= its total / classes: far enough above the smallest normal
        # number that every term that matters to the sum keeps full precision (also False for NaN)
        # (compared as Python floats: NumPy scalars would add two conversions)
        if float(np.minimum.reduce(total)) >= _SAFE_ROW_TOTAL.get(exp.dtype, math.inf) * classes:
            return shifted, exp, total
    shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
    exp = np.exp(shifted)
    return shifted, exp, np.add.reduce(exp, axis=1)


# the square root of the smallest normal number: terms a factor of eps below it are still normal
_SAFE_ROW_TOTAL = {np.dtype(t): float(np.sqrt(np.finfo(t).tiny)) for t in (np.float32, np.float64)}


def _cross_entropy(logits, target, reduction="mean"):
    """-log softmax(logits)[target] for (N, C) logits and N integer class indices, then reduced.

    Returns the loss and the softmax, which the gradient (softmax - one_hot) reuses.
    """
    shifted, softmax, total = _shifted_exp(logits)
    loss = np.log(total)
    loss -= shifted[np.arange(len(target)), target]
    softmax /= total[:, None]
    return _reduce(loss, reduction), softmax


def _cross_entropy_vjp(xp, g, softmax, logits, target, reduction="mean"):
    g = _scale(xp, g, reduction, len(target))
    if reduction == "none":
        g = xp.reshape(g, (-1, 1))
    rows = np.arange(len(target))
    if softmax is not None:  # an ordinary backward pass: the forward's softmax, with the one-hot taken out
        grad = softmax * g
        grad[rows, target] -= g if g.ndim == 0 else g[:, 0]
        return grad
    # create_graph: the softmax is recomputed from the logits, so that this gradient is differentiable
    shifted = logits - xp.amax(logits, axis=1, keepdims=True)
    e = xp.exp(shifted)
    one_hot = np.zeros(logits.shape, dtype=logits.dtype)
    one_hot[rows, target] = 1
    return (e / xp.sum(e, axis=1, keepdims=True) - one_hot) * g


cross_entropy = primitive("cross_entropy", _cross_entropy, vjp=(_cross_entropy_vjp, None), returns_saved=True)
