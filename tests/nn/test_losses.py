"""Losses against hand-computed values, their gradients, reductions, stability and argument errors."""
import math
import warnings

import numpy as np
import pytest

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn


def _t(values, grad=False, dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=grad)


# ---- regression ---------------------------------------------------------------------------------------

def test_mse_value_reductions_and_gradient():
    x = _t([1.0, 2.0, 4.0], grad=True)
    y = _t([0.0, 2.0, 1.0])
    assert nn.MSELoss()(x, y).item() == pytest.approx(10 / 3)  # (1 + 0 + 9) / 3
    assert nn.MSELoss(reduction="sum")(x, y).item() == pytest.approx(10.0)
    np.testing.assert_allclose(nn.MSELoss(reduction="none")(x, y).numpy(), [1.0, 0.0, 9.0])
    nn.MSELoss()(x, y).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 / 3, 0.0, 2.0])  # 2 (x - y) / n


def test_l1_value_and_gradient_sign():
    x = _t([1.0, 2.0, -4.0], grad=True)
    y = _t([0.0, 2.0, 1.0])
    loss = nn.L1Loss()(x, y)
    assert loss.item() == pytest.approx(2.0)  # (1 + 0 + 5) / 3
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 / 3, 0.0, -1 / 3])


def test_huber_quadratic_inside_linear_outside():
    x = _t([0.5, 3.0, -2.0], grad=True)
    y = _t([0.0, 0.0, 0.0])
    loss = nn.HuberLoss(reduction="none", delta=1.0)(x, y)
    np.testing.assert_allclose(loss.numpy(), [0.125, 2.5, 1.5])  # 0.5 d^2 ; delta (|d| - delta / 2)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 1.0, -1.0])
    assert nn.HuberLoss(delta=2.0, reduction="sum")(_t([3.0]), _t([0.0])).item() == pytest.approx(4.0)


def test_regression_losses_refuse_broadcasting_shapes():
    # (N, 1) predictions against (N,) targets would silently become an (N, N) comparison
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(4, 1\) and target shape \(4,\).*\(4, 4\)"):
        F.mse_loss(mg.zeros(4, 1), mg.zeros(4))
    with pytest.raises(ValueError, match="l1_loss"):
        nn.L1Loss()(mg.zeros(3), mg.zeros(2))


def test_integer_targets_are_cast_to_the_input_dtype():
    loss = F.mse_loss(mg.tensor([[0.5], [0.5]]), np.array([[0], [1]]))
    assert loss.dtype == np.float32 and loss.item() == pytest.approx(0.25)


def test_bad_reduction_and_integer_input_are_errors():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(TypeError, match="floating point"):
        F.mse_loss(mg.tensor([1, 2]), mg.tensor([1, 2]))


# ---- binary cross-entropy -----------------------------------------------------------------------------

def test_bce_value_and_gradient():
    p = _t([0.8, 0.3], grad=True)
    y = _t([1.0, 0.0])
    loss = nn.BCELoss()(p, y)
    assert loss.item() == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)
    loss.backward()
    # d/dp of -(y log p + (1 - y) log(1 - p)) is (p - y) / (p (1 - p))
    np.testing.assert_allclose(p.grad.numpy(), [(0.8 - 1) / (0.8 * 0.2) / 2, 0.3 / (0.3 * 0.7) / 2])


def test_bce_clamps_log_at_minus_100_with_finite_gradients():
    p = _t([0.0, 1.0, 0.0], grad=True, dtype=np.float32)
    y = _t([1.0, 0.0, 0.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(p, y, reduction="none")
        loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0])
    assert np.all(np.isfinite(p.grad.numpy()))
    assert p.grad.numpy()[0] == pytest.approx(-1e12, rel=1e-6)  # PyTorch's (p - y) / max(p (1 - p), 1e-12)
    assert p.grad.numpy()[1] == pytest.approx(1e12, rel=1e-6)


def test_bce_weight_and_out_of_range_input():
    p, y = _t([0.5, 0.5]), _t([1.0, 1.0])
    assert F.binary_cross_entropy(p, y, weight=_t([1.0, 3.0]), reduction="sum").item() == \
        pytest.approx(4 * math.log(2))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*BCEWithLogitsLoss"):
        nn.BCELoss()(_t([1.5, 0.2]), _t([1.0, 0.0]))


def test_bce_with_logits_value_and_gradient():
    x = _t([2.0, -1.0, 0.0], grad=True)
    y = _t([1.0, 0.0, 1.0])
    loss = nn.BCEWithLogitsLoss(reduction="sum")(x, y)
    sig = 1 / (1 + np.exp(-np.array([2.0, -1.0, 0.0])))
    expected = -(np.log(sig[0]) + np.log(1 - sig[1]) + np.log(sig[2]))
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), sig - np.array([1.0, 0.0, 1.0]), rtol=1e-12)  # sigmoid(x) - y


def test_bce_with_logits_pos_weight():
    x, y = _t([[0.5, -0.5]], grad=True), _t([[1.0, 1.0]])
    loss = F.binary_cross_entropy_with_logits(x, y, pos_weight=_t([3.0, 1.0]), reduction="sum")
    # with y = 1 the loss is pos_weight * softplus(-x)
    expected = 3 * math.log1p(math.exp(-0.5)) + math.log1p(math.exp(0.5))
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_bce_with_logits_is_finite_and_silent_at_plus_minus_1000():
    x = _t([1000.0, -1000.0, 1000.0, -1000.0], grad=True, dtype=np.float32)
    y = _t([0.0, 1.0, 1.0, 0.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [1000.0, 1000.0, 0.0, 0.0])
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0, 0.0])


# ---- cross-entropy and NLL ----------------------------------------------------------------------------

def test_cross_entropy_of_known_logits():
    x = _t([[1.0, 2.0, 3.0]], grad=True)
    loss = nn.CrossEntropyLoss()(x, mg.tensor([2]))
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1) + math.exp(-2)), rel=1e-12)  # 0.4076...
    loss.backward()
    softmax = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(x.grad.numpy()[0], softmax - np.array([0, 0, 1]), rtol=1e-12)


def test_cross_entropy_mean_over_batch_and_unbatched_input():
    x = _t([[0.0, 0.0], [0.0, math.log(3.0)]])
    # sample 1: -log(1/2); sample 2 target 1: -log(3/4)
    expected = (math.log(2) + math.log(4 / 3)) / 2
    assert F.cross_entropy(x, mg.tensor([0, 1])).item() == pytest.approx(expected, rel=1e-12)
    assert F.cross_entropy(_t([0.0, math.log(3.0)]), mg.tensor(1)).item() == pytest.approx(math.log(4 / 3))


def test_cross_entropy_class_weights_divide_by_the_weight_sum():
    x = _t([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    w = _t([1.0, 3.0])
    # each sample loses log 2; weights 1, 3, 3 -> weighted sum 7 log 2, divided by 7
    assert F.cross_entropy(x, mg.tensor([0, 1, 1]), weight=w).item() == pytest.approx(math.log(2))
    assert F.cross_entropy(x, mg.tensor([0, 1, 1]), weight=w, reduction="sum").item() == \
        pytest.approx(7 * math.log(2))
    logits = _t([[2.0, 0.0], [0.0, 0.0]])
    per_sample = [math.log(1 + math.exp(-2)), math.log(2)]
    expected = (1 * per_sample[0] + 3 * per_sample[1]) / 4
    assert F.cross_entropy(logits, mg.tensor([0, 1]), weight=w).item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_ignore_index_skips_samples_and_their_gradient():
    x = _t([[1.0, 2.0], [5.0, -5.0], [0.0, 0.0]], grad=True)
    loss = F.cross_entropy(x, mg.tensor([1, -100, 0]))
    assert loss.item() == pytest.approx((math.log(1 + math.exp(-1)) + math.log(2)) / 2, rel=1e-12)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy()[1], [0.0, 0.0])
    custom = F.cross_entropy(x, mg.tensor([1, 3, 0]), ignore_index=3)
    assert custom.item() == pytest.approx(loss.item())


def test_cross_entropy_all_ignored_mean_is_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(F.cross_entropy(_t([[1.0, 2.0]]), mg.tensor([-100])).item())


def test_all_ignored_targets_give_a_nan_mean_and_a_zero_gradient():
    # PyTorch: nothing was picked, so the gradient is 0, while the mean over no targets is NaN (an optimizer
    # step on a NaN gradient would make every weight NaN)
    for loss_fn in (F.cross_entropy, F.nll_loss,
                    lambda x, t: F.cross_entropy(x, t, label_smoothing=0.2),
                    lambda x, t: F.cross_entropy(x, t, weight=mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64))):
        x = _t([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = loss_fn(x, mg.tensor([-100, -100]))
            loss.backward()
        assert math.isnan(loss.item())
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))
    x = _t(np.zeros((0, 3)), grad=True)  # an empty batch: no target at all
    loss = F.cross_entropy(x, mg.tensor(np.zeros(0, dtype=np.int64)))
    loss.backward()
    assert math.isnan(loss.item()) and x.grad.shape == (0, 3)


def test_zero_total_weight_gives_a_nan_mean_and_a_nan_gradient():
    # the targets count but weigh 0: PyTorch's gradient is 0 * (1 / 0), NaN; only all-ignored targets give 0
    x = _t([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(x, mg.tensor([1, 1]), weight=mg.tensor([1.0, 0.0, 1.0], dtype=mg.float64))
        loss.backward()
    assert math.isnan(loss.item()) and np.isnan(x.grad.numpy()).all()  # log_softmax spreads the NaN over each row
    log_p = _t([[-0.1, -2.0, -3.0], [-1.0, -0.5, -2.0]], grad=True)
    loss = F.nll_loss(log_p, mg.tensor([1, -100]), weight=mg.tensor([1.0, 0.0, 1.0], dtype=mg.float64))
    loss.backward()
    assert math.isnan(loss.item())
    np.testing.assert_array_equal(log_p.grad.numpy(), [[0.0, np.nan, 0.0], [0.0, 0.0, 0.0]])  # NaN where it reads


@pytest.mark.parametrize("target", [[-100, -100], [1, -100], [1, 1]], ids=["all ignored", "one ignored", "none"])
@pytest.mark.parametrize("loss, options", [
    ("cross_entropy", {}), ("cross_entropy", {"label_smoothing": 0.2}), ("cross_entropy", {"weight": [1.0, 0.0, 2.0]}),
    ("cross_entropy", {"weight": [1.0, 0.0, 2.0], "label_smoothing": 0.2}),
    ("nll_loss", {}), ("nll_loss", {"weight": [1.0, 0.0, 2.0]}),
], ids=["cross_entropy", "label smoothing", "weight", "weight and label smoothing", "nll_loss", "nll_loss weight"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ignore_index_matches_torch(target, loss, options, reduction):
    # the class of weight 0 is the target 1: "one ignored" and "none" then weigh 0 in all, and the mean is NaN
    torch = pytest.importorskip("torch")
    logits = np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]])
    x, tx = _t(logits, grad=True), torch.tensor(logits, requires_grad=True)
    weight = options.get("weight")
    ours = dict(options, weight=None if weight is None else mg.tensor(weight, dtype=mg.float64))
    theirs = dict(options, weight=None if weight is None else torch.tensor(weight, dtype=torch.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, tloss = (getattr(F, loss)(x, mg.tensor(target), reduction=reduction, **ours),
                       getattr(torch.nn.functional, loss)(tx, torch.tensor(target), reduction=reduction, **theirs))
    mg.sum(loss).backward()
    tloss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), tloss.detach().numpy(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15, equal_nan=True)


def test_cross_entropy_label_smoothing_matches_pytorch_formula():
    logits = np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]])
    target = [2, 0]
    eps = 0.1
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    nll = -log_p[[0, 1], target]
    uniform = -log_p.sum(axis=1) / 3
    expected = ((1 - eps) * nll + eps * uniform).mean()
    got = nn.CrossEntropyLoss(label_smoothing=eps)(mg.tensor(logits), mg.tensor(target))
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_with_probability_targets():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    probs = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -(probs * log_p).sum(axis=1).mean()
    assert F.cross_entropy(mg.tensor(logits), mg.tensor(probs)).item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_spatial_input():
    logits = np.random.default_rng(0).standard_normal((2, 3, 4))
    target = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -np.take_along_axis(log_p, target[:, None, :], axis=1).mean()
    assert F.cross_entropy(mg.tensor(logits), mg.tensor(target)).item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_is_finite_and_silent_at_plus_minus_1000():
    x = _t([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], grad=True, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(x, mg.tensor([1, 1]))
        loss.backward()
    assert loss.item() == pytest.approx(1000.0)  # (2000 + 0) / 2
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


def test_cross_entropy_target_errors_name_the_loss_and_shapes():
    x = mg.zeros(4, 3)
    with pytest.raises(IndexError, match=r"cross_entropy: target class indices must be in \[0, 3\).*got 3"):
        F.cross_entropy(x, mg.tensor([0, 1, 2, 3]))
    with pytest.raises(IndexError, match="got -1"):
        F.cross_entropy(x, mg.tensor([0, -1, 2, 1]))
    with pytest.raises(ValueError, match=r"input of shape \(4, 3\).*shape \(4,\), got \(4, 1\)"):
        F.cross_entropy(x, mg.tensor([[0], [1], [2], [0]]))
    with pytest.raises(TypeError, match="must be integers"):
        F.cross_entropy(x, mg.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match="weight must have shape"):
        F.cross_entropy(x, mg.tensor([0, 1, 2, 0]), weight=mg.ones(2))


def test_nll_loss_picks_minus_log_prob_of_target():
    log_p = _t([[-0.1, -2.0, -3.0], [-1.0, -0.5, -2.0]], grad=True)
    loss = nn.NLLLoss()(log_p, mg.tensor([0, 2]))
    assert loss.item() == pytest.approx((0.1 + 2.0) / 2)
    loss.backward()
    np.testing.assert_allclose(log_p.grad.numpy(), [[-0.5, 0, 0], [0, 0, -0.5]])
    weighted = nn.NLLLoss(weight=mg.tensor([2.0, 1.0, 4.0], dtype=mg.float64))(log_p, mg.tensor([0, 2]))
    assert weighted.item() == pytest.approx((2 * 0.1 + 4 * 2.0) / 6)


def test_log_softmax_then_nll_equals_cross_entropy():
    x = mg.randn(5, 4)
    y = mg.tensor([0, 3, 1, 1, 2])
    np.testing.assert_allclose(nn.NLLLoss()(nn.LogSoftmax(dim=1)(x), y).item(), nn.CrossEntropyLoss()(x, y).item(),
                               rtol=1e-6)


def test_loss_modules_keep_weight_as_buffer():
    loss = nn.CrossEntropyLoss(weight=mg.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []


# ---- 0-d and empty inputs -------------------------------------------------------------------------------

def test_bce_of_0d_tensors_with_every_reduction():
    for reduction in ("none", "mean", "sum"):
        for dtype in (np.float64, np.float32):
            p = _t(0.25, grad=True, dtype=dtype)
            loss = F.binary_cross_entropy(p, _t(1.0, dtype=dtype), reduction=reduction)
            loss.backward()
            assert loss.shape == () and loss.dtype == dtype
            assert loss.item() == pytest.approx(math.log(4), rel=1e-6)  # -log(0.25)
            assert p.grad.item() == pytest.approx(-4.0, rel=1e-6)  # -1 / p
    loss = mg.binary_cross_entropy(_t(0.25), _t(0.0), _t(2.0), "none")  # the op itself, with a weight
    assert loss.shape == () and loss.item() == pytest.approx(-2 * math.log(0.75))


def test_losses_of_empty_inputs_have_a_nan_mean_without_warnings():
    # PyTorch: the mean of no elements is NaN, the sum 0, and the gradient empty
    losses = [F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.mse_loss, F.l1_loss, F.huber_loss]
    for loss_fn in losses:
        for shape in ((0,), (0, 3)):
            x = _t(np.zeros(shape), grad=True)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                mean = loss_fn(x, _t(np.zeros(shape)))
                mean.backward()
                total = loss_fn(x, _t(np.zeros(shape)), reduction="sum")
                none = loss_fn(x, _t(np.zeros(shape)), reduction="none")
            assert math.isnan(mean.item()) and total.item() == 0.0 and none.shape == shape
            assert x.grad.shape == shape


_LOSSES = {
    "binary_cross_entropy": (lambda shape, rng: rng.uniform(0.1, 0.9, shape), {}),
    "binary_cross_entropy weight": (lambda shape, rng: rng.uniform(0.1, 0.9, shape), {"weight": 2.0}),
    "binary_cross_entropy_with_logits": (lambda shape, rng: rng.standard_normal(shape), {}),
    "binary_cross_entropy_with_logits pos_weight": (lambda shape, rng: rng.standard_normal(shape), {"pos_weight": 3.0}),
    "mse_loss": (lambda shape, rng: rng.standard_normal(shape), {}),
    "l1_loss": (lambda shape, rng: rng.standard_normal(shape), {}),
    "huber_loss": (lambda shape, rng: 2 * rng.standard_normal(shape), {"delta": 0.5}),
}


@pytest.mark.parametrize("name", list(_LOSSES))
@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (3,)], ids=str)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_elementwise_losses_on_0d_and_empty_shapes_match_torch(name, shape, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    make_input, options = _LOSSES[name]
    values, target = make_input(shape, rng), rng.uniform(0.0, 1.0, shape)
    ours, theirs = dict(options), dict(options)
    for key in ("weight", "pos_weight"):
        if key in options:  # a tensor of the input's shape
            ours[key] = _t(np.full(shape, options[key]))
            theirs[key] = torch.tensor(np.full(shape, options[key]))
    function = name.split()[0]
    x, y = _t(values, grad=True), _t(target, grad=True)
    tx, ty = torch.tensor(values, requires_grad=True), torch.tensor(target, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = getattr(F, function)(x, y, reduction=reduction, **ours)
        mg.sum(loss * 0.7).backward()
    tloss = getattr(torch.nn.functional, function)(tx, ty, reduction=reduction, **theirs)
    (tloss * 0.7).sum().backward()
    assert loss.shape == tuple(tloss.shape)
    np.testing.assert_allclose(loss.numpy(), tloss.detach().numpy(), rtol=1e-12, equal_nan=True)
    for ours_grad, theirs_grad in ((x.grad, tx.grad), (y.grad, ty.grad)):
        expected = np.zeros(shape) if theirs_grad is None else theirs_grad.numpy()
        assert ours_grad.shape == expected.shape
        np.testing.assert_allclose(ours_grad.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_label_smoothing_with_no_classes_gives_a_nan_mean_not_a_division_error():
    # found by the differential fuzzer: the smoothing mass was divided between 0 classes
    logits = mg.tensor(np.zeros((2, 0), np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, mg.tensor(np.zeros((2, 0), np.float32)), label_smoothing=0.1)
    assert np.isnan(loss.item())
    empty = mg.tensor(np.zeros((0, 0), np.float32), requires_grad=True)
    loss = F.cross_entropy(empty, mg.tensor(np.zeros((0, 0), np.float32)), weight=mg.tensor(np.zeros(0, np.float32)),
                           label_smoothing=0.1)
    assert np.isnan(loss.item())


# ---- smooth L1, KL divergence, margins, likelihoods, distances ----------------------------------------------

def _rng_array(shape, seed, low=None, high=None):
    rng = np.random.default_rng(seed)
    if low is None:
        return rng.standard_normal(shape)
    return rng.uniform(low, high, shape)


def _signs(shape, seed):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def _log_probs(shape, seed):
    x = _rng_array(shape, seed)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


# name -> (function name, [arrays: the differentiable ones first], number differentiable, options)
TORCH_CASES = {
    "smooth_l1": ("smooth_l1_loss", [_rng_array((4, 3), 0), _rng_array((4, 3), 1)], 2, {}),
    "smooth_l1_beta": ("smooth_l1_loss", [_rng_array((4, 3), 0), _rng_array((4, 3), 1)], 2, dict(beta=0.3)),
    "smooth_l1_beta0": ("smooth_l1_loss", [_rng_array((5,), 2), _rng_array((5,), 3)], 2, dict(beta=0.0)),
    "kl_batchmean": ("kl_div", [_log_probs((3, 4), 0), np.exp(_log_probs((3, 4), 1))], 2,
                     dict(reduction="batchmean")),
    "kl_mean": ("kl_div", [_log_probs((3, 4), 0), np.exp(_log_probs((3, 4), 1))], 2, {}),
    "kl_log_target": ("kl_div", [_log_probs((3, 4), 0), _log_probs((3, 4), 1)], 2,
                      dict(reduction="batchmean", log_target=True)),
    "kl_zero_target": ("kl_div", [_log_probs((2, 3), 0), np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])], 1,
                       dict(reduction="sum")),
    "soft_margin": ("soft_margin_loss", [_rng_array((6,), 0) * 3, _signs((6,), 1)], 1, {}),
    "margin_ranking": ("margin_ranking_loss", [_rng_array((6,), 0), _rng_array((6,), 1), _signs((6,), 2)], 2,
                       dict(margin=0.2)),
    "gaussian_nll": ("gaussian_nll_loss", [_rng_array((4, 3), 0), _rng_array((4, 3), 1),
                                           _rng_array((4, 3), 2, 0.1, 2.0)], 3, {}),
    "gaussian_nll_shared_var": ("gaussian_nll_loss", [_rng_array((4, 3), 0), _rng_array((4, 3), 1),
                                                      _rng_array((4,), 2, 0.1, 2.0)], 3, dict(full=True)),
    "gaussian_nll_var_size_1": ("gaussian_nll_loss", [_rng_array((4, 3), 0), _rng_array((4, 3), 1),
                                                      _rng_array((4, 1), 2, 0.1, 2.0)], 3, dict(reduction="sum")),
    "gaussian_nll_tiny_var": ("gaussian_nll_loss", [_rng_array((4,), 0), _rng_array((4,), 1),
                                                    np.array([1e-9, 0.5, 0.0, 2.0])], 3, dict(eps=1e-3)),
    "poisson_nll": ("poisson_nll_loss", [_rng_array((4, 3), 0), np.floor(_rng_array((4, 3), 1, 0, 5))], 1, {}),
    "poisson_nll_full": ("poisson_nll_loss", [_rng_array((4, 3), 0, 0.1, 3), np.floor(_rng_array((4, 3), 1, 0, 5))],
                         1, dict(log_input=False, full=True)),
    "cosine_similarity": ("cosine_similarity", [_rng_array((4, 5), 0), _rng_array((4, 5), 1)], 2, {}),
    "cosine_similarity_dim0_broadcast": ("cosine_similarity", [_rng_array((3, 4), 0), _rng_array((3, 1), 1)], 2,
                                         dict(dim=0)),
    "cosine_similarity_zero_row": ("cosine_similarity", [np.vstack([np.zeros(3), _rng_array((2, 3), 0)]),
                                                         _rng_array((3, 3), 1)], 2, {}),
    "pairwise_distance": ("pairwise_distance", [_rng_array((4, 5), 0), _rng_array((4, 5), 1)], 2, {}),
    "pairwise_distance_p1_keepdim": ("pairwise_distance", [_rng_array((4, 5), 0), _rng_array((5,), 1)], 2,
                                     dict(p=1.0, keepdim=True)),
    "pairwise_distance_p3": ("pairwise_distance", [_rng_array((2, 3, 4), 0), _rng_array((2, 3, 4), 1)], 2,
                             dict(p=3.0)),
    "pairwise_distance_inf": ("pairwise_distance", [_rng_array((4, 5), 0), _rng_array((4, 5), 1)], 2,
                              dict(p=float("inf"))),
    "pairwise_distance_equal_rows": ("pairwise_distance", [np.ones((2, 3)), np.ones((2, 3))], 2, {}),
    "cosine_embedding": ("cosine_embedding_loss", [_rng_array((5, 4), 0), _rng_array((5, 4), 1), _signs((5,), 2)],
                         2, dict(margin=-0.3)),
    "cosine_embedding_1d": ("cosine_embedding_loss", [_rng_array((4,), 0), _rng_array((4,), 1), np.array(-1.0)],
                            2, dict(reduction="sum")),
}


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
@pytest.mark.parametrize("reduction", [None, "sum", "none"])
def test_new_losses_match_torch_values_and_gradients(case, reduction):
    torch = pytest.importorskip("torch")
    name, arrays, differentiable, options = TORCH_CASES[case]
    options = dict(options)
    if reduction is not None:
        if name in ("cosine_similarity", "pairwise_distance"):
            if reduction != "none":
                return
        else:
            options["reduction"] = reduction
    ours = [_t(a, grad=i < differentiable) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i < differentiable) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warning; checked on its own below
        loss = getattr(F, name)(*ours, **options)
        expected = getattr(torch.nn.functional, name)(*theirs, **options)
    np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = _rng_array(tuple(expected.shape), 7)
    (loss * _t(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for i in range(differentiable):
        np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"gradient of argument {i}")


# not where the loss has a kink: the target's gradient at 0 (tested below), a norm or variance clamped at eps,
# a max, a norm within eps of 0
_KINKS = ("kl_zero_target", "cosine_similarity_zero_row", "gaussian_nll_tiny_var", "pairwise_distance_inf",
          "pairwise_distance_equal_rows")


@pytest.mark.parametrize("case", sorted(c for c in TORCH_CASES if c not in _KINKS))
def test_new_losses_gradcheck(case):
    name, arrays, differentiable, options = TORCH_CASES[case]
    constants = [_t(a) for a in arrays[differentiable:]]
    inputs = tuple(_t(a, grad=True) for a in arrays[:differentiable])

    def loss(*xs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(F, name)(*xs, *constants, **options)

    assert mg.autograd.gradcheck(loss, inputs)


def test_smooth_l1_loss_values_and_module():
    x, y = _t([0.2, -3.0, 0.0], grad=True), _t([0.0, 0.0, 0.0])
    loss = nn.SmoothL1Loss(reduction="none", beta=0.5)(x, y)
    np.testing.assert_allclose(loss.numpy(), [0.04, 2.75, 0.0])  # 0.5 d^2 / beta ; |d| - beta / 2
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.4, -1.0, 0.0])
    assert repr(nn.SmoothL1Loss(beta=0.5)) == "SmoothL1Loss()"
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must not be negative, got -1"):
        F.smooth_l1_loss(x, y, beta=-1)
    with pytest.raises(ValueError, match=r"smooth_l1_loss: input shape \(3,\) and target shape \(2,\)"):
        F.smooth_l1_loss(x, _t([0.0, 1.0]))


def test_kl_div_warns_for_mean_and_knows_batchmean():
    log_q = _t(np.log([[0.5, 0.5], [0.25, 0.75]]))
    p = _t([[0.5, 0.5], [0.5, 0.5]])
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        nn.KLDivLoss()(log_q, p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batchmean = nn.KLDivLoss(reduction="batchmean")(log_q, p)
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)  # the second row; the first is 0
    assert batchmean.item() == pytest.approx(expected / 2)
    with pytest.raises(ValueError, match="kl_div: reduction must be"):
        F.kl_div(log_q, p, reduction="batch")


def test_kl_div_zero_target_terms_are_zero_with_finite_gradients():
    log_q = _t(np.log([[0.2, 0.8]]), grad=True)
    p = _t([[0.0, 1.0]], grad=True)
    loss = F.kl_div(log_q, p, reduction="sum")
    assert loss.item() == pytest.approx(-math.log(0.8))
    loss.backward()
    np.testing.assert_allclose(log_q.grad.numpy(), [[0.0, -1.0]])
    # PyTorch gives NaN for the target's gradient at 0 (its xlogy's 0 / 0); here it is the limit's -input
    assert np.isfinite(p.grad.numpy()).all()


def test_legacy_size_average_and_reduce_flags():
    x, y = _t([1.0, 3.0]), _t([0.0, 0.0])
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert F.smooth_l1_loss(x, y, size_average=False).item() == pytest.approx(3.0)
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.SoftMarginLoss(reduce=False)(x, _t([1.0, 1.0])).shape == (2,)


def test_cosine_similarity_module_and_errors():
    a, b = _t([[1.0, 0.0], [1.0, 1.0]]), _t([[0.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(nn.CosineSimilarity()(a, b).numpy(), [0.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(nn.CosineSimilarity(dim=0)(a, b).numpy(), [1 / math.sqrt(2), 1 / math.sqrt(2) * 2
                                                                          / math.sqrt(2) / math.sqrt(2)])
    assert repr(nn.CosineSimilarity(dim=0, eps=1e-6)) == "CosineSimilarity()"  # as in PyTorch
    assert F.cosine_similarity(_t([0.0, 0.0]), _t([1.0, 1.0]), dim=0).item() == 0.0  # a zero vector: 0, not NaN
    with pytest.raises(IndexError, match=r"cosine_similarity: dim 1 is out of range.*\[-1, 0\]"):
        F.cosine_similarity(_t([1.0, 2.0]), _t([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"cosine_similarity: x1 of shape \(3, 4\) and x2 of shape \(2, 4\)"):
        F.cosine_similarity(mg.zeros(3, 4), mg.zeros(2, 4))


def test_pairwise_distance_module():
    d = nn.PairwiseDistance()(_t([[0.0, 0.0], [1.0, 1.0]]), _t([[3.0, 4.0], [1.0, 1.0]]))
    np.testing.assert_allclose(d.numpy(), [math.hypot(3 - 1e-6, 4 - 1e-6), math.sqrt(2) * 1e-6])
    assert nn.PairwiseDistance(p=1, keepdim=True)(mg.zeros(2, 3), mg.ones(2, 3)).shape == (2, 1)
    assert repr(nn.PairwiseDistance(p=1.0)) == "PairwiseDistance()"  # as in PyTorch
    np.testing.assert_allclose(F.pairwise_distance(_t([[0.0, 1.0]]), _t([[0.0, 0.0]]), p=0).numpy(), [2.0])


def test_margin_and_embedding_losses_modules():
    x1, x2 = _t([1.0, 0.0, 2.0]), _t([0.0, 1.0, 2.0])
    y = _t([1.0, 1.0, -1.0])
    # max(0, -y (x1 - x2) + margin): 0, 1.5, 0.5
    assert nn.MarginRankingLoss(margin=0.5)(x1, x2, y).item() == pytest.approx(2.0 / 3)
    assert repr(nn.MarginRankingLoss(margin=0.5)) == "MarginRankingLoss()"
    with pytest.raises(ValueError, match=r"margin_ranking_loss: input1 shape \(3,\) and input2 shape \(2,\)"):
        F.margin_ranking_loss(x1, _t([0.0, 1.0]), y)
    e1, e2 = _t([[1.0, 0.0], [1.0, 0.0]]), _t([[1.0, 0.0], [1.0, 0.0]])
    loss = nn.CosineEmbeddingLoss(margin=0.5, reduction="none")(e1, e2, np.array([1, -1]))
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.5], atol=1e-10)  # 1 - cos is 0 up to PyTorch's 1e-12
    with pytest.raises(ValueError, match="0D or 1D target tensor expected"):
        F.cosine_embedding_loss(e1, e2, mg.ones(2, 1))
    with pytest.raises(ValueError, match=r"a 1D target expects 2D input tensors.*\(2,\) and \(2,\)"):
        F.cosine_embedding_loss(_t([1.0, 0.0]), _t([1.0, 0.0]), mg.ones(1))
    assert nn.SoftMarginLoss()(_t([1000.0, -1000.0]), _t([-1.0, 1.0])).item() == pytest.approx(1000.0)


def test_gaussian_and_poisson_nll_modules_and_errors():
    x, y = _t([[0.0, 1.0]]), _t([[1.0, 1.0]])
    loss = nn.GaussianNLLLoss()(x, y, _t([[1.0, 2.0]]))
    assert loss.item() == pytest.approx(0.5 * (0.5 * (0 + 1) + 0.5 * math.log(2.0)))
    assert repr(nn.GaussianNLLLoss(full=True)) == "GaussianNLLLoss()"
    with pytest.raises(ValueError, match="gaussian_nll_loss: var has negative entry"):
        F.gaussian_nll_loss(x, y, _t([[-1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"gaussian_nll_loss: var is of incorrect size: shape \(2,\)"):
        F.gaussian_nll_loss(_t([[0.0, 1.0], [0.0, 0.0], [1.0, 1.0]]), mg.zeros(3, 2), mg.ones(2))
    assert F.gaussian_nll_loss(x, y, 1.0).item() == pytest.approx(0.25)
    rate_log = _t([0.0, math.log(2.0)])
    counts = _t([1.0, 3.0])
    # exp(x) - y x
    assert nn.PoissonNLLLoss()(rate_log, counts).item() == pytest.approx((1.0 + 2.0 - 3 * math.log(2.0)) / 2)
    assert repr(nn.PoissonNLLLoss()) == "PoissonNLLLoss()"


def test_new_loss_modules_match_torch_signatures():
    torch = pytest.importorskip("torch")
    import inspect
    for name in ("KLDivLoss", "SmoothL1Loss", "CosineSimilarity", "PairwiseDistance", "CosineEmbeddingLoss",
                 "MarginRankingLoss", "SoftMarginLoss", "GaussianNLLLoss", "PoissonNLLLoss"):
        ours = inspect.signature(getattr(nn, name).__init__)
        theirs = inspect.signature(getattr(torch.nn, name).__init__)
        assert [(p.name, p.default, p.kind) for p in ours.parameters.values()] == \
            [(p.name, p.default, p.kind) for p in theirs.parameters.values()], name
