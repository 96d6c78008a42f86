"""The ``out=`` variants of a compiled step's replay: for the functions that a replay calls most, a copy
that writes its result into a given array (a buffer the replay owns, ``replay_buffers``).

Each variant mirrors its plain function's branches exactly and makes the same NumPy or BLAS call with an
``out=`` array, so that its bits are the plain function's; it is called as ``variant(buffers, *the plain
call's arguments)``, and with a buffer of None it computes as the plain function does. Where the plain
function itself takes ``out=`` (``windows._unfold``, ``_fold``, ``_window_max_vjp_fast``) the variant only
passes it on. ``tests/test_replay_buffers.py`` holds every variant to its plain function, bit for bit.
"""
import math

import numpy as np

from .autograd.primitive import PRIMITIVES
from .ops import linalg, windows
from .ops.constant_arrays import ZERO, ones_vector, zeros_view
from .ops.elementwise import _VECTOR_MIN
from .ops.linalg import product

# Each mirrors its eager function's branches exactly and makes the same NumPy/BLAS calls with out=
# buffers, so that the bits are the same; it is called as variant(buffers, *the eager call's arguments).

def _linear_into(buffers, x, weight, bias=None):
    out = product(x, weight.T, out=buffers[0])
    if bias is not None:
        out += bias
    return out


def _linear_dot_into(buffers, x, weight, bias=None):
    """``_linear_into`` for a 2-D input whose product ``linalg.product`` makes with ``dot`` (the choice depends
    on the shapes only, which the signature fixes: ``_choose_linear`` takes it once per replay)."""
    out = x.dot(weight.T, out=buffers[0])
    if bias is not None:
        out += bias
    return out


def _choose_linear(args, buffers):
    x, weight = args[0], args[1]
    if buffers[0] is not None and x.ndim == 2 and weight.ndim == 2 and linalg.dot_chosen(x, weight.T):
        return _linear_dot_into
    return _linear_into


def _relu_into(buffers, x):
    out = buffers[0]
    if x.size >= _VECTOR_MIN and x.flags.c_contiguous:
        return np.maximum(x, zeros_view(x.shape, x.dtype), out=out)
    if x.size >= _VECTOR_MIN and x.flags.f_contiguous:
        return np.maximum(x, zeros_view(x.shape[::-1], x.dtype).T, out=out)
    return np.maximum(x, ZERO[x.dtype], out=out)


def _relu_vjp_into(buffers, xp, g, ans, x):
    out, mask = buffers
    np.greater(ans, ZERO[ans.dtype], out=mask)
    return np.multiply(g, mask, out=out)


def _linear_vjp_into(buffers, xp, g, ans, edges, x, weight, bias=None):
    buf_x, buf_w = buffers[0], buffers[1]
    grad_x = None if edges[0] is None else product(g, weight, out=buf_x)
    if g.ndim != 2:  # as linalg._linear_vjp: every leading dimension is a batch dimension
        rows = math.prod(g.shape[:-1])
        g, x = g.reshape(rows, g.shape[-1]), x.reshape(rows, x.shape[-1])
    if w_special(weight):  # linalg._weight_gradient's own out= array, preallocated
        grad_w = None if edges[1] is None else (
            product(g.T, x, out=buf_w) if buf_w is not None else linalg._weight_gradient(xp, g, x, weight))
    else:
        grad_w = None if edges[1] is None else product(g.T, x, out=buf_w)
    if bias is None or edges[2] is None:
        grad_b = None
    elif buffers[2] is not None and g.ndim == 2 and bias.shape == g.shape[1:] and g.dtype.char in "fd":
        grad_b = ones_vector(len(g), g.dtype).dot(g, out=buffers[2])  # (shape.sum_to_shape's product, into it)
    else:
        grad_b = xp.sum_to(g, shape=bias.shape)
    return grad_x, grad_w, grad_b


def _matmul_into(buffers, a, b):
    """``linalg._matmul`` (its shapes were checked when captured) into ``buffers[0]``."""
    return product(a, b, out=buffers[0])


def _matmul_vjp_a_into(buffers, xp, g, ans, a, b):
    if a.ndim < 2 or b.ndim < 2:  # the 1-D cases reshape: the plain rule
        return linalg._matmul_vjp_a(xp, g, ans, a, b)
    return product(g, linalg._mT(xp, b), out=buffers[0])


def _matmul_vjp_b_into(buffers, xp, g, ans, a, b):
    if a.ndim < 2 or b.ndim < 2:
        return linalg._matmul_vjp_b(xp, g, ans, a, b)
    return product(linalg._mT(xp, a), g, out=buffers[0])


def _unfold_into(buffers, x, *args, **kwargs):
    return windows._unfold(x, *args, out=buffers[0], **kwargs)


def _fold_into(buffers, columns, *args, **kwargs):
    return windows._fold(columns, *args, out=buffers[0], **kwargs)


def _unfold_vjp_into(buffers, xp, g, ans, x, kernel_size, dilation, padding, stride):
    """The VJP of ``unfold`` (``fold`` of ``g`` to ``x``'s image), summed into ``buffers[0]``."""
    return windows._fold(g, tuple(x.shape[2:]), kernel_size, dilation, padding, stride, out=buffers[0])


def _fold_vjp_into(buffers, xp, g, ans, columns, output_size, kernel_size, dilation, padding, stride):
    """The VJP of ``fold`` (``unfold`` of ``g``), copied into ``buffers[0]``."""
    return windows._unfold(g, kernel_size, dilation, padding, stride, out=buffers[0])


def _window_max_vjp_into(buffers, xp, g, ans, tiles, axes):
    if type(g) is not np.ndarray:
        return windows._window_max_vjp(xp, g, ans, tiles, axes)
    return windows._window_max_vjp_fast(g, ans, tiles, axes, out=buffers[0])


def w_special(w):
    return w.flags.f_contiguous and not w.flags.c_contiguous


class _Variant:
    def __init__(self, fn, outputs=(0,), extra=None, choose=None):
        self.fn = fn
        self.outputs = outputs
        self.extra = extra or (lambda args, outs: ())
        self.choose = choose or (lambda args, buffers: fn)  # a faster copy for these shapes, or fn

    def __call__(self, buffers, *args):
        return self.fn(buffers, *args)


def _variants():
    table = {}
    linear, relu = PRIMITIVES["linear"], PRIMITIVES["relu"]
    table[linear.forward] = _Variant(_linear_into, choose=_choose_linear)
    table[relu.forward] = _Variant(_relu_into)
    table[relu.vjps[0]] = _Variant(_relu_vjp_into, extra=lambda args, outs: (np.empty(outs[0].shape, bool),))
    table[linear.joint_vjp] = _Variant(_linear_vjp_into, outputs=(0, 1, 2))
    matmul, unfold, fold, window_max = (PRIMITIVES[n] for n in ("matmul", "unfold", "fold", "window_max"))
    table[matmul.forward] = _Variant(_matmul_into)
    table[matmul.vjps[0]] = _Variant(_matmul_vjp_a_into)
    table[matmul.vjps[1]] = _Variant(_matmul_vjp_b_into)
    table[unfold.forward] = _Variant(_unfold_into)
    table[fold.forward] = _Variant(_fold_into)
    table[unfold.vjps[0]] = _Variant(_unfold_vjp_into)
    table[fold.vjps[0]] = _Variant(_fold_vjp_into)
    table[window_max.vjps[0]] = _Variant(_window_max_vjp_into)
    return table



_INTO = _variants()  # an eager function -> its out= variant
