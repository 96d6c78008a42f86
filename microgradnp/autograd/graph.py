"""The recorded graph: primitives, the nodes they leave behind, and how an op is applied.

A *primitive* is a NumPy forward function plus one vector-Jacobian product (VJP) per differentiable
input. It is the only place where a derivative is written. Applying a primitive to tensors runs the
forward on their ``.data`` and, when grad mode is on and an input requires grad, records a ``Node``
that remembers the inputs and the edges to their own nodes.

A VJP has the signature ``vjp(F, g, ans, *args, **kwargs)``: ``g`` is the gradient of the output,
``ans`` the output, ``args`` the inputs and ``F`` a namespace of primitives. A joint VJP (``defjoint``,
for fused ops) returns the gradients of all inputs at once and gets the node's ``edges`` before the
inputs, so that it computes only the gradients that go somewhere. During an ordinary
backward pass ``F`` holds the raw NumPy forwards and everything is an ndarray (fast); with
``create_graph=True`` it holds the primitives themselves and everything is a Tensor, so the same VJP
code records a differentiable graph and higher-order gradients come for free.
"""
import os
import sys
import threading
from contextlib import contextmanager

import numpy as np

from .. import grad_mode
from ..grad_mode import _state as _grad_state

PRIMITIVES = {}
"""Every differentiable primitive by name; the test suite checks that each has a gradient check."""

_ENGINE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# nn ships beside the engine; a creation site inside either is library code, not the user's line
_LIBRARY_DIRS = (_ENGINE_DIR + os.sep, os.path.join(os.path.dirname(_ENGINE_DIR), "nn") + os.sep)


class _RecordingState(threading.local):
    depth = 0  # class attributes are each thread's starting values
    scopes = None


_recording = _RecordingState()


class Primitive:
    """A NumPy forward function and its VJP rules, applied to Tensors by calling it."""

    __slots__ = ("name", "forward", "vjps", "joint_vjp", "saves_out", "reads_inputs", "keeps", "doc", "elementwise",
                 "ufunc_inputs", "exact_when_one_dtype")

    saves_aux = False  # see AuxPrimitive

    def __init__(self, name, forward, saves_out=False, reads_inputs=True, doc=None, elementwise=False):
        self.name = name
        self.forward = forward
        self.vjps = None
        self.joint_vjp = None
        self.saves_out = saves_out
        self.reads_inputs = reads_inputs
        # with per-input reads: for each set of inputs with an edge (a bit mask), which inputs to keep
        self.keeps = None if isinstance(reads_inputs, bool) else _keep_table(reads_inputs)
        self.doc = doc or forward.__doc__
        self.elementwise = elementwise  # see primitive()
        self.exact_when_one_dtype = False  # see primitive()
        # a ufunc takes its inputs, then output arrays: more arguments would be written into
        self.ufunc_inputs = forward.nin if isinstance(forward, np.ufunc) else None

    def defvjp(self, *vjps):
        """Attach one VJP per input (None for an input that is never differentiable)."""
        self.vjps = vjps
        return self

    def defjoint(self, vjp):
        """Attach one VJP returning a tuple of gradients for all inputs (for fused ops).

        Its signature is ``vjp(F, g, ans, edges, *args, **kwargs)``: input ``i``'s gradient is used only
        where ``edges[i] is not None``, and may be None elsewhere (e.g. the input batch of a first layer).
        One call instead of one per input saves a Python call per input on every backward pass.
        """
        self.joint_vjp = vjp
        return self

    def __call__(self, x, *more, **kwargs):
        # the first input named: one and two inputs, the everyday calls, skip building an argument tuple
        if not kwargs:
            if not more:
                return apply1(self, x)
            if len(more) == 1:
                return apply2(self, x, more[0])
        if self.ufunc_inputs is not None:  # the check off the everyday paths above, which call with less
            _check_inputs(self, self.ufunc_inputs, 1 + len(more), kwargs)
        if not kwargs and len(more) == 2:
            return apply3(self, x, more[0], more[1])
        return _apply_general(self, (x,) + more, kwargs or _NO_KWARGS)

    def __repr__(self):
        return f"<primitive {self.name}>"


def _check_inputs(prim, takes, given, kwargs):
    # a ufunc would take an extra input, or out=, as the array to write its result into, silently
    if kwargs:
        raise TypeError(f"{prim.name}() takes no keyword arguments, got {', '.join(map(repr, kwargs))}")
    if given > takes:
        raise TypeError(f"{prim.name}() takes {takes} input{'s' if takes > 1 else ''} but {given} were given")


class AuxPrimitive(Primitive):
    """A primitive whose forward returns ``(output, saved)``: ``saved`` is an intermediate result its VJP
    would otherwise recompute (the softmax of a cross-entropy), handed to the VJP in place of ``ans``.

    Only an ordinary backward pass gets it: under ``create_graph=True`` the VJP receives None and must
    recompute from its inputs, so that the gradient it returns is itself differentiable.
    """

    __slots__ = ()
    saves_aux = True

    def __init__(self, name, forward, reads_inputs=True, doc=None):
        super().__init__(name, forward, True, reads_inputs, doc)

    def __call__(self, *inputs, **kwargs):
        # apply1 and apply2 expect one array from the forward: every call takes the general path
        return _apply_general(self, inputs, kwargs)


def _keep_table(reads):
    # an input is kept when it has no edge (drawings show constants and inputs without gradient) or
    # when a VJP that will run (one whose input has an edge) reads its value
    table = []
    for mask in range(1 << len(reads)):
        read = {j for i, needs in enumerate(reads) if mask >> i & 1 for j in needs}
        table.append(tuple(not mask >> i & 1 or i in read for i in range(len(reads))))
    return tuple(table)


def primitive(name, saves_out=False, reads_inputs=True, saves_aux=False, elementwise=False,
              exact_when_one_dtype=False):
    """Decorator: turn a NumPy forward function into a registered primitive named ``name``.

    ``saves_out``: the VJPs use the output, so it is kept. ``reads_inputs=False``: the VJPs use no input
    values (only shapes), so an in-place change to an input after the op is harmless and not checked.
    ``reads_inputs`` may also say, per input, which inputs' values that input's VJP reads, e.g. ``((1,),
    (0,))`` for a product: then only the values the VJPs that will run need are kept and checked.
    ``saves_aux``: the forward returns ``(output, saved)`` and the VJPs get ``saved`` (see AuxPrimitive).
    ``elementwise``: the op works element by element (a function so marked takes one input). Applied to
    one array, and perhaps Python numbers, its VJPs return the gradient in that array's shape and dtype,
    so the engine does not check them (see ``Node.exact_grads``); the test suite checks this of every
    primitive marked so. ``exact_when_one_dtype``: a three-input op (``linear``) whose VJPs return each
    gradient in its input's shape, and in its dtype whenever its array inputs share one dtype; such a
    call's gradients are not checked either.
    """

    def register(forward):
        if saves_aux:  # the forward returns (output, saved): see AuxPrimitive
            prim = AuxPrimitive(name, forward, reads_inputs)
        else:
            prim = _new_primitive(name, forward, saves_out, reads_inputs, None, elementwise)
        prim.exact_when_one_dtype = exact_when_one_dtype
        PRIMITIVES[name] = prim
        return prim

    return register


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
    leads to the input and no VJP that will run reads its value (``reads_inputs`` of the primitive):
    holding those Tensors would only keep them alive (and make Python's garbage collector rescan them);
    ``version`` sums the versions of the Tensors kept. ``inputs``,
    ``args`` and ``out`` are freed after backward unless the graph is retained; ``edges`` and ``fn`` stay
    so the structure can still be drawn. ``pending`` is the backward pass's count of the consumers that
    have not yet sent their gradient (see the engine). ``exact_grads`` is True when the VJPs are known
    to return each gradient in its input's shape and dtype (an elementwise op on one array and perhaps
    Python numbers), so the engine skips that check: 0.1 us of a 1 us op.
    """

    # The edges live in slots, not in a tuple of their own: a tuple that holds nodes is one more object
    # per op for Python's garbage collector to rescan, and on a graph of a million ops the collector's
    # full scans cost more time than the ops themselves. ``edge1`` is ONE_INPUT for an op of one input;
    # ``more_edges`` holds the edges of a third input onwards (None for one or two inputs).
    __slots__ = ("fn", "inputs", "args", "edge0", "edge1", "more_edges", "kwargs", "out", "version", "extra",
                 "pending", "exact_grads", "__weakref__")

    def __init__(self, fn, inputs, args, edges, kwargs, out, version):
        self.fn = fn
        self.inputs = inputs
        self.args = args
        self.edge0 = edges[0]
        self.edge1 = edges[1] if len(edges) > 1 else ONE_INPUT
        self.more_edges = tuple(edges[2:]) if len(edges) > 2 else None
        self.kwargs = kwargs
        self.out = out if fn.saves_out else None
        self.version = version
        self.extra = None
        self.pending = 0
        self.exact_grads = False
        if _recording.depth:
            _annotate(self)

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

        ``out`` holds whatever the VJPs get as ``ans``: for an AuxPrimitive that is its saved
        intermediate result, not the output.
        """
        return None if self.fn.saves_aux else self.out

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


def _annotate(node):
    node.set_info("trace", user_frame())
    node.set_info("scope", current_scope())


# ----------------------------------------------------------------------------------------------------
# Applying a primitive.

def defprimitive(name, forward, doc, saves_out=False, reads_inputs=True, elementwise=False):
    """Register a primitive whose forward is a NumPy callable used as is (a ufunc: no Python frame)."""
    prim = _new_primitive(name, forward, saves_out, reads_inputs, doc, elementwise)
    PRIMITIVES[name] = prim
    return prim


Tensor = None  # bound by tensor.py once the class exists (avoids an import cycle)


def _shape_of(value):
    return tuple(np.shape(value))


def _describe(prim, args, kwargs, error):
    if str(error).startswith(prim.name + ":"):
        return str(error)
    shapes = ", ".join(str(_shape_of(a)) if isinstance(a, np.ndarray) else repr(a) for a in args)
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return f"{prim.name}: cannot apply to inputs of shape {shapes}{extra}: {error}"


_new = object.__new__


def _apply_general(prim, inputs, kwargs):
    args = []
    edges = []
    version = 0  # the summed versions of the Tensor inputs
    with_edge = 0  # bit i set when input i has an edge
    bit = 1
    for x in inputs:
        if isinstance(x, Tensor):
            args.append(x.data)
            version += x._version
            if x.requires_grad:
                edges.append(x.grad_fn or x)
                with_edge |= bit
            else:
                edges.append(None)
        else:
            args.append(x)
            edges.append(None)
        bit <<= 1
    try:
        out = prim.forward(*args, **kwargs)
    except (ValueError, IndexError, TypeError) as error:
        raise type(error)(_describe(prim, args, kwargs, error)) from None
    aux = prim.saves_aux
    if aux:
        out, saved = out
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if not aux:
        saved = out  # what the node keeps for the VJPs (if they read the output: see Node)
    if not (with_edge and _grad_state.enabled):
        return Tensor._from_op(out, None)
    reads = prim.reads_inputs
    if reads is True:
        kept = inputs
    elif reads is False:  # the edges lead to the inputs that require grad: keep only the others (see Node)
        kept = [None if edge is not None else x for x, edge in zip(inputs, edges)]
        version = None
    else:  # per-input reads: keep, and check the versions of, only what the VJPs that will run read
        kept = []
        version = None
        for x, keep in zip(inputs, prim.keeps[with_edge]):
            if not keep:
                x = None
            elif isinstance(x, Tensor):
                version = x._version if version is None else version + x._version
            kept.append(x)
    return Tensor._from_op(out, Node(prim, kept, args, edges, kwargs, saved, version))


def apply1(prim, x, *extra, **kwargs):
    """``apply`` for one input and no keyword arguments (most elementwise ops): the hot path."""
    if extra or kwargs:  # a UnaryPrimitive called with more
        _check_inputs(prim, 1, 1 + len(extra), kwargs)
    if not isinstance(x, Tensor):
        return _apply_general(prim, (x,), {})
    data = x.data
    try:
        out = prim.forward(data)
    except (ValueError, IndexError, TypeError) as error:
        raise type(error)(_describe(prim, [data], {}, error)) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    # the result Tensor and its Node are built inline rather than through Tensor._from_op and Node():
    # this runs for every op, and the two constructor frames cost about 10% of a small op
    t = _new(Tensor)
    t.data = out
    t.grad = None
    t._version = 0
    t._hooks = None
    if x.requires_grad and _grad_state.enabled:
        node = _new(Node)
        node.fn = prim
        if prim.reads_inputs:
            node.inputs = (x,)
            node.version = x._version
        else:  # the edge leads to x: the graph need not keep the Tensor alive (see Node)
            node.inputs = _NO_INPUT
            node.version = None
        node.args = (data,)
        node.edge0 = x.grad_fn or x
        node.edge1 = ONE_INPUT
        node.more_edges = None
        node.kwargs = _NO_KWARGS
        node.out = out if prim.saves_out else None
        node.extra = None
        node.pending = 0
        node.exact_grads = prim.elementwise
        if _recording.depth:
            _annotate(node)
        t.grad_fn = node
        t.requires_grad = True
    else:
        t.grad_fn = None
        t.requires_grad = False
    return t


def apply2(prim, a, b):
    """``apply`` for two inputs and no keyword arguments (binary arithmetic): the hot path."""
    if isinstance(a, Tensor):
        da = a.data
        ea = (a.grad_fn or a) if a.requires_grad else None
    else:
        da, ea = a, None
    if isinstance(b, Tensor):
        db = b.data
        eb = (b.grad_fn or b) if b.requires_grad else None
    else:
        db, eb = b, None
    try:
        out = prim.forward(da, db)
    except (ValueError, IndexError, TypeError) as error:
        raise type(error)(_describe(prim, [da, db], {}, error)) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    t = _new(Tensor)
    t.data = out
    t.grad = None
    t._version = 0
    t._hooks = None
    if (ea is not None or eb is not None) and _grad_state.enabled:
        node = _new(Node)
        node.fn = prim
        reads = prim.reads_inputs
        if reads is True:  # (an input is a Tensor exactly when its data is another object)
            node.inputs = (a, b)
            node.version = (a._version if da is not a else 0) + (b._version if db is not b else 0)
        elif reads is False:  # the edges lead to the inputs that require grad: keep only the others (see Node)
            node.inputs = (None if ea is not None else a, None if eb is not None else b)
            node.version = None
        else:  # per-input reads (a product): the general rule unrolled for two inputs (mul is a hot op)
            keep = prim.keeps[(ea is not None) + 2 * (eb is not None)]
            keep_a, keep_b = keep[0], keep[1]  # (a longer entry: a third, optional input not given)
            node.inputs = (a if keep_a else None, b if keep_b else None)
            version = None
            if keep_a and da is not a:  # (an input is a Tensor exactly when its data is another object)
                version = a._version
            if keep_b and db is not b:
                version = b._version if version is None else version + b._version
            node.version = version
        node.args = (da, db)
        node.edge0 = ea
        node.edge1 = eb
        node.more_edges = None
        node.kwargs = _NO_KWARGS
        node.out = out if prim.saves_out else None
        node.extra = None
        node.pending = 0
        if prim.elementwise:
            # an array and a Python number: nothing is broadcast and the array's dtype wins, so its
            # gradient already has its shape and dtype (x * 2.0, 1.0 - x)
            type_a, type_b = type(da), type(db)
            if type_a is np.ndarray:
                node.exact_grads = type_b is float or type_b is int
            else:
                node.exact_grads = (type_a is float or type_a is int) and type_b is np.ndarray
        else:
            node.exact_grads = False
        if _recording.depth:
            _annotate(node)
        t.grad_fn = node
        t.requires_grad = True
    else:
        t.grad_fn = None
        t.requires_grad = False
    return t


def apply3(prim, a, b, c):
    """``apply`` for three inputs and no keyword arguments (``linear``, in every layer): the hot path.

    The general path loops over its inputs and builds lists; for three inputs that costs 2 us of a
    4 us small layer, twice what this unrolled version does. Like ``apply1`` and ``apply2`` it takes
    ordinary primitives only: an AuxPrimitive's call always goes the general way.
    """
    with_edge = 0  # bit i set when input i has an edge, as in _apply_general
    if isinstance(a, Tensor):
        da = a.data
        ea = (a.grad_fn or a) if a.requires_grad else None
        if ea is not None:
            with_edge = 1
    else:
        da, ea = a, None
    if isinstance(b, Tensor):
        db = b.data
        eb = (b.grad_fn or b) if b.requires_grad else None
        if eb is not None:
            with_edge |= 2
    else:
        db, eb = b, None
    if isinstance(c, Tensor):
        dc = c.data
        ec = (c.grad_fn or c) if c.requires_grad else None
        if ec is not None:
            with_edge |= 4
    else:
        dc, ec = c, None
    try:
        out = prim.forward(da, db, dc)
    except (ValueError, IndexError, TypeError) as error:
        raise type(error)(_describe(prim, [da, db, dc], {}, error)) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    t = _new(Tensor)
    t.data = out
    t.grad = None
    t._version = 0
    t._hooks = None
    if with_edge and _grad_state.enabled:
        node = _new(Node)
        node.fn = prim
        reads = prim.reads_inputs
        if reads is True:  # (an input is a Tensor exactly when its data is another object)
            node.inputs = (a, b, c)
            node.version = ((a._version if da is not a else 0) + (b._version if db is not b else 0)
                            + (c._version if dc is not c else 0))
        elif reads is False:  # the edges lead to the inputs that require grad: keep only the others (see Node)
            node.inputs = (None if ea is not None else a, None if eb is not None else b,
                           None if ec is not None else c)
            node.version = None
        else:  # per-input reads: keep, and check the versions of, only what the VJPs that will run read
            keep = prim.keeps[with_edge]
            keep_a, keep_b, keep_c = keep[0], keep[1], keep[2]
            node.inputs = (a if keep_a else None, b if keep_b else None, c if keep_c else None)
            version = None
            if keep_a and da is not a:  # (an input is a Tensor exactly when its data is another object)
                version = a._version
            if keep_b and db is not b:
                version = b._version if version is None else version + b._version
            if keep_c and dc is not c:
                version = c._version if version is None else version + c._version
            node.version = version
        node.args = (da, db, dc)
        node.edge0 = ea
        node.edge1 = eb
        node.more_edges = (ec,)
        node.kwargs = _NO_KWARGS
        node.out = out if prim.saves_out else None
        node.extra = None
        node.pending = 0
        # (a linear layer: 2,000 instructions of checks a node saved, for 300 here)
        node.exact_grads = prim.exact_when_one_dtype and type(da) is np.ndarray and type(db) is np.ndarray \
            and da.dtype is db.dtype and (dc is None or type(dc) is np.ndarray and dc.dtype is da.dtype)
        if _recording.depth:
            _annotate(node)
        t.grad_fn = node
        t.requires_grad = True
    else:
        t.grad_fn = None
        t.requires_grad = False
    return t


_NO_KWARGS = {}
_NO_INPUT = (None,)  # the inputs of a one-input op that reads no input values (shared: no allocation)


class UnaryPrimitive(Primitive):
    """An elementwise primitive of one input (exp, tanh, relu...): calling it is ``apply1`` itself.

    Every activation goes through this call, and ``Primitive.__call__``, which first sorts out how many
    inputs and keywords it got, adds about 0.1 us to a 1 us op. A second input, or a keyword, is an
    error here; a ufunc such as ``np.tanh`` would take it as its output array and overwrite it.
    """

    __slots__ = ()
    __call__ = apply1


def _new_primitive(name, forward, saves_out, reads_inputs, doc, elementwise):
    # an elementwise function, or ufunc of one input, is a UnaryPrimitive
    one_input = not isinstance(forward, np.ufunc) or forward.nin == 1
    cls = UnaryPrimitive if elementwise and one_input else Primitive
    return cls(name, forward, saves_out, reads_inputs, doc, elementwise)
