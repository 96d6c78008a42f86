"""``Parameter``: a tensor that a ``Module`` registers as one of its learnable weights."""
import microgradnp as mg


class Parameter(mg.Tensor):
    """A ``Tensor`` that requires grad by default and is registered when assigned to a ``Module`` attribute.

    ``Parameter(t)`` shares ``t``'s data (no copy), as in PyTorch. Results of operations on a parameter are
    plain tensors, so only the weights themselves are parameters.
    """

    # Tensor declares __slots__; an empty tuple keeps instances dict-free and as small as a Tensor
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = mg.empty(0)
        super().__init__(data.numpy() if isinstance(data, mg.Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
