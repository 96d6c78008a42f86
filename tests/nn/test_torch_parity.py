"""Numerical parity with PyTorch for layers, losses, optimizers and schedulers (skipped without torch)."""
import numpy as np
import pytest

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn

torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional

RNG = np.random.default_rng(1234)


def _pair(array, grad=True):
    """The same float64 data as a microgradnp tensor and a torch tensor."""
    array = np.array(array)
    ours = mg.tensor(array, requires_grad=grad)
    theirs = torch.tensor(array, requires_grad=grad)
    return ours, theirs


def _close(ours, theirs, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(ours.numpy() if isinstance(ours, mg.Tensor) else ours),
                               theirs.detach().numpy(), rtol=rtol, atol=atol)


def _copy_params(ours, theirs):
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert name == tname
            tp.copy_(torch.tensor(p.numpy()))


# ---- activations --------------------------------------------------------------------------------------

ACTIVATIONS = [
    (nn.ReLU(), tnn.ReLU()), (nn.LeakyReLU(), tnn.LeakyReLU()), (nn.LeakyReLU(0.3), tnn.LeakyReLU(0.3)),
    (nn.Sigmoid(), tnn.Sigmoid()), (nn.Tanh(), tnn.Tanh()), (nn.GELU(), tnn.GELU()),
    (nn.GELU("tanh"), tnn.GELU("tanh")), (nn.ELU(), tnn.ELU()), (nn.ELU(0.5), tnn.ELU(0.5)),
    (nn.Softmax(dim=1), tnn.Softmax(dim=1)), (nn.LogSoftmax(dim=1), tnn.LogSoftmax(dim=1)),
    (nn.Softmax(dim=0), tnn.Softmax(dim=0)), (nn.Identity(), tnn.Identity()), (nn.Flatten(0), tnn.Flatten(0)),
]


@pytest.mark.parametrize("ours,theirs", ACTIVATIONS, ids=[type(a).__name__ for a, _ in ACTIVATIONS])
def test_activations_match_torch(ours, theirs):
    x, tx = _pair(RNG.standard_normal((4, 5)) * 3)
    upstream = RNG.standard_normal((4, 5))
    y, ty = ours(x), theirs(tx)
    _close(y, ty)
    y.backward(mg.tensor(upstream.reshape(y.shape)))
    ty.backward(torch.tensor(upstream.reshape(ty.shape)))
    _close(x.grad, tx.grad)


# ---- layers -------------------------------------------------------------------------------------------

def test_linear_matches_torch():
    ours, theirs = nn.Linear(5, 3).double(), tnn.Linear(5, 3).double()
    _copy_params(ours, theirs)
    x, tx = _pair(RNG.standard_normal((7, 5)))
    ours(x).sum().backward()
    theirs(tx).sum().backward()
    _close(x.grad, tx.grad)
    _close(ours.weight.grad, theirs.weight.grad)
    _close(ours.bias.grad, theirs.bias.grad)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_matches_torch(shape, momentum):
    ours, theirs = nn.BatchNorm1d(3, momentum=momentum).double(), tnn.BatchNorm1d(3, momentum=momentum).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, 2.0, -1.0], dtype=torch.float64))
        theirs.bias.copy_(torch.tensor([0.1, 0.0, 0.3], dtype=torch.float64))
    with mg.no_grad():
        ours.weight[...] = np.array([0.5, 2.0, -1.0])
        ours.bias[...] = np.array([0.1, 0.0, 0.3])
    for _ in range(2):
        x, tx = _pair(RNG.standard_normal(shape) * 2 + 1)
        upstream = RNG.standard_normal(shape)
        y, ty = ours(x), theirs(tx)
        _close(y, ty)
        y.backward(mg.tensor(upstream))
        ty.backward(torch.tensor(upstream))
        _close(x.grad, tx.grad, rtol=1e-9)
    _close(ours.weight.grad, theirs.weight.grad, rtol=1e-9)
    _close(ours.running_mean, theirs.running_mean)
    _close(ours.running_var, theirs.running_var)
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked)
    ours.eval()
    theirs.eval()
    x, tx = _pair(RNG.standard_normal(shape))
    _close(ours(x), theirs(tx))


def test_layernorm_matches_torch():
    ours, theirs = nn.LayerNorm((3, 4)).double(), tnn.LayerNorm((3, 4)).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(RNG.standard_normal((3, 4))))
    _copy_params(ours, theirs)
    x, tx = _pair(RNG.standard_normal((2, 3, 4)))
    upstream = RNG.standard_normal((2, 3, 4))
    ours(x).backward(mg.tensor(upstream))
    theirs(tx).backward(torch.tensor(upstream))
    _close(x.grad, tx.grad, rtol=1e-9)
    _close(ours.weight.grad, theirs.weight.grad, rtol=1e-9)


def test_embedding_with_padding_matches_torch():
    ours, theirs = nn.Embedding(6, 3, padding_idx=2).double(), tnn.Embedding(6, 3, padding_idx=2).double()
    _copy_params(ours, theirs)
    index = np.array([[0, 2, 5], [2, 5, 5]])
    upstream = RNG.standard_normal((2, 3, 3))
    y, ty = ours(mg.tensor(index)), theirs(torch.tensor(index))
    _close(y, ty)
    y.backward(mg.tensor(upstream))
    ty.backward(torch.tensor(upstream))
    _close(ours.weight.grad, theirs.weight.grad)


# ---- losses -------------------------------------------------------------------------------------------

def _loss_case(our_fn, torch_fn, x, target, target_dtype=np.float64, grad_rtol=1e-9, **kwargs):
    for reduction in ("mean", "sum", "none"):
        ox, tx = _pair(x)
        target = np.asarray(target, dtype=target_dtype)
        ours = our_fn(ox, mg.tensor(target), reduction=reduction, **{k: _ours(v) for k, v in kwargs.items()})
        theirs = torch_fn(tx, torch.tensor(target), reduction=reduction,
                          **{k: _theirs(v) for k, v in kwargs.items()})
        _close(ours, theirs)
        upstream = RNG.standard_normal(np.shape(ours.numpy()))
        ours.backward(mg.tensor(upstream))
        theirs.backward(torch.tensor(upstream))
        _close(ox.grad, tx.grad, rtol=grad_rtol)


def _ours(v):
    return mg.tensor(v) if isinstance(v, np.ndarray) else v


def _theirs(v):
    return torch.tensor(v) if isinstance(v, np.ndarray) else v


def test_regression_losses_match_torch():
    x, y = RNG.standard_normal((5, 3)) * 2, RNG.standard_normal((5, 3))
    _loss_case(F.mse_loss, TF.mse_loss, x, y)
    _loss_case(F.l1_loss, TF.l1_loss, x, y)
    _loss_case(F.huber_loss, TF.huber_loss, x, y)
    _loss_case(F.huber_loss, TF.huber_loss, x, y, delta=0.5)


def test_binary_losses_match_torch():
    p = RNG.uniform(0.01, 0.99, (6, 2))
    y = RNG.integers(0, 2, (6, 2)).astype(np.float64)
    _loss_case(F.binary_cross_entropy, TF.binary_cross_entropy, p, y)
    _loss_case(F.binary_cross_entropy, TF.binary_cross_entropy, p, y, weight=RNG.uniform(0.5, 2, 2))
    # at p = 0 or 1 the gradient is (p - y) / 1e-12; PyTorch's 1e-12 is a float32 constant, hence 1e-7
    edge = np.array([0.0, 1.0, 1e-30, 1 - 1e-16, 0.5])
    _loss_case(F.binary_cross_entropy, TF.binary_cross_entropy, edge, np.array([1.0, 0.0, 1.0, 0.0, 1.0]),
               grad_rtol=1e-7)
    logits = RNG.standard_normal((6, 2)) * 5
    _loss_case(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, logits, y)
    _loss_case(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, logits, y,
               pos_weight=np.array([3.0, 0.5]), weight=RNG.uniform(0.5, 2, (6, 1)))
    _loss_case(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
               np.array([1000.0, -1000.0, 0.0]), np.array([0.0, 1.0, 1.0]))


def test_cross_entropy_and_nll_match_torch():
    logits = RNG.standard_normal((8, 4)) * 3
    target = np.array([0, 3, 1, 1, 2, -100, 3, 0])
    weight = RNG.uniform(0.5, 2, 4)
    for kwargs in ({}, {"weight": weight}, {"label_smoothing": 0.2}, {"weight": weight, "label_smoothing": 0.1}):
        _loss_case(F.cross_entropy, TF.cross_entropy, logits, target, target_dtype=np.int64, **kwargs)
    _loss_case(F.cross_entropy, TF.cross_entropy, logits, np.where(target < 0, 1, target), target_dtype=np.int64,
               ignore_index=1)
    probs = RNG.dirichlet(np.ones(4), size=8)
    for kwargs in ({}, {"weight": weight}, {"label_smoothing": 0.3}):
        _loss_case(F.cross_entropy, TF.cross_entropy, logits, probs, **kwargs)
    spatial = RNG.standard_normal((2, 4, 3))
    _loss_case(F.cross_entropy, TF.cross_entropy, spatial, RNG.integers(0, 4, (2, 3)), target_dtype=np.int64,
               weight=weight)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    _loss_case(F.nll_loss, TF.nll_loss, log_probs, target, target_dtype=np.int64, weight=weight)
    _loss_case(F.cross_entropy, TF.cross_entropy, np.array([[1000.0, -1000.0, 0.0]]), np.array([1]),
               target_dtype=np.int64)


# ---- optimizers and schedulers ------------------------------------------------------------------------

def _sgd_through(add, start, grads_by_step, lrs, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 maximize=False):
    """The parameters after PyTorch's SGD (torch.optim.sgd._single_tensor_sgd) in NumPy, every
    ``x.add(y, alpha=a)`` computed as ``add(x, y, a)``; the arrays keep ``start``'s memory layout."""
    params, buffers = [p.copy(order="K") for p in start], [None] * len(start)
    for grads in grads_by_step:
        for i, (p, g, lr_i) in enumerate(zip(params, grads, lrs)):
            g = -g if maximize else g
            if weight_decay != 0:
                g = add(g, p, weight_decay)
            if momentum != 0:
                if buffers[i] is None:
                    buffers[i] = g.copy(order="K")
                else:
                    buffers[i] = add(buffers[i] * p.dtype.type(momentum), g, 1 - dampening)
                g = add(g, buffers[i], momentum) if nesterov else buffers[i]
            params[i] = add(p, g, -lr_i)
    return params


def _check_sgd(ours, theirs, start, grads_by_step, lrs, options, blas_axpy, rtol):
    """Our SGD is PyTorch's computed with this machine's BLAS axpy, bit for bit; it equals PyTorch's bit
    for bit where that axpy rounds every element once, as PyTorch's add_ does (see conftest)."""
    dtype = start[0].dtype
    if blas_axpy.available:
        options = {key: value for key, value in options.items() if key != "lr"}  # lrs has each one's
        for p, want in zip(ours, _sgd_through(blas_axpy.add, start, grads_by_step, lrs, **options)):
            np.testing.assert_array_equal(p.numpy(), want)
    for p, tp in zip(ours, theirs):
        assert p.dtype == dtype
        if blas_axpy.rounds_once(dtype):
            np.testing.assert_array_equal(p.numpy(), tp.detach().numpy())
        else:
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=rtol, atol=rtol)


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, weight_decay=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
]


@pytest.mark.parametrize("name,options", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_optimizers_match_torch_step_for_step(name, options, dtype, rtol, blas_axpy):
    start = [RNG.standard_normal((3, 2)).astype(dtype), RNG.standard_normal(4).astype(dtype)]
    grads = [[RNG.standard_normal(p.shape).astype(dtype) for p in start] for _ in range(6)]
    ours = [nn.Parameter(mg.tensor(p.copy())) for p in start]
    theirs = [torch.nn.Parameter(torch.tensor(p.copy())) for p in start]
    our_opt = getattr(nn.optim, name)([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.05}], **options)
    their_opt = getattr(torch.optim, name)([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.05}],
                                           foreach=False, **options)
    for step_grads in grads:
        for p, tp, g in zip(ours, theirs, step_grads):
            p.grad = mg.tensor(g.copy())
            tp.grad = torch.tensor(g.copy())
        our_opt.step()
        their_opt.step()
    # SGD is all x + alpha * y, which PyTorch computes as fused multiply-adds: with SciPy, ours is BLAS axpy
    if name == "SGD":
        _check_sgd(ours, theirs, start, grads, [0.1, 0.05], options, blas_axpy, rtol)
        return
    for p, tp in zip(ours, theirs):
        assert p.dtype == dtype
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("options", [o for n, o in OPTIMIZERS if n == "SGD"], ids=lambda o: str(sorted(o)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_equals_torch_bit_for_bit_with_scipy_on_fortran_order_weights(options, dtype, blas_axpy):
    # PyTorch's add_(grad, alpha=-lr) is a fused multiply-add on CPU; with SciPy, ours is BLAS axpy, fused
    # where the BLAS kernel fuses every element, also for the Fortran-order weights nn.Linear keeps and the
    # momentum buffers made from their gradients
    pytest.importorskip("scipy.linalg.blas")
    # a weight laid out as nn.Linear keeps it, with its gradient laid out alike (as backward makes it)
    start = [np.asfortranarray(RNG.standard_normal((64, 48)).astype(dtype)), RNG.standard_normal(48).astype(dtype)]
    ours = [nn.Parameter(mg.tensor(p.copy(order="K"))) for p in start]
    theirs = [torch.nn.Parameter(torch.tensor(p)) for p in start]
    our_opt, their_opt = nn.optim.SGD(ours, **options), torch.optim.SGD(theirs, foreach=False, **options)
    assert ours[0].numpy().flags.f_contiguous and not ours[0].numpy().flags.c_contiguous
    grads = [[np.asfortranarray(RNG.standard_normal(p.shape).astype(dtype)) for p in start] for _ in range(5)]
    for step_grads in grads:
        for p, tp, g in zip(ours, theirs, step_grads):
            p.grad, tp.grad = mg.tensor(g.copy(order="K")), torch.tensor(g)
        our_opt.step()
        their_opt.step()
    rtol = 2e-6 if dtype == np.float32 else 1e-12  # as in the test above, where the BLAS does not fuse all
    _check_sgd(ours, theirs, start, grads, [options["lr"]] * 2, options, blas_axpy, rtol)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1.0 / (1 + epoch))),
]


@pytest.mark.parametrize("name,options", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_schedulers_match_torch(name, options):
    our_opt = nn.optim.SGD([nn.Parameter(mg.zeros(1))], lr=0.3)
    their_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3)
    ours = getattr(nn.optim.lr_scheduler, name)(our_opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(their_opt, **options)
    for _ in range(14):
        our_opt.step()
        their_opt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=1e-15)


def test_calculate_gain_and_clip_grad_norm_match_torch():
    for nonlinearity, param in [("relu", None), ("tanh", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                ("selu", None), ("sigmoid", None)]:
        assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param))
    grads = [RNG.standard_normal((3, 3)), RNG.standard_normal(5)]
    ours = [nn.Parameter(mg.zeros(*g.shape, dtype=mg.float64)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad, tp.grad = mg.tensor(g.copy()), torch.tensor(g.copy())
    for norm_type in (2.0, 1.0, float("inf")):
        total = nn.utils.clip_grad_norm_(ours, 0.5, norm_type=norm_type)
        their_total = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type=norm_type)
        assert total.item() == pytest.approx(their_total.item(), rel=1e-12)
        for p, tp in zip(ours, theirs):
            _close(p.grad, tp.grad)
