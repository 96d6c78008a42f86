"""What a recorded op leaves in the graph (``Node``), and the optional recording of where it was made.

A ``Node`` is made by ``apply`` (``autograd/apply.py``) when a primitive runs on a tensor that requires
grad. It remembers the primitive, what the primitive's VJPs will need, and one *edge* per input: where
that input's gradient goes. The backward pass (``autograd/engine.py``) walks the edges.

Recording (``record()``, ``scope()``) is for debugging: nodes made inside remember the user's line of code
and the module that made them, which ``mg.viz.draw_graph`` and ``detect_anomaly`` show.
"""
import os
import sys
import threading
from contextlib import contextmanager


class _OneInput:
    """The type of ONE_INPUT."""

    __slots__ = ()

    def __repr__(self):
        return "ONE_INPUT"


ONE_INPUT = _OneInput()
"""``Node.edge1`` of an op with one input: it has no second edge (None would be an input without one)."""


class Node:
    """What one primitive application leaves in the graph.

    ``edges[i]`` is where the gradient of input ``i`` goes: the input's own node, the input itself when
    it is a leaf that requires grad, or None. ``args[i]`` is input ``i``'s value (its array). ``inputs[i]``
    is the input as given (a Tensor or a constant), except that it is None where ``edges[i]`` already
    leads to the input and no VJP that will run reads its value (the primitive's ``reads``): holding
    those Tensors would only keep them alive and give Python's garbage collector more to scan.
    ``version`` sums the versions of the Tensors kept, so that the backward pass can tell when one was
    changed in place since (None: nothing to check). ``inputs``, ``args`` and ``out`` are freed after
    backward unless the graph is retained; ``edges`` and ``fn`` stay so the structure can still be drawn.

    ``out`` is what the VJPs get as ``ans``: the output when the primitive reads it, its saved
    intermediate result for a primitive that returns one (see ``Primitive.returns_saved``), else None.
    ``pending`` belongs to the fast backward pass (its count of consumers yet to send a gradient).
    ``exact_grads`` is True when the VJPs are known to return each gradient in its input's shape and
    dtype, so the backward pass need not check them.
    """

    # The edges live in slots, not in a tuple of their own: a tuple that holds nodes is one more object
    # per op for Python's garbage collector to rescan, and on a graph of a million ops the collector's
    # full scans would cost more than the ops themselves. ``edge1`` is ONE_INPUT for an op of one input;
    # ``more_edges`` holds the edges of a third input onwards (None for one or two inputs).
    __slots__ = ("fn", "inputs", "args", "edge0", "edge1", "more_edges", "kwargs", "out", "version", "extra",
                 "pending", "exact_grads", "__weakref__")

    def __init__(self, fn, inputs, args, edges, kwargs, out, version, exact_grads=False):
        self.fn = fn
        self.inputs = inputs
        self.args = args
        self.edge0 = edges[0]
        self.edge1 = edges[1] if len(edges) > 1 else ONE_INPUT
        self.more_edges = tuple(edges[2:]) if len(edges) > 2 else None
        self.kwargs = kwargs
        self.out = out
        self.version = version
        self.extra = None
        self.pending = 0
        self.exact_grads = exact_grads
        if _recording.depth:
            annotate(self)

    @property
    def name(self):
        """The op's name, e.g. ``matmul``."""
        return self.fn.name

    @property
    def edges(self):
        """One edge per input, as a tuple (see the class docstring)."""
        if self.edge1 is ONE_INPUT:
            return (self.edge0,)
        if self.more_edges is None:
            return (self.edge0, self.edge1)
        return (self.edge0, self.edge1) + self.more_edges

    @property
    def output(self):
        """The op's output array, if the node keeps it for its VJPs (else None).

        ``out`` holds whatever the VJPs get as ``ans``: for a primitive that returns a saved
        intermediate result, that result, not the output.
        """
        return None if self.fn.returns_saved else self.out

    @property
    def freed(self):
        """True once backward has released the saved values (no ``retain_graph``)."""
        return self.args is None

    @property
    def next_functions(self):
        """The edges, as PyTorch names them."""
        return self.edges

    def info(self, key, default=None):
        """Debug information recorded for this node (``trace``, ``scope``, ``hooks``...)."""
        return default if self.extra is None else self.extra.get(key, default)

    def set_info(self, key, value):
        """Attach debug information; kept off the hot path until something asks for it."""
        if self.extra is None:
            self.extra = {}
        self.extra[key] = value

    def __repr__(self):
        return f"<{self.fn.name}Backward>"


# ----------------------------------------------------------------------------------------------------
# Recording of creation sites and module scopes (debug only: it costs time on every op).

class _RecordingState(threading.local):
    depth = 0  # class attributes are each thread's starting values
    scopes = None


_recording = _RecordingState()

_ENGINE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# nn ships beside the engine; a creation site inside either is library code, not the user's line
_LIBRARY_DIRS = (_ENGINE_DIR + os.sep, os.path.join(os.path.dirname(_ENGINE_DIR), "nn") + os.sep)


def is_recording():
    """True while nodes remember the user code line and the module scope that created them."""
    return _recording.depth > 0


@contextmanager
def record():
    """Context manager: nodes created inside remember their file/line and module scope.

    ``mg.viz.draw_graph`` shows both; ``detect_anomaly`` turns this on to name where a NaN came from.
    """
    _recording.depth = _recording.depth + 1
    try:
        yield
    finally:
        _recording.depth -= 1


@contextmanager
def scope(name):
    """Name the scope (e.g. a module's dotted name) for nodes created inside while recording."""
    stack = _recording.scopes
    if stack is None:
        stack = _recording.scopes = []
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()


def current_scope():
    """The tuple of scope names in force now."""
    return tuple(_recording.scopes or ())


def user_frame():
    """(filename, lineno, function) of the innermost caller outside the engine, or None."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_LIBRARY_DIRS) and "contextlib" not in filename:
            return (filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


def annotate(node):
    """Record where ``node`` was made (called for each node made while recording)."""
    node.set_info("trace", user_frame())
    node.set_info("scope", current_scope())
