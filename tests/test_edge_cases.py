"""Edge cases found by a differential fuzzer against PyTorch (issue 17): zero exponents, zero spreads, ties,
tensor bounds, empty and 0-d shapes.

Each case has a test that asserts the expected values as literals, so it runs (and fails when the case
breaks) without PyTorch, and a ``..._matches_torch`` test that compares values and gradients with PyTorch
on a few shapes, skipped when torch is not installed.
"""
import warnings

import numpy as np
import pytest

import microgradnp as mg


def _leaf(values, dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def _grads(fn, *values):
    """fn's result and the gradients of sum(result) for each of ``values`` (float64 leaves), warnings as errors."""
    leaves = [_leaf(v) for v in values]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn(*leaves)
        mg.sum(out).backward()
    return out, [leaf.grad for leaf in leaves]


def _assert_equal(ours, expected):
    ours = ours.numpy() if isinstance(ours, mg.Tensor) else np.asarray(ours)
    expected = np.asarray(expected, dtype=np.float64)
    assert ours.shape == expected.shape, f"shape {ours.shape}, expected {expected.shape}"
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=0)


def _torch_grads(torch, fn, *values):
    leaves = [torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    out = fn(*leaves)
    out.sum().backward()
    return out, [leaf.grad if leaf.grad is not None else torch.zeros_like(leaf) for leaf in leaves]


def _matches_torch(fn, torch_fn, *values, rtol=1e-10, atol=1e-12):
    """fn and torch_fn agree on the values and on the gradient of their sum, NaN for NaN."""
    torch = pytest.importorskip("torch")
    ours, our_grads = _grads(fn, *values)
    with warnings.catch_warnings():  # PyTorch's own warnings (degrees of freedom <= 0...) are not checked
        warnings.simplefilter("ignore")
        theirs, their_grads = _torch_grads(torch, torch_fn, *values)
    for a, b in [(ours, theirs)] + list(zip(our_grads, their_grads)):
        a = a.numpy() if isinstance(a, mg.Tensor) else np.asarray(a)
        b = b.detach().numpy()
        assert a.shape == b.shape, f"shape {a.shape}, PyTorch's {b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


# ---- pow -------------------------------------------------------------------------------------------

def test_pow_zero_exponent_has_zero_gradient_at_zero():
    _, (grad,) = _grads(lambda x: x ** 0, [0.0, 2.0, -1.0])
    _assert_equal(grad, [0.0, 0.0, 0.0])
    _, (grad, _) = _grads(lambda x, b: x ** b, [0.0, 2.0, -1.0], [0.0, 0.0, 0.0])
    _assert_equal(grad, [0.0, 0.0, 0.0])


def test_pow_zero_exponent_second_order():
    x = _leaf([0.0, 2.0])
    (grad,) = mg.autograd.grad(mg.sum(x ** 0), [x], create_graph=True)
    _assert_equal(grad, [0.0, 0.0])
    x, b = _leaf([1.0, 2.0]), _leaf([0.0, 3.0])
    (grad,) = mg.autograd.grad(mg.sum(x ** b), [x], create_graph=True)
    _assert_equal(grad, [0.0, 12.0])  # b * x ** (b - 1)
    mg.sum(grad).backward()
    _assert_equal(x.grad, [0.0, 12.0])  # b (b - 1) x ** (b - 2)
    _assert_equal(b.grad, [0.0, 4 * (1 + 3 * np.log(2))])  # x ** (b - 1) (1 + b log x); masked at b == 0


def test_pow_exponent_gradient_is_zero_where_the_base_is_not_positive():
    # PyTorch gives -inf at a base of 0 with a negative exponent and NaN at a negative base: microgradnp
    # takes the gradient of a ** b in b as 0 wherever log(a) is not real (and never NaN there)
    with np.errstate(divide="ignore"):
        _, (grad_a, grad_b) = _grads(lambda a, b: a ** b, [0.0, 0.0, -2.0, 2.0], [-1.0, 0.5, 2.0, 2.0])
    _assert_equal(grad_a, [-np.inf, np.inf, -4.0, 4.0])
    _assert_equal(grad_b, [0.0, 0.0, 0.0, 4 * np.log(2)])


@pytest.mark.parametrize("base, exponent", [  # bases >= 0: see the test above for negative ones
    ([0.0, 2.0, 1.0, 0.5], [0.0, 0.0, 0.0, 0.0]),
    ([[0.0], [3.0]], [0.0, 2.0, 1.5]),
    (0.0, 0.0),
    (np.zeros((0, 3)), [0.0, 1.0, 2.0]),
], ids=["zeros", "broadcast", "0-d", "empty"])
def test_pow_matches_torch(base, exponent):
    _matches_torch(lambda a, b: a ** b, lambda a, b: a ** b, base, exponent)
    _matches_torch(lambda a: a ** 0, lambda a: a ** 0, base)


# ---- std -------------------------------------------------------------------------------------------

def test_std_gradient_is_zero_where_std_is_zero():
    # PyTorch's std backward: grad / (2 * std), masked to 0 where std == 0
    out, (grad,) = _grads(mg.std, np.ones(3))
    _assert_equal(out, 0.0)
    _assert_equal(grad, [0.0, 0.0, 0.0])
    out, (grad,) = _grads(lambda x: mg.std(x, dim=1), [[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    _assert_equal(out, [0.0, 1.0])
    _assert_equal(grad, [[0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]])
    out, (grad,) = _grads(lambda x: x.std(0, keepdim=True, unbiased=False), [[2.0, 1.0], [2.0, 3.0]])
    _assert_equal(out, [[0.0, 1.0]])
    _assert_equal(grad, [[0.0, -0.5], [0.0, 0.5]])
    out, (grad,) = _grads(lambda x: x.std(unbiased=False), 5.0)
    _assert_equal(out, 0.0)
    _assert_equal(grad, 0.0)


def test_var_and_std_over_dim_0_of_a_0d_tensor():
    # its one element, as in PyTorch (which gives NaN for the unbiased estimate; here that is an error)
    out, (grad,) = _grads(lambda x: mg.std(x, 0, unbiased=False), 2.0)
    _assert_equal(out, 0.0)
    _assert_equal(grad, 0.0)
    out, _ = _grads(lambda x: x.var(-1, keepdim=True, unbiased=False), 2.0)
    _assert_equal(out, 0.0)
    with pytest.raises(ValueError, match="var: 1 element"):
        mg.var(mg.tensor(2.0), 0)


def test_std_second_order_where_std_is_zero():
    x = _leaf([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])
    (grad,) = mg.autograd.grad(mg.sum(mg.std(x, dim=1)), [x], create_graph=True)
    assert np.isfinite(grad.numpy()).all()
    mg.sum(grad * grad).backward()
    assert np.isfinite(x.grad.numpy()).all()
    _assert_equal(x.grad[0], [0.0, 0.0, 0.0])


@pytest.mark.parametrize("values, dims", [
    (np.ones(3), None),
    ([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]], 1),
    ([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]], 0),
    ([[[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [3.0, 4.0]]], (1, 2)),
    (np.zeros((0, 3)), 1),
], ids=["ones", "dim 1", "dim 0", "dims (1, 2)", "empty"])
def test_std_matches_torch(values, dims):
    _matches_torch(lambda x: mg.std(x, dims), lambda x: x.std(dims), values)
    _matches_torch(lambda x: mg.std(x, dims, unbiased=False, keepdim=True),
                   lambda x: x.std(dims, unbiased=False, keepdim=True), values)


@pytest.mark.parametrize("dim", [0, -1])
def test_std_of_a_0d_tensor_matches_torch(dim):
    _matches_torch(lambda x: mg.std(x, dim, unbiased=False), lambda x: x.std(dim, unbiased=False), 2.0)
    _matches_torch(lambda x: mg.var(x, dim, unbiased=False, keepdim=True),
                   lambda x: x.var(dim, unbiased=False, keepdim=True), 2.0)


# ---- max and min over a dim ------------------------------------------------------------------------

def test_max_over_dim_sends_the_gradient_to_the_returned_index():
    x = _leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    values, indices = mg.max(x, dim=1)
    mg.sum(values).backward()
    _assert_equal(values, [3.0, 2.0])
    assert indices.tolist() == [1, 0]
    _assert_equal(x.grad, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    x = _leaf([[5.0, 5.0], [1.0, 0.0], [1.0, 0.0]])
    result = x.min(0, keepdim=True)
    mg.sum(result.values).backward()
    assert result.indices.tolist() == [[1, 1]]
    _assert_equal(x.grad, [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])  # the first of the tied minima


def test_amax_and_max_of_all_elements_still_split_ties():
    # as PyTorch's amax/amin and max()/min() without a dim do
    _, (grad,) = _grads(lambda x: mg.amax(x, 1), [[1.0, 3.0, 3.0]])
    _assert_equal(grad, [[0.0, 0.5, 0.5]])
    _, (grad,) = _grads(lambda x: x.max(), [[1.0, 3.0, 3.0]])
    _assert_equal(grad, [[0.0, 0.5, 0.5]])
    _, (grad,) = _grads(lambda x: x.amin(0), [[2.0, 1.0], [2.0, 3.0]])
    _assert_equal(grad, [[0.5, 1.0], [0.5, 0.0]])


def test_max_over_dim_of_0d_empty_and_nan():
    values, indices = mg.max(_leaf(3.0), 0)
    _assert_equal(values, 3.0)
    assert indices.shape == () and indices.item() == 0
    x = _leaf(np.nan)
    values, _ = mg.min(x, -1, keepdim=True)
    values.backward()
    assert np.isnan(values.item()) and x.grad.item() == 1.0
    values, indices = mg.min(_leaf(np.zeros((0, 3))), dim=1)
    assert values.shape == indices.shape == (0,)
    x = _leaf([[1.0, np.nan, 3.0, np.nan]])
    values, indices = mg.max(x, 1)
    mg.sum(values).backward()
    assert np.isnan(values.item()) and indices.tolist() == [1]  # the first NaN, as in PyTorch
    _assert_equal(x.grad, [[0.0, 1.0, 0.0, 0.0]])
    with pytest.raises(IndexError, match=r"max: cannot reduce over dim 0, which has size 0 \(shape \(0, 3\)\)"):
        mg.max(mg.zeros(0, 3), 0)
    with pytest.raises(TypeError, match="min: dim must be an int, got \\(0, 1\\)"):
        mg.min(mg.zeros(2, 3), (0, 1))


def test_max_of_all_elements_shares_the_gradient_between_nans():
    # as PyTorch's max() and min(): the result is NaN, and each NaN gets an equal share (no 0 / 0 warning)
    out, (grad,) = _grads(mg.max, [[0.0, 1.0, np.nan, np.nan], [1.0, 2.0, 2.0, 0.0]])
    assert np.isnan(out.item())
    _assert_equal(grad, [[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]])
    out, (grad,) = _grads(lambda x: x.min(keepdim=True), [[0.0, np.nan, 2.0]])
    assert out.shape == (1, 1) and np.isnan(out.item())
    _assert_equal(grad, [[0.0, 1.0, 0.0]])


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_of_all_elements_match_torch(name):
    for values in ([[0.0, 1.0, np.nan, np.nan], [1.0, 2.0, 2.0, 0.0]], [[1.0, 3.0, 3.0], [0.0, 0.0, 2.0]], 3.0):
        _matches_torch(getattr(mg, name), lambda x: getattr(x, name)(), values)


@pytest.mark.parametrize("values", [
    [[1.0, 3.0, 3.0]], [[3.0, 1.0, 1.0], [2.0, 2.0, 0.0]], np.ones((2, 3, 2)), 3.0, [[1.0, np.nan, 3.0, np.nan]],
    np.nan, np.zeros((0, 3)),
], ids=["ties", "ties 2-D", "all equal 3-D", "0-d", "NaN", "0-d NaN", "empty"])
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_over_dim_match_torch(values, name, keepdim):
    torch = pytest.importorskip("torch")
    for dim in range(-1, max(np.ndim(values), 1)):
        if np.shape(values) and np.shape(values)[dim] == 0:
            continue  # an error in both (tested above)
        _matches_torch(lambda x: getattr(mg, name)(x, dim, keepdim=keepdim).values,
                       lambda x: getattr(torch, name)(x, dim, keepdim=keepdim).values, values)
        data = np.asarray(values, dtype=np.float64)
        ours = getattr(mg, name)(mg.tensor(data), dim, keepdim=keepdim).indices
        theirs = getattr(torch, name)(torch.tensor(data), dim, keepdim=keepdim).indices
        assert ours.shape == tuple(theirs.shape) and ours.tolist() == theirs.tolist()


# ---- clamp with tensor bounds ----------------------------------------------------------------------

def test_clamp_with_tensor_bounds_computes_values_and_gradients():
    # PyTorch's convention: where x equals a bound the gradient goes to x; a bound gets it where it is taken
    x, low, high = [0.0, 1.0, 2.0, 3.0, 1.0], [1.0, 1.0, 1.0, 1.0, 2.0], [2.0, 2.0, 2.0, 2.0, 0.0]
    out, (grad_x, grad_low) = _grads(lambda x, low: x.clamp(min=low), x, low)
    _assert_equal(out, [1.0, 1.0, 2.0, 3.0, 2.0])
    _assert_equal(grad_x, [0.0, 1.0, 1.0, 1.0, 0.0])
    _assert_equal(grad_low, [1.0, 0.0, 0.0, 0.0, 1.0])
    out, (grad_x, grad_high) = _grads(lambda x, high: mg.clamp(x, max=high), x, high)
    _assert_equal(out, [0.0, 1.0, 2.0, 2.0, 0.0])
    _assert_equal(grad_x, [1.0, 1.0, 1.0, 0.0, 0.0])
    _assert_equal(grad_high, [0.0, 0.0, 0.0, 1.0, 1.0])
    out, grads = _grads(lambda x, low, high: x.clip(low, high), x, low, high)
    _assert_equal(out, [1.0, 1.0, 2.0, 2.0, 0.0])  # where min > max the result is max
    _assert_equal(grads[0], [0.0, 1.0, 1.0, 0.0, 0.0])
    _assert_equal(grads[1], [1.0, 0.0, 0.0, 0.0, 0.0])
    _assert_equal(grads[2], [0.0, 0.0, 0.0, 1.0, 1.0])


def test_clamp_with_tensor_bounds_broadcasts_and_mixes_with_numbers():
    out, (grad_x, grad_low) = _grads(lambda x, low: x.clamp(min=low), [[0.0, 1.0, 2.0]], [[1.0], [0.5]])
    _assert_equal(out, [[1.0, 1.0, 2.0], [0.5, 1.0, 2.0]])
    _assert_equal(grad_x, [[0.0, 2.0, 2.0]])
    _assert_equal(grad_low, [[1.0], [1.0]])
    out, (grad_x, grad_low) = _grads(lambda x, low: x.clamp(low, 4.0), [0.0, 1.0, 5.0], 2.0)
    _assert_equal(out, [2.0, 2.0, 4.0])
    _assert_equal(grad_x, [0.0, 0.0, 0.0])
    _assert_equal(grad_low, 2.0)
    x = mg.tensor([0.0, 3.0], dtype=mg.float32)
    assert x.clamp(min=mg.tensor([1.0, 1.0], dtype=mg.float32), max=2.0).dtype == mg.float32
    assert np.clip(mg.tensor([0.0, 3.0]), mg.tensor([1.0, 1.0]), 2.0).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"clamp: input of shape \(2,\), min of shape \(3,\) do not broadcast"):
        mg.clamp(mg.zeros(2), min=mg.zeros(3))


def test_clamp_with_tensor_bounds_second_order():
    x, low = _leaf([0.0, 1.0, 2.0]), _leaf([1.0, 1.0, 1.0])
    grad_x, grad_low = mg.autograd.grad(mg.sum(x.clamp(min=low) ** 2), [x, low], create_graph=True)
    _assert_equal(grad_x, [0.0, 2.0, 4.0])
    _assert_equal(grad_low, [2.0, 0.0, 0.0])
    mg.sum(grad_x + grad_low).backward()
    _assert_equal(x.grad, [0.0, 2.0, 2.0])
    _assert_equal(low.grad, [2.0, 0.0, 0.0])


def test_clamp_nan_gives_nan_without_gradient():
    # as PyTorch, but for one case: a NaN min with x > max gives NaN there, and PyTorch still sends the
    # gradient to max; here no gradient goes anywhere from a NaN result
    out, grads = _grads(lambda x, low, high: x.clamp(low, high), [np.nan, 1.0, 3.0], [0.0, np.nan, np.nan],
                        [2.0, 2.0, 2.0])
    assert np.isnan(out.numpy()).all()
    for grad in grads:
        _assert_equal(grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("x, low, high", [
    ([0.0, 1.0, 2.0, 3.0, np.nan, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0, np.nan, 2.0], None),
    ([0.0, 1.0, 2.0, 3.0, np.nan, 1.0, 1.0], None, [2.0, 2.0, 2.0, 2.0, 2.0, np.nan, 0.0]),
    ([0.0, 1.0, 2.0, 3.0, np.nan, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0, np.nan, 2.0],
     [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.0]),
    ([0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]),
    ([[0.0, 1.0, 2.0]], [[1.0], [0.5]], None),
    ([[0.0, 1.0, 2.0], [3.0, 1.0, 2.0]], [[1.0], [0.5]], [3.0, 1.0, 1.5]),
    (0.0, 1.0, -1.0),
    ([0.0, 5.0], 1.0, [3.0, 4.0]),
    (1.0, np.zeros(0), None),
    (np.zeros((0, 3)), [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]),
], ids=["min", "max", "both", "min == max", "broadcast", "broadcast both", "0-d", "0-d min", "empty bound",
        "empty input"])
def test_clamp_with_tensor_bounds_matches_torch(x, low, high):
    values = [v for v in (x, low, high) if v is not None]

    def clamp(x, *bounds):
        bounds = iter(bounds)
        return x.clamp(None if low is None else next(bounds), None if high is None else next(bounds))

    _matches_torch(clamp, clamp, *values)


# ---- softmax, log_softmax and logsumexp over empty and 0-d tensors ----------------------------------

def test_softmax_over_an_empty_dim_is_empty():
    for fn in (mg.softmax, mg.log_softmax):
        out, (grad,) = _grads(lambda x: fn(x, 0), np.zeros(0))
        assert out.shape == (0,) and grad.shape == (0,)
        out, (grad,) = _grads(lambda x: fn(x, 1), np.zeros((3, 0)))
        assert out.shape == (3, 0) and grad.shape == (3, 0)
        out, (grad,) = _grads(lambda x: fn(x, -1), np.zeros((0, 3)))
        assert out.shape == (0, 3) and grad.shape == (0, 3)


def test_logsumexp_over_an_empty_dim_is_minus_infinity():
    out, (grad,) = _grads(lambda x: mg.logsumexp(x, 0), np.zeros(0))
    _assert_equal(out, -np.inf)
    assert grad.shape == (0,)
    out, (grad,) = _grads(lambda x: mg.logsumexp(x, 0), np.zeros((0, 3)))
    _assert_equal(out, [-np.inf, -np.inf, -np.inf])
    assert grad.shape == (0, 3)
    out, _ = _grads(lambda x: x.logsumexp(1, keepdim=True), np.zeros((2, 0)))
    _assert_equal(out, [[-np.inf], [-np.inf]])
    out, _ = _grads(lambda x: mg.logsumexp(x, 1), np.zeros((0, 3)))
    assert out.shape == (0,)


def test_softmax_of_a_0d_tensor():
    # dim 0 or -1 of a 0-d tensor is its one element, as in PyTorch
    out, (grad,) = _grads(lambda x: mg.softmax(x, 0), 2.0)
    _assert_equal(out, 1.0)
    _assert_equal(grad, 0.0)
    out, (grad,) = _grads(lambda x: mg.log_softmax(x, -1), 2.0)
    _assert_equal(out, 0.0)
    _assert_equal(grad, 0.0)
    out, (grad,) = _grads(lambda x: mg.logsumexp(x, 0), 2.0)
    _assert_equal(out, 2.0)
    _assert_equal(grad, 1.0)
    with pytest.raises(IndexError, match=r"softmax: dim 1 is out of range for a tensor of shape \(\)"):
        mg.softmax(mg.tensor(2.0), 1)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (2, 0, 3), ()], ids=str)
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family_on_empty_and_0d_shapes_matches_torch(shape, name):
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).standard_normal(shape)
    for dim in range(-max(len(shape), 1), max(len(shape), 1)):
        _matches_torch(lambda x: getattr(mg, name)(x, dim), lambda x: getattr(torch, name)(x, dim), values)
    if name == "logsumexp":
        _matches_torch(lambda x: mg.logsumexp(x, -1, keepdim=True), lambda x: torch.logsumexp(x, -1, keepdim=True),
                       values)


# ---- linear and matmul with dimensions of size 0 ---------------------------------------------------

def test_linear_with_zero_in_features_gives_the_bias_and_zero_gradients():
    import microgradnp.nn.functional as F

    x, w, b = _leaf(np.zeros((2, 3, 0))), _leaf(np.zeros((4, 0))), _leaf([1.0, 2.0, 3.0, 4.0])
    out = F.linear(x, w, b)
    mg.sum(out).backward()
    _assert_equal(out, np.broadcast_to([1.0, 2.0, 3.0, 4.0], (2, 3, 4)))
    assert x.grad.shape == (2, 3, 0) and w.grad.shape == (4, 0)
    _assert_equal(b.grad, [6.0, 6.0, 6.0, 6.0])
    x, w, b = _leaf(np.zeros(0)), _leaf(np.zeros((2, 0))), _leaf([1.0, 2.0])  # one sample, no batch dim
    out = F.linear(x, w, b)
    mg.sum(out).backward()
    _assert_equal(out, [1.0, 2.0])
    assert x.grad.shape == (0,) and w.grad.shape == (2, 0)


def test_linear_with_an_empty_batch_or_no_outputs():
    import microgradnp.nn.functional as F

    x, w, b = _leaf(np.ones((2, 0, 3))), _leaf(np.ones((4, 3))), _leaf(np.ones(4))
    out = F.linear(x, w, b)
    mg.sum(out).backward()
    assert out.shape == (2, 0, 4) and x.grad.shape == (2, 0, 3)
    _assert_equal(w.grad, np.zeros((4, 3)))
    _assert_equal(b.grad, np.zeros(4))
    x, w = _leaf(np.ones((5, 3))), _leaf(np.ones((0, 3)))
    out = F.linear(x, w)
    mg.sum(out).backward()
    assert out.shape == (5, 0) and w.grad.shape == (0, 3)
    _assert_equal(x.grad, np.zeros((5, 3)))


def test_linear_with_zero_size_dims_second_order():
    x, w, b = _leaf(np.ones((2, 3, 0))), _leaf(np.ones((4, 0))), _leaf(np.ones(4))
    grads = mg.autograd.grad(mg.sum(mg.linear(x, w, b) ** 2), [x, w, b], create_graph=True)
    assert [g.shape for g in grads] == [(2, 3, 0), (4, 0), (4,)]
    _assert_equal(grads[2], [12.0, 12.0, 12.0, 12.0])  # 2 * out summed over the 6 rows
    mg.sum(grads[2]).backward()
    _assert_equal(b.grad, [12.0, 12.0, 12.0, 12.0])


@pytest.mark.parametrize("x, w", [
    ((2, 3, 0), (4, 0)), ((0,), (4, 0)), ((0, 3), (4, 3)), ((5, 3), (0, 3)), ((0, 0), (0, 0)), ((2, 0, 3), (4, 3)),
    ((3,), (0, 3)),
], ids=str)
@pytest.mark.parametrize("bias", ["(out,)", "0-d", "none"])
def test_linear_with_zero_size_dims_matches_torch(x, w, bias):
    torch = pytest.importorskip("torch")
    values = [np.random.default_rng(0).standard_normal(shape) for shape in (x, w)]
    if bias != "none":
        values.append(np.arange(w[0], dtype=np.float64) if bias == "(out,)" else 0.5)
    _matches_torch(mg.linear, torch.nn.functional.linear, *values)


@pytest.mark.parametrize("a, b", [
    ((3, 0), (0, 4)), ((0, 3), (3, 4)), ((3, 4), (4, 0)), ((0,), (0,)), ((0,), (0, 4)), ((3, 0), (0,)),
    ((2, 3, 0), (0, 4)), ((0, 3, 4), (4, 2)), ((2, 1, 3, 0), (5, 0, 2)), ((0,), (2, 0, 3)), ((3,), (0, 3, 2)),
], ids=str)
def test_matmul_with_zero_size_dims_matches_torch(a, b):
    torch = pytest.importorskip("torch")
    values = [np.random.default_rng(0).standard_normal(shape) for shape in (a, b)]
    _matches_torch(mg.matmul, torch.matmul, *values)


def test_matmul_with_zero_inner_dim_is_zeros():
    out, (grad_a, grad_b) = _grads(mg.matmul, np.ones((2, 0)), np.ones((0, 3)))
    _assert_equal(out, np.zeros((2, 3)))
    assert grad_a.shape == (2, 0) and grad_b.shape == (0, 3)
    out, _ = _grads(mg.matmul, np.ones(0), np.ones(0))
    _assert_equal(out, 0.0)
