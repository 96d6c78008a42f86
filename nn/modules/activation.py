"""Activation layers: thin modules around ``nn.functional``'s forward-only activations."""
import microgradnp as mg

from .. import functional as F
from ..module import Module
from ..parameter import Parameter


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


class _Inplace(Module):
    """An activation without settings other than ``inplace`` (accepted for PyTorch compatibility; the
    output is always a new tensor)."""

    _function = None  # the nn.functional activation, set by each subclass

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        """Apply the activation."""
        return type(self)._function(input)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return "inplace=True" if self.inplace else ""


class SiLU(_Inplace):
    """x * sigmoid(x) (also called swish)."""

    _function = staticmethod(F.silu)


class Mish(_Inplace):
    """x * tanh(softplus(x))."""

    _function = staticmethod(F.mish)


class Hardswish(_Inplace):
    """x * relu6(x + 3) / 6."""

    _function = staticmethod(F.hardswish)


class Hardsigmoid(_Inplace):
    """relu6(x + 3) / 6."""

    _function = staticmethod(F.hardsigmoid)


class SELU(_Inplace):
    """scale * elu(x, alpha) with the fixed constants of self-normalising networks."""

    _function = staticmethod(F.selu)


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        """Apply the activation."""
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """``input`` clipped to [min_val, max_val] (default [-1, 1])."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, "
                             f"max_val={max_val}")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input):
        """Apply the activation."""
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return "inplace=True" if self.inplace else ""


class PReLU(Module):
    """``input`` where positive, ``weight * input`` elsewhere, with learnable slopes ``weight``: one
    (``num_parameters=1``) or one per channel (dimension 1 of the input), all starting at ``init``."""

    def __init__(self, num_parameters=1, init=0.25, dtype=None):
        super().__init__()
        if not isinstance(num_parameters, int) or isinstance(num_parameters, bool) or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive int, got {num_parameters!r}")
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(mg.empty(num_parameters, dtype=dtype or mg.get_default_dtype()))
        self.reset_parameters()

    def reset_parameters(self):
        """Set every slope back to ``init``."""
        with mg.no_grad():
            self.weight.fill_(self.init)

    def forward(self, input):
        """Apply the activation."""
        return F.prelu(input, self.weight)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"num_parameters={self.num_parameters}"


class Softmax2d(Module):
    """Softmax over the channels (dimension -3) of a (C, H, W) or (N, C, H, W) input."""

    def forward(self, input):
        """Apply softmax over the channel dimension."""
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return F.softmax(input, -3)


class LogSigmoid(Module):
    """log(sigmoid(x)), computed stably."""

    def forward(self, input):
        """Apply the activation."""
        return F.logsigmoid(input)


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, input):
        """Apply the activation."""
        return F.softsign(input)


class CELU(Module):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        """Apply the activation."""
        return F.celu(input, self.alpha)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")
