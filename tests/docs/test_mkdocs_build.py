"""`mkdocs build --strict` passes, and the API reference covers every public name.

Skipped when MkDocs and mkdocstrings are not installed (`pip install ".[docs]"`).
"""
import re
import subprocess
import sys
import types

import pytest

from code_blocks import ROOT

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")

# engine helpers that `from .functions import *` also places in the top-level namespace
ENGINE_INTERNALS = {"Primitive", "UFUNC_OPS", "apply1"}

# (module, its page under site/api/)
REFERENCE = [
    ("microgradnp", "microgradnp"),
    ("microgradnp.autograd", "autograd"),
    ("microgradnp.viz", "viz"),
    ("microgradnp.utils.data", "utils-data"),
    ("nn", "nn"),
    ("nn.functional", "nn-functional"),
    ("nn.init", "nn-init"),
    ("nn.optim", "nn-optim"),
    ("nn.optim.lr_scheduler", "nn-lr-scheduler"),
    ("nn.utils", "nn-utils"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def public_names(module_name):
    """The names a user may rely on: __all__ when the module has one; else, for a package, its public
    attributes, and for a plain module, the public functions and classes it defines itself."""
    module = __import__(module_name, fromlist=["_"])
    names = getattr(module, "__all__", None)
    if names is None:
        names = dir(module)
        if not hasattr(module, "__path__"):
            names = [n for n in names if getattr(getattr(module, n), "__module__", module_name) == module_name]
    return sorted(n for n in names if not n.startswith("_") and n not in ENGINE_INTERNALS
                  and not isinstance(getattr(module, n), types.ModuleType))


@pytest.mark.parametrize("module_name, page", REFERENCE, ids=[m for m, _ in REFERENCE])
def test_every_public_name_is_documented(site, module_name, page):
    html = (site / "api" / page / "index.html").read_text(encoding="utf-8")
    headings = {anchor.rsplit(".", 1)[-1] for anchor in re.findall(r'id="([\w.]+)"', html)}
    mentioned = set(re.findall(r"<code>(?:mg\.)?(\w+)", html))
    missing = [n for n in public_names(module_name) if n not in headings and n not in mentioned]
    assert not missing, f"{module_name}: not in the API reference page api/{page}: {missing}"


def test_the_guide_pages_are_built(site):
    for page in ("tensors-and-autograd", "models-and-training", "why-from-scratch-fails",
                 "debugging-with-graphs", "custom-ops", "porting-from-pytorch"):
        assert (site / "guide" / page / "index.html").exists()
    assert "dead_relu.svg" in (site / "guide" / "debugging-with-graphs" / "index.html").read_text()
