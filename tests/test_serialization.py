"""mg.save / mg.load: round trips, resuming training, and files that must be refused without running code."""
import io
import json
import pathlib
import zipfile

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn
from microgradnp.serialization import CheckpointError


def test_round_trip_of_nested_structures_keeps_types_and_dtypes(tmp_path):
    obj = {
        "weights": mg.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "param": mg.tensor([1.0, 2.0], requires_grad=True),
        "array": np.array([1, 2, 3], dtype=np.int64),
        "mask": np.array([True, False]),
        "scalar": np.float64(2.5),
        7: [1, 2.5, "text", None, True, (3, 4.0)],
        "nested": {"empty": {}, "list": []},
        "nan": float("nan"),
    }
    path = tmp_path / "ckpt.pt"
    mg.save(obj, path)
    back = mg.load(path)
    assert list(back) == ["weights", "param", "array", "mask", "scalar", 7, "nested", "nan"]
    assert isinstance(back["weights"], mg.Tensor) and back["weights"].dtype == np.float32
    np.testing.assert_array_equal(back["weights"].numpy(), obj["weights"].numpy())
    assert back["param"].requires_grad and not back["weights"].requires_grad
    assert isinstance(back["array"], np.ndarray) and back["array"].dtype == np.int64
    assert back["mask"].dtype == np.bool_
    assert back["scalar"] == 2.5 and isinstance(back["scalar"], np.float64)
    assert back[7] == [1, 2.5, "text", None, True, (3, 4.0)]
    assert isinstance(back[7][0], int) and isinstance(back[7][1], float) and isinstance(back[7][5], tuple)
    assert back["nested"] == {"empty": {}, "list": []}
    assert np.isnan(back["nan"])


def test_save_writes_exactly_the_given_path(tmp_path):
    path = tmp_path / "model.pt"
    mg.save({"a": 1}, str(path))
    assert path.exists() and not (tmp_path / "model.pt.npz").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left behind


def test_file_objects_work():
    buffer = io.BytesIO()
    mg.save({"x": mg.ones(2)}, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(mg.load(buffer)["x"].numpy(), [1.0, 1.0])


def test_model_and_optimizer_round_trip_resumes_training_identically(tmp_path):
    rng = np.random.default_rng(0)
    x, y = mg.tensor(rng.standard_normal((16, 3)).astype(np.float32)), mg.tensor(rng.integers(0, 2, 16))

    def make():
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 2))
        return model, nn.optim.Adam(model.parameters(), lr=0.01, amsgrad=True)

    def train(model, optimizer, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

    model, optimizer = make()
    train(model, optimizer, 3)
    mg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, tmp_path / "ckpt.pt")
    train(model, optimizer, 3)

    mg.manual_seed(123)  # a different fresh initialisation, to be overwritten by the checkpoint
    resumed = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 2))
    resumed_optimizer = nn.optim.Adam(resumed.parameters(), lr=0.5)
    checkpoint = mg.load(tmp_path / "ckpt.pt")
    resumed.load_state_dict(checkpoint["model"])
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    assert resumed_optimizer.param_groups[0]["lr"] == 0.01
    train(resumed, resumed_optimizer, 3)
    for (name, a), (_, b) in zip(model.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


class _CreatesMarker:
    """Unpickling this object creates a file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def test_npz_with_a_pickled_object_is_refused_and_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    structure = {"format": "microgradnp-checkpoint", "version": 1, "root": {"t": "ndarray", "key": "a0"}}
    with open(path, "wb") as handle:
        np.savez(handle, a0=np.array([_CreatesMarker(str(marker))], dtype=object),
                 __microgradnp_structure__=np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8))
    with pytest.raises(CheckpointError, match="pickled Python objects; refusing"):
        mg.load(path)
    assert not marker.exists()
    # the payload is real: loading it the unsafe way would have run it
    with np.load(path, allow_pickle=True) as unsafe:
        unsafe["a0"]
    assert marker.exists()


def test_plain_pickle_file_is_refused_and_runs_no_code(tmp_path):
    import pickle
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"weights": _CreatesMarker(str(marker))}))
    with pytest.raises(ValueError, match="pickled"):
        mg.load(path)
    assert not marker.exists()


def test_truncated_checkpoint_gives_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    mg.save({"w": mg.randn(100, 100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is not a microgradnp checkpoint \\(or it is truncated or corrupted\\)"):
        mg.load(path)


def test_foreign_files_give_clear_errors(tmp_path):
    plain_npz = tmp_path / "plain.npz"
    np.savez(plain_npz, x=np.ones(3))
    with pytest.raises(ValueError, match="without the '__microgradnp_structure__' entry"):
        mg.load(plain_npz)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match="single NumPy array"):
        mg.load(single)
    zipped = tmp_path / "other.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("data.txt", "hello")
    with pytest.raises(ValueError, match="not a microgradnp checkpoint"):
        mg.load(zipped)
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "missing.pt")


def test_malformed_structure_is_refused(tmp_path):
    path = tmp_path / "odd.pt"
    structure = {"format": "microgradnp-checkpoint", "version": 1, "root": {"t": "module", "key": "a0"}}
    with open(path, "wb") as handle:
        np.savez(handle, __microgradnp_structure__=np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8))
    with pytest.raises(ValueError, match="unknown entry kind 'module'"):
        mg.load(path)


def test_save_refuses_what_it_cannot_store_safely(tmp_path):
    with pytest.raises(TypeError, match=r"cannot save a Linear at obj\['model'\].*state_dict"):
        mg.save({"model": nn.Linear(2, 2)}, tmp_path / "x.pt")
    with pytest.raises(TypeError, match="holds Python objects"):
        mg.save({"a": np.array([object()], dtype=object)}, tmp_path / "x.pt")
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        mg.save({(1, 2): 3}, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()
