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
