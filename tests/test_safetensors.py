"""State dicts as safetensors files: round trips, dtypes and layouts, the errors (PyTorch interop is in
tests/nn/test_safetensors_torch.py)."""
import json
import struct

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn

pytest.importorskip("safetensors")


def _header(path):
    # the format's own header: an 8-byte little-endian length, then JSON
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        return json.loads(handle.read(length))


def test_state_dict_round_trip_keeps_values_dtypes_and_shapes(tmp_path):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(100, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 3))
    model(mg.randn(8, 100))  # a training step moves the running statistics and counts a batch
    path = tmp_path / "model.safetensors"
    mg.save(model.state_dict(), path)
    loaded = mg.load(path)
    state = model.state_dict()
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        assert isinstance(loaded[key], mg.Tensor)
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape, key
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())
    assert loaded["1.num_batches_tracked"].dtype == mg.int64 and loaded["1.num_batches_tracked"].item() == 1
    fresh = nn.Sequential(nn.Linear(100, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 3))
    fresh.load_state_dict(loaded)
    np.testing.assert_array_equal(fresh[0].weight.numpy(), model[0].weight.numpy())


def test_the_file_is_plain_safetensors(tmp_path):
    path = tmp_path / "w.safetensors"
    mg.save({"weight": mg.ones(2, 3), "step": np.array(5, dtype=np.int64)}, path)
    header = _header(path)
    assert header["__metadata__"] == {"format": "pt"}
    assert header["weight"]["dtype"] == "F32" and header["weight"]["shape"] == [2, 3]
    assert header["step"]["dtype"] == "I64" and header["step"]["shape"] == []


def test_format_argument_and_file_names(tmp_path):
    path = tmp_path / "weights.bin"
    mg.save({"w": mg.zeros(2)}, path, format="safetensors")
    assert "w" in _header(path)
    assert mg.load(path, format="safetensors")["w"].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="format must be 'safetensors' or 'npz'"):
        mg.save({"w": mg.zeros(2)}, path, format="onnx")


@pytest.mark.parametrize("obj, message", [
    ([mg.ones(2)], "holds a flat dict of tensors"),
    ({"state": {"lr": 0.1}}, "save nested state"),
    ({1: mg.ones(2)}, "keys of a .safetensors file are strings"),
])
def test_what_a_safetensors_file_cannot_hold_is_refused(tmp_path, obj, message):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match=message):
        mg.save(obj, path)
    assert not path.exists() and not list(tmp_path.iterdir())  # nothing half-written is left behind


def test_a_damaged_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        mg.load(path)
