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

from . import autograd, functions
from .autograd.primitive import public_primitives
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
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .functions import *  # noqa: F403 - every name in functions.__all__ (listed there)
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .random import manual_seed
from .tensor import Tensor
from .tensor_methods import bind

bind(Tensor)  # operators, in-place ops and methods: see tensor_methods.py

# mg.exp, mg.add, mg.matmul...: every primitive whose declaration in ops/ says public=True
globals().update(public_primitives())

__version__ = "0.1.0"

__all__ = (
    ["Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like",
     "empty_like", "arange", "linspace", "eye", "rand", "randn", "randint", "randperm", "manual_seed",
     "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "half", "float",
     "double", "long", "get_default_dtype", "set_default_dtype",
     "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "autograd"]
    + functions.__all__
    + sorted(public_primitives())
)

# nn and optim live in the top-level `nn` package, which imports microgradnp; they are bound lazily so
# that the engine never imports nn. viz, utils and serialization load on first use.
_LAZY = {"nn": "nn", "optim": "nn.optim", "viz": "microgradnp.viz", "utils": "microgradnp.utils"}


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        globals()[name] = module
        return module
    if name in ("save", "load"):
        from . import serialization
        return getattr(serialization, name)
    raise AttributeError(f"module 'microgradnp' has no attribute {name!r}")
