"""Learning-rate schedulers: the lr sequences worked out from their formulas."""
import math
import warnings

import pytest

import microgradnp as mg
from microgradnp import nn
from microgradnp.nn.optim import lr_scheduler


def _optimizer(lr=1.0):
    return nn.optim.SGD([nn.Parameter(mg.zeros(1))], lr=lr)


def _lrs(scheduler, optimizer, n):
    out = []
    for _ in range(n):
        optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
    return out


def test_step_lr():
    opt = _optimizer(1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    assert sched.get_last_lr() == [1.0]
    assert _lrs(sched, opt, 5) == pytest.approx([1.0, 0.5, 0.5, 0.25, 0.25])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.25)


def test_exponential_lr():
    opt = _optimizer(2.0)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.9)
    assert _lrs(sched, opt, 3) == pytest.approx([1.8, 1.62, 1.458])


def test_cosine_annealing_follows_the_closed_form():
    opt = _optimizer(1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(1, 9)]
    # after T_max it climbs back up, as PyTorch's recurrence does
    assert _lrs(sched, opt, 8) == pytest.approx(expected, abs=1e-12)


def test_lambda_lr_per_group():
    opt = nn.optim.SGD([{"params": [nn.Parameter(mg.zeros(1))]}, {"params": [nn.Parameter(mg.zeros(1))], "lr": 2.0}],
                       lr=1.0)
    sched = lr_scheduler.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: 0.5 ** e])
    assert sched.get_last_lr() == [1.0, 2.0]
    opt.step()
    sched.step()
    opt.step()
    sched.step()
    assert sched.get_last_lr() == pytest.approx([1 / 3, 0.5])


def test_scheduler_state_dict_round_trip():
    opt = _optimizer(1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _lrs(sched, opt, 3)
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3
    opt2 = _optimizer(1.0)
    sched2 = lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(state)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    assert _lrs(sched2, opt2, 3) == _lrs(sched, opt, 3)


def test_scheduler_step_before_optimizer_step_warns():
    opt = _optimizer()
    sched = lr_scheduler.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = _optimizer()
    sched2 = lr_scheduler.StepLR(opt2, step_size=1)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)
