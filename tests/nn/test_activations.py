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


# ---- Softplus, SiLU, Mish, Hardtanh, ReLU6, PReLU, Softmax2d, LogSigmoid, Softsign, Hardswish, Hardsigmoid,
# SELU, CELU: values and gradients against PyTorch, the gradients also against finite differences

# the kinks (-6, -3, -1, 0, 1, 3, 6) are included: PyTorch's gradient there is a convention to match
POINTS = np.array([-25.0, -6.0, -3.0, -2.5, -1.0, -0.3, 0.0, 0.4, 1.0, 2.9, 3.0, 6.0, 7.0, 25.0])
SMOOTH = np.array([-7.0, -2.5, -1.3, -0.3, 0.4, 1.7, 2.9, 4.0])  # away from every kink, for gradcheck

NEW_LAYERS = [
    ("Softplus", ()), ("Softplus", (2.0, 5.0)), ("SiLU", ()), ("Mish", ()), ("Hardtanh", ()),
    ("Hardtanh", (-2.0, 0.5)), ("ReLU6", ()), ("PReLU", ()), ("LogSigmoid", ()), ("Softsign", ()),
    ("Hardswish", ()), ("Hardsigmoid", ()), ("SELU", ()), ("CELU", ()), ("CELU", (0.5,)),
]
NEW_IDS = [f"{name}{args or ''}" for name, args in NEW_LAYERS]


@pytest.mark.parametrize("name,args", NEW_LAYERS, ids=NEW_IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_new_activation_values_gradients_and_repr_match_pytorch(name, args, dtype):
    torch = pytest.importorskip("torch")
    torch_layer = getattr(torch.nn, name)(*args).to(getattr(torch, np.dtype(dtype).name))
    layer = getattr(nn, name)(*args).to(dtype)
    assert repr(layer) == repr(torch_layer)
    weights = np.arange(len(POINTS), dtype=dtype)  # a different output gradient at every point
    tx = torch.tensor(POINTS.astype(dtype), requires_grad=True)
    x = mg.tensor(POINTS.astype(dtype), requires_grad=True)
    ty, y = torch_layer(tx), layer(x)
    (ty * torch.tensor(weights)).sum().backward()
    (y * mg.tensor(weights)).sum().backward()
    assert y.dtype == dtype
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
    if name == "Hardsigmoid" and dtype == np.float64:
        tol = dict(rtol=1e-7)  # PyTorch's float64 backward multiplies by 1/6 rounded to float32
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)
    for (pname, p), (tname, tp) in zip(layer.named_parameters(), torch_layer.named_parameters()):
        assert pname == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), **tol)


@pytest.mark.parametrize("name,args", NEW_LAYERS, ids=NEW_IDS)
def test_new_activations_pass_gradcheck(name, args):
    layer = getattr(nn, name)(*args).double()
    assert mg.autograd.gradcheck(layer, (mg.tensor(SMOOTH, requires_grad=True),))


def test_new_functional_activations_are_the_modules():
    x = mg.tensor(POINTS)
    pairs = [(F.silu, nn.SiLU()), (F.mish, nn.Mish()), (lambda t: F.hardtanh(t, -2.0, 0.5), nn.Hardtanh(-2.0, 0.5)),
             (F.relu6, nn.ReLU6()), (F.logsigmoid, nn.LogSigmoid()), (F.softsign, nn.Softsign()),
             (F.hardswish, nn.Hardswish()), (F.hardsigmoid, nn.Hardsigmoid()), (F.selu, nn.SELU()),
             (lambda t: F.celu(t, 0.5), nn.CELU(0.5)), (lambda t: F.softplus(t, 2.0, 5.0), nn.Softplus(2.0, 5.0)),
             (lambda t: F.prelu(t, mg.tensor([0.25])), nn.PReLU())]
    for fn, layer in pairs:
        np.testing.assert_array_equal(fn(x).numpy(), layer(x).detach().numpy())


def test_closed_forms_of_new_activations():
    x = POINTS
    sig = _sigmoid(x)
    np.testing.assert_allclose(F.silu(mg.tensor(x)).numpy(), x * sig, rtol=1e-12)
    np.testing.assert_allclose(F.logsigmoid(mg.tensor(x)).numpy(), -np.logaddexp(0, -x), rtol=1e-12)
    np.testing.assert_allclose(F.softsign(mg.tensor(x)).numpy(), x / (1 + np.abs(x)), rtol=1e-12)
    np.testing.assert_allclose(F.relu6(mg.tensor(x)).numpy(), np.clip(x, 0, 6))
    np.testing.assert_allclose(F.hardsigmoid(mg.tensor(x)).numpy(), np.clip(x + 3, 0, 6) / 6, rtol=1e-12)
    np.testing.assert_allclose(F.hardswish(mg.tensor(x)).numpy(), x * np.clip(x + 3, 0, 6) / 6, rtol=1e-12)
    np.testing.assert_allclose(F.mish(mg.tensor(x)).numpy(), x * np.tanh(np.log1p(np.exp(x))), rtol=1e-12)
    # logsigmoid stays finite far out, where log(sigmoid(x)) would be log(0)
    assert F.logsigmoid(mg.tensor([-800.0])).item() == -800.0


def test_prelu_has_one_learnable_slope_per_channel():
    layer = nn.PReLU(3, init=0.1)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.shape == (3,) and np.all(layer.weight.numpy() == np.float32(0.1))
    x = mg.tensor(np.arange(-12.0, 12.0).reshape(2, 3, 4), requires_grad=True)
    y = layer.double()(x)
    slope = np.array([0.1, 0.1, 0.1])[None, :, None]
    np.testing.assert_allclose(y.detach().numpy(), np.where(x.numpy() > 0, x.numpy(), slope * x.numpy()))
    y.sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.minimum(x.numpy(), 0).sum(axis=(0, 2)))
    with pytest.raises(RuntimeError, match="3 slopes.*4 channel"):
        layer(mg.ones(2, 4, dtype=mg.float64))
    with pytest.raises(ValueError, match="num_parameters"):
        nn.PReLU(0)


def test_prelu_weight_grad_matches_pytorch_per_channel():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    ours, theirs = nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    x, tx = mg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    (ours(x) ** 2).sum().backward()
    (theirs(tx) ** 2).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5)


def test_softmax2d_normalises_the_channels_and_checks_the_rank():
    data = np.random.default_rng(1).normal(size=(2, 3, 4, 5))
    out = nn.Softmax2d()(mg.tensor(data)).numpy()
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(nn.Softmax2d()(mg.tensor(data[0])).numpy(), out[0])
    with pytest.raises(ValueError, match="3D or 4D, got 2D"):
        nn.Softmax2d()(mg.ones(2, 3))


def test_softmax2d_matches_pytorch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(2).normal(size=(2, 3, 4, 5))
    g = np.random.default_rng(3).normal(size=data.shape)
    x, tx = mg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = nn.Softmax2d()(x), torch.nn.Softmax2d()(tx)
    y.backward(mg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_hardtanh_refuses_inverted_bounds():
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="hardtanh"):
        F.hardtanh(mg.ones(2), 1.0, -1.0)


def test_inplace_flags_show_in_repr_and_change_nothing():
    x = mg.tensor([-1.0, 2.0])
    for layer in (nn.SiLU(inplace=True), nn.ReLU6(inplace=True), nn.Hardswish(inplace=True),
                  nn.Hardtanh(inplace=True), nn.CELU(inplace=True), nn.SELU(inplace=True)):
        assert "inplace=True" in repr(layer)
        y = layer(x)
        assert y is not x and x.tolist() == [-1.0, 2.0]
