"""Gradients of every tensor in a recorded graph, computed without touching anyone's ``.grad``.

``output_gradients`` asks the engine (``mg.autograd.grad`` with ``retain_graph=True``) for the gradient
of each op's output, so hooks are honoured and the numbers are the ones backward would produce.
``edge_gradient`` evaluates one op's VJP for one input: it tells which op stopped a gradient, which a
summed gradient cannot (a tensor used twice gets the sum of both contributions).
"""
import numpy as np

from ..autograd import engine
from ..autograd.namespaces import NUMPY
from ..autograd.node import Node
from ..tensor import Tensor


def is_intact(nodes):
    """True when no node has been freed by a backward pass without ``retain_graph``."""
    return not any(node.freed for node in nodes)


def _retained_tensors(nodes):
    # retain_grad() tensors get gradients accumulated by every engine pass: remember them to restore
    out = []
    for node in nodes:
        ref = node.info("retained")
        tensor = ref() if ref is not None else None
        if tensor is not None:
            out.append((tensor, tensor._grad))
    return out


def output_gradients(roots, nodes, leaves, grad_outputs=None):
    """d(roots)/d(output of each node) and d(roots)/d(leaf), as ndarrays keyed by node and by id(leaf).

    Returns None when the gradients cannot be computed: the graph was freed, or a root is not a
    scalar and no ``grad_outputs`` were given. Nothing that the unreachable ones need is computed.
    """
    differentiable = [r for r in roots if r.requires_grad]
    if not differentiable or not is_intact(nodes):
        return None
    if grad_outputs is None and any(r._array.size != 1 for r in differentiable):
        return None
    if grad_outputs is not None:
        grad_outputs = [g for r, g in zip(roots, grad_outputs) if r.requires_grad]
    # a proxy tensor per node: the engine keys captured gradients by node, so the data is never read
    proxies = [Tensor._from_op(np.zeros(()), node) for node in nodes]
    saved = _retained_tensors(nodes)
    try:
        results = engine.grad(differentiable, proxies + list(leaves), grad_outputs=grad_outputs,
                              retain_graph=True, allow_unused=True)
    finally:
        for tensor, grad in saved:
            tensor._grad = grad
    grads = {}
    for node, g in zip(nodes, results[:len(nodes)]):
        grads[node] = None if g is None else g._array
    for leaf, g in zip(leaves, results[len(nodes):]):
        grads[id(leaf)] = None if g is None else g._array
    return grads


def edge_gradient(node, index, grad):
    """The gradient ``node`` sends to its input ``index`` when its output receives ``grad`` (ndarray).

    The graph must be intact (``node.freed`` False). Returns None for an input with no gradient.
    """
    if node.edges[index] is None:
        return None
    fn = node.fn
    with np.errstate(all="ignore"):
        if fn.joint_vjp is not None:
            gi = fn.joint_vjp(NUMPY, grad, node.out, node.edges, *node.args, **node.kwargs)[index]
        else:
            gi = fn.vjps[index](NUMPY, grad, node.out, *node.args, **node.kwargs)
        if gi is None:
            return None
        gi = np.asarray(getattr(gi, "data", gi))
        target = np.asarray(node.args[index])
        if gi.shape != target.shape:
            gi = NUMPY.sum_to(gi, shape=target.shape)
        if gi.dtype != target.dtype:
            gi = gi.astype(target.dtype)
    return gi


def passed_gradients(node, grad):
    """The gradients ``node`` sends to each of its differentiable inputs, in input order."""
    return [edge_gradient(node, i, grad) for i, edge in enumerate(node.edges) if edge is not None]


def edge_targets(node):
    """(index, target) for each input that receives a gradient: a Node or a leaf Tensor."""
    return [(i, edge) for i, edge in enumerate(node.edges) if edge is not None]


def is_node(edge):
    """True when an edge points at an op node (not at a leaf tensor)."""
    return type(edge) is Node
