"""nn.Module: registration, traversal, modes, state dicts, dtype, repr and graph scopes."""
import copy
import re

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.act = nn.Tanh()
        self.scale = nn.Parameter(mg.ones(4))
        self.register_buffer("calls", mg.zeros(1))
        self.note = "plain attribute"

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Block()
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.encoder(x))


def test_parameters_buffers_and_submodules_register_by_assignment():
    block = Block()
    assert list(block._parameters) == ["scale"]
    assert list(block._modules) == ["fc", "act"]
    assert list(block._buffers) == ["calls"]
    assert "note" not in block._parameters and block.note == "plain attribute"
    assert block.scale is block._parameters["scale"]


def test_named_parameters_use_pytorch_dotted_names():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == [
        "encoder.scale", "encoder.fc.weight", "encoder.fc.bias", "head.weight", "head.bias"]
    assert [p.shape for p in net.parameters()] == [(4,), (4, 3), (4,), (2, 4), (2,)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_shared_parameters_are_listed_once():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    net[1].weight = net[0].weight
    assert len(list(net.parameters())) == 3
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_children_modules_and_named_modules():
    net = Net()
    assert [type(m).__name__ for m in net.children()] == ["Block", "Linear"]
    assert [name for name, _ in net.named_children()] == ["encoder", "head"]
    assert [name for name, _ in net.named_modules()] == ["", "encoder", "encoder.fc", "encoder.act", "head"]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Block", "Linear", "Tanh", "Linear"]
    assert net.get_submodule("encoder.fc") is net.encoder.fc


def test_named_buffers_and_non_persistent_buffers():
    block = Block()
    block.register_buffer("scratch", mg.zeros(2), persistent=False)
    assert [n for n, _ in block.named_buffers()] == ["calls", "scratch"]
    assert "scratch" not in block.state_dict() and "calls" in block.state_dict()


def test_reassigning_a_parameter_name_needs_a_parameter():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="nn.Parameter"):
        layer.weight = mg.zeros(2, 2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]


def test_assigning_before_super_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)") as info:
        Forgetful()
    assert re.search(r"cannot assign module 'fc' before Module.__init__\(\) call", str(info.value))


def test_missing_forward_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(mg.zeros(1))


def test_unknown_attribute_error_names_the_class():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        nn.Linear(2, 2).wieght


def test_train_and_eval_switch_every_descendant():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(2)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_sets_none_or_zeros():
    layer = nn.Linear(2, 1)
    layer(mg.ones(3, 2)).sum().backward()
    assert layer.weight.grad is not None
    layer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(layer.weight.grad.numpy(), np.zeros((1, 2)))
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_requires_grad_freezes_parameters():
    net = Net()
    net.encoder.requires_grad_(False)
    assert [n for n, p in net.named_parameters() if p.requires_grad] == ["head.weight", "head.bias"]


def test_apply_visits_children_before_parent():
    order = []
    Net().apply(lambda m: order.append(type(m).__name__))
    assert order == ["Linear", "Tanh", "Block", "Linear", "Net"]


def test_state_dict_keys_values_and_sharing():
    net = Net()
    state = net.state_dict()
    assert list(state) == ["encoder.scale", "encoder.calls", "encoder.fc.weight", "encoder.fc.bias",
                           "head.weight", "head.bias"]
    assert not state["head.weight"].requires_grad
    assert state["head.weight"].numpy() is net.head.weight.numpy()


def test_load_state_dict_copies_values_in_place():
    source, target = Net(), Net()
    weight = target.head.weight
    target.load_state_dict(source.state_dict())
    assert target.head.weight is weight  # same Parameter object, so optimizers keep working
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    source.head.bias.numpy()[...] += 1  # a copy, not an alias
    assert not np.array_equal(source.head.bias.numpy(), target.head.bias.numpy())


def test_load_state_dict_lists_missing_unexpected_and_mismatched_keys():
    net = Net()
    state = dict(net.state_dict())
    del state["head.bias"]
    state["head.extra"] = mg.zeros(1)
    state["encoder.fc.weight"] = mg.zeros(5, 3)
    before = net.encoder.scale.numpy().copy()
    state["encoder.scale"] = mg.full((4,), 7.0)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert '"head.bias"' in message and "Missing" in message
    assert '"head.extra"' in message and "Unexpected" in message
    assert "encoder.fc.weight" in message and "(5, 3)" in message and "(4, 3)" in message
    np.testing.assert_array_equal(net.encoder.scale.numpy(), before)  # nothing loaded when anything is wrong


def test_load_state_dict_non_strict_reports_keys():
    net = Net()
    state = dict(net.state_dict())
    del state["head.bias"]
    state["head.extra"] = mg.zeros(1)
    result = Net().load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == ["head.extra"]


def test_load_state_dict_still_refuses_wrong_shapes_when_not_strict():
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        nn.Linear(2, 3).load_state_dict({"weight": mg.zeros(3, 3), "bias": mg.zeros(3)}, strict=False)


def test_to_dtype_casts_in_place_and_keeps_parameter_objects():
    net = Net()
    weight = net.head.weight
    expected = weight.numpy().astype(np.float64)
    assert net.to(mg.float64) is net
    assert net.head.weight is weight and weight.dtype == np.float64
    np.testing.assert_array_equal(weight.numpy(), expected)
    assert net.encoder.calls.dtype == np.float64
    assert net(mg.ones(2, 3, dtype=mg.float64)).dtype == np.float64
    assert net.float().head.weight.dtype == np.float32
    assert net.to("cpu") is net
    with pytest.raises(RuntimeError, match="cuda.*NumPy on the CPU"):
        net.to("cuda")


def test_deepcopy_gives_an_independent_model():
    net = Net()
    clone = copy.deepcopy(net)
    clone.head.weight.numpy()[...] += 1
    assert not np.array_equal(clone.head.weight.numpy(), net.head.weight.numpy())
    assert isinstance(clone.head.weight, nn.Parameter)


def test_repr_prints_the_module_tree_like_pytorch():
    assert repr(Net()) == (
        "Net(\n"
        "  (encoder): Block(\n"
        "    (fc): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (act): Tanh()\n"
        "  )\n"
        "  (head): Linear(in_features=4, out_features=2, bias=True)\n"
        ")")
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


def test_parameter_wraps_data_without_copy_and_repr():
    data = mg.zeros(2)
    p = nn.Parameter(data)
    assert p.numpy() is data.numpy() and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert type(p * 2) is mg.Tensor
    assert not nn.Parameter(mg.zeros(1), requires_grad=False).requires_grad


def test_call_records_module_scopes_only_while_recording():
    net = Net()
    x = mg.ones(2, 3)
    plain = net(x)
    assert plain.grad_fn.info("scope") is None
    with mg.autograd.graph.record():
        out = net(x)
    head = out.grad_fn
    assert head.name == "linear" and head.info("scope") == ("Net", "head")
    scaled = head.edges[0]  # encoder's output: tanh(...) * scale
    assert scaled.info("scope") == ("Net", "encoder")
    tanh = scaled.edges[0]
    assert tanh.name == "tanh" and tanh.info("scope") == ("Net", "encoder", "encoder.act")
    assert tanh.edges[0].info("scope") == ("Net", "encoder", "encoder.fc")


def test_sequential_names_each_layers_scope_while_recording():
    # Sequential calls its layers' forward directly when not recording; while recording it must go
    # through each layer's call, which names the scope
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    x = mg.ones(1, 2)
    assert model(x).grad_fn.info("scope") is None
    with mg.autograd.graph.record():
        out = model(x)
    assert out.grad_fn.name == "relu" and out.grad_fn.info("scope") == ("Sequential", "1")
    assert out.grad_fn.edges[0].name == "linear" and out.grad_fn.edges[0].info("scope") == ("Sequential", "0")


def test_assigning_a_wrong_type_to_a_registered_name_is_refused_naming_it():
    layer = nn.Linear(2, 3)
    with pytest.raises(TypeError, match=r"cannot assign int as parameter 'weight' of Linear \(a Parameter or None"):
        layer.weight = 3
    model = nn.Sequential(nn.Linear(2, 2))
    model.head = nn.ReLU()
    with pytest.raises(TypeError, match=r"cannot assign str as module 'head' of Sequential \(a Module or None"):
        model.head = "relu"
    model.head = None
    assert model.head is None
