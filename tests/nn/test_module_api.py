"""nn.Module's API beyond registration: ModuleDict, ParameterList, ParameterDict, LazyLinear, device and
dtype moves, and traversal (named_modules, apply, requires_grad_, get_submodule) against PyTorch."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn


def _containers(lib, lib_nn):
    class Net(lib_nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = lib_nn.ModuleDict({"b": lib_nn.Linear(2, 2), "a": lib_nn.Linear(2, 1)})
            self.params = lib_nn.ParameterList([lib_nn.Parameter(lib.ones(2)), lib.zeros(3)])
            self.pdict = lib_nn.ParameterDict({"z": lib_nn.Parameter(lib.ones(1)), "a": lib.zeros(2)})
            self.params.append(lib_nn.Parameter(lib.ones(1)))
            self.params.extend([lib.ones(2, 2)])
            self.pdict.update([("m", lib.ones(4)), ("c", lib.ones(1))])
            self.pdict["y"] = lib_nn.Parameter(lib.ones(1))

    return Net()


def _summary(net):
    return [list(net.state_dict()), [name for name, _ in net.named_parameters()], len(net.params), len(net.pdict),
            list(net.pdict), list(net.layers), "a" in net.pdict, "a" in net.layers,
            [tuple(p.shape) for p in net.params[1:3]], type(net.params[1]).__name__]


def test_containers_register_names_in_pytorchs_order():
    torch = pytest.importorskip("torch")
    ours, theirs = _containers(mg, nn), _containers(torch, torch.nn)
    assert _summary(ours) == _summary(theirs)
    for net in (ours, theirs):
        net.pdict.pop("a")
        del net.layers["b"]
        assert net.pdict.popitem()[0] == "y"
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_container_errors_match_pytorchs_kinds():
    torch = pytest.importorskip("torch")

    def kinds(lib, lib_nn):
        net = _containers(lib, lib_nn)
        calls = [lambda: net.params[7], lambda: lib_nn.ModuleDict([("a",)]), lambda: lib_nn.ModuleDict(3),
                 lambda: net.pdict[1], lambda: net.params(), lambda: lib_nn.ParameterList(lib.ones(2)),
                 lambda: lib_nn.ModuleDict({"keys": lib_nn.ReLU()}), lambda: net.layers["nope"],
                 lambda: net.layers(lib.ones(1)), lambda: net.pdict(lib.ones(1))]
        out = []
        for call in calls:
            try:
                call()
                out.append(None)
            except Exception as e:  # the kind of error is what is compared
                out.append(type(e).__name__)
        return out

    assert kinds(mg, nn) == kinds(torch, torch.nn)


def test_module_dict_behaves_like_an_ordered_dict_of_modules():
    layers = nn.ModuleDict({"enc": nn.Linear(2, 3), "act": nn.ReLU()})
    layers.update(OrderedDict([("dec", nn.Linear(3, 1))]))
    layers["act"] = nn.Tanh()  # replacing keeps the position
    assert list(layers.keys()) == ["enc", "act", "dec"] and isinstance(layers["act"], nn.Tanh)
    assert [type(m).__name__ for m in layers.values()] == ["Linear", "Tanh", "Linear"]
    assert [k for k, _ in layers.items()] == list(layers) and len(layers) == 3
    assert [name for name, _ in layers.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    assert isinstance(layers.pop("enc"), nn.Linear) and "enc" not in layers
    layers.clear()
    assert len(layers) == 0
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        nn.ModuleDict([("a", nn.ReLU(), 1)])
    with pytest.raises(TypeError, match="iterable of key/value pairs, but got int"):
        nn.ModuleDict(3)
    with pytest.raises(NotImplementedError):
        layers(mg.ones(1))


def test_parameter_list_registers_and_converts_tensors():
    params = nn.ParameterList([mg.ones(2), nn.Parameter(mg.zeros(3))])
    params += [mg.ones(1)]
    params.append("not a tensor")
    assert len(params) == 4 and all(isinstance(p, nn.Parameter) for p in params[:3])
    assert params[3] == "not a tensor" and params[-1] == "not a tensor"
    assert [name for name, _ in params.named_parameters()] == ["0", "1", "2"]
    params[0] = mg.full((2,), 5.0)
    assert params[0].tolist() == [5.0, 5.0] and isinstance(params[0], nn.Parameter)
    assert "(1): Parameter containing: [microgradnp.float32 of size 3]" in repr(params)
    assert "(3): Object of type: str" in repr(params)
    with pytest.raises(IndexError, match="index 4 is out of range"):
        params[4]
    with pytest.raises(TypeError, match="iterable, but got Tensor"):
        params.extend(mg.ones(2))
    with pytest.raises(RuntimeError, match="should not be called"):
        params(mg.ones(1))
    model = nn.Module()
    model.weights = nn.ParameterList([mg.ones(2, 2) for _ in range(2)])
    assert list(model.state_dict()) == ["weights.0", "weights.1"]
    optimizer = nn.optim.SGD(model.parameters(), lr=1.0)
    (model.weights[0] * model.weights[1]).sum().backward()
    optimizer.step()
    assert model.weights[0].tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_parameter_dict_sorts_a_plain_dict_as_pytorch_does():
    pdict = nn.ParameterDict({"b": mg.ones(1), "a": mg.ones(2)})
    assert list(pdict) == ["a", "b"]  # PyTorch sorts the keys of a plain dict
    assert list(nn.ParameterDict(OrderedDict([("b", mg.ones(1)), ("a", mg.ones(1))]))) == ["b", "a"]
    assert list(nn.ParameterDict([("b", mg.ones(1)), ("a", mg.ones(1))])) == ["b", "a"]
    pdict["c"] = mg.zeros(1)
    assert isinstance(pdict["c"], nn.Parameter) and pdict.get("nope", 3) == 3
    assert list(pdict.keys()) == ["a", "b", "c"] and list(reversed(pdict)) == ["c", "b", "a"]
    assert [k for k, _ in pdict.items()] == ["a", "b", "c"] and len(list(pdict.values())) == 3
    assert pdict.setdefault("d", mg.ones(3)).shape == (3,)
    merged = pdict | nn.ParameterDict(OrderedDict([("e", mg.ones(1))]))
    assert list(merged) == ["a", "b", "c", "d", "e"] and "e" not in pdict
    assert list(pdict.copy()) == list(pdict) and pdict.copy()["a"] is pdict["a"]
    assert list(pdict.fromkeys(["x", "y"], mg.ones(1))) == ["x", "y"]
    with pytest.raises(TypeError, match="not a string"):
        pdict[0] = mg.ones(1)
    with pytest.raises(KeyError):
        pdict["nope"]
    pdict.clear()
    assert len(pdict) == 0 and list(pdict.named_parameters()) == []
    with pytest.raises(KeyError, match="empty"):
        pdict.popitem()


def test_containers_survive_deepcopy_and_state_dict_round_trip():
    model = nn.Module()
    model.heads = nn.ModuleDict({"x": nn.Linear(2, 2)})
    model.scales = nn.ParameterDict({"x": mg.ones(2)})
    model.extra = nn.ParameterList([mg.ones(1)])
    twin = copy.deepcopy(model)
    with mg.no_grad():
        twin.scales["x"].fill_(3.0)
    model.load_state_dict(twin.state_dict())
    assert model.scales["x"].tolist() == [3.0, 3.0] and model.scales["x"] is not twin.scales["x"]


def test_unregistered_dict_warning_suggests_module_dict_and_parameter_dict():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = {"a": nn.Linear(2, 2)}
            self.scales = {"a": nn.Parameter(mg.ones(2))}

    with pytest.warns(nn.MisuseWarning) as caught:
        list(Net().parameters())
    text = " ".join(str(w.message) for w in caught)
    assert "nn.ModuleDict" in text and "nn.ParameterDict" in text


# ---- LazyLinear ------------------------------------------------------------------------------------------

def test_lazy_linear_infers_in_features_and_becomes_a_linear():
    layer = nn.LazyLinear(3)
    assert repr(layer) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert isinstance(layer.weight, nn.UninitializedParameter) and layer.in_features == 0
    optimizer = nn.optim.Adam(layer.parameters(), lr=0.1)  # built before the first call, as in PyTorch
    out = layer(mg.ones(4, 5))
    assert out.shape == (4, 3) and type(layer) is nn.Linear and layer.in_features == 5
    assert type(layer.weight) is nn.Parameter and layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert np.abs(layer.weight.numpy()).max() <= 1 / np.sqrt(5)  # Linear's initialisation
    before = layer.weight.numpy().copy()
    out.sum().backward()
    optimizer.step()
    assert not np.array_equal(before, layer.weight.numpy())
    assert repr(layer) == "Linear(in_features=5, out_features=3, bias=True)"


def test_lazy_linear_without_bias_and_in_a_dtype():
    layer = nn.LazyLinear(2, bias=False, dtype=mg.float64)
    assert layer.bias is None
    assert layer(mg.ones(1, 3, dtype=mg.float64)).dtype == mg.float64 and layer.weight.dtype == mg.float64


def test_lazy_linear_takes_its_shapes_from_a_loaded_state_dict():
    source = nn.Linear(5, 3)
    layer = nn.LazyLinear(3)
    assert list(layer.state_dict()) == ["weight", "bias"]
    layer.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(layer.weight.numpy(), source.weight.numpy())
    np.testing.assert_array_equal(layer(mg.ones(1, 5)).numpy(), source(mg.ones(1, 5)).numpy())
    assert type(layer) is nn.Linear and layer.in_features == 5


def test_lazy_linear_matches_pytorch_once_weights_are_copied():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.LazyLinear(4), torch.nn.LazyLinear(4)
    assert repr(ours) == repr(theirs)
    data = np.random.default_rng(0).normal(size=(2, 6)).astype(np.float32)
    theirs(torch.tensor(data))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(ours(mg.tensor(data)).detach().numpy(),
                               theirs(torch.tensor(data)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert repr(ours) == repr(theirs) and type(theirs).__name__ == type(ours).__name__ == "Linear"


# ---- device and dtype ------------------------------------------------------------------------------------

class _Device:
    """A device object from elsewhere (mg.device, torch.device): only its str() is read."""

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return self.name


def _model():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    return model


def test_to_takes_pytorchs_forms():
    model = _model()
    weight = model[0].weight
    assert model.to("cpu") is model and model.to(_Device("cpu")) is model and model.cpu() is model
    assert model.to(device="cpu", dtype=mg.float64) is model and weight.dtype == mg.float64
    assert model.to("cpu", mg.float32) is model and weight.dtype == mg.float32
    assert model.to(mg.ones(1, dtype=mg.float64)) is model and weight.dtype == mg.float64
    assert model.to(np.float32, non_blocking=True) is model and weight.dtype == mg.float32
    assert model[0].weight is weight
    assert model[1].num_batches_tracked.dtype == mg.int64  # integer buffers keep their dtype


def test_to_refuses_other_devices_and_integer_dtypes():
    model = _model()
    for device in ("cuda", "cuda:0", _Device("mps"), _Device("cuda:1")):
        with pytest.raises(RuntimeError, match="NumPy on the CPU"):
            model.to(device)
    with pytest.raises(RuntimeError, match="NumPy on the CPU"):
        model.cuda()
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        model.to(mg.int64)
    with pytest.raises(TypeError, match="unexpected keyword argument 'devise'"):
        model.to(devise="cpu")
    with pytest.raises(TypeError, match="invalid combination"):
        model.to("cpu", "cpu")


def test_half_and_type():
    model = _model()
    model.half()
    assert model[0].weight.dtype == mg.float16 and model[1].num_batches_tracked.dtype == mg.int64
    model.type(mg.float64)  # every parameter and buffer, integer ones too, as in PyTorch
    assert model[0].weight.dtype == mg.float64 and model[1].num_batches_tracked.dtype == mg.float64


def test_to_and_type_match_pytorch_dtypes():
    torch = pytest.importorskip("torch")

    def dtypes(model):
        return [str(t.dtype).replace("torch.", "") for t in model.state_dict().values()]

    ours, theirs = _model(), torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    for calls in (lambda m, lib: m.half(), lambda m, lib: m.double(), lambda m, lib: m.to("cpu", lib.float32),
                  lambda m, lib: m.type(lib.float64), lambda m, lib: m.float()):
        calls(ours, mg)
        calls(theirs, torch)
        assert dtypes(ours) == dtypes(theirs)


# ---- traversal against PyTorch ---------------------------------------------------------------------------

def _tree(lib_nn):
    shared = lib_nn.Linear(2, 2)
    model = lib_nn.Sequential(OrderedDict([
        ("enc", lib_nn.Sequential(shared, lib_nn.ReLU())),
        ("dec", lib_nn.ModuleDict({"a": shared, "b": lib_nn.Linear(2, 1)})),
    ]))
    return model


def test_traversal_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = _tree(nn), _tree(torch.nn)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ([n for n, _ in ours.named_modules(remove_duplicate=False)]
            == [n for n, _ in theirs.named_modules(remove_duplicate=False)])
    assert ([n for n, _ in ours.named_modules(prefix="model")]
            == [n for n, _ in theirs.named_modules(prefix="model")])
    memo = {ours.enc}
    assert [n for n, _ in ours.named_modules(memo=memo)] == ["", "dec", "dec.a", "dec.b"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    visited_ours, visited_theirs = [], []
    ours.apply(lambda m: visited_ours.append(type(m).__name__))
    theirs.apply(lambda m: visited_theirs.append(type(m).__name__))
    assert visited_ours == visited_theirs
    assert ours.requires_grad_(False) is ours
    assert not any(p.requires_grad for p in ours.parameters())
    assert ours.get_submodule("dec.b") is ours.dec["b"] and ours.get_submodule("") is ours
    assert ours.get_parameter("dec.b.bias") is ours.dec["b"].bias
    for lookup in ("dec.c", "enc.0.weight", "dec.b.weight.x"):
        with pytest.raises(AttributeError) as ours_error:
            ours.get_submodule(lookup)
        with pytest.raises(AttributeError) as theirs_error:
            theirs.get_submodule(lookup)
        assert str(theirs_error.value).split(" ")[0] in str(ours_error.value)


def test_get_parameter_and_get_buffer():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert model.get_parameter("0.weight") is model[0].weight
    assert model.get_buffer("1.running_mean") is model[1].running_mean
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        model.get_parameter("1.running_mean")
    with pytest.raises(AttributeError, match="is not a buffer"):
        model.get_buffer("0.weight")
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        model.get_parameter("0.nope")
