"""Devices, honestly: the CPU is accepted everywhere PyTorch takes a device, any other device is refused
with a message that says why, and the queries scripts make before picking one answer for a CPU library."""
import copy

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn

FACTORIES = [
    lambda d: mg.tensor([1.0], device=d), lambda d: mg.zeros(2, device=d), lambda d: mg.ones(2, device=d),
    lambda d: mg.full((2,), 3.0, device=d), lambda d: mg.empty(2, device=d), lambda d: mg.arange(3, device=d),
    lambda d: mg.linspace(0, 1, 3, device=d), lambda d: mg.eye(2, device=d), lambda d: mg.rand(2, device=d),
    lambda d: mg.randn(2, device=d), lambda d: mg.randint(0, 3, (2,), device=d),
    lambda d: mg.randperm(3, device=d), lambda d: mg.zeros_like(mg.ones(2), device=d),
    lambda d: mg.ones_like(mg.ones(2), device=d), lambda d: mg.full_like(mg.ones(2), 2.0, device=d),
    lambda d: mg.empty_like(mg.ones(2), device=d), lambda d: mg.rand_like(mg.ones(2), device=d),
    lambda d: mg.randn_like(mg.ones(2), device=d), lambda d: mg.randint_like(mg.ones(2), 5, device=d),
    lambda d: mg.normal(0.0, 1.0, (2,), device=d),
]


@pytest.mark.parametrize("make", FACTORIES)
@pytest.mark.parametrize("device", [None, "cpu", "cpu:0", mg.device("cpu")])
def test_every_factory_accepts_the_cpu(make, device):
    assert make(device).device == mg.device("cpu")


@pytest.mark.parametrize("make", FACTORIES)
@pytest.mark.parametrize("device", ["cuda", "cuda:0", mg.device("mps"), 0])
def test_every_factory_refuses_another_device_saying_why(make, device):
    with pytest.raises(RuntimeError, match="is not available: microgradnp computes with NumPy on the CPU"):
        make(device)


def test_device_objects_behave_as_pytorchs():
    cpu = mg.device("cpu")
    assert cpu.type == "cpu" and cpu.index is None and str(cpu) == "cpu" and repr(cpu) == "device(type='cpu')"
    assert cpu == "cpu" and cpu == mg.device("cpu") and cpu != "cuda" and cpu != mg.device("cpu", 0)
    assert {cpu: 1}[mg.device("cpu")] == 1 and copy.deepcopy(cpu) == cpu
    cuda = mg.device("cuda:1")  # a device can be named, as in PyTorch without a GPU
    assert (cuda.type, cuda.index, str(cuda)) == ("cuda", 1, "cuda:1")
    assert mg.device("cuda").index is None and mg.device(cuda) == cuda
    with pytest.raises(RuntimeError, match="device type"):
        mg.device("gpu")
    with pytest.raises(AttributeError):
        cpu.type = "cuda"


def test_the_usual_device_lines_pick_the_cpu():
    device = "cuda" if mg.cuda.is_available() else "cpu"
    assert device == "cpu"
    device = mg.device("mps" if mg.backends.mps.is_available() else "cpu")
    assert device == "cpu" and not mg.accelerator.is_available() and mg.accelerator.current_accelerator() is None
    assert mg.cuda.device_count() == 0 and mg.accelerator.device_count() == 0
    mg.cuda.manual_seed(0)
    mg.cuda.manual_seed_all(0)
    mg.backends.cudnn.deterministic, mg.backends.cudnn.benchmark = True, False
    assert mg.backends.cudnn.deterministic is True and not mg.backends.mps.is_built()
    mg.backends.cudnn.deterministic = False


def test_tensor_to_as_pytorch():
    x = mg.ones(2, requires_grad=True)
    assert x.to("cpu") is x and x.to(mg.device("cpu")) is x and x.cpu() is x and x.to(mg.float32) is x
    assert x.to(device="cpu", dtype=mg.float64).dtype == np.float64
    assert x.to("cpu", mg.float64).dtype == np.float64 and x.to(mg.zeros(1, dtype=mg.float64)).dtype == np.float64
    copied = x.to("cpu", copy=True)
    assert copied is not x and not np.shares_memory(copied.numpy(), x.numpy()) and copied.requires_grad
    assert x.to(mg.float64, non_blocking=True).dtype == np.float64
    (x.to(mg.float64) * 2).sum().backward()  # a cast between floating dtypes stays differentiable
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    assert x.device == "cpu" and not x.is_cuda and x.pin_memory() is x and not x.is_pinned()
    for call in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: x.to(mg.device("cuda", 0))):
        with pytest.raises(RuntimeError, match="microgradnp computes with NumPy on the CPU"):
            call()


def test_module_to_as_pytorch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    weight = model[0].weight
    assert model.to("cpu") is model and model.to(mg.device("cpu")) is model and model.cpu() is model
    assert model.to("cpu", mg.float64) is model and weight.dtype == np.float64 and model[0].weight is weight
    assert model.to(mg.zeros(1, dtype=mg.float32)) is model and weight.dtype == np.float32
    for call in (lambda: model.to("cuda"), lambda: model.cuda(), lambda: model.to(mg.device("mps"))):
        with pytest.raises(RuntimeError, match="microgradnp computes with NumPy on the CPU"):
            call()


def test_default_device():
    assert mg.get_default_device() == "cpu"
    mg.set_default_device("cpu")
    mg.set_default_device(None)
    with pytest.raises(RuntimeError, match="set_default_device: device 'cuda'"):
        mg.set_default_device("cuda")
    assert mg.zeros(1).device == "cpu"


def test_devices_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("cpu", "cuda", "cuda:1", "mps"):
        ours, theirs = mg.device(name), torch.device(name)
        assert (ours.type, ours.index, str(ours), repr(ours)) == (theirs.type, theirs.index, str(theirs),
                                                                  repr(theirs))
    assert mg.zeros(1).device == torch.zeros(1).device.type
    assert (mg.cuda.is_available(), mg.backends.mps.is_available()) == (False, False) or torch.cuda.is_available()
