"""Convolutions with PyTorch's signatures, written as ``unfold`` (im2col) and one matrix product.

    out = weight.reshape(C_out, -1) @ unfold(x)        # (N, C_out, L), then reshaped to (N, C_out, *out)

Nothing here has a backward pass of its own: the gradient of a convolution with respect to its input,
weight and bias comes from matmul's rules and from ``unfold``'s (``ops/windows.py``), whose adjoint is
``fold``. A transposed convolution is the same pair the other way round: a product, then ``fold``.
"""
import math
import numbers

from . import functions
from .functions import _tensor
from .ops import linalg, windows


def per_dim(name, setting, value, dims):
    """``value`` (an int or a sequence of ``dims`` ints) as a tuple of ``dims`` ints, or a clear error."""
    values = (value,) * dims if isinstance(value, numbers.Integral) else tuple(value)
    if len(values) != dims or not all(isinstance(v, numbers.Integral) for v in values):
        raise ValueError(f"{name}: {setting} must be an int or {dims} ints, got {value!r}")
    return tuple(int(v) for v in values)


def padding_pairs(name, padding, kernel_size, dilation, stride):
    """PyTorch's ``padding`` (an int, ints, ``'valid'`` or ``'same'``) as ``(before, after)`` per dim."""
    dims = len(kernel_size)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * dims
        if padding != "same":
            raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        # the output keeps the input's size: the total d * (k - 1), the odd one out at the end (as PyTorch)
        totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        return tuple((total // 2, total - total // 2) for total in totals)
    sizes = per_dim(name, "padding", padding, dims)
    if any(p < 0 for p in sizes):
        raise ValueError(f"{name}: padding must be non-negative, got {padding!r}")
    return tuple((p, p) for p in sizes)


def check_settings(name, kernel_size, dilation, stride):
    """Kernel sizes, dilations and strides must be positive."""
    for setting, values in (("kernel_size", kernel_size), ("dilation", dilation), ("stride", stride)):
        if any(v <= 0 for v in values):
            raise ValueError(f"{name}: {setting} must be positive, got {values}")


def window_counts(name, spatial, kernel_size, dilation, pairs, stride):
    """The number of windows along each dim; an error when the kernel does not fit the padded input."""
    counts = windows.block_counts(spatial, kernel_size, dilation, pairs, stride)
    if any(c < 1 for c in counts):
        padded = tuple(size + a + b for size, (a, b) in zip(spatial, pairs))
        effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
        raise ValueError(f"{name}: the padded input of spatial size {padded} is smaller than the (dilated) kernel "
                         f"{effective}: no window fits (input {tuple(spatial)}, kernel_size={kernel_size}, "
                         f"dilation={dilation}, padding={pairs}, stride={stride})")
    return counts


def as_batch(name, input, dims):
    """``(input as a tensor with a batch dim, whether it had one)``: a ``(C, *spatial)`` input is one
    unbatched sample, as in PyTorch, and gets a batch dim of 1 (``as_given`` takes it off again)."""
    input = _tensor(input)
    if input.ndim == dims + 2:
        return input, True
    if input.ndim == dims + 1:
        return functions.unsqueeze(input, 0), False
    raise ValueError(f"{name}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) input, got input of "
                     f"shape {tuple(input.shape)}")


def as_given(out, batched):
    """``out`` without the batch dim that ``as_batch`` added to an unbatched input."""
    return out if batched else functions.squeeze(out, 0)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Every sliding window of an image batch as a column (im2col): ``(N, C, H, W)`` to
    ``(N, C * kh * kw, L)``, L the number of windows; ``(C, H, W)`` gives ``(C * kh * kw, L)``."""
    x, batched = as_batch("unfold", input, 2)
    kernel_size = per_dim("unfold", "kernel_size", kernel_size, 2)
    dilation, stride = per_dim("unfold", "dilation", dilation, 2), per_dim("unfold", "stride", stride, 2)
    check_settings("unfold", kernel_size, dilation, stride)
    pairs = padding_pairs("unfold", padding, kernel_size, dilation, stride)
    window_counts("unfold", x.shape[2:], kernel_size, dilation, pairs, stride)
    out = windows.unfold(x, kernel_size=kernel_size, dilation=dilation, padding=pairs, stride=stride)
    return as_given(out, batched)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns back into an image (col2im), the adjoint of ``unfold``: ``(N, C * kh * kw, L)`` to
    ``(N, C, *output_size)``, each pixel the sum of the windows that cover it."""
    columns = _tensor(input)
    batched = columns.ndim == 3
    if columns.ndim not in (2, 3):
        raise ValueError(f"fold: expected a 2-D (unbatched) or 3-D (batched) input, got shape {tuple(columns.shape)}")
    if not batched:
        columns = functions.unsqueeze(columns, 0)
    output_size = per_dim("fold", "output_size", output_size, 2)
    kernel_size = per_dim("fold", "kernel_size", kernel_size, 2)
    dilation, stride = per_dim("fold", "dilation", dilation, 2), per_dim("fold", "stride", stride, 2)
    check_settings("fold", kernel_size, dilation, stride)
    pairs = padding_pairs("fold", padding, kernel_size, dilation, stride)
    counts = window_counts("fold", output_size, kernel_size, dilation, pairs, stride)
    blocks = math.prod(kernel_size)
    if columns.shape[1] % blocks:
        raise ValueError(f"fold: expected size of input's dimension 1 to be divisible by the product of "
                         f"kernel_size {kernel_size}, but got input of shape {tuple(columns.shape)}")
    if columns.shape[2] != math.prod(counts):
        raise ValueError(f"fold: given output_size={output_size}, kernel_size={kernel_size}, dilation={dilation}, "
                         f"padding={pairs}, stride={stride}, expected size of input's dimension 2 to match the "
                         f"number of sliding blocks {' * '.join(map(str, counts))} = {math.prod(counts)}, but got "
                         f"input of shape {tuple(columns.shape)}")
    out = windows.fold(columns, output_size=output_size, kernel_size=kernel_size, dilation=dilation, padding=pairs,
                       stride=stride)
    return as_given(out, batched)


def _check_weight(name, x, weight, bias, dims, groups, transposed):
    if weight.ndim != dims + 2:
        raise ValueError(f"{name}: expected a {dims + 2}-D weight, got weight of shape {tuple(weight.shape)}")
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    in_channels = weight.shape[0] if transposed else weight.shape[1] * groups
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if x.shape[1] != in_channels:
        layout = ("(in_channels, out_channels/groups, *kernel)" if transposed
                  else "(out_channels, in_channels/groups, *kernel)")
        raise ValueError(f"{name}: weight of shape {tuple(weight.shape)} {layout}, groups={groups}, expects "
                         f"input with {in_channels} channels, but got input of shape {tuple(x.shape)}")
    if (weight.shape[0] if transposed else out_channels) % groups:
        raise ValueError(f"{name}: {'in' if transposed else 'out'}_channels {weight.shape[0]} must be divisible by "
                         f"groups={groups}")
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"{name}: expected bias of shape ({out_channels},), got {tuple(bias.shape)}")
    return out_channels


def _add_bias(out, bias, dims):
    if bias is None:
        return out
    return out + functions.reshape(bias, (bias.shape[0],) + (1,) * dims)


def convolution(name, dims, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The convolution behind ``conv1d`` and ``conv2d`` (``dims`` spatial dims): unfold, then one product."""
    x, batched = as_batch(name, input, dims)
    weight, bias = _tensor(weight), None if bias is None else _tensor(bias)
    out_channels = _check_weight(name, x, weight, bias, dims, groups, transposed=False)
    kernel_size = tuple(weight.shape[2:])
    stride, dilation = per_dim(name, "stride", stride, dims), per_dim(name, "dilation", dilation, dims)
    check_settings(name, kernel_size, dilation, stride)
    pairs = padding_pairs(name, padding, kernel_size, dilation, stride)
    counts = window_counts(name, x.shape[2:], kernel_size, dilation, pairs, stride)
    columns = windows.unfold(x, kernel_size=kernel_size, dilation=dilation, padding=pairs, stride=stride)
    n, length = x.shape[0], math.prod(counts)
    if groups == 1:
        out = linalg.matmul(functions.reshape(weight, (out_channels, -1)), columns)
    else:  # each group's filters see only their group's channels: a batch of products, one per group
        columns = functions.reshape(columns, (n, groups, -1, length))
        out = linalg.matmul(functions.reshape(weight, (groups, out_channels // groups, -1)), columns)
    out = functions.reshape(out, (n, out_channels) + counts)
    return as_given(_add_bias(out, bias, dims), batched)


def convolution_transpose(name, dims, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                          dilation=1):
    """The transposed convolution behind ``conv_transpose1d/2d``: one product, then ``fold``.

    It is the gradient of ``convolution`` with respect to its input, so it maps a convolution's output
    shape back to its input shape; ``output_padding`` adds rows at the end where several sizes map there.
    """
    x, batched = as_batch(name, input, dims)
    weight, bias = _tensor(weight), None if bias is None else _tensor(bias)
    _check_weight(name, x, weight, bias, dims, groups, transposed=True)
    kernel_size = tuple(weight.shape[2:])
    stride, dilation = per_dim(name, "stride", stride, dims), per_dim(name, "dilation", dilation, dims)
    output_padding = per_dim(name, "output_padding", output_padding, dims)
    check_settings(name, kernel_size, dilation, stride)
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int or {dims} ints, got {padding!r}")
    pairs = padding_pairs(name, padding, kernel_size, dilation, stride)
    for op, s, d in zip(output_padding, stride, dilation):
        if not 0 <= op < max(s, d):
            raise ValueError(f"{name}: output_padding must be smaller than either stride or dilation, got "
                             f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    spatial = tuple(x.shape[2:])
    output_size = tuple((size - 1) * s - a - b + d * (k - 1) + op + 1
                        for size, s, (a, b), d, k, op in zip(spatial, stride, pairs, dilation, kernel_size,
                                                              output_padding))
    if any(size < 1 for size in output_size):
        raise ValueError(f"{name}: input of shape {tuple(x.shape)} with padding={pairs} gives an output of size "
                         f"{output_size}: every size must be positive")
    n, length = x.shape[0], math.prod(spatial)
    in_per_group = weight.shape[0] // groups
    # weight (C_in, C_out/g, *k) as (g, C_out/g * prod(k), C_in/g): each group's product gives its columns
    weight_t = functions.transpose(functions.reshape(weight, (groups, in_per_group, -1)), -1, -2)
    columns = linalg.matmul(weight_t, functions.reshape(x, (n, groups, in_per_group, length)))
    columns = functions.reshape(columns, (n, -1, length))
    out = windows.fold(columns, output_size=output_size, kernel_size=kernel_size, dilation=dilation, padding=pairs,
                       stride=stride)
    return as_given(_add_bias(out, bias, dims), batched)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation, as in PyTorch) of ``(N, C_in, L)`` with ``(C_out, C_in/groups, k)``."""
    return convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in PyTorch) of ``(N, C_in, H, W)`` with
    ``(C_out, C_in/groups, kh, kw)``; ``padding`` may be ``'same'`` or ``'valid'``."""
    return convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution of ``(N, C_in, L)`` with ``(C_in, C_out/groups, k)``."""
    return convolution_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                                 dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution of ``(N, C_in, H, W)`` with ``(C_in, C_out/groups, kh, kw)``."""
    return convolution_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                                 dilation)


__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]

