"""Convolution, pooling, resizing and BatchNorm2d against PyTorch: values, gradients and state dicts in
float64 (skipped without torch)."""
import numpy as np
import pytest

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn

torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional

RNG = np.random.default_rng(11)


def both(fn_ours, fn_theirs, *arrays):
    """Run both on the same float64 inputs with the same upstream gradient; compare outputs and gradients."""
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn_ours(*ours), fn_theirs(*theirs)
    assert tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = RNG.standard_normal(tuple(tout.shape))
    out.backward(mg.tensor(upstream))
    tout.backward(torch.tensor(upstream))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


CONV2D = [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2), dict(padding="valid", groups=2),
          dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=4)]


@pytest.mark.parametrize("options", CONV2D, ids=str)
def test_conv2d(options):
    both(lambda x, w, b: F.conv2d(x, w, b, **options), lambda x, w, b: TF.conv2d(x, w, b, **options),
         RNG.standard_normal((2, 4, 9, 8)), RNG.standard_normal((8, 4 // options.get("groups", 1), 3, 2)),
         RNG.standard_normal(8))


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on its own copy
@pytest.mark.parametrize("options", [dict(), dict(stride=3, padding=2, dilation=2), dict(padding="same", groups=3)],
                         ids=str)
def test_conv1d(options):
    both(lambda x, w: F.conv1d(x, w, **options), lambda x, w: TF.conv1d(x, w, **options),
         RNG.standard_normal((2, 3, 11)), RNG.standard_normal((6, 3 // options.get("groups", 1), 4)))


@pytest.mark.parametrize("options", [dict(), dict(stride=2, padding=1, output_padding=1),
                                     dict(stride=(2, 3), dilation=2, output_padding=(1, 0), groups=2)], ids=str)
def test_conv_transpose2d(options):
    both(lambda x, w, b: F.conv_transpose2d(x, w, b, **options),
         lambda x, w, b: TF.conv_transpose2d(x, w, b, **options),
         RNG.standard_normal((2, 4, 5, 6)), RNG.standard_normal((4, 3, 3, 2)),
         RNG.standard_normal(3 * options.get("groups", 1)))


def test_conv_transpose1d():
    both(lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1),
         lambda x, w: TF.conv_transpose1d(x, w, stride=2, padding=1),
         RNG.standard_normal((2, 3, 7)), RNG.standard_normal((3, 2, 4)))


POOL = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
        dict(kernel_size=(3, 2), stride=(2, 3), ceil_mode=True), dict(kernel_size=3, stride=1, padding=1)]


@pytest.mark.parametrize("options", POOL, ids=str)
def test_max_pool2d_values_indices_and_gradient(options):
    # a ReLU'd input: many windows hold tied zeros, and the gradient goes where PyTorch sends it
    x = np.maximum(RNG.standard_normal((2, 3, 9, 8)), 0)
    both(lambda a: F.max_pool2d(a, **options), lambda a: TF.max_pool2d(a, **options), x)
    _, ours = F.max_pool2d(mg.tensor(x), return_indices=True, **options)
    _, theirs = TF.max_pool2d(torch.tensor(x), return_indices=True, **options)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_max_pool2d_dilated_and_1d():
    x = RNG.standard_normal((2, 3, 9, 8))
    both(lambda a: F.max_pool2d(a, 2, dilation=2), lambda a: TF.max_pool2d(a, 2, dilation=2), x)
    both(lambda a: F.max_pool1d(a, 3, 2, 1), lambda a: TF.max_pool1d(a, 3, 2, 1), RNG.standard_normal((2, 3, 10)))


@pytest.mark.parametrize("options", POOL + [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                                 count_include_pad=False),
                                            dict(kernel_size=2, padding=1, divisor_override=3)], ids=str)
def test_avg_pool2d(options):
    both(lambda a: F.avg_pool2d(a, **options), lambda a: TF.avg_pool2d(a, **options), RNG.standard_normal((2, 3, 9, 8)))


def test_avg_pool1d_and_adaptive_pools():
    both(lambda a: F.avg_pool1d(a, 3, 2, 1), lambda a: TF.avg_pool1d(a, 3, 2, 1), RNG.standard_normal((2, 3, 10)))
    for size in [(3, 3), (4, 5), 1, (None, 2), (9, 8)]:
        both(lambda a: F.adaptive_avg_pool2d(a, size), lambda a: TF.adaptive_avg_pool2d(a, size),
             RNG.standard_normal((2, 3, 9, 8)))
    both(lambda a: F.adaptive_avg_pool1d(a, 4), lambda a: TF.adaptive_avg_pool1d(a, 4), RNG.standard_normal((2, 3, 10)))


@pytest.mark.parametrize("options", [dict(scale_factor=2), dict(size=(8, 3)),
                                     dict(scale_factor=1.7, mode="nearest-exact"),
                                     dict(scale_factor=2, mode="bilinear"),
                                     dict(size=(9, 4), mode="bilinear", align_corners=True),
                                     dict(scale_factor=(1.5, 0.6), mode="bilinear"),
                                     dict(scale_factor=0.37, mode="bilinear", recompute_scale_factor=True)], ids=str)
def test_interpolate(options):
    both(lambda a: F.interpolate(a, **options), lambda a: TF.interpolate(a, **options),
         RNG.standard_normal((2, 3, 5, 7)))


def test_interpolate_linear_1d():
    both(lambda a: F.interpolate(a, scale_factor=2.5, mode="linear"),
         lambda a: TF.interpolate(a, scale_factor=2.5, mode="linear"), RNG.standard_normal((2, 3, 6)))


def test_unfold_and_fold():
    both(lambda a: F.unfold(a, (2, 3), padding=1, stride=2), lambda a: TF.unfold(a, (2, 3), padding=1, stride=2),
         RNG.standard_normal((2, 3, 7, 8)))
    both(lambda c: F.fold(c, (5, 6), (2, 3), padding=1, stride=(1, 2)),
         lambda c: TF.fold(c, (5, 6), (2, 3), padding=1, stride=(1, 2)), RNG.standard_normal((2, 12, 18)))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes(mode):
    both(lambda a: mg.pad(a, (2, 1, 3, 2), mode=mode), lambda a: TF.pad(a, (2, 1, 3, 2), mode=mode),
         RNG.standard_normal((2, 3, 5, 6)))


def _copy_into_ours(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize("make", [
    lambda m: m.Conv2d(3, 8, 5, stride=2, padding=1, dtype=torch.float64) if m is tnn else m.Conv2d(
        3, 8, 5, stride=2, padding=1, dtype=mg.float64),
    lambda m: m.Conv1d(4, 6, 3, groups=2, padding="same", dtype=torch.float64) if m is tnn else m.Conv1d(
        4, 6, 3, groups=2, padding="same", dtype=mg.float64),
    lambda m: m.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1, dtype=torch.float64) if m is tnn else
    m.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1, dtype=mg.float64),
    lambda m: m.Conv2d(3, 4, 3, padding=2, padding_mode="reflect", dtype=torch.float64) if m is tnn else m.Conv2d(
        3, 4, 3, padding=2, padding_mode="reflect", dtype=mg.float64),
], ids=["Conv2d", "Conv1d", "ConvTranspose2d", "Conv2d reflect"])
def test_layers_match_torch_after_loading_its_state_dict(make):
    theirs, ours = make(tnn), make(nn)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    _copy_into_ours(ours, theirs)
    shape = (2, theirs.in_channels) + (9,) * len(theirs.kernel_size)
    both(ours, theirs, RNG.standard_normal(shape))
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_batchnorm2d_training_and_eval_match_torch():
    theirs, ours = tnn.BatchNorm2d(3, dtype=torch.float64), nn.BatchNorm2d(3, dtype=mg.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.state_dict()["num_batches_tracked"].dtype == mg.int64
    for _ in range(2):
        both(ours, theirs, RNG.standard_normal((4, 3, 5, 6)) * 3 + 1)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-12, err_msg=key)
    ours.eval(), theirs.eval()
    both(ours, theirs, RNG.standard_normal((2, 3, 4, 4)))


def test_lenet_step_matches_torch():
    def lenet(m, dtype):
        return m.Sequential(m.Conv2d(1, 6, 5, dtype=dtype), m.ReLU(), m.MaxPool2d(2), m.Conv2d(6, 16, 5, dtype=dtype),
                            m.ReLU(), m.MaxPool2d(2), m.Flatten(), m.Linear(256, 120, dtype=dtype), m.ReLU(),
                            m.Linear(120, 84, dtype=dtype), m.ReLU(), m.Linear(84, 10, dtype=dtype))
    theirs, ours = lenet(tnn, torch.float64), lenet(nn, mg.float64)
    _copy_into_ours(ours, theirs)
    x, y = RNG.standard_normal((8, 1, 28, 28)), RNG.integers(0, 10, 8)
    ours_opt, their_opt = nn.optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):
        loss = F.cross_entropy(ours(mg.tensor(x)), mg.tensor(y))
        tloss = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        assert abs(loss.item() - tloss.item()) < 1e-10
        ours_opt.zero_grad(), their_opt.zero_grad()
        loss.backward(), tloss.backward()
        ours_opt.step(), their_opt.step()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)
