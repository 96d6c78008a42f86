"""Optimizers step for step against updates worked out by hand (see the comments for each number)."""
import math
from fractions import Fraction

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn
from microgradnp.nn import optim
from microgradnp.nn.optim import scaled_add


def _param(value=1.0, dtype=np.float64):
    return nn.Parameter(mg.tensor(np.array([value], dtype=dtype)))


def _steps(optimizer, p, n, grad_of=lambda v: v):
    """Run n steps where the gradient is grad_of(p) (default: the gradient of p^2 / 2, i.e. p itself)."""
    values = []
    for _ in range(n):
        optimizer.zero_grad()
        p.grad = mg.tensor(np.asarray(grad_of(p.numpy().copy()), dtype=p.dtype))
        optimizer.step()
        values.append(p.item())
    return values


# ---- SGD ----------------------------------------------------------------------------------------------

def test_sgd_plain_step_uses_the_gradient():
    p = _param(1.0)
    loss = (p * p * 0.5 + p * 2.0).sum()  # gradient p + 2 = 3
    loss.backward()
    optim.SGD([p], lr=0.1).step()
    assert p.item() == pytest.approx(0.7)


def test_plain_sgd_leaves_grad_and_state_alone_and_keeps_float32():
    # the plain group takes its own loop: it must not scale .grad in place, keeps no state (PyTorch's
    # opt.state stays empty too), and a NumPy float64 learning rate must not make float32 data float64
    p = nn.Parameter(mg.tensor(np.array([1.0, -2.0], dtype=np.float32)))
    opt = optim.SGD([p], lr=np.float64(0.5))
    (p * p).sum().backward()  # gradient 2p = [2, -4]
    grad = p.grad
    opt.step()
    assert p.grad is grad and p.grad.numpy().tolist() == [2.0, -4.0]
    assert p.dtype == np.float32 and p.numpy().tolist() == [0.0, 0.0]
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}


def _nearest(exact, dtype):
    """The value of ``dtype`` nearest to the Fraction ``exact``, ties to even: a correctly rounded result."""
    guess = dtype(float(exact))  # rounded to float64 first, then to dtype: a double rounding can be one off
    candidates = (guess, np.nextafter(guess, dtype(-np.inf)), np.nextafter(guess, dtype(np.inf)))
    bits = {np.float16: np.uint16, np.float32: np.uint32, np.float64: np.uint64}[dtype]
    return min(candidates, key=lambda v: (abs(Fraction(float(v)) - exact), int(v.view(bits)) & 1))


def _fused(p, lr, g):
    # p - lr * g rounded once, lr first rounded to p's dtype (as PyTorch's add_(g, alpha=-lr) does it)
    alpha = Fraction(float(p.dtype.type(-lr)))
    return np.array([_nearest(Fraction(float(a)) + alpha * Fraction(float(b)), p.dtype.type)
                     for a, b in zip(p.ravel(), g.ravel())]).reshape(p.shape)


def _sgd_cases(rng):
    # (param data, gradient): float32 and float64, a weight laid out as nn.Linear keeps it (Fortran order)
    # with a gradient in the same order, and float16, which BLAS has no axpy for
    cases = [rng.standard_normal(257).astype(np.float32), rng.standard_normal(257),
             np.asfortranarray(rng.standard_normal((9, 13)).astype(np.float32)),
             rng.standard_normal(33).astype(np.float16)]
    return [(p, np.asarray(rng.standard_normal(p.shape).astype(p.dtype), order="A" if p.ndim < 2 else "F"))
            for p in cases]


def _assert_is_the_blas_update(got, p, g, alpha, blas_axpy):
    """``got`` is ``p + alpha * g`` as this machine's BLAS axpy computes it: where it rounds every element
    once (see conftest), the fused result bit for bit; elsewhere, every element is the fused value or, with
    the product rounded first, NumPy's ``p + alpha * g``: one rounding more, never anything else."""
    np.testing.assert_array_equal(got, blas_axpy.add(p, g, alpha))  # fails if the update does not use axpy
    fused = _fused(p, -alpha, g)
    if blas_axpy.rounds_once(p.dtype):
        np.testing.assert_array_equal(got, fused)
    else:
        twice = p + g * np.array(alpha, p.dtype)
        assert ((got == fused) | (got == twice)).all(), np.flatnonzero((got != fused) & (got != twice))


def test_plain_sgd_is_one_fused_multiply_add_per_element_with_scipy(blas_axpy):
    # with SciPy, float32 and float64 updates are BLAS axpy: p - lr * g rounded once, as PyTorch rounds
    # it, where the BLAS kernel fuses every element (conftest); float16 has no axpy and takes NumPy's
    # p - lr * g (rounded twice, in float16)
    pytest.importorskip("scipy.linalg.blas")
    rng = np.random.default_rng(0)
    cases = _sgd_cases(rng)
    params = [nn.Parameter(mg.tensor(p)) for p, _ in cases]
    for param, (p, g) in zip(params, cases):
        param.grad = mg.tensor(g)
    storage = [param.numpy() for param in params]
    optim.SGD(params, lr=0.37).step()
    for param, (p, g), data in zip(params, cases, storage):
        assert param.numpy() is data and param.dtype == p.dtype  # in place, in the parameter's dtype
        if p.dtype == np.float16:
            np.testing.assert_array_equal(param.numpy(), p - 0.37 * g)
        else:
            _assert_is_the_blas_update(param.numpy(), p, g, -0.37, blas_axpy)
        np.testing.assert_array_equal(param.grad.numpy(), g)  # .grad is left alone
    # the data tell the fused update from NumPy's two roundings (a BLAS that fuses tells them apart too)
    assert all((_fused(p, 0.37, g) != p - 0.37 * g).any() for p, g in cases[:3])


def test_plain_sgd_without_scipy_rounds_like_the_formula_in_each_parameters_dtype(monkeypatch):
    # NumPy's update multiplies by lr as a 0-d array of the parameter's dtype: it rounds exactly as
    # p - lr * grad does, in that dtype, also when a group mixes dtypes
    monkeypatch.setattr(scaled_add, "_axpy_of_dtype", {})
    rng = np.random.default_rng(1)
    cases = _sgd_cases(rng)
    params = [nn.Parameter(mg.tensor(p)) for p, _ in cases]
    for param, (_, g) in zip(params, cases):
        param.grad = mg.tensor(g)
    optim.SGD(params, lr=0.37).step()
    for param, (p, g) in zip(params, cases):
        assert param.dtype == p.dtype
        np.testing.assert_array_equal(param.numpy(), p - 0.37 * g)


@pytest.mark.parametrize("layout", ["orders differ", "strided", "overlapping", "dtypes differ"])
def test_scaled_add_falls_back_to_numpy_where_axpy_cannot_pair_the_elements(layout):
    # axpy pairs the two arrays' elements in memory order: each of these must take NumPy's path and still
    # update the parameter in place, element by element as p + alpha * g
    rng = np.random.default_rng(2)
    p = rng.standard_normal((6, 8)).astype(np.float32)
    g = rng.standard_normal((6, 8)).astype(np.float32)
    if layout == "orders differ":
        g = np.asfortranarray(g)
    elif layout == "strided":
        p = rng.standard_normal((6, 16)).astype(np.float32)[:, ::2]
    elif layout == "overlapping":
        p = rng.standard_normal(49).astype(np.float32)
        p, g = p[1:].reshape(6, 8), p[:-1].reshape(6, 8)
    else:  # a float64 gradient for a float32 parameter, with digits float32 does not have
        g = rng.standard_normal((6, 8))
    want = (p + g * np.array(-0.37, np.float32)).astype(np.float32)  # what p += alpha * g gives
    before = p
    scaled_add.add_scaled_(p, g, -0.37)
    assert p is before
    np.testing.assert_array_equal(p, want)


def test_scaled_add_refuses_a_read_only_parameter_as_numpy_does():
    # SciPy's axpy would write into read-only memory without a word: NumPy's in-place add must refuse
    p = np.ones(8, np.float32)
    p.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        scaled_add.add_scaled_(p, np.ones(8, np.float32), -0.5)
    assert (p == 1).all()


def test_plus_scaled_is_a_new_array_laid_out_like_its_first_operand(blas_axpy):
    # weight decay and Nesterov momentum make grad + alpha * x this way: grad itself must not change
    rng = np.random.default_rng(3)
    a = np.asfortranarray(rng.standard_normal((5, 7)).astype(np.float32))
    b = np.asfortranarray(rng.standard_normal((5, 7)).astype(np.float32))
    before = a.copy()
    out = scaled_add.plus_scaled(a, b, 0.3)
    assert out is not a and not np.shares_memory(out, a) and out.flags.f_contiguous
    np.testing.assert_array_equal(a, before)
    if blas_axpy.available:
        _assert_is_the_blas_update(out, a, b, 0.3, blas_axpy)
    else:
        np.testing.assert_array_equal(out, a + b * np.float32(0.3))


@pytest.mark.parametrize("name,options", [("SGD", {}), ("SGD", {"momentum": 0.9}), ("Adam", {})])
@pytest.mark.parametrize("grad_shape", [(2, 3), (1, 2)])
def test_a_gradient_of_another_shape_is_refused_by_name(name, options, grad_shape):
    # a .grad set by hand: (2, 3) would fail inside NumPy, (1, 2) would broadcast over the (3, 2) weight
    p = nn.Parameter(mg.tensor(np.ones((3, 2), np.float32)))
    p.grad = mg.tensor(np.ones(grad_shape, np.float32))
    with pytest.raises(ValueError, match=rf"{name}.step\(\): a parameter of shape \(3, 2\) has a gradient of shape"):
        getattr(optim, name)([p], lr=0.1, **options).step()
    assert (p.numpy() == 1).all()


def test_sgd_plain_and_momentum_groups_in_one_optimizer():
    a, b = _param(1.0), _param(1.0)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "momentum": 0.9}], lr=0.1, maximize=True)
    for p in (a, b):
        p.grad = mg.tensor(np.array([1.0]))
    opt.step()
    # maximize climbs in both groups; only the momentum group keeps a buffer
    assert (a.item(), b.item()) == pytest.approx((1.1, 1.1))
    assert a not in opt.state and "momentum_buffer" in opt.state[b]


def test_sgd_momentum_three_steps_by_hand():
    # lr 0.1, momentum 0.9, gradient = p:
    # 1: g=1, buf=1, p=0.9;  2: g=0.9, buf=1.8, p=0.72;  3: g=0.72, buf=2.34, p=0.486
    p = _param(1.0)
    assert _steps(optim.SGD([p], lr=0.1, momentum=0.9), p, 3) == pytest.approx([0.9, 0.72, 0.486], rel=1e-12)


def test_sgd_nesterov_three_steps_by_hand():
    # step = g + 0.9 buf:
    # 1: g=1, buf=1, step=1.9, p=0.81
    # 2: g=0.81, buf=1.71, step=2.349, p=0.5751
    # 3: g=0.5751, buf=2.1141, step=2.47779, p=0.327321
    p = _param(1.0)
    got = _steps(optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True), p, 3)
    assert got == pytest.approx([0.81, 0.5751, 0.327321], rel=1e-12)


def test_sgd_dampening_applies_after_the_first_step():
    # 1: buf=g=1 (no dampening on the first step), p=0.9
    # 2: g=0.9, buf=0.9*1 + 0.5*0.9 = 1.35, p=0.765
    # 3: g=0.765, buf=0.9*1.35 + 0.5*0.765 = 1.5975, p=0.60525
    p = _param(1.0)
    got = _steps(optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5), p, 3)
    assert got == pytest.approx([0.9, 0.765, 0.60525], rel=1e-12)


def test_sgd_weight_decay_adds_to_the_gradient():
    p = _param(1.0)
    assert _steps(optim.SGD([p], lr=0.1, weight_decay=0.1), p, 1) == pytest.approx([1 - 0.1 * 1.1])


def test_sgd_maximize_climbs():
    p = _param(1.0)
    assert _steps(optim.SGD([p], lr=0.1, maximize=True), p, 1) == pytest.approx([1.1])


def test_sgd_argument_errors():
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([_param()], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD([_param()], lr=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(_param(), lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([_param() * 2], lr=0.1)


# ---- Adam / AdamW -------------------------------------------------------------------------------------

def test_adam_first_step_moves_by_lr_in_the_gradient_direction():
    # m = 0.1 g, v = 0.001 g^2; bias-corrected: g and g^2, so the step is lr * g / (|g| + eps)
    p = _param(1.0)
    _steps(optim.Adam([p], lr=0.1), p, 1, grad_of=lambda v: np.array([2.0]))
    assert p.item() == pytest.approx(1.0 - 0.1 * 2.0 / (2.0 + 1e-8), rel=1e-14)


def test_adam_second_step_by_hand():
    # gradients 2 then -1: m2 = 0.9*0.2 - 0.1 = 0.08, v2 = 0.999*0.004 + 0.001 = 0.004996
    # step 2 = 0.1 * (0.08 / 0.19) / (sqrt(0.004996 / 0.001999) + 1e-8)
    p = _param(1.0)
    grads = iter([2.0, -1.0])
    _steps(optim.Adam([p], lr=0.1), p, 2, grad_of=lambda v: np.array([next(grads)]))
    m_hat = 0.08 / (1 - 0.9 ** 2)
    v_hat = 0.004996 / (1 - 0.999 ** 2)
    expected = 1.0 - 0.1 * 2.0 / (2.0 + 1e-8) - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8)
    assert p.item() == pytest.approx(expected, rel=1e-12)


def test_adam_weight_decay_is_l2_on_the_gradient():
    # gradient 2 + 0.5 * p = 2.5, then the first Adam step is lr * sign
    p = _param(1.0)
    _steps(optim.Adam([p], lr=0.1, weight_decay=0.5), p, 1, grad_of=lambda v: np.array([2.0]))
    assert p.item() == pytest.approx(1.0 - 0.1 * 2.5 / (2.5 + 1e-8), rel=1e-14)


def test_adamw_decays_the_weight_directly():
    # p * (1 - lr * wd) then the Adam step: 1 * (1 - 0.1 * 0.5) - 0.1 * 2 / (2 + eps)
    p = _param(1.0)
    _steps(optim.AdamW([p], lr=0.1, weight_decay=0.5), p, 1, grad_of=lambda v: np.array([2.0]))
    assert p.item() == pytest.approx(0.95 - 0.1 * 2.0 / (2.0 + 1e-8), rel=1e-14)
    assert optim.AdamW([_param()]).param_groups[0]["weight_decay"] == 1e-2


def test_adam_amsgrad_keeps_the_largest_second_moment():
    # gradients 2 then 0: v1 = 0.004, v2 = 0.003996 < v1, so amsgrad divides by sqrt(0.004 / 0.001999)
    grads = [2.0, 0.0]
    first = 1.0 - 0.1 * 2.0 / (2.0 + 1e-8)
    m_hat = 0.18 / (1 - 0.9 ** 2)
    for amsgrad, v in ((True, 0.004), (False, 0.003996)):
        p = _param(1.0)
        it = iter(grads)
        _steps(optim.Adam([p], lr=0.1, amsgrad=amsgrad), p, 2, grad_of=lambda v_: np.array([next(it)]))
        expected = first - 0.1 * m_hat / (math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
        assert p.item() == pytest.approx(expected, rel=1e-12), amsgrad


def test_adam_defaults_match_pytorch():
    group = optim.Adam([_param()]).param_groups[0]
    assert (group["lr"], group["betas"], group["eps"], group["weight_decay"], group["amsgrad"]) == \
        (1e-3, (0.9, 0.999), 1e-8, 0, False)


# ---- RMSprop ------------------------------------------------------------------------------------------

def test_rmsprop_first_step():
    # s = 0.01 g^2, avg = 0.1 |g| + eps
    p = _param(1.0)
    _steps(optim.RMSprop([p], lr=0.01), p, 1, grad_of=lambda v: np.array([2.0]))
    assert p.item() == pytest.approx(1.0 - 0.01 * 2.0 / (0.2 + 1e-8), rel=1e-14)


def test_rmsprop_centered_subtracts_the_squared_mean_gradient():
    # s = 0.01 * 4 = 0.04, mean g = 0.02, avg = sqrt(0.04 - 0.0004) + eps
    p = _param(1.0)
    _steps(optim.RMSprop([p], lr=0.01, centered=True), p, 1, grad_of=lambda v: np.array([2.0]))
    assert p.item() == pytest.approx(1.0 - 0.01 * 2.0 / (math.sqrt(0.0396) + 1e-8), rel=1e-12)


def test_rmsprop_momentum_two_steps():
    # gradient 2 both times; s1 = 0.04, s2 = 0.99 * 0.04 + 0.04 = 0.0796
    # buf1 = 2 / (0.2 + eps); buf2 = 0.9 buf1 + 2 / (sqrt(0.0796) + eps)
    p = _param(1.0)
    _steps(optim.RMSprop([p], lr=0.01, momentum=0.9), p, 2, grad_of=lambda v: np.array([2.0]))
    buf1 = 2 / (0.2 + 1e-8)
    buf2 = 0.9 * buf1 + 2 / (math.sqrt(0.0796) + 1e-8)
    assert p.item() == pytest.approx(1.0 - 0.01 * buf1 - 0.01 * buf2, rel=1e-12)


# ---- Adagrad ------------------------------------------------------------------------------------------

def test_adagrad_two_steps_with_lr_decay():
    # sum1 = 4, step1 = 0.1 * 2 / (2 + eps); sum2 = 4 + 1 = 5, lr2 = 0.1 / (1 + 0.5), step2 = lr2 * 1 / sqrt(5)
    p = _param(1.0)
    grads = iter([2.0, 1.0])
    _steps(optim.Adagrad([p], lr=0.1, lr_decay=0.5), p, 2, grad_of=lambda v: np.array([next(grads)]))
    expected = 1.0 - 0.1 * 2 / (2 + 1e-10) - (0.1 / 1.5) * 1 / (math.sqrt(5) + 1e-10)
    assert p.item() == pytest.approx(expected, rel=1e-12)


def test_adagrad_initial_accumulator():
    p = _param(1.0)
    _steps(optim.Adagrad([p], lr=0.1, initial_accumulator_value=5.0), p, 1, grad_of=lambda v: np.array([2.0]))
    assert p.item() == pytest.approx(1.0 - 0.1 * 2 / (3 + 1e-10), rel=1e-12)


# ---- shared behaviour ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.1, amsgrad=True),
                                  lambda ps: optim.AdamW(ps, lr=0.1),
                                  lambda ps: optim.RMSprop(ps, lr=0.1, momentum=0.5, centered=True),
                                  lambda ps: optim.Adagrad(ps, lr=0.1)])
def test_float32_parameters_and_state_stay_float32(make):
    p = nn.Parameter(mg.randn(3, 2))
    opt = make([p])
    for _ in range(2):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert p.dtype == np.float32 and p.grad.dtype == np.float32
    for value in opt.state[p].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32


def test_param_groups_have_their_own_options():
    a, b = _param(1.0), _param(1.0)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    for p in (a, b):
        p.grad = mg.tensor(np.array([1.0]))
    opt.step()
    assert (a.item(), b.item()) == pytest.approx((0.9, 0.5))
    c = _param(1.0)
    opt.add_param_group({"params": c, "momentum": 0.9})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})


def test_parameters_without_gradient_are_skipped():
    a, b = _param(1.0), _param(1.0)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = mg.tensor(np.array([1.0]))
    opt.step()
    assert b.item() == 1.0 and b not in opt.state and a.item() != 1.0


def test_zero_grad_to_none_or_zero():
    p = _param()
    p.grad = mg.tensor(np.array([3.0]))
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert p.grad.item() == 0.0
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_the_loss():
    p = _param(2.0)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        loss = opt.step(closure)  # the closure still records a graph
    assert loss.item() == 4.0 and p.item() == pytest.approx(2.0 - 0.1 * 4.0)


_VERSIONED_OPTIMIZERS = {  # plain SGD has its own loop; every other optimizer goes through Optimizer._step_group
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd-momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "adam": lambda ps: optim.Adam(ps, lr=0.1),
}


@pytest.mark.parametrize("make", _VERSIONED_OPTIMIZERS.values(), ids=_VERSIONED_OPTIMIZERS.keys())
def test_step_bumps_the_version_so_a_stale_graph_refuses_backward(make):
    p = nn.Parameter(mg.tensor([1.0, 2.0]))
    loss = (p * p).sum()
    loss.backward(retain_graph=True)
    make([p]).step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize("make", _VERSIONED_OPTIMIZERS.values(), ids=_VERSIONED_OPTIMIZERS.keys())
def test_step_marks_only_the_parameters_it_updated(make):
    # a parameter without a gradient is left alone, so a graph that saved it can still backward
    updated, skipped = nn.Parameter(mg.tensor([1.0, 2.0])), nn.Parameter(mg.tensor([3.0]))
    (updated * 2.0).sum().backward()
    loss = (skipped * skipped).sum()
    make([updated, skipped]).step()
    loss.backward()
    assert skipped.grad.tolist() == [6.0]


@pytest.mark.parametrize("make", _VERSIONED_OPTIMIZERS.values(), ids=_VERSIONED_OPTIMIZERS.keys())
def test_a_step_that_raises_still_marks_the_parameters_it_updated_first(make):
    first, bad = nn.Parameter(mg.tensor([1.0, 2.0])), nn.Parameter(mg.tensor([3.0, 4.0]))
    stale_first, stale_bad = (first * first).sum(), (bad * bad).sum()
    first.grad, bad.grad = mg.tensor([1.0, 1.0]), mg.tensor([1.0, 1.0, 1.0])  # bad's: assigned by hand, wrong shape
    with pytest.raises(ValueError, match="has a gradient of shape"):
        make([first, bad]).step()
    assert first.tolist() != [1.0, 2.0] and bad.tolist() == [3.0, 4.0]
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        stale_first.backward()
    bad.grad = None
    stale_bad.backward()  # bad was not changed, so its graph still holds
    assert bad.grad.tolist() == [6.0, 8.0]


def test_state_dict_round_trip_continues_identically():
    def run(opt_factory, p, steps):
        opt = opt_factory([p])
        _steps(opt, p, steps)
        return opt

    factory = lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True)  # noqa: E731
    p_ref = _param(1.0)
    ref = run(factory, p_ref, 2)
    p_copy = _param(p_ref.item())
    copy = factory([p_copy])
    copy.load_state_dict(ref.state_dict())
    assert copy.state[p_copy]["step"] == 2
    assert copy.state[p_copy]["exp_avg"] is not ref.state[p_ref]["exp_avg"]  # loaded as a copy
    assert _steps(ref, p_ref, 3) == _steps(copy, p_copy, 3)


def test_state_dict_layout_is_pytorchs():
    a, b = _param(), _param()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    _steps(opt, a, 1)
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["param_groups"][1]["lr"] == 0.5
    assert list(state["state"]) == [0] and "momentum_buffer" in state["state"][0]


def test_load_state_dict_checks_group_sizes_and_shapes():
    opt = optim.Adam([_param()], lr=0.1)
    with pytest.raises(ValueError, match="parameter group 0 has 1 parameters, the saved group has 2"):
        opt.load_state_dict(optim.Adam([_param(), _param()]).state_dict())
    other = optim.Adam([nn.Parameter(mg.zeros(3))])
    other.param_groups[0]["params"][0].grad = mg.ones(3)
    other.step()
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(1,\)"):
        opt.load_state_dict(other.state_dict())


def test_repr_lists_groups():
    text = repr(optim.SGD([_param()], lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in text


# ---- Adadelta -----------------------------------------------------------------------------------------

def test_adadelta_first_step():
    # v = 0.1 g^2 = 0.4; delta = sqrt(eps) / sqrt(0.4 + eps) * g; p -= lr * delta
    p = _param(1.0)
    opt = optim.Adadelta([p])
    _steps(opt, p, 1, grad_of=lambda v: np.array([2.0]))
    delta = math.sqrt(1e-6) / math.sqrt(0.4 + 1e-6) * 2.0
    assert p.item() == pytest.approx(1.0 - delta, rel=1e-12)
    state = opt.state[p]
    assert state["step"] == 1
    assert state["acc_delta"][0] == pytest.approx(0.1 * delta * delta, rel=1e-12)


def test_adadelta_defaults_and_argument_errors():
    group = optim.Adadelta([_param()]).param_groups[0]
    assert (group["lr"], group["rho"], group["eps"], group["weight_decay"], group["maximize"]) == \
        (1.0, 0.9, 1e-6, 0, False)
    with pytest.raises(ValueError, match="Invalid rho value: 1.5"):
        optim.Adadelta([_param()], rho=1.5)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.Adadelta([_param()], lr=-1)
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        optim.Adadelta([_param()], eps=-1e-6)
    assert mg.optim.Adadelta is optim.Adadelta


def test_adadelta_state_dict_round_trip():
    p_ref = _param(1.0)
    ref = optim.Adadelta([p_ref], lr=0.5, weight_decay=0.1)
    _steps(ref, p_ref, 3)
    state = ref.state_dict()
    assert sorted(state["state"][0]) == ["acc_delta", "square_avg", "step"]
    p_copy = _param(p_ref.item())
    copy = optim.Adadelta([p_copy], lr=0.5, weight_decay=0.1)
    copy.load_state_dict(state)
    assert _steps(ref, p_ref, 3) == _steps(copy, p_copy, 3)


@pytest.mark.parametrize("options", [{}, dict(lr=0.5, rho=0.8, eps=1e-4), dict(weight_decay=0.1),
                                     dict(maximize=True, lr=0.3)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adadelta_matches_torch_over_many_steps(options, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    start = rng.standard_normal((3, 4)).astype(dtype)
    target = rng.standard_normal((3, 4)).astype(dtype)
    p = nn.Parameter(mg.tensor(start.copy()))
    tp = torch.nn.Parameter(torch.tensor(start.copy()))
    opt, topt = optim.Adadelta([p], **options), torch.optim.Adadelta([tp], **options)
    for _ in range(25):
        opt.zero_grad()
        topt.zero_grad()
        ((p - mg.tensor(target)) ** 4).sum().backward()
        ((tp - torch.tensor(target)) ** 4).sum().backward()
        opt.step()
        topt.step()
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=rtol, atol=rtol)
    theirs = topt.state_dict()["state"][0]
    ours = opt.state_dict()["state"][0]
    assert int(ours["step"]) == int(theirs["step"]) == 25
    for key in ("square_avg", "acc_delta"):
        np.testing.assert_allclose(ours[key].numpy(), theirs[key].numpy(), rtol=rtol, atol=rtol)
