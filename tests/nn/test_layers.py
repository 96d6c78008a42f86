"""Layers checked against hand-computed values: Linear, Dropout, BatchNorm1d, LayerNorm, Embedding, Flatten."""
import math

import numpy as np
import pytest

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn

# ---- Linear -------------------------------------------------------------------------------------------

def test_linear_stores_weight_out_by_in_and_computes_x_wt_plus_b():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    with mg.no_grad():
        layer.weight[...] = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
        layer.bias[...] = np.array([0.5, -2.0])
    x = mg.tensor([[1.0, 1.0, 1.0], [2.0, 0.0, -2.0]], requires_grad=True)
    y = layer(x)
    np.testing.assert_allclose(y.numpy(), [[6.5, -2.5], [-3.5, -3.0]])
    y.sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), [[3.0, 1.0, -1.0]] * 2)  # sum of the input rows
    np.testing.assert_allclose(layer.bias.grad.numpy(), [2.0, 2.0])  # one per row
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 1.0, 3.5]] * 2)  # column sums of W


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in():
    mg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight.numpy(), layer.bias.numpy()):
        assert p.dtype == np.float32
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.98 * bound  # the whole range is used, not a narrower one
    # U(-b, b) has variance b^2 / 3
    assert layer.weight.numpy().var() == pytest.approx(bound ** 2 / 3, rel=0.02)


def test_linear_init_follows_the_global_seed():
    mg.manual_seed(7)
    a = nn.Linear(3, 3).weight.numpy().copy()
    mg.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(3, 3).weight.numpy(), a)


def test_linear_without_bias_and_batched_input():
    layer = nn.Linear(4, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    x = mg.randn(5, 3, 4)
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() @ layer.weight.numpy().T, rtol=1e-5)
    assert repr(layer) == "Linear(in_features=4, out_features=2, bias=False)"


def test_linear_shape_error_names_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(in_features=3, out_features=2\).*\(4, 5\)"):
        nn.Linear(3, 2)(mg.zeros(4, 5))


def test_linear_dtype_option():
    assert nn.Linear(2, 2, dtype=mg.float64).weight.dtype == np.float64


def _c_order_copy(layer):
    twin = nn.Linear(layer.in_features, layer.out_features, dtype=layer.weight.dtype)
    twin.load_state_dict(layer.state_dict())
    twin.weight.data = np.ascontiguousarray(twin.weight.numpy())
    return twin


def test_large_linear_weights_are_stored_transposed_small_ones_not():
    big, small = nn.Linear(128, 64), nn.Linear(8, 4)
    assert big.weight.shape == (64, 128) and big.weight.numpy().flags.f_contiguous
    assert not big.weight.numpy().flags.c_contiguous and big.weight.numpy().T.flags.c_contiguous
    assert small.weight.numpy().flags.c_contiguous


@pytest.mark.parametrize("input_requires_grad", [False, True])
def test_transposed_weight_gives_the_c_order_results_and_a_gradient_laid_out_like_it(input_requires_grad):
    mg.manual_seed(3)
    layer = nn.Linear(96, 80, dtype=mg.float64)
    twin = _c_order_copy(layer)
    x = mg.randn(7, 96, dtype=mg.float64, requires_grad=input_requires_grad)
    g = mg.randn(7, 80, dtype=mg.float64)
    out = {}
    for name, model in (("F", layer), ("C", twin)):
        x.grad = None
        y = model(x)
        y.backward(g)
        x_grad = None if x.grad is None else x.grad.numpy()
        out[name] = (y.numpy(), model.weight.grad.numpy(), model.bias.grad.numpy(), x_grad)
    for f_value, c_value in zip(out["F"], out["C"]):
        if f_value is None:
            assert c_value is None and not input_requires_grad
            continue
        np.testing.assert_allclose(f_value, c_value, rtol=1e-12, atol=1e-12)
    # the gradient of each weight has that weight's layout, and owns its memory (kept by reference, no copy)
    assert layer.weight.grad.numpy().flags.f_contiguous and not layer.weight.grad.numpy().flags.c_contiguous
    assert twin.weight.grad.numpy().flags.c_contiguous
    assert layer.weight.grad.numpy().base is None


@pytest.mark.parametrize("make", [lambda ps: nn.optim.SGD(ps, lr=0.1),
                                  lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
                                  lambda ps: nn.optim.Adam(ps, lr=0.01)])
def test_training_a_transposed_weight_matches_the_c_order_one_and_keeps_its_layout(make):
    mg.manual_seed(4)
    layer = nn.Linear(70, 60)
    twin = _c_order_copy(layer)
    x, target = mg.randn(16, 70), mg.randn(16, 60)
    for model in (layer, twin):
        optimizer = make(model.parameters())
        for _ in range(3):
            optimizer.zero_grad()
            F.mse_loss(model(x), target).backward()
            optimizer.step()
        for state in optimizer.state.values():  # momentum and moment buffers take the weight's layout
            for value in state.values():
                if isinstance(value, np.ndarray) and value.shape == model.weight.shape:
                    assert value.flags.f_contiguous == model.weight.numpy().flags.f_contiguous
    assert layer.weight.numpy().flags.f_contiguous and not layer.weight.numpy().flags.c_contiguous
    np.testing.assert_allclose(layer.weight.numpy(), twin.weight.numpy(), rtol=1e-5, atol=1e-6)


def test_transposed_weight_survives_a_checkpoint_round_trip(tmp_path):
    mg.manual_seed(5)
    layer = nn.Linear(100, 50)
    mg.save(layer.state_dict(), tmp_path / "layer.npz")
    restored = nn.Linear(100, 50)
    restored.load_state_dict(mg.load(tmp_path / "layer.npz"))
    np.testing.assert_array_equal(restored.weight.numpy(), layer.weight.numpy())
    assert restored.weight.numpy().flags.f_contiguous and not restored.weight.numpy().flags.c_contiguous
    assert restored.double().weight.numpy().flags.f_contiguous


# ---- Dropout ------------------------------------------------------------------------------------------

def test_dropout_zeroes_about_p_and_scales_the_rest():
    mg.manual_seed(0)
    x = mg.ones(100_000, requires_grad=True)
    y = nn.Dropout(0.3)(x)
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    # binomial(1e5, 0.7): the kept fraction is within 1% of 0.7 (about 7 standard deviations)
    assert abs(kept.mean() - 0.7) < 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-6)  # gradient uses the same mask


def test_dropout_is_identity_in_eval_mode_and_for_p_zero():
    x = mg.randn(10)
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).numpy(), np.zeros(10))


def test_dropout_rejects_bad_probability():
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_generator_argument_repeats():
    x = mg.ones(50)
    a = F.dropout(x, 0.5, generator=3).numpy()
    np.testing.assert_array_equal(F.dropout(x, 0.5, generator=3).numpy(), a)


# ---- BatchNorm1d --------------------------------------------------------------------------------------

def test_batchnorm_running_stats_after_two_batches():
    bn = nn.BatchNorm1d(2)
    # batch 1: means [2, 4], biased variances [1, 4], unbiased [2, 8]
    out = bn(mg.tensor([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(out.numpy(), [[-1 / math.sqrt(1 + 1e-5), -2 / math.sqrt(4 + 1e-5)],
                                          [1 / math.sqrt(1 + 1e-5), 2 / math.sqrt(4 + 1e-5)]], rtol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.2, 0.4], rtol=1e-6)   # 0.9 * 0 + 0.1 * mean
    np.testing.assert_allclose(bn.running_var.numpy(), [1.1, 1.7], rtol=1e-6)    # 0.9 * 1 + 0.1 * unbiased
    # batch 2: means [2, 2], unbiased variances [4, 4]
    bn(mg.tensor([[0.0, 0.0], [4.0, 2.0], [2.0, 4.0]]))
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.38, 0.56], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), [1.39, 1.93], rtol=1e-6)
    assert int(bn.num_batches_tracked.item()) == 2


def test_batchnorm_eval_uses_running_stats():
    bn = nn.BatchNorm1d(2)
    bn(mg.tensor([[1.0, 2.0], [3.0, 6.0]]))
    bn.eval()
    x = np.array([[1.0, 1.0]])
    expected = (x - np.array([0.2, 0.4])) / np.sqrt(np.array([1.1, 1.7]) + 1e-5)
    np.testing.assert_allclose(bn(mg.tensor(x)).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.2, 0.4], rtol=1e-6)  # eval does not update


def test_batchnorm_cumulative_average_when_momentum_is_none():
    bn = nn.BatchNorm1d(2, momentum=None)
    bn(mg.tensor([[1.0, 2.0], [3.0, 6.0]]))
    bn(mg.tensor([[0.0, 0.0], [4.0, 2.0], [2.0, 4.0]]))
    np.testing.assert_allclose(bn.running_mean.numpy(), [2.0, 3.0], rtol=1e-6)  # mean of [2,4] and [2,2]
    np.testing.assert_allclose(bn.running_var.numpy(), [3.0, 6.0], rtol=1e-6)   # mean of [2,8] and [4,4]


def test_batchnorm_three_dimensional_input_reduces_over_batch_and_length():
    bn = nn.BatchNorm1d(2)
    x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)  # channel 0: 0,1,2,6,7,8; channel 1: 3,4,5,9,10,11
    out = bn(mg.tensor(x))
    ch0 = np.array([0, 1, 2, 6, 7, 8], dtype=np.float64)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.1 * 4.0, 0.1 * 7.0], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy()[0], 0.9 + 0.1 * ch0.var(ddof=1), rtol=1e-6)
    np.testing.assert_allclose(out.numpy()[:, 0, :].ravel(), (ch0 - 4) / np.sqrt(ch0.var() + 1e-5), rtol=1e-5)


def test_batchnorm_affine_parameters_scale_and_shift_and_get_gradients():
    bn = nn.BatchNorm1d(2)
    with mg.no_grad():
        bn.weight[...] = np.array([2.0, 3.0])
        bn.bias[...] = np.array([1.0, -1.0])
    out = bn(mg.tensor([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(out.numpy()[:, 0], [1 - 2 / math.sqrt(1 + 1e-5), 1 + 2 / math.sqrt(1 + 1e-5)], rtol=1e-6)
    (out * mg.tensor([[1.0, 0.0], [0.0, 0.0]])).sum().backward()
    np.testing.assert_allclose(bn.bias.grad.numpy(), [1.0, 0.0])
    np.testing.assert_allclose(bn.weight.grad.numpy(), [-1 / math.sqrt(1 + 1e-5), 0.0], rtol=1e-6)


def test_batchnorm_gradient_passes_gradcheck():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    w = mg.tensor(rng.standard_normal(3), requires_grad=True)
    b = mg.tensor(rng.standard_normal(3), requires_grad=True)
    assert mg.autograd.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\).*\(4, 2\)"):
        nn.BatchNorm1d(3)(mg.zeros(4, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(mg.zeros(1, 3))


def test_batchnorm_state_dict_has_running_stats():
    assert list(nn.BatchNorm1d(2).state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                                     "num_batches_tracked"]


# ---- LayerNorm ----------------------------------------------------------------------------------------

def test_layernorm_normalises_each_sample():
    ln = nn.LayerNorm(4)
    out = ln(mg.tensor([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 6.0]]))
    # row 1: mean 2.5, biased variance 1.25; row 2: mean 3, variance 3
    np.testing.assert_allclose(out.numpy()[0], (np.array([1, 2, 3, 4]) - 2.5) / math.sqrt(1.25 + 1e-5), rtol=1e-5)
    np.testing.assert_allclose(out.numpy()[1], (np.array([2, 2, 2, 6]) - 3.0) / math.sqrt(3 + 1e-5), rtol=1e-5)


def test_layernorm_over_two_dims_with_affine_and_gradcheck():
    rng = np.random.default_rng(1)
    ln = nn.LayerNorm((2, 3)).double()
    with mg.no_grad():
        ln.weight[...] = rng.standard_normal((2, 3))
        ln.bias[...] = rng.standard_normal((2, 3))
    x = rng.standard_normal((4, 2, 3))
    flat = x.reshape(4, 6)
    normed = (flat - flat.mean(1, keepdims=True)) / np.sqrt(flat.var(1, keepdims=True) + 1e-5)
    expected = normed.reshape(4, 2, 3) * ln.weight.numpy() + ln.bias.numpy()
    np.testing.assert_allclose(ln(mg.tensor(x)).numpy(), expected, rtol=1e-10)
    xt = mg.tensor(x, requires_grad=True)
    assert mg.autograd.gradcheck(lambda t: ln(t), (xt,))


def test_layernorm_shape_error():
    with pytest.raises(ValueError, match=r"layer_norm.*\(2, 5\).*\(4,\)"):
        nn.LayerNorm(4)(mg.zeros(2, 5))


# ---- Embedding ----------------------------------------------------------------------------------------

def test_embedding_looks_up_rows_and_accumulates_repeated_gradients():
    emb = nn.Embedding(5, 2)
    with mg.no_grad():
        emb.weight[...] = np.arange(10.0).reshape(5, 2)
    idx = mg.tensor([[1, 3], [1, 0]])
    out = emb(idx)
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out.numpy()[0, 1], [6.0, 7.0])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [1.0, 2.0, 0.0, 1.0, 0.0])  # row 1 used twice


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(4, 3, padding_idx=0)
    np.testing.assert_array_equal(emb.weight.numpy()[0], np.zeros(3))
    emb(mg.tensor([0, 2, 0])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[0], np.zeros(3))
    np.testing.assert_array_equal(emb.weight.grad.numpy()[2], np.ones(3))


def test_embedding_index_errors():
    emb = nn.Embedding(4, 3)
    with pytest.raises(IndexError, match="index 4 is out of range.*4 rows"):
        emb(mg.tensor([0, 4]))
    with pytest.raises(TypeError, match="integers"):
        emb(mg.tensor([0.0, 1.0]))


def test_embedding_init_is_standard_normal():
    mg.manual_seed(0)
    w = nn.Embedding(1000, 50).weight.numpy()
    assert abs(w.mean()) < 0.01 and w.std() == pytest.approx(1.0, rel=0.02)


# ---- Flatten, Identity, containers -------------------------------------------------------------------

def test_flatten_defaults_keep_the_batch_dim():
    x = mg.zeros(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)


def test_sequential_indexing_slicing_len_append_and_delete():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1], nn.ReLU)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    seq.append(nn.Sigmoid())
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    x = mg.randn(4, 2)
    expected = F.sigmoid(seq[1](seq[0](x)))
    np.testing.assert_allclose(seq(x).numpy(), expected.numpy())
    with pytest.raises(IndexError, match="out of range"):
        seq[5]


def test_sequential_calls_a_module_that_defines_its_own_call():
    # Sequential calls forward directly for ordinary modules; one with its own __call__ must still get it
    class Doubling(nn.Module):
        def __call__(self, input):
            return super().__call__(input) * 2.0

        def forward(self, input):
            return input + 1.0

    seq = nn.Sequential(nn.Identity(), Doubling(), nn.Identity())
    assert seq(mg.tensor([1.0, 2.0])).numpy().tolist() == [4.0, 6.0]


def test_sequential_with_ordered_dict_names():
    from collections import OrderedDict
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in seq.named_parameters()] == ["fc.weight", "fc.bias"]


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="argument 1 is a function"):
        nn.Sequential(nn.Linear(2, 2), lambda x: x)


def test_module_list_registers_its_modules():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    stack = Stack()
    assert len(list(stack.parameters())) == 6
    assert [n for n, _ in stack.named_parameters()][:2] == ["layers.0.weight", "layers.0.bias"]
    stack.layers.append(nn.Linear(2, 2))
    assert len(stack.layers) == 4 and stack(mg.zeros(1, 2)).shape == (1, 2)
    assert isinstance(stack.layers[1:], nn.ModuleList) and len(stack.layers[1:]) == 3
