"""The recorded graph, as user code sees it: ``mg.autograd.graph``.

    with mg.autograd.graph.record():      # nodes remember the line and module that made them
        loss = model(x)
    loss.grad_fn                           # a Node: .name, .edges (.next_functions), .info("trace")
    mg.autograd.graph.increment_version(p) # after writing into p.numpy() directly
    array_of(p)                            # p.numpy(), without a Python call: for optimizers' loops
    grad_of(p)                             # p.grad, the same, without the property
    clear_grads(params)                    # p.grad = None for each, in one call: zero_grad()

``array_of`` is ``operator.attrgetter`` of the tensor's array: the same ndarray as ``t.numpy()``, read at
the cost of an attribute, for loops that run once per parameter per step. ``grad_of`` is the same for
``.grad`` (the property warns when a non-leaf's is read; ``grad_of`` never does).

The pieces live where they are made: ``Node`` and the recording in ``node.py``, ``Primitive`` and the
table of primitives in ``primitive.py``, the version counter in ``tensor.py``.
"""
import operator

from ..capture import capture_state, hooks_changed, replayable
from ..tensor import increment_version
from .node import ONE_INPUT, Node, current_scope, is_recording, record, scope, user_frame
from .primitive import PRIMITIVES, Primitive, primitive

__all__ = ["Node", "ONE_INPUT", "record", "scope", "current_scope", "is_recording", "user_frame",
           "PRIMITIVES", "Primitive", "primitive", "increment_version", "array_of",
           "grad_of", "clear_grads", "replayable", "capturing", "capture_state", "note_hooks_changed"]

array_of = operator.attrgetter("_array")
grad_of = operator.attrgetter("_grad")


def clear_grads(tensors):
    """Set the ``.grad`` of every tensor in ``tensors`` to None, as ``optimizer.zero_grad()`` does each step
    (one call for a whole parameter group, not a property assignment per parameter). A compiled step's
    capture notes the cleared tensors: their ``.grad`` is None at this point of every replay."""
    for tensor in tensors:
        tensor._grad = None
    if capture_state.active is not None:
        capture_state.active.note_grads_cleared(tensors)


# ``capture_state.active`` is the capture in progress or None: library code tests it (one attribute read)
# and calls ``replayable`` only while it is set, so that its eager path costs no call.
_capture = capture_state


def capturing():
    """True while a compiled step is being captured (its first, eager call)."""
    return _capture.active is not None


def note_hooks_changed():
    """Say that a hook was registered or removed (module hooks call this; tensor hooks count themselves).

    A compiled step replays without running hooks: at its next call it looks whether the modules and
    tensors it uses now have hooks, and runs the step eagerly while they do. One integer increment.
    """
    hooks_changed[0] += 1


def set_capture(tape):
    """Start (``tape``) or stop (None) a capture; returns the previous one (``mg.compile``'s capture)."""
    previous = _capture.active
    _capture.active = tape
    for listener in _capture.listeners:
        listener(tape is not None)
    return previous
