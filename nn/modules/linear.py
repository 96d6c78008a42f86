"""``Linear`` (a fully connected layer) and ``Identity``."""
import math

import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of

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
        if array_of(out).dtype is not array_of(weight).dtype:
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


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (a lazy layer's, before its first call).

    It holds no values (an empty array) until ``materialize(shape)`` gives it its shape, in place: it then
    becomes an ordinary ``Parameter``, the same object, so an optimizer built before the first call
    trains it. Unlike PyTorch's, reading its shape or using it in ops before that is not an error: it is
    an empty tensor.
    """

    __slots__ = ()
    _uninitialized = True  # read by Module.load_state_dict, which materializes it from a checkpoint

    def __init__(self, requires_grad=True, dtype=None):
        super().__init__(mg.empty(0, dtype=dtype or mg.get_default_dtype()), requires_grad=requires_grad)

    def materialize(self, shape, dtype=None, order="C"):
        """Give the parameter ``shape`` (uninitialised values) and make it a plain ``Parameter``."""
        array = np.empty(shape, np.dtype(dtype or self.dtype), order=order)
        with mg.no_grad():
            self.data = mg.from_numpy(array)
        self.__class__ = Parameter

    def __repr__(self):
        return "<UninitializedParameter>"


class LazyLinear(Linear):
    """A ``Linear`` layer whose ``in_features`` is read from its first input (the last dimension).

    Until that first call ``in_features`` is 0 and ``weight`` and ``bias`` are ``UninitializedParameter``s;
    the call gives them their shapes, draws them with ``Linear``'s initialisation, and the module becomes a
    ``Linear`` (``type(layer) is nn.Linear``), as in PyTorch. Loading a ``state_dict`` first gives the
    parameters the checkpoint's shapes instead.
    """

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        if not isinstance(out_features, int) or isinstance(out_features, bool) or out_features < 0:
            raise ValueError(f"LazyLinear: out_features must be a non-negative int, got {out_features!r}")
        self.in_features = 0
        self.out_features = out_features
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        """Draw fresh weights and bias, once they have their shapes."""
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def has_uninitialized_params(self):
        """Whether a parameter still waits for its shape."""
        return any(isinstance(p, UninitializedParameter) for p in self._parameters.values())

    def initialize_parameters(self, input):
        """Give the parameters their shapes from ``input`` and initialise them."""
        if self.has_uninitialized_params():
            if np.ndim(input) == 0:
                raise ValueError("LazyLinear: the input must have at least one dimension (its last is "
                                 "in_features), got a 0-d tensor")
            self.in_features = np.shape(input)[-1]
            self.weight.materialize((self.out_features, self.in_features),
                                    order=_weight_order(self.in_features, self.out_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        elif self.in_features == 0:  # loaded from a state_dict: the weight knows the size
            self.in_features = self.weight.shape[1]

    def forward(self, input):
        """Initialise from ``input`` at the first call, become a ``Linear``, and apply it."""
        self.initialize_parameters(input)
        self.__class__ = self.cls_to_become
        return self.forward(input)
