"""Module clusters, file:line of recorded ops, folding deep modules, freed graphs and bad arguments."""
import inspect
import os

import numpy as np
import pytest

import microgradnp as mg
from microgradnp.autograd import graph
from microgradnp.viz.style import PALETTE

FILL = {status: colours[0] for status, colours in PALETTE.items()}


class Linear:
    """Stands in for a layer class; only its name matters to the drawing."""


class ReLU:
    """Stands in for an activation module."""


class Model:
    """Duck-typed module: named_parameters() and named_modules() are all draw_graph asks for."""

    def __init__(self, params):
        self.params = params

    def named_parameters(self):
        return iter(self.params.items())

    def named_modules(self):
        return iter([("", self), ("0", Linear()), ("1", ReLU())])


def scoped_dead_network():
    x = mg.tensor([[1.0, 2.0]])
    W = mg.tensor([[1.0, 1.0]], requires_grad=True)
    b = mg.tensor([-10.0], requires_grad=True)
    with graph.record():
        with graph.scope("Net"):
            with graph.scope("0"):
                line = inspect.currentframe().f_lineno + 1
                h = mg.linear(x, W, b)
            with graph.scope("1"):
                out = h.relu()
        loss = (out - 1.0).sum()
    return loss, Model({"0.weight": W, "0.bias": b}), line


def test_ops_sit_in_a_cluster_per_module_with_their_line(dotq):
    loss, model, line = scoped_dead_network()
    source = mg.viz.draw_graph(loss, params=model).source
    assert 'label="0: Linear"' in source and "label=Net" in source and 'label="1: ReLU"' in source
    nodes, _ = dotq.parse(source)
    linear = dotq.one(nodes, "linear")
    assert f"{os.path.basename(__file__)}:{line}" in dotq.lines(linear)
    assert linear["tooltip"] == f"linear created at {os.path.relpath(__file__)}:{line} in scoped_dead_network"
    # the parameters sit inside their layer's cluster, right after its label
    cluster = source[source.index('label="0: Linear"'):source.index("}", source.index('label="0: Linear"'))]
    assert "0.weight" in cluster and "0.bias" in cluster and "relu" not in cluster
    assert "trace" in mg.viz.DEFAULT_SHOW
    nodes, _ = dotq.parse(mg.viz.draw_graph(loss, show=("shape",)).source)
    assert dotq.lines(dotq.one(nodes, "linear")) == ["linear", "(1, 1)", "DEAD: ZERO GRADIENT"]


def test_cluster_false_draws_flat(dotq):
    loss, model, _ = scoped_dead_network()
    assert "subgraph cluster_1" not in mg.viz.draw_graph(loss, params=model, cluster=False, legend=False).source


def test_max_depth_folds_each_module_into_one_box(dotq):
    loss, model, _ = scoped_dead_network()
    nodes, edges = dotq.parse(mg.viz.draw_graph(loss, params=model, max_depth=1).source)
    layer, relu = dotq.one(nodes, "0: Linear"), dotq.one(nodes, "1: ReLU")
    assert layer["shape"] == "box3d" and layer["fillcolor"] == FILL["dead"]
    assert dotq.lines(layer)[1:4] == ["1 op: linear", "0.weight: dead", "0.bias: dead"]
    assert relu["fillcolor"] == FILL["blocked"] and "gradient stops at relu (1/1 units dead)" in dotq.lines(relu)
    names = {dotq.find(nodes, "0: Linear")[0]: "layer", dotq.find(nodes, "1: ReLU")[0]: "relu"}
    between = [a for s, d, a in edges if names.get(s) == "layer" and names.get(d) == "relu"]
    assert len(between) == 1 and between[0]["style"] == "dashed"
    whole = dotq.parse(mg.viz.draw_graph(loss, params=model, max_depth=0).source)[0]
    assert dotq.one(whole, "Net")["fillcolor"] == FILL["blocked"] and "3 ops" not in str(whole)
    assert "2 ops: linear, relu" in dotq.lines(dotq.one(whole, "Net"))


def test_too_many_nodes_points_to_max_depth():
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(30):
        y = y * 1.5   # 30 muls, the sum and the leaf: 32 vertices
    with pytest.raises(ValueError, match=r"32 ops and leaves, more than max_nodes=10.*max_depth=1"):
        mg.viz.draw_graph(y.sum(), max_nodes=10)
    assert "digraph" in mg.viz.draw_graph(y.sum(), max_nodes=None).source


def test_after_backward_only_leaf_grads_remain_and_a_note_says_why(dotq):
    W = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (W * mg.tensor([3.0, 4.0])).sum()
    loss.backward()
    with pytest.warns(UserWarning, match="retain_graph=True"):
        drawing = mg.viz.draw_graph(loss, params={"W": W})
    nodes, _ = dotq.parse(drawing.source)
    assert "|grad| 5" in dotq.lines(dotq.one(nodes, "W"))        # W.grad = [3, 4]
    assert dotq.lines(dotq.one(nodes, "mul")) == ["mul"]          # its values were freed
    assert "legend_note0" in drawing.source and drawing.notes[0].startswith("drawn after backward()")


def test_retain_graph_keeps_intermediate_gradients(dotq):
    W = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (W * mg.tensor([3.0, 4.0])).sum()
    loss.backward(retain_graph=True)
    nodes, _ = dotq.parse(mg.viz.draw_graph(loss, params={"W": W}).source)
    assert "|grad| 1.414" in dotq.lines(dotq.one(nodes, "mul"))   # d sum / d mul = [1, 1]


def test_non_scalar_outputs_need_grad_outputs(dotq):
    W = mg.tensor([1.0, 2.0], requires_grad=True)
    y = W * 2.0
    drawing = mg.viz.draw_graph(y, params={"W": W})
    assert "pass grad_outputs=" in drawing.notes[0]
    nodes, _ = dotq.parse(mg.viz.draw_graph(y, params={"W": W}, grad_outputs=[mg.ones(2)]).source)
    assert "|grad| 2.828" in dotq.lines(dotq.one(nodes, "W"))    # gradient [2, 2]


def test_several_outputs_are_numbered(dotq):
    W = mg.tensor([1.0], requires_grad=True)
    nodes, _ = dotq.parse(mg.viz.draw_graph((W * 2).sum(), (W * 3).sum()).source)
    assert sorted(dotq.lines(a)[0] for a in nodes.values() if a["label"].startswith("OUTPUT")) == \
        ["OUTPUT 0", "OUTPUT 1"]


def test_data_summary_on_request(dotq):
    W = mg.tensor([1.0, -3.0, 5.0], requires_grad=True)
    nodes, _ = dotq.parse(mg.viz.draw_graph(W.sum(), params={"W": W}, show=("data",)).source)
    assert dotq.lines(dotq.one(nodes, "W")) == ["W", "min -3 mean 1 max 5"]


def test_bad_arguments_are_named():
    W = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="at least one tensor"):
        mg.viz.draw_graph()
    with pytest.raises(TypeError, match="argument 0 is a ndarray, not a Tensor"):
        mg.viz.draw_graph(np.ones(2))
    with pytest.raises(ValueError, match=r"unknown show= field\(s\) \['norm'\]"):
        mg.viz.draw_graph(W, show=("norm",))
    with pytest.raises(ValueError, match="vanishing < exploding"):
        mg.viz.draw_graph(W, vanishing=1.0, exploding=0.5)
    with pytest.raises(TypeError, match=r"params\['W'\] is a list, not a Tensor"):
        mg.viz.draw_graph(W, params={"W": [1.0]})
    with pytest.raises(ValueError, match="max_depth must be >= 0"):
        mg.viz.draw_graph(W, max_depth=-1)


def test_a_tensor_without_graph_is_drawn_alone(dotq):
    nodes, edges = dotq.parse(mg.viz.draw_graph(mg.tensor([1.0, 2.0])).source)
    assert len(nodes) == 1 and not edges
    (only,) = nodes.values()
    assert dotq.lines(only) == ["OUTPUT", "input", "(2,) float32"] and only["peripheries"] == "2"


def test_custom_function_is_drawn_under_its_class_name(dotq):
    class Cube(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.numpy() ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x.numpy() ** 2

    x = mg.tensor([1.0, -2.0], requires_grad=True)
    nodes, _ = dotq.parse(mg.viz.draw_graph(Cube.apply(x).sum(), names={"x": x}).source)
    assert "(2,) float32" in dotq.lines(dotq.one(nodes, "Cube"))
    assert "|grad| 12.37" in dotq.lines(dotq.one(nodes, "x"))    # 3 x**2 = [3, 12]


def test_a_graph_whose_backward_fails_is_still_drawn(dotq):
    W = mg.tensor([1.0, 2.0], requires_grad=True)
    t = mg.tensor([3.0, 4.0])
    loss = (W * t).sum()
    t += 1.0     # changes a value mul saved for backward: backward would raise
    with pytest.warns(UserWarning, match="modified by an in-place operation"):
        drawing = mg.viz.draw_graph(loss, params={"W": W})
    nodes, _ = dotq.parse(drawing.source)
    assert dotq.lines(dotq.one(nodes, "mul")) == ["mul", "(2,) float32"]
    assert drawing.notes[0].startswith("gradients not computed: one of the tensors needed")
