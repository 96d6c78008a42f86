"""The graph behind some output tensors, as plain vertices and edges ready to be styled and drawn.

An op vertex stands for one recorded node *and* the tensor it produced (drawing both would double the
size of every graph without telling more). Tensor vertices are the leaves: parameters and other tensors
that require grad, and inputs that do not (data, targets, constants). Python scalars given to an op are
written inside the op's label instead of getting a vertex of their own.
"""
from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor
from .gradients import is_node


@dataclass
class OpVertex:
    """One recorded op and the tensor it produced."""

    key: str
    node: object
    name: str
    details: list
    trace: tuple
    scope: tuple
    value: np.ndarray = None
    outputs: list = field(default_factory=list)


@dataclass
class TensorVertex:
    """A leaf tensor: ``kind`` is 'param' (named and requires grad), 'leaf' (requires grad), or 'input'."""

    key: str
    tensor: object
    kind: str
    name: str = None
    scope: tuple = ()
    outputs: list = field(default_factory=list)

    @property
    def value(self):
        """The tensor's data as an ndarray."""
        return self.tensor._array if isinstance(self.tensor, Tensor) else np.asarray(self.tensor)


@dataclass
class Edge:
    """Data flows from ``src`` into input ``index`` of the op ``dst``."""

    src: str
    dst: str
    index: int


@dataclass
class GraphModel:
    """Everything reachable from the roots: ops in topological order (inputs first), leaves, edges."""

    roots: list
    ops: list
    tensors: list
    edges: list
    freed: bool

    def vertex(self, key):
        """The op or tensor vertex with this key."""
        return self._index[key]

    def __post_init__(self):
        self._index = {v.key: v for v in self.ops}
        self._index.update({v.key: v for v in self.tensors})


def parameter_names(params):
    """id(tensor) -> name from a dict, an iterable of (name, tensor) pairs, or anything with named_parameters()."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        pairs = params.named_parameters()
    elif isinstance(params, dict):
        pairs = params.items()
    else:
        pairs = params
    names = {}
    for pair in pairs:
        try:
            name, tensor = pair
        except (TypeError, ValueError):
            raise TypeError(f"draw_graph: params must be a dict of name -> tensor, (name, tensor) pairs or a "
                            f"module with named_parameters(); got an entry {pair!r}") from None
        if not isinstance(tensor, Tensor):
            raise TypeError(f"draw_graph: params[{name!r}] is a {type(tensor).__name__}, not a Tensor")
        names.setdefault(id(tensor), str(name))
    return names


def _scalar_text(value):
    value = np.asarray(value)
    if value.dtype == np.bool_:
        return str(bool(value))
    return f"{value.item():.4g}" if np.issubdtype(value.dtype, np.floating) else str(value.item())


def _kwarg_text(key, value):
    # only small, readable settings (axis, dtype, min/max...): arrays and objects stay out of the label
    if isinstance(value, (np.dtype, type)) and key == "dtype":
        return f"{key}={np.dtype(value).name}"
    if isinstance(value, (bool, int, float, str, np.generic)):
        return f"{key}={_scalar_text(value) if not isinstance(value, str) else value}"
    if isinstance(value, tuple) and len(value) <= 4 and all(isinstance(v, (int, np.integer)) for v in value):
        return f"{key}={tuple(int(v) for v in value)}"
    return None


def _is_scalar_constant(value):
    return not isinstance(value, Tensor) and np.ndim(value) == 0 and value is not None


def _op_details(node):
    # False flags (keepdims=False) are the defaults and would only crowd the label
    details = [text for key, value in sorted(node.kwargs.items())
               if value is not None and value is not False and (text := _kwarg_text(key, value)) is not None]
    if node.inputs is not None:
        details += [f"scalar {_scalar_text(x)}" for x in node.inputs if _is_scalar_constant(x)]
    return details


def _walk(roots):
    """Op nodes reachable from the roots' grad_fns, each once, inputs before the ops that use them."""
    order, seen = [], set()
    stack = [(r.grad_fn, False) for r in roots if r.grad_fn is not None]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for edge in node.edges:
            if is_node(edge) and edge not in seen:
                stack.append((edge, False))
    return order


def _common_prefix(scopes):
    scopes = list(scopes)
    if not scopes:
        return ()
    prefix = scopes[0]
    for scope in scopes[1:]:
        n = 0
        while n < min(len(prefix), len(scope)) and prefix[n] == scope[n]:
            n += 1
        prefix = prefix[:n]
    return tuple(prefix)


def build(roots, names):
    """The GraphModel of ``roots`` (Tensors); ``names`` maps id(tensor) to a display name."""
    nodes = _walk(roots)
    ops = {}
    for i, node in enumerate(nodes):
        ops[node] = OpVertex(f"op{i}", node, node.name, _op_details(node), node.info("trace"),
                             tuple(node.info("scope") or ()), node.output)
    tensors, edges, consumers = {}, [], {}

    def leaf_vertex(t, kind):
        # one vertex per tensor object, however many ops use it
        vertex = tensors.get(id(t))
        if vertex is None:
            name = names.get(id(t))
            kind = "param" if kind == "leaf" and name is not None else kind
            vertex = tensors[id(t)] = TensorVertex(f"t{len(tensors)}", t, kind, name)
        return vertex

    for node in nodes:
        dst = ops[node]
        for i, edge in enumerate(node.edges):
            if is_node(edge):
                src = ops[edge]
                if src.value is None and node.args is not None:
                    src.value = node.args[i]
            elif edge is not None:
                src = leaf_vertex(edge, "leaf")
            elif node.inputs is not None and isinstance(node.inputs[i], (Tensor, np.ndarray)) \
                    and not _is_scalar_constant(node.inputs[i]):
                src = leaf_vertex(node.inputs[i], "input")
            else:
                continue
            edges.append(Edge(src.key, dst.key, i))
            consumers.setdefault(src.key, []).append(dst.scope)

    for index, root in enumerate(roots):
        if root.grad_fn is not None:
            vertex = ops[root.grad_fn]
            vertex.value = root._array
        else:
            vertex = leaf_vertex(root, "leaf" if root.requires_grad else "input")
        vertex.outputs.append(index)

    for vertex in tensors.values():
        if vertex.kind != "input":
            # a parameter sits in the module that uses it; inputs stay outside every module
            vertex.scope = _common_prefix(consumers.get(vertex.key, ()))
    return GraphModel(list(roots), [ops[n] for n in nodes], list(tensors.values()), edges,
                      freed=any(n.freed for n in nodes))
