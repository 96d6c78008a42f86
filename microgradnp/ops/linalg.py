"""Matrix products, including the fused ``linear`` used by ``nn.Linear``."""
import math

import numpy as np

from ..autograd.primitive import primitive


def _mT(xp, x):
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return xp.transpose(x, axes=tuple(axes))


def _matmul_shapes_check(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got {tuple(a.shape)} @ {tuple(b.shape)}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: {tuple(a.shape)} @ {tuple(b.shape)}: inner dimensions {k_a} and {k_b} differ")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: {tuple(a.shape)} @ {tuple(b.shape)}: batch dimensions {a.shape[:-2]} and "
                         f"{b.shape[:-2]} "
                         f"do not broadcast") from None


_DOT_MAX_OUTPUT = 4096
_BLAS_TYPES = "fdFD"  # float32, float64, complex64, complex128


def product(a, b, out=None):
    """``a @ b`` on ndarrays, unchecked: the raw product every forward and backward pass uses.

    For two matrices ``ndarray.dot`` makes the same BLAS call as ``np.matmul`` without the
    generalized-ufunc machinery around it, which is a large part of the cost of a small product. It also
    zeroes its output before BLAS writes it: for a large output that second pass over memory costs more
    than the machinery saves, so those go to ``np.matmul``, except an outer product (inner dimension 1,
    as in the weight gradient of a batch of one), which ``np.matmul`` computes without BLAS, several
    times slower than ``dot`` (for the dtypes BLAS handles: for others ``dot`` is the slower). ``out``,
    if given, is a C- or Fortran-contiguous array of the result's shape and dtype, written and returned,
    by the same call as without it where it can be (a C-contiguous ``out``, or an outer product).
    """
    if a.ndim == 2 and b.ndim == 2:
        if out is None:
            # (dot_chosen, written out: this is the hot path of every product)
            if a.shape[0] * b.shape[1] <= _DOT_MAX_OUTPUT or a.shape[1] == 1 and a.dtype.char in _BLAS_TYPES:
                return a.dot(b)
        elif dot_chosen(a, b) and out.dtype.char in _BLAS_TYPES:
            # dot writes only into a C-contiguous array: a Fortran-order out gets the transposed product
            if out.flags.c_contiguous:
                a.dot(b, out=out)
                return out
            if a.shape[1] == 1:
                b.T.dot(a.T, out=out.T)
                return out
    return np.matmul(a, b, out=out)


def dot_chosen(a, b):
    """Whether ``product`` multiplies these two matrices with ``ndarray.dot`` (else ``np.matmul``): it
    depends on their shapes and dtype only."""
    return a.shape[0] * b.shape[1] <= _DOT_MAX_OUTPUT or a.shape[1] == 1 and a.dtype.char in _BLAS_TYPES


def _matmul(a, b):
    """Matrix product with NumPy's rules for 1-D operands and broadcast batch dimensions (``a @ b``)."""
    _matmul_shapes_check(a, b)
    return product(a, b)


def _matmul_vjp_a(xp, g, ans, a, b):
    if b.ndim == 1:
        if a.ndim == 1:
            return g * b
        return xp.reshape(g, g.shape + (1,)) * b            # (..., m, 1) * (n,)
    if a.ndim == 1:
        return xp.reshape(xp.matmul(b, xp.reshape(g, g.shape + (1,))), b.shape[:-2] + (b.shape[-2],))
    return xp.matmul(g, _mT(xp, b))


def _matmul_vjp_b(xp, g, ans, a, b):
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return xp.reshape(a, a.shape + (1,)) * xp.reshape(g, g.shape[:-1] + (1,) + g.shape[-1:])
    if b.ndim == 1:
        return xp.reshape(xp.matmul(_mT(xp, a), xp.reshape(g, g.shape + (1,))), a.shape[:-2] + (a.shape[-1],))
    return xp.matmul(_mT(xp, a), g)


# each side's gradient reads only the other side's values (and the shapes, which never change)
matmul = primitive("matmul", _matmul, vjp=(_matmul_vjp_a, _matmul_vjp_b), reads={"a": ("b",), "b": ("a",)},
                   public=True, method=True, numpy=np.matmul)


def _linear(x, weight, bias=None):
    """``x @ weight.T + bias``, fused; ``weight`` is ``(out_features, in_features)``."""
    if x.shape[-1:] != weight.shape[-1:] or weight.ndim != 2:
        raise ValueError(f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
                         f"{tuple(weight.shape)} "
                         f"(expected the input's last dimension to be {weight.shape[-1]})")
    out = product(x, weight.T)
    if bias is not None:
        out += bias
    return out


def _linear_vjp(xp, g, ans, edges, x, weight, bias=None):
    # one call for the three gradients, each computed only where it goes: the input batch of a first
    # layer needs none, and its product is the largest of the backward pass
    grad_x = None if edges[0] is None else xp.matmul(g, weight)
    if g.ndim != 2:  # every leading dimension is a batch dimension: flatten them into rows
        # (counted, not -1: with a dimension of size 0 the -1 of (-1, 0) could be any number)
        rows = math.prod(g.shape[:-1])
        g, x = xp.reshape(g, (rows, g.shape[-1])), xp.reshape(x, (rows, x.shape[-1]))
    grad_w = None if edges[1] is None else _weight_gradient(xp, g, x, weight)
    grad_b = None if bias is None or edges[2] is None else xp.sum_to(g, shape=bias.shape)  # any bias that broadcasts
    return grad_x, grad_w, grad_b


def _weight_gradient(xp, g, x, w):
    # g.T @ x, laid out in memory like the weight: an update p -= lr * grad between arrays of different
    # layouts runs several times slower than between arrays of the same one
    if type(g) is np.ndarray and w.flags.f_contiguous and not w.flags.c_contiguous:
        # written into an array it then owns: a view would be copied before it becomes a .grad
        return product(g.T, x, out=np.empty(w.shape, np.result_type(g, x), order="F"))
    return xp.matmul(g.T, x)


# the input's gradient reads the weight, the weight's reads the input, the bias's reads neither
linear = primitive("linear", _linear, joint_vjp=_linear_vjp,
                   reads={"x": ("weight",), "weight": ("x",), "bias": ()}, grads_in_input_shapes=True)
