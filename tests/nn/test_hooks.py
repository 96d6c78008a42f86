"""Module hooks: forward pre-hooks, forward hooks, full backward hooks and backward pre-hooks, their handles,
and that a module without hooks is called exactly as before."""
import copy

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn
from microgradnp.nn import module as module_file

W = np.array([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]])


def _two_inputs(lib, lib_nn):
    class Net(lib_nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib_nn.Linear(2, 3)

        def forward(self, x, y, scale=1.0):
            return self.fc(x * y) * scale, self.fc(y)

    net = Net()
    with (mg.no_grad() if lib is mg else lib.no_grad()):
        net.fc.weight[...] = lib.tensor(W, dtype=net.fc.weight.dtype)
        net.fc.bias[...] = 0.5
    return net


def _arrays(grads):
    return [None if g is None else np.asarray(g.detach().numpy()).tolist() for g in grads]


def _hook_log(lib, lib_nn, x_requires_grad=True):
    """Everything the hooks see and change on one forward and backward, as plain lists."""
    log = []
    net = _two_inputs(lib, lib_nn)
    x = lib.tensor([[1.0, 2.0]], requires_grad=x_requires_grad)
    y = lib.tensor([[0.5, -1.0]], requires_grad=not x_requires_grad)
    handles = [
        net.register_forward_pre_hook(lambda m, args: log.append(("pre", len(args)))),
        net.register_forward_hook(lambda m, args, kwargs, out: log.append(("forward", sorted(kwargs))),
                                  with_kwargs=True),
        net.register_full_backward_pre_hook(lambda m, grad_output: log.append(("backward pre", _arrays(grad_output)))),
    ]

    def backward_hook(module, grad_input, grad_output):
        log.append(("backward", _arrays(grad_input), _arrays(grad_output)))
        return tuple(None if g is None else g * 2 for g in grad_input)

    handles.append(net.register_full_backward_hook(backward_hook))
    handles.append(net.fc.register_forward_hook(lambda m, args, out: out + 1))  # replaces fc's output
    a, b = net(x, y, scale=2.0)
    log.append(("outputs", _arrays([a, b])))
    (a.sum() * 3 + b.sum()).backward()
    log.append(("grads", _arrays([x.grad, y.grad])))
    for handle in handles:
        handle.remove()
    a, b = net(x, y)
    log.append(("after remove", _arrays([a, b])))
    return log


@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_hooks_see_and_replace_what_pytorch_hooks_do(x_requires_grad):
    torch = pytest.importorskip("torch")
    ours = _hook_log(mg, nn, x_requires_grad)
    theirs = _hook_log(torch, torch.nn, x_requires_grad)
    assert len(ours) == len(theirs)
    for mine, torchs in zip(ours, theirs):
        assert mine[0] == torchs[0]
        np.testing.assert_allclose(_flat(mine[1:]), _flat(torchs[1:]), rtol=1e-6)  # None as NaN


def _flat(value):
    # nested lists of numbers and None, flattened, None as NaN, for one comparison
    if value is None:
        return [np.nan]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flat(item)]
    if isinstance(value, str):
        return [float(len(value))]
    return [float(value)]


def test_forward_pre_hook_replaces_arguments_and_handle_is_a_context_manager():
    layer = nn.Linear(2, 1)
    x = mg.ones(1, 2)
    plain = layer(x).item()
    with layer.register_forward_pre_hook(lambda m, args: args[0] * 0) as handle:
        assert layer(x).item() == pytest.approx(layer.bias.item())  # a single value means a 1-tuple
    assert isinstance(handle, nn.hooks.RemovableHandle)
    assert layer(x).item() == plain
    handle.remove()  # removing again is harmless


def test_forward_pre_hook_with_kwargs_replaces_args_and_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    m.register_forward_pre_hook(lambda mod, args, kwargs: ((args[0] + 1,), {"factor": 10.0}), with_kwargs=True)
    assert m(mg.tensor(1.0)).item() == 20.0
    m.register_forward_pre_hook(lambda mod, args, kwargs: "bad", with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"tuple of \(new_args, new_kwargs\)"):
        m(mg.tensor(1.0))


def test_hooks_run_in_order_and_prepend_puts_first():
    order = []
    layer = nn.Identity()
    layer.register_forward_hook(lambda m, a, out: order.append("second"))
    layer.register_forward_hook(lambda m, a, out: order.append("first"), prepend=True)
    layer.register_forward_pre_hook(lambda m, a: order.append("pre"))
    layer(mg.ones(1))
    assert order == ["pre", "first", "second"]


def test_always_call_hook_runs_when_forward_raises():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("broken forward")

    seen = []
    m = Broken()
    m.register_forward_hook(lambda mod, args, out: seen.append(("always", out)), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("ordinary"))
    with pytest.raises(ValueError, match="broken forward"):
        m(mg.ones(1))
    assert seen == [("always", None)]


def test_failing_always_call_hook_only_warns_when_forward_raised():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("broken forward")

    m = Broken()
    m.register_forward_hook(lambda mod, args, out: 1 / 0, always_call=True)
    with pytest.warns(UserWarning, match="always_call=True"), pytest.raises(ValueError, match="broken forward"):
        m(mg.ones(1))


def test_forward_hooks_on_children_of_sequential_run():
    seen = []
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    handle = model[1].register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape)))
    model(mg.ones(4, 2))
    assert seen == [(4, 3)]
    handle.remove()
    model(mg.ones(4, 2))
    assert seen == [(4, 3)]


def test_full_backward_hook_fires_once_per_backward_with_summed_gradients():
    calls = []
    layer = nn.Linear(2, 2).double()
    layer.register_full_backward_hook(lambda m, gi, go: calls.append((_arrays(gi), _arrays(go))))
    x = mg.tensor([[1.0, -1.0]], dtype=mg.float64, requires_grad=True)
    out = layer(x)
    (out * out).sum().backward(retain_graph=True)
    assert len(calls) == 1
    grad_output = 2 * out.detach().numpy()
    np.testing.assert_allclose(calls[0][1][0], grad_output)
    np.testing.assert_allclose(calls[0][0][0], grad_output @ layer.weight.numpy())
    np.testing.assert_allclose(x.grad.numpy(), calls[0][0][0])
    out.sum().backward()
    assert len(calls) == 2


def test_backward_hook_without_inputs_needing_grad_is_called_with_none():
    calls = []
    layer = nn.Linear(2, 1)
    layer.register_full_backward_hook(lambda m, gi, go: calls.append((gi, go[0].shape)))
    layer(mg.ones(3, 2)).sum().backward()
    assert calls == [((None,), (3, 1))]
    layer.register_full_backward_hook(lambda m, gi, go: (mg.ones(3, 2),))
    with pytest.raises(RuntimeError, match="no input requires gradient"):
        layer(mg.ones(3, 2)).sum().backward()


def test_backward_pre_hook_replaces_the_output_gradient():
    layer = nn.Linear(2, 1, bias=False)
    layer.register_full_backward_pre_hook(lambda m, grad_output: (grad_output[0] * 0,))
    x = mg.ones(1, 2, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0]] and layer.weight.grad.tolist() == [[0.0, 0.0]]


def test_backward_hook_returning_wrong_count_is_an_error():
    layer = nn.Linear(2, 1)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        layer(mg.ones(1, 2, requires_grad=True)).sum().backward()


def test_backward_hook_warns_on_outputs_that_are_not_tensors():
    class DictOut(nn.Module):
        def forward(self, x):
            return {"y": x * 2}

    m = DictOut()
    m.register_full_backward_hook(lambda *a: None)
    with pytest.warns(UserWarning, match="should be a Tensor or a tuple of Tensors"):
        m(mg.ones(1, requires_grad=True))


def test_calls_skip_the_hook_machinery_once_every_hook_is_removed():
    import gc
    gc.collect()  # modules of other tests, with hooks never removed, are gone
    layer = nn.Linear(2, 1)
    handles = [layer.register_forward_hook(lambda *a: None), layer.register_full_backward_hook(lambda *a: None)]
    assert module_file._hooks_live
    for handle in handles:
        handle.remove()
    assert layer not in module_file._hooked and not module_file._hooks_live


def test_a_copied_module_keeps_its_hooks():
    seen = []
    layer = nn.Linear(2, 1)
    handle = layer.register_forward_hook(lambda m, a, out: seen.append(m))
    twin = copy.deepcopy(layer)
    handle.remove()  # the original's hook only: the copy has its own table
    twin(mg.ones(1, 2))
    layer(mg.ones(1, 2))
    assert seen == [twin]
    twin._forward_hooks.clear()
    module_file._recount_hooks()
    assert twin not in module_file._hooked


def test_hooks_and_graph_recording_work_together():
    seen = []
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    handle = model[0].register_forward_hook(lambda m, a, out: seen.append(out.grad_fn is not None))
    with mg.autograd.graph.record():
        model(mg.ones(1, 2)).sum()
    handle.remove()
    assert seen == [True]


def test_backward_hook_keeps_each_inputs_dtype():
    class Mixed(nn.Module):
        def forward(self, a, b):
            assert (a.dtype, b.dtype) == (mg.float32, mg.float64)  # the joined copies keep their dtypes
            return (a * b.to(mg.float32)).sum()

    seen = []
    m = Mixed()
    m.register_full_backward_hook(lambda mod, gi, go: (seen.append([g.dtype for g in gi]), (gi[0] * 3, gi[1]))[1])
    a = mg.ones(2, dtype=mg.float32, requires_grad=True)
    b = mg.ones(2, dtype=mg.float64, requires_grad=True)
    m(a, b).backward()
    assert seen == [[mg.float32, mg.float64]]
    assert a.grad.tolist() == [3.0, 3.0] and a.grad.dtype == mg.float32 and b.grad.dtype == mg.float64
