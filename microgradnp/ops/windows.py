"""Sliding windows: ``unfold`` copies every window of an image into a column (im2col), ``fold`` sums
columns back into an image (col2im).

The two are each other's adjoint, so each one's VJP is the other: a convolution written as ``unfold``
then a matrix product gets its whole gradient from these two rules and matmul's, with no backward pass
written for the convolution itself, and under ``create_graph`` the same pair gives its second derivatives.

Both take an array ``(N, C, *spatial)`` with one spatial dim per entry of ``kernel_size``, and every
setting per spatial dim: ``kernel_size``, ``dilation`` and ``stride`` as tuples of ints, ``padding`` as
a tuple of ``(before, after)`` pairs (zeros). The callers in ``convolution.py`` check the settings and
say what is wrong in PyTorch's terms; these forwards trust them.
"""
import math

import numpy as np

from ..autograd.primitive import primitive
from .constant_arrays import ZERO


def block_counts(spatial, kernel_size, dilation, padding, stride):
    """How many windows fit along each spatial dim (may be 0 or negative: the callers check)."""
    return tuple((size + before + after - d * (k - 1) - 1) // s + 1
                 for size, k, d, (before, after), s in zip(spatial, kernel_size, dilation, padding, stride))


def _window_view(padded, kernel_size, dilation, stride, counts):
    # (N, C, *kernel, *counts): for each kernel offset, the element it sees in every window, as strides
    # into the padded array (a view: nothing is copied yet)
    strides = padded.strides
    spatial_strides = strides[2:]
    shape = padded.shape[:2] + tuple(kernel_size) + tuple(counts)
    view_strides = (strides[:2] + tuple(st * d for st, d in zip(spatial_strides, dilation))
                    + tuple(st * s for st, s in zip(spatial_strides, stride)))
    return np.lib.stride_tricks.as_strided(padded, shape, view_strides, writeable=False)


def _unfold(x, kernel_size, dilation, padding, stride, out=None):
    """Every window of ``x`` as a column: ``(N, C, *spatial)`` to ``(N, C * prod(kernel_size), L)``, L the
    number of windows, each column ordered channel first, then kernel position (PyTorch's layout).

    ``out``: a C-contiguous array of the result's shape and dtype to copy the windows into (a compiled
    step's buffer), instead of a new one."""
    if any(before or after for before, after in padding):
        x = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    counts = block_counts(x.shape[2:], kernel_size, dilation, ((0, 0),) * len(kernel_size), stride)
    windows = _window_view(x, kernel_size, dilation, stride, counts)
    if out is None:  # (a reshape of the windows would copy them too, into an array it does not own)
        out = np.empty((x.shape[0], x.shape[1] * math.prod(kernel_size), math.prod(counts)), dtype=x.dtype)
    np.copyto(out.reshape(windows.shape), windows)
    return out


def _fold(columns, output_size, kernel_size, dilation, padding, stride, out=None):
    """The sum of columns back into an image, each element the sum of every window that covers it:
    ``(N, C * prod(kernel_size), L)`` to ``(N, C, *output_size)``.

    ``out``: an array of the padded image's shape and the columns' dtype to sum into (a compiled step's
    buffer), instead of a new one; with padding the result is a view of it."""
    n, rows, _ = columns.shape
    channels = rows // math.prod(kernel_size)
    padded = tuple(size + before + after for size, (before, after) in zip(output_size, padding))
    counts = block_counts(padded, kernel_size, dilation, ((0, 0),) * len(kernel_size), stride)
    if out is None:
        out = np.zeros((n, channels) + padded, dtype=columns.dtype)
    else:
        out.fill(0)
    columns = columns.reshape((n, channels) + tuple(kernel_size) + counts)
    # one strided add per kernel offset (25 for a 5x5 kernel), each over every window at once
    for offset in np.ndindex(*kernel_size):
        target = tuple(slice(o * d, o * d + s * (c - 1) + 1, s)
                       for o, d, s, c in zip(offset, dilation, stride, counts))
        out[(slice(None), slice(None)) + target] += columns[(slice(None), slice(None)) + offset]
    if any(before or after for before, after in padding):
        out = out[(slice(None), slice(None)) + tuple(slice(before, before + size)
                                                     for size, (before, _) in zip(output_size, padding))]
    return out


# each is the other's adjoint; neither reads a value, only the input's shape
unfold = primitive("unfold", _unfold, reads=(), grads_in_input_shapes=True,
                   vjp=lambda xp, g, ans, x, kernel_size, dilation, padding, stride:
                       xp.fold(g, output_size=tuple(x.shape[2:]), kernel_size=kernel_size, dilation=dilation,
                               padding=padding, stride=stride))

fold = primitive("fold", _fold, reads=(), grads_in_input_shapes=True,
                 vjp=lambda xp, g, ans, columns, output_size, kernel_size, dilation, padding, stride:
                     xp.unfold(g, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride))


def _first_largest_positions(tiles, axes, largest):
    # per kernel position, the tiles' view at it and where it holds its window's first largest element
    # (a NaN counts as largest): a few passes over every window at once, one kernel position at a time.
    # Each mask is valid until the next one is asked for (the first is reused for the running "taken")
    tiles_first = np.moveaxis(tiles, axes, tuple(range(len(axes))))  # a view, kernel positions first
    with_nan = np.isnan(largest).any()
    positions = list(np.ndindex(*tiles_first.shape[:len(axes)]))
    taken = None  # where an earlier position held the largest element (its first hit needs no comparison)
    for number, position in enumerate(positions):
        candidate = tiles_first[position]
        hit = candidate == largest
        if with_nan:
            hit |= np.isnan(candidate)
        if taken is None:
            taken = first = hit  # (the caller is done with ``first`` before the next position changes it)
        else:
            first = hit > taken
            if number < len(positions) - 1:
                taken |= hit
        yield position, first


def first_largest(tiles, axes, largest):
    """A mask of the first largest element of each window of ``tiles`` (a window spans ``axes``), given
    ``largest``, the windows' maxima (``axes`` dropped); a NaN counts as largest."""
    mask = np.empty(tiles.shape, dtype=bool)
    mask_first = np.moveaxis(mask, axes, tuple(range(len(axes))))
    for position, first in _first_largest_positions(tiles, axes, largest):
        mask_first[position] = first
    return mask


def _window_max(tiles, axes):
    """The largest element of each window, a window spanning ``axes`` (the kernel axes of a pooling)."""
    tiles_last = np.moveaxis(tiles, axes, tuple(range(-len(axes), 0)))
    positions = np.ndindex(*tiles_last.shape[tiles.ndim - len(axes):])
    # one maximum per kernel position over every window at once: NumPy's reductions over several short
    # axes walk each window on its own, many times slower
    out = tiles_last[(Ellipsis,) + next(positions)].copy()
    for position in positions:
        np.maximum(out, tiles_last[(Ellipsis,) + position], out=out)
    return out


def _window_max_vjp(xp, g, ans, tiles, axes):
    # all of a window's gradient goes to its first largest element, as PyTorch's max pooling sends it
    if type(g) is np.ndarray:
        return _window_max_vjp_fast(g, ans, tiles, axes)
    chosen = first_largest(_array_of(tiles), axes, _array_of(ans))
    kept = list(tiles.shape)
    for axis in axes:
        kept[axis] = 1
    return xp.where(chosen, xp.reshape(g, tuple(kept)), 0.0)


def _window_max_vjp_fast(g, ans, tiles, axes, out=None):
    # the same gradient in an ordinary backward pass, written per kernel position (into ``out``, a
    # compiled step's buffer, when given): a broadcast ``where`` over the tiles' short kernel axes is
    # several times slower
    grad = np.empty(tiles.shape, dtype=g.dtype) if out is None else out
    grad_first = np.moveaxis(grad, axes, tuple(range(len(axes))))
    g = g.reshape(ans.shape)
    zero = ZERO[g.dtype]
    # every element is written once, from a contiguous where: a masked copy into a zeroed array writes
    # through the same strided view, several times slower
    for position, first in _first_largest_positions(tiles, axes, ans):
        grad_first[position] = np.where(first, g, zero)
    return grad


def _array_of(x):
    # the array inside a Tensor (under create_graph the VJP gets Tensors): the mask is not differentiated
    return getattr(x, "_array", x)


window_max = primitive("window_max", _window_max, vjp=_window_max_vjp, reads=("tiles", "ans"),
                       grads_in_input_shapes=True)
