"""Reductions. Their VJPs broadcast the gradient back over the reduced axes."""
import numpy as np

from ..autograd.primitive import primitive


def kept_shape(shape, axis):
    """The shape a reduction over ``axis`` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    axes = {a % len(shape) for a in axes} if shape else set()
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _regrow(xp, g, x, axis, keepdims):
    # undo the reduction's shape change so that g lines up with x's axes
    if keepdims or g.ndim == 0:  # a 0-d gradient already broadcasts against every axis
        return g
    return xp.reshape(g, kept_shape(x.shape, axis))


def _sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (all axes when None)."""
    return np.sum(x, axis=axis, keepdims=keepdims)


sum = primitive("sum", _sum, reads=(),
                vjp=lambda xp, g, ans, x, axis=None, keepdims=False:
                    xp.broadcast_to(_regrow(xp, g, x, axis, keepdims), x.shape))


def _extremum_vjp(xp, g, ans, x, axis=None, keepdims=False):
    # every element equal to the extremum shares the gradient equally, so the shares sum to g
    ans = _regrow(xp, ans, x, axis, keepdims)
    mask = x == ans
    share = mask / xp.sum(mask, axis=axis, keepdims=True)
    return _regrow(xp, g, x, axis, keepdims) * share


def _amax(x, axis=None, keepdims=False):
    """Maximum over ``axis``; tied maxima split the gradient evenly."""
    return np.amax(x, axis=axis, keepdims=keepdims)


amax = primitive("amax", _amax, vjp=_extremum_vjp, reads=("x", "ans"))


def _amin(x, axis=None, keepdims=False):
    """Minimum over ``axis``; tied minima split the gradient evenly."""
    return np.amin(x, axis=axis, keepdims=keepdims)


amin = primitive("amin", _amin, vjp=_extremum_vjp, reads=("x", "ans"))


# ---- scans: running sums and products along one axis (the public functions pass a non-negative axis) ----

def _reversed(xp, g, axis):
    return xp.getitem(g, index=(slice(None),) * axis + (slice(None, None, -1),))


def _reverse_cumsum(xp, g, axis):
    # sums from each position to the end: each element of a scan feeds every later running result
    return _reversed(xp, xp.cumsum(_reversed(xp, g, axis), axis=axis), axis)


def _cumsum(x, axis):
    """Running sum along ``axis``."""
    return np.cumsum(x, axis=axis)


cumsum = primitive("cumsum", _cumsum, reads=(),
                   vjp=lambda xp, g, ans, x, axis: _reverse_cumsum(xp, g, axis))


def _cumprod(x, axis):
    """Running product along ``axis``; its gradient is exact where the input holds zeros."""
    return np.cumprod(x, axis=axis)


def _cumprod_vjp(xp, g, ans, x, axis):
    if not (getattr(x, "_array", x) == 0).any():
        # d(out_k)/d(x_i) = out_k / x_i for k >= i: one reversed scan, divided by the input
        return _reverse_cumsum(xp, g * ans, axis) / x
    return _cumprod_vjp_with_zeros(xp, g, x, axis)


def _cumprod_vjp_with_zeros(xp, g, x, axis):
    # dividing by a zero is undefined, so each product is taken again without the element differentiated:
    # row i of a square holds the axis with x_i replaced by 1, whose running product at k (k >= i) is
    # d(out_k)/d(x_i). Quadratic in the axis' length, so it runs only when the input holds a zero.
    ndim = len(x.shape)
    n = x.shape[axis]
    order = tuple(d for d in range(ndim) if d != axis) + (axis,)
    xl = xp.transpose(x, axes=order)
    gl = xp.transpose(g, axes=order)
    rows = xp.where(np.eye(n, dtype=bool), 1, xp.reshape(xl, shape=xl.shape[:-1] + (1, n)))
    partial = xp.cumprod(rows, axis=ndim)
    later = np.triu(np.ones((n, n), dtype=bool))  # [i, k]: out_k depends on x_i
    grad = xp.sum(xp.where(later, partial * xp.reshape(gl, shape=gl.shape[:-1] + (1, n)), 0), axis=ndim)
    return xp.transpose(grad, axes=tuple(np.argsort(order)))


cumprod = primitive("cumprod", _cumprod, vjp=_cumprod_vjp, reads=("x", "ans"))
