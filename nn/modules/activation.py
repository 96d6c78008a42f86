"""Activation layers: thin modules around ``nn.functional``'s forward-only activations."""
import microgradnp as mg

from .. import functional as F
from ..module import Module


class ReLU(Module):
    """max(x, 0). ``inplace`` is accepted for PyTorch compatibility; the output is always a new tensor."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        """Apply the activation."""
        return mg.relu(input)  # what F.relu calls, one call less on every forward

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x where x > 0, else negative_slope * x (default slope 0.01, as in PyTorch)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        """Apply the activation."""
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, input):
        """Apply the activation."""
        return mg.sigmoid(input)  # what F.sigmoid calls, one call less on every forward


class Tanh(Module):
    """Hyperbolic tangent."""

    def forward(self, input):
        """Apply the activation."""
        return mg.tanh(input)  # what F.tanh calls, one call less on every forward


class GELU(Module):
    """x * Phi(x) (exact, with erf), or its tanh approximation with ``approximate='tanh'``."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        """Apply the activation."""
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """x where x > 0, else alpha * (exp(x) - 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        """Apply the activation."""
        return F.elu(input, self.alpha)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softmax(Module):
    """Softmax along ``dim`` (outputs sum to 1). For classification losses feed logits instead."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        """Apply softmax along ``dim``."""
        return F.softmax(input, self.dim)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably (pairs with ``NLLLoss``)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        """Apply log-softmax along ``dim``."""
        return F.log_softmax(input, self.dim)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"dim={self.dim}"
