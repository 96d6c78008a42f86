"""Drawings of the computation graph for debugging, and explanations of missing gradients.

    drawing = mg.viz.draw_graph(loss, params=model)       # a graphviz.Digraph, coloured by gradient health
    drawing.render("graph", format="svg")                   # system `dot`, or in-process Graphviz from PyPI
    print(mg.viz.explain_zero_grad(loss, model[0].weight))  # where the gradient became zero, and why
    with mg.viz.Monitor(model) as monitor: ...             # watch training: findings, figures, report
"""
from .draw import DEFAULT_SHOW, draw_graph, render
from .explain import explain_zero_grad
from .health import Thresholds
from .monitor import Monitor
from .monitor_findings import Finding, MonitorThresholds
from .rendering import GraphDrawing, RenderBackendMissing
from .report import ZeroGradReport

__all__ = ["draw_graph", "render", "explain_zero_grad", "GraphDrawing", "ZeroGradReport", "Thresholds",
           "RenderBackendMissing", "DEFAULT_SHOW", "Monitor", "MonitorThresholds", "Finding"]
