"""``Linear`` (a fully connected layer) and ``Identity``."""
import math

import numpy as np

import microgradnp as mg

from .. import init
from ..functional.loss_checks import warn_if_float64_input
from ..module import Module
from ..parameter import Parameter

_TRANSPOSED_MIN = 4096  # weights from this many elements up are stored transposed (see _weight_order)


def _weight_order(in_features, out_features):
    """The memory order of a new weight: "F" (stored transposed) for all but small layers.

    The weight keeps PyTorch's shape (out_features, in_features). In Fortran order it is an
    (in_features, out_features) matrix in memory, and the forward product x @ weight.T multiplies two
    untransposed matrices, the form OpenBLAS runs faster than x times a transposed weight. The input's
    gradient g @ weight pays the other form instead, so a hidden layer comes out about even, a first
    layer (whose input needs no gradient) gains, and so does every forward pass run for inference. A
    small layer is bound by call overhead, where the weight gradient in Fortran order costs an extra
    call: it stays in C order. (The measurements behind this are dated in benchmarks/HISTORY.md.)
    """
    return "F" if in_features * out_features >= _TRANSPOSED_MIN else "C"


class Linear(Module):
    """y = x @ weight.T + bias, with ``weight`` of shape (out_features, in_features) as in PyTorch.

    Initialised as PyTorch does: weight ~ U(-1/sqrt(in_features), 1/sqrt(in_features)) (kaiming-uniform
    with a=sqrt(5)) and bias from the same range. A weight of 4096 elements or more is kept in Fortran
    order, which makes the forward product faster (see ``_weight_order``); its values and shape are
    PyTorch's.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ValueError(f"Linear: {what} must be a non-negative int, got {n!r}")
        self.in_features = in_features
        self.out_features = out_features
        dtype = dtype or mg.get_default_dtype()
        self.weight = Parameter(mg.from_numpy(np.empty((out_features, in_features), np.dtype(dtype),
                                                       order=_weight_order(in_features, out_features))))
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

    def forward(self, input):
        """Apply the affine map to the last dimension of ``input``."""
        params = self._parameters  # one dict lookup instead of two trips through Module.__getattr__
        weight = params["weight"]
        try:
            out = mg.linear(input, weight, params["bias"])
        except ValueError:
            # the op checks the shapes anyway: the layer only says which layer it was, when that was the problem
            if np.shape(input)[-1:] != (self.in_features,):
                raise ValueError(f"Linear(in_features={self.in_features}, out_features={self.out_features}): input "
                                 f"of shape {tuple(np.shape(input))} does not end with {self.in_features} "
                                 f"features") from None
            raise
        # the output has the weight's dtype unless the input brought another (float64 data into a float32
        # model): one identity test of two dtypes on the everyday step, the check itself only on a mismatch
        if out.dtype is not weight.dtype:
            warn_if_float64_input(input, weight, "nn.Linear")
        return out

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to replace a final activation)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        """Return ``input``."""
        return input
