"""``explain_zero_grad``: why a parameter's gradient is zero or None, named at the op where it happened.

Two ways a gradient dies:
- the parameter is reachable from the loss, but on every path some op passes back an all-zero gradient
  (a ReLU whose mask is all off, a clamp outside its range, a multiply by 0, an integer tensor that
  truncates the gradient): the report names the first such op on each path from the loss;
- the parameter is not reachable at all, because the graph was cut (``detach()``, a ``no_grad`` block,
  an ``argmax``, a comparison, an integer cast): the report lists where tensors without a gradient
  enter the graph and says which of them look like the cut.
"""
from collections import deque

import numpy as np

from ..tensor import Tensor
from .causes import Cause, describe_block
from .cuts import find_cuts
from .gradients import edge_gradient, is_node, output_gradients
from .model import parameter_names
from .report import Blocker, ZeroGradReport


def _reachable_nodes(loss):
    nodes, stack = [], [loss.grad_fn]
    seen = {loss.grad_fn}
    while stack:
        node = stack.pop()
        nodes.append(node)
        for edge in node.edges:
            if is_node(edge) and edge not in seen:
                seen.add(edge)
                stack.append(edge)
    return nodes


def _leads_to(edge, param):
    return edge is param or (param.grad_fn is not None and edge is param.grad_fn)


def _relevant(nodes, param):
    """The nodes with a path to ``param``: found by walking the reversed edges from it."""
    consumers = {}
    for node in nodes:
        for edge in node.edges:
            if edge is not None:
                consumers.setdefault(id(edge), []).append(node)
    start = param.grad_fn if param.grad_fn is not None else param
    relevant, stack = set(), [start]
    while stack:
        target = stack.pop()
        for node in consumers.get(id(target), ()):
            if node not in relevant:
                relevant.add(node)
                stack.append(node)
    return relevant


def _walk_blockers(loss, param, relevant, grads):
    """Breadth-first from the loss: the first op on each path that sends back an all-zero gradient."""
    blockers = []
    paths = {loss.grad_fn: [loss.grad_fn]}
    queue = deque([loss.grad_fn])
    while queue:
        node = queue.popleft()
        g = grads.get(node)
        if g is None or not np.any(g):
            text = ("the gradient fed into backward is zero" if node is loss.grad_fn else
                    "the gradients arriving here from its consumers cancel out (they sum to 0)")
            blockers.append(Blocker(node, None, Cause("cancelled", text), paths[node]))
            continue
        for index, edge in enumerate(node.edges):
            if edge is None or not (_leads_to(edge, param) or edge in relevant):
                continue
            gi = edge_gradient(node, index, g)
            if gi is not None and not np.any(gi):
                blockers.append(Blocker(node, index, describe_block(node, index, g), paths[node]))
            elif is_node(edge) and edge not in paths:
                paths[edge] = paths[node] + [edge]
                queue.append(edge)
    return blockers


def explain_zero_grad(loss, param, params=None, grad_output=None):
    """Explain why d(loss)/d(param) is zero or None; returns a ZeroGradReport (print it, or read its fields).

    loss: the scalar (or pass ``grad_output``) whose gradient is missing; the graph must not have been
        freed by backward (call this before ``loss.backward()``, or use ``backward(retain_graph=True)``).
    param: the tensor (a parameter, or any tensor in the graph) whose gradient is zero or None.
    params: names for the report, as for ``draw_graph`` (a module or ``dict(model.named_parameters())``).
    """
    for what, value in (("loss", loss), ("param", param)):
        if not isinstance(value, Tensor):
            raise TypeError(f"explain_zero_grad: {what} must be a Tensor, got {type(value).__name__}")
    names = parameter_names(params)
    report = ZeroGradReport(names.get(id(param)) or "param", names, tuple(param.shape))
    if not param.requires_grad:
        return report.finish("no_grad_required", reachable=False)
    if loss.grad_fn is None:
        return report.finish("loss_has_no_graph" if loss is not param else "nonzero", reachable=loss is param)
    nodes = _reachable_nodes(loss)
    relevant = _relevant(nodes, param)
    if not relevant:
        report.cuts = find_cuts(nodes, param, names)
        return report.finish("unreachable", reachable=False, freed=any(n.freed for n in nodes))
    if any(n.freed for n in relevant):
        return report.finish("freed", reachable=True, freed=True)
    ordered = [n for n in nodes if n in relevant]
    grad_outputs = None if grad_output is None else [grad_output]
    grads = output_gradients([loss], ordered, [param] if param.grad_fn is None else [], grad_outputs)
    if grads is None:
        raise ValueError(f"explain_zero_grad: the loss has shape {tuple(loss.shape)}, not a scalar; pass "
                         f"grad_output= a tensor of that shape")
    g_param = grads.get(id(param)) if param.grad_fn is None else grads.get(param.grad_fn)
    report.grad = g_param
    if g_param is not None and np.any(g_param):
        return report.finish("nonzero", reachable=True)
    report.blockers = _walk_blockers(loss, param, relevant, grads)
    if not report.blockers:
        report.blockers = [Blocker(None, None, Cause("cancelled", "the contributions reaching the parameter "
                                                                  "cancel out (they sum to 0)"), [])]
    return report.finish("blocked", reachable=True)

