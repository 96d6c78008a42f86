"""microgradnp: reverse-mode automatic differentiation on NumPy, with a PyTorch-like ``nn`` on top.

    import microgradnp as mg
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4.])

The modules are built in floors, each importing only the ones below it: dtypes and grad mode; the
graph's nodes; the Tensor; applying and declaring primitives; the primitives (``ops/``); the functions;
the engine; what a Tensor computes (``tensor_methods``, bound onto it below). docs/guide/architecture.md
lists every file on its floor, and tests/test_architecture.py checks every import against that list.
"""
import importlib
import importlib.abc
import importlib.util
import os
import sys

from . import autograd, functions
from .autograd.primitive import public_primitives
from .compiled_step import CompileError, compile  # mg.compile, as torch.compile (shadows the builtin here)
from .convolution import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .devices import device, get_default_device, set_default_device
from .dtypes import (
    bool,
    double,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    uint8,
)
from .factories import (
    arange,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .functions import *  # noqa: F403 - every name in functions.__all__ (listed there)
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .pooling import adaptive_avg_pool1d, avg_pool1d, max_pool1d, max_pool2d
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .tensor import Size, Tensor
from .tensor_methods import bind
from .torch_names import missing_attribute

bind(Tensor)  # operators, in-place ops and methods: see tensor_methods.py

# mg.exp, mg.add, mg.matmul...: every primitive whose declaration in ops/ says public=True
globals().update(public_primitives())

__version__ = "0.1.0"

__all__ = (
    ["Tensor", "Size", "device", "set_default_device", "get_default_device",
     "tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like",
     "empty_like", "arange", "linspace", "eye",
     "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "normal", "bernoulli",
     "multinomial", "manual_seed", "Generator", "default_generator", "seed", "initial_seed", "get_rng_state",
     "set_rng_state",
     "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "half", "float",
     "double", "long", "get_default_dtype", "set_default_dtype",
     "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
     "is_inference_mode_enabled",
     "autograd", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
     "max_pool1d", "max_pool2d", "avg_pool1d", "adaptive_avg_pool1d", "compile", "CompileError"]
    + functions.__all__
    + sorted(public_primitives())
)

# nn (the repository's nn/ folder, installed as microgradnp.nn) and optim load on first use, so that
# importing the engine never imports nn; viz, utils and serialization load on first use too.
_LAZY = {"nn": "microgradnp.nn", "optim": "microgradnp.optim", "viz": "microgradnp.viz",
         "utils": "microgradnp.utils", "cuda": "microgradnp.cuda", "backends": "microgradnp.backends",
         "accelerator": "microgradnp.accelerator"}


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        globals()[name] = module
        return module
    if name in ("save", "load"):
        from . import serialization
        return getattr(serialization, name)
    raise missing_attribute("microgradnp", name)  # says so when PyTorch has the name


class _CheckoutNN(importlib.abc.MetaPathFinder):
    """Finds ``microgradnp.nn`` in the checkout this package was imported from.

    An installed copy has ``microgradnp.nn`` inside the package; a checkout (this package beside
    ``pyproject.toml`` and the ``nn/`` folder) has it beside the package, installed in editable mode or
    not. This finder answers first, and only in a checkout, so ``microgradnp.nn`` always comes from the
    same tree as ``microgradnp``.
    """

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = os.path.join(root, "nn")

    def find_spec(self, fullname, path=None, target=None):
        """The spec of ``microgradnp.nn`` from the checkout's ``nn/`` folder; None for any other name."""
        init = os.path.join(self.folder, "__init__.py")
        if fullname != "microgradnp.nn" or not (os.path.isfile(init)
                                                and os.path.isfile(os.path.join(self.root, "pyproject.toml"))):
            return None
        return importlib.util.spec_from_file_location(fullname, init, submodule_search_locations=[self.folder])


if not any(isinstance(finder, _CheckoutNN) for finder in sys.meta_path):
    sys.meta_path.insert(0, _CheckoutNN())
