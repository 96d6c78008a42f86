"""The recorded graph, as user code sees it: ``mg.autograd.graph``.

    with mg.autograd.graph.record():      # nodes remember the line and module that made them
        loss = model(x)
    loss.grad_fn                           # a Node: .name, .edges (.next_functions), .info("trace")
    mg.autograd.graph.increment_version(p) # after writing into p.numpy() directly
    array_of(p)                            # p.numpy(), without a Python call: for optimizers' loops

``array_of`` is ``operator.attrgetter`` of the tensor's array: the same ndarray as ``t.numpy()``, read at
the cost of an attribute, for loops that run once per parameter per step.

The pieces live where they are made: ``Node`` and the recording in ``node.py``, ``Primitive`` and the
table of primitives in ``primitive.py``, the version counter in ``tensor.py``.
"""
import operator

from ..tensor import increment_version
from .node import ONE_INPUT, Node, current_scope, is_recording, record, scope, user_frame
from .primitive import PRIMITIVES, Primitive, primitive

__all__ = ["Node", "ONE_INPUT", "record", "scope", "current_scope", "is_recording", "user_frame",
           "PRIMITIVES", "Primitive", "primitive", "increment_version", "array_of"]

array_of = operator.attrgetter("_array")
