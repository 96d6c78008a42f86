"""Where tensors without a gradient enter a graph: the candidates for the place it was cut.

A graph does not remember how a tensor lost its gradient, so each entry is classified from what it is:
a view of the parameter's own memory is a ``detach()`` of it; a bool tensor is a comparison; an
integer tensor is an argmax/argmin or an integer cast; any other float tensor was computed under
``no_grad()``, detached, or is a plain input. The likeliest cuts are listed first.
"""
from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor
from .causes import op_text

CUT_RANK = {"detached": 0, "comparison": 1, "integer": 1, "no_grad_or_detached": 2, "array": 3, "freed": 4}


@dataclass(frozen=True)
class Cut:
    """A place where a tensor that does not require grad feeds op ``node`` (input ``index`` or a kwarg)."""

    node: object
    where: str
    kind: str
    text: str

    def __str__(self):
        return f"{op_text(self.node)}, {self.where}: {self.text}"


def _describe(value, param, names):
    name = names.get(id(value))
    array = value._array if isinstance(value, Tensor) else np.asarray(value)
    what = f"{name!r} " if name else ""
    shape = f"{what}({array.dtype}, shape {tuple(array.shape)})"
    if np.shares_memory(array, param._array):
        return "detached", f"{shape} shares memory with the parameter: a detach() or .data of it"
    if array.dtype == np.bool_:
        return "comparison", (f"{shape} is a bool tensor, e.g. a comparison (>, ==...): comparisons have no "
                              f"gradient")
    if np.issubdtype(array.dtype, np.integer):
        return "integer", (f"{shape} is an integer tensor, e.g. from argmax/argmin or an integer cast: integers "
                           f"carry no gradient")
    if not isinstance(value, Tensor):
        return "array", f"{shape} is a NumPy array, a constant"
    return "no_grad_or_detached", (f"{shape} does not require grad: computed under no_grad(), detach()ed, "
                                   f"or a plain input")


def find_cuts(nodes, param, names):
    """Every tensor input (and array-valued setting, e.g. an index) without gradient, likeliest cut first."""
    cuts = []
    for node in nodes:
        if node.inputs is None:
            cuts.extend(Cut(node, f"input {i}", "freed", "does not require grad (graph freed: values unknown)")
                        for i, edge in enumerate(node.edges) if edge is None)
            continue
        for i, (edge, value) in enumerate(zip(node.edges, node.inputs)):
            if edge is None and isinstance(value, (Tensor, np.ndarray)) and np.ndim(value) > 0:
                kind, text = _describe(value, param, names)
                cuts.append(Cut(node, f"input {i}", kind, text))
        for key, value in node.kwargs.items():
            if (isinstance(value, np.ndarray) and value.ndim > 0 or
                    isinstance(value, Tensor) and not value.requires_grad):
                kind, text = _describe(value, param, names)
                cuts.append(Cut(node, f"{key}=", kind, text))
            elif isinstance(value, tuple):
                for part in value:
                    if isinstance(part, np.ndarray) and part.ndim > 0:
                        kind, text = _describe(part, param, names)
                        cuts.append(Cut(node, f"{key}=", kind, text))
    cuts.sort(key=lambda c: CUT_RANK[c.kind])
    return cuts
