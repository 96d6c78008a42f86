"""Convolution, pooling, resizing, BatchNorm2d and Dropout2d: shapes, values against NumPy written out
loop by loop, errors, and a small CNN that learns (PyTorch parity is in test_convolution_torch.py)."""
import numpy as np
import pytest

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn
from microgradnp.autograd.namespaces import TENSOR
from microgradnp.ops import windows

RNG = np.random.default_rng(7)


def loop_conv2d(x, w, b, stride, padding, dilation, groups):
    """The definition of a 2-D convolution, one output element at a time (the reference)."""
    x = np.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    n, c_in, h, wd = x.shape
    c_out, c_per, kh, kw = w.shape
    oh = (h - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, c_out, oh, ow))
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for i in range(oh):
            for j in range(ow):
                rows = i * stride[0] + dilation[0] * np.arange(kh)
                cols = j * stride[1] + dilation[1] * np.arange(kw)
                patch = x[:, g * c_per:(g + 1) * c_per][:, :, rows][:, :, :, cols]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3)) + (b[o] if b is not None else 0)
    return out


@pytest.mark.parametrize("stride, padding, dilation, groups", [
    ((1, 1), (0, 0), (1, 1), 1), ((2, 1), (1, 2), (1, 1), 1), ((1, 2), (2, 0), (2, 1), 2), ((3, 3), (1, 1), (2, 2), 4)])
def test_conv2d_matches_the_definition(stride, padding, dilation, groups):
    x = RNG.standard_normal((2, 4, 9, 10))
    w = RNG.standard_normal((8, 4 // groups, 3, 2))
    b = RNG.standard_normal(8)
    ours = F.conv2d(mg.tensor(x), mg.tensor(w), mg.tensor(b), stride, padding, dilation, groups)
    np.testing.assert_allclose(ours.numpy(), loop_conv2d(x, w, b, stride, padding, dilation, groups), atol=1e-12)


def test_conv_transpose2d_is_the_gradient_of_conv2d_with_respect_to_its_input():
    x = mg.tensor(RNG.standard_normal((2, 3, 7, 9)), requires_grad=True)
    w = mg.tensor(RNG.standard_normal((5, 3, 3, 2)))
    out = F.conv2d(x, w, stride=2, padding=1)
    upstream = mg.tensor(RNG.standard_normal(out.shape))
    (out * upstream).sum().backward()
    # output_padding recovers the rows the strided convolution rounded away
    transposed = F.conv_transpose2d(upstream, w, stride=2, padding=1, output_padding=(0, 1))
    assert transposed.shape == x.shape
    np.testing.assert_allclose(transposed.numpy(), x.grad.numpy(), atol=1e-12)


def test_fold_is_the_adjoint_of_unfold():
    # <unfold(x), c> == <x, fold(c)> for any x and c: the identity each one's VJP relies on
    x = RNG.standard_normal((2, 3, 6, 7))
    columns = F.unfold(mg.tensor(x), (3, 2), dilation=(1, 2), padding=(1, 0), stride=(2, 1))
    c = RNG.standard_normal(columns.shape)
    back = F.fold(mg.tensor(c), (6, 7), (3, 2), dilation=(1, 2), padding=(1, 0), stride=(2, 1))
    assert np.isclose((columns.numpy() * c).sum(), (x * back.numpy()).sum(), rtol=1e-12)


def test_unfold_layout_is_channel_then_kernel_position():
    x = mg.arange(2 * 3 * 3, dtype=mg.float64).reshape(1, 2, 3, 3)
    columns = F.unfold(x, 2)
    assert columns.shape == (1, 8, 4)
    # column 0 is the top-left window: channel 0's four pixels, then channel 1's
    assert columns[0, :, 0].tolist() == [0, 1, 3, 4, 9, 10, 12, 13]


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1))])
def test_max_and_avg_pool_match_numpy_windows(kernel, stride, padding):
    x = RNG.standard_normal((2, 3, 7, 8))
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    s = k if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    p = (padding, padding) if isinstance(padding, int) else padding
    padded_max = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
    padded_avg = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    view = np.lib.stride_tricks.sliding_window_view
    want_max = view(padded_max, k, axis=(2, 3))[:, :, ::s[0], ::s[1]].max(axis=(-2, -1))
    want_avg = view(padded_avg, k, axis=(2, 3))[:, :, ::s[0], ::s[1]].mean(axis=(-2, -1))
    np.testing.assert_array_equal(F.max_pool2d(mg.tensor(x), kernel, stride, padding).numpy(), want_max)
    np.testing.assert_allclose(F.avg_pool2d(mg.tensor(x), kernel, stride, padding).numpy(), want_avg, rtol=1e-12)


def test_max_pool_sends_the_gradient_to_the_first_of_tied_maxima():
    x = mg.tensor([[[[1.0, 3.0], [3.0, 0.0]]]], requires_grad=True)
    out, index = F.max_pool2d(x, 2, return_indices=True)
    out.sum().backward()
    assert x.grad.tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]
    assert index.tolist() == [[[[1]]]] and index.dtype == mg.int64


def test_max_pool_propagates_nan():
    x = mg.tensor([[[1.0, float("nan"), 2.0, 5.0]]])
    out = F.max_pool1d(x, 2).numpy()
    assert np.isnan(out[0, 0, 0]) and out[0, 0, 1] == 5.0


def test_window_max_fast_gradient_equals_the_plain_one():
    # the ordinary backward pass writes the gradient per kernel position (fenced copy); under
    # create_graph the plain rule (a where over the mask) runs: both must agree, ties and NaN included
    tiles = RNG.integers(0, 3, (2, 3, 4, 2, 5, 2)).astype(np.float64)
    tiles[0, 0, 0, :, 0, :] = np.nan
    axes = (3, 5)
    ans = windows._window_max(tiles, axes)
    g = RNG.standard_normal(ans.shape)
    fast = windows._window_max_vjp(None, g, ans, tiles, axes)
    prim = mg.autograd.graph.PRIMITIVES["window_max"]
    plain = prim.vjps[0](TENSOR, mg.tensor(g), mg.tensor(ans), mg.tensor(tiles), axes)
    np.testing.assert_array_equal(fast, plain.numpy())
    assert (fast != 0).sum() == g.size  # exactly one element per window receives its gradient


@pytest.mark.parametrize("layer, shape, want", [
    (nn.Conv1d(3, 5, 4, stride=2, padding=1), (2, 3, 11), (2, 5, 5)),
    (nn.Conv2d(3, 5, (3, 2), padding="same"), (2, 3, 6, 7), (2, 5, 6, 7)),
    (nn.Conv2d(4, 6, 3, groups=2, dilation=2, padding="valid"), (4, 9, 9), (6, 5, 5)),
    (nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), (2, 3, 4, 5), (2, 2, 8, 10)),
    (nn.ConvTranspose1d(3, 2, 4, stride=3), (2, 3, 5), (2, 2, 16)),
    (nn.MaxPool2d(3, stride=2, ceil_mode=True), (2, 3, 8, 8), (2, 3, 4, 4)),
    (nn.MaxPool1d(2), (3, 7), (3, 3)),
    (nn.AvgPool2d(2, padding=1), (1, 2, 5, 5), (1, 2, 3, 3)),
    (nn.AvgPool1d(3, stride=1), (2, 2, 6), (2, 2, 4)),
    (nn.AdaptiveAvgPool2d((1, 1)), (2, 3, 5, 7), (2, 3, 1, 1)),
    (nn.AdaptiveAvgPool2d((None, 2)), (2, 3, 5, 7), (2, 3, 5, 2)),
    (nn.AdaptiveAvgPool1d(4), (2, 3, 9), (2, 3, 4)),
    (nn.Upsample(scale_factor=2), (1, 2, 3, 4), (1, 2, 6, 8)),
    (nn.Upsample(size=(5, 3), mode="bilinear"), (1, 2, 3, 4), (1, 2, 5, 3)),
    (nn.Unfold(2, stride=2), (2, 3, 4, 6), (2, 12, 6)),
    (nn.Fold((4, 6), 2, stride=2), (2, 12, 6), (2, 3, 4, 6)),
])
def test_layer_output_shapes(layer, shape, want):
    assert layer(mg.randn(*shape)).shape == want


def test_conv_parameters_have_pytorchs_names_shapes_and_ranges():
    mg.manual_seed(0)
    conv = nn.Conv2d(3, 16, 5)
    assert [(k, tuple(v.shape)) for k, v in conv.state_dict().items()] == [("weight", (16, 3, 5, 5)), ("bias", (16,))]
    bound = 1 / np.sqrt(3 * 25)
    assert np.abs(conv.weight.numpy()).max() <= bound and np.abs(conv.weight.numpy()).max() > 0.9 * bound
    transposed = nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False)
    assert transposed.weight.shape == (4, 3, 3, 3) and transposed.bias is None
    assert repr(conv) == "Conv2d(3, 16, kernel_size=(5, 5), stride=(1, 1))"
    assert conv.weight.dtype == mg.float32


def test_conv_padding_modes():
    x = mg.tensor(RNG.standard_normal((1, 2, 5, 5)))
    for mode in ("reflect", "replicate", "circular"):
        conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode, dtype=mg.float64)
        padded = mg.pad(x, (1, 1, 1, 1), mode=mode)
        np.testing.assert_allclose(conv(x).numpy(), F.conv2d(padded, conv.weight, conv.bias).numpy(), atol=1e-12)


def test_conv_transpose_output_size_argument():
    layer = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    x = mg.randn(1, 2, 4, 4)
    assert layer(x).shape == (1, 2, 7, 7)
    assert layer(x, output_size=(8, 8)).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match="valid sizes range"):
        layer(x, output_size=(10, 10))


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(mg.randn(1, 3, 5, 5), mg.randn(4, 2, 3, 3)), r"expects input with 2 channels.*\(1, 3, 5, 5\)"),
    (lambda: F.conv2d(mg.randn(1, 3, 2, 2), mg.randn(4, 3, 3, 3)), r"smaller than the \(dilated\) kernel"),
    (lambda: F.conv2d(mg.randn(3, 5), mg.randn(4, 3, 3, 3)), r"expected a 3-D \(unbatched\) or 4-D"),
    (lambda: F.conv2d(mg.randn(1, 3, 5, 5), mg.randn(4, 3, 3, 3), stride=2, padding="same"), "strided"),
    (lambda: F.conv2d(mg.randn(1, 3, 5, 5), mg.randn(4, 3, 3, 3), padding="full"), "invalid padding string"),
    (lambda: F.conv2d(mg.randn(1, 3, 5, 5), mg.randn(4, 3, 3, 3), mg.randn(3)), r"bias of shape \(4,\)"),
    (lambda: F.conv2d(mg.randn(1, 4, 5, 5), mg.randn(3, 2, 3, 3), groups=2), "divisible by groups"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), "in_channels must be divisible by groups"),
    (lambda: F.max_pool2d(mg.randn(1, 1, 4, 4), 2, padding=2), "at most half"),
    (lambda: F.max_pool2d(mg.tensor(np.ones((1, 1, 4, 4), np.int64)), 2), "floating-point"),
    (lambda: F.fold(mg.randn(1, 12, 5), (4, 4), 2), "number of sliding blocks"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3), stride=2, output_padding=2),
     "output_padding must be smaller"),
    (lambda: F.interpolate(mg.randn(1, 2, 3, 4), scale_factor=2, mode="linear"), "needs a 3-D input"),
    (lambda: F.interpolate(mg.randn(1, 2, 3, 4)), "exactly one of size or scale_factor"),
    (lambda: mg.pad(mg.randn(2, 3), (3, 0), mode="reflect"), "less than the dim's size"),
    (lambda: nn.BatchNorm2d(3)(mg.randn(2, 3, 4)), r"expected an input of shape \(N, 3, H, W\)"),
])
def test_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_batchnorm2d_normalises_each_channel_over_batch_and_pixels():
    bn = nn.BatchNorm2d(3, dtype=mg.float64)
    x = mg.tensor(RNG.standard_normal((4, 3, 5, 6)) * np.array([1.0, 5.0, 0.1]).reshape(1, 3, 1, 1) + 2.0)
    out = bn(x).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    var = x.numpy().var(axis=(0, 2, 3))
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), var / (var + bn.eps), rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.numpy().mean(axis=(0, 2, 3)), rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def test_dropout2d_drops_whole_channels_in_training_only():
    mg.manual_seed(3)
    layer = nn.Dropout2d(0.5)
    x = mg.ones(8, 16, 3, 3)
    out = layer(x).numpy()
    per_channel = out.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()  # each channel all kept or all dropped
    assert 0.3 < (per_channel[:, :, 0] == 0).mean() < 0.7
    layer.eval()
    assert layer(x) is x
    assert nn.Dropout1d(0.5)(mg.ones(2, 4, 5)).shape == (2, 4, 5)


def test_a_small_cnn_learns_to_tell_two_patterns_apart():
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    vertical = np.zeros((6, 6), np.float32)
    vertical[:, 2] = 1
    noise = 0.1 * rng.standard_normal((32, 1, 6, 6)).astype(np.float32)
    images = np.stack([vertical, vertical.T] * 16)[:, None] + noise
    labels = mg.tensor(np.array([0, 1] * 16))
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(36, 2))
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(mg.tensor(images)), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    model.eval()
    assert (model(mg.tensor(images)).argmax(1).numpy() == labels.numpy()).all()


def _grads(fn, array):
    x = mg.tensor(array, requires_grad=True)
    out = fn(x)
    (out * mg.tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape))).sum().backward()
    return out.numpy(), x.grad.numpy()


def test_window_max_equals_the_composite_of_reshape_and_amax():
    # on data without ties the first maximum is the only one: amax's gradient (split between ties) agrees
    x = RNG.permutation(np.linspace(-3, 3, 2 * 3 * 6 * 8)).reshape(2, 3, 6, 8)
    ours = _grads(lambda t: F.max_pool2d(t, 2), x)
    composite = _grads(lambda t: mg.amax(t.reshape(2, 3, 3, 2, 4, 2), dim=(3, 5)), x)
    for a, b in zip(ours, composite):
        np.testing.assert_array_equal(a, b)


def test_unfold_equals_the_composite_of_slices_and_stack():
    x = RNG.standard_normal((2, 3, 5, 6))

    def by_slices(t):
        # each kernel offset's shifted view of the image, stacked: (N, C, kh, kw, OH, OW)
        shifted = [t[:, :, i:i + 4, j:j + 4] for i in range(2) for j in range(3)]
        return mg.stack(shifted, dim=2).reshape(2, 3 * 6, 16)

    ours, composite = _grads(lambda t: F.unfold(t, (2, 3)), x), _grads(by_slices, x)
    np.testing.assert_array_equal(ours[0], composite[0])
    np.testing.assert_allclose(ours[1], composite[1], rtol=1e-12)
