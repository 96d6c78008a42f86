"""explain_zero_grad names the op (or the cut) where a parameter's gradient died, for each usual cause."""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp.viz import explain_zero_grad


def layer1():
    x = mg.tensor([[1.0, 2.0], [3.0, 1.0]])
    W1 = mg.tensor([[0.5, -0.5], [0.25, 0.5]], requires_grad=True)
    b1 = mg.tensor([0.0, 0.0], requires_grad=True)
    return x, W1, b1


def test_dead_relu_is_named_with_its_inputs():
    x, W1, b1 = layer1()
    W2 = mg.tensor([[1.0, 1.0]], requires_grad=True)
    # relu(x @ W1.T) = [[0, 1.25], [1, 1.25]], so the output pre-activations are 1.25 - 10 and 2.25 - 10
    b2 = mg.tensor([-10.0], requires_grad=True)
    loss = ((mg.linear(mg.linear(x, W1, b1).relu(), W2, b2).relu() - 1.0) ** 2).mean()
    report = explain_zero_grad(loss, W1, params={"W1": W1})
    assert report.status == "blocked" and report.kinds == ["relu_off"]
    (blocker,) = report.blockers
    assert blocker.node.name == "relu" and blocker.node.edges[0].name == "linear"
    assert blocker.node.edges[0].args[2] is b2.numpy()   # the output ReLU, not the hidden one
    text = str(report)
    assert "gradient of W1" in text and "all 2 of its inputs are <= 0 (largest -7.75)" in text
    assert "path from the loss: div <- sum <- pow <- sub <- relu" in text


def test_two_dead_paths_give_two_places():
    a = mg.tensor([-1.0, -2.0], requires_grad=True)
    loss = a.relu().sum() + (a * 2).relu().sum()
    report = explain_zero_grad(loss, a)
    assert report.kinds == ["relu_off"] and len(report.blockers) == 2
    assert "at 2 places" in str(report)


def test_detach_of_the_parameter_is_the_likeliest_cut():
    x, W1, b1 = layer1()
    loss = mg.linear(x, W1.detach(), b1).sum()
    report = explain_zero_grad(loss, W1, params={"W1": W1, "x": x})
    assert report.status == "unreachable" and report.kinds == ["detached"]
    assert report.cuts[0].node.name == "linear" and report.cuts[0].where == "input 1"
    assert "shares memory with the parameter: a detach() or .data of it" in str(report)
    assert "'x' (float32, shape (2, 2))" in str(report)


def test_no_grad_region():
    x, W1, b1 = layer1()
    W2 = mg.tensor([[1.0, 1.0]], requires_grad=True)
    with mg.no_grad():
        h = mg.linear(x, W1, b1).relu()
    loss = mg.linear(h, W2).sum()
    report = explain_zero_grad(loss, W1)
    assert report.status == "unreachable" and report.kinds == ["no_grad_or_detached"]
    assert [(c.node.name, c.where) for c in report.cuts] == [("linear", "input 0")]
    assert "computed under no_grad()" in str(report) and "(float32, shape (2, 2))" in str(report)


def test_integer_cast():
    x, W1, b1 = layer1()
    W2 = mg.tensor([[0.5, 0.25]], requires_grad=True)
    loss = (mg.linear(x, W1, b1).long() * W2).sum()   # |d loss/d h| = |W2| < 1 truncates to 0 as an integer
    report = explain_zero_grad(loss, W1)
    assert report.kinds == ["integer"]
    assert "integer" in str(report) and "int64" in str(report)


def test_argmax_index():
    x, W1, b1 = layer1()
    E = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    loss = E[mg.argmax(mg.linear(x, W1, b1), dim=1)].sum()
    report = explain_zero_grad(loss, W1)
    assert report.status == "unreachable" and report.kinds == ["integer"]
    assert report.cuts[0].node.name == "getitem" and report.cuts[0].where == "index="
    assert "argmax" in str(report)


def test_comparison_mask():
    x, W1, b1 = layer1()
    W2 = mg.tensor([[1.0, 1.0]], requires_grad=True)
    loss = (W2 * (mg.linear(x, W1, b1) > 0)).sum()
    report = explain_zero_grad(loss, W1)
    assert report.kinds == ["comparison"] and "comparison" in str(report)
    assert "(bool, shape (2, 2))" in str(report)


def test_clamp_and_multiply_by_zero():
    W = mg.tensor([5.0, 6.0], requires_grad=True)
    report = explain_zero_grad(W.clamp(max=1.0).sum(), W)
    assert report.kinds == ["clipped"] and "all 2 values lie outside [None, 1.0]" in str(report)
    report = explain_zero_grad((W * 0.0).sum(), W)
    assert report.kinds == ["zero_factor"]


def test_contributions_that_cancel():
    W = mg.tensor([1.0, 2.0], requires_grad=True)
    report = explain_zero_grad((W - W).sum(), W)
    assert report.status == "blocked" and report.kinds == ["cancelled"] and "cancel out" in str(report)


def test_nonzero_gradient_is_reported_with_its_norm():
    W = mg.tensor([1.0, 2.0], requires_grad=True)
    report = explain_zero_grad((W * mg.tensor([3.0, 0.0])).sum(), W)   # gradient [3, 0]
    assert report.status == "nonzero" and "|grad| = 3 (1 of 2 entries are 0)" in str(report)


def test_parameter_that_does_not_require_grad():
    W = mg.tensor([1.0, 2.0])
    v = mg.tensor([1.0, 1.0], requires_grad=True)
    report = explain_zero_grad((W * v).sum(), W, params={"W": W})
    assert report.status == "no_grad_required" and "W does not require grad" in str(report)


def test_loss_without_graph():
    W = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        loss = (W * 2).sum()
    report = explain_zero_grad(loss, W)
    assert report.status == "loss_has_no_graph" and "no graph was recorded" in str(report)


def test_after_backward_says_to_call_it_first():
    x, W1, b1 = layer1()
    loss = mg.linear(x, W1, b1).relu().sum() * 0.0
    loss.backward()
    report = explain_zero_grad(loss, W1)
    assert report.status == "freed" and "before loss.backward()" in str(report)


def test_leaves_every_grad_untouched():
    x, W1, b1 = layer1()
    h = mg.linear(x, W1, b1)
    h.retain_grad()
    loss = (h.relu() * 0.0).sum()
    explain_zero_grad(loss, W1)
    mg.viz.draw_graph(loss)
    assert W1.grad is None and h.grad is None
    loss.backward()
    np.testing.assert_array_equal(W1.grad.numpy(), np.zeros((2, 2)))


def test_bad_arguments():
    W = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="param must be a Tensor"):
        explain_zero_grad((W * 2).sum(), "W")
    with pytest.raises(ValueError, match=r"has shape \(2,\), not a scalar; pass grad_output="):
        explain_zero_grad(W * mg.tensor([1.0, 2.0]), W)
    report = explain_zero_grad(W * mg.tensor([1.0, 0.0]), W, grad_output=mg.tensor([0.0, 1.0]))
    assert report.kinds == ["zero_factor"]
