"""The backward pass: gradients flow from the outputs back along the recorded edges to the leaves.

The algorithm, in the form HIPS autograd writes it::

    count, for each node, the edges that point at it (its consumers)
    start from the roots with their gradients
    while a node has received the gradients of all its consumers:
        run its VJPs on that summed gradient
        add each result into the gradient of the node or leaf its edge leads to
    add the leaves' summed gradients into their .grad

``run`` below is exactly that, iterative (no recursion limit: a million-node chain works), with what a
real engine adds at each node: hooks and ``retain_grad`` (``backward_steps.node_extras``), the checks that
the graph was not freed and that no input it needs was changed in place, the shape and dtype of each
gradient made to match its input, anomaly checks, and freeing the saved values unless the graph is
retained. ``create_graph=True`` runs the same VJPs on Tensors (``namespaces.TENSOR``), so the pass is
itself recorded. ``autograd.grad`` captures the gradients of given tensors instead of accumulating.

An ordinary ``loss.backward()`` takes ``hot_path.run``, the same traversal with its bookkeeping inlined;
the test suite checks that both give the same gradients, bit for bit.
"""
import numpy as np

from .. import grad_mode
from ..tensor import Tensor
from . import anomaly, backward_steps, hot_path
from .namespaces import NUMPY, TENSOR
from .node import Node

backward_listeners = []
"""Callables run at the start of every ``backward`` with one argument, the tuple of its output tensors
(for ``loss.backward()``, ``(loss,)``). Empty, it costs ``backward`` one truth test. ``mg.viz.Monitor``
adds its listener while it watches and removes it on exit; a listener must not raise or change the
tensors. ``autograd.grad`` does not call them: they follow the gradients that training accumulates."""


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (or of ``inputs``)."""
    roots = _roots(tensors, grad_tensors, create_graph, "backward")
    if backward_listeners:
        outputs = tuple(t for t, _ in roots)
        for listener in tuple(backward_listeners):
            listener(outputs)
    retain_graph = create_graph if retain_graph is None else retain_graph
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = run(roots, retain_graph, create_graph, inputs)
        for t, g in zip(inputs, grads):
            if g is not None:
                backward_steps.accumulate_into(t, g if create_graph else g._array, create_graph)
    elif create_graph or anomaly.state.depth:
        run(roots, retain_graph, create_graph)
    else:
        hot_path.run(roots, retain_graph, NUMPY)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Return d(outputs)/d(inputs) as a tuple of Tensors, leaving every ``.grad`` untouched."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad, so it has no gradient; "
                               f"create it with requires_grad=True")
    if grad_outputs is not None and isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    roots = _roots(outputs, grad_outputs, create_graph, "grad")
    results = run(roots, create_graph if retain_graph is None else retain_graph, create_graph, inputs)
    for i, g in enumerate(results):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {inputs[i]._array.shape}) was not used to compute the "
                               f"outputs; pass allow_unused=True to get None for it")
    return tuple(results)


def _roots(tensors, grad_tensors, create_graph, caller):
    # [(output, its gradient)]: an array, or a Tensor under create_graph
    if grad_tensors is None and isinstance(tensors, Tensor) and tensors.requires_grad:
        # the everyday loss.backward(): one output and its implicit gradient, without lists of one
        return ((tensors, _root_gradient(tensors, None, create_graph, caller)),)
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"{caller}: got {len(tensors)} outputs but {len(grad_tensors)} gradients")
    roots = []
    for i, t in enumerate(tensors):
        if not t.requires_grad:
            raise RuntimeError(
                f"{caller}: output {i} does not require grad and has no grad_fn: nothing that produced it "
                f"requires grad (create inputs with requires_grad=True, and do not compute it under no_grad)")
        roots.append((t, _root_gradient(t, grad_tensors[i], create_graph, caller)))
    return roots


def _root_gradient(t, g, create_graph, caller):
    if g is None:
        data = t._array
        if data.size != 1:
            raise RuntimeError(
                f"{caller}: a gradient can be created implicitly only for a scalar output, but this output "
                f"has shape {t._array.shape}; reduce it first (out.sum().backward()) or pass gradient= a tensor of "
                f"shape {t._array.shape}")
        g = np.array(1, dtype=data.dtype)  # np.ones is a Python function, several times slower
        if data.ndim:
            g = g.reshape(data.shape)
        return Tensor._from_op(g, None) if create_graph else g  # the output's shape by construction
    elif isinstance(g, Tensor):
        if create_graph:
            if g._array.shape != t._array.shape:
                raise RuntimeError(f"{caller}: gradient has shape {g._array.shape} but the output has shape "
                                   f"{t._array.shape}")
            return g
        g = np.array(g._array, dtype=t.dtype)
    else:
        g = np.array(g, dtype=t.dtype)
    if g.shape != t._array.shape:
        raise RuntimeError(f"{caller}: gradient has shape {tuple(g.shape)} but the output has shape {t._array.shape}")
    return Tensor._from_op(g, None) if create_graph else g


def run(roots, retain_graph, create_graph, inputs=None):
    """The traversal, from ``roots`` (pairs of an output and its gradient) to the leaves.

    The gradients are accumulated into the leaves' ``.grad``; with ``inputs``, the gradients of those
    tensors are returned instead and no ``.grad`` changes.
    """
    xp = TENSOR if create_graph else NUMPY
    grads = {}        # node -> its gradient, summed over the consumers that have sent theirs
    leaf_grads = {}   # leaf Tensor -> its gradient, summed likewise (complete only at the end)
    root_nodes = []
    for t, g in roots:
        node = t.grad_fn
        if node is None:
            _add_to(leaf_grads, t, g)
        else:
            if node not in grads:
                root_nodes.append(node)
            _add_to(grads, node, g)
    capture = None  # autograd.grad: {the node, or the id of the leaf, of each input: its gradient}
    if inputs is not None:
        capture = {id(t) if t.grad_fn is None else t.grad_fn: None for t in inputs}

    waiting = count_consumers(root_nodes)  # node -> consumers that have yet to send their gradient
    ready = [node for node in root_nodes if waiting[node] == 0]
    check_finite = anomaly.is_enabled()
    previous_mode = grad_mode.set_enabled(create_graph)  # VJPs record a graph only for create_graph=True
    # in anomaly mode a NaN or Inf raises with the op's name, so NumPy's own warning would only repeat it
    previous_errors = np.seterr(divide="ignore", invalid="ignore", over="ignore") if check_finite else None
    try:
        while ready:
            node = ready.pop()  # the latest node made ready runs first, as from a stack
            g = grads.pop(node)
            if node.extra is not None:
                g = backward_steps.node_extras(node, g, create_graph, capture is None)
            if capture is not None and node in capture:
                capture[node] = g
            for i, (edge, gi) in enumerate(zip(node.edges, input_gradients(node, g, xp, create_graph))):
                if gi is None:
                    continue
                if check_finite:
                    anomaly.check(node, i, gi)
                if type(edge) is Node:
                    _add_to(grads, edge, gi)
                    waiting[edge] -= 1
                    if waiting[edge] == 0:
                        ready.append(edge)
                else:
                    _add_to(leaf_grads, edge, gi)
            if not retain_graph:
                node.args = node.inputs = node.out = None
        if capture is None:
            backward_steps.finish_leaves(leaf_grads, create_graph)
            return None
        return backward_steps.captured(leaf_grads, create_graph, capture, inputs)
    finally:
        grad_mode.set_enabled(previous_mode)
        if previous_errors is not None:
            np.seterr(**previous_errors)


def _add_to(grads, key, g):
    grads[key] = grads[key] + g if key in grads else g


def count_consumers(root_nodes):
    """{node: the number of edges that point at it} for every node reachable from the roots."""
    counts = {node: 0 for node in root_nodes}
    stack = list(root_nodes)
    while stack:
        node = stack.pop()
        for edge in node.edges:
            if type(edge) is Node:
                if edge in counts:
                    counts[edge] += 1
                else:
                    counts[edge] = 1
                    stack.append(edge)
    return counts


def input_gradients(node, g, xp, create_graph):
    """The gradient of each of the node's inputs (None where the input has no edge), from the node's VJPs.

    Each is summed back to its input's shape and cast to its dtype, unless the node's VJPs are known
    to return them so (``Node.exact_grads``).
    """
    if node.args is None:
        backward_steps.raise_freed(node)
    if backward_steps.inputs_changed(node):
        backward_steps.raise_modified(node)
    edges = node.edges
    if create_graph:
        args = backward_steps.tensor_args(node)
        out = node.output  # None for a primitive that returns a saved value: its VJP recomputes it
        ans = None if out is None else Tensor._from_op(out, node)
    else:
        args, ans = node.args, node.out
    fn = node.fn
    if fn.joint_vjp is not None:
        grads = fn.joint_vjp(xp, g, ans, edges, *args, **node.kwargs)
    else:
        grads = [None if edge is None else fn.vjps[i](xp, g, ans, *args, **node.kwargs)
                 for i, edge in enumerate(edges)]
    return [None if gi is None or edge is None else gi if node.exact_grads else conformed(gi, arg, xp)
            for edge, gi, arg in zip(edges, grads, node.args)]


def conformed(gi, target, xp):
    """Gradient ``gi`` summed back to the shape of input array ``target`` and cast to its dtype."""
    if gi.shape != target.shape:
        gi = xp.sum_to(gi, shape=target.shape)
    if gi.dtype != target.dtype:
        gi = xp.astype(gi, dtype=target.dtype)
    return gi
