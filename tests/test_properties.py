"""Property tests: broadcasting arithmetic and reductions over random shapes and axes.

Reference gradients are written independently of the engine: for a weighted sum L = sum(W * out), the
gradient of an input element is the sum of the weights of the output elements it reaches, computed
with np.bincount over an explicit map from output positions to input positions.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnp as mg

SETTINGS = settings(max_examples=60, deadline=None)


def positions(shape, out_shape):
    """For each output element (after broadcasting), the flat index of the input element it came from."""
    return np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), out_shape).ravel()


def reached_weight_sum(shape, out_shape, weights):
    """sum over output elements of ``weights`` grouped by the input element they come from."""
    return np.bincount(positions(shape, out_shape), weights=weights.ravel(),
                       minlength=int(np.prod(shape))).reshape(shape)


def data(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape)


broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3)


@SETTINGS
@given(shapes=broadcast_pairs, seed=st.integers(0, 2**16), op=st.sampled_from(["add", "sub", "mul", "div"]))
def test_broadcasting_arithmetic_gradients(shapes, seed, op):
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a_np, b_np = data(rng, sa), data(rng, sb, 0.5, 2.0)
    w = rng.standard_normal(out_shape)
    a, b = mg.tensor(a_np, requires_grad=True), mg.tensor(b_np, requires_grad=True)
    out = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[op]
    assert out.shape == tuple(out_shape)
    (out * mg.tensor(w)).sum().backward()

    ab, bb = np.broadcast_to(a_np, out_shape), np.broadcast_to(b_np, out_shape)
    local_a = {"add": 1.0, "sub": 1.0, "mul": bb, "div": 1 / bb}[op]
    local_b = {"add": 1.0, "sub": -1.0, "mul": ab, "div": -ab / bb ** 2}[op]
    assert a.grad.shape == tuple(sa) and b.grad.shape == tuple(sb)
    assert a.grad.dtype == np.float64 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.numpy(), reached_weight_sum(sa, out_shape, w * local_a), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), reached_weight_sum(sb, out_shape, w * local_b), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(shapes=broadcast_pairs, seed=st.integers(0, 2**16))
def test_sum_of_broadcast_add_counts_how_often_each_element_is_used(shapes, seed):
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    a = mg.tensor(np.zeros(sa), requires_grad=True)
    b = mg.tensor(np.zeros(sb), requires_grad=True)
    (a + b).sum().backward()
    size = int(np.prod(out_shape))
    np.testing.assert_array_equal(a.grad.numpy(), np.full(sa, size / max(int(np.prod(sa)), 1)))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(sb, size / max(int(np.prod(sb)), 1)))


@st.composite
def shape_and_axes(draw, min_dims=1):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=1, max_side=4))
    which = draw(st.one_of(st.none(), st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape),
                                               unique=True)))
    if which is None:
        return shape, None
    negative = draw(st.booleans())
    axes = tuple(a - len(shape) if negative else a for a in which)
    return shape, axes[0] if len(axes) == 1 and draw(st.booleans()) else axes


def reduction_map(shape, axis):
    """The output shape with keepdims, i.e. where each input element's reduced result sits."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


@SETTINGS
@given(sa=shape_and_axes(), keepdims=st.booleans(), seed=st.integers(0, 2**16),
       op=st.sampled_from(["sum", "mean", "amax", "amin", "var", "logsumexp"]))
def test_reduction_gradients(sa, keepdims, seed, op):
    shape, axis = sa
    rng = np.random.default_rng(seed)
    x_np = rng.permutation(np.linspace(-2, 2, int(np.prod(shape)))).reshape(shape)  # distinct: no ties
    kept = reduction_map(shape, axis)
    n = int(np.prod(shape)) // int(np.prod(kept))
    if op == "var" and n < 2:
        return
    x = mg.tensor(x_np, requires_grad=True)
    fn = {"sum": mg.sum, "mean": mg.mean, "amax": mg.amax, "amin": mg.amin,
          "var": mg.var, "logsumexp": mg.logsumexp}[op]
    out = fn(x, axis, keepdim=keepdims)

    numpy_fn = {"sum": np.sum, "mean": np.mean, "amax": np.amax, "amin": np.amin,
                "var": lambda v, axis, keepdims: np.var(v, axis=axis, ddof=1, keepdims=keepdims),
                "logsumexp": lambda v, axis, keepdims: np.log(np.sum(np.exp(v), axis=axis, keepdims=keepdims))}[op]
    expected = numpy_fn(x_np, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)

    w = rng.standard_normal(out.shape)
    (out * mg.tensor(w)).sum().backward()
    w_each = np.reshape(w, kept)  # the weight of the reduced result each input element belongs to
    m = np.mean(x_np, axis=axis, keepdims=True)
    local = {
        "sum": lambda: np.ones(shape),
        "mean": lambda: np.full(shape, 1.0 / n),
        "amax": lambda: (x_np == np.amax(x_np, axis=axis, keepdims=True)).astype(float),
        "amin": lambda: (x_np == np.amin(x_np, axis=axis, keepdims=True)).astype(float),
        "var": lambda: 2 * (x_np - m) / (n - 1),
        "logsumexp": lambda: np.exp(x_np) / np.sum(np.exp(x_np), axis=axis, keepdims=True),
    }[op]()
    assert x.grad.shape == tuple(shape)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(w_each, shape) * local, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(sa=shape_and_axes(), seed=st.integers(0, 2**16))
def test_softmax_rows_sum_to_one_and_their_gradient_sums_to_zero(sa, seed):
    shape, _ = sa
    dim = seed % len(shape)
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.uniform(-50, 50, shape), requires_grad=True)
    p = mg.softmax(x, dim)
    np.testing.assert_allclose(p.numpy().sum(axis=dim), 1.0, rtol=1e-12)
    (p * mg.tensor(rng.standard_normal(shape))).sum().backward()
    # softmax is invariant to adding a constant along dim, so its gradient has zero sum along dim
    np.testing.assert_allclose(x.grad.numpy().sum(axis=dim), 0.0, atol=1e-10)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)", max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_matmul_broadcasting_gradients(shapes, seed):
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a_np, b_np, w = rng.standard_normal(sa), rng.standard_normal(sb), rng.standard_normal(out_shape)
    a, b = mg.tensor(a_np, requires_grad=True), mg.tensor(b_np, requires_grad=True)
    out = a @ b
    assert out.shape == tuple(out_shape)
    np.testing.assert_allclose(out.numpy(), np.matmul(a_np, b_np), rtol=1e-12, atol=1e-12)
    (out * mg.tensor(w)).sum().backward()
    assert a.grad.shape == tuple(sa) and b.grad.shape == tuple(sb)
    # L = sum(W * (a @ b)) is linear in a, so <dL/da, E> = sum(W * (E @ b)) for any E (and likewise for b)
    e, f = rng.standard_normal(sa), rng.standard_normal(sb)
    np.testing.assert_allclose(np.sum(a.grad.numpy() * e), np.sum(w * np.matmul(e, b_np)), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.sum(b.grad.numpy() * f), np.sum(w * np.matmul(a_np, f)), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_keep_the_input_dtype_through_broadcasting(dtype):
    a = mg.tensor(np.ones((3, 1), dtype=dtype), requires_grad=True)
    b = mg.tensor(np.ones((1, 4), dtype=np.float64), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == dtype and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 4.0))
