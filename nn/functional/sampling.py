"""``interpolate``: resizing by nearest neighbour or (bi)linear interpolation, as PyTorch computes it.

Nearest neighbour picks rows and columns (``index_select``); linear interpolation multiplies each spatial
dim by an interpolation matrix. Either way the gradient comes from the engine.
"""
import math

import numpy as np

import microgradnp as mg

_MODES = {"nearest": 1, "nearest-exact": 1, "linear": 1, "bilinear": 2}


def _output_sizes(input, dims, size, scale_factor, recompute_scale_factor):
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor must be given")
    spatial = tuple(input.shape[2:])
    if size is not None:
        sizes = (size,) * dims if isinstance(size, (int, np.integer)) else tuple(size)
        if len(sizes) != dims:
            raise ValueError(f"interpolate: input with spatial size {spatial} needs {dims} output sizes, got "
                             f"size={size}")
        return tuple(int(s) for s in sizes), (None,) * dims
    factors = (scale_factor,) * dims if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    if len(factors) != dims:
        raise ValueError(f"interpolate: input with spatial size {spatial} needs {dims} scale factors, got "
                         f"scale_factor={scale_factor}")
    sizes = tuple(math.floor(float(n) * float(f)) for n, f in zip(spatial, factors))
    # the coordinates use the factor as given unless asked to recompute it from the sizes, as in PyTorch
    scales = (None,) * dims if recompute_scale_factor else tuple(float(f) for f in factors)
    return sizes, scales


def _nearest_indices(size, out_size, scale, exact):
    # PyTorch computes the source index in float32: floor(dst * scale), or floor((dst + 0.5) * scale)
    ratio = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(size) / np.float32(out_size)
    positions = np.arange(out_size, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    return np.minimum(np.floor(positions * ratio).astype(np.int64), size - 1)


def _linear_matrix(size, out_size, scale, align_corners, dtype):
    # the (out_size, size) matrix of linear interpolation weights, PyTorch's source coordinates
    dtype = np.dtype(dtype)
    if align_corners:
        ratio = dtype.type((size - 1) / (out_size - 1)) if out_size > 1 else dtype.type(0)
        source = np.arange(out_size, dtype=dtype) * ratio
    else:
        ratio = dtype.type(1.0 / scale) if scale is not None and scale > 0 else dtype.type(size) / dtype.type(out_size)
        source = np.maximum(ratio * (np.arange(out_size, dtype=dtype) + dtype.type(0.5)) - dtype.type(0.5), 0)
    low = source.astype(np.int64)
    step = (low < size - 1).astype(np.int64)
    high_weight = (source - low).astype(dtype)
    matrix = np.zeros((out_size, size), dtype=dtype)
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, low), 1 - high_weight)
    np.add.at(matrix, (rows, low + step), high_weight)
    return matrix


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resize ``(N, C, L)`` or ``(N, C, H, W)`` to ``size`` or by ``scale_factor``.

    ``mode`` is ``'nearest'`` (PyTorch's: ``floor(dst * in / out)``), ``'nearest-exact'``, ``'linear'``
    (3-D input) or ``'bilinear'`` (4-D input); ``align_corners`` (linear modes only, default False) maps the
    corner pixels' centres onto each other.
    """
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; use one of {sorted(_MODES)}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    dims = input.ndim - 2
    if dims not in (1, 2):
        raise ValueError(f"interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape "
                         f"{tuple(input.shape)}")
    if mode in ("linear", "bilinear") and _MODES[mode] != dims:
        raise ValueError(f"interpolate: mode {mode!r} needs a {_MODES[mode] + 2}-D input, got shape "
                         f"{tuple(input.shape)}")
    if mode.startswith("nearest") and align_corners is not None:
        raise ValueError("interpolate: align_corners only has an effect with the linear modes; leave it None "
                         f"for mode {mode!r}")
    sizes, scales = _output_sizes(input, dims, size, scale_factor, recompute_scale_factor)
    if any(s < 1 for s in sizes):
        raise ValueError(f"interpolate: the output size {sizes} must be positive (input of shape "
                         f"{tuple(input.shape)})")
    spatial = tuple(input.shape[2:])
    if mode.startswith("nearest"):
        out = input
        for axis, (n, m, scale) in enumerate(zip(spatial, sizes, scales)):
            out = mg.index_select(out, 2 + axis, mg.tensor(_nearest_indices(n, m, scale, mode == "nearest-exact")))
        return out
    matrices = [mg.tensor(_linear_matrix(n, m, scale, bool(align_corners), input.dtype))
                for n, m, scale in zip(spatial, sizes, scales)]
    return mg.pooling.along_spatial_dims(input, matrices)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The older name of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)
