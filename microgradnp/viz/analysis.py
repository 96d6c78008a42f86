"""The health of every vertex of a GraphModel, and the findings worth telling a person about.

Gradients come from the engine while the graph is intact (intermediate ones included); after a
backward without ``retain_graph`` only the leaves' ``.grad`` is left, and a note says so.
"""
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import health as health_mod
from .causes import describe_block, op_text
from .gradients import edge_gradient, output_gradients

FREED_NOTE = ("drawn after backward(): intermediate values and gradients were freed; draw before backward() "
              "or call backward(retain_graph=True) to see them")
NOT_SCALAR_NOTE = ("intermediate gradients not computed: an output is not a scalar; pass grad_outputs= "
                   "(one gradient per output)")


@dataclass
class Finding:
    """One gradient problem in the graph: its ``status``, ``where`` it is, and ``text`` for a person."""

    status: str
    where: str
    text: str

    def __str__(self):
        return f"{self.status}: {self.where}: {self.text}"


@dataclass
class Analysis:
    """Health per vertex key, gradient per (op key, input index), the findings, and notes for the legend."""

    health: dict
    edge_grads: dict
    findings: list
    notes: list = field(default_factory=list)


def _leaf_grad(tensor, computed):
    if computed is not None:
        return computed.get(id(tensor))
    return None if tensor._grad is None else np.asarray(tensor._grad._array)


def _where(vertex):
    if hasattr(vertex, "node"):
        scope = "/".join(vertex.scope)
        return op_text(vertex.node) + (f" in {scope}" if scope else "")
    return vertex.name or f"leaf {tuple(vertex.value.shape)}"


def _finding(vertex, health, edge_grads):
    status = health.status
    if status == "blocked":
        node = vertex.node
        index = next(i for (key, i), g in edge_grads.items() if key == vertex.key and g is not None)
        cause = describe_block(node, index, None)
        return Finding(status, _where(vertex), f"gradient stops here: {cause.text}")
    if status == "nonfinite":
        text = f"NaN/Inf in the {health.nonfinite_in}"
    elif status == "dead":
        text = "its gradient is exactly 0 everywhere"
    elif status in ("exploding", "vanishing"):
        side = "above" if status == "exploding" else "below"
        text = f"gradient norm {health.grad_norm:.4g} is {side} the {status} threshold"
    elif status == "partly_dead":
        text = health.dead_text
    else:
        return None
    return Finding(status, _where(vertex), text)


def analyse(model, thresholds, compute_grads=True, grad_outputs=None):
    """Assess every vertex of ``model``; warns when the graph was freed by an earlier backward."""
    notes = []
    nodes = [v.node for v in model.ops]
    leaves = [v.tensor for v in model.tensors if v.kind != "input"]
    computed = None
    if compute_grads:
        try:
            computed = output_gradients(model.roots, nodes, leaves, grad_outputs)
        except RuntimeError as error:
            # the drawing is most wanted exactly when backward fails: draw the structure, say why
            notes.append(f"gradients not computed: {error}")
            warnings.warn(f"draw_graph: gradients not computed: {error}", stacklevel=3)
    if model.freed:
        notes.append(FREED_NOTE)
        warnings.warn(f"draw_graph: {FREED_NOTE}", stacklevel=3)
    elif compute_grads and computed is None and not notes and any(r.requires_grad for r in model.roots):
        notes.append(NOT_SCALAR_NOTE)

    result, edge_grads = {}, {}
    for vertex in model.ops:
        g = None if computed is None else computed.get(vertex.node)
        passed = []
        if g is not None:
            for i, edge in enumerate(vertex.node.edges):
                if edge is not None:
                    edge_grads[vertex.key, i] = edge_gradient(vertex.node, i, g)
                    passed.append(edge_grads[vertex.key, i])
        result[vertex.key] = health_mod.assess(vertex.value, g, thresholds, passed=passed)
    for vertex in model.tensors:
        g = None if vertex.kind == "input" else _leaf_grad(vertex.tensor, computed)
        result[vertex.key] = health_mod.assess(vertex.value, g, thresholds)

    findings = []
    for vertex in model.ops + model.tensors:
        finding = _finding(vertex, result[vertex.key], edge_grads)
        if finding is not None:
            findings.append(finding)
    findings.sort(key=lambda f: health_mod.SEVERITY.index(f.status))
    return Analysis(result, edge_grads, findings, notes)
