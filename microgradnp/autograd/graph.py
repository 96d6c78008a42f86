"""The recorded graph, as user code sees it: ``mg.autograd.graph``.

    with mg.autograd.graph.record():      # nodes remember the line and module that made them
        loss = model(x)
    loss.grad_fn                           # a Node: .name, .edges (.next_functions), .info("trace")
    mg.autograd.graph.increment_version(p) # after writing into p.numpy() directly

The pieces live where they are made: ``Node`` and the recording in ``node.py``, ``Primitive`` and the
table of primitives in ``primitive.py``, the version counter in ``tensor.py``.
"""
from ..tensor import increment_version
from .node import ONE_INPUT, Node, current_scope, is_recording, record, scope, user_frame
from .primitive import PRIMITIVES, Primitive, primitive

__all__ = ["Node", "ONE_INPUT", "record", "scope", "current_scope", "is_recording", "user_frame",
           "PRIMITIVES", "Primitive", "primitive", "increment_version"]
