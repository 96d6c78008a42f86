"""mg.compile on the nn package: every example network, every optimizer and scheduler, BatchNorm across
train()/eval(), the losses whose masks come from the data, and the checks that must still raise at a replay.

Each comparison trains two copies from the same initial state, one eagerly and one through ``mg.compile``,
and asserts that every loss, parameter, buffer and optimizer state is the same bit for bit (dtype, shape
and bytes). The inputs differ from call to call wherever the training allows, so that an array a capture
kept as a constant (a mask, a max, a count computed from the values) would show up as a difference.
"""
import importlib
import pathlib
import sys
import warnings

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import CompileError, nn
from microgradnp import compile as mg_compile
from microgradnp.nn import functional as F
from microgradnp.nn.optim import lr_scheduler

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
STEPS = 50


def _example(name):
    """examples/<name>.py as a module (the scripts import their helper module by name, from examples/)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


def _bits(value):
    """What bit-for-bit equality compares: dtype, shape and bytes (None stays None)."""
    if value is None:
        return None
    array = value.numpy() if isinstance(value, mg.Tensor) else np.asarray(value)
    return array.dtype.str, array.shape, array.tobytes()


def _state(model, optimizer):
    """Every parameter and buffer, every gradient, and the optimizer's state and learning rates, as bits."""
    optimizer_state = optimizer.state_dict() if optimizer is not None else {"state": {}, "param_groups": []}
    return ({name: _bits(t) for name, t in model.state_dict().items()},
            [_bits(p.grad) for p in model.parameters()],
            {(k, n): _bits(v) for k, s in optimizer_state["state"].items() for n, v in s.items()},
            [group["lr"] for group in optimizer_state["param_groups"]])


def _make_step(model, optimizer, loss_of, after_backward=None, scheduler=None):
    """One training step: zero_grad, the loss, backward, ``after_backward`` (clipping), the update, and the
    scheduler's step when it is given (inside the step)."""
    def step(*batch):
        optimizer.zero_grad()
        loss = loss_of(model, *batch)
        loss.backward()
        if after_backward is not None:
            after_backward(model)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return loss
    return step


def _train_twice(build, batch, steps=STEPS, check=0, captures=1):
    """Train ``build()``'s network eagerly and compiled, from the same initial state and the same random
    draws, on ``batch(i)`` at step ``i``; assert that both runs agree bit for bit at every step and at the
    end. ``build()`` returns ``(model, optimizer, loss_of)``, and optionally ``after_backward``."""
    runs = []
    for compiled in (False, True):
        model, optimizer, loss_of, *after_backward = build()
        step = _make_step(model, optimizer, loss_of, *after_backward)
        if compiled:
            step = mg_compile(step, check=check)
        mg.manual_seed(7)  # dropout's masks: the same draws in both runs
        losses = [_bits(step(*batch(i))) for i in range(steps)]
        runs.append((losses, _state(model, optimizer)))
        if compiled:
            assert step.captures == captures
    (eager_losses, eager_state), (compiled_losses, compiled_state) = runs
    for i, (a, b) in enumerate(zip(eager_losses, compiled_losses)):
        assert a == b, f"loss of step {i}"
    assert eager_state == compiled_state
    return runs


def _rng():
    return np.random.default_rng(2024)


# ---- the example networks ----------------------------------------------------------------------------------

def _leaky_relu_derivative_xor():
    """LeakyReluNet (the post's relu on tensors), float64, from the post's initial weights, one sample per step
    in the post's order, the squared error and SGD (examples/leaky_relu_derivative_xor.py, train_fixed)."""
    ex = _example("leaky_relu_derivative_xor")

    def build():
        model = ex.LeakyReluNet().to(mg.float64)
        w1, b1, w2, b2 = ex.initial_weights(0)
        with mg.no_grad():
            for p, v in zip(model.parameters(), (w1.T, b1, w2.T, b2)):
                p.copy_(mg.tensor(v))
        return (model, nn.optim.SGD(model.parameters(), lr=ex.LEARNING_RATE),
                lambda m, x, y: 0.5 * ((m(x) - y) ** 2).sum())

    order = np.concatenate(ex.sample_orders(0, STEPS // len(ex.X) + 1))
    inputs, targets = mg.tensor(ex.X), mg.tensor(ex.Y)
    return build, lambda i: (inputs[int(order[i]):int(order[i]) + 1], targets[int(order[i]):int(order[i]) + 1])


def _xor_sigmoid_derivative_twice():
    """2 -> 8 ReLU -> 1 sigmoid, BCELoss, SGD(lr=0.1), full batch (examples/xor_sigmoid_derivative_twice.py)."""
    ex = _example("xor_sigmoid_derivative_twice")

    def build():
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, ex.HIDDEN), nn.ReLU(), nn.Linear(ex.HIDDEN, 1), nn.Sigmoid())
        return model, nn.optim.SGD(model.parameters(), lr=0.1), lambda m, x, y: nn.BCELoss()(m(x), y)

    inputs, targets = mg.tensor(ex.X, dtype=mg.float32), mg.tensor(ex.y, dtype=mg.float32)
    return build, lambda i: (inputs, targets)


def _spiral_minibatches(ex):
    data, labels = ex.spiral_data(points_per_class=20, seed=0)
    picks = _rng().integers(0, len(labels), (STEPS, 16))
    x, y = mg.tensor(data, dtype=mg.float32), mg.tensor(labels)
    return lambda i: (x[picks[i]], y[picks[i]])


def _spiral_relu_softmax():
    """2 -> 100 ReLU -> 3, CrossEntropyLoss, SGD(lr=1.0, weight_decay) (examples/spiral_relu_softmax.py,
    train_fixed), on minibatches of the spiral."""
    ex = _example("spiral_relu_softmax")

    def build():
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, ex.HIDDEN), nn.ReLU(), nn.Linear(ex.HIDDEN, 3))
        return (model, nn.optim.SGD(model.parameters(), lr=1.0, weight_decay=ex.LAMB),
                lambda m, x, y: nn.CrossEntropyLoss()(m(x), y))

    return build, _spiral_minibatches(ex)


def _spiral_post_softmax():
    """The post's network: its softmax (the global max shifted out) as a layer, nll_loss of its log, at the
    post's step size (examples/spiral_relu_softmax.py, monitor_post_learning_rate)."""
    ex = _example("spiral_relu_softmax")

    def build():
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, ex.HIDDEN), nn.ReLU(), nn.Linear(ex.HIDDEN, 3), ex.PostSoftmax())
        return (model, nn.optim.SGD(model.parameters(), lr=ex.ALPHA_SIGMOID, weight_decay=ex.LAMB),
                lambda m, x, y: F.nll_loss(mg.log(m(x)), y))

    return build, _spiral_minibatches(ex)


def _dying_relu_output(output_relu):
    """The post's 2 -> 4 -> 4 -> 1 ReLU network, with the fix (a linear output, MSELoss(sum)) or the bug (a
    final ReLU, MSELoss), SGD (examples/dying_relu_output.py, train_fixed and show_dead_output)."""
    ex = _example("dying_relu_output")

    def build():
        mg.manual_seed(0)
        layers = [nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)]
        model = nn.Sequential(*layers, *([nn.ReLU()] if output_relu else []))
        loss_fn = nn.MSELoss() if output_relu else nn.MSELoss(reduction="sum")
        return model, nn.optim.SGD(model.parameters(), lr=ex.LEARNING_RATE), lambda m, x, y: loss_fn(m(x), y)

    x, y = mg.tensor(ex.X[:, :, 0], dtype=mg.float32), mg.tensor(ex.Y[:, :, 0], dtype=mg.float32)
    return build, lambda i: (x, y)


def _leaky_relu_output_layer():
    """3 -> 4 LeakyReLU -> 1 sigmoid, BCELoss, SGD(lr=1.0) (examples/leaky_relu_output_layer.py, train_fixed)."""
    ex = _example("leaky_relu_output_layer")

    def build():
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.01), nn.Linear(4, 1), nn.Sigmoid())
        return model, nn.optim.SGD(model.parameters(), lr=1.0), lambda m, x, y: nn.BCELoss()(m(x), y)

    inputs, targets = mg.tensor(ex.X, dtype=mg.float32), mg.tensor(ex.y, dtype=mg.float32)
    return build, lambda i: (inputs, targets)


def _digits_cnn():
    """DigitsCNN (Conv2d, BatchNorm2d, MaxPool2d, Linear), cross-entropy, SGD with momentum
    (examples/digits_cnn.py), on random 8x8 images: BatchNorm's running statistics move at every step."""
    ex = _example("digits_cnn")

    def build():
        mg.manual_seed(0)
        model = ex.DigitsCNN()
        return (model, mg.optim.SGD(model.parameters(), lr=ex.LR, momentum=ex.MOMENTUM),
                lambda m, x, y: F.cross_entropy(m(x), y))

    rng = _rng()
    images = [mg.tensor(rng.random((12, 1, 8, 8)), dtype=mg.float32) for _ in range(STEPS)]
    labels = [mg.tensor(rng.integers(0, 10, 12)) for _ in range(STEPS)]
    return build, lambda i: (images[i], labels[i])


def _char_model():
    """NameModel (Embedding, tanh MLP), cross-entropy, SGD(lr=0.1) (examples/char_model.py), on random contexts."""
    ex = _example("char_model")

    def build():
        mg.manual_seed(0)
        model = ex.NameModel(27)
        return model, mg.optim.SGD(model.parameters(), lr=0.1), lambda m, x, y: F.cross_entropy(m(x), y)

    rng = _rng()
    contexts = [mg.tensor(rng.integers(0, 27, (12, ex.BLOCK_SIZE))) for _ in range(STEPS)]
    targets = [mg.tensor(rng.integers(0, 27, 12)) for _ in range(STEPS)]
    return build, lambda i: (contexts[i], targets[i])


def _char_rnn():
    """CharLSTM (Embedding, LSTM, Linear), cross-entropy at every step, Adam and clip_grad_norm_
    (examples/char_rnn.py), on random windows."""
    ex = _example("char_rnn")
    vocab = 20

    def build():
        mg.manual_seed(0)
        model = ex.CharLSTM(vocab)
        return (model, nn.optim.Adam(model.parameters(), lr=0.01),
                lambda m, x, y: F.cross_entropy(m(x)[0].reshape(-1, vocab), y.reshape(-1)),
                lambda m: nn.utils.clip_grad_norm_(m.parameters(), 1.0))

    rng = _rng()
    text = rng.integers(0, vocab, 400)
    starts = rng.integers(0, len(text) - 9, (STEPS, 3))
    windows = [mg.tensor(np.stack([text[s:s + 8] for s in starts[i]])) for i in range(STEPS)]
    shifted = [mg.tensor(np.stack([text[s + 1:s + 9] for s in starts[i]])) for i in range(STEPS)]
    return build, lambda i: (windows[i], shifted[i])


def _graph_debugging(output_relu):
    """Post 004's network with and without the output ReLU, MSELoss, SGD (examples/graph_debugging.py)."""
    ex = _example("graph_debugging")

    def build():
        model = ex.build(0, output_relu)
        return (model, nn.optim.SGD(model.parameters(), lr=ex.LEARNING_RATE),
                lambda m, x, y: nn.MSELoss()(m(x), y))

    x, y = mg.tensor(ex.X), mg.tensor(ex.Y)
    return build, lambda i: (x, y)


EXAMPLE_NETWORKS = {
    "leaky_relu_derivative_xor": _leaky_relu_derivative_xor,
    "xor_sigmoid_derivative_twice": _xor_sigmoid_derivative_twice,
    "spiral_relu_softmax": _spiral_relu_softmax,
    "spiral_post_softmax": _spiral_post_softmax,
    "dying_relu_output": lambda: _dying_relu_output(False),
    "dying_relu_output_dead": lambda: _dying_relu_output(True),
    "leaky_relu_output_layer": _leaky_relu_output_layer,
    "digits_cnn": _digits_cnn,
    "char_model": _char_model,
    "char_rnn": _char_rnn,
    "graph_debugging": lambda: _graph_debugging(False),
    "graph_debugging_output_relu": lambda: _graph_debugging(True),
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_NETWORKS))
def test_every_example_network_compiled_equals_eager_over_50_steps(name):
    build, batch = EXAMPLE_NETWORKS[name]()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # the post's networks misbehave on purpose (NaN, misuse warnings)
        _train_twice(build, batch, check=2 if name in ("digits_cnn", "char_rnn", "spiral_post_softmax") else 0)


def test_every_example_script_with_a_network_is_covered():
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    covered = {name.removesuffix("_dead").removesuffix("_output_relu") for name in EXAMPLE_NETWORKS}
    covered = {"spiral_relu_softmax" if name == "spiral_post_softmax" else name for name in covered}
    assert scripts == covered


# ---- optimizers and schedulers --------------------------------------------------------------------------------

OPTIMIZERS = {
    "sgd": lambda ps: nn.optim.SGD(ps, lr=0.05),
    "sgd_momentum_dampening": lambda ps: nn.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1),
    "sgd_nesterov_wd_maximize": lambda ps: nn.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                                        weight_decay=1e-3, maximize=True),
    "adam": lambda ps: nn.optim.Adam(ps, lr=1e-2),
    "adam_amsgrad_wd": lambda ps: nn.optim.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda ps: nn.optim.AdamW(ps, lr=1e-2),
    "rmsprop": lambda ps: nn.optim.RMSprop(ps, lr=1e-2),
    "rmsprop_centered_momentum": lambda ps: nn.optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
    "adagrad": lambda ps: nn.optim.Adagrad(ps, lr=1e-2, lr_decay=1e-2, weight_decay=1e-3,
                                           initial_accumulator_value=0.1),
    "adadelta": lambda ps: nn.optim.Adadelta(ps, weight_decay=1e-3),
}


def _small_classifier():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 12), nn.Tanh(), nn.Linear(12, 4))


def _classification_batches():
    rng = _rng()
    xs = [mg.tensor(rng.standard_normal((8, 10)), dtype=mg.float32) for _ in range(STEPS)]
    ys = [mg.tensor(rng.integers(0, 4, 8)) for _ in range(STEPS)]
    return lambda i: (xs[i], ys[i])


def _optimizer_runs(make_optimizer, make_scheduler, where):
    """Eager and compiled runs of the small classifier with ``make_optimizer``; the scheduler (if any) steps
    ``where``: 'between' calls, or 'inside' the compiled function. Each run: the (loss, lr) of every step,
    and the final state."""
    batch = _classification_batches()
    runs = []
    for compiled in (False, True):
        model = _small_classifier()
        optimizer = make_optimizer(model.parameters())
        scheduler = make_scheduler(optimizer) if make_scheduler else None
        step = _make_step(model, optimizer, lambda m, x, y: F.cross_entropy(m(x), y),
                          scheduler=scheduler if where == "inside" else None)
        if compiled:
            step = mg_compile(step)
        losses = []
        for i in range(STEPS):
            losses.append((_bits(step(*batch(i))), optimizer.param_groups[0]["lr"]))
            if scheduler is not None and where == "between":
                scheduler.step()
        runs.append((losses, _state(model, optimizer)))
        if compiled:
            assert step.captures == 1
    return runs


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("where", ["no_scheduler", "between", "inside"])
def test_every_optimizer_with_a_scheduler_between_or_inside_the_calls_over_50_steps(name, where):
    make_scheduler = None if where == "no_scheduler" else lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5)
    (eager_losses, eager_state), (compiled_losses, compiled_state) = _optimizer_runs(OPTIMIZERS[name],
                                                                                     make_scheduler, where)
    assert eager_losses == compiled_losses and eager_state == compiled_state
    assert len({lr for _, lr in compiled_losses}) == (1 if where == "no_scheduler" else STEPS // 7 + 1)


def test_the_optimizers_tested_are_every_optimizer_of_nn_optim():
    classes = {type(make([mg.zeros(1, requires_grad=True)])) for make in OPTIMIZERS.values()}
    everyone = {getattr(nn.optim, name) for name in nn.optim.__all__ if name not in ("Optimizer", "lr_scheduler")}
    assert classes == everyone


SCHEDULERS = {
    "StepLR": lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda o: lr_scheduler.MultiStepLR(o, milestones=[5, 5, 20], gamma=0.5),
    "ExponentialLR": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.95),
    "CosineAnnealingLR": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
    "LambdaLR": lambda o: lr_scheduler.LambdaLR(o, lambda epoch: 1 / (1 + epoch)),
    "MultiplicativeLR": lambda o: lr_scheduler.MultiplicativeLR(o, lambda epoch: 0.97),
    "ConstantLR": lambda o: lr_scheduler.ConstantLR(o, factor=0.5, total_iters=6),
    "LinearLR": lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=8),
    "PolynomialLR": lambda o: lr_scheduler.PolynomialLR(o, total_iters=40, power=2.0),
    "SequentialLR": lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=4), lr_scheduler.ExponentialLR(o, 0.9)],
        milestones=[4]),
    "CosineAnnealingWarmRestarts": lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2),
    "OneCycleLR": lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=STEPS + 5),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_every_scheduler_stepped_inside_the_compiled_step_replays_its_schedule(name):
    make_optimizer = OPTIMIZERS["adam"] if name == "OneCycleLR" else OPTIMIZERS["sgd_momentum_dampening"]
    (eager_losses, eager_state), (compiled_losses, compiled_state) = _optimizer_runs(
        make_optimizer, SCHEDULERS[name], "inside")
    assert eager_losses == compiled_losses and eager_state == compiled_state
    assert len({lr for _, lr in compiled_losses}) > 1  # the schedule moved the lr inside the replays


def test_the_schedulers_tested_are_every_scheduler_but_the_one_that_reads_a_value():
    assert set(SCHEDULERS) | {"ReduceLROnPlateau", "LRScheduler"} == set(lr_scheduler.__all__)


def test_reduce_lr_on_plateau_inside_a_compiled_step_is_refused():
    model = _small_classifier()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer)

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step(1.0)
        return loss

    with pytest.raises(CompileError, match="ReduceLROnPlateau.step.*outside the compiled function"):
        mg_compile(step)(*_classification_batches()(0))
    scheduler.step(1.0)  # eagerly as before


def test_model_zero_grad_inside_a_compiled_step_clears_at_every_replay():
    def build():
        model = _small_classifier()
        return model, nn.optim.SGD(model.parameters(), lr=0.1), lambda m, x, y: F.cross_entropy(m(x), y)

    def build_with_model_zero_grad():
        model, optimizer, loss_of = build()
        optimizer.zero_grad = model.zero_grad  # the model clears, not the optimizer
        return model, optimizer, loss_of

    _train_twice(build_with_model_zero_grad, _classification_batches(), steps=10, check=2)


# ---- BatchNorm: statistics, train() and eval() -----------------------------------------------------------------

def _batch_norm_net(momentum, dims=1):
    mg.manual_seed(0)
    if dims == 1:
        return nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6, momentum=momentum), nn.ReLU(), nn.Linear(6, 3))
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4, momentum=momentum), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def _batch_norm_inputs(dims, count=STEPS):
    rng = _rng()
    shape = (8, 5) if dims == 1 else (8, 2, 4, 4)
    xs = [mg.tensor(rng.standard_normal(shape) * 2 + 1, dtype=mg.float32) for _ in range(count)]
    ys = [mg.tensor(rng.integers(0, 3, 8)) for _ in range(count)]
    return xs, ys


def _train_eval_train(model, step, xs, ys):
    """Train 20 steps, evaluate 10 (the step in eval mode: the loss from the running statistics, which stay
    put), train 20 more; returns every loss and the model's state after each phase."""
    out = []
    for i, (x, y) in enumerate(zip(xs, ys)):
        if i == 20:
            model.eval()
        if i == 30:
            model.train()
        out.append(_bits(step(x, y)))
        if i in (19, 29, len(xs) - 1):
            out.append({name: _bits(t) for name, t in model.state_dict().items()})
    return out


@pytest.mark.parametrize("momentum", [0.1, None], ids=["momentum", "cumulative"])
@pytest.mark.parametrize("dims", [1, 2])
def test_batch_norm_train_then_eval_then_train_compiled_equals_eager(momentum, dims):
    xs, ys = _batch_norm_inputs(dims)
    runs = []
    for compiled in (False, True):
        model = _batch_norm_net(momentum, dims)
        optimizer = nn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        step = _make_step(model, optimizer, lambda m, x, y: F.cross_entropy(m(x), y))
        if compiled:
            step = mg_compile(step, check=3)
        runs.append(_train_eval_train(model, step, xs, ys))
        if compiled:
            assert step.captures == 2  # training, then eval; training again replays the first capture
    assert runs[0] == runs[1]
    bn = model[1]
    assert bn.num_batches_tracked.item() == 40 and bn.num_batches_tracked.dtype == mg.int64


def test_an_eval_replay_reads_the_running_statistics_as_they_are_now():
    xs, _ = _batch_norm_inputs(1, count=6)
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6)).eval()
    bn = model[1]
    predict = mg_compile(lambda x: model(x).sum())
    rng = _rng()
    for i, x in enumerate(xs):
        if i == 2:  # written in place, as load_state_dict writes
            bn.load_state_dict({**bn.state_dict(), "running_mean": mg.tensor(rng.standard_normal(6), dtype=mg.float32)})
        if i == 4:  # a new array
            bn.running_var.data = mg.tensor(rng.random(6) + 0.5, dtype=mg.float32)
        assert _bits(predict(x)) == _bits(model(x).sum()), i
    assert predict.captures == 1


def test_batch_norm_updates_its_buffers_in_place_and_moves_their_versions():
    bn = nn.BatchNorm1d(3)
    buffers = [bn.running_mean, bn.running_var, bn.num_batches_tracked]
    arrays, versions = [t.numpy() for t in buffers], [t._version for t in buffers]
    bn(mg.randn(4, 3))
    assert all(t.numpy() is a for t, a in zip(buffers, arrays))  # a replay holding these arrays sees the update
    assert [t._version for t in buffers] == [v + 1 for v in versions]
    assert bn.num_batches_tracked.item() == 1 and not np.array_equal(bn.running_var.numpy(), np.ones(3))


# ---- checks that raise at a replay ----------------------------------------------------------------------------

def _raises_at_the_fifth_call(step, good, bad, error):
    """Four calls on ``good`` arguments (a capture and replays), then ``bad`` ones: the compiled step raises
    ``error`` with the message eager raises."""
    with pytest.raises(error) as eager:
        step(*bad)
    compiled = mg_compile(step)
    for _ in range(4):
        compiled(*good)
    with pytest.raises(error) as replayed:
        compiled(*bad)
    assert str(replayed.value) == str(eager.value) and compiled.captures == 1


def _linear_step(loss_of, out=4):
    mg.manual_seed(0)
    model = nn.Linear(6, out)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    return _make_step(model, optimizer, loss_of)


@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy_weighted", "nll_loss_ignore_index"])
def test_class_labels_out_of_range_raise_at_a_replay(loss):
    loss_of = {"cross_entropy": lambda m, x, y: F.cross_entropy(m(x), y),
               "cross_entropy_weighted": lambda m, x, y: F.cross_entropy(m(x), y, weight=mg.tensor([1., 2., 1., 1.])),
               "nll_loss_ignore_index": lambda m, x, y: F.nll_loss(F.log_softmax(m(x), dim=1), y, ignore_index=2)}
    x = mg.randn(5, 6)
    bad = mg.tensor([0, 1, 4, 3, 0]) if loss == "cross_entropy" else mg.tensor([0, -1, 2, 3, 0])
    _raises_at_the_fifth_call(_linear_step(loss_of[loss]), (x, mg.tensor([0, 1, 2, 3, 3])), (x, bad), IndexError)


def test_embedding_indices_out_of_range_raise_at_a_replay():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Embedding(5, 3), nn.Flatten(), nn.Linear(6, 2))
    step = _make_step(model, nn.optim.SGD(model.parameters(), lr=0.1), lambda m, x, y: F.cross_entropy(m(x), y))
    y = mg.tensor([0, 1, 1])
    _raises_at_the_fifth_call(step, (mg.tensor([[0, 1], [2, 3], [4, 0]]), y), (mg.tensor([[0, 1], [5, 3], [4, 0]]), y),
                              IndexError)


def test_a_negative_variance_raises_at_a_replay():
    step = _linear_step(lambda m, x, y, var: F.gaussian_nll_loss(m(x), y, var))
    x, y = mg.randn(5, 6), mg.randn(5, 4)
    good, bad = mg.rand(5, 4) + 0.1, mg.rand(5, 4)
    bad[2, 1] = -0.5
    _raises_at_the_fifth_call(step, (x, y, good), (x, y, bad), ValueError)


def test_a_batch_whose_targets_are_all_ignored_raises_at_a_replay_that_captured_others():
    step = _linear_step(lambda m, x, y: F.cross_entropy(m(x), y, ignore_index=1))
    compiled = mg_compile(step)
    x = mg.randn(5, 6)
    compiled(x, mg.tensor([0, 1, 2, 3, 0])), compiled(x, mg.tensor([1, 1, 2, 1, 0]))
    with pytest.raises(CompileError, match="targets of this call are all ignored"):
        compiled(x, mg.tensor([1, 1, 1, 1, 1]))
    assert np.isnan(step(x, mg.tensor([1, 1, 1, 1, 1])).item())  # eagerly: NaN, as in PyTorch


# ---- the losses and activations whose masks come from the data -------------------------------------------------

def _floats(rng, *shape, zeros=0.0):
    values = rng.standard_normal(shape)
    return mg.tensor(np.where(rng.random(shape) < zeros, 0.0, values), dtype=mg.float32)


def _labels(rng, n, classes=4, ignored=None):
    labels = rng.integers(0, classes, n)
    if ignored is not None:
        labels[rng.random(n) < 0.3] = ignored
        labels[0] = 0  # never all ignored (that batch takes another path: see the test above)
    return mg.tensor(labels)


WEIGHT = [1.0, 2.0, 0.5, 1.5]
LOSSES = {
    "huber": (lambda o, t: F.huber_loss(o, t, delta=0.5), lambda r: (_floats(r, 8, 4),)),
    "smooth_l1": (lambda o, t: F.smooth_l1_loss(o, t, beta=0.5), lambda r: (_floats(r, 8, 4),)),
    "kl_div": (lambda o, t: F.kl_div(F.log_softmax(o, dim=1), t, reduction="batchmean"),
               lambda r: (mg.softmax(_floats(r, 8, 4), dim=1) * mg.tensor(r.random((8, 4)) > 0.3, dtype=mg.float32),)),
    "poisson_nll_full": (lambda o, t: F.poisson_nll_loss(o, t, full=True),
                         lambda r: (mg.tensor(r.integers(0, 4, (8, 4)), dtype=mg.float32),)),
    "gaussian_nll_clamped_var": (lambda o, t, v: F.gaussian_nll_loss(o, t, v, eps=0.05),
                                 lambda r: (_floats(r, 8, 4), mg.tensor(r.random((8, 4)) * 0.2, dtype=mg.float32))),
    "gaussian_nll_var_from_the_net": (lambda o, t: F.gaussian_nll_loss(o[:, :2], t, mg.exp(o[:, 2:]) * 0.3, eps=0.2),
                                      lambda r: (_floats(r, 8, 2),)),
    "cosine_similarity_zero_rows": (lambda o, t: (1 - F.cosine_similarity(o * t, t)).mean(),
                                    lambda r: (_floats(r, 8, 4, zeros=0.3),)),
    "pairwise_distance_2": (lambda o, t: F.pairwise_distance(o, t).mean(), lambda r: (_floats(r, 8, 4),)),
    "pairwise_distance_3_zero_rows": (lambda o, t: F.pairwise_distance(o * t, t * 0, p=3, eps=0.0).mean(),
                                      lambda r: (_floats(r, 8, 4, zeros=0.5),)),
    "pairwise_distance_inf": (lambda o, t: F.pairwise_distance(o, t, p=float("inf")).mean(),
                              lambda r: (_floats(r, 8, 4),)),
    "cosine_embedding": (lambda o, t, y: F.cosine_embedding_loss(o, t, y, margin=0.2),
                         lambda r: (_floats(r, 8, 4), mg.tensor(r.choice([-1, 1], 8)))),
    "margin_ranking": (lambda o, t, y: F.margin_ranking_loss(o[:, 0], t, y),
                       lambda r: (_floats(r, 8), mg.tensor(r.choice([-1.0, 1.0], 8), dtype=mg.float32))),
    "bce": (lambda o, t: F.binary_cross_entropy(mg.sigmoid(o), t), lambda r: (mg.tensor(r.random((8, 4)),
                                                                                         dtype=mg.float32),)),
    "cross_entropy": (F.cross_entropy, lambda r: (_labels(r, 8),)),
    "cross_entropy_weighted": (lambda o, t: F.cross_entropy(o, t, weight=mg.tensor(WEIGHT)),
                               lambda r: (_labels(r, 8),)),
    "cross_entropy_ignore_index": (lambda o, t: F.cross_entropy(o, t, ignore_index=2),
                                   lambda r: (_labels(r, 8, ignored=2),)),
    "cross_entropy_smoothing_ignore_weight": (
        lambda o, t: F.cross_entropy(o, t, weight=mg.tensor(WEIGHT), ignore_index=3, label_smoothing=0.1),
        lambda r: (_labels(r, 8, ignored=3),)),
    "cross_entropy_sum_ignore_index": (lambda o, t: F.cross_entropy(o, t, ignore_index=0, reduction="sum"),
                                       lambda r: (_labels(r, 8, ignored=0),)),
    "cross_entropy_probabilities": (F.cross_entropy, lambda r: (mg.softmax(_floats(r, 8, 4), dim=1),)),
    "cross_entropy_3d": (lambda o, t: F.cross_entropy(o.reshape(4, 4, 2), t, ignore_index=1),
                         lambda r: (mg.tensor(np.where(np.arange(8).reshape(4, 2) == 0, 0,
                                                       r.integers(0, 4, (4, 2)))),)),
    "cross_entropy_unbatched": (lambda o, t: F.cross_entropy(o[0], t), lambda r: (mg.tensor(r.integers(0, 4)),)),
    "nll_loss_weighted_ignore_index": (
        lambda o, t: F.nll_loss(F.log_softmax(o, dim=1), t, weight=mg.tensor(WEIGHT), ignore_index=1),
        lambda r: (_labels(r, 8, ignored=1),)),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_loss_replayed_on_new_inputs_at_every_call_equals_eager(name):
    loss, make_targets = LOSSES[name]
    rng = _rng()
    inputs = [(_floats(rng, 8, 6) * 2,) + make_targets(rng) for _ in range(8)]

    def build():
        mg.manual_seed(0)
        model = nn.Linear(6, 4)
        return model, nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.5), lambda m, x, *t: loss(m(x), *t)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nn.MisuseWarning)
        _train_twice(build, lambda i: inputs[i], steps=len(inputs), check=2)


ACTIVATIONS = {
    "ReLU": nn.ReLU, "LeakyReLU": lambda: nn.LeakyReLU(0.1), "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh,
    "GELU": nn.GELU, "GELU_tanh": lambda: nn.GELU("tanh"), "ELU": nn.ELU, "Softplus": lambda: nn.Softplus(beta=2,
                                                                                                       threshold=1),
    "SiLU": nn.SiLU, "Mish": nn.Mish, "Hardtanh": lambda: nn.Hardtanh(-0.5, 0.5), "ReLU6": nn.ReLU6,
    "PReLU": lambda: nn.PReLU(8), "LogSigmoid": nn.LogSigmoid, "Softsign": nn.Softsign, "Hardswish": nn.Hardswish,
    "Hardsigmoid": nn.Hardsigmoid, "SELU": nn.SELU, "CELU": lambda: nn.CELU(0.5), "Softmax": lambda: nn.Softmax(1),
    "LogSoftmax": lambda: nn.LogSoftmax(1), "Softmax2d": None,
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_activation_module_compiled_equals_eager_on_new_inputs(name):
    rng = _rng()
    if name == "Softmax2d":
        def build():
            mg.manual_seed(0)
            model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.Softmax2d(), nn.Flatten(), nn.Linear(12, 4))
            return model, nn.optim.SGD(model.parameters(), lr=0.5), lambda m, x, y: F.cross_entropy(m(x), y)
        inputs = [(_floats(rng, 6, 2, 2, 2) * 4, _labels(rng, 6)) for _ in range(8)]
    else:
        def build():
            mg.manual_seed(0)
            model = nn.Sequential(nn.Linear(6, 8), ACTIVATIONS[name](), nn.Linear(8, 4))
            return model, nn.optim.SGD(model.parameters(), lr=0.5), lambda m, x, y: F.cross_entropy(m(x), y)
        inputs = [(_floats(rng, 6, 6) * 4, _labels(rng, 6)) for _ in range(8)]
    _train_twice(build, lambda i: inputs[i], steps=len(inputs), check=2)


def test_the_activations_tested_are_every_activation_module():
    from microgradnp.nn.modules import activation
    modules = {name for name, value in vars(activation).items() if isinstance(value, type)
               and issubclass(value, nn.Module) and value.__module__ == activation.__name__
               and not name.startswith("_")}
    assert modules <= set(ACTIVATIONS)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_dropout_between_recurrent_layers_draws_fresh_masks_at_every_replay(mode):
    rng = _rng()
    inputs = [(_floats(rng, 4, 5, 3), _floats(rng, 4, 4)) for _ in range(8)]

    def build():
        mg.manual_seed(0)
        rnn = getattr(nn, mode)(3, 4, num_layers=3, dropout=0.3, batch_first=True)
        return rnn, nn.optim.SGD(rnn.parameters(), lr=0.1), lambda m, x, y: F.mse_loss(m(x)[0][:, -1], y)

    _train_twice(build, lambda i: inputs[i], steps=len(inputs), check=2)


def test_an_embedding_with_a_padding_index_compiled_equals_eager_on_new_indices():
    rng = _rng()
    inputs = [(mg.tensor(rng.integers(0, 7, (4, 5))), _labels(rng, 4)) for _ in range(8)]

    def build():
        mg.manual_seed(0)
        model = nn.Sequential(nn.Embedding(7, 3, padding_idx=2), nn.Flatten(), nn.Linear(15, 4))
        return model, nn.optim.Adam(model.parameters(), lr=0.01), lambda m, x, y: F.cross_entropy(m(x), y)

    _train_twice(build, lambda i: inputs[i], steps=len(inputs), check=2)
