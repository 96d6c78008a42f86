"""Pooling layers: max, average and adaptive average pooling over 1-D and 2-D inputs (``F.*_pool*d``)."""
from .. import functional as F
from ..module import Module


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The maximum of each window of ``(N, C, L)``; ``return_indices`` also gives where each came from."""

    def forward(self, input):
        """Pool ``input`` (returns ``(output, indices)`` when ``return_indices``)."""
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """The maximum of each window of ``(N, C, H, W)`` (stride defaults to ``kernel_size``); the gradient
    goes to each window's first largest element, as in PyTorch."""

    def forward(self, input):
        """Pool ``input`` (returns ``(output, indices)`` when ``return_indices``)."""
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AvgPool1d(Module):
    """The mean of each window of ``(N, C, L)``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = stride if stride is not None else kernel_size
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        """Pool ``input``."""
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """The mean of each window of ``(N, C, H, W)`` (zero padding counted unless ``count_include_pad=False``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = stride if stride is not None else kernel_size
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, input):
        """Pool ``input``."""
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Average pooling of ``(N, C, L)`` to ``(N, C, output_size)`` whatever ``L`` is."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        """Pool ``input`` to ``output_size``."""
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """Average pooling of ``(N, C, H, W)`` to ``(N, C, *output_size)`` whatever ``H`` and ``W`` are
    (``(1, 1)`` is the global average pooling before a classifier)."""

    def forward(self, input):
        """Pool ``input`` to ``output_size``."""
        return F.adaptive_avg_pool2d(input, self.output_size)
