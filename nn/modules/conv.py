"""Convolution layers: ``Conv1d``, ``Conv2d`` and their transposes, with PyTorch's parameters and defaults.

The layers hold the weight and bias and call ``F.conv*d``; the gradient of a convolution comes from the
engine (``unfold`` and a matrix product), never from a backward pass written for the layer.
"""
import math

import microgradnp as mg

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolution layers share: settings, parameters and PyTorch's initialisation."""

    dims = 0
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", output_padding=0, dtype=None):
        super().__init__()
        name = type(self).__name__
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"{name}: {what} must be a positive int, got {n!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels must be divisible by groups, got {in_channels} and {groups}")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels must be divisible by groups, got {out_channels} and {groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        per_dim = mg.convolution.per_dim
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = per_dim(name, "kernel_size", kernel_size, self.dims)
        self.stride = per_dim(name, "stride", stride, self.dims)
        self.dilation = per_dim(name, "dilation", dilation, self.dims)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = per_dim(name, "padding", padding, self.dims)
        self.output_padding = per_dim(name, "output_padding", output_padding, self.dims)
        self.groups = groups
        self.padding_mode = padding_mode
        dtype = dtype or mg.get_default_dtype()
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(mg.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(mg.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming-uniform with a=sqrt(5)),
        bias from the same range; fan_in is ``weight.shape[1] * prod(kernel_size)``."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _padded(self, input):
        # a padding_mode other than zeros: the input is padded first (reflected, repeated or wrapped), and
        # the convolution itself pads nothing
        pairs = mg.convolution.padding_pairs(type(self).__name__, self.padding, self.kernel_size, self.dilation,
                                             self.stride)
        flat = [width for pair in reversed(pairs) for width in pair]  # PyTorch's order: last dim first
        return F.pad(input, flat, mode=self.padding_mode)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``, as PyTorch shows them."""
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype=dtype)

    def forward(self, input):
        """Convolve ``input`` (batched or one unbatched sample) with the layer's filters."""
        function = F.conv1d if self.dims == 1 else F.conv2d
        if self.padding_mode != "zeros":
            return function(self._padded(input), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return function(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution over ``(N, C_in, L)`` (or ``(C_in, L)``): weight ``(out_channels,
    in_channels/groups, kernel_size)``, bias ``(out_channels,)``."""

    dims = 1


class Conv2d(_Conv):
    """2-D convolution over ``(N, C_in, H, W)`` (or ``(C_in, H, W)``): weight ``(out_channels,
    in_channels/groups, kh, kw)``, bias ``(out_channels,)``; ``padding`` may be ``'same'`` or ``'valid'``."""

    dims = 2


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only 'zeros' padding mode is supported, got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, dtype=dtype)

    def forward(self, input, output_size=None):
        """The transposed convolution of ``input``; ``output_size`` picks ``output_padding`` to reach it."""
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input, output_size)
        function = F.conv_transpose1d if self.dims == 1 else F.conv_transpose2d
        return function(input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                        self.dilation)

    def _output_padding_for(self, input, output_size):
        sizes = tuple(output_size)[-self.dims:]
        spatial = tuple(input.shape)[-self.dims:]
        smallest = tuple((size - 1) * s - 2 * p + d * (k - 1) + 1
                         for size, s, p, d, k in zip(spatial, self.stride, self.padding, self.dilation,
                                                     self.kernel_size))
        padding = tuple(want - low for want, low in zip(sizes, smallest))
        if any(not 0 <= p < s for p, s in zip(padding, self.stride)):
            raise ValueError(f"{type(self).__name__}: requested an output size of {sizes}, but valid sizes range "
                             f"from {smallest} to {tuple(low + s - 1 for low, s in zip(smallest, self.stride))} "
                             f"(for an input of {spatial})")
        return padding


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution over ``(N, C_in, L)``: weight ``(in_channels, out_channels/groups,
    kernel_size)``; the gradient of ``Conv1d`` with respect to its input, as a layer."""

    dims = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution over ``(N, C_in, H, W)``: weight ``(in_channels, out_channels/groups,
    kh, kw)``; the gradient of ``Conv2d`` with respect to its input, as a layer (upsampling decoders)."""

    dims = 2
