"""``Dropout`` (elements) and ``Dropout1d``/``Dropout2d`` (whole channels): inverted dropout in training,
the identity in evaluation mode."""
from .. import functional as F
from ..module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by 1 / (1 - p)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        """Drop elements when training; return ``input`` unchanged in eval mode."""
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zero whole channels of ``(N, C, L)`` with probability ``p`` in training, scaling the rest by 1 / (1 - p)."""

    def forward(self, input):
        """Drop channels when training; return ``input`` unchanged in eval mode."""
        return F.dropout1d(input, self.p, self.training)


class Dropout2d(Dropout):
    """Zero whole feature maps of ``(N, C, H, W)`` with probability ``p`` in training, scaling the rest by
    1 / (1 - p) (neighbouring pixels are correlated, so dropping single ones regularises little)."""

    def forward(self, input):
        """Drop channels when training; return ``input`` unchanged in eval mode."""
        return F.dropout2d(input, self.p, self.training)
