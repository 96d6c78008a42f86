"""mg.viz.Monitor: its records against NumPy, its findings on known-bad networks, and that it leaves nothing behind."""
import os
import sys
import warnings

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn
from microgradnp.autograd import engine
from microgradnp.viz import Monitor, MonitorThresholds
from microgradnp.viz.monitor_figures import FIGURES


def train(model, x, y, steps, lr=0.1, loss_fn=None, every=1, thresholds=None, optimizer=None):
    """A plain PyTorch-style loop inside the monitor; returns the monitor."""
    loss_fn = loss_fn or nn.MSELoss()
    optimizer = optimizer or nn.optim.SGD(model.parameters(), lr=lr)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        with Monitor(model, every=every, thresholds=thresholds) as monitor:
            for _ in range(steps):
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
    return monitor


def regression_data(n=64, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x @ rng.standard_normal((d, 1)) * 0.5).astype(np.float32)
    return mg.tensor(x), mg.tensor(y)


def kinds(monitor):
    return [f.kind for f in monitor.findings]


def test_records_match_numpy_on_a_tiny_net():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.ReLU())
    x = mg.tensor(np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32))
    y = mg.tensor(np.random.default_rng(2).standard_normal((5, 2)).astype(np.float32))
    w0, b0, w2, b2 = (p.detach().numpy().copy() for p in model.parameters())
    monitor = train(model, x, y, steps=1, lr=0.1)

    h = x.numpy() @ w0.T + b0
    t = np.tanh(h)
    z = t @ w2.T + b2
    out = np.maximum(z, 0)
    g_out = 2 * (out - y.numpy()) / out.size
    g_z = g_out * (z > 0)
    g_w2 = g_z.T @ t
    g_t = g_z @ w2
    g_h = g_t * (1 - t ** 2)
    g_w0 = g_h.T @ x.numpy()

    record = monitor.records[0]
    assert record.step == 1
    assert record.loss == pytest.approx(float(((out - y.numpy()) ** 2).mean()), rel=1e-5)
    assert record.modules["0"].mean == pytest.approx(h.mean(), rel=1e-4, abs=1e-6)
    assert record.modules["0"].std == pytest.approx(h.std(), rel=1e-4)
    assert record.modules["0"].absmax == pytest.approx(np.abs(h).max(), rel=1e-5)
    assert record.modules["1"].saturated == pytest.approx((np.abs(t) > 0.97).mean())
    assert record.modules["3"].dead == pytest.approx(1 - (out > 0).any(axis=0).mean())
    assert record.modules["3"].units == 2
    for name, g, w in (("0.weight", g_w0, w0), ("2.weight", g_w2, w2)):
        p = record.params[name]
        assert p.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-4)
        assert p.grad_std == pytest.approx(g.std(), rel=1e-4)
        assert p.grad_data == pytest.approx(g.std() / w.std(), rel=1e-4)
        # SGD changed w by -lr * g: the update ratio is known in advance
        assert p.update_data == pytest.approx(np.log10(0.1 * g.std() / w.std()), abs=1e-4)
    assert monitor.order == ["0", "1", "2", "3"]


def test_sigmoid_saturation_and_channel_dead_units():
    from microgradnp.viz.monitor_records import module_record
    s = np.array([[0.01, 0.5], [0.99, 0.2]], dtype=np.float32)
    assert module_record("Sigmoid", s, 0.97).saturated == 0.5
    a = np.zeros((2, 3, 4, 4), dtype=np.float32)
    a[1, 0, 2, 2] = 1.0  # channel 0 has one positive value, channels 1 and 2 none
    record = module_record("ReLU", a, 0.97)
    assert record.units == 3 and record.dead == pytest.approx(2 / 3)
    nan = np.array([[np.nan, 1.0], [np.inf, 2.0]], dtype=np.float32)
    record = module_record("Linear", nan, 0.97)
    assert (record.nan, record.inf, record.absmax) == (1, 1, 2.0)


def test_every_k_records_every_kth_step_and_the_loss_at_every_step():
    mg.manual_seed(0)
    x, y = regression_data()
    monitor = train(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)), x, y, steps=7, every=3)
    assert [r.step for r in monitor.records] == [1, 4, 7]
    assert sorted(monitor.losses) == list(range(1, 8))
    assert all(r.params["0.weight"].update_data is not None for r in monitor.records)
    assert all(len(r.modules) == 3 for r in monitor.records)


def test_nothing_is_left_registered_after_exit():
    from nn import module as module_module
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    monitor = train(model, x, y, steps=2)
    assert engine.backward_listeners == []
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    for p in model.parameters():
        assert not p._hooks
    model(x)  # a forward after exit adds no step
    assert len(monitor.records) == 2
    assert not module_module._hooks_live or any(m._forward_hooks for m in model.modules()) is False
    monitor.detach()  # again is harmless


def test_explicit_steps_and_no_grad_forwards():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = nn.optim.SGD(model.parameters(), lr=0.05)
    with Monitor(model) as monitor:
        for _ in range(3):
            for half in (slice(0, 32), slice(32, 64)):  # two forwards per step: gradient accumulation
                nn.MSELoss()(model(x[half]), y[half]).backward()
            optimizer.step()
            optimizer.zero_grad()
            with mg.no_grad():
                loss = nn.MSELoss()(model(x), y)
            monitor.step(loss)
    assert [r.step for r in monitor.records] == [1, 2, 3]
    assert monitor.losses[3] == pytest.approx(loss.item())
    assert all(p.update_data is not None for r in monitor.records for p in r.params.values())


def test_a_healthy_network_has_no_finding():
    mg.manual_seed(0)
    x, y = regression_data(n=128)
    model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
    monitor = train(model, x, y, steps=300, lr=0.05)
    assert monitor.findings == [], monitor.findings_text()
    assert "no problem found in 300 steps" in str(monitor)


def test_too_large_a_learning_rate_is_named_before_the_nan():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    monitor = train(model, x, y, steps=30, lr=3.0)
    first = monitor.findings[0]
    assert first.kind == "nonfinite", monitor.findings_text()
    assert first.advice.startswith("the learning rate is far too large")
    update = next(f for f in monitor.findings if f.kind == "update_too_large")
    assert update.first_step < first.first_step
    assert first.numbers["update_step"] < first.first_step


def test_a_dead_output_relu_is_named():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1), nn.ReLU())
    with mg.no_grad():
        model[2].bias.fill_(-20.0)
    monitor = train(model, x, y, steps=20)
    dead = next(f for f in monitor.findings if f.kind == "dead_output")
    assert (dead.where, dead.first_step, dead.last_step) == ("3", 1, 20)
    assert "remove the ReLU on the output" in str(dead)


def test_saturated_tanh_from_a_bad_init():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 1))
    with mg.no_grad():
        model[0].weight.mul_(10.0)
    monitor = train(model, x, y, steps=20, lr=0.01)
    saturated = next(f for f in monitor.findings if f.kind == "saturated")
    assert saturated.where == "1" and saturated.numbers["saturated"] > 0.3
    assert "tanh units in `1` are saturated" in saturated.text


def test_vanishing_gradients_in_a_deep_sigmoid_stack():
    mg.manual_seed(0)
    x, y = regression_data()
    layers = [nn.Linear(4, 16), nn.Sigmoid()]
    for _ in range(8):
        layers += [nn.Linear(16, 16), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 1))
    monitor = train(model, x, y, steps=10)
    vanishing = next(f for f in monitor.findings if f.kind == "vanishing_gradient")
    assert vanishing.where == "0.weight" and vanishing.numbers["ratio"] < 1e-4


def test_nan_from_log_of_zero_in_a_hand_written_loss():
    mg.manual_seed(0)
    x, _ = regression_data()
    target = mg.tensor((x.numpy()[:, :1] > 0).astype(np.float32))
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    with mg.no_grad():
        model[2].weight.mul_(100.0)

    def bce(p, t):
        return -(t * mg.log(p) + (1 - t) * mg.log(1 - p)).mean()

    monitor = train(model, x, target, steps=3, loss_fn=bce)
    finding = monitor.findings[0]
    assert finding.kind == "loss_nonfinite" and finding.where == "loss" and finding.first_step == 1
    assert "log(0)" in finding.text and "BCEWithLogitsLoss" in finding.advice


def test_a_loss_that_does_not_decrease():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    monitor = train(model, x, y, steps=40, lr=0.0, thresholds=MonitorThresholds(plateau_steps=20))
    plateau = next(f for f in monitor.findings if f.kind == "loss_plateau")
    assert plateau.first_step == 1 and plateau.last_step == 40
    assert "has not decreased for 39 steps" in plateau.text


def test_thresholds_are_checked():
    with pytest.raises(ValueError, match="dead_fraction"):
        MonitorThresholds(dead_fraction=0)
    with pytest.raises(ValueError, match="every"):
        Monitor(nn.Linear(2, 2), every=0)
    with pytest.raises(TypeError, match="named_modules"):
        Monitor(object())


@pytest.fixture(scope="module")
def small_run():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
    return train(model, x, y, steps=12, every=2)


def test_plot_writes_png_and_svg(small_run, tmp_path):
    pytest.importorskip("matplotlib")
    paths = small_run.plot(tmp_path)
    names = {os.path.basename(p) for p in paths}
    assert names == {f"{n}.{ext}" for n in FIGURES for ext in ("png", "svg")}
    for p in paths:
        data = open(p, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" if p.endswith(".png") else b"<svg" in data


def test_report_is_one_self_contained_page(small_run, tmp_path):
    pytest.importorskip("matplotlib")
    path = small_run.report(tmp_path / "run.html")
    text = open(path, encoding="utf-8").read()
    assert "no problem found" in text
    assert text.count("data:image/png;base64,") == len(FIGURES)
    assert "<svg" in text and "0.weight" in text  # the graph of the last step, with parameter names
    assert "<img" in small_run._repr_html_() and "<svg" not in small_run._repr_html_()


def test_figures_without_matplotlib_say_how_to_get_it(small_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        small_run.plot(tmp_path)
    assert "pip install matplotlib" in small_run._repr_html_()


def test_an_exploding_output_is_named():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    with mg.no_grad():
        model[2].weight.mul_(1e5)
    monitor = train(model, x, y, steps=3, lr=0.0)
    exploding = next(f for f in monitor.findings if f.kind == "exploding_output")
    assert exploding.where == "2" and exploding.first_step == 1 and exploding.numbers["absmax"] > 1e4


def test_dead_hidden_units_are_named():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with mg.no_grad():
        model[0].bias.fill_(-50.0)
    monitor = train(model, x, y, steps=5)
    dead = next(f for f in monitor.findings if f.kind == "dead_units")
    assert (dead.where, dead.first_step, dead.last_step) == ("1", 1, 5) and dead.numbers["dead"] == 1.0


class _SqrtOfZero(nn.Module):
    """x + sqrt(0 * x): the output is x, finite, but the backward pass multiplies inf by 0."""

    def forward(self, x):
        return x + mg.sqrt(x * 0.0)


def test_a_nan_gradient_behind_finite_outputs_is_named():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 1), _SqrtOfZero())
    monitor = train(model, x, y, steps=2, lr=0.0)
    finding = monitor.findings[0]
    assert finding.kind == "grad_nonfinite" and finding.where == "0.weight" and finding.first_step == 1
    assert "detect_anomaly" in finding.advice


def test_an_exploding_gradient_is_named():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 16), nn.Linear(16, 1))
    with mg.no_grad():
        model[0].weight.mul_(1e-4)
        model[0].bias.mul_(1e-4)
        model[1].weight.mul_(1e3)
    monitor = train(model, x, y, steps=2, lr=0.0)
    exploding = next(f for f in monitor.findings if f.kind == "exploding_gradient")
    assert exploding.where == "0.weight" and exploding.numbers["ratio"] > 1e4


class _HookSpy(nn.Module):
    """Notes, at each forward pass, whether any module of the model has a forward hook."""

    def __init__(self, model_modules):
        super().__init__()
        self.model_modules, self.seen = model_modules, []

    def forward(self, x):
        self.seen.append(any(m._forward_hooks for m in self.model_modules()))
        return x


def test_hooks_are_registered_only_for_the_recorded_steps():
    mg.manual_seed(0)
    x, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    spy = _HookSpy(lambda: list(model.modules()))
    model.append(spy)
    monitor = train(model, x, y, steps=7, every=3)
    assert [r.step for r in monitor.records] == [1, 4, 7]
    assert spy.seen == [True, False, False, True, False, False, True]
    assert not any(m._forward_hooks for m in model.modules())
