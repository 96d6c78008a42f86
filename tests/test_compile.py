"""mg.compile: capture a training step once, replay it, bit for bit as eager."""
import collections
import re
import warnings

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import CompileError, nn
from microgradnp import compile as mg_compile

from training_steps import tutorial_step


def _bits(t):
    return t.numpy().tobytes()


def _xor(seed=0):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 8, dtype=mg.float64), nn.LeakyReLU(0.01), nn.Linear(8, 1, dtype=mg.float64),
                          nn.Sigmoid())
    return model, nn.BCELoss(), nn.optim.SGD(model.parameters(), lr=0.5)


def _mlp(seed=0):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 5))
    return model, nn.CrossEntropyLoss(), nn.optim.SGD(model.parameters(), lr=0.1)


_step = tutorial_step


def _batches(kind, count, batch):
    rng = np.random.default_rng(1)
    if kind == "xor":
        x = mg.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=mg.float64)
        y = mg.tensor([[0], [1], [1], [0]], dtype=mg.float64)
        return [(x, y)] * count
    return [(mg.tensor(rng.standard_normal((batch, 20)).astype(np.float32)),
             mg.tensor(rng.integers(0, 5, batch))) for _ in range(count)]


@pytest.mark.parametrize("kind, batch", [("xor", 4), ("mlp", 128), ("mlp", 3)])
@pytest.mark.parametrize("buffers", [True, False])
def test_replay_equals_eager_bit_for_bit(kind, batch, buffers):
    build = _xor if kind == "xor" else _mlp
    eager, compiled = _step(*build()), mg_compile(_step(*build()), check=2, buffers=buffers)
    a_model, b_model = eager.__closure__, compiled.step_fn.__closure__
    for x, y in _batches(kind, 12, batch):
        assert _bits(eager(x, y)) == _bits(compiled(x, y))
    models = [c.cell_contents for c in a_model if isinstance(c.cell_contents, nn.Module)]
    models += [c.cell_contents for c in b_model if isinstance(c.cell_contents, nn.Module)]
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        assert _bits(p) == _bits(q) and _bits(p.grad) == _bits(q.grad)
    assert compiled.captures == 1


def test_a_new_signature_captures_again_and_the_lr_may_change():
    model, loss_fn, optimizer = _mlp()
    twin = _mlp()
    compiled, eager = mg_compile(_step(model, loss_fn, optimizer)), _step(*twin)
    for i, (x, y) in enumerate(_batches("mlp", 3, 8) + _batches("mlp", 3, 5) + _batches("mlp", 2, 8)):
        optimizer.param_groups[0]["lr"] = twin[2].param_groups[0]["lr"] = 0.1 / (i + 1)
        assert _bits(compiled(x, y)) == _bits(eager(x, y))
    assert compiled.captures == 2


def test_check_mode_raises_on_a_difference():
    model, loss_fn, optimizer = _mlp()
    compiled = mg_compile(_step(model, loss_fn, optimizer), check=3)
    x, y = _batches("mlp", 1, 8)[0]
    compiled(x, y)
    replay = list(compiled.cache.values())[0]
    broken = lambda *arrays: replay[0](*arrays) + 1  # noqa: E731  a replay that is wrong on purpose
    compiled.cache[next(iter(compiled.cache))] = (broken,) + replay[1:]
    with pytest.raises(CompileError, match=r"differs from eager in the result at result: 1 of 1 elements differ, by up "
                                           r"to 1 \(shape \(\), float32\)"):
        compiled(x, y)


def test_every_apply_path_is_recorded_and_an_unregistered_primitive_too():
    # apply1 (tanh), apply2 (mul), apply3 (linear), apply (keywords, a view, a saving primitive), out=
    from microgradnp.autograd.graph import Primitive
    cube = Primitive("cube", lambda x: x ** 3, vjp=lambda xp, g, ans, x: g * 3 * x * x)

    def build():
        mg.manual_seed(3)
        lin = nn.Linear(6, 4, dtype=mg.float64)
        opt = nn.optim.SGD(lin.parameters(), lr=0.1)
        scratch = mg.zeros(4, dtype=mg.float64)

        def step(x, y):
            opt.zero_grad()
            h = mg.tanh(lin(x)) * 2.0
            h = cube(h).reshape(-1, 2).sum(dim=1, keepdim=True)
            mg.mul(h.detach()[:4, 0], 1.5, out=scratch)
            loss = nn.functional.cross_entropy(h.reshape(-1, 4), y) + (scratch * h.reshape(-1)[:4]).sum()
            loss.backward()
            opt.step()
            return loss
        return step, lin, scratch

    (eager, lin_a, scratch_a), (step, lin_b, scratch_b) = build(), build()
    compiled = mg_compile(step, check=2)
    rng = np.random.default_rng(0)
    for _ in range(6):
        x = mg.tensor(rng.standard_normal((4, 6)))
        y = mg.tensor(rng.integers(0, 4, 2))
        assert _bits(eager(x, y)) == _bits(compiled(x, y))
    assert _bits(lin_a.weight) == _bits(lin_b.weight) and _bits(scratch_a) == _bits(scratch_b)
    assert compiled.captures == 1


@pytest.mark.parametrize("read", [lambda t: t.item(), lambda t: bool(t > 0), lambda t: float(t),
                                  lambda t: t.numpy(), lambda t: t.tolist(), lambda t: int(t)],
                         ids=["item", "bool", "float", "numpy", "tolist", "int"])
def test_a_step_that_reads_a_value_it_computed_is_refused(read):
    model, loss_fn, optimizer = _mlp()

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        if read(loss):  # value-dependent control flow
            loss.backward()
        optimizer.step()
        return loss

    x, y = _batches("mlp", 1, 8)[0]
    with pytest.raises(CompileError, match=r"mg.compile: the step reads a tensor's value with .*value-dependent"):
        mg_compile(step)(x, y)
    assert _bits(loss_fn(model(x), y)) is not None  # eager still works after the refused capture
    x.numpy(), x.tolist()  # the inputs' values may be read (a signature holds their shapes only)


def test_a_value_computed_outside_the_recorded_ops_is_refused_when_an_op_reads_it():
    model, loss_fn, optimizer = _mlp()

    def step(x, y):
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out * (out > 0), y)  # a comparison: no primitive, its mask would be replayed stale
        loss.backward()
        optimizer.step()
        return loss

    x, y = _batches("mlp", 1, 8)[0]
    with pytest.raises(CompileError, match="computed outside the recorded ops"):
        mg_compile(step)(x, y)


def _dropout_net(seed=0):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 5))
    return model, nn.CrossEntropyLoss(), nn.optim.SGD(model.parameters(), lr=0.1)


def test_dropout_draws_a_fresh_mask_per_call_and_train_eval_captures_again():
    a, b = _dropout_net(), _dropout_net()
    eager, compiled = _step(*a), mg_compile(_step(*b), check=2)
    batches = _batches("mlp", 12, 8)
    mg.manual_seed(7)
    want = []
    for i, (x, y) in enumerate(batches):
        if i == 6:
            a[0].eval()
        if i == 9:
            a[0].train()
        want.append(_bits(eager(x, y)))
    mg.manual_seed(7)
    for i, (x, y) in enumerate(batches):
        if i == 6:
            b[0].eval()
        if i == 9:
            b[0].train()
        assert _bits(compiled(x, y)) == want[i], i
    assert compiled.captures == 2  # training, then eval (training again finds the first capture)
    for p, q in zip(a[0].parameters(), b[0].parameters()):
        assert _bits(p) == _bits(q)
    # the masks differ from call to call: two replays of one batch give two losses
    x, y = batches[0]
    assert _bits(compiled(x, y)) != _bits(compiled(x, y))


OPTIMIZERS = {
    "sgd_momentum": lambda ps: nn.optim.SGD(ps, lr=0.05, momentum=0.9),
    "sgd_nesterov_wd": lambda ps: nn.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda ps: nn.optim.Adam(ps, lr=1e-2),
    "adam_amsgrad": lambda ps: nn.optim.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda ps: nn.optim.AdamW(ps, lr=1e-2),
    "rmsprop": lambda ps: nn.optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
    "adagrad": lambda ps: nn.optim.Adagrad(ps, lr=1e-2),
    "adadelta": lambda ps: nn.optim.Adadelta(ps),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("scheduled", [False, True], ids=["fixed_lr", "scheduler"])
def test_every_optimizer_replays_bit_for_bit_over_20_steps(name, scheduled):
    runs = []
    for compiled in (False, True):
        model, loss_fn, _ = _mlp()
        optimizer = OPTIMIZERS[name](model.parameters())
        scheduler = nn.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5) if scheduled else None
        step = _step(model, loss_fn, optimizer)
        if compiled:
            step = mg_compile(step, check=2)
        losses = []
        for x, y in _batches("mlp", 20, 8):
            losses.append(_bits(step(x, y)))
            if scheduler is not None:
                scheduler.step()  # the lr changes between calls: the replay reads it from the groups
        runs.append((losses, [_bits(p) for p in model.parameters()], optimizer.state_dict()))
        if compiled:
            assert step.captures == 1
    (la, pa, sa), (lb, pb, sb) = runs
    assert la == lb and pa == pb
    for k, state in sa["state"].items():
        for n, v in state.items():
            assert np.asarray(v).tobytes() == np.asarray(sb["state"][k][n]).tobytes(), (k, n)


def test_check_true_means_three_replays_side_by_side_and_an_int_that_many():
    for check, expected in ((True, 3), (2, 2), (False, 0)):
        model, loss_fn, optimizer = _mlp()
        compiled = mg_compile(_step(model, loss_fn, optimizer), check=check)
        for x, y in _batches("mlp", 6, 8):
            compiled(x, y)
        assert compiled.checked == expected
    with pytest.raises(TypeError, match="check must be"):
        mg_compile(lambda: None, check="yes")


def test_captures_for_ever_new_signatures_warn_once_when_the_cache_evicts():
    model, loss_fn, optimizer = _mlp()
    compiled = mg_compile(_step(model, loss_fn, optimizer), cache_size=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for batch in (3, 4, 5, 6, 7):
            compiled(*_batches("mlp", 1, batch)[0])
    messages = [str(w.message) for w in caught if "mg.compile" in str(w.message)]
    assert len(messages) == 1 and "cache_size=2" in messages[0] and "evicts" in messages[0]
    assert caught[0].filename == __file__  # attributed to the call in user code
    assert compiled.captures == 5 and len(compiled.cache) == 2


def _set_data(model, new):
    for p, v in zip(model.parameters(), new):
        p.data = mg.tensor(v.copy())  # a new array: the replay must read it from the parameter


def _load_state_dict(model, new):
    model.load_state_dict({k: mg.tensor(v.copy()) for k, v in zip(model.state_dict(), new)})


def _copy_under_no_grad(model, new):
    with mg.no_grad():
        for p, v in zip(model.parameters(), new):
            p.copy_(mg.tensor(v))


@pytest.mark.parametrize("change", [_set_data, _load_state_dict, _copy_under_no_grad],
                         ids=["data", "load_state_dict", "copy_"])
@pytest.mark.parametrize("buffers", [True, False])
def test_parameters_changed_between_calls_are_read_at_every_replay(change, buffers):
    rng = np.random.default_rng(5)
    runs = []
    for compiled in (False, True):
        model, loss_fn, optimizer = _mlp()
        new = [rng.standard_normal(p.shape).astype(np.float32) for p in model.parameters()]
        rng = np.random.default_rng(5)
        step = _step(model, loss_fn, optimizer)
        if compiled:
            step = mg_compile(step, check=1, buffers=buffers)
        losses = []
        for i, (x, y) in enumerate(_batches("mlp", 10, 8)):
            if i in (4, 7):
                change(model, new)
            losses.append(_bits(step(x, y)))
        runs.append((losses, [_bits(p) for p in model.parameters()]))
        if compiled:
            assert step.captures == 1
    assert runs[0] == runs[1]


def test_a_parameter_given_another_shape_captures_again():
    model, loss_fn, optimizer = nn.Linear(4, 3), nn.MSELoss(), None
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    compiled = mg_compile(_step(model, loss_fn, optimizer))
    x, y = mg.randn(5, 4), mg.randn(5, 3)
    compiled(x, y), compiled(x, y)
    twin = nn.Linear(4, 3)
    twin.load_state_dict(model.state_dict())
    model.bias.data = mg.zeros(1)  # broadcasts: another shape, so another backward (a sum_to) and update
    twin.bias.data = mg.zeros(1)
    want = _step(twin, loss_fn, nn.optim.SGD(twin.parameters(), lr=0.1))(x, y)
    assert _bits(compiled(x, y)) == _bits(want) and compiled.captures == 2
    assert _bits(model.bias) == _bits(twin.bias) and model.bias.shape == (1,)


CLIPS = {
    "norm": lambda ps: nn.utils.clip_grad_norm_(ps, max_norm=0.5),
    "norm_inf": lambda ps: nn.utils.clip_grad_norm_(ps, max_norm=0.05, norm_type=float("inf")),
    "value": lambda ps: nn.utils.clip_grad_value_(ps, clip_value=0.01),
}


@pytest.mark.parametrize("clip", sorted(CLIPS))
@pytest.mark.parametrize("buffers", [True, False])
def test_gradient_clipping_inside_the_step_is_one_replay_step_bit_for_bit(clip, buffers):
    runs = []
    for compiled in (False, True):
        model, loss_fn, _ = _mlp()
        optimizer = nn.optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y, model=model, loss_fn=loss_fn, optimizer=optimizer):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            CLIPS[clip](model.parameters())
            optimizer.step()
            return loss

        if compiled:
            step = mg_compile(step, check=2, buffers=buffers)
        losses = [_bits(step(x, y)) for x, y in _batches("mlp", 20, 8)]
        runs.append((losses, [_bits(p) for p in model.parameters()], [_bits(p.grad) for p in model.parameters()]))
        if compiled:
            assert step.captures == 1
            source = next(iter(step.cache.values()))[0].source
            clip_fn = nn.utils.clip_grad._clip_value if clip == "value" else nn.utils.clip_grad._clip_norm
            scope = next(iter(step.cache.values()))[0].__globals__
            names = [k for k, v in scope.items() if v is clip_fn]
            assert len(names) == 1 and source.count(names[0] + "(") == 1  # one replay step
    assert runs[0] == runs[1]


def test_clip_grad_norm_returns_the_norm_and_eager_is_unchanged():
    model, loss_fn, optimizer = _mlp()
    x, y = _batches("mlp", 1, 8)[0]
    loss_fn(model(x), y).backward()
    before = [p.grad.numpy().copy() for p in model.parameters()]
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1e9)
    want = np.linalg.norm([np.linalg.norm(g.ravel()) for g in before])
    assert norm.dtype == mg.float32 and norm.shape == () and np.isclose(norm.item(), want)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def _replaced():
    from microgradnp.tensor import arrays_replaced
    return arrays_replaced[0]


def test_arrays_replaced_moves_where_a_tensors_array_is_replaced_and_nowhere_else():
    p = nn.Parameter(mg.zeros(3))
    model, loss_fn, optimizer = _mlp()
    step = _step(model, loss_fn, optimizer)
    x, y = _batches("mlp", 1, 8)[0]
    before = _replaced()
    step(x, y)  # an eager step: new tensors and writes in place only
    with mg.no_grad():
        p.copy_(mg.ones(3))
        p[...] = 2.0
        mg.add(p, 1.0, out=p)  # same shape: written in place
    model.load_state_dict(model.state_dict())
    assert _replaced() == before
    for replace in (lambda: setattr(p, "data", mg.ones(3)),
                    lambda: mg.add(mg.ones(2), 1.0, out=mg.zeros(3)),  # resized: a new array
                    lambda: (mg.ones(3, requires_grad=True) * 2).add_(1.0),  # recorded in place: rebinds
                    lambda: mg.autograd.gradcheck(lambda t: (t * t).sum(), (mg.ones(2, dtype=mg.float64,
                                                                                       requires_grad=True),))):
        count = _replaced()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            replace()
        assert _replaced() > count


def test_every_array_replacement_in_the_engine_and_nn_bumps_the_count():
    """An assignment ``t._array = ...`` to a Tensor that may be held elsewhere (not one just made by
    ``_new(Tensor)``, nor ``self`` in ``__init__``) sits in a function that bumps ``arrays_replaced``."""
    import ast
    import pathlib
    root = pathlib.Path(mg.__file__).parent
    unbumped = []
    for path in sorted(list(root.rglob("*.py")) + list((root.parent / "nn").rglob("*.py"))):
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            fresh = {t.id for node in ast.walk(fn) if isinstance(node, ast.Assign)
                     and isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "_new"
                     for t in node.targets if isinstance(t, ast.Name)}
            if fn.name == "__init__":
                fresh.add("self")
            targets = [t for node in ast.walk(fn) if isinstance(node, ast.Assign) for target in node.targets
                       for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
            replaced = [t for t in targets if isinstance(t, ast.Attribute) and t.attr == "_array"
                        and not (isinstance(t.value, ast.Name) and t.value.id in fresh)]
            if replaced and "arrays_replaced[0] += 1" not in ast.unparse(fn):
                unbumped.append(f"{path.relative_to(root.parent)}:{fn.lineno} {fn.name}")
    assert not unbumped


def test_a_replay_reads_the_parameters_again_only_after_an_array_was_replaced():
    model, loss_fn, optimizer = _mlp()
    compiled = mg_compile(_step(model, loss_fn, optimizer))
    x, y = _batches("mlp", 1, 8)[0]
    compiled(x, y)
    source = next(iter(compiled.cache.values()))[0].source
    # (the only arrays read from Tensors: a gradient's Tensor, kept from call to call, checked for its buffer)
    reads = [line for line in source.splitlines() if "._array" in line]
    kept_grad = re.compile(r"    c\d+\._grad = (c\d+) if \1\._array is s\d+ else c\d+\(s\d+\)")
    assert reads and all(kept_grad.fullmatch(line) for line in reads)
    assert source.count("seen_replaced") == 1
    compiled(x, y)
    other = mg.zeros(2)
    other.data = mg.ones(2)  # another tensor's: the replay reads its parameters again, finds them unchanged
    twin_model, _, twin_optimizer = _mlp()
    twin_model.load_state_dict(model.state_dict())
    want = _step(twin_model, loss_fn, nn.optim.SGD(twin_model.parameters(), lr=0.1))(x, y)
    assert _bits(compiled(x, y)) == _bits(want) and compiled.captures == 1


@pytest.mark.parametrize("reset", ["zero_", "none"])
def test_a_hand_written_update_under_no_grad_replays_as_the_tutorials_write_it(reset):
    # "What is torch.nn really?", part one: weights updated in place under no_grad, gradients reset by hand;
    # plus an in-place op on an intermediate and noise drawn in place, fresh at every call
    def make():
        mg.manual_seed(3)
        weights = (mg.randn(6, 4, dtype=mg.float64) / 6 ** 0.5).requires_grad_()
        bias = mg.zeros(4, dtype=mg.float64, requires_grad=True)
        return weights, bias

    def step_of(weights, bias):
        def step(x, y):
            nonlocal weights, bias  # (rebound by -=, as in the tutorial's loop)
            noise = mg.empty((x.shape[0], 4), dtype=mg.float64).normal_(0.0, 0.01)
            hidden = x @ weights + bias
            hidden.add_(noise).clamp_(min=-3.0)
            loss = nn.functional.cross_entropy(hidden, y)
            loss.backward()
            with mg.no_grad():
                weights -= weights.grad * 0.5
                bias.sub_(bias.grad, alpha=0.5)
                if reset == "zero_":
                    weights.grad.zero_()
                    bias.grad.zero_()
                else:
                    weights.grad = None
                    bias.grad = None
            return loss
        return step

    rng = np.random.default_rng(8)
    batches = [(mg.tensor(rng.standard_normal((5, 6))), mg.tensor(rng.integers(0, 4, 5))) for _ in range(5)]
    eager, replayed = make(), make()
    eager_step, compiled = step_of(*eager), mg_compile(step_of(*replayed), check=2)
    mg.manual_seed(11)
    eager_losses = [eager_step(*batches[i % 5]).numpy() for i in range(50)]
    mg.manual_seed(11)
    replayed_losses = [compiled(*batches[i % 5]).numpy() for i in range(50)]
    assert compiled.captures == 1
    assert [a.tobytes() for a in eager_losses] == [b.tobytes() for b in replayed_losses]
    assert len({a.tobytes() for a in replayed_losses[:5]}) == 5
    for a, b in zip(eager, replayed):
        assert _bits(a) == _bits(b)
        assert (a.grad is None) == (b.grad is None) and (a.grad is None or _bits(a.grad) == _bits(b.grad))


def test_tensors_made_inside_the_step_are_made_again_at_every_replay():
    # a VAE's reparameterisation draws fresh noise each step; a zeros tensor written in place starts at zero
    # each step; mg.tensor of a computed value copies the value of that call
    mg.manual_seed(0)
    model = nn.Linear(3, 4, dtype=mg.float64)

    def step(x):
        eps = mg.randn_like(x) + mg.rand(x.shape, dtype=mg.float64) + mg.normal(0.0, 1.0, x.shape, dtype=mg.float64)
        counts = mg.zeros(4, dtype=mg.float64)
        with mg.no_grad():
            counts += mg.tensor(x.sum(0).detach()).sum() + mg.randint(0, 5, (4,)) + mg.bernoulli(mg.full((4,), 0.5))
        loss = (model(x + eps).sum(0) * counts).sum() + mg.randperm(4).double().sum()
        loss.backward()
        return loss

    rng = np.random.default_rng(9)
    inputs = [mg.tensor(rng.standard_normal((2, 3))) for _ in range(6)]
    mg.manual_seed(5)
    eager = [step(x).numpy() for x in inputs]
    eager_grad = model.weight.grad.numpy().copy()
    model.weight.grad = model.bias.grad = None
    compiled = mg_compile(step, check=2)
    mg.manual_seed(5)
    replayed = [compiled(x).numpy() for x in inputs]
    assert compiled.captures == 1
    assert [a.tobytes() for a in eager] == [b.tobytes() for b in replayed]
    assert _bits(model.weight.grad) == eager_grad.tobytes()
def _two_layer(seed=0):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5))
    return model, nn.optim.SGD(model.parameters(), lr=0.1)


def _structured_step(model, optimizer):
    Out = _StepOutput

    def step(x, y):
        optimizer.zero_grad()
        hidden = model[1](model[0](x))  # a linear and a relu: both may write into a replay's buffers
        logits = model[2](hidden)
        loss = nn.functional.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        return Out(loss, {"logits": logits, "first_rows": hidden[:2], "batch": 8, "tag": "train"},
                   [loss, model[0].weight, model[0].weight.grad, None, 0.5])
    return step


_StepOutput = collections.namedtuple("_StepOutput", "loss extra more")


@pytest.mark.parametrize("buffers", [True, False])
def test_a_step_returning_a_structure_replays_it_with_fresh_tensors_that_the_next_call_keeps(buffers):
    eager_model, eager_opt = _two_layer()
    model, optimizer = _two_layer()
    eager, compiled = _structured_step(eager_model, eager_opt), mg_compile(_structured_step(model, optimizer),
                                                                           check=2, buffers=buffers)
    kept = []
    for x, y in _batches("mlp", 6, 8):
        want, got = eager(x, y), compiled(x, y)
        assert type(got) is _StepOutput and list(got.extra) == ["logits", "first_rows", "batch", "tag"]
        assert got.extra["batch"] == 8 and got.extra["tag"] == "train" and got.more[3:] == [None, 0.5]
        assert got.more[0] is got.loss  # one Tensor returned twice is one object, as eager's
        assert got.more[1] is model[0].weight and got.more[2] is model[0].weight.grad  # state: the objects
        for a, b in ((want.loss, got.loss), (want.extra["logits"], got.extra["logits"]),
                     (want.extra["first_rows"], got.extra["first_rows"]), (want.more[2], got.more[2])):
            assert _bits(a) == _bits(b)
        kept.append((got, [_bits(t) for t in (got.loss, got.extra["logits"], got.extra["first_rows"])]))
    for got, bits in kept:  # no later replay wrote into a result (results escape the replay's buffers)
        assert [_bits(t) for t in (got.loss, got.extra["logits"], got.extra["first_rows"])] == bits
    assert kept[-1][0].loss.grad_fn is None and kept[-1][0].extra["logits"].grad_fn is None  # replayed: graph-free
    assert compiled.captures == 1 and compiled.checked == 2


def _refused(returns):
    model, optimizer = _two_layer()

    def step(x, y):
        optimizer.zero_grad()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        return returns(loss, logits, x)

    with pytest.raises(CompileError) as caught:
        mg_compile(step)(*_batches("mlp", 1, 8)[0])
    return str(caught.value)


def test_a_step_returning_what_a_replay_cannot_return_is_refused_naming_it():
    message = _refused(lambda loss, logits, x: {"loss": loss, "hits": logits.argmax(dim=1)})
    assert "computed outside the recorded ops" in message and "at result['hits']" in message
    message = _refused(lambda loss, logits, x: [loss, np.zeros(3)])
    assert "returned a ndarray at result[1]" in message
    message = _refused(lambda loss, logits, x: (loss, mg.from_numpy(np.ones(2))))
    assert "a Tensor that the step did not compute (shape (2,), float64) at result[1]" in message


def test_a_step_returning_its_input_or_a_tensor_it_made_returns_that_calls():
    model, optimizer = _two_layer()

    def step(x, y):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss, x, mg.ones(2)

    compiled = mg_compile(step)
    for x, y in _batches("mlp", 3, 8):
        loss, same, ones = compiled(x, y)
        assert same is x and _bits(ones) == np.ones(2, np.float32).tobytes()
    assert compiled.captures == 1


def _leaky_net(seed):
    # eager work for another thread: module calls, a replayable slope array, backward, an optimizer step
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 16), nn.LeakyReLU(0.1), nn.Linear(16, 5))
    return model, nn.CrossEntropyLoss(), nn.optim.Adam(model.parameters(), lr=1e-2)


def _eager_losses(model, loss_fn, optimizer, batches):
    step = _step(model, loss_fn, optimizer)
    return [step(x, y).item() for x, y in batches]  # .item(): a value read, refused only inside a capture


def test_a_capture_in_one_thread_records_nothing_of_another_threads_eager_ops():
    import threading
    batches = _batches("mlp", 6, 8)
    model, loss_fn, optimizer = _mlp()
    inside, finished = threading.Event(), threading.Event()

    def step(x, y):  # its Python runs only while captured: it waits there for the other thread's work
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        inside.set()
        assert finished.wait(30)
        loss.backward()
        optimizer.step()
        return loss

    other_results = []

    def other_thread():
        assert inside.wait(30)
        try:
            other_results.append(_eager_losses(*_leaky_net(1), batches))
        except Exception as error:  # (reported by the main thread)
            other_results.append(error)
        finished.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    compiled = mg_compile(step)
    got = [_bits(compiled(x, y)) for x, y in batches]
    worker.join()
    assert other_results == [_eager_losses(*_leaky_net(1), batches)]  # unaffected by the capture
    alone = mg_compile(_step(*_mlp()))
    want = [_bits(alone(x, y)) for x, y in batches]
    assert got == want  # the replay holds this thread's ops only
    assert next(iter(compiled.cache.values()))[4] == next(iter(alone.cache.values()))[4]


def test_two_threads_capturing_at_once_each_replay_bit_for_bit():
    import threading
    batches = _batches("mlp", 8, 8)
    start = threading.Barrier(2)
    results = {}

    def run(name, build):
        compiled = mg_compile(_step(*build()), check=1)
        start.wait(30)
        results[name] = ([_bits(compiled(x, y)) for x, y in batches], compiled.captures)

    threads = [threading.Thread(target=run, args=(name, build)) for name, build in
               (("mlp", _mlp), ("leaky", lambda: _leaky_net(2)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, build in (("mlp", _mlp), ("leaky", lambda: _leaky_net(2))):
        eager = _step(*build())
        assert results[name] == ([_bits(eager(x, y)) for x, y in batches], 1), name


def _twins(build=_mlp):
    """A compiled step and an eager twin, from the same seed."""
    model, loss_fn, optimizer = build()
    twin, twin_loss_fn, twin_optimizer = build()
    return model, mg_compile(_step(model, loss_fn, optimizer)), twin, _step(twin, twin_loss_fn, twin_optimizer)


def test_a_monitor_attached_after_the_capture_sees_every_step_the_compiled_step_then_runs_eagerly():
    model, compiled, twin, eager = _twins()
    batches = _batches("mlp", 9, 8)
    for x, y in batches[:3]:  # a capture and two replays
        assert _bits(compiled(x, y)) == _bits(eager(x, y))
    with mg.viz.Monitor(model) as monitor:  # (a monitor sees every backward: one at a time)
        got = [_bits(compiled(x, y)) for x, y in batches[3:6]]
    with mg.viz.Monitor(twin) as twin_monitor:
        assert got == [_bits(eager(x, y)) for x, y in batches[3:6]]
    assert sorted(monitor.losses) == [1, 2, 3] and len(monitor.records) == 3  # it saw every step
    assert monitor.losses == twin_monitor.losses and compiled.eager_calls == 3
    for x, y in batches[6:]:  # detached: replays again
        assert _bits(compiled(x, y)) == _bits(eager(x, y))
    assert compiled.eager_calls == 3 and compiled.captures == 1
    assert [_bits(p) for p in model.parameters()] == [_bits(p) for p in twin.parameters()]


def test_a_tensor_or_module_hook_added_after_the_capture_runs_while_it_lives():
    model, compiled, twin, eager = _twins()
    batches = iter(_batches("mlp", 12, 8))
    calls = []

    def run(count):
        for _ in range(count):
            x, y = next(batches)
            assert _bits(compiled(x, y)) == _bits(eager(x, y))

    run(2)
    handles = [m[0].weight.register_hook(lambda g: calls.append("grad") or g * 0.5) for m in (model, twin)]
    run(3)
    assert calls == ["grad"] * 6 and compiled.eager_calls == 3  # the hook ran (and halved the gradient)
    for handle in handles:
        handle.remove()
    run(2)
    assert calls == ["grad"] * 6 and compiled.eager_calls == 3  # removed: replays again
    handle = model[1].register_forward_hook(lambda module, args, out: calls.append("forward"))
    run(2)
    assert calls.count("forward") == 2 and compiled.eager_calls == 5
    handle.remove()
    run(3)
    assert calls.count("forward") == 2 and compiled.eager_calls == 5 and compiled.captures == 1
    assert [_bits(p) for p in model.parameters()] == [_bits(p) for p in twin.parameters()]


def test_a_hook_present_when_the_step_is_captured_runs_at_every_later_call_too():
    model, compiled, twin, eager = _twins()
    calls = []
    model[2].register_forward_hook(lambda module, args, out: calls.append(1))
    for x, y in _batches("mlp", 4, 8):
        assert _bits(compiled(x, y)) == _bits(eager(x, y))
    assert len(calls) == 4 and compiled.captures == 1 and compiled.eager_calls == 3


def test_the_engine_reads_the_module_hook_tables_by_nn_names():
    from microgradnp.compiled_step import _MODULE_HOOK_TABLES
    from nn import hooks
    assert _MODULE_HOOK_TABLES == hooks.HOOK_TABLES


def test_the_hook_count_moves_at_every_hook_registration_and_removal():
    import copy

    from microgradnp.capture import hooks_changed
    model, _, _ = _mlp()
    h = model[0](mg.randn(2, 20))
    registrations = [lambda: model[0].register_forward_hook(lambda *a: None),
                     lambda: model[0].register_forward_pre_hook(lambda *a: None),
                     lambda: model[0].register_full_backward_hook(lambda *a: None),
                     lambda: model[0].register_full_backward_pre_hook(lambda *a: None),
                     lambda: model[0].weight.register_hook(lambda g: None),
                     lambda: h.register_hook(lambda g: None)]
    for register in registrations:
        count = hooks_changed[0]
        handle = register()
        assert hooks_changed[0] > count
        count = hooks_changed[0]
        handle.remove()
        assert hooks_changed[0] > count
    model[1].register_forward_hook(lambda *a: None)
    count = hooks_changed[0]
    copy.deepcopy(model)  # the copy holds a hook too
    assert hooks_changed[0] > count


def _one_ulp_high(variant):
    """An out= variant whose first output is one ulp above the eager function's (a replay wrong on purpose)."""
    def relu_variant_one_ulp_high(buffers, *args):
        out = variant.fn(buffers, *args)
        return np.nextafter(out, np.inf, out=out)
    return relu_variant_one_ulp_high


@pytest.mark.parametrize("which, label", [("forward", "relu (forward)"), ("vjp", "relu (vjp for input 0)")])
def test_check_names_the_first_replay_step_whose_output_differs(monkeypatch, which, label):
    from microgradnp import replay_variants
    relu = mg.autograd.graph.PRIMITIVES["relu"]
    fn = relu.forward if which == "forward" else relu.vjps[0]
    variant = replay_variants._INTO[fn]
    patched = replay_variants._Variant(_one_ulp_high(variant), extra=variant.extra)
    monkeypatch.setitem(replay_variants._INTO, fn, patched)
    model, loss_fn, optimizer = _mlp()
    compiled = mg_compile(_step(model, loss_fn, optimizer), check=1)
    batches = _batches("mlp", 2, 8)
    compiled(*batches[0])  # the capture: eager
    with pytest.raises(CompileError) as caught:
        compiled(*batches[1])
    message = str(caught.value)
    assert message.startswith("mg.compile(check=...): the replay differs from eager in parameter '")
    assert f": {label}, calling " in message and "relu_variant_one_ulp_high" in message
    line = int(message.split("is line ")[1].split(" ")[0])
    source_line = caught.value.source.split("\n")[line - 1]
    assert source_line.strip() in message and source_line.strip().startswith("s")  # the line it names
    assert "elements differ, by up to" in message and "float32" in message
    twin, twin_loss_fn, twin_optimizer = _mlp()
    eager = _step(twin, twin_loss_fn, twin_optimizer)
    eager(*batches[0]), eager(*batches[1])
    assert [_bits(p) for p in model.parameters()] == [_bits(p) for p in twin.parameters()]  # eager's results kept


@pytest.mark.parametrize("nudge, what, shape", [
    (lambda model, optimizer: model[2].weight.numpy(), "parameter '2.weight'", (12, 16)),
    (lambda model, optimizer: optimizer.state[model[0].bias]["exp_avg"], "Adam's state 'exp_avg' of parameter '0.bias'",
     (16,))], ids=["parameter", "optimizer_state"])
def test_check_names_a_difference_in_place_when_no_step_output_differs(nudge, what, shape):
    model, loss_fn, _ = _mlp()
    optimizer = nn.optim.Adam(model.parameters(), lr=1e-2)
    compiled = mg_compile(_step(model, loss_fn, optimizer), check=1)
    x, y = _batches("mlp", 1, 8)[0]
    compiled(x, y)
    key = next(iter(compiled.cache))
    entry = compiled.cache[key]

    def nudged(*arrays):  # the replay, then a write in place that no step's output shows
        out = entry[0](*arrays)
        nudge(model, optimizer).reshape(-1)[0] += 1.0
        return out
    compiled.cache[key] = (nudged,) + entry[1:]
    with pytest.raises(CompileError) as caught:
        compiled(x, y)
    assert str(caught.value).startswith(
        f"mg.compile(check=...): the replay differs from eager in {what}: 1 of {np.prod(shape)} elements differ, "
        f"by up to 1 (shape {shape}, float32). No replay step's output differs from eager's")


def test_the_last_signature_is_tested_first_and_any_change_takes_the_full_lookup():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    calls = []

    def step(x, scale):
        calls.append(scale)
        return (model(x) * scale).sum()

    compiled = mg_compile(step)
    x3, x4 = mg.randn(5, 3), mg.randn(4, 3)
    x3_grad = x3.detach().requires_grad_()
    signatures = [(x3, 2.0), (x3, 2.0), (x4, 2.0), (x4, 2.0), (x3, 3.0), (x3, 2.0), (x3_grad, 2.0), (x3, 2)]
    for x, scale in signatures:
        compiled(x, scale)
    with mg.no_grad():
        compiled(x4, 2.0)
    model.eval()
    compiled(x4, 2.0)
    model.train()
    compiled(x4, 2.0)
    # a capture for each new signature (the float 2.0 and the int 2 differ by type), none for a repeated one
    assert calls == [2.0, 2.0, 3.0, 2.0, 2, 2.0, 2.0]
    assert compiled.captures == 7


def test_check_restores_a_scheduler_stepped_inside_the_step():
    def make():
        model, loss_fn, optimizer = _mlp()
        scheduler = nn.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

        def step(x, y):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            return loss
        return model, optimizer, step

    batches = _batches("mlp", 10, 8)
    eager_model, eager_optimizer, eager_step = make()
    model, optimizer, step = make()
    compiled = mg_compile(step, check=4)
    for x, y in batches:
        assert _bits(eager_step(x, y)) == _bits(compiled(x, y))
        assert optimizer.param_groups[0]["lr"] == eager_optimizer.param_groups[0]["lr"]
    assert compiled.checked == 4 and optimizer.param_groups[0]["lr"] == 0.1 * 0.5 ** 5
    for p, q in zip(eager_model.parameters(), model.parameters()):
        assert _bits(p) == _bits(q)


def test_gradients_that_are_numpy_scalars_are_computed_again_at_every_replay():
    # a VJP on 0-d operands returns a NumPy scalar, not an array: it must not be kept as a constant
    w, v = mg.tensor(np.ones(3), requires_grad=True), mg.tensor(np.full(3, 2.0), requires_grad=True)
    w_eager, v_eager = mg.tensor(np.ones(3), requires_grad=True), mg.tensor(np.full(3, 2.0), requires_grad=True)

    def step_of(w, v):
        def step(x):
            loss = (w * x).sum() * (v * x).sum()
            loss.backward()
            return loss
        return step

    compiled, eager = mg_compile(step_of(w, v), check=2), step_of(w_eager, v_eager)
    for i in range(5):
        x = mg.tensor(np.arange(3.0) + i)
        assert _bits(compiled(x)) == _bits(eager(x))
    assert _bits(w.grad) == _bits(w_eager.grad) and _bits(v.grad) == _bits(v_eager.grad)


def test_an_argument_that_cannot_be_part_of_a_signature_is_refused_naming_it():
    compiled = mg_compile(lambda x, extra: (x * 2.0).sum())
    with pytest.raises(TypeError, match=r"argument #1 of the step is a ndarray.*mg.tensor\(x\)"):
        compiled(mg.ones(3), np.ones(3))
