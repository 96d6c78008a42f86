"""NumPy functions called on Tensors: ``np.where(t > 0, t, 0)``, ``np.sum(t)``, ``np.exp(t)`` stay differentiable.

``Tensor.__array_ufunc__`` and ``Tensor.__array_function__`` look the NumPy callable up here. A NumPy
function with a microgradnp equivalent runs that (with NumPy's argument names); one with no gradient to
speak of (comparisons, ``np.shape``, ``np.sign``) runs on the raw data; anything else raises when a
gradient would be lost, instead of silently returning an array cut off from the graph.
"""
import numpy as np

from . import functions
from .autograd.primitive import PRIMITIVES
from .ops import arithmetic, elementwise, linalg
from .tensor import Tensor


def _unsupported(name, **given):
    used = [k for k, v in given.items() if v is not None]
    if used:
        raise TypeError(f"numpy.{name} on a tensor: the argument(s) {', '.join(used)} are not supported; "
                        f"use the microgradnp function instead")


def _cast(result, dtype):
    return result if dtype is None else functions.astype(result, dtype)


def np_sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """np.sum on a tensor."""
    _unsupported("sum", out=out, initial=initial, where=where)
    return _cast(functions.sum(a, axis=axis, keepdims=keepdims), dtype)


def np_mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """np.mean on a tensor."""
    _unsupported("mean", out=out, where=where)
    return _cast(functions.mean(a, axis=axis, keepdims=keepdims), dtype)


def np_var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None, correction=None):
    """np.var on a tensor (NumPy's default ddof=0, unlike PyTorch)."""
    _unsupported("var", out=out, where=where, mean=mean)
    return _cast(functions.var(a, axis=axis, keepdims=keepdims, correction=ddof if correction is None else correction),
                 dtype)


def np_std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None, correction=None):
    """np.std on a tensor (NumPy's default ddof=0)."""
    _unsupported("std", out=out, where=where, mean=mean)
    return _cast(functions.std(a, axis=axis, keepdims=keepdims, correction=ddof if correction is None else correction),
                 dtype)


def np_amax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """np.max / np.amax on a tensor."""
    _unsupported("max", out=out, initial=initial, where=where)
    return functions.amax(a, axis=axis, keepdims=keepdims)


def np_amin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """np.min / np.amin on a tensor."""
    _unsupported("min", out=out, initial=initial, where=where)
    return functions.amin(a, axis=axis, keepdims=keepdims)


def np_where(condition, x=None, y=None):
    """np.where(condition, x, y) on tensors; np.where(condition) gives the indices, as NumPy does."""
    if x is None and y is None:
        return np.where(condition._array if isinstance(condition, Tensor) else condition)
    return functions.where(condition, x, y)


def np_clip(a, a_min=np._NoValue, a_max=np._NoValue, out=None, *, min=np._NoValue, max=np._NoValue):
    """np.clip on a tensor (NumPy 2 accepts min=/max= too)."""
    _unsupported("clip", out=out)
    low = min if a_min is np._NoValue else a_min
    high = max if a_max is np._NoValue else a_max
    low, high = (None if v is np._NoValue else v for v in (low, high))
    return functions.clamp(a, low, high)


def np_dot(a, b, out=None):
    """np.dot on tensors: scalars multiply, 1-D and 2-D operands take the matrix product."""
    _unsupported("dot", out=out)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return arithmetic.mul(a, b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise TypeError(f"numpy.dot on tensors of shapes {np.shape(a)} and {np.shape(b)}: N-D dot is not "
                        f"supported; use matmul (it broadcasts batch dimensions)")
    return linalg.matmul(a, b)


def np_reshape(a, *args, shape=None, newshape=None, order="C", **kwargs):
    """np.reshape on a tensor."""
    if order != "C":
        raise TypeError("numpy.reshape on a tensor: only order='C' is supported")
    target = args[0] if args else (shape if shape is not None else newshape)
    return functions.reshape(a, target)


def np_concatenate(arrays, axis=0, out=None, dtype=None, casting=None):
    """np.concatenate of tensors."""
    _unsupported("concatenate", out=out, casting=casting)
    return _cast(functions.cat(arrays, axis), dtype)


def np_stack(arrays, axis=0, out=None, dtype=None, casting=None):
    """np.stack of tensors."""
    _unsupported("stack", out=out, casting=casting)
    return _cast(functions.stack(arrays, axis), dtype)


def np_copy(a, order="K", subok=False):
    """np.copy of a tensor: a copy that stays in the graph."""
    return functions.clone(a)


def np_ravel(a, order="C"):
    """np.ravel of a tensor."""
    return functions.reshape(a, (-1,))


def np_expand_dims(a, axis):
    """np.expand_dims on a tensor."""
    return functions.unsqueeze(a, axis)


def np_zero_gradient(ufunc):
    """Wrap a ufunc that is flat almost everywhere (sign, floor...): raw result, no gradient."""
    def call(*inputs):
        raw = [x._array if isinstance(x, Tensor) else x for x in inputs]
        return Tensor._from_op(np.asarray(ufunc(*raw)), None)
    return call


FUNCTIONS = {
    np.sum: np_sum, np.mean: np_mean, np.var: np_var, np.std: np_std, np.max: np_amax, np.amax: np_amax,
    np.min: np_amin, np.amin: np_amin, np.where: np_where, np.clip: np_clip, np.dot: np_dot,
    np.reshape: np_reshape, np.concatenate: np_concatenate, np.stack: np_stack, np.copy: np_copy,
    np.ravel: np_ravel, np.expand_dims: np_expand_dims,
    np.transpose: lambda a, axes=None: functions.transpose(a) if axes is None else functions.permute(a, tuple(axes)),
    np.squeeze: lambda a, axis=None: functions.squeeze(a, axis), np.outer: lambda a, b, out=None: functions.outer(a, b),
    np.broadcast_to: lambda array, shape, subok=False: functions.broadcast_to(array, shape),
    np.matmul: linalg.matmul,
}
"""NumPy functions (not ufuncs) with a differentiable equivalent."""

# these look at shapes, dtypes or truth values only: a gradient cannot be lost through them
INSPECTION = {np.shape, np.ndim, np.size, np.result_type, np.allclose, np.isclose, np.array_equal,
              np.argmax, np.argmin, np.nonzero, np.count_nonzero, np.any, np.all, np.zeros_like,
              np.ones_like, np.full_like, np.empty_like, np.argsort, np.unique, np.iscomplexobj,
              np.isrealobj, np.array_repr, np.array_str, np.may_share_memory, np.shares_memory}

UFUNCS = {ufunc: prim for prim in PRIMITIVES.values() for ufunc in prim.numpy}
UFUNCS.update({
    np.square: functions.square,
    np.reciprocal: lambda x: 1 / x,
    np.expm1: lambda x: elementwise.exp(x) - 1,
    np.log2: lambda x: elementwise.log(x) / np.log(2.0),
    np.log10: lambda x: elementwise.log(x) / np.log(10.0),
    np.positive: lambda x: x,
})
"""NumPy ufuncs with a differentiable equivalent: each primitive's declared ``numpy`` ufuncs
(``np.exp(t)`` is ``mg.exp(t)``), and a few composites."""

for _ufunc in (np.sign, np.floor, np.ceil, np.rint, np.trunc, np.heaviside, np.greater, np.greater_equal,
               np.less, np.less_equal, np.equal, np.not_equal, np.logical_and, np.logical_or, np.logical_not,
               np.logical_xor, np.isfinite, np.isinf, np.isnan, np.signbit):
    UFUNCS[_ufunc] = np_zero_gradient(_ufunc)


def unwrap(value):
    """Replace Tensors by their arrays inside (nested) tuples, lists and dicts."""
    if isinstance(value, Tensor):
        return value._array
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


def needs_grad(value):
    """True when a Tensor requiring grad sits anywhere in ``value``."""
    if isinstance(value, Tensor):
        return value.requires_grad
    if isinstance(value, (list, tuple)):
        return any(needs_grad(v) for v in value)
    if isinstance(value, dict):
        return any(needs_grad(v) for v in value.values())
    return False


def array_function(func, args, kwargs):
    """What ``np.<func>(*args, **kwargs)`` means when a Tensor is among the arguments."""
    op = FUNCTIONS.get(func)
    if op is not None:
        return op(*args, **kwargs)
    if func in INSPECTION or not needs_grad((args, kwargs)):
        return func(*unwrap(args), **unwrap(kwargs))
    raise TypeError(f"numpy.{func.__name__} has no gradient in microgradnp, so calling it on a tensor that "
                    f"requires grad would cut the graph; use the microgradnp function, or call it on "
                    f"t.detach() if no gradient is wanted")


def array_ufunc(ufunc, method, inputs, kwargs):
    """What ``np.<ufunc>(*inputs)`` means when a Tensor is among the inputs."""
    op = UFUNCS.get(ufunc)
    if method == "__call__" and op is not None and not kwargs:
        return op(*inputs)
    if needs_grad(inputs):
        raise TypeError(f"numpy.{ufunc.__name__} ({method}{', with ' + ', '.join(kwargs) if kwargs else ''}) has "
                        f"no gradient in microgradnp; use the microgradnp function, or call it on t.detach() "
                        f"if no gradient is wanted")
    return getattr(ufunc, method)(*unwrap(inputs), **unwrap(kwargs))
