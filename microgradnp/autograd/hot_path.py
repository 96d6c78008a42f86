"""The hot path: faster copies of plain code elsewhere, for the calls every training step makes.

Everything here is an unrolled or inlined copy of a plain function, kept because the plain one costs
too much Python on every op of every step (see the ``ops``, ``xor`` and ``mlp`` workloads in
``benchmarks/``):

- ``apply1``, ``apply2``, ``apply3``: ``apply.apply`` for one, two and three inputs without keyword
  arguments. The Tensor and the Node are built field by field here instead of through
  ``Tensor._from_op`` and ``Node()``, whose frames cost a noticeable share of a small op.
- ``run``: ``engine.run``, the backward traversal, for an ordinary ``backward()`` (no ``create_graph``,
  no ``autograd.grad`` capture, no anomaly mode): per-node counts kept in a slot of the node, the next
  node held outside the stack, direct VJP calls for one and two inputs; and ``finish_leaves``,
  ``backward_steps.finish_leaves`` with each first ``.grad`` built field by field.

Read the plain versions first. The test suite runs every primitive through both apply paths and random
graphs through both traversals, and checks that the results, the gradients and the recorded nodes are
the same; it also fails when a field is added to Tensor or Node and a copy here does not set it.
"""
import itertools

import numpy as np

from .. import grad_mode
from ..capture import capture_state as _capture
from ..grad_mode import _state as _grad_state
from ..tensor import Tensor
from . import backward_steps
from .apply import NO_KWARGS, apply, check_call, describe_error
from .node import ONE_INPUT, Node, _recording, annotate

_new = object.__new__
_NO_INPUT = (None,)  # the inputs of a one-input op that reads no input values (shared: no allocation)


def apply1(prim, x, *extra, **kwargs):
    """``apply`` for one input and no keyword arguments (most elementwise ops)."""
    if extra or kwargs:  # a UnaryPrimitive called with more
        check_call(prim, 1, 1 + len(extra), kwargs)
    if not isinstance(x, Tensor):
        return apply(prim, (x,), NO_KWARGS)
    data = x._array
    try:
        out = prim.forward(data)
    except (ValueError, IndexError, TypeError) as error:
        raise type(error)(describe_error(prim, (data,), NO_KWARGS, error)) from None
    if _capture.active is not None:  # a compiled step's capture (capture.py)
        out = _capture.active.record_op(prim, (data,), NO_KWARGS, out)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    t = _new(Tensor)
    t._array = out
    t._grad = None
    t._version = 0
    t._hooks = None
    t._aliases = None
    if x.requires_grad and _grad_state.enabled:
        node = _new(Node)
        node.fn = prim
        if prim.reads_inputs:
            node.inputs = (x,)
            node.version = x._version
        else:  # the edge leads to x: the graph need not keep the Tensor alive
            node.inputs = _NO_INPUT
            node.version = None
        node.args = (data,)
        node.edge0 = x.grad_fn or x
        node.edge1 = ONE_INPUT
        node.more_edges = None
        node.kwargs = NO_KWARGS
        node.out = out if prim.saves_out else None
        node.extra = None
        node.pending = 0
        node.exact_grads = prim.exact_on_one_array
        if _recording.depth:
            annotate(node)
        t.grad_fn = node
        t.requires_grad = True
    else:
        t.grad_fn = None
        t.requires_grad = False
    return t


def apply2(prim, a, b):
    """``apply`` for two inputs and no keyword arguments (binary arithmetic)."""
    if isinstance(a, Tensor):
        da = a._array
        ea = (a.grad_fn or a) if a.requires_grad else None
    else:
        da, ea = a, None
    if isinstance(b, Tensor):
        db = b._array
        eb = (b.grad_fn or b) if b.requires_grad else None
    else:
        db, eb = b, None
    try:
        out = prim.forward(da, db)
    except (ValueError, IndexError, TypeError) as error:
        raise type(error)(describe_error(prim, (da, db), NO_KWARGS, error)) from None
    if _capture.active is not None:  # a compiled step's capture (capture.py)
        out = _capture.active.record_op(prim, (da, db), NO_KWARGS, out)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    t = _new(Tensor)
    t._array = out
    t._grad = None
    t._version = 0
    t._hooks = None
    t._aliases = None
    if (ea is not None or eb is not None) and _grad_state.enabled:
        node = _new(Node)
        node.fn = prim
        reads = prim.reads_inputs
        # below, an input is a Tensor exactly when its array is another object than the input itself
        if reads is True:
            node.inputs = (a, b)
            node.version = (a._version if da is not a else 0) + (b._version if db is not b else 0)
        elif reads is False:  # the edges lead to the inputs that require grad: keep only the others
            node.inputs = (None if ea is not None else a, None if eb is not None else b)
            node.version = None
        else:  # per-input reads (a product): apply.kept_inputs unrolled for two inputs
            keep = prim.keeps[(ea is not None) + 2 * (eb is not None)]
            keep_a, keep_b = keep[0], keep[1]  # (a longer entry: a third, optional input not given)
            node.inputs = (a if keep_a else None, b if keep_b else None)
            version = None
            if keep_a and da is not a:
                version = a._version
            if keep_b and db is not b:
                version = b._version if version is None else version + b._version
            node.version = version
        node.args = (da, db)
        node.edge0 = ea
        node.edge1 = eb
        node.more_edges = None
        node.kwargs = NO_KWARGS
        node.out = out if prim.saves_out else None
        node.extra = None
        node.pending = 0
        if prim.elementwise:  # apply.exact_grads: one array and a Python number
            type_a, type_b = type(da), type(db)
            if type_a is np.ndarray:
                node.exact_grads = type_b is float or type_b is int
            else:
                node.exact_grads = (type_a is float or type_a is int) and type_b is np.ndarray
        elif prim.grads_in_input_shapes:
            node.exact_grads = type(da) is np.ndarray and type(db) is np.ndarray and da.dtype is db.dtype
        else:
            node.exact_grads = False
        if _recording.depth:
            annotate(node)
        t.grad_fn = node
        t.requires_grad = True
    else:
        t.grad_fn = None
        t.requires_grad = False
    return t


def apply3(prim, a, b, c):
    """``apply`` for three inputs and no keyword arguments (``linear``, in every layer).

    Like ``apply1`` and ``apply2`` it takes ordinary primitives only: a primitive that returns a saved
    value (``returns_saved``) always goes the general way.
    """
    with_edge = 0  # bit i set when input i has an edge, as in apply
    if isinstance(a, Tensor):
        da = a._array
        ea = (a.grad_fn or a) if a.requires_grad else None
        if ea is not None:
            with_edge = 1
    else:
        da, ea = a, None
    if isinstance(b, Tensor):
        db = b._array
        eb = (b.grad_fn or b) if b.requires_grad else None
        if eb is not None:
            with_edge |= 2
    else:
        db, eb = b, None
    if isinstance(c, Tensor):
        dc = c._array
        ec = (c.grad_fn or c) if c.requires_grad else None
        if ec is not None:
            with_edge |= 4
    else:
        dc, ec = c, None
    try:
        out = prim.forward(da, db, dc)
    except (ValueError, IndexError, TypeError) as error:
        raise type(error)(describe_error(prim, (da, db, dc), NO_KWARGS, error)) from None
    if _capture.active is not None:  # a compiled step's capture (capture.py)
        out = _capture.active.record_op(prim, (da, db, dc), NO_KWARGS, out)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    t = _new(Tensor)
    t._array = out
    t._grad = None
    t._version = 0
    t._hooks = None
    t._aliases = None
    if with_edge and _grad_state.enabled:
        node = _new(Node)
        node.fn = prim
        reads = prim.reads_inputs
        # below, an input is a Tensor exactly when its array is another object than the input itself
        if reads is True:
            node.inputs = (a, b, c)
            node.version = ((a._version if da is not a else 0) + (b._version if db is not b else 0)
                            + (c._version if dc is not c else 0))
        elif reads is False:  # the edges lead to the inputs that require grad: keep only the others
            node.inputs = (None if ea is not None else a, None if eb is not None else b,
                           None if ec is not None else c)
            node.version = None
        else:  # per-input reads: apply.kept_inputs unrolled for three inputs
            keep = prim.keeps[with_edge]
            keep_a, keep_b, keep_c = keep[0], keep[1], keep[2]
            node.inputs = (a if keep_a else None, b if keep_b else None, c if keep_c else None)
            version = None
            if keep_a and da is not a:
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
        node.kwargs = NO_KWARGS
        node.out = out if prim.saves_out else None
        node.extra = None
        node.pending = 0
        if prim.elementwise:  # apply.exact_grads: three inputs are never one array alone
            node.exact_grads = False
        elif prim.grads_in_input_shapes:  # apply.exact_grads: arrays (or None) of one dtype
            node.exact_grads = type(da) is np.ndarray and type(db) is np.ndarray and da.dtype is db.dtype and (
                dc is None or type(dc) is np.ndarray and dc.dtype is da.dtype)
        else:
            node.exact_grads = False
        if _recording.depth:
            annotate(node)
        t.grad_fn = node
        t.requires_grad = True
    else:
        t.grad_fn = None
        t.requires_grad = False
    return t


# ----------------------------------------------------------------------------------------------------
# The backward traversal (engine.run) for an ordinary backward() call.

RUN_STRIDE = 1 << 32
"""A backward pass's marks in ``Node.pending`` are its number times this, plus a count of consumers."""
_run_numbers = itertools.count(1)


def run(roots, retain_graph, xp):
    """``engine.run`` without create_graph, gradient capture or anomaly checks: accumulates into leaves."""
    root_grads = {}   # root node -> its gradient, summed over the roots it produced
    leaf_grads = {}   # leaf Tensor (identity hash) -> its gradient, summed over its consumers
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
    # lookup, and one int slot adds little to what Python's garbage collector scans.
    # grads: partial sums of nodes still waiting for consumers; ready: (node, its whole gradient), so a
    # node with one consumer never goes through grads.
    base = next(_run_numbers) * RUN_STRIDE
    count_consumers(root_nodes, base)
    grads = root_grads
    ready = []
    for node in root_nodes:
        if node.pending == base:
            ready.append((node, grads.pop(node)))
    # the node to run next and its gradient, outside ``ready``: in a chain each node makes exactly one
    # other ready, and a list that empties and refills at every node reallocates its storage each time
    after = after_g = None
    previous_mode = grad_mode.set_enabled(False)  # the VJPs record nothing
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
                g = backward_steps.node_extras(node, g, False, True)
            args = node.args
            if args is None:
                backward_steps.raise_freed(node)
            version = node.version
            if version is not None:  # backward_steps.inputs_changed, inline
                now = 0
                for x in node.inputs:
                    if isinstance(x, Tensor):
                        now += x._version
                if now != version:
                    backward_steps.raise_modified(node)
            fn = node.fn
            kwargs = node.kwargs
            exact = node.exact_grads
            ans = node.out
            edge1 = node.edge1  # the edges property, inline
            if edge1 is ONE_INPUT:
                edges = (node.edge0,)
            elif node.more_edges is None:
                edges = (node.edge0, edge1)
            else:
                edges = (node.edge0, edge1) + node.more_edges
            joint = fn.joint_vjp
            if joint is not None:
                joint = joint(xp, g, ans, edges, *args, **kwargs) if kwargs else joint(xp, g, ans, edges, *args)
            else:
                vjps = fn.vjps
                n_args = len(args)
            i = -1
            for edge in edges:
                i += 1
                if edge is None:
                    continue
                if joint is None:
                    if kwargs:
                        gi = vjps[i](xp, g, ans, *args, **kwargs)
                    elif n_args == 1:  # direct calls for one and two inputs: no argument tuple is built
                        gi = vjps[0](xp, g, ans, args[0])
                    elif n_args == 2:
                        gi = vjps[i](xp, g, ans, args[0], args[1])
                    else:
                        gi = vjps[i](xp, g, ans, *args)
                else:
                    gi = joint[i]
                    if gi is None:
                        continue
                if not exact:  # engine.conformed, inline
                    target = args[i]
                    if gi.shape != target.shape:
                        gi = xp.sum_to(gi, shape=target.shape)
                    # dtypes of one kind are usually the same object: the identity test skips a comparison
                    if gi.dtype is not target.dtype and gi.dtype != target.dtype:
                        gi = xp.astype(gi, dtype=target.dtype)
                if type(edge) is Node:
                    left = edge.pending - 1
                    edge.pending = left
                    if left == base:  # the last consumer: the gradient is complete
                        summed = grads.pop(edge, None) if grads else None  # grads is empty in a tree
                        if after is not None:  # the latest ready node runs first, as from a stack
                            ready.append((after, after_g))
                        after, after_g = edge, gi if summed is None else summed + gi
                    else:
                        if left >= base + RUN_STRIDE - 1:  # marked by a later run: see raise_concurrent
                            backward_steps.raise_concurrent(edge)
                        summed = grads.get(edge)
                        grads[edge] = gi if summed is None else summed + gi
                else:  # a leaf: its gradient is complete only once every node is done
                    summed = leaf_grads.get(edge)
                    leaf_grads[edge] = gi if summed is None else summed + gi
            if not retain_graph:
                node.args = node.inputs = node.out = None
        finish_leaves(leaf_grads)
    finally:
        grad_mode.set_enabled(previous_mode)


def finish_leaves(leaf_grads):
    """``backward_steps.finish_leaves`` without create_graph: the first gradient's Tensor built inline."""
    handed_out = set()
    for leaf, g in leaf_grads.items():
        if leaf._hooks:
            g = backward_steps.run_hooks(leaf._hooks, g, False)
        shared = type(g) is not np.ndarray or g.base is not None
        if not shared and leaf._grad is None and leaf._array.dtype.kind == "f":
            key = id(g)
            if key not in handed_out:
                handed_out.add(key)
                grad = _new(Tensor)
                grad._array = g
                grad._grad = grad.grad_fn = grad._hooks = grad._aliases = None
                grad.requires_grad = False
                grad._version = 0
                leaf._grad = grad
                continue
            shared = True
        backward_steps.accumulate_into(leaf, g, False, copy=shared)


def count_consumers(root_nodes, base):
    """Set ``pending`` of every node reachable from the roots to ``base`` plus the number of edges that
    point at it (``engine.count_consumers``, with the counts in the nodes). A value below ``base`` is a
    mark of an earlier run: that node has not been reached yet.
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
            # None in edge1 is not a Node), and building a tuple per node would slow this pass down
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
