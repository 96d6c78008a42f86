"""The public functions with PyTorch's signatures: wrappers of primitives, and composites built from them.

Composites (mean, var, softmax, log_softmax, logsumexp, stack, split...) contain no backward code:
their gradients are derived from the primitives they are written with. The primitives that are public
as they are (``mg.exp``, ``mg.add``...) are not repeated here: their declarations in ``ops/`` say so.
A function marked ``@tensor_method()`` is also a Tensor method, as in PyTorch (``x.mean(dim=0)``).
"""
import builtins
import math
import operator
import warnings

import numpy as np

from . import dtypes
from .autograd.hot_path import apply2, apply3
from .capture import replayable
from .ops import arithmetic, elementwise, linalg, losses, reductions, shape
from .ops import einsum as einsum_ops
from .tensor import Tensor

TENSOR_METHODS = {}
"""``{name: function}``: the functions below that are also Tensor methods (bound by tensor_methods.py)."""


def tensor_method(*aliases):
    """Decorator: the function is also ``Tensor.<its name>`` (and ``Tensor.<alias>`` for each alias)."""
    def mark(fn):
        for name in (fn.__name__,) + aliases:
            TENSOR_METHODS[name] = fn
        return fn
    return mark


# ---- argument conventions ------------------------------------------------------------------------


def _axis(dim, axis):
    # PyTorch says dim/keepdim, NumPy says axis/keepdims: both are accepted
    axis = dim if dim is not None else axis
    return tuple(axis) if isinstance(axis, list) else axis


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


# ---- arithmetic ----------------------------------------------------------------------------------

def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, with ``weight`` of shape (out_features, in_features): one fused op."""
    # straight to the three-input path: every layer of every network calls this
    return apply3(linalg.linear, input, weight, bias)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Fused binary cross-entropy of probabilities, each log clamped at -100 (PyTorch's values and gradient).

    No argument checks: ``nn.functional.binary_cross_entropy`` validates and then calls this.
    """
    if weight is None and reduction == "mean":  # the everyday call: two inputs take the op's fast path
        return apply2(losses.binary_cross_entropy, input, target)
    return losses.binary_cross_entropy(input, target, weight, reduction)


def cross_entropy(input, target, reduction="mean"):
    """Fused softmax cross-entropy of (N, C) logits against N class indices (stable for any magnitude).

    No argument checks: ``nn.functional.cross_entropy`` validates, handles the options, and calls this.
    """
    return losses.cross_entropy(input, target, reduction=reduction)


def where(condition, input, other):
    """``input`` where ``condition`` is true, else ``other`` (gradients flow to both branches).

    The result's dtype follows PyTorch's rule for Python numbers: a Python float beside no floating tensor
    gives the default dtype (``mg.where(mask, 1.0, 0.0)`` is float32); a Python int takes an integer
    tensor's dtype, and tensors promote as NumPy promotes them.
    """
    # (a float tensor beside the Python float, the everyday case, needs nothing: checked inline)
    if type(other) is float:
        if not (isinstance(input, Tensor) and input._array.dtype.kind == "f"):
            input, other = _python_floats(input, other)
    elif type(input) is float and not (isinstance(other, Tensor) and other._array.dtype.kind == "f"):
        input, other = _python_floats(input, other)
    return arithmetic.where(condition, input, other)


def _python_floats(*operands):
    # NumPy takes a Python float at a floating tensor's dtype, as PyTorch does, but beside integers, bools
    # or other Python numbers it makes float64 where PyTorch makes the default dtype
    for x in operands:
        if type(x) is float:
            continue
        if (x.dtype if isinstance(x, (Tensor, np.ndarray)) else np.result_type(x)).kind in "fc":
            return operands
    dtype = dtypes.get_default_dtype()
    return tuple(astype(x, dtype) if isinstance(x, Tensor) else np.asarray(x, dtype) for x in operands)


@tensor_method("clip")
def clamp(input, min=None, max=None):
    """Clamp every element into [min, max]; a bound may be a tensor (broadcast, and differentiated), as in PyTorch.

    Where the input equals a bound the gradient goes to the input; where min > max the result is max.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        return elementwise.clip(input, min=min, max=max)  # numbers (or arrays) as bounds: one op
    return _clamp_to_tensors(input, min, max)


def _clamp_to_tensors(input, min, max):
    # each element is picked, by where, from the input or the bound whose gradient PyTorch gives it
    # (clamp_backward_min_max): the input where min <= input <= max, min where input < min < max, max where
    # input > max or max < min. Where the clamped value is NaN (a NaN input or bound) none of them is picked:
    # the NaN comes from a constant, and no gradient goes anywhere.
    # (a Python number stays one, so that it does not change the result's dtype)
    x, low, high = (v._array if isinstance(v, Tensor) else v if v is None or isinstance(v, (int, float))
                    else np.asarray(v) for v in (input, min, max))
    shapes = [np.shape(v) for v in (x, low, high) if v is not None]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        named = ", ".join(f"{what} of shape {np.shape(v)}" for what, v in (("input", x), ("min", low), ("max", high))
                          if v is not None)
        raise ValueError(f"clamp: {named} do not broadcast together") from None
    value = x if low is None else np.maximum(x, low)
    value = value if high is None else np.minimum(value, high)
    defined = ~np.isnan(value) if np.result_type(value).kind in "fc" else True
    inside = defined & (True if low is None else x >= low) & (True if high is None else x <= high)
    result = where(inside, input, value)
    if low is not None:
        result = where(defined & (x < low) & (True if high is None else low < high), min, result)
    if high is not None:
        result = where(defined & ((x > high) | (False if low is None else high < low)), max, result)
    return result


clip = clamp


@tensor_method()
def sign(input):
    """-1, 0 or 1 by the sign of each element (no gradient: it is flat almost everywhere)."""
    return Tensor._from_op(np.sign(input._array if isinstance(input, Tensor) else np.asarray(input)), None)


@tensor_method()
def square(input):
    """input ** 2."""
    return input * input


@tensor_method()
def rsqrt(input):
    """1 / sqrt(input)."""
    return 1 / elementwise.sqrt(input)


@tensor_method()
def dot(input, other):
    """Inner product of two 1-D tensors."""
    if np.ndim(input) != 1 or np.ndim(other) != 1:
        raise ValueError(f"dot: expects two 1-D tensors, got shapes {np.shape(input)} and {np.shape(other)}")
    return linalg.matmul(input, other)


@tensor_method()
def outer(input, vec2):
    """Outer product of two 1-D tensors."""
    if np.ndim(input) != 1 or np.ndim(vec2) != 1:
        raise ValueError(f"outer: expects two 1-D tensors, got shapes {np.shape(input)} and {np.shape(vec2)}")
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))


# ---- reductions ----------------------------------------------------------------------------------

@tensor_method()
def sum(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Sum over ``dim`` (all elements when None)."""
    keep = keepdim if keepdims is None else keepdims
    return reductions.sum(input, axis=_axis(dim, axis), keepdims=keep)


def _count(input, axis):
    shape_ = np.shape(input)
    if axis is None:
        return math.prod(shape_)
    axes = (axis,) if isinstance(axis, int) else axis
    # dim 0 (or -1) of a 0-d tensor is its one element, as in PyTorch
    return math.prod(shape_[_dim("mean", a, len(shape_))] if shape_ else _dim("mean", a, 0) + 1 for a in axes)


@tensor_method()
def mean(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Arithmetic mean over ``dim``."""
    axis = _axis(dim, axis)
    return sum(input, axis, keepdim, keepdims=keepdims) / _count(input, axis)


@tensor_method()
def var(input, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """Variance over ``dim``; unbiased (divides by n - 1) by default, as in PyTorch."""
    axis = _axis(dim, axis)
    if np.ndim(input) == 0 and axis is not None and all(a in (0, -1) for a in np.atleast_1d(axis)):
        axis = None  # dim 0 or -1 of a 0-d tensor is its one element, as in PyTorch
    keep = keepdim if keepdims is None else keepdims
    ddof = (1 if unbiased else 0) if correction is None else correction
    centered = input - mean(input, axis, True)
    n = _count(input, axis)
    if n - ddof <= 0:
        raise ValueError(f"var: {n} element(s) over the reduced dims is too few for correction={ddof}")
    return sum(centered * centered, axis, keep) / (n - ddof)


@tensor_method()
def std(input, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """Standard deviation over ``dim``; unbiased by default, as in PyTorch (whose gradient is 0 where std is 0)."""
    variance = var(input, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)
    # sqrt's gradient 1 / (2 std) is inf where std is 0 (equal elements), and var's gradient there is 0:
    # PyTorch masks the product to 0 there, and so does this, by taking sqrt of 1 in place of 0
    zero = variance == 0
    return arithmetic.where(zero, 0, elementwise.sqrt(arithmetic.where(zero, 1, variance)))


@tensor_method()
def amax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Maximum over ``dim``; tied maxima share the gradient evenly."""
    keep = keepdim if keepdims is None else keepdims
    return reductions.amax(input, axis=_axis(dim, axis), keepdims=keep)


@tensor_method()
def amin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Minimum over ``dim``; tied minima share the gradient evenly."""
    keep = keepdim if keepdims is None else keepdims
    return reductions.amin(input, axis=_axis(dim, axis), keepdims=keep)


@tensor_method()
def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the maximum (of the flattened tensor when ``dim`` is None); no gradient."""
    keep = keepdim if keepdims is None else keepdims
    data = input._array if isinstance(input, Tensor) else np.asarray(input)
    return Tensor._from_op(np.asarray(np.argmax(data, axis=_axis(dim, axis), keepdims=keep)), None)


@tensor_method()
def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the minimum (of the flattened tensor when ``dim`` is None); no gradient."""
    keep = keepdim if keepdims is None else keepdims
    data = input._array if isinstance(input, Tensor) else np.asarray(input)
    return Tensor._from_op(np.asarray(np.argmin(data, axis=_axis(dim, axis), keepdims=keep)), None)


class MaxResult(tuple):
    """``(values, indices)`` returned by ``max``/``min`` with a ``dim``, ``sort`` and ``topk``, as in PyTorch."""

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


def _extremum(name, input, dim, keepdim, axis, keepdims, pairwise, reduce, locate):
    # max/min: a tensor as dim means the pairwise op; with a dim, PyTorch's (values, indices)
    if isinstance(dim, Tensor):
        return pairwise(input, dim)
    axis = _axis(dim, axis)
    keep = keepdim if keepdims is None else keepdims
    data = _tensor(input)._array
    if axis is None:  # over every element: tied extrema share the gradient, as in PyTorch
        values = reduce(input, axis, keep)
        if values.dtype.kind != "f" or not np.isnan(values._array).any():  # (one element, however kept)
            return values
        # NaN: PyTorch shares the gradient between the NaNs, where amax's gradient would be 0 / 0 (its
        # mask, elements equal to the result, is empty); their sum over their count does that
        nans = np.isnan(data)
        return sum(where(nans, input, 0), None, keep) / int(nans.sum())
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {axis!r} (amax/amin reduce over several dims)")
    axis = _dim(name, int(axis), data.ndim)
    if data.ndim == 0:  # dim 0 (or -1) of a 0-d tensor is its one element (all its gradient), as in PyTorch
        return MaxResult((clone(_tensor(input)), locate(input, None, False)))
    if data.shape[axis] == 0:
        raise IndexError(f"{name}: cannot reduce over dim {axis}, which has size 0 (shape {tuple(data.shape)})")
    # the values are gathered at the returned indices: the whole gradient goes to the index returned,
    # also among tied extrema, as in PyTorch (amax/amin split it between the ties instead)
    index = locate(input, axis, True)
    values = gather(input, axis, index)
    if keep:
        return MaxResult((values, index))
    reduced = data.shape[:axis] + data.shape[axis + 1:]
    return MaxResult((reshape(values, reduced), reshape(index, reduced)))


@tensor_method()
def max(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Maximum of all elements, or ``(values, indices)`` over ``dim``; with a tensor as ``dim``, ``maximum``.

    Over all elements tied maxima share the gradient; over ``dim`` it goes to the index returned (as in PyTorch).
    """
    return _extremum("max", input, dim, keepdim, axis, keepdims, arithmetic.maximum, amax, argmax)


@tensor_method()
def min(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Minimum of all elements, or ``(values, indices)`` over ``dim``; with a tensor as ``dim``, ``minimum``.

    Over all elements tied minima share the gradient; over ``dim`` it goes to the index returned (as in PyTorch).
    """
    return _extremum("min", input, dim, keepdim, axis, keepdims, arithmetic.minimum, amin, argmin)


def _max_shift(name, input, axis):
    """``(axis, shift)``: the axis to reduce over (None for dim 0 or -1 of a 0-d tensor, its one element, as in
    PyTorch) and the detached max over it (0 where it is not finite, or where the dim is empty): subtracting it
    keeps exp from overflowing."""
    data = _tensor(input)._array
    if data.ndim == 0 and axis is not None and all(a in (0, -1) for a in np.atleast_1d(axis)):
        axis = None
    try:
        if data.size:  # (the shift depends on the values: a compiled step computes it again at every call)
            return axis, replayable(_finite_max, data, axis)
        # nothing to take the max of: any shift will do (the sum checks the axis)
        return axis, np.zeros(np.sum(data, axis=axis, keepdims=True).shape, data.dtype)
    except (ValueError, IndexError) as error:  # AxisError
        raise type(error)(f"{name}: dim {axis} is out of range for a tensor of shape {tuple(data.shape)}") from None


def _finite_max(data, axis):
    shift = np.amax(data, axis=axis, keepdims=True)
    return np.where(np.isfinite(shift), shift, 0)


@tensor_method()
def logsumexp(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """log(sum(exp(input))) over ``dim``, stable for any magnitude (the max is shifted out first).

    Over an empty dim it is -inf (the log of an empty sum), as in PyTorch.
    """
    keep = keepdim if keepdims is None else keepdims
    # the shift is a constant for the gradient, so it is detached: the result is exact either way
    axis, shift = _max_shift("logsumexp", input, _axis(dim, axis))
    if _count(input, axis) == 0:  # -inf without log(0)'s warning; its gradient, like the input, is empty
        return sum(input, axis, keep) - math.inf
    total = elementwise.log(sum(elementwise.exp(input - shift), axis, True)) + shift
    return total if keep else reshape(total, np.sum(shift, axis=axis, keepdims=False).shape)


@tensor_method()
def log_softmax(input, dim=-1, *, axis=None):
    """log(softmax(input)) computed as input - logsumexp(input): no overflow, no log(0)."""
    axis, shift = _max_shift("log_softmax", input, _axis(dim, axis))
    # (x - max) - log(sum(exp(x - max))): adding the max back and subtracting it again (x - logsumexp(x))
    # would cost float32 its last digits at large |x|
    shifted = input - shift
    if _count(input, axis) == 0:  # an empty dim: the result is as empty as the input (and no log(0) warns)
        return shifted
    return shifted - elementwise.log(sum(elementwise.exp(shifted), axis, True))


@tensor_method()
def softmax(input, dim=-1, *, axis=None):
    """exp(input) / sum(exp(input)) over ``dim``, with the max shifted out so it never overflows."""
    axis, shift = _max_shift("softmax", input, _axis(dim, axis))
    e = elementwise.exp(input - shift)
    return e / sum(e, axis, True)


# ---- shapes --------------------------------------------------------------------------------------

@tensor_method()
def reshape(input, *shape_):
    """The same elements in a new shape (one dimension may be -1): a view of the input where its layout
    allows, else a copy (use ``view`` to insist on a view)."""
    return shape.reshape(input, shape=_shape_arg(shape_))


@tensor_method()
def view(input, *shape_):
    """The same elements in a new shape, sharing the input's memory, as PyTorch's ``view``: an in-place
    change to either is seen by both. Raises where the layout needs a copy (reshape makes one)."""
    out = reshape(input, *shape_)
    if isinstance(input, Tensor) and out._array.size and not np.may_share_memory(out._array, input._array):
        raise RuntimeError(f"view: a tensor of shape {input._array.shape} with strides {input._array.strides} "
                           f"cannot be viewed as shape {out._array.shape} without copying (it is not laid out "
                           f"contiguously); use .reshape(...) instead, which copies when it must")
    return out


@tensor_method()
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one (a 0-d tensor becomes 1-D, as in PyTorch)."""
    dims = np.shape(input)
    start, end = _dim("flatten", start_dim, len(dims)), _dim("flatten", end_dim, len(dims))
    if not dims:
        return reshape(input, (1,))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a tensor of shape {dims}; "
                         f"give start_dim <= end_dim")
    if start == end and isinstance(input, Tensor):
        return input  # nothing to merge: PyTorch's flatten returns its input itself here
    merged = math.prod(dims[start:end + 1])
    return reshape(input, dims[:start] + (merged,) + dims[end + 1:])


def _dim(name, dim, ndim):
    """``dim`` as a non-negative axis of a tensor with ``ndim`` dims; out of range raises naming ``name``."""
    ndim = builtins.max(ndim, 1)
    if not -ndim <= dim < ndim:
        raise IndexError(f"{name}: dim {dim} is out of range for a tensor with {ndim} dim(s) "
                         f"(expected {-ndim} to {ndim - 1})")
    return dim % ndim


@tensor_method()
def squeeze(input, dim=None):
    """Drop dimensions of size 1 (only ``dim`` when given)."""
    dims = np.shape(input)
    if dim is None:
        new = tuple(n for n in dims if n != 1)
    else:
        axes = {_dim("squeeze", d, len(dims)) for d in ((dim,) if isinstance(dim, int) else dim)}
        new = tuple(n for i, n in enumerate(dims) if not (i in axes and n == 1))
    return reshape(input, new)


@tensor_method()
def unsqueeze(input, dim):
    """Insert a dimension of size 1 at ``dim``."""
    dims = list(np.shape(input))
    dims.insert(_dim("unsqueeze", dim, len(dims) + 1), 1)
    return reshape(input, tuple(dims))


@tensor_method()
def transpose(input, dim0=None, dim1=None):
    """Swap two dimensions (reverse all of them when none are given, like ``.T``)."""
    if dim0 is None and dim1 is None:
        return shape.transpose(input, axes=None)
    ndim = np.ndim(input)
    dim0, dim1 = _dim("transpose", dim0, ndim), _dim("transpose", dim1, ndim)
    axes = list(range(ndim))
    if ndim:  # (dims 0 and -1 of a 0-d tensor name its one element, as in PyTorch)
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return shape.transpose(input, axes=tuple(axes))


@tensor_method()
def permute(input, *dims):
    """Reorder the dimensions."""
    return shape.transpose(input, axes=_shape_arg(dims))


@tensor_method()
def broadcast_to(input, *shape_):
    """Broadcast to a shape (NumPy rules): a read-only view; the gradient is summed back."""
    return shape.broadcast_to(input, shape=_shape_arg(shape_))


@tensor_method()
def expand(input, *sizes):
    """Broadcast to ``sizes`` (PyTorch's ``expand``): new dims go in front, a dim of size 1 may take any size,
    and -1 keeps an existing dim as it is."""
    sizes = _shape_arg(sizes)
    dims = np.shape(input)
    lead = len(sizes) - len(dims)
    if lead < 0:
        raise ValueError(f"expand: sizes {sizes} are fewer than the {len(dims)} dims of the tensor of shape {dims}; "
                         f"give one size per dim at least")
    target = []
    for i, n in enumerate(sizes):
        if i < lead and n < 0:
            raise ValueError(f"expand: the size {n} is not allowed for the new leading dim {i} (sizes {sizes}, "
                             f"tensor of shape {dims}); -1 keeps an existing dim only")
        if i >= lead and n == -1:
            n = dims[i - lead]
        elif n < 0:
            raise ValueError(f"expand: the size {n} at dim {i} is negative (sizes {sizes}, tensor of shape {dims}); "
                             f"a size is 0 or more, or -1 to keep an existing dim")
        elif i >= lead and n != dims[i - lead] != 1:
            raise ValueError(f"expand: the size {n} must match the existing size {dims[i - lead]} at dim {i}, "
                             f"which is not 1 (sizes {sizes}, tensor of shape {dims})")
        target.append(n)
    return broadcast_to(input, tuple(target))


@tensor_method()
def sum_to(input, shape_):
    """Sum broadcast dimensions away so the result has ``shape_``."""
    return shape.sum_to(input, shape=tuple(shape_))


@tensor_method()
def astype(input, dtype):
    """Cast to ``dtype``; a no-op when it already has it."""
    dtype = np.dtype(dtype)
    if isinstance(input, Tensor) and input.dtype == dtype:
        return input
    if not dtypes.is_floating(dtype):
        # integers and bools carry no gradient: the result leaves the graph, as in PyTorch
        data = input._array if isinstance(input, Tensor) else np.asarray(input)
        return Tensor._from_op(data.astype(dtype), None)
    return shape.astype(input, dtype=dtype)


@tensor_method()
def clone(input):
    """A copy with its own memory that stays in the graph."""
    return input * 1 if np.issubdtype(np.result_type(input._array), np.number) else Tensor(input._array.copy())


def cat(tensors, dim=0, *, axis=None):
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expects a non-empty sequence of tensors")
    return shape.concatenate(*tensors, axis=_axis(dim, axis) or 0)


concatenate = concat = cat


def stack(tensors, dim=0, *, axis=None):
    """Join tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expects a non-empty sequence of tensors")
    shapes = {np.shape(t) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    dim = _axis(dim, axis) or 0
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def _whole_number(name, rule, value):
    """``value`` as a Python int (a 0-d integer tensor counts), else a TypeError: ``f"{name}: {rule}, got ..."``."""
    if isinstance(value, Tensor):
        value = value._array
    if not (isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype == np.bool_)):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{name}: {rule}, got {type(value).__name__} {value!r}")


@tensor_method()
def split(input, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size_or_sections`` elements along ``dim`` (an int: the last piece may be
    smaller), or of the listed sizes, as PyTorch does.

    A dimension of length 0 gives one empty piece (or one per listed size); a size of 0 is allowed only
    there.
    """
    dims = np.shape(input)
    if not dims:
        raise ValueError("split: expects a tensor with at least 1 dim, got a 0-d tensor")
    dim = _dim("split", dim, len(dims))
    n = dims[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [_whole_number("split", "sizes must be ints", size) for size in split_size_or_sections]
        if builtins.min(sizes, default=0) < 0:
            raise ValueError(f"split: sizes must be non-negative, got {sizes}")
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, "
                             f"but dimension {dim} has length {n}")
    else:
        step = _whole_number("split", "split_size_or_sections must be an int or a list of ints",
                             split_size_or_sections)
        if step < 0:
            raise ValueError(f"split: split_size must be non-negative, got {step}")
        if step == 0 and n:
            raise ValueError(f"split: split_size can be 0 only when dimension {dim} has length 0, but it has "
                             f"length {n}")
        count = builtins.max(-(-n // step), 1) if step else 1  # one piece at least, empty when n is 0
        sizes = [step] * (count - 1) + [n - step * (count - 1)]
    pieces, start = [], 0
    for size in sizes:
        pieces.append(getitem(input, (slice(None),) * dim + (slice(start, start + size),)))
        start += size
    return tuple(pieces)


@tensor_method()
def chunk(input, chunks, dim=0):
    """Split into ``chunks`` nearly equal pieces (the last may be smaller, and there may be fewer), as PyTorch
    does; a dimension of length 0 gives ``chunks`` empty pieces."""
    chunks = _whole_number("chunk", "chunks must be an int", chunks)
    if chunks < 1:
        raise ValueError(f"chunk: chunks must be at least 1, got {chunks}")
    dims = np.shape(input)
    if not dims:
        raise ValueError("chunk: expects a tensor with at least 1 dim, got a 0-d tensor")
    n = dims[_dim("chunk", dim, len(dims))]
    if n == 0:
        return split(input, [0] * chunks, dim)
    return split(input, -(-n // chunks), dim)


def index_from(index):
    """Turn an index that may hold Tensors or lists into one NumPy understands (the same items, as arrays)."""
    if isinstance(index, tuple):
        return tuple(index_from(i) for i in index)
    if isinstance(index, Tensor):
        return index._array
    if isinstance(index, list):
        array = np.asarray(index)
        # an empty list selects nothing, as in PyTorch (NumPy makes it a float array, which cannot index)
        return array.astype(np.intp) if array.size == 0 and array.dtype.kind == "f" else array
    return index


def _pytorch_index(name, index, input):
    """``index`` (from ``index_from``) as a NumPy index of ``input`` whose result is laid out as PyTorch's.

    NumPy and PyTorch differ in one place: integers beside index arrays. NumPy counts an integer as one
    more advanced index and, when the advanced indices are not side by side, moves their dims to the front
    of the result; PyTorch applies integers first, as basic indices, so on a (3, 4, 5) tensor
    ``x[0, :, [1, 2]]`` is (4, 2) there and (2, 4) in NumPy. That case is rewritten into one index array
    per dim, laid out as PyTorch lays it out; any other index is returned as it is (the same object), NumPy
    and PyTorch agreeing on it. ``name`` (getitem, setitem) goes into error messages.
    """
    if type(index) is not tuple or len(index) < 3:
        return index
    # NumPy keeps the advanced dims in place when the integers and arrays are side by side, and PyTorch
    # then does too: only an index where they are not (so of three items at least), and an array among
    # them, can differ
    first = last = -1
    count, has_array = 0, False
    for i, item in enumerate(index):
        if item is None or item is Ellipsis or isinstance(item, slice):
            continue
        if first < 0:
            first = i
        last, count = i, count + 1
        if isinstance(item, (bool, np.bool_)) or (
                isinstance(item, np.ndarray) and (item.ndim or item.dtype == np.bool_)):
            has_array = True
    if not has_array or last - first + 1 == count:
        return index
    return _pytorch_layout(name, index, input._array.shape if isinstance(input, Tensor) else np.shape(input))


def _index_role(item):
    """"int" (PyTorch selects), "adv" (an index array or a bool), "basic" (slice, None), None (not an index)."""
    if item is None or isinstance(item, slice):
        return "basic"
    if isinstance(item, (bool, np.bool_)):
        return "adv"
    if isinstance(item, (int, np.integer)):
        return "int"
    if isinstance(item, np.ndarray) and item.dtype.kind in "iub":
        return "int" if item.ndim == 0 and item.dtype != np.bool_ else "adv"
    return None


def _dims_indexed(item):
    if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)):
        return 0
    return item.ndim if isinstance(item, np.ndarray) and item.dtype == np.bool_ else 1


def _pytorch_layout(name, index, shape_):
    ndim = len(shape_)
    used = builtins.sum(_dims_indexed(item) for item in index)
    ellipses = builtins.sum(item is Ellipsis for item in index)
    if used > ndim or ellipses > 1:
        return index  # NumPy raises its own error for it
    # PyTorch keeps the advanced dims in place when the advanced indices are side by side once the
    # integers are gone and Ellipsis is expanded; NumPy only when they are side by side with the integers
    # among them, and an Ellipsis always parts them, even one that stands for no dim
    numpy_places = [i for i, item in enumerate(index) if item is not Ellipsis and _index_role(item) != "basic"]
    items = []
    for item in index:
        items.extend([slice(None)] * (ndim - used) if item is Ellipsis else [item])
    roles = [_index_role(item) for item in items]
    if None in roles:
        return index  # not an index: NumPy raises its own error for it
    torch_places = [i for i, role in enumerate(r for r in roles if r != "int") if role == "adv"]
    if (torch_places[-1] - torch_places[0] + 1 != len(torch_places)
            or numpy_places[-1] - numpy_places[0] + 1 == len(numpy_places)):
        return index  # the same layout either way

    items.extend([slice(None)] * (ndim - used) if not ellipses else [])
    roles.extend(["basic"] * (len(items) - len(roles)))
    sizes, grids, advanced, block_at, dim = [], [], [], None, 0
    for item, role in zip(items, roles):
        if role == "basic":
            if item is not None:
                grid = np.arange(*item.indices(shape_[dim]))
                grids.append((len(sizes), grid))
                dim += 1
            sizes.append(1 if item is None else len(grid))
        elif role == "int":
            if not -shape_[dim] <= item < shape_[dim]:
                raise IndexError(f"{name}: index {int(item)} is out of bounds for dim {dim} with size {shape_[dim]}")
            grids.append((None, np.asarray(item, dtype=np.intp)))
            dim += 1
        else:
            if block_at is None:
                block_at = len(sizes)
                sizes.append(None)  # the advanced dims go here
            if isinstance(item, (bool, np.bool_)) or item.ndim == 0:
                # a bool adds a dim of size 1 (True) or 0 (False) and indexes it: an index array of no input dim
                advanced.append(np.zeros(int(bool(item)), np.intp))
            elif item.dtype == np.bool_:
                if item.shape != shape_[dim:dim + item.ndim]:
                    raise IndexError(f"{name}: the mask of shape {tuple(item.shape)} does not match the shape "
                                     f"{shape_[dim:dim + item.ndim]} of the dims it indexes, from dim {dim}")
                for nonzero in np.nonzero(item):
                    grids.append(("advanced", nonzero))
                    advanced.append(nonzero)
                dim += item.ndim
            else:
                outside = (item < -shape_[dim]) | (item >= shape_[dim])
                if outside.any():  # checked here: NumPy checks nothing when the result is empty
                    raise IndexError(f"{name}: index {int(item[outside].flat[0])} is out of bounds for dim {dim} "
                                     f"with size {shape_[dim]}")
                grids.append(("advanced", item))
                advanced.append(item)
                dim += 1
    try:
        block = np.broadcast_shapes(*(array.shape for array in advanced))
    except ValueError:
        raise IndexError(f"{name}: the index arrays do not broadcast together, shapes "
                         f"{[array.shape for array in advanced]}") from None
    out_shape = tuple(sizes[:block_at]) + block + tuple(sizes[block_at + 1:])
    result = []
    for axis, grid in grids:
        if axis == "advanced":
            grid = np.broadcast_to(grid, block).reshape((1,) * block_at + block + (1,) * (len(sizes) - block_at - 1))
        elif axis is not None:
            axis += 0 if axis < block_at else len(block) - 1
            grid = grid.reshape(tuple(len(grid) if a == axis else 1 for a in range(len(out_shape))))
        result.append(np.broadcast_to(grid, out_shape))
    return tuple(result)


def getitem(input, index):
    """``input[index]`` with basic, advanced and boolean indices, by PyTorch's rules (integers beside index
    arrays select first); repeated indices accumulate gradient."""
    return shape.getitem(input, index=_pytorch_index("getitem", index_from(index), input))


def index_put(input, index, values):
    """A copy of ``input`` with ``input[index]`` replaced by ``values`` (differentiable in both).

    As in NumPy, ``values`` broadcasts to the selection (leading 1-dims dropped) and when an index repeats
    the last write wins. Replaced elements are selected, not subtracted, so a NaN or Inf being overwritten
    does not leak into the result.
    """
    index = _pytorch_index("setitem", index_from(index), input)
    target_shape = np.shape(input)
    size = int(np.prod(target_shape))
    try:
        positions = np.arange(size).reshape(target_shape)[index]  # the flat elements written, in write order
    except IndexError as error:
        raise IndexError(f"setitem: cannot index a tensor of shape {target_shape} with {index!r}: {error}") from None
    values = _broadcast_values(values, positions.shape)
    order = positions.reshape(-1)[::-1]
    written, first_from_end = np.unique(order, return_index=True)
    last_write = order.size - 1 - first_from_end
    chosen = getitem(reshape(values, (-1,)), last_write)
    placed = reshape(shape.scatter_add(chosen, index=written, shape=(size,)), target_shape)
    mask = np.zeros(size, dtype=bool)
    mask[written] = True
    return where(mask.reshape(target_shape), placed, input)


def _broadcast_values(values, target):
    vshape = np.shape(values)
    lead = len(vshape) - len(target)
    if lead > 0 and all(n == 1 for n in vshape[:lead]):
        values = reshape(values, vshape[lead:])
    try:
        return broadcast_to(values, target) if np.shape(values) != tuple(target) else values
    except ValueError:
        raise ValueError(f"setitem: cannot assign values of shape {vshape} to a selection of shape "
                         f"{tuple(target)}") from None


def setitem_array(array, index, value):
    """``array[index] = value`` in place, by PyTorch's rules: ``index`` (as ``index_from`` gives it) read as
    ``getitem`` reads it, and ``value`` broadcast to the selection once its leading size-1 dims are dropped
    (``t[0, 1] = mg.tensor([7.])``).

    The branch of ``Tensor.__setitem__`` that records nothing writes with this; ``index_put`` is the
    recorded one.
    """
    index = _pytorch_index("setitem", index, array)
    if isinstance(value, Tensor):
        value = value._array
    elif isinstance(value, (list, tuple)):
        value = np.asarray(value)
    vshape = value.shape if type(value) is np.ndarray else ()
    if vshape and vshape[0] == 1:
        # NumPy refuses these where the selection has fewer dims (one element, or a boolean mask's)
        kept = next((i for i, n in enumerate(vshape) if n != 1), len(vshape))
        value = value.reshape(vshape[kept:])
    try:
        array[index] = value
    except (ValueError, TypeError):
        if not vshape:
            raise  # not a shape problem: a value NumPy cannot convert
        raise ValueError(f"setitem: cannot assign values of shape {vshape} to a selection of shape "
                         f"{np.shape(array[index])}") from None


def _along_axis_index(index, dim):
    # the advanced index that makes x[...] equal np.take_along_axis(x, index, dim)
    index = np.asarray(index)
    dim = dim % index.ndim
    grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])  # a tuple in NumPy 2
    grids[dim] = index
    return tuple(grids)


def _integer_index(name, what, index):
    index = index._array if isinstance(index, Tensor) else np.asarray(index)
    if not np.issubdtype(index.dtype, np.integer):
        raise TypeError(f"{name}: {what} must be an integer tensor, got dtype {index.dtype}")
    return index


def _gather(name, input, dim, index):
    # input[..., index, ...] along dim, every index checked first: NumPy would count a negative one from the end
    shape_ = np.shape(input)
    if not shape_:  # a 0-d input is taken as one element along dim 0, as PyTorch takes it
        return reshape(_gather(name, reshape(input, (1,)), 0, index.reshape(-1)), index.shape)
    for d, (n, m) in enumerate(zip(index.shape, shape_)):
        if d != dim and n > m and index.size:  # (an empty index reads nothing, and PyTorch lets it be)
            raise IndexError(f"{name}: index of shape {tuple(index.shape)} does not fit input of shape {shape_} "
                             f"along dim "
                             f"{dim}: it is larger than the input at dim {d} ({n} > {m}); only dim {dim} may be larger")
    size = shape_[dim]
    outside = (index < 0) | (index >= size)
    if outside.any():
        valid = f"expected 0 to {size - 1}" if size else f"dim {dim} is empty"
        raise IndexError(f"{name}: index of shape {tuple(index.shape)} does not fit input of shape {shape_} "
                         f"along dim {dim}: "
                         f"index {int(index[outside].flat[0])} is out of bounds ({valid}; negative indices do not "
                         f"count from the end)")
    return getitem(input, _along_axis_index(index, dim))


@tensor_method()
def gather(input, dim, index):
    """Pick ``input`` values along ``dim`` at ``index`` (PyTorch's gather): ``out[i][j] = input[i][index[i][j]]``
    for ``dim=1``. ``index`` has ``input``'s number of dims, is no larger in the others, and holds indices
    from 0 to ``input.shape[dim] - 1``."""
    index = _integer_index("gather", "index", index)
    if index.ndim != np.ndim(input) and not (np.ndim(input) == 0 and index.ndim == 1):
        raise ValueError(f"gather: index has {index.ndim} dims but input has {np.ndim(input)} "
                         f"(shapes {tuple(index.shape)} and {np.shape(input)})")
    return _gather("gather", input, _dim("gather", dim, np.ndim(input)), index)


@tensor_method()
def take_along_dim(input, indices, dim=None):
    """Values of ``input`` at ``indices`` along ``dim`` (PyTorch's ``take_along_dim``), e.g. at the
    ``argmax``/``argsort`` of a dim. ``input`` and ``indices`` broadcast in the other dims; with ``dim=None``
    both are flattened and the result is 1-D."""
    index = _integer_index("take_along_dim", "indices", indices)
    if dim is None:
        return _gather("take_along_dim", reshape(input, (-1,)), 0, index.reshape(-1))
    shape_ = np.shape(input)
    if index.ndim != len(shape_):
        raise ValueError(f"take_along_dim: input and indices must have the same number of dims, got shapes "
                         f"{shape_} and {tuple(index.shape)} (dim=None takes from the flattened input)")
    if not shape_:
        raise IndexError(f"take_along_dim: dim {dim} was given for a 0-d tensor, which has no dims; use dim=None")
    dim = _dim("take_along_dim", dim, len(shape_))
    try:
        out = np.broadcast_shapes(shape_[:dim] + index.shape[dim:dim + 1] + shape_[dim + 1:], index.shape)
    except ValueError:
        raise ValueError(f"take_along_dim: indices of shape {tuple(index.shape)} do not broadcast with input of shape "
                         f"{shape_} in the dims other than {dim}") from None
    input = broadcast_to(input, out[:dim] + shape_[dim:dim + 1] + out[dim + 1:])
    return _gather("take_along_dim", input, dim, np.broadcast_to(index, out))


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}  # PyTorch's name: NumPy's


def pad(input, pad, mode="constant", value=0):
    """Pad with ``value`` (``mode='constant'``), or by reflecting, repeating the edge or wrapping around
    (``'reflect'``, ``'replicate'``, ``'circular'``). ``pad`` is PyTorch's flat (left, right, top, bottom,
    ...) from the last dim back, or NumPy's ((before, after), ...) per dimension. A negative constant
    width crops, as in PyTorch."""
    if mode != "constant" and mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    dims = np.shape(input)
    ndim = len(dims)
    if pad and isinstance(pad[0], (tuple, list)):
        widths = tuple((_whole_number("pad", "pad must hold ints", a), _whole_number("pad", "pad must hold ints", b))
                       for a, b in pad)
    else:
        pad = tuple(_whole_number("pad", "pad must hold ints", width) for width in pad)
        if len(pad) % 2 or len(pad) // 2 > ndim:
            raise ValueError(f"pad: expected pairs for at most {ndim} dims, got {tuple(pad)}")
        pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)]
        widths = tuple([(0, 0)] * (ndim - len(pairs)) + pairs[::-1])
    if len(widths) != ndim:
        raise ValueError(f"pad: {len(widths)} (before, after) pairs for a tensor with {ndim} dims")
    if not any(a or b for a, b in widths):
        return clone(_tensor(input))  # (NumPy's pad fails on a 0-d array, even with nothing to add)
    if mode != "constant":
        return _pad_by_index(input, widths, mode)
    if any(a < 0 or b < 0 for a, b in widths):
        for d, ((a, b), n) in enumerate(zip(widths, dims)):
            if n + builtins.min(a, 0) + builtins.min(b, 0) < 0:
                raise ValueError(f"pad: the negative padding ({a}, {b}) of dim {d} crops more than its {n} "
                                 f"element(s) (tensor of shape {dims})")
        input = getitem(input, tuple(slice(builtins.max(-a, 0), n - builtins.max(-b, 0))
                                     for (a, b), n in zip(widths, dims)))
        widths = tuple((builtins.max(a, 0), builtins.max(b, 0)) for a, b in widths)
        if not any(a or b for a, b in widths):
            return input
    return shape.pad(input, pad_width=widths, value=value)


def _pad_by_index(input, widths, mode):
    # each padded dim as a selection of the input's positions (reflected, repeated or wrapped): the
    # gradient of the padding comes from index_select
    out = _tensor(input)
    for d, ((before, after), n) in enumerate(zip(widths, np.shape(input))):
        if not (before or after):
            continue
        if before < 0 or after < 0:
            raise ValueError(f"pad: mode {mode!r} needs non-negative padding, got ({before}, {after}) for dim {d}")
        if mode == "reflect" and (before >= n or after >= n):
            raise ValueError(f"pad: padding ({before}, {after}) of dim {d} should be less than the dim's size {n} "
                             "for mode 'reflect'")
        if mode == "circular" and (before > n or after > n):
            raise ValueError(f"pad: padding ({before}, {after}) of dim {d} should be at most the dim's size {n} "
                             "for mode 'circular'")
        if n == 0:
            raise ValueError(f"pad: mode {mode!r} cannot pad dim {d}, which is empty")
        positions = np.pad(np.arange(n), (before, after), mode=_PAD_MODES[mode])
        out = index_select(out, d, positions)
    return out


@tensor_method()
def masked_fill(input, mask, value):
    """``value`` where ``mask`` is true, ``input`` elsewhere; the result keeps ``input``'s dtype.

    ``value`` is a number or a 0-d tensor (differentiable), cast to ``input``'s dtype as PyTorch casts it;
    ``mask`` is a bool tensor that broadcasts with ``input``.
    """
    mask = mask._array if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}")
    try:
        np.broadcast_shapes(mask.shape, np.shape(input))
    except ValueError:
        raise ValueError(f"masked_fill: mask of shape {tuple(mask.shape)} does not broadcast to the input's shape "
                         f"{np.shape(input)}") from None
    dtype = input.dtype if isinstance(input, Tensor) else np.result_type(input)
    if isinstance(value, Tensor):
        if value.ndim:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got a tensor of shape "
                             f"{value._array.shape}")
        value = astype(value, dtype)
    else:
        if not isinstance(value, (int, float)) and np.ndim(value):
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {np.shape(value)}")
        value = _fill_value("masked_fill", value, dtype)
    return where(mask, value, input)


_FLOAT_MAX = {np.dtype(t): float(np.finfo(t).max) for t in (np.float16, np.float32, np.float64)}


def _fill_value(name, value, dtype):
    # a number as a 0-d array of dtype; a float into integers truncates, as in PyTorch, and a number out of
    # the dtype's range is refused, as PyTorch refuses it (checked first: NumPy's cast would only warn)
    if type(value) is float and dtype.kind == "f":  # the everyday call: -inf or a large negative into scores
        if math.isfinite(value) and abs(value) > _FLOAT_MAX.get(dtype, math.inf):
            raise ValueError(f"{name}: value {value!r} cannot be converted to {dtype} without overflow")
        return np.array(value, dtype)
    number = np.asarray(value)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        fits = (number.dtype.kind not in "fc" or np.isfinite(number)) and info.min <= number <= info.max
    elif dtype.kind == "f" and number.dtype.kind == "f" and number.dtype.itemsize > dtype.itemsize:
        fits = not (np.isfinite(number) and abs(number) > np.finfo(dtype).max)  # (inf and NaN stay as they are)
    else:
        fits = True
    if not fits:
        raise ValueError(f"{name}: value {value!r} cannot be converted to {dtype} without overflow")
    return number.astype(dtype)


def one_hot(tensor, num_classes=-1):
    """Integer class indices -> int64 one-hot rows (no gradient)."""
    index = tensor._array if isinstance(tensor, Tensor) else np.asarray(tensor)
    if not np.issubdtype(index.dtype, np.integer):
        raise TypeError(f"one_hot: expects integer class indices, got dtype {index.dtype}")
    if num_classes < 0:
        num_classes = int(index.max()) + 1 if index.size else 0
    if index.size and (index.min() < 0 or index.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), "
                         f"got min {index.min()} and max {index.max()}")
    return Tensor._from_op((index[..., None] == np.arange(num_classes)).astype(np.int64), None)


# ---- more math: rounding, reciprocals, logit -------------------------------------------------------
# (floor, ceil, trunc, round, log2, log10, exp2, the hyperbolic and inverse trigonometric functions,
# atan2 and hypot are primitives: ops/elementwise.py)

@tensor_method()
def frac(input):
    """The fractional part, ``input - trunc(input)`` (the sign of the input; gradient 1)."""
    return input - elementwise.trunc(input)


@tensor_method()
def reciprocal(input):
    """1 / input."""
    return 1 / _tensor(input)


@tensor_method()
def logit(input, eps=None):
    """log(p / (1 - p)), the inverse of sigmoid; with ``eps``, p is first clamped into [eps, 1 - eps] (and the
    gradient is 0 outside that range, as in PyTorch). Outside [0, 1] without ``eps`` it is NaN."""
    p = input if eps is None else clamp(input, eps, 1 - eps)
    # log(p) - log1p(-p) rather than log(p / (1 - p)): its gradient at p = 0 or 1 is inf, as PyTorch's is,
    # where the quotient's chain rule gives inf * 0 = NaN
    return elementwise.log(p) - elementwise.log1p(-p)


# ---- matrix products with PyTorch's strict shapes ----------------------------------------------------

@tensor_method()
def mm(input, mat2):
    """Matrix product of two 2-D tensors: (n, m) @ (m, p) -> (n, p), without broadcasting (``matmul`` has it)."""
    a, b = np.shape(input), np.shape(mat2)
    if len(a) != 2 or len(b) != 2:
        raise ValueError(f"mm: expects two 2-D tensors, got shapes {a} and {b}")
    if a[1] != b[0]:
        raise ValueError(f"mm: shapes {a} and {b} cannot be multiplied ({a[0]}x{a[1]} and {b[0]}x{b[1]})")
    return linalg.matmul(input, mat2)


@tensor_method()
def mv(input, vec):
    """Matrix-vector product: (n, m) @ (m,) -> (n,)."""
    a, b = np.shape(input), np.shape(vec)
    if len(a) != 2 or len(b) != 1:
        raise ValueError(f"mv: expects a 2-D matrix and a 1-D vector, got shapes {a} and {b}")
    if a[1] != b[0]:
        raise ValueError(f"mv: size mismatch, matrix of shape {a} and vector of shape {b}")
    return linalg.matmul(input, vec)


@tensor_method()
def bmm(input, mat2):
    """Batched matrix product of two 3-D tensors: (b, n, m) @ (b, m, p) -> (b, n, p), the batch sizes equal
    (no broadcasting: ``matmul`` has it)."""
    a, b = np.shape(input), np.shape(mat2)
    if len(a) != 3 or len(b) != 3:
        raise ValueError(f"bmm: expects two 3-D tensors, got shapes {a} and {b}")
    if b[:2] != (a[0], a[2]):
        raise ValueError(f"bmm: shapes {a} and {b} cannot be multiplied: expected the first two dims of the "
                         f"second to be {[a[0], a[2]]}, got {list(b[:2])}")
    return linalg.matmul(input, mat2)


# ---- einsum ------------------------------------------------------------------------------------------

def einsum(equation, *operands):
    """Sum of products over labelled dims, in PyTorch's notation: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

    Labels are letters (a-z, A-Z). Without ``->`` the output holds the labels that appear once, in
    alphabetical order (upper case first). ``...`` stands for the dims not labelled, which broadcast across
    operands; a label repeated in one operand takes its diagonal (``"ii->i"``, ``"ii"`` is the trace); a
    dim of size 1 broadcasts against its label's size elsewhere. The operands may also be given as one
    list. Every operand gets its gradient.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__} (the sublist "
                        f"form is not supported)")
    if not operands:
        raise ValueError("einsum: must provide at least one operand")
    operands = [_tensor(x) for x in operands]
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = [_einsum_labels(term, "operand", k) for k, term in enumerate(lhs.split(","))]
    if len(terms) != len(operands):
        raise ValueError(f"einsum: the equation {equation!r} names {len(terms)} operand(s), but {len(operands)} "
                         f"were given")
    # the dims under each "...", right-aligned across operands as in broadcasting, get labels of their own
    spans = []
    for k, (labels, x) in enumerate(zip(terms, operands)):
        named = builtins.sum(label != "..." for label in labels)
        if "..." not in labels and named != x.ndim or named > x.ndim:
            raise ValueError(f"einsum: the {named} subscripts of operand {k} ({lhs.split(',')[k]!r}) do not match "
                             f"its {x.ndim} dim(s) (shape {tuple(x.shape)})"
                             + ("" if "..." in labels else " and no ellipsis was given"))
        spans.append(x.ndim - named)
    width = builtins.max(spans)
    ellipsis = [("...", i) for i in range(width)]
    terms = [_einsum_expand(labels, ellipsis[width - span:]) for labels, span in zip(terms, spans)]
    for k, (labels, x) in enumerate(zip(terms, operands)):
        _einsum_repeats(labels, x, k)
    # every label's size, broadcast over the operands (1 broadcasts against any size)
    sizes = {}
    for k, (labels, x) in enumerate(zip(terms, operands)):
        for label, n in zip(labels, x.shape):
            seen = sizes.get(label, 1)
            if n != seen and 1 not in (n, seen):
                what = "the ellipsis dims" if label[0] == "..." else f"subscript {label}"
                raise ValueError(f"einsum: {what} of operand {k} (shape {tuple(x.shape)}) has size {n}, which does not "
                                 f"broadcast with the size {seen} seen before")
            sizes[label] = builtins.max(n, seen) if label in sizes else n
    if arrow:
        output = _einsum_expand(_einsum_labels(rhs, "output", None), ellipsis)
        for label in output:
            if output.count(label) > 1:
                raise ValueError(f"einsum: output subscript {label} appears more than once in the output")
            if label not in sizes:
                raise ValueError(f"einsum: output subscript {label} does not appear in the equation for any input "
                                 f"operand")
    else:
        counts = {}
        for labels in terms:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        output = ellipsis + sorted(label for label, n in counts.items() if n == 1 and label[0] != "...")
    # the plain form the primitive takes: a diagonal for each repeated label, broadcasts done, one letter a label
    letters = {}
    for label in [label for labels in terms for label in labels]:
        if label not in letters:
            if len(letters) == len(_EINSUM_LETTERS):
                raise ValueError(f"einsum: {equation!r} uses more than {len(_EINSUM_LETTERS)} labels, with the "
                                 f"ellipsis dims")
            letters[label] = _EINSUM_LETTERS[len(letters)]
    plain = []
    for k, (labels, x) in enumerate(zip(terms, operands)):
        x, labels = _einsum_diagonal(x, labels, k)
        full = tuple(sizes[label] for label in labels)
        operands[k] = x if x.shape == full else broadcast_to(x, full)
        plain.append("".join(letters[label] for label in labels))
    subscripts = ",".join(plain) + "->" + "".join(letters[label] for label in output)
    return einsum_ops.einsum(*operands, subscripts=subscripts)


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_labels(term, what, k):
    # a term's labels: one letter each, and "..." once at most
    labels, i = [], 0
    while i < len(term):
        if term.startswith("...", i):
            if "..." in labels:
                raise ValueError(f"einsum: more than one ellipsis in {what}{'' if k is None else f' {k}'} ({term!r})")
            labels.append("...")
            i += 3
            continue
        if term[i] == ".":
            raise ValueError(f"einsum: found '.' in {what}{'' if k is None else f' {k}'} ({term!r}) that is not part "
                             f"of an ellipsis")
        if not ("a" <= term[i] <= "z" or "A" <= term[i] <= "Z"):
            raise ValueError(f"einsum: invalid subscript {term[i]!r} in {what}{'' if k is None else f' {k}'} "
                             f"({term!r}); subscripts must be in [a-zA-Z]")
        labels.append(term[i])
        i += 1
    return labels


def _einsum_expand(labels, dims):
    # "..." replaced by the labels of the dims it stands for
    if "..." not in labels:
        return list(labels)
    at = labels.index("...")
    return labels[:at] + list(dims) + labels[at + 1:]


def _einsum_repeats(labels, x, k):
    """``{label: size}`` of operand k, checking that a repeated label has one size."""
    sizes = {}
    for label, n in zip(labels, x.shape):
        if sizes.setdefault(label, n) != n:
            raise ValueError(f"einsum: subscript {label} is repeated for operand {k} but the sizes don't match, "
                             f"{n} != {sizes[label]} (shape {tuple(x.shape)})")
    return sizes


def _einsum_diagonal(x, labels, k):
    """(x, labels) with each repeated label's diagonal taken (differentiably: an index for each dim)."""
    unique = list(dict.fromkeys(labels))
    if len(unique) == len(labels):
        return x, labels
    sizes = _einsum_repeats(labels, x, k)
    grids = np.ix_(*(np.arange(sizes[label]) for label in unique))
    return getitem(x, tuple(grids[unique.index(label)] for label in labels)), unique


# ---- comparisons with a tolerance (no gradient) ----------------------------------------------------------

@tensor_method()
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|input - other| <= atol + rtol * |other|`` as a bool tensor (equal infinities are close;
    NaNs are close to each other only with ``equal_nan``)."""
    if rtol < 0 or atol < 0:
        raise ValueError(f"isclose: rtol and atol must be >= 0, got rtol={rtol} and atol={atol}")
    a = input._array if isinstance(input, Tensor) else np.asarray(input)
    b = other._array if isinstance(other, Tensor) else np.asarray(other)
    try:
        shape_ = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"isclose: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast together") from None
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        return Tensor._from_op(np.broadcast_to(a == b, shape_).copy(), None)
    return Tensor._from_op(np.asarray(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)), None)


@tensor_method()
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element of ``input`` is close to ``other`` (``isclose``), as a Python bool."""
    if rtol < 0 or atol < 0:
        raise ValueError(f"allclose: rtol and atol must be >= 0, got rtol={rtol} and atol={atol}")
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan)._array.all())


# ---- grids and histograms --------------------------------------------------------------------------

def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors: the i-th output holds ``tensors[i]`` along dim i, broadcast over the
    others (``indexing="ij"``); ``indexing="xy"`` swaps the first two dims, as NumPy's default does. Without
    ``indexing`` it is ``"ij"`` with PyTorch's warning that it will have to be given. The outputs are
    broadcast views of the inputs, and differentiable."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: in an upcoming release, it will be required to pass the indexing argument "
                      "(indexing='ij' is used, PyTorch's default)", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    tensors = [_tensor(t) for t in tensors]
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-D or 1-D tensors, got shape {tuple(t.shape)} for tensor {i}")
    sizes = [math.prod(t.shape) for t in tensors]
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
    shape_ = [0] * len(tensors)
    for axis, n in zip(axes, sizes):
        shape_[axis] = n
    grids = []
    for axis, t in zip(axes, tensors):
        line = reshape(t, tuple(-1 if d == axis else 1 for d in range(len(tensors))))
        grids.append(broadcast_to(line, tuple(shape_)))
    return tuple(grids)


def _floating(name, input):
    data = input._array if isinstance(input, Tensor) else np.asarray(input)
    if data.dtype.kind != "f":
        raise TypeError(f"{name}: expects a floating tensor, got dtype {data.dtype}")
    return data


def _torch_linspace(start, end, steps, dtype):
    # PyTorch's linspace, in dtype: from the start for the first half of the points and from the end for the
    # second, so that both ends are exact (NumPy's differs from it in the last digit)
    start, end = np.asarray(start, dtype), np.asarray(end, dtype)
    if steps == 1:
        return start.reshape(1)
    step = (end - start) / np.asarray(steps - 1, dtype)
    i = np.arange(steps)
    half = steps // 2
    return np.where(i < half, start + step * i.astype(dtype), end - step * (steps - 1 - i).astype(dtype)).astype(dtype)


def _bins_of(values, edges):
    """The bin of each value between ``edges`` (the last bin holds its right edge), and which values fall in."""
    inside = (values >= edges[0]) & (values <= edges[-1])
    values = values[inside]
    return np.minimum(np.searchsorted(edges, values, side="right") - 1, len(edges) - 2), inside


@tensor_method()
def histc(input, bins=100, min=0, max=0):
    """Counts of the elements in ``bins`` equal bins from ``min`` to ``max`` (both 0, or equal: the data's
    smallest and largest values); elements outside are not counted. Same dtype as the input; no gradient."""
    data = _floating("histc", input).reshape(-1)
    bins = _whole_number("histc", "bins must be an int", bins)
    if bins <= 0:
        raise ValueError(f"histc: bins must be > 0, got {bins}")
    low, high = builtins.float(min), builtins.float(max)
    if low == high and data.size:
        low, high = builtins.float(data.min()), builtins.float(data.max())
    if low == high:
        low, high = low - 1, high + 1
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"histc: range of [{low}, {high}] is not finite")
    if low > high:
        raise ValueError(f"histc: max must be larger than min, got min={low} and max={high}")
    dtype = data.dtype
    left, right = dtype.type(low), dtype.type(high)
    inside = (data >= left) & (data <= right)
    # PyTorch's linear position, in the input's dtype (the last bin holds its right edge)
    position = ((data[inside] - left) * dtype.type(bins) / (right - left)).astype(np.int64)
    counts = np.bincount(np.minimum(position, bins - 1), minlength=bins)
    return Tensor._from_op(counts.astype(dtype), None)


class HistogramResult(tuple):
    """``(hist, bin_edges)`` returned by ``histogram``, as in PyTorch."""

    hist = property(lambda self: self[0])
    bin_edges = property(lambda self: self[1])


@tensor_method()
def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002 - PyTorch's keyword
    """``(hist, bin_edges)``: counts (or sums of ``weight``) of the elements in bins, as PyTorch's histogram.

    ``bins`` is a number of equal bins over ``range`` (default: the data's smallest to largest value), or a
    1-D tensor of increasing edges. Each bin holds its left edge, the last one its right edge too; elements
    outside are not counted. ``density=True`` divides by the total and the bin widths. No gradient.
    """
    data = _floating("histogram", input).reshape(-1)
    dtype = data.dtype
    if isinstance(bins, (Tensor, np.ndarray, list, tuple)):
        edges = np.asarray(bins._array if isinstance(bins, Tensor) else bins, dtype)
        if edges.ndim != 1 or edges.size < 1:
            raise ValueError(f"histogram: bins must be a 1-D tensor of edges, got shape {tuple(edges.shape)}")
    else:
        count = _whole_number("histogram", "bins must be an int or a 1-D tensor of edges", bins)
        if count <= 0:
            raise ValueError(f"histogram: bins must be > 0, got {count}")
        if range is not None:
            low, high = (builtins.float(v) for v in range)
            if low > high:
                raise ValueError(f"histogram: min should not exceed max, got range ({low}, {high})")
        elif data.size:
            low, high = builtins.float(data.min()), builtins.float(data.max())
        else:
            low, high = 0.0, 1.0
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"histogram: the range [{low}, {high}] is not finite")
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges = _torch_linspace(low, high, count + 1, dtype)
    hist = np.zeros(builtins.max(edges.size - 1, 0), dtype)
    if edges.size >= 2:
        which, inside = _bins_of(data, edges)
        if weight is not None:
            w = weight._array if isinstance(weight, Tensor) else np.asarray(weight)
            if w.shape != np.shape(input):
                raise ValueError(f"histogram: weight of shape {tuple(w.shape)} does not match the input's shape "
                                 f"{np.shape(input)}")
            w = w.reshape(-1)[inside]
        else:
            w = None
        hist = np.bincount(which, weights=w, minlength=hist.size).astype(dtype)
        if density:
            with np.errstate(invalid="ignore", divide="ignore"):  # nothing counted: NaN, as in PyTorch
                hist = hist / (hist.sum() * np.diff(edges))
    return HistogramResult((Tensor._from_op(hist.astype(dtype), None), Tensor._from_op(edges, None)))


# ---- norms -------------------------------------------------------------------------------------------

@tensor_method()
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over ``dim`` (all elements when None), as ``torch.norm``: ``sum(|x| ** p) ** (1 / p)``.

    ``p`` is a number (``inf`` and ``-inf`` are the largest and smallest ``|x|``; 0 counts the elements that
    are not 0) or ``"fro"``, the 2-norm over all elements or over at most two dims. Where the norm is 0 the
    gradient is 0, as in PyTorch. ``dtype`` casts the input first.
    """
    input = _tensor(input)
    if dtype is not None:
        input = astype(input, dtype)
    if input.dtype.kind != "f":
        raise TypeError(f"norm: expects a floating tensor, got dtype {input.dtype}")
    dims = None if dim is None else (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm: p='nuc' (the nuclear norm) needs singular values, which microgradnp "
                                      "does not compute")
        if p != "fro":
            raise ValueError(f"norm: order {p!r} is not supported; give a number, 'fro' or 'nuc'")
        if dims is not None and len(dims) > 2:
            raise ValueError(f"norm: p='fro' takes at most 2 dims, got dim={dim}")
        p = 2
    if dims is not None:
        dims = tuple(_dim("norm", d, input.ndim) for d in dims)
    return _vector_norm(input, builtins.float(p), dims, keepdim)


def _vector_norm(x, p, dims, keepdim):
    if math.isinf(p):
        if _count(x, dims) == 0:
            raise ValueError(f"norm: cannot take the {p} norm of an empty tensor (shape {tuple(x.shape)}): it has no "
                             f"identity")
        return (amax if p > 0 else amin)(elementwise.abs(x), dims, keepdim)
    if p == 0:  # a count: its value does not change with x, so its gradient is 0
        return sum(where(x._array != 0, 1.0, 0 * x), dims, keepdim)
    if p == 1:
        return sum(elementwise.abs(x), dims, keepdim)
    if p == 2:
        total = sum(x * x, dims, keepdim)
    else:
        size = elementwise.abs(x)
        zero = size._array == 0
        safe = where(zero, 1.0, size) ** p  # (|x| ** p's own gradient at 0 would be inf * 0 = NaN)
        if p < 0:  # an element that is 0 makes the norm 0, with gradient 0 (PyTorch's mask)
            hit = np.any(zero, axis=dims, keepdims=keepdim)
            return where(hit, 0.0, sum(safe, dims, keepdim) ** (1 / p))
        total = sum(where(zero, 0.0, safe), dims, keepdim)  # an element that is 0 adds 0, with gradient 0
    # the root's gradient is inf where the total is 0, and the total's gradient is 0 there: PyTorch makes
    # the product 0, and so does taking the root of 1 in place of 0
    zero = total._array == 0
    root = where(zero, 1.0, total)
    return where(zero, 0.0, elementwise.sqrt(root) if p == 2 else root ** (1 / p))


# ---- triangles, scans, order -------------------------------------------------------------------------

def _triangle(name, input, diagonal, part):
    input = _tensor(input)
    if input.ndim < 2:
        raise ValueError(f"{name}: expects a tensor with at least 2 dims, got shape {tuple(input.shape)}")
    diagonal = _whole_number(name, "diagonal must be an int", diagonal)
    keep = part(np.ones(input.shape[-2:], dtype=bool), diagonal)
    # the elements outside come from a constant zero: no gradient goes to them
    return where(keep, input, np.zeros((), input.dtype))


@tensor_method()
def tril(input, diagonal=0):
    """The lower triangle of the last two dims (on and below the ``diagonal``-th diagonal); zeros elsewhere."""
    return _triangle("tril", input, diagonal, np.tril)


@tensor_method()
def triu(input, diagonal=0):
    """The upper triangle of the last two dims (on and above the ``diagonal``-th diagonal); zeros elsewhere."""
    return _triangle("triu", input, diagonal, np.triu)


def _scan(name, prim, input, dim, dtype):
    input = _tensor(input)
    if dtype is not None:
        input = astype(input, dtype)
    elif input.dtype.kind in "biu":
        input = astype(input, dtypes.int64)  # integers and bools scan in int64, as in PyTorch
    axis = _dim(name, _whole_number(name, "dim must be an int", dim), input.ndim)
    if input.ndim == 0:  # dim 0 (or -1) of a 0-d tensor is its one element
        return reshape(prim(reshape(input, (1,)), axis=0), ())
    return prim(input, axis=axis)


@tensor_method()
def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim`` (cast to ``dtype`` first when given; integers and bools sum in int64)."""
    return _scan("cumsum", reductions.cumsum, input, dim, dtype)


@tensor_method()
def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim`` (cast to ``dtype`` first when given; integers and bools in int64).

    The gradient is exact where the input holds zeros, as PyTorch's is.
    """
    return _scan("cumprod", reductions.cumprod, input, dim, dtype)


def _sort_order(data, axis, descending):
    # a stable order; NaN sorts as the largest value, as in PyTorch
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    # the ascending order of the reversed dim, reversed back: descending, with ties in their original order
    n = data.shape[axis]
    return n - 1 - np.flip(np.argsort(np.flip(data, axis), axis=axis, kind="stable"), axis)


def _sorted(name, input, dim, descending, count=None):
    # (values, indices) along dim, the first ``count`` of them when given; the values gather the input,
    # so the gradient goes back through them to the positions they came from
    input = _tensor(input)
    dim = _dim(name, _whole_number(name, "dim must be an int", dim), input.ndim)
    if input.ndim == 0:
        values, indices = _sorted(name, reshape(input, (1,)), 0, descending, count)
        return MaxResult((reshape(values, ()), reshape(indices, ())))
    order = _sort_order(input._array, dim, descending).astype(np.int64)
    if count is not None:
        order = order[(slice(None),) * dim + (slice(0, count),)]
    return MaxResult((_gather(name, input, dim, order), Tensor._from_op(order, None)))


@tensor_method()
def sort(input, dim=-1, descending=False, *, stable=False):
    """``(values, indices)`` of ``input`` sorted along ``dim``, as PyTorch's ``sort``; the gradient flows
    through ``values``. The sort is always stable (equal elements keep their order), so ``stable`` changes
    nothing; NaN sorts as the largest value."""
    return _sorted("sort", input, dim, descending)


@tensor_method()
def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 indices that sort ``input`` along ``dim`` (always a stable sort); no gradient."""
    return sort(input, dim, descending, stable=stable)[1]


@tensor_method()
def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002 (PyTorch's name)
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along ``dim``, as
    PyTorch's ``topk``; the gradient flows through ``values``. They always come sorted, also with
    ``sorted=False`` (PyTorch then leaves the order unspecified); ties keep their order in the input."""
    k = _whole_number("topk", "k must be an int", k)
    dims = np.shape(input)
    size = dims[_dim("topk", dim, len(dims))] if dims else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk: k={k} is out of range for dim {dim} of size {size} (tensor of shape {dims})")
    return _sorted("topk", input, dim, largest, k)


# ---- repeating, flipping, rolling ----------------------------------------------------------------------

def _own_memory(out, input):
    # a result that PyTorch copies must not be a view of its input (a write would go through to it)
    if isinstance(input, Tensor) and np.may_share_memory(out._array, input._array):
        return clone(out)
    return out


@tensor_method()
def repeat(input, *sizes):
    """The tensor repeated ``sizes[d]`` times along each dim (PyTorch's ``Tensor.repeat``, NumPy's ``tile``):
    ``sizes`` may have more entries than the tensor has dims, which adds leading dims. A copy."""
    sizes = _shape_arg(sizes)
    dims = np.shape(input)
    if len(sizes) < len(dims):
        raise ValueError(f"repeat: {len(sizes)} repeat count(s) {sizes} for a tensor of shape {dims}; give one "
                         f"per dim at least")
    if builtins.min(sizes, default=0) < 0:
        raise ValueError(f"repeat: repeat counts must be non-negative, got {sizes}")
    dims = (1,) * (len(sizes) - len(dims)) + dims
    # each dim n becomes the pair (1, n), broadcast to (count, n) and merged: the gradient sums the copies
    pairs = reshape(input, tuple(v for n in dims for v in (1, n)))
    spread = broadcast_to(pairs, tuple(v for r, n in zip(sizes, dims) for v in (r, n)))
    return _own_memory(reshape(spread, tuple(r * n for r, n in zip(sizes, dims))), input)


@tensor_method()
def tile(input, dims, *more):
    """The tensor repeated ``dims[d]`` times along each dim; fewer entries than dims repeat the last dims."""
    dims = _shape_arg((dims,) + more)
    return repeat(input, (1,) * (np.ndim(input) - len(dims)) + dims)


@tensor_method()
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element repeated ``repeats`` times in place (``[1, 2] -> [1, 1, 2, 2]``), along ``dim`` or over the
    flattened tensor; ``repeats`` is an int or one count per element. With ``input`` alone, the counts are
    ``input`` and the result repeats their positions (``[1, 2] -> [0, 1, 1]``), as in PyTorch."""
    if repeats is None:
        counts = _integer_index("repeat_interleave", "repeats", input)
        if counts.ndim > 1 or (counts < 0).any():
            raise ValueError(f"repeat_interleave: repeats must be a 0-d or 1-D tensor of non-negative counts, got "
                             f"shape {tuple(counts.shape)}")
        return Tensor._from_op(np.repeat(np.arange(counts.size, dtype=np.int64), counts.reshape(-1)), None)
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    dims = np.shape(input)
    dim = _dim("repeat_interleave", dim, len(dims))
    n = dims[dim] if dims else 1
    if isinstance(repeats, (int, np.integer)) and not isinstance(repeats, bool):
        counts = np.asarray(repeats)
    else:
        counts = _integer_index("repeat_interleave", "repeats", repeats)
    if counts.ndim > 1 or (counts.ndim == 1 and counts.size not in (1, n)):
        raise ValueError(f"repeat_interleave: repeats of shape {tuple(counts.shape)} must be a number or one count per "
                         f"element of dim {dim} (size {n}, tensor of shape {dims})")
    if (counts < 0).any():
        raise ValueError(f"repeat_interleave: repeats must be non-negative, got {counts.tolist()}")
    positions = np.repeat(np.arange(n), np.broadcast_to(counts.reshape(-1), (n,)) if counts.ndim else counts)
    if output_size is not None and output_size != len(positions):
        raise ValueError(f"repeat_interleave: output_size={output_size} does not match the {len(positions)} "
                         f"elements the repeats give")
    if not dims:
        return getitem(reshape(input, (1,)), positions)
    return getitem(input, (slice(None),) * dim + (positions,))


def _dim_list(name, dims, ndim):
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    axes = [_dim(name, _whole_number(name, "dims must be ints", d), ndim) for d in dims]
    for axis in axes:
        if axes.count(axis) > 1:
            raise ValueError(f"{name}: dim {axis} appears more than once in dims {dims}")
    return axes


@tensor_method()
def flip(input, dims, *more):
    """The tensor with the order of its elements reversed along each of ``dims``; a copy, as in PyTorch."""
    input = _tensor(input)
    axes = _dim_list("flip", (dims,) + more if more else dims, input.ndim)
    if not input.ndim:
        return clone(input)
    index = tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(input.ndim))
    return clone(getitem(input, index))


@tensor_method()
def fliplr(input):
    """Reverse the order of the columns (dim 1); needs 2 dims at least."""
    if np.ndim(input) < 2:
        raise ValueError(f"fliplr: expects a tensor with at least 2 dims, got shape {np.shape(input)}")
    return flip(input, (1,))


@tensor_method()
def flipud(input):
    """Reverse the order of the rows (dim 0); needs 1 dim at least."""
    if np.ndim(input) < 1:
        raise ValueError(f"flipud: expects a tensor with at least 1 dim, got shape {np.shape(input)}")
    return flip(input, (0,))


@tensor_method()
def roll(input, shifts, dims=None):
    """Shift the elements by ``shifts`` along ``dims``, those past the end coming back at the start; with
    ``dims=None`` over the flattened tensor, its shape kept. A copy."""
    input = _tensor(input)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    shifts = tuple(_whole_number("roll", "shifts must be ints", s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: {len(shifts)} shifts {shifts} without dims; give one shift, or one dim per shift")
        return reshape(roll(reshape(input, (-1,)), shifts, 0), input.shape)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(dims) != len(shifts):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    out = input
    for shift, d in zip(shifts, dims):
        d = _dim("roll", _whole_number("roll", "dims must be ints", d), input.ndim)
        n = input.shape[d] if input.ndim else 1
        shift = shift % n if n else 0
        if shift and input.ndim:
            before = (slice(None),) * d
            tail, head = slice(n - shift, None), slice(0, n - shift)
            out = cat([getitem(out, before + (tail,)), getitem(out, before + (head,))], d)
    return out if out is not input else clone(input)


# ---- scatter, select, nonzero -------------------------------------------------------------------------

def _scatter_positions(name, input, dim, index, src):
    # (the index into input's dims that each index element writes, src cut to index's shape): PyTorch's rules
    index = _integer_index(name, "index", index)
    dims = np.shape(input)
    dim = _dim(name, _whole_number(name, "dim must be an int", dim), len(dims))
    if index.ndim != len(dims):
        raise ValueError(f"{name}: index has {index.ndim} dims but input has {len(dims)} (shapes "
                         f"{tuple(index.shape)} and "
                         f"{dims})")
    if isinstance(src, Tensor):
        if src.ndim != len(dims):
            raise ValueError(f"{name}: src has {src.ndim} dims but input has {len(dims)} (shapes "
                             f"{tuple(src.shape)} and "
                             f"{dims})")
        if src.dtype != np.result_type(input):
            raise TypeError(f"{name}: src has dtype {src.dtype} but input has {np.result_type(input)}; they must "
                            f"be equal")
    for d, k in enumerate(index.shape):
        if isinstance(src, Tensor) and k > src.shape[d]:
            raise ValueError(f"{name}: index of shape {tuple(index.shape)} is larger than src of shape "
                             f"{tuple(src.shape)} at "
                             f"dim {d}")
        if d != dim and k > dims[d]:
            raise ValueError(f"{name}: index of shape {tuple(index.shape)} is larger than input of shape {dims} at dim "
                             f"{d}; only dim {dim} may be larger")
    size = dims[dim]
    outside = (index < 0) | (index >= size)
    if outside.any():
        raise IndexError(f"{name}: index {int(index[outside].flat[0])} is out of bounds for dim {dim} of input of "
                         f"shape {dims} (expected 0 to {size - 1})")
    if isinstance(src, Tensor) and src.shape != index.shape:
        src = getitem(src, tuple(slice(0, k) for k in index.shape))
    return _along_axis_index(index, dim), src


@tensor_method()
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of ``input`` with ``src`` (a tensor) or ``value`` (a number) written at ``index`` along ``dim``:
    ``out[i][index[i][j]] = src[i][j]`` for ``dim=1``, as PyTorch's ``scatter``. ``reduce="add"`` adds instead
    of writing. The gradient of ``input`` is 0 where it is overwritten; ``src``'s is gathered from there."""
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src  # a number in src's place is the value, as in PyTorch
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src (a tensor) and value (a number)")
    input = _tensor(input)
    if input.ndim == 0:  # a 0-d tensor is one element along dim 0
        index = _integer_index("scatter", "index", index).reshape(-1)
        src = reshape(src, (-1,)) if src is not None else None
        return reshape(scatter(reshape(input, (1,)), dim, index, src, value, reduce=reduce), ())
    positions, src = _scatter_positions("scatter", input, dim, index, src)
    if src is None:
        src = _fill_value("scatter", value, input.dtype)  # written at every position: it broadcasts
    if reduce == "add":
        return input + shape.scatter_add(src, index=positions, shape=input.shape)
    if reduce is not None:
        raise NotImplementedError(f"scatter: reduce={reduce!r} is not supported, only 'add' (scatter_reduce is "
                                  f"PyTorch's newer interface)")
    if not math.prod(np.broadcast_shapes(*(p.shape for p in positions))):
        return clone(input)  # nothing is written
    return index_put(input, positions, src)


@tensor_method()
def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (``out[i][index[i][j]] += src[i][j]``
    for ``dim=1``), repeated indices adding up, as PyTorch's ``scatter_add``; differentiable in both."""
    input = _tensor(input)
    if input.ndim == 0:
        index = _integer_index("scatter_add", "index", index).reshape(-1)
        return reshape(scatter_add(reshape(input, (1,)), dim, index, reshape(src, (-1,))), ())
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a tensor, got {type(src).__name__}")
    positions, src = _scatter_positions("scatter_add", input, dim, index, src)
    return input + shape.scatter_add(src, index=positions, shape=input.shape)


@tensor_method()
def index_select(input, dim, index):
    """The entries of ``input`` at ``index`` (a 1-D integer tensor) along ``dim``; repeated indices add up
    their gradients."""
    index = _integer_index("index_select", "index", index)
    dims = np.shape(input)
    dim = _dim("index_select", _whole_number("index_select", "dim must be an int", dim), len(dims))
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 0-d or 1-D, got shape {tuple(index.shape)}")
    size = dims[dim] if dims else 1
    outside = (index < 0) | (index >= size)
    if outside.any():
        raise IndexError(f"index_select: index {int(index[outside].flat[0])} is out of range for dim {dim} of "
                         f"size {size} (tensor of shape {dims}; negative indices do not count from the end)")
    if not dims:
        if index.size != 1:
            raise IndexError(f"index_select: a 0-d tensor takes an index with 1 value, got {index.size}")
        return clone(_tensor(input))
    return getitem(input, (slice(None),) * dim + (index.reshape(-1),))


@tensor_method()
def masked_select(input, mask):
    """The 1-D tensor of the elements of ``input`` where the bool ``mask`` is true (the two broadcast)."""
    mask = mask._array if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {mask.dtype}")
    try:
        common = np.broadcast_shapes(mask.shape, np.shape(input))
    except ValueError:
        raise ValueError(f"masked_select: mask of shape {tuple(mask.shape)} and input of shape "
                         f"{np.shape(input)} do not "
                         f"broadcast together") from None
    if np.shape(input) != common:
        input = broadcast_to(input, common)
    return getitem(reshape(input, (-1,)), np.broadcast_to(mask, common).reshape(-1))


@tensor_method()
def nonzero(input, *, as_tuple=False):
    """The indices of the nonzero elements: an int64 tensor of shape (count, dims), or with ``as_tuple=True``
    one 1-D tensor per dim (one for a 0-d tensor), as PyTorch's ``nonzero``."""
    data = input._array if isinstance(input, Tensor) else np.asarray(input)
    if as_tuple:
        found = np.nonzero(np.atleast_1d(data))
        return tuple(Tensor._from_op(i.astype(np.int64), None) for i in found)
    return Tensor._from_op(np.argwhere(data).astype(np.int64), None)


@tensor_method()
def argwhere(input):
    """The indices of the nonzero elements, as an int64 tensor of shape (count, dims)."""
    return nonzero(input)


@tensor_method()
def unbind(input, dim=0):
    """The slices along ``dim``, as a tuple of tensors without that dim (views of the input)."""
    dims = np.shape(input)
    if not dims:
        raise ValueError("unbind: expects a tensor with at least 1 dim, got a 0-d tensor")
    dim = _dim("unbind", dim, len(dims))
    return tuple(getitem(input, (slice(None),) * dim + (i,)) for i in range(dims[dim]))


@tensor_method()
def narrow(input, dim, start, length):
    """The ``length`` entries from ``start`` along ``dim`` (a view); a negative ``start`` counts from the end."""
    dims = np.shape(input)
    if not dims:
        raise ValueError("narrow: expects a tensor with at least 1 dim, got a 0-d tensor")
    dim = _dim("narrow", _whole_number("narrow", "dim must be an int", dim), len(dims))
    start = _whole_number("narrow", "start must be an int", start)
    length = _whole_number("narrow", "length must be an int", length)
    size = dims[dim]
    if not -size <= start <= size:
        raise IndexError(f"narrow: start {start} is out of range for dim {dim} of size {size} (tensor of shape "
                         f"{dims})")
    if start < 0:
        start += size
    if length < 0 or start + length > size:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds dim {dim} of size {size} (tensor of "
                         f"shape {dims})")
    return getitem(input, (slice(None),) * dim + (slice(start, start + length),))


# ---- diagonals -----------------------------------------------------------------------------------------

@tensor_method()
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the ``dim1``/``dim2`` planes (``offset`` above the main one, below when negative), as a
    last dim: a view, as in PyTorch, so a write into it changes the input."""
    dims = np.shape(input)
    if len(dims) < 2:
        raise ValueError(f"diagonal: expects a tensor with at least 2 dims, got shape {dims}")
    axis1, axis2 = _dim("diagonal", dim1, len(dims)), _dim("diagonal", dim2, len(dims))
    if axis1 == axis2:
        raise ValueError(f"diagonal: dim1 and dim2 name the same dim {axis1} (tensor of shape {dims})")
    offset = _whole_number("diagonal", "offset must be an int", offset)
    return shape.diagonal(input, offset=offset, axis1=axis1, axis2=axis2)


@tensor_method()
def diag(input, diagonal=0):
    """A 1-D tensor -> the square matrix with it on the ``diagonal``-th diagonal; a matrix -> a copy of that
    diagonal, as PyTorch's ``diag``."""
    dims = np.shape(input)
    k = _whole_number("diag", "diagonal must be an int", diagonal)
    if len(dims) == 2:
        return clone(shape.diagonal(input, offset=k, axis1=0, axis2=1))
    if len(dims) != 1:
        raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {dims}")
    n = dims[0] + abs(k)
    steps = np.arange(dims[0])
    positions = (steps + builtins.max(-k, 0), steps + builtins.max(k, 0))
    return shape.scatter_add(input, index=positions, shape=(n, n))


@tensor_method()
def trace(input):
    """The sum of the main diagonal of a matrix."""
    dims = np.shape(input)
    if len(dims) != 2:
        raise ValueError(f"trace: expects a 2-D tensor, got shape {dims}")
    return sum(diagonal(input))
# ---- comparisons and floor division ----------------------------------------------------------------
# Their results are booleans or whole numbers: they carry no gradient, as in PyTorch (which records
# floor_divide but has no derivative for it, so a backward pass through it raises there).


def _values(x):
    return x._array if isinstance(x, Tensor) else x


def _compare(name, ufunc, input, other):
    a, b = _values(input), _values(other)
    try:
        return Tensor._from_op(np.asarray(ufunc(a, b)), None)
    except ValueError:
        raise ValueError(f"{name}: the shapes {tuple(np.shape(a))} and {tuple(np.shape(b))} do not "
                         f"broadcast together") from None


@tensor_method()
def eq(input, other):
    """``input == other`` elementwise, broadcasting: a bool tensor."""
    return _compare("eq", np.equal, input, other)


@tensor_method("not_equal")
def ne(input, other):
    """``input != other`` elementwise, broadcasting: a bool tensor. Also ``not_equal``."""
    return _compare("ne", np.not_equal, input, other)


@tensor_method("less")
def lt(input, other):
    """``input < other`` elementwise, broadcasting: a bool tensor. Also ``less``."""
    return _compare("lt", np.less, input, other)


@tensor_method("less_equal")
def le(input, other):
    """``input <= other`` elementwise, broadcasting: a bool tensor. Also ``less_equal``."""
    return _compare("le", np.less_equal, input, other)


@tensor_method("greater")
def gt(input, other):
    """``input > other`` elementwise, broadcasting: a bool tensor. Also ``greater``."""
    return _compare("gt", np.greater, input, other)


@tensor_method("greater_equal")
def ge(input, other):
    """``input >= other`` elementwise, broadcasting: a bool tensor. Also ``greater_equal``."""
    return _compare("ge", np.greater_equal, input, other)


not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


@tensor_method()
def equal(input, other):
    """True when both tensors have the same shape and the same elements (a Python bool; NaN equals nothing)."""
    for argument, value in (("input", input), ("other", other)):
        if not isinstance(value, Tensor):
            raise TypeError(f"equal(): argument {argument!r} must be Tensor, not {type(value).__name__}")
    return input._array.shape == other._array.shape and builtins.bool(np.array_equal(input._array, other._array))


@tensor_method()
def floor_divide(input, other):
    """``input // other``: floor(input / other) elementwise, broadcasting, as Python's ``//``.

    The result carries no gradient (the derivative is zero wherever it exists); PyTorch records the op
    and raises when a backward pass reaches it. Integers divided by zero raise, as in PyTorch.
    """
    a, b = _values(input), _values(other)
    try:
        return Tensor._from_op(np.asarray(arithmetic.floor_quotient(a, b)), None)
    except ValueError:
        raise ValueError(f"floor_divide: the shapes {tuple(np.shape(a))} and {tuple(np.shape(b))} do not "
                         f"broadcast together") from None


__all__ = [
    "linear", "binary_cross_entropy", "cross_entropy", "where", "clamp", "clip", "sign", "square", "rsqrt",
    "dot", "outer",
    "sum", "mean", "var", "std", "amax", "amin", "argmax", "argmin", "max", "min", "logsumexp",
    "log_softmax", "softmax",
    "reshape", "view", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "broadcast_to", "expand",
    "sum_to", "astype", "clone", "cat", "concatenate", "concat", "stack", "split", "chunk", "getitem",
    "index_put", "gather", "take_along_dim", "pad", "masked_fill", "one_hot",
    "frac", "reciprocal", "logit", "mm", "mv", "bmm", "einsum", "isclose", "allclose", "meshgrid", "histc",
    "histogram", "norm",
    "tril", "triu", "cumsum", "cumprod", "sort", "argsort", "topk", "repeat", "tile", "repeat_interleave", "flip",
    "fliplr", "flipud", "roll", "scatter", "scatter_add", "index_select", "masked_select", "nonzero", "argwhere",
    "unbind", "narrow", "diagonal", "diag", "trace",
    "eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less", "less_equal", "greater", "greater_equal", "equal",
    "floor_divide",
]
