"""State dicts that move between microgradnp and PyTorch through safetensors, bit for bit, and PyTorch's
own checkpoints refused without being unpickled (skipped without torch)."""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")


def _models(m, **dtype):
    mlp = m.Sequential(m.Linear(10, 16, **dtype), m.ReLU(), m.Linear(16, 3, **dtype))
    normalised = m.Sequential(m.Embedding(7, 6, **dtype), m.LayerNorm(6, **dtype), m.Flatten(),
                              m.Linear(24, 8, **dtype), m.BatchNorm1d(8, **dtype))
    conv = m.Sequential(m.Conv2d(3, 4, 3, padding=1, **dtype), m.BatchNorm2d(4, **dtype), m.ReLU(),
                        m.MaxPool2d(2), m.ConvTranspose2d(4, 2, 2, stride=2, **dtype))
    recurrent = m.ModuleDict({"lstm": m.LSTM(5, 6, num_layers=2, bidirectional=True, **dtype),
                              "gru": m.GRU(5, 4, batch_first=True, **dtype), "cell": m.RNNCell(3, 2, **dtype)})
    return {"mlp": mlp, "normalised": normalised, "conv": conv, "recurrent": recurrent}


def _run(model, name, framework):
    # one training-mode forward pass, so the BatchNorm buffers move and count a batch
    if name == "recurrent":  # no buffers: the state dict is the parameters as initialised
        return
    rng = np.random.default_rng(0)
    data = {"mlp": rng.standard_normal((4, 10)), "normalised": rng.integers(0, 7, (5, 4)),
            "conv": rng.standard_normal((2, 3, 6, 6))}[name]
    if data.dtype == np.float64:
        data = data.astype(np.float32)
    model(framework.tensor(data))


@pytest.mark.parametrize("name", ["mlp", "normalised", "conv", "recurrent"])
def test_a_microgradnp_state_dict_loads_in_pytorch_bit_for_bit(tmp_path, name):
    mg.manual_seed(0)
    ours, theirs = _models(nn)[name], _models(torch.nn)[name]
    _run(ours, name, mg)
    path = tmp_path / "model.safetensors"
    mg.save(ours.state_dict(), path)
    result = theirs.load_state_dict(safetensors_torch.load_file(path))
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in ours.state_dict().items():
        theirs_value = theirs.state_dict()[key]
        assert str(theirs_value.dtype).split(".")[-1] == str(value.dtype), key
        np.testing.assert_array_equal(theirs_value.numpy(), value.numpy(), err_msg=key)


@pytest.mark.parametrize("name", ["mlp", "normalised", "conv", "recurrent"])
def test_a_pytorch_state_dict_loads_here_bit_for_bit(tmp_path, name):
    torch.manual_seed(0)
    ours, theirs = _models(nn)[name], _models(torch.nn)[name]
    _run(theirs, name, torch)
    path = tmp_path / "model.safetensors"
    safetensors_torch.save_file(theirs.state_dict(), path)
    assert repr(ours.load_state_dict(mg.load(path))) == "<All keys matched successfully>"
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].numpy(), value.numpy(), err_msg=key)
        assert ours.state_dict()[key].dtype == np.dtype(str(value.dtype).split(".")[-1]), key


class _Trap:
    """Unpickling this writes a file: the proof that a loader ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_torch_save_file_is_refused_with_how_to_convert_it_and_runs_no_code(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "model.pt"
    torch.save({"weight": torch.ones(2), "trap": _Trap(str(marker))}, path)
    with pytest.raises(mg.serialization.CheckpointError, match="written by torch.save.*save_file"):
        mg.load(path)
    assert not marker.exists()
