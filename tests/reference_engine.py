"""A plain reference engine, the oracle for microgradnp's backward pass: HIPS autograd's algorithm in a
few lines (a topological order, then one dictionary of gradients), with no hooks, checks or speed."""
import numpy as np

from microgradnp.autograd.namespaces import NUMPY
from microgradnp.autograd.node import Node


def toposort(roots):
    """Every node reachable from ``roots``, each one before the nodes its edges lead to."""
    order, done, stack = [], set(), [(node, False) for node in roots]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
        elif node not in done:
            done.add(node)
            stack.append((node, True))
            stack.extend((edge, False) for edge in node.edges if type(edge) is Node and edge not in done)
    return order[::-1]


def gradients(outputs, seeds):
    """{leaf Tensor: d(sum of outputs[i] * seeds[i])/d(leaf)}, the seeds being ndarrays."""
    grads, leaf_grads = {}, {}
    for out, seed in zip(outputs, seeds):
        _add(grads, out.grad_fn, seed)
    for node in toposort([out.grad_fn for out in outputs]):
        g = grads.pop(node)
        fn = node.fn
        joint = fn.joint_vjp(NUMPY, g, node.out, node.edges, *node.args, **node.kwargs) if fn.joint_vjp else None
        for i, edge in enumerate(node.edges):
            if edge is None:
                continue
            gi = joint[i] if joint else fn.vjps[i](NUMPY, g, node.out, *node.args, **node.kwargs)
            gi = np.asarray(NUMPY.sum_to(gi, shape=np.shape(node.args[i]))).astype(node.args[i].dtype)
            _add(grads if type(edge) is Node else leaf_grads, edge, gi)
    return leaf_grads


def _add(grads, key, g):
    grads[key] = grads[key] + g if key in grads else g
