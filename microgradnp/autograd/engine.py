"""Reverse-mode traversal: visits each node once, in reverse topological order, without recursion."""
import itertools

import numpy as np

from .. import grad_mode
from . import anomaly, backends
from .graph import ONE_INPUT, Node

RUN_STRIDE = 1 << 32
"""A backward pass's marks in ``Node.pending`` are its number times this, plus a count of consumers."""
_run_numbers = itertools.count(1)

_new = object.__new__
_ndarray = np.ndarray

Tensor = None  # bound in microgradnp/__init__.py (the engine is imported before the Tensor class exists)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (or of ``inputs``)."""
    roots = _roots(tensors, grad_tensors, create_graph, "backward")
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = run(roots, create_graph if retain_graph is None else retain_graph, create_graph, inputs)
        for t, g in zip(inputs, grads):
            if g is not None:
                _accumulate_into(t, g if create_graph else g.data, create_graph)
        return
    run(roots, create_graph if retain_graph is None else retain_graph, create_graph)


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
            raise RuntimeError(f"grad: input {i} (shape {inputs[i].shape}) was not used to compute the "
                               f"outputs; pass allow_unused=True to get None for it")
    return tuple(results)


def _roots(tensors, grad_tensors, create_graph, caller):
    if grad_tensors is None and isinstance(tensors, Tensor) and tensors.requires_grad:
        # the everyday loss.backward(): one output and its implicit gradient, without lists of one
        return ((tensors, _root_gradient(tensors, None, create_graph, caller)),)
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"{caller}: got {len(tensors)} outputs but {len(grad_tensors)} gradients")
    roots = []
    i = 0
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError(
                f"{caller}: output {i} does not require grad and has no grad_fn: nothing that produced it "
                f"requires grad (create inputs with requires_grad=True, and do not compute it under no_grad)")
        roots.append((t, _root_gradient(t, grad_tensors[i], create_graph, caller)))
        i += 1
    return roots


def _root_gradient(t, g, create_graph, caller):
    if g is None:
        data = t.data
        if data.size != 1:
            raise RuntimeError(
                f"{caller}: a gradient can be created implicitly only for a scalar output, but this output "
                f"has shape {t.shape}; reduce it first (out.sum().backward()) or pass gradient= a tensor of "
                f"shape {t.shape}")
        g = np.array(1, dtype=data.dtype)  # np.ones is a Python function, several times slower
        if data.ndim:
            g = g.reshape(data.shape)
        return Tensor._from_op(g, None) if create_graph else g  # the output's shape by construction
    elif isinstance(g, Tensor):
        if create_graph:
            if g.shape != t.shape:
                raise RuntimeError(f"{caller}: gradient has shape {g.shape} but the output has shape {t.shape}")
            return g
        g = np.array(g.data, dtype=t.dtype)
    else:
        g = np.array(g, dtype=t.dtype)
    if g.shape != t.shape:
        raise RuntimeError(f"{caller}: gradient has shape {g.shape} but the output has shape {t.shape}")
    return Tensor._from_op(g, None) if create_graph else g


def run(roots, retain_graph, create_graph, inputs=None):
    """The traversal. With ``inputs`` the gradients of those tensors are returned instead of accumulated."""
    F = backends.TENSOR if create_graph else backends.NUMPY
    root_grads = {}   # root node -> its gradient, summed over the roots it produced
    leaf_grads = {}   # leaf Tensor (identity hash) -> its gradient, summed over its consumers
    capture = None
    if inputs is not None:
        capture = {}
        for t in inputs:
            capture[id(t) if t.grad_fn is None else t.grad_fn] = None

    root_nodes = []
    for t, g in roots:
        node = t.grad_fn
        if node is None:
            leaf_grads[t] = leaf_grads[t] + g if t in leaf_grads else g
        elif node in root_grads:
            root_grads[node] = root_grads[node] + g
        else:
            root_grads[node] = g
            root_nodes.append(node)

    # Each node counts the consumers that have yet to send their gradient in its ``pending`` slot, as
    # this run's number times RUN_STRIDE plus the count: a slot on an object the loop touches anyway
    # costs less than a dictionary keyed by node, which on a large graph misses the cache at every
    # lookup, and one int slot adds little to what Python's garbage collector scans (see Node).
    # grads: partial sums of nodes still waiting for consumers; ready: (node, its whole gradient), so a
    # node with one consumer never goes through grads.
    base = next(_run_numbers) * RUN_STRIDE
    _count_consumers(root_nodes, base)
    grads = root_grads
    ready = []
    for node in root_nodes:
        if node.pending == base:
            ready.append((node, grads.pop(node)))
    # the node to run next and its gradient, outside ``ready``: in a chain each node makes exactly one
    # other ready, and a list that empties and refills at every node reallocates its storage each time
    after = after_g = None
    check_finite = anomaly._state.depth > 0
    previous_mode = grad_mode._state.enabled
    grad_mode._state.enabled = create_graph  # VJPs record a graph only for create_graph=True
    # in anomaly mode a NaN or Inf raises with the op's name, so NumPy's own warning would only repeat it
    previous_errors = np.seterr(divide="ignore", invalid="ignore", over="ignore") if check_finite else None
    try:
        while True:
            if after is not None:
                node, g = after, after_g
                after = after_g = None  # (the gradient too: it can be freed once its node has run)
            elif ready:
                node, g = ready.pop()
            else:
                break
            if node.extra is not None:
                g = _node_extras(node, g, create_graph, capture is None)
            if capture is not None and node in capture:
                capture[node] = g
            args = node.args
            if args is None:
                _raise_freed(node)
            version = node.version
            if version is not None:
                # the version check inline: it runs for every node whose VJP reads its inputs
                now = 0
                for x in node.inputs:
                    if isinstance(x, Tensor):
                        now += x._version
                if now != version:
                    _raise_modified(node)
            fn = node.fn
            kwargs = node.kwargs
            exact = node.exact_grads
            if create_graph:
                vjp_args = _tensor_args(node)
                out = node.output  # None for an AuxPrimitive: its VJP recomputes what it saved
                ans = None if out is None else Tensor._from_op(out, node)
            else:
                vjp_args, ans = args, node.out
            edge1 = node.edge1  # the edges property inlined: 0.06 us a node, 2% of a small op
            if edge1 is ONE_INPUT:
                edges = (node.edge0,)
            elif node.more_edges is None:
                edges = (node.edge0, edge1)
            else:
                edges = (node.edge0, edge1) + node.more_edges
            joint = fn.joint_vjp
            if joint is not None:
                joint = joint(F, g, ans, edges, *vjp_args, **kwargs) if kwargs else joint(F, g, ans, edges, *vjp_args)
            else:
                vjps = fn.vjps
                n_args = len(vjp_args)
            i = -1
            for edge in edges:
                i += 1
                if edge is None:
                    continue
                if joint is None:
                    if kwargs:
                        gi = vjps[i](F, g, ans, *vjp_args, **kwargs)
                    elif n_args == 1:  # direct calls for one and two inputs: no argument tuple is built
                        gi = vjps[0](F, g, ans, vjp_args[0])
                    elif n_args == 2:
                        gi = vjps[i](F, g, ans, vjp_args[0], vjp_args[1])
                    else:
                        gi = vjps[i](F, g, ans, *vjp_args)
                else:
                    gi = joint[i]
                    if gi is None:
                        continue
                if not exact:  # (exact: the VJP's gradient has its input's shape and dtype already)
                    target = args[i]
                    if gi.shape != target.shape:
                        gi = F.sum_to(gi, shape=target.shape)
                    # dtypes of one kind are usually the same object: the identity test skips a comparison
                    if gi.dtype is not target.dtype and gi.dtype != target.dtype:
                        gi = F.astype(gi, dtype=target.dtype)
                if check_finite:
                    anomaly.check(node, i, gi)
                if type(edge) is Node:
                    left = edge.pending - 1
                    edge.pending = left
                    if left == base:  # the last consumer: the gradient is complete
                        summed = grads.pop(edge, None) if grads else None  # grads is empty in a tree
                        if after is not None:  # the latest ready node runs first, as from a stack
                            ready.append((after, after_g))
                        after, after_g = edge, gi if summed is None else summed + gi
                    else:
                        if left >= base + RUN_STRIDE - 1:  # marked by a later run: see _raise_concurrent
                            _raise_concurrent(edge)
                        summed = grads.get(edge)
                        grads[edge] = gi if summed is None else summed + gi
                else:  # a leaf: its gradient is complete only once every node is done
                    summed = leaf_grads.get(edge)
                    leaf_grads[edge] = gi if summed is None else summed + gi
            if not retain_graph:
                node.args = node.inputs = node.out = None

        if capture is None:
            _finish_leaves(leaf_grads, create_graph)
            return None
        return _captured(leaf_grads, create_graph, capture, inputs)
    finally:
        grad_mode._state.enabled = previous_mode
        if previous_errors is not None:
            np.seterr(**previous_errors)


def _raise_freed(node):
    raise RuntimeError(
        f"Trying to backward through the graph a second time: the values saved by "
        f"'{node.fn.name}' were freed by an earlier backward(). Pass retain_graph=True to the first "
        f"backward() (or autograd.grad()) if you need to go through the graph again.")


def _count_consumers(root_nodes, base):
    """Set ``pending`` of every node reachable from the roots to ``base`` plus the number of edges that
    point at it (iterative: no recursion limit). A value below ``base`` is a mark of an earlier run:
    that node has not been reached yet.
    """
    for node in root_nodes:
        node.pending = base
    stack = list(root_nodes)
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        while node is not None:
            # the first newly reached input is visited next without going through the stack: in a chain
            # that is every node, and a list that empties and refills reallocates its storage each time
            follow = None
            # the first edge outside the loop: most nodes have just that one (ONE_INPUT or a constant's
            # None in edge1 is not a Node), and building a tuple per node would double this pass's time
            edge = node.edge0
            if type(edge) is Node:
                if edge.pending >= base:
                    edge.pending += 1
                else:
                    edge.pending = base + 1
                    follow = edge
            edge = node.edge1
            more = node.more_edges
            if type(edge) is Node or more is not None:
                for edge in (edge,) if more is None else (edge,) + more:
                    if type(edge) is Node:
                        if edge.pending >= base:
                            edge.pending += 1
                        else:
                            edge.pending = base + 1
                            if follow is None:
                                follow = edge
                            else:
                                push(edge)
            node = follow


def _raise_concurrent(node):
    raise RuntimeError(
        f"backward: another backward pass went through '{node.fn.name}' while this one was still running "
        f"(from another thread, or from a hook): run backward passes over one graph one at a time")


def _raise_modified(node):
    shapes = ", ".join(f"{tuple(x.shape)} at version {x._version}" for x in node.inputs if isinstance(x, Tensor))
    raise RuntimeError(
        f"one of the tensors needed to compute the gradient of '{node.fn.name}' was modified by an in-place "
        f"operation after it was used (inputs: {shapes}). Use an out-of-place op (x = x + y instead of "
        f"x += y), or clone the tensor before changing it.")


def _tensor_args(node):
    # the inputs as Tensors wired to the graph as it was when the op ran (in-place ops may rebind since)
    out = []
    # (an input with an edge may be None in node.inputs: the edge is all that is needed)
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


def _wrap(g):
    return g if isinstance(g, Tensor) else Tensor._from_op(np.asarray(g), None)


def _unwrap(g, create_graph):
    return g if create_graph else g.data


def _node_extras(node, g, create_graph, accumulate):
    modified_by = node.extra.get("modified_by")
    if modified_by is not None:
        raise RuntimeError(
            f"the output of '{node.fn.name}' was modified by an in-place operation ({modified_by}) after it was "
            f"computed, but '{node.fn.name}' needs that output for its gradient; use an out-of-place op instead")
    g = _run_hooks(node.extra.get("hooks") or (), g, create_graph)
    ref = node.extra.get("retained")
    t = ref() if ref is not None else None
    if t is not None and accumulate:  # autograd.grad() leaves every .grad untouched
        _accumulate_into(t, g, create_graph, copy=True)
    return g


def _run_hooks(hooks, g, create_graph):
    # each hook sees the gradient as a Tensor and may return a replacement (a node's or a leaf's hooks)
    for hook in hooks:
        replaced = hook(_wrap(g))
        if replaced is not None:
            replaced = _unwrap(_wrap(replaced), create_graph)
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


def _finish_leaves(leaf_grads, create_graph):
    if create_graph:
        for leaf, g in leaf_grads.items():
            _accumulate_into(leaf, _run_hooks(leaf._hooks, g, True) if leaf._hooks else g, True)
        return
    # a VJP may pass one array to several inputs (add does), or a read-only broadcast view: such a
    # gradient is copied so that in-place changes to one .grad never reach another
    handed_out = set()  # ids of the arrays already kept by reference
    for leaf, g in leaf_grads.items():
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, False)
        shared = type(g) is not _ndarray or g.base is not None
        if not shared and leaf.grad is None and leaf.data.dtype.kind == "f":
            key = id(g)
            if key not in handed_out:
                handed_out.add(key)
                # the common first gradient, kept by reference; Tensor._from_op inlined, because its call
                # costs about 600 instructions a parameter: 3,600 of the 630,000 of a small training step
                grad = _new(Tensor)
                grad.data = g
                grad.grad = grad.grad_fn = grad._hooks = None
                grad.requires_grad = False
                grad._version = 0
                leaf.grad = grad
                continue
            shared = True
        _accumulate_into(leaf, g, False, copy=shared)


def _captured(leaf_grads, create_graph, capture, inputs):
    # autograd.grad(): the gradients of ``inputs``, every .grad left untouched
    for leaf, g in leaf_grads.items():
        if id(leaf) in capture:
            capture[id(leaf)] = _run_hooks(leaf._hooks, g, create_graph) if leaf._hooks else g
    results = []
    for t in inputs:
        g = capture[id(t) if t.grad_fn is None else t.grad_fn]
        results.append(None if g is None else (g if create_graph else Tensor._from_op(np.array(g), None)))
    return results


def _accumulate_into(t, g, create_graph, copy=False):
    if t.data.dtype.kind != "f":
        raise RuntimeError(f"backward: a tensor of dtype {t.dtype} (shape {t.shape}) requires grad; only "
                           f"floating point tensors can have gradients")
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
        return
    if t.grad is None:
        t.grad = Tensor._from_op(np.array(g, dtype=t.dtype, copy=True) if copy else np.asarray(g), None)
    elif t.grad.data.flags.writeable and t.grad.data.shape == np.shape(g):
        np.add(t.grad.data, g, out=t.grad.data, casting="unsafe")
    else:
        t.grad = Tensor._from_op(t.grad.data + g, None)
