"""A missing attribute that PyTorch has says it has no microgradnp counterpart yet; other names keep
Python's plain message, and ``hasattr`` stays False for both."""
import json
import pathlib
import subprocess
import sys

import pytest

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "microgradnp" / "torch_names.json"


def message(obj, name):
    with pytest.raises(AttributeError) as info:
        getattr(obj, name)
    assert info.value.name == name
    return str(info.value)


def test_module_names_pytorch_has():
    assert message(mg, "stft") == ("module 'microgradnp' has no attribute 'stft': torch.stft has no microgradnp "
                                   "counterpart yet")
    assert message(nn, "Transformer") == ("module 'microgradnp.nn' has no attribute 'Transformer': "
                                          "torch.nn.Transformer has no microgradnp counterpart yet")
    assert message(F, "grid_sample") == ("module 'microgradnp.nn.functional' has no attribute 'grid_sample': "
                                         "torch.nn.functional.grid_sample has no microgradnp counterpart yet")
    assert message(nn.optim, "LBFGS").endswith("torch.optim.LBFGS has no microgradnp counterpart yet")
    assert message(nn.utils, "spectral_norm").endswith("torch.nn.utils.spectral_norm has no microgradnp "
                                                       "counterpart yet")


def test_tensor_names_pytorch_has():
    x = mg.tensor([1.0, 2.0])
    assert message(x, "stft") == ("'Tensor' object has no attribute 'stft': torch.Tensor.stft has no microgradnp "
                                  "counterpart yet")
    p = nn.Parameter(mg.zeros(2))
    assert message(p, "stft").endswith("torch.Tensor.stft has no microgradnp counterpart yet")


def test_names_pytorch_lacks_keep_the_plain_message():
    assert message(mg, "no_such_name") == "module 'microgradnp' has no attribute 'no_such_name'"
    assert message(nn, "no_such_layer") == "module 'microgradnp.nn' has no attribute 'no_such_layer'"
    assert message(F, "no_such_fn") == "module 'microgradnp.nn.functional' has no attribute 'no_such_fn'"
    assert message(mg.tensor(1.0), "no_such_method") == "'Tensor' object has no attribute 'no_such_method'"


def test_hasattr_stays_false_and_dir_leaves_them_out():
    x = mg.tensor([1.0])
    for obj, name in [(mg, "stft"), (nn, "Transformer"), (F, "grid_sample"), (x, "stft"), (x, "no_such_method")]:
        assert not hasattr(obj, name)
        assert getattr(obj, name, None) is None
    assert "stft" not in dir(x) and "sum" in dir(x)
    assert hasattr(x, "sum") and hasattr(mg, "exp") and hasattr(nn, "Linear") and hasattr(F, "relu")


def test_the_public_helper():
    error = mg.utils.missing_attribute("microgradnp.nn", "Transformer")
    assert isinstance(error, AttributeError) and "torch.nn.Transformer has no microgradnp counterpart" in str(error)
    assert str(mg.utils.missing_attribute("microgradnp", "_private")) == (
        "module 'microgradnp' has no attribute '_private'")


def test_the_engine_never_imports_torch_for_the_messages():
    code = ("import sys, microgradnp as mg\n"
            "try:\n    mg.tensor(1.0).stft\nexcept AttributeError as e:\n    assert 'counterpart' in str(e)\n"
            "assert 'torch' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_the_shipped_names_are_torchs():
    torch = pytest.importorskip("torch")
    shipped = json.loads(SHIPPED.read_text())
    if torch.__version__.split("+")[0] != shipped["torch_version"]:
        pytest.skip(f"the shipped names are torch {shipped['torch_version']}'s; torch {torch.__version__} is here")
    # in a fresh process: what this one has imported of torch would show in dir(torch)
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "generate_torch_names.py"), "--print"],
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == shipped, "run python tests/generate_torch_names.py"


def test_the_package_ships_the_names():
    text = (ROOT / "pyproject.toml").read_text()
    assert '[tool.setuptools.package-data]\nmicrogradnp = ["torch_names.json"]' in text
