"""Pooling with PyTorch's signatures: max and average pooling as ``unfold`` and a reduction over each
window, adaptive average pooling as two products with averaging matrices.

Like the convolutions, none of these has a backward pass of its own: max pooling picks each window's
largest element with ``take_along_dim`` (its gradient goes to that one element, the first of any tie, as
in PyTorch), average pooling sums each window, and ``unfold``'s adjoint ``fold`` carries the gradient
back to the image.
"""
import math

import numpy as np

from . import functions
from .convolution import as_batch, as_given, check_settings, per_dim
from .ops import windows
from .tensor import Tensor


def pool_geometry(name, dims, spatial, kernel_size, stride, padding, dilation, ceil_mode):
    """(kernel_size, stride, dilation, padding pairs, window counts) of a pooling, as PyTorch sizes it.

    ``ceil_mode`` lets a last window start before the end of the input (or of its left padding) and hang
    over it; the part beyond the padding counts as empty (for max) or is left out of the divisor (for
    average). The pairs include that overhang.
    """
    kernel_size = per_dim(name, "kernel_size", kernel_size, dims)
    stride = kernel_size if stride is None or stride == () or stride == [] else per_dim(name, "stride", stride, dims)
    padding, dilation = per_dim(name, "padding", padding, dims), per_dim(name, "dilation", dilation, dims)
    check_settings(name, kernel_size, dilation, stride)
    for p, k, d in zip(padding, kernel_size, dilation):
        if p < 0 or 2 * p > d * (k - 1) + 1:
            raise ValueError(f"{name}: pad should be at most half of effective kernel size, but got "
                             f"padding={padding}, kernel_size={kernel_size} and dilation={dilation}")
    counts, pairs = [], []
    for size, k, s, p, d in zip(spatial, kernel_size, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        count = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (count - 1) * s >= size + p:  # a last window must start inside the input or its left pad
            count -= 1
        counts.append(count)
        pairs.append((p, p + max(0, (count - 1) * s + d * (k - 1) + 1 - (size + 2 * p))))
    if any(c < 1 for c in counts):
        raise ValueError(f"{name}: given input of spatial size {tuple(spatial)}, kernel_size={kernel_size}, "
                         f"stride={stride}, padding={padding}, dilation={dilation}: calculated output size "
                         f"{tuple(counts)} is too small")
    return kernel_size, stride, dilation, tuple(pairs), tuple(counts)


def max_pool(name, dims, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False):
    """The max pooling behind ``max_pool1d`` and ``max_pool2d`` (``dims`` spatial dims)."""
    x, batched = as_batch(name, input, dims)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")
    spatial = tuple(x.shape[2:])
    kernel_size, stride, dilation, pairs, counts = pool_geometry(name, dims, spatial, kernel_size, stride, padding,
                                                                 dilation, ceil_mode)
    if any(a or b for a, b in pairs):  # padding never wins a window: it is -inf
        x = functions.pad(x, ((0, 0), (0, 0)) + pairs, value=-np.inf)
    n, channels = x.shape[:2]
    if stride == kernel_size and all(d == 1 for d in dilation):
        # windows that tile the input: a reshape shows them without copying, (N, C, OH, kh, OW, kw)
        tiled = tuple(c * k for c, k in zip(counts, kernel_size))
        if tiled != tuple(x.shape[2:]):  # the rows and columns no window reaches are cut off first
            x = functions.getitem(x, (slice(None), slice(None)) + tuple(slice(0, t) for t in tiled))
        tiles = functions.reshape(x, (n, channels) + tuple(v for c, k in zip(counts, kernel_size) for v in (c, k)))
        kernel_axes = tuple(range(3, 3 + 2 * dims, 2))
    else:  # overlapping or dilated windows: copied side by side, (N, C, kh * kw, OH * OW)
        tiles = windows.unfold(x, kernel_size=kernel_size, dilation=dilation, padding=((0, 0),) * dims, stride=stride)
        tiles = functions.reshape(tiles, (n, channels, math.prod(kernel_size), math.prod(counts)))
        kernel_axes = (2,)
    largest = windows.window_max(tiles, axes=kernel_axes)
    out = as_given(functions.reshape(largest, (n, channels) + counts), batched)
    if not return_indices:
        return out
    chosen = windows.first_largest(tiles._array, kernel_axes, largest._array)
    positions = _input_positions(_picks(chosen, kernel_axes), spatial, kernel_size, stride, dilation, pairs, counts)
    return out, as_given(Tensor(positions.reshape((n, channels) + counts)), batched)


def _picks(chosen, kernel_axes):
    # each window's picked kernel position, as one flat index over the kernel (row-major)
    chosen_last = np.moveaxis(chosen, kernel_axes, tuple(range(-len(kernel_axes), 0)))
    flat = chosen_last.reshape(chosen_last.shape[:chosen_last.ndim - len(kernel_axes)] + (-1,))
    return np.argmax(flat, axis=-1).reshape(flat.shape[:2] + (-1,))  # (N, C, windows)


def _input_positions(picks, spatial, kernel_size, stride, dilation, pairs, counts):
    # each pick (a kernel offset in one window) as the flat position in the unpadded input it came from
    offsets = np.unravel_index(picks, kernel_size)
    windows_at = np.unravel_index(np.arange(math.prod(counts)), counts)
    coordinates = [w * s - before + o * d
                   for o, w, s, d, (before, _) in zip(offsets, windows_at, stride, dilation, pairs)]
    return np.ravel_multi_index(coordinates, spatial).astype(np.int64)


def avg_pool(name, dims, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
    """The average pooling behind ``avg_pool1d`` and ``avg_pool2d`` (``dims`` spatial dims)."""
    x, batched = as_batch(name, input, dims)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{name}: divisor_override must be non-zero")
    spatial = tuple(x.shape[2:])
    kernel_size, stride, dilation, pairs, counts = pool_geometry(name, dims, spatial, kernel_size, stride, padding,
                                                                 1, ceil_mode)
    n, channels = x.shape[:2]
    columns = windows.unfold(x, kernel_size=kernel_size, dilation=dilation, padding=pairs, stride=stride)
    sums = functions.sum(functions.reshape(columns, (n, channels, math.prod(kernel_size), math.prod(counts))), 2)
    if divisor_override is not None:
        divisor = np.full(math.prod(counts), divisor_override)
    else:
        divisor = _divisors(spatial, kernel_size, stride, pairs, counts, count_include_pad)
    out = sums / Tensor(divisor.astype(x.dtype))
    return as_given(functions.reshape(out, (n, channels) + counts), batched)


def _divisors(spatial, kernel_size, stride, pairs, counts, count_include_pad):
    # per window, how many elements it averages: the padding counts (count_include_pad) but never the
    # overhang of ceil_mode, as in PyTorch
    per_dim_sizes = []
    for size, k, s, (before, _), count in zip(spatial, kernel_size, stride, pairs, counts):
        start = np.arange(count) * s - before
        end = np.minimum(start + k, size + before)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        per_dim_sizes.append(end - start)
    return math.prod(np.ix_(*per_dim_sizes)).reshape(-1)


def averaging_matrix(size, out_size, dtype):
    """The ``(out_size, size)`` matrix whose rows average PyTorch's adaptive windows: row i covers
    ``floor(i * size / out_size)`` up to ``ceil((i + 1) * size / out_size)``."""
    matrix = np.zeros((out_size, size), dtype=dtype)
    for i in range(out_size):
        start, end = (i * size) // out_size, -((-(i + 1) * size) // out_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def along_spatial_dims(x, matrices):
    """``x`` of shape ``(N, C, *spatial)`` with each spatial dim ``i`` mapped by ``matrices[i]`` (shape
    ``(new size, size)``): a separable linear map (adaptive average pooling, linear interpolation)."""
    dims = len(matrices)
    out = x
    for axis in reversed(range(dims)):  # (..., H, W) @ A_w.T first, then the same along H
        swapped = functions.transpose(out, 2 + axis, -1) if axis != dims - 1 else out
        swapped = swapped @ functions.transpose(matrices[axis], 0, 1)
        out = functions.transpose(swapped, 2 + axis, -1) if axis != dims - 1 else swapped
    return out


def adaptive_avg_pool(name, dims, input, output_size):
    """The adaptive average pooling behind ``adaptive_avg_pool1d/2d``: windows sized to give ``output_size``."""
    x, batched = as_batch(name, input, dims)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")
    sizes = (output_size,) * dims if output_size is None or isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != dims:
        raise ValueError(f"{name}: output_size must be an int or {dims} ints (None keeps a size), got {output_size!r}")
    spatial = tuple(x.shape[2:])
    sizes = tuple(size if wanted is None else int(wanted) for size, wanted in zip(spatial, sizes))
    if any(s < 1 for s in sizes) or any(s < 1 for s in spatial):
        raise ValueError(f"{name}: output_size {sizes} and input of shape {tuple(x.shape)} must be positive")
    out = along_spatial_dims(x, [Tensor(averaging_matrix(size, wanted, x.dtype))
                                 for size, wanted in zip(spatial, sizes)])
    return as_given(out, batched)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over windows of ``(N, C, L)`` (stride defaults to ``kernel_size``); with ``return_indices``
    also each maximum's position in the input, as MaxUnpool takes it."""
    return max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over windows of ``(N, C, H, W)`` (stride defaults to ``kernel_size``); with
    ``return_indices`` also each maximum's flat position ``h * W + w`` in its input plane."""
    return max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of ``(N, C, L)`` (stride defaults to ``kernel_size``; zero padding is counted
    in the mean unless ``count_include_pad=False``)."""
    return avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over windows of ``(N, C, H, W)`` (stride defaults to ``kernel_size``; zero padding is
    counted unless ``count_include_pad=False``; ``divisor_override`` replaces the window size)."""
    return avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of ``(N, C, L)`` to ``(N, C, output_size)``, the windows sized to fit."""
    return adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling of ``(N, C, H, W)`` to ``(N, C, *output_size)`` (an int means a square; None keeps
    that dim's size), the windows sized to fit."""
    return adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


__all__ = ["along_spatial_dims", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d"]
