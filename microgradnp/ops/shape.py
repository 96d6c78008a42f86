"""Ops that move, select or combine elements without arithmetic: their VJPs move gradients back."""
import numpy as np

from ..autograd.primitive import primitive
from .constant_arrays import ones_vector


def sum_to_shape(x, shape):
    """Sum a broadcast array back down to ``shape`` (the inverse of broadcasting)."""
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    if x.shape[lead:] == shape:  # only leading axes were added (a bias): a plain sum, no reshape view
        if lead == 1 and x.ndim == 2 and x.dtype.char in "fd":
            # a sum down the rows of a matrix, as a product with ones for the dtypes BLAS handles:
            # np.add.reduce along axis 0 is several times slower, at every size a layer has
            return ones_vector(len(x), x.dtype).dot(x)
        return np.add.reduce(x, axis=0 if lead == 1 else tuple(range(lead)))
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    return np.sum(x, axis=axes, keepdims=True).reshape(shape)


def _reshape(x, shape):
    """The same elements in a new shape."""
    return np.reshape(x, shape)


reshape = primitive("reshape", _reshape, vjp=lambda xp, g, ans, x, shape: xp.reshape(g, x.shape), reads=(),
                    view=True)


def _transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    return np.transpose(x, axes)


def _inverse_axes(axes, ndim):
    return None if axes is None else tuple(np.argsort([a % ndim for a in axes]))


transpose = primitive("transpose", _transpose,
                      vjp=lambda xp, g, ans, x, axes=None: xp.transpose(g, axes=_inverse_axes(axes, x.ndim)), reads=(),
                      view=True)


def _broadcast_to(x, shape):
    """A read-only broadcast view of ``x`` with ``shape``."""
    return np.broadcast_to(x, shape)


broadcast_to = primitive("broadcast_to", _broadcast_to,
                         vjp=lambda xp, g, ans, x, shape: xp.sum_to(g, shape=x.shape), reads=(), view=True)


def _sum_to(x, shape):
    """Sum over broadcast axes so the result has ``shape``."""
    return sum_to_shape(x, tuple(shape))


sum_to = primitive("sum_to", _sum_to, vjp=lambda xp, g, ans, x, shape: xp.broadcast_to(g, shape=x.shape), reads=(),
                   view=True)  # (the input itself when there is nothing to sum)


def is_basic_index(index):
    """True when ``index`` selects each element at most once (ints, slices, None, Ellipsis, bool masks)."""
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if isinstance(item, np.ndarray) and item.dtype != np.bool_:
            return False
        if isinstance(item, (list, tuple)):
            return False
    return True


def _getitem(x, index):
    """``x[index]``: basic, advanced and boolean indexing as NumPy does it."""
    return x[index]


getitem = primitive("getitem", _getitem,
                    vjp=lambda xp, g, ans, x, index: xp.scatter_add(g, index=index, shape=x.shape), reads=(),
                    view=True)  # (a basic index gives a view, an advanced one a copy)


def _scatter_add(values, index, shape):
    """A zero array of ``shape`` with ``values`` added at ``index``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=np.result_type(values))
    if is_basic_index(index):
        out[index] = values
    else:
        np.add.at(out, index, values)
    return out


scatter_add = primitive("scatter_add", _scatter_add,
                        vjp=lambda xp, g, ans, values, index, shape: xp.getitem(g, index=index), reads=())


def _concatenate(*xs, axis=0):
    """Join tensors along an existing axis."""
    return np.concatenate(xs, axis=axis)


def _concatenate_vjp(xp, g, ans, edges, *xs, axis=0):
    grads, start = [], 0
    axis = axis % g.ndim  # ans is not saved (saves_out=False); g has its shape
    for x, edge in zip(xs, edges):
        stop = start + x.shape[axis]
        index = (slice(None),) * axis + (slice(start, stop),)
        grads.append(None if edge is None else xp.getitem(g, index=index))
        start = stop
    return tuple(grads)


concatenate = primitive("concatenate", _concatenate, joint_vjp=_concatenate_vjp, reads=())


def _pad(x, pad_width, value=0):
    """Constant padding; ``pad_width`` is NumPy's ((before, after), ...) per axis."""
    return np.pad(x, pad_width, mode="constant", constant_values=value)


def _unpad_index(pad_width, shape):
    return tuple(slice(before, before + n) for (before, _), n in zip(pad_width, shape))


pad = primitive("pad", _pad,
                vjp=lambda xp, g, ans, x, pad_width, value=0: xp.getitem(g, index=_unpad_index(pad_width, x.shape)),
                reads=())


def _astype(x, dtype):
    """Cast to ``dtype``; the gradient is cast back to the input's dtype."""
    return x.astype(dtype)


astype = primitive("astype", _astype, vjp=lambda xp, g, ans, x, dtype: xp.astype(g, dtype=x.dtype), reads=())


def _diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of the ``axis1``/``axis2`` planes, as a last dim: a view that writes go through."""
    out = np.diagonal(x, offset, axis1, axis2)
    if x.flags.writeable:
        out.setflags(write=True)  # PyTorch's diagonal is a writable view (NumPy's is read-only by default)
    return out


def diagonal_index(shape, offset, axis1, axis2):
    """The advanced index of an array of ``shape`` that selects ``np.diagonal(x, offset, axis1, axis2)``."""
    others = [d for d in range(len(shape)) if d not in (axis1, axis2)]
    n = max(0, min(shape[axis1] - max(-offset, 0), shape[axis2] - max(offset, 0)))
    index = [None] * len(shape)
    for i, d in enumerate(others):
        index[d] = np.arange(shape[d]).reshape((-1,) + (1,) * (len(others) - i))
    steps = np.arange(n)
    index[axis1] = steps + max(-offset, 0)
    index[axis2] = steps + max(offset, 0)
    return tuple(index)


diagonal = primitive("diagonal", _diagonal, reads=(), view=True,
                     vjp=lambda xp, g, ans, x, offset=0, axis1=0, axis2=1:
                         xp.scatter_add(g, index=diagonal_index(x.shape, offset, axis1, axis2), shape=x.shape))
