"""``Linear`` (a fully connected layer) and ``Identity``."""
import math

import numpy as np

import microgradnp as mg

from .. import init
from ..module import Module
from ..parameter import Parameter


class Linear(Module):
    """y = x @ weight.T + bias, with ``weight`` of shape (out_features, in_features) as in PyTorch.

    Initialised as PyTorch does: weight ~ U(-1/sqrt(in_features), 1/sqrt(in_features)) (kaiming-uniform
    with a=sqrt(5)) and bias from the same range.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ValueError(f"Linear: {what} must be a non-negative int, got {n!r}")
        self.in_features = in_features
        self.out_features = out_features
        dtype = dtype or mg.get_default_dtype()
        self.weight = Parameter(mg.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(mg.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw fresh weights and bias with PyTorch's default initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        """Apply the affine map to the last dimension of ``input``."""
        params = self._parameters  # one dict lookup instead of two trips through Module.__getattr__
        try:
            return mg.linear(input, params["weight"], params["bias"])
        except ValueError:
            # the op checks the shapes anyway: the layer only says which layer it was, when that was the problem
            if np.shape(input)[-1:] != (self.in_features,):
                raise ValueError(f"Linear(in_features={self.in_features}, out_features={self.out_features}): input "
                                 f"of shape {tuple(np.shape(input))} does not end with {self.in_features} "
                                 f"features") from None
            raise

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to replace a final activation)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):  # noqa: A002
        """Return ``input``."""
        return input
