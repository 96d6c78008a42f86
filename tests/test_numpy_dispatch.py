"""NumPy functions called on tensors stay differentiable (__array_ufunc__ / __array_function__), or refuse
loudly when they would cut the graph; on tensors that need no gradient they just compute."""
import numpy as np
import pytest

import microgradnp as mg


def leaf(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def grad_of(fn, values):
    x = leaf(values)
    out = fn(x)
    assert isinstance(out, mg.Tensor) and out.requires_grad
    out.sum().backward()
    return x.grad.numpy()


X = [-2.0, -0.5, 0.5, 3.0]


@pytest.mark.parametrize("fn, expected", [
    (lambda x: np.where(x > 0, x, 0.1 * x), [0.1, 0.1, 1.0, 1.0]),
    (lambda x: np.sum(x * x), [-4.0, -1.0, 1.0, 6.0]),
    (lambda x: np.mean(x) * 4, [1.0, 1.0, 1.0, 1.0]),
    (lambda x: np.clip(x, -1, 1), [0.0, 1.0, 1.0, 0.0]),
    (lambda x: np.clip(x, a_min=-1, a_max=None), [0.0, 1.0, 1.0, 1.0]),
    (lambda x: np.dot(x, x), [-4.0, -1.0, 1.0, 6.0]),
    (lambda x: np.max(x), [0.0, 0.0, 0.0, 1.0]),
    (lambda x: np.amin(x), [1.0, 0.0, 0.0, 0.0]),
    (lambda x: np.maximum(0, x), [0.0, 0.0, 1.0, 1.0]),
    (lambda x: np.square(x), [-4.0, -1.0, 1.0, 6.0]),
    (lambda x: np.abs(x), [-1.0, -1.0, 1.0, 1.0]),
    (lambda x: np.reshape(x, (2, 2)) * np.array([[1.0, 2.0], [3.0, 4.0]]), [1.0, 2.0, 3.0, 4.0]),
    (lambda x: np.concatenate([x, x * 2]), [3.0, 3.0, 3.0, 3.0]),
    (lambda x: np.stack([x, x]), [2.0, 2.0, 2.0, 2.0]),
    (lambda x: np.transpose(np.reshape(x, (2, 2))) * np.array([[1.0, 2.0], [3.0, 4.0]]), [1.0, 3.0, 2.0, 4.0]),
    (lambda x: np.expm1(x), np.exp(X)),
    (lambda x: np.reciprocal(x), -1 / np.square(X)),
    (lambda x: np.log10(x * x), 2 / (np.array(X) * np.log(10))),
    (lambda x: np.copy(x) * 3, [3.0, 3.0, 3.0, 3.0]),
    (lambda x: np.var(x) * 4, 2 * (np.array(X) - np.mean(X))),  # NumPy's ddof=0
])
def test_numpy_calls_on_tensors_are_differentiable(fn, expected):
    np.testing.assert_allclose(grad_of(fn, X), expected, rtol=1e-12)


def test_values_match_numpy():
    x = leaf(X)
    np.testing.assert_allclose(np.where(x > 0, x, 0.1 * x).numpy(), np.where(np.array(X) > 0, X, 0.1 * np.array(X)))
    np.testing.assert_allclose(np.std(x).numpy(), np.std(X))
    np.testing.assert_allclose(np.var(x, ddof=1).numpy(), np.var(X, ddof=1))
    assert np.sum(x, axis=0, keepdims=True).shape == (1,)


def test_flat_functions_give_results_without_gradient():
    x = leaf(X)
    for out in (np.sign(x), np.floor(x), np.greater(x, 0), np.isfinite(x)):
        assert isinstance(out, mg.Tensor) and not out.requires_grad
    np.testing.assert_array_equal(np.sign(x).numpy(), [-1, -1, 1, 1])
    # a gradient through a product with a flat factor is still right: d(sign(x) * x)/dx = sign(x)
    np.testing.assert_array_equal(grad_of(lambda t: np.sign(t) * t, X), [-1, -1, 1, 1])


def test_inspection_functions_work_on_tensors_that_require_grad():
    x = leaf([[1.0, 2.0, 3.0]])
    assert np.shape(x) == (1, 3) and np.ndim(x) == 2 and np.size(x) == 3
    assert np.argmax(x) == 2
    assert np.allclose(x, [[1.0, 2.0, 3.0]])
    assert np.where(x > 1.5)[1].tolist() == [1, 2]


def test_functions_without_gradient_refuse_on_grad_tensors_but_compute_otherwise():
    with pytest.raises(TypeError, match="numpy.sort has no gradient"):
        np.sort(leaf(X))
    np.testing.assert_array_equal(np.sort(mg.tensor(np.array([3.0, 1.0]))), [1.0, 3.0])
    np.testing.assert_array_equal(np.cumsum(leaf(X).detach()), np.cumsum(X))


def test_ndarray_on_the_left_defers_to_the_tensor():
    x = leaf([1.0, 2.0])
    out = np.array([3.0, 4.0]) * x
    assert isinstance(out, mg.Tensor)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
