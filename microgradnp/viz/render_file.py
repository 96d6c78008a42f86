"""``render``: draw (if needed) and write a graph to an image file in one call."""
import os
import pathlib

from ..tensor import Tensor
from .draw import draw_graph
from .drawing import GraphDrawing


def render(graph_or_roots, path, format="svg", **draw_options):  # noqa: A002 - graphviz's argument name
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
