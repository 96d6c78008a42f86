"""``Upsample``: resize by nearest neighbour or (bi)linear interpolation (``F.interpolate``)."""
from .. import functional as F
from ..module import Module


class Upsample(Module):
    """Resize ``(N, C, L)`` or ``(N, C, H, W)`` to ``size``, or by ``scale_factor``; ``mode`` is
    ``'nearest'``, ``'nearest-exact'``, ``'linear'`` or ``'bilinear'``."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
        super().__init__()
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) else scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        """The resized ``input``."""
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        what = f"scale_factor={self.scale_factor}" if self.scale_factor is not None else f"size={self.size}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(..., mode='nearest')`` for 2-D inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(..., mode='bilinear', align_corners=True)`` for 2-D inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
