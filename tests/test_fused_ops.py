"""Fused primitives equal the composites they replace: values and gradients, ordinary and extreme inputs."""
import warnings

import numpy as np
import pytest

import microgradnp as mg

rng = np.random.default_rng(7)


def grads_of(fn, *arrays):
    leaves = [mg.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*leaves)
    out.backward(mg.ones_like(out))
    return out.numpy(), [leaf.grad.numpy() for leaf in leaves]


def composite_cross_entropy(logits, target, reduction):
    picked = mg.log_softmax(logits, dim=1)[np.arange(len(target)), target]
    losses = -picked
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


def composite_bce(p, t, reduction):
    losses = -(t * mg.log(p) + (1 - t) * mg.log(1 - p))
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_equals_log_softmax_and_pick(reduction):
    logits = rng.standard_normal((6, 4))
    target = np.array([0, 3, 1, 1, 2, 0])
    fused, (g_fused,) = grads_of(lambda x: mg.cross_entropy(x, target, reduction), logits)
    plain, (g_plain,) = grads_of(lambda x: composite_cross_entropy(x, target, reduction), logits)
    np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g_fused, g_plain, rtol=1e-12, atol=1e-12)


def exact_cross_entropy(logits, target):
    # each row's log-sum-exp in float64 from its own maximum: the reference for any scale
    x = logits.astype(np.float64)
    top = x.max(axis=1, keepdims=True)
    lse = np.log(np.exp(x - top).sum(axis=1)) + top[:, 0]
    return lse - x[np.arange(len(target)), target]


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("row_offsets", [[0.0, 0.0, 0.0], [0.0, -60.0, 20.0], [0.0, -1000.0, 500.0],
                                         [3e4, -3e4, 0.0]], ids=["same scale", "rows 80 apart",
                                                                 "rows 1500 apart", "rows 6e4 apart"])
def test_cross_entropy_is_exact_per_row_whatever_the_spread_between_rows(dtype, rtol, row_offsets):
    # the fused op shifts every row by the overall maximum when that loses nothing, else each row by
    # its own: rows far below the others must not lose their loss or their softmax to underflow
    logits = (rng.standard_normal((3, 5)) * 3 + np.array(row_offsets)[:, None]).astype(dtype)
    target = np.array([4, 0, 2])
    x = mg.tensor(logits, requires_grad=True)
    loss = mg.cross_entropy(x, target, "none")
    expected = exact_cross_entropy(logits, target)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=rtol, atol=rtol)
    loss.sum().backward()
    softmax = np.exp(-exact_cross_entropy(logits, np.zeros(3, int))[:, None] + (logits - logits[:, :1]))
    one_hot = np.eye(5)[target]
    np.testing.assert_allclose(x.grad.numpy(), softmax - one_hot, rtol=rtol, atol=rtol)
    assert x.grad.dtype == dtype


def test_cross_entropy_keeps_a_nan_in_its_own_row():
    logits = rng.standard_normal((3, 4))
    logits[1, 2] = np.nan
    loss = mg.cross_entropy(mg.tensor(logits), np.array([0, 1, 2]), "none").numpy()
    assert np.isnan(loss[1]) and np.isfinite(loss[[0, 2]]).all()
    np.testing.assert_allclose(loss[[0, 2]], exact_cross_entropy(logits[[0, 2]], np.array([0, 2])), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_equals_its_formula_away_from_the_clamp(reduction):
    p = rng.uniform(0.05, 0.95, (5, 3))
    t = rng.uniform(0.0, 1.0, (5, 3))
    fused, g_fused = grads_of(lambda a, b: mg.binary_cross_entropy(a, b, None, reduction), p, t)
    plain, g_plain = grads_of(lambda a, b: composite_bce(a, b, reduction), p, t)
    np.testing.assert_allclose(fused, plain, rtol=1e-12)
    for a, b in zip(g_fused, g_plain):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_binary_cross_entropy_clamps_like_pytorch_at_0_and_1():
    p = mg.tensor(np.array([0.0, 1.0, 0.5]), requires_grad=True)
    t = mg.tensor(np.array([1.0, 0.0, 1.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = mg.binary_cross_entropy(p, t, None, "none")
        loss.sum().backward()
    # log(0) is clamped to -100; the gradient divides by max(p(1-p), 1e-12)
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, np.log(2.0)])
    np.testing.assert_allclose(p.grad.numpy(), [-1e12, 1e12, -2.0])



@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("tiny", [0.0, 1e-45, 3e-44, 5e-44, 2e-43, 1e-30])
def test_binary_cross_entropy_clamp_matches_max_log_minus_100_near_the_threshold(dtype, tiny):
    # the op skips the clamp when no probability comes near 0 or 1; both paths must give the clamped value
    p = np.array([tiny, 0.5, 1.0 - tiny], dtype=dtype)
    t = np.array([1.0, 1.0, 0.0], dtype=dtype)
    with np.errstate(divide="ignore"):
        expected = -np.maximum(np.log(p[[0, 1]]), -100).astype(dtype)
        expected = np.append(expected, -np.maximum(np.log(1 - p[2]), -100))
    loss = mg.binary_cross_entropy(mg.tensor(p), mg.tensor(t), None, "none")
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert loss.dtype == dtype


@pytest.mark.parametrize("bad", [1.5, -0.25, np.nan])
def test_binary_cross_entropy_op_refuses_values_outside_0_1_naming_them(bad):
    p = mg.tensor(np.array([[0.2], [bad]]))
    with pytest.raises(ValueError, match=r"^binary_cross_entropy: all input values must be probabilities in "
                                         r"\[0, 1\].*shape \(2, 1\)") as info:
        mg.binary_cross_entropy(p, mg.zeros((2, 1)), None, "mean")
    assert ("NaN" in str(info.value)) == np.isnan(bad)

def test_cross_entropy_is_finite_at_huge_logits():
    logits = mg.tensor(np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]]), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        loss = mg.cross_entropy(logits, np.array([1, 2]))
        loss.backward()
    # sample 0: -log softmax = 2000; sample 1: log(1 + e^-1 + e^-1999) - (-1)... computed in closed form
    expected = (2000.0 + (np.log1p(np.exp(-1.0)) + 1.0)) / 2
    np.testing.assert_allclose(loss.item(), expected)
    assert np.isfinite(logits.grad.numpy()).all()
    np.testing.assert_allclose(logits.grad.numpy().sum(axis=1), [0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_saved_softmax_survives_a_retained_backward(reduction):
    # the op hands its forward's softmax to the gradient; a gradient computed in place would corrupt it
    logits = mg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    loss = mg.cross_entropy(logits, np.array([0, 2, 1, 1, 0]), reduction)
    seed = mg.ones_like(loss)
    loss.backward(seed, retain_graph=True)
    first = logits.grad.numpy().copy()
    logits.grad = None
    loss.backward(seed)
    np.testing.assert_array_equal(logits.grad.numpy(), first)


def test_cross_entropy_second_derivative_uses_the_recomputed_softmax():
    # under create_graph the saved softmax (a constant) must not be used, or this Hessian-vector product is 0
    logits = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    target = np.array([2, 0, 1, 2])
    (grad,) = mg.autograd.grad(mg.cross_entropy(logits, target, "sum"), logits, create_graph=True)
    direction = rng.standard_normal((4, 3))
    (hvp,) = mg.autograd.grad((grad * direction).sum(), logits)
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
    # the softmax Jacobian per row: diag(p) - p p^T
    expected = p * direction - p * (p * direction).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(hvp.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_changing_a_cross_entropy_output_in_place_does_not_block_its_gradient():
    # the op keeps its softmax, not its output: an in-place change to the loss cannot make the gradient wrong
    logits = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    target = np.array([0, 1, 3])
    loss = mg.cross_entropy(logits, target, "sum")
    with mg.no_grad():
        loss += 1.0
    loss.backward()
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
    p[np.arange(3), target] -= 1
    np.testing.assert_allclose(logits.grad.numpy(), p, rtol=1e-12, atol=1e-14)


def test_binary_cross_entropy_op_takes_a_scalar_or_broadcasting_target():
    # the op itself (no nn checks) follows NumPy broadcasting, like the formula it fuses
    p = np.array([[0.2], [0.7], [0.9]])
    for target in (0.25, np.array([1.0, 0.0])):
        fused = mg.binary_cross_entropy(mg.tensor(p), target, None, "none").numpy()
        np.testing.assert_allclose(fused, -(target * np.log(p) + (1 - target) * np.log(1 - p)), rtol=1e-12)
