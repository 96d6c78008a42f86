"""The layers as functions: linear, dropout, batch and layer normalisation, embedding lookup."""
import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, capture_state, increment_version, replayable

from .loss_checks import warn_if_float64_input


def linear(input, weight, bias=None):
    """input @ weight.T + bias, with weight stored (out_features, in_features) as in PyTorch (fused op).

    A float64 input with a float32 weight gives a float64 result, and a ``MisuseWarning`` once per weight.
    """
    out = mg.linear(input, weight, bias)
    if out.dtype != getattr(weight, "dtype", out.dtype):
        warn_if_float64_input(input, weight, "linear")
    return out


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (inverted dropout).

    Nothing happens when ``training`` is False. The mask comes from the global generator
    (``mg.manual_seed``) unless ``generator`` (a NumPy Generator or a seed) is given.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * np.zeros(input.shape, dtype=input.dtype)
    if capture_state.active is not None:  # a random source: a compiled step draws a fresh mask at each replay
        return input * replayable(_dropout_scale, generator, tuple(input.shape), p, input.dtype)
    keep = mg.random.get_generator(generator).random(input.shape) >= p
    return input * (keep * (1.0 / (1.0 - p))).astype(input.dtype)


def _dropout_scale(generator, shape, p, dtype):
    # dropout's mask times 1 / (1 - p), drawn from the generator as the eager lines above draw it
    keep = mg.random.get_generator(generator).random(shape) >= p
    return (keep * (1.0 / (1.0 - p))).astype(dtype)


def _dropout_channels(name, input, p, training, dims):
    # whole channels zeroed: one draw per (sample, channel), broadcast over the spatial dims
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{name}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) input, got shape "
                         f"{tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * np.zeros(input.shape, dtype=input.dtype)
    channels = tuple(input.shape[:input.ndim - dims]) + (1,) * dims
    if capture_state.active is not None:  # a random source (see dropout)
        return input * replayable(_dropout_scale, None, channels, p, input.dtype)
    keep = mg.random.get_generator(None).random(channels) >= p
    return input * (keep * (1.0 / (1.0 - p))).astype(input.dtype)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` (or ``(C, L)``) with probability ``p``, scaling the rest by
    1 / (1 - p): neighbouring positions of a channel are dropped together."""
    return _dropout_channels("dropout1d", input, p, training, 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (feature maps) of ``(N, C, H, W)`` (or ``(C, H, W)``) with probability ``p``,
    scaling the rest by 1 / (1 - p)."""
    return _dropout_channels("dropout2d", input, p, training, 2)


def _channel_shape(ndim, channels):
    return (1, channels) + (1,) * (ndim - 2)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Normalise each channel (dim 1) of an (N, C) or (N, C, L) input.

    In training the batch statistics are used (biased variance) and, when the running buffers are given,
    they move towards them, in place: ``running = (1 - momentum) * running + momentum * batch`` with the
    unbiased batch variance, as in PyTorch. Otherwise the running statistics are used. Inside a compiled
    step (``mg.compile``) every replay moves the buffers, and reads them afresh in eval mode.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input with a batch and a channel dimension, got shape "
                         f"{tuple(input.shape)}")
    channels = input.shape[1]
    shape = _channel_shape(input.ndim, channels)
    if training:
        axes = (0,) + tuple(range(2, input.ndim))
        count = input.numel() // channels
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"shape {tuple(input.shape)}; use a larger batch, or eval() mode")
        mean = mg.mean(input, dim=axes, keepdim=True)
        centered = input - mean
        var = mg.mean(centered * centered, dim=axes, keepdim=True)
        out = centered / mg.sqrt(var + eps)
        if running_mean is not None and running_var is not None:
            buffers = (running_mean, running_var)
            arrays = (array_of(running_mean), array_of(running_var), array_of(mean), array_of(var))
            if capture_state.active is None:
                _update_running_stats(buffers, *arrays, momentum, count)
            else:  # a compiled step moves the statistics at every replay
                replayable(_update_running_stats, buffers, *arrays, momentum, count)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
        if capture_state.active is not None:  # the statistics change between calls: a replay reads them afresh
            shift = replayable(_running_shift, array_of(running_mean), shape, input.dtype)
            scale = replayable(_running_scale, array_of(running_var), eps, shape, input.dtype)
            out = (input - shift) * scale
        else:
            inv_std = (1.0 / np.sqrt(running_var.numpy() + eps)).astype(input.dtype)
            out = (input - running_mean.numpy().reshape(shape).astype(input.dtype)) * inv_std.reshape(shape)
    if weight is not None:
        out = out * mg.reshape(weight, shape)
    if bias is not None:
        out = out + mg.reshape(bias, shape)
    return out


def _update_running_stats(buffers, running_mean, running_var, mean, var, momentum, count):
    """running = (1 - momentum) * running + momentum * batch (the unbiased batch variance for ``running_var``),
    written into the buffers' arrays.

    In place, as PyTorch does, so that a compiled step's replay, which holds these arrays, moves the same
    statistics the module holds; ``buffers`` (the two Tensors) get their versions moved, so that a graph that
    saved the old values refuses to backward. ``momentum`` may be a 0-d array: the factor of a cumulative
    average, computed by the previous step of a replay (``_BatchNorm``).
    """
    if type(momentum) is np.ndarray:
        momentum = momentum.item()
    channels = mean.size
    unbiased = var.reshape(channels) * (count / (count - 1))
    running_mean[...] = ((1 - momentum) * running_mean + momentum * mean.reshape(channels)).astype(running_mean.dtype)
    running_var[...] = ((1 - momentum) * running_var + momentum * unbiased).astype(running_var.dtype)
    increment_version(buffers)


def _running_shift(running_mean, shape, dtype):
    # (batch_norm's eval-mode lines, as functions for a compiled step's replay)
    return running_mean.reshape(shape).astype(dtype)


def _running_scale(running_var, eps, shape, dtype):
    return (1.0 / np.sqrt(running_var + eps)).astype(dtype).reshape(shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dims (biased variance), then scale and shift."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(normalized_shape)
    if not k:
        raise ValueError("layer_norm: normalized_shape must hold at least one dim, got (); give the sizes of the "
                         f"last dims to normalise over, e.g. ({input.shape[-1] if input.ndim else 'n'},)")
    if input.shape[input.ndim - k:] != normalized_shape or input.ndim < k:
        raise ValueError(f"layer_norm: input of shape {tuple(input.shape)} does not end with normalized_shape "
                         f"{normalized_shape}")
    axes = tuple(range(input.ndim - k, input.ndim))
    mean = mg.mean(input, dim=axes, keepdim=True)
    centered = input - mean
    var = mg.mean(centered * centered, dim=axes, keepdim=True)
    out = centered / mg.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` picked by the integer indices in ``input`` (output shape ``input.shape + (dim,)``).

    Rows at ``padding_idx`` are returned as they are but get no gradient, as in PyTorch. An index out of
    range raises an IndexError, inside a compiled step (``mg.compile``) at every replay too.
    """
    index = array_of(input) if isinstance(input, mg.Tensor) else np.asarray(input)
    if not np.issubdtype(index.dtype, np.integer):
        raise TypeError(f"embedding: indices must be integers, got dtype {index.dtype} (use .long())")
    rows = weight.shape[0]
    if capture_state.active is not None:  # the indices change from call to call: recorded, checked at every replay
        return _captured_embedding(index, weight, padding_idx)
    if index.size and (index.min() < 0 or index.max() >= rows):
        _check_indices(index, rows)
    out = weight[index]
    if padding_idx is not None:
        padding_idx = padding_idx % rows
        is_padding = (index == padding_idx)[..., None]
        if is_padding.any():
            out = mg.where(is_padding, out.detach(), out)
    return out


def _check_indices(index, rows):
    """Raise an IndexError naming the first index out of [0, rows) (a compiled step runs it at every replay)."""
    if index.size and (index.min() < 0 or index.max() >= rows):
        bad = index[(index < 0) | (index >= rows)]
        raise IndexError(f"embedding: index {int(bad.flat[0])} is out of range for an embedding with {rows} rows "
                         f"(valid: 0..{rows - 1}); input holds values from {int(index.min())} to "
                         f"{int(index.max())}")


def _captured_embedding(index, weight, padding_idx):
    """``embedding`` while a compiled step is captured: the range check is a step of the replay, and the padding
    rows are always detached with ``where`` (with no padding index among the indices it passes every value
    and gradient through unchanged, as the eager lookup without it)."""
    replayable(_check_indices, index, weight.shape[0])
    out = weight[index]
    if padding_idx is None:
        return out
    return mg.where(replayable(_padding_rows, index, padding_idx % weight.shape[0]), out.detach(), out)


def _padding_rows(index, padding_idx):
    # where the indices are the padding index, with a trailing dim that broadcasts over the embedding
    return np.asarray(index == padding_idx)[..., None]
