"""The DOT text of small known graphs: nodes, edges, labels and colours, with hand-derived numbers."""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp.viz.style import PALETTE

FILL = {status: colours[0] for status, colours in PALETTE.items()}


def dead_relu_graph():
    # x @ W.T + b = [3 - 10, 4 - 10] = [-7, -6]: the ReLU is off for both samples
    x = mg.tensor([[1.0, 2.0], [3.0, 1.0]])
    y = mg.tensor([[1.0], [2.0]])
    W = mg.tensor([[1.0, 1.0]], requires_grad=True)
    b = mg.tensor([-10.0], requires_grad=True)
    out = mg.linear(x, W, b).relu()
    loss = ((out - y) ** 2).sum()
    return loss, {"W": W, "b": b, "x": x, "y": y}


def test_dead_relu_is_the_dark_node_with_the_red_border(dotq):
    loss, params = dead_relu_graph()
    nodes, edges = dotq.parse(mg.viz.draw_graph(loss, params=params).source)
    relu = dotq.one(nodes, "relu")
    assert relu["fillcolor"] == FILL["blocked"] and relu["color"] == "#d62728" and relu["penwidth"] == "4"
    lines = dotq.lines(relu)
    # d loss / d out = 2 (out - y) = [-2, -4]: norm sqrt(20)
    assert "|grad| 4.472" in lines and "1/1 units dead" in lines and "GRADIENT STOPS HERE" in lines
    assert "(2, 1) float32" in lines
    linear = dotq.one(nodes, "linear")
    assert linear["fillcolor"] == FILL["dead"] and "DEAD: ZERO GRADIENT" in dotq.lines(linear)
    for name in ("W", "b"):
        leaf = dotq.one(nodes, name)
        assert leaf["shape"] == "ellipse" and leaf["fillcolor"] == FILL["dead"] and "|grad| 0" in dotq.lines(leaf)


def test_dead_relu_edges_show_where_gradient_stops(dotq):
    loss, params = dead_relu_graph()
    nodes, edges = dotq.parse(mg.viz.draw_graph(loss, params=params).source)
    key = {name: dotq.find(nodes, name)[0] for name in ("W", "b", "x", "y", "linear", "relu", "sub", "pow", "sum")}
    styles = {(s, d): a for s, d, a in edges}
    assert set(styles) == {(key["x"], key["linear"]), (key["W"], key["linear"]), (key["b"], key["linear"]),
                           (key["linear"], key["relu"]), (key["relu"], key["sub"]), (key["y"], key["sub"]),
                           (key["sub"], key["pow"]), (key["pow"], key["sum"])}
    for src in ("W", "b", "linear"):   # the gradient is zero on every edge behind the ReLU
        attrs = styles[key[src], key["linear"] if src != "linear" else key["relu"]]
        assert attrs["style"] == "dashed" and attrs["color"] == "#a0a0a0"
    assert "style" not in styles[key["relu"], key["sub"]]   # in front of it the gradient is alive


def test_inputs_and_outputs_are_marked(dotq):
    loss, params = dead_relu_graph()
    nodes, _ = dotq.parse(mg.viz.draw_graph(loss, params=params).source)
    x = dotq.one(nodes, "x")
    assert x["style"] == "filled,dashed" and dotq.lines(x)[1:] == ["input", "(2, 2) float32"]
    total = dotq.one(nodes, "sum")
    assert total["peripheries"] == "2" and dotq.lines(total)[0] == "OUTPUT"
    assert "peripheries" not in dotq.one(nodes, "relu")
    assert "scalar 2" in dotq.lines(dotq.one(nodes, "pow"))


def test_dead_relu_findings_name_the_relu():
    loss, params = dead_relu_graph()
    findings = mg.viz.draw_graph(loss, params=params).findings
    assert findings[0].status == "blocked" and findings[0].where == "relu"
    assert "all 2 of its inputs are <= 0 (largest -6)" in findings[0].text
    assert {f.where for f in findings if f.status == "dead"} == {"linear", "W", "b"}


def test_nan_value_and_gradient_are_red(dotq):
    W = mg.tensor([4.0, -1.0], requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = W.sqrt().sum()          # sqrt(-1) is NaN, and so is its derivative 0.5 / sqrt(-1)
        nodes, _ = dotq.parse(mg.viz.draw_graph(loss, params={"W": W}).source)
    sqrt = dotq.one(nodes, "sqrt")
    assert sqrt["fillcolor"] == FILL["nonfinite"] and "NAN/INF IN VALUE AND GRAD" in dotq.lines(sqrt)
    w = dotq.one(nodes, "W")
    assert w["fillcolor"] == FILL["nonfinite"] and "NAN/INF IN GRAD" in dotq.lines(w)
    assert dotq.one(nodes, "sum")["fillcolor"] == FILL["nonfinite"]


def healthy_mlp():
    x = mg.tensor([[1.0, 2.0]])
    W1 = mg.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    b1 = mg.tensor([0.0, 0.0], requires_grad=True)
    W2 = mg.tensor([[1.0, 1.0]], requires_grad=True)
    b2 = mg.tensor([0.0], requires_grad=True)
    loss = mg.linear(mg.linear(x, W1, b1).relu(), W2, b2).sum()   # h = [1, 2], loss = 3
    return loss, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def test_healthy_mlp_is_green_with_hand_derived_norms(dotq):
    loss, params = healthy_mlp()
    nodes, edges = dotq.parse(mg.viz.draw_graph(loss, params=params).source)
    # dW2 = h = [1, 2]; dh = W2 = [1, 1] passes the ReLU; dW1 = outer([1, 1], x) = [[1, 2], [1, 2]]; db1 = [1, 1]
    expected = {"W1": "|grad| 3.162", "b1": "|grad| 1.414", "W2": "|grad| 2.236", "b2": "|grad| 1"}
    for name, norm in expected.items():
        leaf = dotq.one(nodes, name)
        assert leaf["fillcolor"] == FILL["ok"] and norm in dotq.lines(leaf)
    assert all(attrs["fillcolor"] == FILL["ok"] for name, attrs in nodes.items() if name.startswith("op"))
    assert not any(a.get("style") == "dashed" for _, _, a in edges)
    assert len(edges) == 8 and len(dotq.find(nodes, "linear")) == 2
    assert "(1, 2) float32" in dotq.lines(dotq.one(nodes, "relu"))


def test_module_like_params_name_the_leaves(dotq):
    loss, params = healthy_mlp()

    class Model:  # anything with named_parameters() will do
        def named_parameters(self):
            return iter(params.items())

    nodes, _ = dotq.parse(mg.viz.draw_graph(loss, params=Model()).source)
    assert all(len(dotq.find(nodes, name)) == 1 for name in params)


def test_partly_dead_relu_counts_units(dotq):
    x = mg.tensor([[1.0, -1.0], [2.0, -3.0]], requires_grad=True)   # unit 1 is off for both samples
    loss = x.relu().sum()
    nodes, _ = dotq.parse(mg.viz.draw_graph(loss).source)
    relu = dotq.one(nodes, "relu")
    assert relu["fillcolor"] == FILL["partly_dead"] and "1/2 units dead" in dotq.lines(relu)
    relaxed = mg.viz.draw_graph(loss, dead_fraction=0.75).source
    assert FILL["partly_dead"] not in relaxed and "1/2 units dead" in relaxed


@pytest.mark.parametrize("scale, status", [(1e-8, "vanishing"), (1e4, "exploding"), (1.0, "ok")])
def test_vanishing_and_exploding_norms(dotq, scale, status):
    W = mg.tensor([1.0], requires_grad=True)
    nodes, _ = dotq.parse(mg.viz.draw_graph((W * scale).sum(), params={"W": W}).source)
    assert dotq.one(nodes, "W")["fillcolor"] == FILL[status]


def test_thresholds_are_parameters(dotq):
    W = mg.tensor([1.0], requires_grad=True)
    loss = (W * 1e-8).sum()
    nodes, _ = dotq.parse(mg.viz.draw_graph(loss, params={"W": W}, vanishing=1e-9).source)
    assert dotq.one(nodes, "W")["fillcolor"] == FILL["ok"]
    nodes, _ = dotq.parse(mg.viz.draw_graph(loss, params={"W": W}, vanishing=1e-12, exploding=1e-9).source)
    assert dotq.one(nodes, "W")["fillcolor"] == FILL["exploding"]


def test_legend_lists_the_statuses_present_and_the_thresholds():
    loss, params = dead_relu_graph()
    source = mg.viz.draw_graph(loss, params=params, exploding=500).source
    assert "legend_blocked" in source and "legend_dead" in source and "legend_ok" in source
    assert "legend_nonfinite" not in source
    W = mg.tensor([1.0], requires_grad=True)
    assert "exploding: |grad| > 500" in mg.viz.draw_graph((W * 1e4).sum(), exploding=500).source
    assert "legend" not in mg.viz.draw_graph(loss, legend=False).source
