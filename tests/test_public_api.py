"""``mg.*``, ``Tensor.<op>`` and NumPy dispatch follow from the primitives' declarations, and
``mg.__all__`` is an explicit list that holds every public name and nothing else."""
import inspect
import types

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import functions
from microgradnp.autograd.primitive import PRIMITIVES, public_primitives

# functions.py's public helpers for the engine's own use, not for users
ENGINE_HELPERS = {"tensor_method", "index_from", "setitem_array"}


def test_star_import_gives_exactly_all():
    namespace = {}
    exec("from microgradnp import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(mg.__all__)


def test_all_names_exist_once_and_are_no_helpers_or_modules():
    assert len(mg.__all__) == len(set(mg.__all__))
    for name in mg.__all__:
        assert not name.startswith("_") and hasattr(mg, name), name
        value = getattr(mg, name)
        assert not isinstance(value, types.ModuleType) or name == "autograd", name


def test_every_public_primitive_is_mg_name_and_in_all():
    public = public_primitives()
    assert {"exp", "add", "matmul", "relu", "absolute", "multiply"} <= set(public)  # (not an empty check)
    for name, prim in public.items():
        assert getattr(mg, name) is prim and name in mg.__all__, name


def test_functions_all_lists_every_public_function_defined_there():
    defined = {name for name, value in vars(functions).items()
               if not name.startswith("_") and callable(value) and not inspect.isclass(value)
               and getattr(value, "__module__", None) == functions.__name__}
    assert "mean" in defined and "clip" in defined  # (aliases too)
    assert defined - ENGINE_HELPERS == set(functions.__all__)
    assert set(functions.__all__) <= set(mg.__all__)


@pytest.mark.parametrize("name", sorted(n for n, p in PRIMITIVES.items() if p.method))
def test_a_primitive_declared_a_method_is_one(name):
    x = mg.tensor(np.array([0.5, 1.5]), requires_grad=True)
    args = (x,) if PRIMITIVES[name].vjps is None or len(PRIMITIVES[name].vjps) == 1 else (x, x)
    out = getattr(x, name)(*args[1:])
    assert out.grad_fn.name == name
    np.testing.assert_array_equal(out.numpy(), PRIMITIVES[name](*args).numpy())
    assert getattr(mg.Tensor, name).__doc__ == PRIMITIVES[name].doc


@pytest.mark.parametrize("ufunc, name", sorted(((u.__name__, p.name) for p in PRIMITIVES.values() for u in p.numpy)))
def test_numpy_ufuncs_declared_for_a_primitive_dispatch_to_it(ufunc, name):
    x = mg.tensor(np.array([0.5, 1.5]), requires_grad=True)
    function = getattr(np, ufunc)
    out = function(x) if function.nin == 1 else function(x, x)
    assert out.grad_fn.name == name


def test_function_methods_are_the_functions():
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert mg.Tensor.mean is functions.mean and mg.Tensor.clip is functions.clamp
    np.testing.assert_array_equal(x.mean(0).numpy(), [1.5, 2.5, 3.5])
    np.testing.assert_array_equal(x.clip(1, 2).numpy(), np.clip(x.numpy(), 1, 2))
