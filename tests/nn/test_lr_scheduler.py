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


# ---- the schedulers against PyTorch -------------------------------------------------------------------

def _param_groups(make_param, groups):
    return [{"params": [make_param()], "lr": 0.1 * (i + 1)} for i in range(groups)]


def _sequence(module, optimizer, make, steps, metrics=None):
    """get_last_lr() after construction and each step, with each group's momentum (or beta1)."""
    scheduler = make(module, optimizer)
    out = [list(scheduler.get_last_lr())]
    for k in range(steps):
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[k])
        momenta = [group["betas"][0] if "betas" in group else group.get("momentum", 0.0)
                   for group in optimizer.param_groups]
        out.append(list(scheduler.get_last_lr()) + momenta)
    return out, scheduler


def _plateau_metrics():
    # improving for 15 epochs, then stuck near 0.07
    return [1.0 / (1 + k) if k < 15 else 0.07 + 0.001 * ((k * 7919) % 13) / 13 for k in range(60)]


SCHEDULER_CASES = {
    "multistep": (lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.5), "SGD", {}),
    "constant": (lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4), "SGD", {}),
    "linear_default": (lambda m, o: m.LinearLR(o), "SGD", {}),
    "linear": (lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=13), "SGD", {}),
    "polynomial": (lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0), "SGD", {}),
    "multiplicative": (lambda m, o: m.MultiplicativeLR(o, lambda epoch: 0.95), "SGD", {}),
    "warm_restarts": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001), "SGD", {}),
    "warm_restarts_mult1": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7), "SGD", {}),
    "sequential": (lambda m, o: m.SequentialLR(o, [m.LinearLR(o, total_iters=5), m.CosineAnnealingLR(o, T_max=20),
                                                   m.ExponentialLR(o, 0.9)], milestones=[5, 25]), "SGD", {}),
    "one_cycle": (lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=60), "SGD", {}),
    "one_cycle_three_phase": (lambda m, o: m.OneCycleLR(o, max_lr=1.0, epochs=6, steps_per_epoch=10,
                                                        three_phase=True, anneal_strategy="linear"), "SGD", {}),
    "one_cycle_adam": (lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=60, pct_start=0.25), "Adam", {}),
    "one_cycle_no_momentum": (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=60, cycle_momentum=False,
                                                        div_factor=10.0), "Adagrad", {}),
    "plateau": (lambda m, o: m.ReduceLROnPlateau(o, patience=3, cooldown=2, threshold=0.01), "SGD",
                dict(metrics=_plateau_metrics())),
    "plateau_max_abs": (lambda m, o: m.ReduceLROnPlateau(o, mode="max", patience=2, threshold_mode="abs",
                                                         min_lr=[0.01, 0.05]), "SGD",
                        dict(metrics=[-x for x in _plateau_metrics()])),
}


@pytest.mark.parametrize("case", sorted(SCHEDULER_CASES))
def test_scheduler_sequence_matches_torch(case):
    torch = pytest.importorskip("torch")
    make, optimizer_name, extra = SCHEDULER_CASES[case]
    options = dict(lr=0.1, momentum=0.9) if optimizer_name == "SGD" else dict(lr=0.1)
    ours = getattr(nn.optim, optimizer_name)(_param_groups(lambda: nn.Parameter(mg.zeros(1)), 2), **options)
    theirs = getattr(torch.optim, optimizer_name)(_param_groups(lambda: torch.nn.Parameter(torch.zeros(1)), 2),
                                                  **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's own warnings (e.g. SequentialLR's) are not under test
        expected, _ = _sequence(torch.optim.lr_scheduler, theirs, make, 60, **extra)
        got, _ = _sequence(lr_scheduler, ours, make, 60, **extra)
    assert len(got) == len(expected)
    for step, (row, expected_row) in enumerate(zip(got, expected)):
        assert row == pytest.approx(expected_row, rel=1e-12, abs=1e-15), step


@pytest.mark.parametrize("case", ["multistep", "linear", "sequential", "one_cycle", "plateau", "warm_restarts",
                                  "multiplicative"])
def test_scheduler_state_dict_resumes_the_sequence(case):
    make, optimizer_name, extra = SCHEDULER_CASES[case]
    metrics = extra.get("metrics")

    def fresh():
        opt = getattr(nn.optim, optimizer_name)(_param_groups(lambda: nn.Parameter(mg.zeros(1)), 2), lr=0.1)
        return opt, make(lr_scheduler, opt)

    def advance(opt, sched, start, n):
        for k in range(start, start + n):
            opt.step()
            sched.step() if metrics is None else sched.step(metrics[k])
        return list(sched.get_last_lr())

    opt, sched = fresh()
    advance(opt, sched, 0, 10)
    state, opt_state = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in state
    opt2, sched2 = fresh()
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(state)
    assert [advance(opt, sched, 10 + k, 1) for k in range(15)] == [advance(opt2, sched2, 10 + k, 1)
                                                                   for k in range(15)]


def test_multistep_closed_form_and_epoch_warning():
    opt = _optimizer(1.0)
    sched = lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(5)
    assert sched.get_last_lr() == [0.25]


def test_linear_and_constant_lr_refuse_bad_factors():
    with pytest.raises(ValueError, match="start_factor=0"):
        lr_scheduler.LinearLR(_optimizer(), start_factor=0)
    with pytest.raises(ValueError, match="end_factor=1.5"):
        lr_scheduler.LinearLR(_optimizer(), end_factor=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        lr_scheduler.ConstantLR(_optimizer(), factor=2.0)


def test_linear_lr_default_warmup():
    opt = _optimizer(0.3)
    sched = lr_scheduler.LinearLR(opt)
    assert sched.get_last_lr() == pytest.approx([0.1])
    assert _lrs(sched, opt, 6) == pytest.approx([0.14, 0.18, 0.22, 0.26, 0.3, 0.3])


def test_reduce_lr_on_plateau_reduces_after_patience():
    opt = _optimizer(1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=2, factor=0.5)
    lrs = []
    for metric in [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]:
        opt.step()
        sched.step(mg.tensor(metric))  # a 0-d tensor works, as loss.item() would
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]
    with pytest.raises(ValueError, match="Factor should be < 1.0|factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="avg")


def test_one_cycle_lr_checks_its_arguments():
    with pytest.raises(ValueError, match="either total_steps OR"):
        lr_scheduler.OneCycleLR(_optimizer(), max_lr=1.0)
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(nn.optim.Adagrad([nn.Parameter(mg.zeros(1))]), max_lr=1.0, total_steps=10)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        lr_scheduler.OneCycleLR(_optimizer(), max_lr=[1.0, 2.0], total_steps=10)
    opt = _optimizer()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    _lrs(sched, opt, 2)
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        _lrs(sched, opt, 2)


def test_one_cycle_lr_starts_at_max_lr_over_div_factor_and_peaks():
    opt = nn.optim.SGD([nn.Parameter(mg.zeros(1))], lr=0.01, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert sched.get_last_lr() == pytest.approx([0.04]) and opt.param_groups[0]["momentum"] == pytest.approx(0.95)
    lrs = _lrs(sched, opt, 9)
    assert max(lrs) == pytest.approx(1.0) and lrs[-1] == pytest.approx(0.04 / 1e4)


def test_sequential_lr_checks_its_schedulers():
    opt = _optimizer()
    with pytest.raises(ValueError, match="one more scheduler than milestones"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt)], milestones=[3])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt), lr_scheduler.ReduceLROnPlateau(opt)], [2])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(_optimizer())], [])


def test_new_schedulers_are_exported():
    import microgradnp.optim.lr_scheduler as public
    for name in ("MultiStepLR", "ReduceLROnPlateau", "OneCycleLR", "LinearLR", "ConstantLR", "SequentialLR",
                 "CosineAnnealingWarmRestarts", "PolynomialLR", "MultiplicativeLR"):
        assert name in lr_scheduler.__all__
        assert getattr(public, name) is getattr(lr_scheduler, name)


def test_new_schedulers_by_their_formulas():
    opt = _optimizer(1.0)
    sched = lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2)
    assert sched.get_last_lr() == [0.5] and _lrs(sched, opt, 3) == [0.5, 1.0, 1.0]
    opt = _optimizer(1.0)
    sched = lr_scheduler.PolynomialLR(opt, total_iters=4, power=2.0)
    assert _lrs(sched, opt, 5) == pytest.approx([0.5625, 0.25, 0.0625, 0.0, 0.0])  # (1 - t / 4) ** 2
    opt = _optimizer(2.0)
    sched = lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.5)
    assert sched.get_last_lr() == [2.0] and _lrs(sched, opt, 2) == [1.0, 0.5]
    opt = _optimizer(1.0)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    # T_cur runs 0, 1 | 0, 1, 2, 3 | 0 ... over periods 2, 4, 8
    expected = [(1 + math.cos(math.pi * t / period)) / 2 for t, period in ((1, 2), (0, 4), (1, 4), (2, 4), (3, 4),
                                                                           (0, 8))]
    assert _lrs(sched, opt, 6) == pytest.approx(expected)
    opt = _optimizer(1.0)
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    decay = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sched = lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[2])
    assert sched.get_last_lr() == [0.5]
    assert _lrs(sched, opt, 4) == pytest.approx([0.75, 1.0, 0.5, 0.25])
