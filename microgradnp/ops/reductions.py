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
