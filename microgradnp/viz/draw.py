"""The two ways from tensors to a picture of their computation graph, drawn with its gradient health.

- ``draw_graph`` returns the drawing (a ``GraphDrawing``) to look at, pipe or render yourself.
- ``render`` draws (if given tensors) and writes an image file in one call.

Layout choices, for debugging:
- Data flows top to bottom, inputs first and the loss last, the way the forward code reads.
- One box per op, showing the tensor it produced; parameters are ellipses; inputs are dashed boxes.
- Ops recorded inside ``mg.autograd.graph.record()`` sit in a cluster per module scope (labelled with the
  module's name) and show the file:line that created them: a problem is found by layer name and line.
  ``max_depth`` folds every module nested deeper than that into one box coloured by its worst member.
"""
import os
import pathlib

import numpy as np

from ..tensor import Tensor
from . import style
from .analysis import analyse
from .causes import where_text
from .collapse import collapse
from .health import Thresholds
from .model import build, parameter_names
from .rendering import GraphDrawing

DEFAULT_SHOW = ("shape", "dtype", "grad_norm", "dead", "trace")


def _roots(roots):
    if len(roots) == 1 and isinstance(roots[0], (list, tuple)):
        roots = tuple(roots[0])
    if not roots:
        raise TypeError("draw_graph: give at least one tensor to draw, e.g. draw_graph(loss)")
    for i, root in enumerate(roots):
        if not isinstance(root, Tensor):
            raise TypeError(f"draw_graph: argument {i} is a {type(root).__name__}, not a Tensor")
    return list(roots)


def _show(show):
    show = (show,) if isinstance(show, str) else tuple(show)
    unknown = [s for s in show if s not in style.SHOW_FIELDS]
    if unknown:
        raise ValueError(f"draw_graph: unknown show= field(s) {unknown}; choose from {style.SHOW_FIELDS}")
    return show


def _op_attrs(vertex, health, show, multiple_roots):
    attrs = style.node_style(health.status, bool(vertex.outputs))
    attrs["style"] += ",rounded"
    trace = where_text(vertex.node) or None
    prefix = _output_tag(vertex, multiple_roots)
    attrs["label"] = style.label(vertex.name, health, vertex.value, show, details=vertex.details, trace=trace,
                                 tag_prefix=prefix)
    full = vertex.node.info("trace")
    attrs["tooltip"] = (f"{vertex.name} created at {_short(full[0])}:{full[1]} in {full[2]}" if full
                        else vertex.name)
    return attrs


def _short(filename):
    # relative to the working directory when inside it: shorter, and a drawing does not carry home paths
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith("..") else relative


def _output_tag(vertex, multiple_roots):
    if not vertex.outputs:
        return None
    return "OUTPUT " + ", ".join(map(str, vertex.outputs)) if multiple_roots else "OUTPUT"


def _tensor_attrs(vertex, health, show, multiple_roots):
    prefix = _output_tag(vertex, multiple_roots)
    if vertex.kind == "input":
        # an input has no gradient to judge; only a NaN/Inf in its value colours it
        bad = health.status == "nonfinite"
        attrs = style.node_style("nonfinite" if bad else "unknown", bool(vertex.outputs))
        attrs.update(shape="box", style="filled,dashed", fillcolor=attrs["fillcolor"] if bad else "#f2f2f2")
        title, subtitle = vertex.name or "input", "input" if vertex.name else None
    else:
        attrs = style.node_style(health.status, bool(vertex.outputs))
        attrs["shape"] = "ellipse"
        title = vertex.name or "leaf"
        subtitle = None if vertex.kind == "param" else "requires grad"
    attrs["label"] = style.label(title, health, np.asarray(vertex.value), show, subtitle=subtitle,
                                 tag_prefix=prefix)
    attrs["tooltip"] = title
    return attrs


def _edge_attrs(grad, src_is_input):
    if src_is_input:
        return {"color": "#b0b0b0"}
    if grad is None:
        return {}
    if np.issubdtype(grad.dtype, np.inexact) and not np.isfinite(grad).all():
        return {"color": style.PALETTE["nonfinite"][0], "penwidth": "2.5", "tooltip": "NaN/Inf gradient"}
    if not np.any(grad):
        return {"color": style.ZERO_EDGE, "style": "dashed", "tooltip": "no gradient flows back"}
    return {"tooltip": f"|grad| {float(np.sqrt(np.sum(np.square(grad, dtype=np.float64)))):.4g}"}


def _module_types(params):
    """Dotted module name -> class name, when ``params`` is a module (anything with named_modules())."""
    named_modules = getattr(params, "named_modules", None)
    if named_modules is None:
        return {}
    return {name: type(module).__name__ for name, module in named_modules() if name}


def _emit(graph, placed, prefix, module_types, counter):
    for name, attrs in placed.get(prefix, []):
        graph.node(name, **attrs)
    children = sorted({scope[:len(prefix) + 1] for scope in placed if len(scope) > len(prefix)
                       and scope[:len(prefix)] == prefix})
    for child in children:
        counter.append(child)
        name = str(child[-1])
        kind = module_types.get(name)
        with graph.subgraph(name=f"cluster_{len(counter)}") as sub:
            sub.attr(label=f"{name}: {kind}" if kind else name, tooltip="/".join(map(str, child)),
                     style="rounded,filled", fillcolor="#f7f7fb", color="#8c8cb4", fontname=style.FONT,
                     fontsize="12", labeljust="l")
            _emit(sub, placed, child, module_types, counter)


def draw_graph(*roots, params=None, names=None, show=DEFAULT_SHOW, vanishing=1e-6, exploding=1e3,
               dead_fraction=0.5, max_depth=None, cluster=True, legend=True, grad_outputs=None,
               compute_grads=True, max_nodes=1000, rankdir="TB"):
    """Draw the graph that produced ``roots`` (e.g. the loss), coloured by gradient health.

    params: names for tensors: ``dict(model.named_parameters())``, a module (anything with
        ``named_parameters()``), or (name, tensor) pairs. A module also gives its clusters class names.
    names: more names, e.g. ``{'x': x, 'y': y}`` for the inputs (a dict or (name, tensor) pairs).
    show: facts written on each node, any of 'shape', 'dtype', 'grad_norm', 'dead' (units that pass no
        gradient), 'data' (min/mean/max of the value) and 'trace' (file:line, when recorded).
    vanishing, exploding: gradient L2 norms below/above which a tensor is coloured vanishing/exploding.
    dead_fraction: an activation with at least this fraction of dead units is coloured partly dead.
    max_depth: fold modules nested deeper than this many scope levels into one box each (needs the
        graph to be recorded inside ``mg.autograd.graph.record()``); None draws every op.
    cluster: group ops into a box per recorded module scope.
    grad_outputs: gradients for non-scalar outputs (as in ``mg.autograd.grad``).
    compute_grads: compute intermediate gradients with ``mg.autograd.grad(..., retain_graph=True)``;
        nobody's ``.grad`` changes. After a backward that freed the graph only leaf ``.grad`` is shown.
    max_nodes: refuse to lay out more vertices than this (None: no limit).

    Returns a ``GraphDrawing`` (a ``graphviz.Digraph``): ``.source``, ``.pipe(format='svg')``,
    ``.render(...)`` and Jupyter display work; ``.findings`` lists the problems found, worst first.
    """
    roots = _roots(roots)
    show = _show(show)
    thresholds = Thresholds(vanishing, exploding, dead_fraction)
    labels = parameter_names(params)
    labels.update(parameter_names(names))
    model = build(roots, labels)
    analysis = analyse(model, thresholds, compute_grads, grad_outputs)
    multiple = len(roots) > 1
    module_types = _module_types(params)
    inputs = {v.key for v in model.tensors if v.kind == "input"}

    vertices = {}   # key -> (scope, attrs)
    for vertex in model.ops:
        vertices[vertex.key] = (vertex.scope, _op_attrs(vertex, analysis.health[vertex.key], show, multiple))
    for vertex in model.tensors:
        vertices[vertex.key] = (vertex.scope, _tensor_attrs(vertex, analysis.health[vertex.key], show, multiple))
    edges = [(e.src, e.dst, _edge_attrs(analysis.edge_grads.get((e.dst, e.index)), e.src in inputs))
             for e in model.edges]
    if max_depth is not None:
        vertices, edges = collapse(model, analysis, vertices, edges, max_depth, module_types)
    if max_nodes is not None and len(vertices) > max_nodes:
        raise ValueError(
            f"draw_graph: the graph has {len(vertices)} ops and leaves, more than max_nodes={max_nodes}: the "
            f"layout would take long and not be readable. Run the forward pass inside "
            f"mg.autograd.graph.record() so ops know their module, and pass max_depth=1 (one box per "
            f"module), or draw a smaller part (an intermediate tensor), or pass max_nodes=None")

    graph = GraphDrawing(name="computation_graph", findings=analysis.findings, notes=analysis.notes,
                         graph_attr={"rankdir": rankdir, "fontname": style.FONT, "nodesep": "0.3",
                                     "ranksep": "0.35"},
                         node_attr={"shape": "box", "fontname": style.FONT, "fontsize": "11",
                                    "margin": "0.08,0.04"},
                         edge_attr={"arrowsize": "0.7"})
    placed = {}
    for key, (scope, attrs) in vertices.items():
        placed.setdefault(tuple(scope) if cluster else (), []).append((key, attrs))
    _emit(graph, placed, (), module_types, [])
    for src, dst, attrs in edges:
        graph.edge(src, dst, **attrs)
    if legend:
        statuses = {h.status for k, h in analysis.health.items() if k not in inputs} | {"ok"}
        style.legend(graph, thresholds, statuses, analysis.notes)
    return graph


def render(graph_or_roots, path, format="svg", **draw_options):
    """Write ``graph_or_roots`` to ``path`` as ``format`` (default svg) and return the path written.

    graph_or_roots: a drawing from ``draw_graph``, a tensor, or a list of tensors (drawn with
        ``draw_options``, which are ``draw_graph``'s keyword arguments).
    path: the output file; its suffix is added when missing ('graph' -> 'graph.svg'). The DOT source is
        not kept next to it.
    """
    if isinstance(graph_or_roots, GraphDrawing):
        if draw_options:
            raise TypeError(f"render: options {sorted(draw_options)} are for drawing, but a finished drawing "
                            f"was given; pass them to draw_graph instead")
        drawing = graph_or_roots
    elif isinstance(graph_or_roots, Tensor):
        drawing = draw_graph(graph_or_roots, **draw_options)
    elif isinstance(graph_or_roots, (list, tuple)):
        drawing = draw_graph(*graph_or_roots, **draw_options)
    else:
        raise TypeError(f"render: expected a drawing from draw_graph, a Tensor or a list of Tensors, got "
                        f"{type(graph_or_roots).__name__}")
    path = pathlib.Path(path)
    if path.suffix != f".{format}":
        path = path.with_name(path.name + f".{format}")
    if path.parent != pathlib.Path(""):
        os.makedirs(path.parent, exist_ok=True)
    return drawing.render(outfile=os.fspath(path), format=format, cleanup=True)
