"""Speed paths give exactly what the plain NumPy expressions they replace give."""
import math

import numpy as np
import pytest

import microgradnp as mg
from microgradnp.autograd.primitive import PRIMITIVES, UnaryPrimitive
from microgradnp.ops import constant_arrays
from microgradnp.ops.elementwise import _VECTOR_MIN

rng = np.random.default_rng(11)


def _with_specials(x):
    # NaN must stay NaN, -0.0 must come out as +0.0, infinities must pass or clip as in np.maximum(x, 0)
    flat = x.reshape(-1)
    flat[:5] = [np.nan, -0.0, np.inf, -np.inf, 0.0]
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64, np.bool_, ">f4"])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_relu_on_large_arrays_equals_maximum_with_scalar_zero(dtype, layout):
    x = rng.standard_normal((64, 48)) * 10
    if np.dtype(dtype).kind == "f":
        x = _with_specials(x)
    x = x.astype(dtype)
    x = {"C": x, "F": np.asfortranarray(x), "strided": x[:, ::2]}[layout]
    assert x.size >= _VECTOR_MIN // 2
    big = np.concatenate([x, x], axis=1) if layout != "F" else np.asfortranarray(np.concatenate([x, x], axis=1))
    assert big.size >= _VECTOR_MIN
    for data in (x, big):
        out = mg.relu(mg.tensor(data)).numpy()
        expected = np.maximum(data, 0)
        assert out.dtype == expected.dtype and out.shape == data.shape
        np.testing.assert_array_equal(out, expected)
        assert np.array_equal(np.signbit(out), np.signbit(expected))  # no -0.0 anywhere
        assert out.flags.writeable


def test_relu_output_written_in_place_leaves_later_relus_alone():
    x = rng.standard_normal(4096).astype(np.float32)
    first = mg.relu(mg.tensor(x)).numpy()
    first[:] = 5.0  # the zeros the op compared against must not be shared with its result
    again = mg.relu(mg.tensor(-np.abs(x))).numpy()
    assert np.all(again == 0)


def test_constant_arrays_are_read_only_views_that_grow_per_dtype():
    small = constant_arrays.zeros_view((3, 4), np.float32)
    assert small.shape == (3, 4) and small.dtype == np.float32 and not small.any()
    with pytest.raises(ValueError, match="read-only"):
        small[0, 0] = 1
    large = constant_arrays.zeros_view((1000, 1000), np.float32)
    assert large.shape == (1000, 1000) and not large.any()
    ones = constant_arrays.ones_vector(5000, np.float64)
    assert ones.shape == (5000,) and ones.dtype == np.float64 and np.all(ones == 1)
    assert not ones.flags.writeable
    assert constant_arrays.ones_vector(0, np.float32).shape == (0,)
    assert constant_arrays.zeros_view((), np.float64).shape == ()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("rows", [0, 1, 300])
def test_linear_bias_gradient_is_the_sum_over_rows(dtype, rows):
    local = np.random.default_rng(rows)
    x = mg.tensor(local.standard_normal((rows, 6)).astype(dtype))
    w = mg.tensor(local.standard_normal((7, 6)).astype(dtype), requires_grad=True)
    b = mg.tensor(local.standard_normal(7).astype(dtype), requires_grad=True)
    g = local.standard_normal((rows, 7)).astype(dtype)
    mg.linear(x, w, b).backward(mg.tensor(g))
    assert b.grad.dtype == dtype and b.grad.shape == (7,)
    if dtype == np.float16:  # no BLAS for float16: the plain sum, exactly
        np.testing.assert_array_equal(b.grad.numpy(), np.add.reduce(g, axis=0))
    else:
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(b.grad.numpy(), g.astype(np.float64).sum(axis=0), rtol=rtol, atol=rtol)


# ---- gradients the engine does not check (Node.exact_grads) --------------------------------------------

_ELEMENTWISE = sorted(name for name, prim in PRIMITIVES.items() if prim.elementwise)


def test_the_everyday_elementwise_ops_are_marked():
    # the check below must not pass by finding nothing to check
    assert {"add", "sub", "mul", "div", "neg", "exp", "tanh", "sigmoid", "relu"} <= set(_ELEMENTWISE)


def _exact_cases(prim, x):
    # the calls whose gradient the engine takes as it comes: one input, or an array and a Python number
    if isinstance(prim, UnaryPrimitive):
        yield lambda: prim(x)
        return
    for number in (2.0, 3):
        yield lambda: prim(x, number)
        yield lambda: prim(number, x)


@pytest.mark.parametrize("name", _ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("create_graph", [False, True])
def test_elementwise_gradients_come_in_their_inputs_shape_and_dtype(name, dtype, create_graph):
    prim = PRIMITIVES[name]
    x = mg.tensor(rng.uniform(0.5, 2.0, (3, 4)).astype(dtype), requires_grad=True)
    for call in _exact_cases(prim, x):
        out = call()
        assert out.grad_fn.exact_grads
        (grad,) = mg.autograd.grad(out, x, grad_outputs=mg.ones_like(out), create_graph=create_graph)
        assert grad.shape == (3, 4) and grad.dtype == dtype, (name, grad.shape, grad.dtype)


@pytest.mark.parametrize("other", [np.ones((1, 4)), np.float64(2.0)])
def test_other_operands_keep_the_checked_gradient(other):
    # a broadcast array, or a NumPy scalar (its float64 wins over float32): the engine still sums the
    # gradient back to the input's shape and casts it to the input's dtype
    x = mg.tensor(rng.uniform(0.5, 2.0, (3, 1)).astype(np.float32), requires_grad=True)
    out = x * other
    assert not out.grad_fn.exact_grads
    mg.sum(out).backward()
    assert x.grad.shape == (3, 1) and x.grad.dtype == np.float32
    expected = np.sum(np.ones((3, 1)) * other, axis=1, keepdims=True)  # d sum(x * other) / dx
    np.testing.assert_array_equal(x.grad.numpy(), expected.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(), (7,), (3, 4)])
def test_erf_with_and_without_scipy_agree(dtype, shape, monkeypatch):
    # SciPy's erf when installed, else the C library's element by element: same dtype, values within
    # a few ulps (both are accurate to double precision), for 0-d inputs too
    from microgradnp.ops import elementwise

    pytest.importorskip("scipy.special")
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    monkeypatch.setattr(elementwise, "_erf_impl", None)
    with_scipy = mg.erf(mg.tensor(x)).numpy()
    monkeypatch.setattr(elementwise, "_erf_impl", np.frompyfunc(math.erf, 1, 1))
    without = mg.erf(mg.tensor(x)).numpy()
    expected = np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64))
    for result in (with_scipy, without):
        assert result.shape == shape and result.dtype == (np.float64 if dtype == np.int64 else dtype)
        np.testing.assert_allclose(result, expected.astype(result.dtype), rtol=4 * np.finfo(result.dtype).eps)


def test_ops_exact_when_their_inputs_share_a_dtype_are_marked():
    # the check below must not pass by finding nothing to check
    assert [name for name, p in PRIMITIVES.items() if p.grads_in_input_shapes] == ["linear", "unfold", "fold",
                                                                                   "window_max"]


_WINDOW_CALLS = {
    "unfold": lambda x: mg.nn.functional.unfold(x, 2, padding=1),
    "fold": lambda x: mg.nn.functional.fold(x.reshape(2, 12, 3), (2, 4), 2),
    "window_max": lambda x: mg.max_pool2d(x, 2, stride=1),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", sorted(_WINDOW_CALLS))
def test_window_gradients_come_in_their_inputs_shape_and_dtype(name, create_graph, dtype):
    # marked grads_in_input_shapes: the engine takes their gradients as they come
    x = mg.tensor(rng.standard_normal((2, 3, 3, 4)).astype(dtype), requires_grad=True)
    out = _WINDOW_CALLS[name](x)
    names, stack = set(), [out.grad_fn]
    while stack:  # the call must really record the primitive it is named after
        node = stack.pop()
        names.add(node.name)
        stack.extend(edge for edge in node.edges if isinstance(edge, mg.autograd.graph.Node))
    assert name in names
    (grad,) = mg.autograd.grad((out * out).sum(), [x], create_graph=create_graph)
    assert grad.shape == x.shape and grad.dtype == x.dtype


# (a bias of shape (1, 3) with a 1-D input would add a dimension to the output: linear refuses that)
_LINEAR_SHAPES = [(x, b) for x in [(5,), (4, 5), (2, 3, 5)] for b in [None, (3,), (1, 3)] if len(x) > 1 or b != (1, 3)]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("x_shape,bias_shape", _LINEAR_SHAPES)
@pytest.mark.parametrize("create_graph", [False, True])
def test_linear_gradients_come_in_their_inputs_shape_and_dtype(dtype, x_shape, bias_shape, create_graph):
    # the engine takes a linear node's gradients as they come when x, weight and bias share one dtype
    # (Node.exact_grads): its VJP must return each in its input's shape and dtype
    x = mg.tensor(rng.standard_normal(x_shape).astype(dtype), requires_grad=True)
    w = mg.tensor(rng.standard_normal((3, 5)).astype(dtype), requires_grad=True)
    b = None if bias_shape is None else mg.tensor(rng.standard_normal(bias_shape).astype(dtype), requires_grad=True)
    out = mg.linear(x, w, b)
    assert out.grad_fn.exact_grads
    inputs = [x, w] + ([] if b is None else [b])
    grads = mg.autograd.grad(out, inputs, grad_outputs=mg.ones_like(out), create_graph=create_graph)
    for t, g in zip(inputs, grads):
        assert g.shape == t.shape and g.dtype == dtype, (t.shape, g.shape, g.dtype)


@pytest.mark.parametrize("dtypes", [(np.float32, np.float64, np.float64), (np.float64, np.float32, None),
                                    (np.float32, np.float32, np.float64)])
def test_linear_with_mixed_dtypes_keeps_the_checked_gradient(dtypes):
    # inputs of different dtypes give a gradient of the promoted dtype: the engine must cast it back
    x_dtype, w_dtype, b_dtype = dtypes
    x = mg.tensor(rng.standard_normal((4, 5)).astype(x_dtype), requires_grad=True)
    w = mg.tensor(rng.standard_normal((3, 5)).astype(w_dtype), requires_grad=True)
    b = None if b_dtype is None else mg.tensor(rng.standard_normal(3).astype(b_dtype), requires_grad=True)
    out = mg.linear(x, w, b)
    assert not out.grad_fn.exact_grads
    mg.sum(out).backward()
    for t in (x, w) if b is None else (x, w, b):
        assert t.grad.shape == t.shape and t.grad.dtype == t.dtype


# ---- outer products (a batch of one) ------------------------------------------------------------------

def _refuse_matmul(monkeypatch):
    # np.matmul computes an outer product without BLAS, several times slower: these paths must avoid it
    def refused(*args, **kwargs):
        raise AssertionError("np.matmul called for an outer product")
    monkeypatch.setattr(np, "matmul", refused)


_BLAS_DTYPES = [np.float32, np.float64, np.complex128]


@pytest.mark.parametrize("dtype", _BLAS_DTYPES + [np.float16, np.int64, np.bool_])
@pytest.mark.parametrize("shape", [(3, 4), (256, 784)])
def test_outer_product_equals_matmul(dtype, shape, monkeypatch):
    from microgradnp.ops.linalg import product
    a = (rng.standard_normal((shape[0], 1)) * 3).astype(dtype)
    b = (rng.standard_normal((1, shape[1])) * 3).astype(dtype)
    expected = np.matmul(a, b)
    if dtype in _BLAS_DTYPES:  # (for the others NumPy's dot is slower than matmul)
        _refuse_matmul(monkeypatch)
    got = product(a, b)
    assert got.dtype == expected.dtype and got.shape == shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64),
                                    (np.float16, np.float16)])
def test_linear_weight_gradient_of_one_sample_is_the_outer_product_in_the_weights_layout(dtypes, monkeypatch):
    x_dtype, w_dtype = dtypes
    x = mg.tensor(rng.standard_normal((1, 784)).astype(x_dtype))
    w = mg.tensor(np.asfortranarray(rng.standard_normal((256, 784)).astype(w_dtype)), requires_grad=True)
    b = mg.tensor(rng.standard_normal(256).astype(w_dtype), requires_grad=True)
    out = mg.linear(x, w, b)
    g = rng.standard_normal(out.shape).astype(out.dtype)
    expected = (g.T * x.numpy()).astype(w_dtype)  # one product per element: exact
    if np.dtype(w_dtype).char in "fd":
        _refuse_matmul(monkeypatch)
    out.backward(mg.tensor(g))
    assert w.grad.dtype == w_dtype and w.grad.numpy().flags.f_contiguous
    np.testing.assert_array_equal(w.grad.numpy(), expected)


def test_one_samples_weight_gradient_is_kept_without_a_copy(monkeypatch):
    # the gradient the VJP returns owns its memory, so it becomes .grad by reference (a view is copied)
    made = []
    from microgradnp.ops import linalg
    original = linalg._weight_gradient
    monkeypatch.setattr(linalg, "_weight_gradient", lambda *args: made.append(original(*args)) or made[-1])
    x = mg.tensor(rng.standard_normal((1, 784)).astype(np.float32))
    w = mg.tensor(np.asfortranarray(rng.standard_normal((256, 784)).astype(np.float32)), requires_grad=True)
    mg.linear(x, w).sum().backward()
    assert len(made) == 1 and w.grad.numpy() is made[0] and made[0].base is None


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("inner", [1, 3])
def test_product_writes_into_out_in_either_order(order, inner, monkeypatch):
    from microgradnp.ops.linalg import product
    a = rng.standard_normal((70, inner)).astype(np.float32)
    b = rng.standard_normal((inner, 90)).astype(np.float32)
    expected = np.matmul(a, b)
    out = np.empty((70, 90), np.float32, order=order)
    if inner == 1:
        _refuse_matmul(monkeypatch)
    assert product(a, b, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    if inner == 1:  # one product per element: exact
        np.testing.assert_array_equal(out, expected)
