"""The steps of a backward pass that happen at one node or one leaf, shared by both traversals.

``engine.run`` (the plain traversal) and ``hot_path.run`` (its fast copy) both call these: the checks
that a node can still be differentiated (not freed, inputs not changed in place since), the hooks and
``retain_grad`` of a node's output, and the accumulation of the finished gradients into the leaves.
"""
import numpy as np

from ..tensor import Tensor
from .node import Node


def raise_freed(node):
    """The error for a second backward through a node whose saved values were freed."""
    raise RuntimeError(
        f"Trying to backward through the graph a second time: the values saved by "
        f"'{node.fn.name}' were freed by an earlier backward(). Pass retain_graph=True to the first "
        f"backward() (or autograd.grad()) if you need to go through the graph again.")


def inputs_changed(node):
    """True when a Tensor the node kept was changed in place after the op ran (its version moved)."""
    if node.version is None:
        return False
    return sum(x._version for x in node.inputs if isinstance(x, Tensor)) != node.version


def raise_modified(node):
    """The error for an input changed in place after the op that needs its value ran."""
    shapes = ", ".join(f"{tuple(x.shape)} at version {x._version}" for x in node.inputs if isinstance(x, Tensor))
    raise RuntimeError(
        f"one of the tensors needed to compute the gradient of '{node.fn.name}' was modified by an in-place "
        f"operation after it was used (inputs: {shapes}). Use an out-of-place op (x = x + y instead of "
        f"x += y), or clone the tensor before changing it.")


def raise_concurrent(node):
    """The error for a second backward pass reaching a node while another one is counting it."""
    raise RuntimeError(
        f"backward: another backward pass went through '{node.fn.name}' while this one was still running "
        f"(from another thread, or from a hook): run backward passes over one graph one at a time")


def tensor_args(node):
    """The node's inputs as Tensors wired to the graph as it was when the op ran (for create_graph)."""
    out = []
    # (an input with an edge may be None in node.inputs: the edge is all that is needed; in-place ops
    # may have rebound the input Tensor since)
    for x, a, edge in zip(node.inputs, node.args, node.edges):
        if type(edge) is Node:
            out.append(Tensor._from_op(a, edge))
        elif edge is not None:
            out.append(edge)
        elif isinstance(x, Tensor):
            out.append(Tensor._from_op(a, None))
        else:
            out.append(a)
    return out


def node_extras(node, g, create_graph, accumulate):
    """What a node's debug information asks for before its VJPs run; returns the gradient to use.

    An output changed in place that the VJPs read raises; hooks may replace the gradient; a retained
    output (``retain_grad``) gets it in ``.grad`` unless ``accumulate`` is False (``autograd.grad``).
    """
    modified_by = node.extra.get("modified_by")
    if modified_by is not None:
        raise RuntimeError(
            f"the output of '{node.fn.name}' was modified by an in-place operation ({modified_by}) after it was "
            f"computed, but '{node.fn.name}' needs that output for its gradient; use an out-of-place op instead")
    g = run_hooks(node.extra.get("hooks") or (), g, create_graph)
    ref = node.extra.get("retained")
    t = ref() if ref is not None else None
    if t is not None and accumulate:
        accumulate_into(t, g, create_graph, copy=True)
    return g


def _wrap(g):
    return g if isinstance(g, Tensor) else Tensor._from_op(np.asarray(g), None)


def run_hooks(hooks, g, create_graph):
    """Call each hook with the gradient as a Tensor; a hook may return a replacement."""
    for hook in hooks:
        replaced = hook(_wrap(g))
        if replaced is not None:
            replaced = _wrap(replaced)
            if not create_graph:
                replaced = replaced._array
            _check_hook_result(hook, g, replaced)
            g = replaced
    return g


def _check_hook_result(hook, g, replaced):
    # as in PyTorch: the VJPs downstream trust the gradient's shape and dtype (see Node.exact_grads)
    name = getattr(hook, "__name__", type(hook).__name__)
    if replaced.shape != g.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value: the gradient has shape "
                           f"{tuple(g.shape)}, the hook returned shape {tuple(replaced.shape)}")
    if replaced.dtype != g.dtype:
        raise RuntimeError(f"hook '{name}' has changed the type of value: the gradient is {g.dtype}, the "
                           f"hook returned {replaced.dtype}")


def finish_leaves(leaf_grads, create_graph):
    """Run each leaf's hooks on its summed gradient and add it into the leaf's ``.grad``."""
    if create_graph:
        for leaf, g in leaf_grads.items():
            accumulate_into(leaf, run_hooks(leaf._hooks, g, True) if leaf._hooks else g, True)
        return
    # a VJP may pass one array to several inputs (add does), or a read-only broadcast view: such a
    # gradient is copied so that in-place changes to one .grad never reach another
    handed_out = set()  # ids of the arrays already kept by reference
    for leaf, g in leaf_grads.items():
        if leaf._hooks:
            g = run_hooks(leaf._hooks, g, False)
        shared = type(g) is not np.ndarray or g.base is not None
        if not shared and leaf._grad is None and leaf._array.dtype.kind == "f":
            key = id(g)
            if key not in handed_out:
                handed_out.add(key)
                leaf._grad = Tensor._from_op(g, None)  # the common first gradient, kept by reference
                continue
            shared = True
        accumulate_into(leaf, g, False, copy=shared)


def captured(leaf_grads, create_graph, capture, inputs):
    """``autograd.grad``'s answer: the gradients of ``inputs``, every ``.grad`` left untouched."""
    for leaf, g in leaf_grads.items():
        if id(leaf) in capture:
            capture[id(leaf)] = run_hooks(leaf._hooks, g, create_graph) if leaf._hooks else g
    results = []
    for t in inputs:
        g = capture[id(t) if t.grad_fn is None else t.grad_fn]
        results.append(None if g is None else (g if create_graph else Tensor._from_op(np.array(g), None)))
    return results


def accumulate_into(t, g, create_graph, copy=False):
    """Add gradient ``g`` into ``t.grad`` (a copy of ``g`` when ``copy``, for arrays shared elsewhere)."""
    if t._array.dtype.kind != "f":
        raise RuntimeError(f"backward: a tensor of dtype {t.dtype} (shape {t._array.shape}) requires grad; only "
                           f"floating point tensors can have gradients")
    if create_graph:
        t._grad = g if t._grad is None else t._grad + g
        return
    if t._grad is None:
        t._grad = Tensor._from_op(np.array(g, dtype=t.dtype, copy=True) if copy else np.asarray(g), None)
    elif t._grad._array.flags.writeable and t._grad._array.shape == np.shape(g):
        np.add(t._grad._array, g, out=t._grad._array, casting="unsafe")
    else:
        t._grad = Tensor._from_op(t._grad._array + g, None)
