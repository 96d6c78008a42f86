"""Activations are forward passes only; their derived gradients must equal the analytic derivatives.

Each expected derivative below is the hand-written closed form, evaluated with NumPy/math directly.
"""
import math

import numpy as np
import pytest

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn

# points on both sides of 0 (not 0 itself, where some derivatives are a convention; tested separately)
X = np.array([-3.0, -1.5, -0.2, 0.3, 1.0, 2.5], dtype=np.float64)
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _phi(x):  # standard normal density
    return np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _Phi(x):  # standard normal CDF
    return 0.5 * (1 + _erf(x / math.sqrt(2)))


CASES = [
    ("relu", nn.ReLU(), lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    ("leaky_relu", nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x), lambda x: np.where(x > 0, 1.0, 0.01)),
    ("leaky_relu_0.2", nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x), lambda x: np.where(x > 0, 1.0, 0.2)),
    ("sigmoid", nn.Sigmoid(), _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    ("tanh", nn.Tanh(), np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    ("gelu", nn.GELU(), lambda x: x * _Phi(x), lambda x: _Phi(x) + x * _phi(x)),
    ("elu", nn.ELU(), lambda x: np.where(x > 0, x, np.exp(x) - 1), lambda x: np.where(x > 0, 1.0, np.exp(x))),
    ("elu_alpha_2", nn.ELU(alpha=2.0), lambda x: np.where(x > 0, x, 2 * (np.exp(x) - 1)),
     lambda x: np.where(x > 0, 1.0, 2 * np.exp(x))),
    ("identity", nn.Identity(), lambda x: x, lambda x: np.ones_like(x)),
]


def _gelu_tanh(x):
    k = math.sqrt(2 / math.pi)
    return 0.5 * x * (1 + np.tanh(k * (x + 0.044715 * x ** 3)))


def _gelu_tanh_derivative(x):
    k = math.sqrt(2 / math.pi)
    t = np.tanh(k * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)


CASES.append(("gelu_tanh", nn.GELU(approximate="tanh"), _gelu_tanh, _gelu_tanh_derivative))


@pytest.mark.parametrize("name,layer,forward,derivative", CASES, ids=[c[0] for c in CASES])
def test_activation_value_and_gradient_match_closed_forms(name, layer, forward, derivative):
    x = mg.tensor(X, requires_grad=True)
    y = layer(x)
    np.testing.assert_allclose(y.numpy(), forward(X), rtol=1e-12, atol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), derivative(X), rtol=1e-10, atol=1e-12)


def test_leaky_relu_gradient_is_elementwise_not_one_scalar():
    # seed 001: a derivative returning one number for the whole array; here each element gets its own slope
    x = mg.tensor([-2.0, 3.0, -0.5, 0.1], requires_grad=True)
    F.leaky_relu(x, 0.1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.array([0.1, 1.0, 0.1, 1.0], dtype=np.float32))


def test_derivative_conventions_at_zero_match_pytorch():
    for fn, expected in [(F.relu, 0.0), (lambda t: F.leaky_relu(t, 0.1), 0.1), (F.elu, 1.0)]:
        x = mg.tensor([0.0], requires_grad=True)
        fn(x).sum().backward()
        assert x.grad.item() == pytest.approx(expected)


def test_known_values():
    assert F.gelu(mg.tensor(1.0)).item() == pytest.approx(0.8413447460685429, rel=1e-6)
    assert F.sigmoid(mg.tensor(0.0)).item() == 0.5
    assert F.elu(mg.tensor(-1.0)).item() == pytest.approx(math.exp(-1) - 1, rel=1e-6)


def test_activations_are_finite_and_warning_free_at_extremes():
    x = mg.tensor([-1000.0, 1000.0], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for layer in (nn.Sigmoid(), nn.Tanh(), nn.ELU(), nn.GELU(), nn.LeakyReLU()):
            x.grad = None
            y = layer(x)
            y.sum().backward()
            assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(x.grad.numpy())), type(layer).__name__


def test_softmax_and_log_softmax_values_and_jacobian_vector_products():
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    g = np.array([[0.3, -1.0, 2.0], [1.0, 0.0, -0.5]])
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

    x = mg.tensor(logits, requires_grad=True)
    y = nn.Softmax(dim=1)(x)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)
    y.backward(mg.tensor(g))
    # softmax VJP: s * (g - sum(g * s))
    np.testing.assert_allclose(x.grad.numpy(), expected * (g - (g * expected).sum(axis=1, keepdims=True)), rtol=1e-10)

    x = mg.tensor(logits, requires_grad=True)
    y = nn.LogSoftmax(dim=1)(x)
    np.testing.assert_allclose(y.numpy(), np.log(expected), rtol=1e-12)
    y.backward(mg.tensor(g))
    # log-softmax VJP: g - softmax * sum(g)
    np.testing.assert_allclose(x.grad.numpy(), g - expected * g.sum(axis=1, keepdims=True), rtol=1e-10)


def test_softmax_along_dim_zero():
    x = mg.tensor([[0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(F.softmax(x, dim=0).numpy(), np.full((2, 2), 0.5))


def test_softmax_without_dim_warns_like_pytorch():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(mg.tensor([[0.0, 0.0]]))
    np.testing.assert_allclose(out.numpy(), [[0.5, 0.5]])


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU(approximate="fast")


def test_activation_gradients_pass_gradcheck():
    x = mg.tensor(X, requires_grad=True)
    for fn in (lambda t: F.leaky_relu(t, 0.1), F.gelu, F.elu, F.sigmoid, lambda t: F.softplus(t)):
        assert mg.autograd.gradcheck(fn, (x,))


def test_softplus_matches_log1p_exp_and_threshold():
    x = np.array([-5.0, 0.0, 3.0, 25.0])
    out = F.softplus(mg.tensor(x)).numpy()
    np.testing.assert_allclose(out[:3], np.log1p(np.exp(x[:3])), rtol=1e-12)
    assert out[3] == 25.0  # above the threshold the input passes through
