"""Applying a primitive to tensors: run its NumPy forward on their arrays and record a Node.

``apply`` is the general path, written plainly: any number of inputs and keyword arguments. The
everyday calls (one, two or three inputs, no keywords) take ``apply1``, ``apply2`` and ``apply3`` in
``hot_path.py``, which are this function unrolled for speed; the test suite runs every primitive
through both and checks that they build the same result and the same node.
"""
import numpy as np

from ..capture import capture_state as _capture
from ..grad_mode import _state as _grad_state
from ..tensor import Tensor, share_memory
from .node import Node

NO_KWARGS = {}  # shared by every node of an op called without keyword arguments (no allocation)


def apply(prim, inputs, kwargs):
    """``prim(*inputs, **kwargs)`` on tensors, arrays or numbers: a Tensor, with a Node when recorded.

    A node is recorded when grad mode is on and some input requires grad. Each input's edge says where
    its gradient goes: the node that made it, the input itself for a leaf, or None.
    """
    args = tuple(x._array if isinstance(x, Tensor) else x for x in inputs)
    edges = tuple(edge_of(x) for x in inputs)
    try:
        out = prim.forward(*args, **kwargs)
    except (ValueError, IndexError, TypeError) as error:
        raise type(error)(describe_error(prim, args, kwargs, error)) from None
    if _capture.active is not None:  # a compiled step's capture: the call is recorded (capture.py)
        out = _capture.active.record_op(prim, args, kwargs, out)
    if prim.returns_saved:
        out, saved = out
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if not prim.returns_saved:
        saved = out if prim.saves_out else None
    with_edge = sum(1 << i for i, edge in enumerate(edges) if edge is not None)
    if not (with_edge and _grad_state.enabled):
        result = Tensor._from_op(out, None)
    else:
        kept, version = kept_inputs(prim, inputs, with_edge)
        node = Node(prim, kept, args, edges, kwargs, saved, version, exact_grads(prim, args))
        result = Tensor._from_op(out, node)
    if prim.view and isinstance(inputs[0], Tensor) and shares_memory(out, args[0]):
        share_memory(result, inputs[0])
    return result


def shares_memory(out, arg):
    """True when a view op's output ``out`` is a view of its input array ``arg``, not a copy."""
    return out is arg or out.base is not None and np.may_share_memory(out, arg)


def edge_of(x):
    """Where the gradient of input ``x`` goes: its node, ``x`` itself (a leaf), or None."""
    if isinstance(x, Tensor) and x.requires_grad:
        return x.grad_fn or x
    return None


def kept_inputs(prim, inputs, with_edge):
    """The inputs a node keeps (None in place of the others), and the summed versions of those to check.

    ``with_edge`` has bit ``i`` set when input ``i`` has an edge. An input is kept when it has no edge
    (drawings show constants) or when a VJP that will run reads its value; an input with an edge that no
    such VJP reads is reachable through its edge anyway. The versions of the kept Tensors are summed,
    so that backward can tell whether one was changed in place since; None when the VJPs read no input.
    """
    reads = prim.reads_inputs
    if reads is True:
        kept = tuple(inputs)
    elif reads is False:
        kept = tuple(None if with_edge >> i & 1 else x for i, x in enumerate(inputs))
        return kept, None
    else:
        keep = prim.keeps[with_edge]
        kept = tuple(x if keep[i] else None for i, x in enumerate(inputs))
    versions = [x._version for x in kept if isinstance(x, Tensor)]
    return kept, (sum(versions) if versions else None)


def exact_grads(prim, args):
    """True when the VJPs return each gradient in its input's shape and dtype, so backward need not check.

    An elementwise op on one array and perhaps Python numbers: nothing broadcasts and the array's dtype
    wins. An op whose VJPs keep each input's shape (``grads_in_input_shapes``) when its arrays share one
    dtype.
    """
    if prim.elementwise:
        arrays = [a for a in args if type(a) is np.ndarray]
        return len(arrays) == 1 and all(type(a) in (np.ndarray, float, int) for a in args)
    if prim.grads_in_input_shapes:
        arrays = [a for a in args if a is not None]
        return all(type(a) is np.ndarray and a.dtype is arrays[0].dtype for a in arrays)
    return False


def describe_error(prim, args, kwargs, error):
    """The message of an error raised by ``prim``'s forward, naming the op and its inputs' shapes."""
    if str(error).startswith(prim.name + ":"):
        return str(error)
    shapes = ", ".join(str(tuple(np.shape(a))) if isinstance(a, np.ndarray) else repr(a) for a in args)
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return f"{prim.name}: cannot apply to inputs of shape {shapes}{extra}: {error}"


def check_call(prim, takes, given, kwargs):
    """Refuse keyword arguments, or more inputs than ``takes``: a ufunc would write its result into them."""
    if kwargs:
        raise TypeError(f"{prim.name}() takes no keyword arguments, got {', '.join(map(repr, kwargs))}")
    if given > takes:
        raise TypeError(f"{prim.name}() takes {takes} input{'s' if takes > 1 else ''} but {given} were given")
