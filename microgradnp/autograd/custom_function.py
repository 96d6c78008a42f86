"""Custom ops: subclass ``Function`` with ``forward(ctx, *args)`` and ``backward(ctx, *grads)``.

``apply`` runs ``forward`` without recording, then records one node for the whole call. A forward that
returns one tensor gets that node as its ``grad_fn``. A forward that returns a tuple gets, for each
differentiable tensor of the tuple, a small node of its own (so that hooks and ``retain_grad`` work
per output) whose only edge leads to the call's node; each sends its gradient there in a slot of a
``_Slots``, and the engine sums those like any gradient. The call's node then hands ``backward`` one
gradient per output. The engine itself knows nothing of this: every node still has one output.
"""
import numpy as np

from .. import grad_mode
from ..tensor import Tensor, share_memory
from .apply import edge_of
from .node import Node
from .primitive import Primitive


class FunctionCtx:
    """The ``ctx`` passed to a Function's forward (or ``setup_context``) and backward.

    ``save_for_backward`` keeps tensors for backward (``ctx.saved_tensors``); ``needs_input_grad`` says
    which inputs require a gradient; ``mark_non_differentiable``, ``mark_dirty`` and
    ``set_materialize_grads`` are PyTorch's. Other attributes may be set freely (``ctx.k = k``).
    """

    def __init__(self):
        self.saved_tensors = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._saved_versions = None
        self._non_differentiable = ()
        self._dirty = ()

    def save_for_backward(self, *tensors):
        """Keep tensors (inputs or outputs) for ``backward``; read them back as ``ctx.saved_tensors``.

        A saved tensor changed in place before backward runs makes backward raise.
        """
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors (or None), but argument {i} is a "
                                f"{type(t).__name__}; keep other values as attributes of ctx")
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *outputs):
        """Mark outputs (integer indices, masks...) that get no gradient: they do not require grad, and
        ``backward`` receives zeros (or None, see ``set_materialize_grads``) for them."""
        self._non_differentiable = outputs

    def mark_dirty(self, *tensors):
        """Say that ``forward`` changed these inputs in place (and returns them): they become outputs."""
        self._dirty = tensors

    def set_materialize_grads(self, value):
        """With False, ``backward`` receives None for an output that got no gradient, instead of zeros."""
        self.materialize_grads = bool(value)


class _Slots:
    """The gradients of a multi-output call's outputs, by output index, on their way to its node."""

    __slots__ = ("grads",)

    def __init__(self, grads):
        self.grads = grads

    def __add__(self, other):
        merged = dict(self.grads)
        for i, g in other.grads.items():
            merged[i] = merged[i] + g if i in merged else g
        return _Slots(merged)


def _send_to_slot(xp, g, ans, out, *, index):
    # the VJP of an output's own node: its gradient goes to the call's node, in the output's slot
    return _Slots({index: g})


def _run_backward(xp, g, ans, edges, *args, function, ctx, layout):
    """The VJP of a call's node: ``function.backward`` on one gradient per output."""
    if isinstance(g, _Slots):
        raw_mode = not isinstance(next(iter(g.grads.values())), Tensor)
        grads = tuple(_output_grad(g.grads.get(i), spec, ctx, raw_mode) for i, spec in enumerate(layout))
    else:
        raw_mode = not isinstance(g, Tensor)
        grads = (Tensor._from_op(np.asarray(g), None) if raw_mode else g,)
    _check_saved(function, ctx)
    result = function.backward(ctx, *grads)
    if not isinstance(result, tuple):
        result = (result,)
    n = len(args)
    if len(result) > n and all(extra is None for extra in result[n:]):
        result = result[:n]  # as in PyTorch, trailing Nones beyond the inputs are allowed
    name = function.__name__
    if len(result) != n:
        raise RuntimeError(f"function {name}Backward returned an incorrect number of gradients (expected {n}, got "
                           f"{len(result)}): {name}.backward returned {len(result)} gradient(s) but forward took "
                           f"{n} input(s); return None for inputs that need no gradient")
    out = []
    for i, (grad, arg, edge) in enumerate(zip(result, args, edges)):
        if grad is None:
            out.append(None)
            continue
        if edge is None and not isinstance(arg, np.ndarray):
            raise RuntimeError(f"function {name}Backward returned a gradient different than None at position "
                               f"{i}, but the corresponding forward input was not a Tensor")
        value = grad._array if isinstance(grad, Tensor) else np.asarray(grad)
        if np.shape(value) != np.shape(arg) and not _sums_back_to(np.shape(value), np.shape(arg)):
            raise RuntimeError(f"{name}.backward returned a gradient of shape {np.shape(value)} "
                               f"for input {i} of shape {np.shape(arg)}")
        if raw_mode:
            out.append(value)
        else:
            out.append(grad if isinstance(grad, Tensor) else Tensor._from_op(value, None))
    return tuple(out)


def _output_grad(g, spec, ctx, raw_mode):
    # spec: (shape, dtype) of a tensor output, None for a value that is not a tensor (its gradient is None)
    if g is not None:
        return Tensor._from_op(np.asarray(g), None) if raw_mode else g
    if spec is None or not ctx.materialize_grads:
        return None
    return Tensor._from_op(np.zeros(spec[0], dtype=spec[1]), None)


def _check_saved(function, ctx):
    versions = ctx._saved_versions
    if versions is None:
        return
    for i, (t, version) in enumerate(zip(ctx.saved_tensors, versions)):
        if t is not None and t._version != version:
            raise RuntimeError(
                f"one of the tensors needed to compute the gradient of '{function.__name__}' was modified by an "
                f"in-place operation: saved tensor {i} of shape {tuple(t.shape)} is at version {t._version}; "
                f"expected version {version} instead. Clone it before changing it, or save a copy.")


def _sums_back_to(grad_shape, input_shape):
    # a gradient may have the broadcast shape of its input (the engine sums it back), nothing else
    try:
        return np.broadcast_shapes(grad_shape, input_shape) == grad_shape
    except ValueError:
        return False


def _primitives(cls):
    # the call's primitive (its node is named after the class) and the one of each output's own node
    prims = cls.__dict__.get("_primitives")
    if prims is None:
        call = Primitive(cls.__name__, _no_forward, cls.__doc__, joint_vjp=_run_backward)
        output = Primitive(f"{cls.__name__}.output", _no_forward, "One output of a multi-output Function.",
                           vjp=_send_to_slot, reads=())
        prims = cls._primitives = (call, output)
    return prims


def _no_forward(*args, **kwargs):
    raise RuntimeError("a custom Function's node is recorded by Function.apply; call MyFunction.apply(...)")


class Function:
    """Base class for a custom differentiable op, used as ``MyFn.apply(*inputs)``.

    ``forward(ctx, *args)`` runs without recording and returns a tensor, or a tuple of tensors and other
    values; ``apply`` returns the same. ``backward(ctx, *grads)`` receives one gradient per output of
    forward (zeros for a tensor output that got none, unless ``ctx.set_materialize_grads(False)``;
    None for a value that is not a tensor) and returns one gradient per input (None where an input needs
    none). PyTorch 2's form works too: ``forward(*args)`` without ctx and a static
    ``setup_context(ctx, inputs, output)``. With ``create_graph=True`` backward's own Tensor ops are
    recorded, so higher-order gradients work when backward is written with Tensor ops.
    """

    @staticmethod
    def forward(ctx, *args):
        """Compute the output (a tensor, or a tuple) from the inputs (override this)."""
        raise NotImplementedError("subclasses of Function must implement forward(ctx, *args)")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2's form: fill ``ctx`` from the inputs and output of a ``forward(*args)`` without ctx."""
        raise NotImplementedError("setup_context is not implemented")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """Return one gradient per input of forward (override this)."""
        raise NotImplementedError("subclasses of Function must implement backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args):
        """Run the op on ``args`` and record it for backward; returns what forward returns."""
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with grad_mode.no_grad():
            if cls.setup_context is Function.setup_context:
                output = cls.forward(ctx, *args)
            else:
                output = cls.forward(*args)
                cls.setup_context(ctx, args, output)
        if ctx.saved_tensors:
            ctx._saved_versions = tuple(None if t is None else t._version for t in ctx.saved_tensors)
        edges = tuple(edge_of(a) for a in args)
        record = grad_mode.is_grad_enabled() and any(edge is not None for edge in edges)
        if not isinstance(output, tuple):
            return _single(cls, ctx, args, edges, output, record)
        return _several(cls, ctx, args, edges, output, record)


def _single(cls, ctx, args, edges, output, record):
    # forward returned one value: the call's node is the output's grad_fn (an array becomes a Tensor)
    if not isinstance(output, Tensor):
        output = Tensor._from_op(np.asarray(output), None)
    non_differentiable = any(output is t for t in ctx._non_differentiable)
    node = None
    if record and not non_differentiable:
        node = _call_node(cls, ctx, args, edges, layout=None)
    return _as_output(output, node, args, ctx)


def _several(cls, ctx, args, edges, output, record):
    layout = tuple((tuple(o.shape), o.dtype) if isinstance(o, Tensor) else None for o in output)
    if not record:
        return tuple(_as_output(o, None, args, ctx) if isinstance(o, Tensor) else o for o in output)
    node = _call_node(cls, ctx, args, edges, layout)
    select = _primitives(cls)[1]
    results = []
    for i, o in enumerate(output):
        if not isinstance(o, Tensor) or any(o is t for t in ctx._non_differentiable):
            results.append(_as_output(o, None, args, ctx) if isinstance(o, Tensor) else o)
            continue
        own = Node(select, (None,), (o._array,), (node,), {"index": i}, None, None, True)
        results.append(_as_output(o, own, args, ctx))
    return tuple(results)


def _call_node(cls, ctx, args, edges, layout):
    arrays = tuple(a._array if isinstance(a, Tensor) else a for a in args)
    # the node keeps no version sum: backward checks the saved tensors instead, as PyTorch does
    kwargs = {"function": cls, "ctx": ctx, "layout": layout}
    return Node(_primitives(cls)[0], tuple(args), arrays, edges, kwargs, None, None, False)


def _as_output(output, node, args, ctx):
    """The Tensor that ``apply`` returns for ``output``: forward's own Tensor, wired to ``node``."""
    is_input = any(output is a for a in args)
    if is_input and any(output is t for t in ctx._dirty):
        if node is None:
            return output  # changed in place, nothing recorded: the input stays what it was
        if output.grad_fn is None and output.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation "
                               "(an input marked dirty by a custom Function)")
    elif is_input or output.grad_fn is not None or output.requires_grad:
        # forward returned an input (or a tensor of the graph) as it is: the output is a new Tensor that
        # shares its values, as PyTorch returns a view
        shared = Tensor._from_op(output._array, None)
        share_memory(shared, output)
        output = shared
    output.grad_fn = node
    output.requires_grad = node is not None
    return output
