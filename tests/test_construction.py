"""Every way a Tensor or a Node is made sets every one of its slots.

Tensor._from_op and Node() are the constructors on the readable path; the hot path (hot_path.py) builds
both field by field for speed. A slot added to either class and forgotten in one of those copies would
surface later as an AttributeError somewhere else: here it fails at once, naming the path.
"""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp.autograd import hot_path
from microgradnp.autograd.apply import NO_KWARGS, apply
from microgradnp.autograd.node import Node
from microgradnp.autograd.primitive import PRIMITIVES


def _unset(obj):
    return [slot for slot in type(obj).__slots__ if slot != "__weakref__" and not hasattr(obj, slot)]


def _leaf(*shape):
    return mg.tensor(np.ones(shape), requires_grad=True)


def made_tensors():
    """(how it was made, the Tensor) for every construction path."""
    x, w, b = _leaf(2, 3), _leaf(4, 3), _leaf(4)
    exp, mul, linear = PRIMITIVES["exp"], PRIMITIVES["mul"], PRIMITIVES["linear"]
    made = [("Tensor()", mg.Tensor([1.0])), ("Tensor._from_op", mg.Tensor._from_op(np.ones(2), None)),
            ("detach", x.detach()), ("factory", mg.zeros(2))]
    for grad in (True, False):
        with mg.set_grad_enabled(grad):
            made += [(f"apply grad={grad}", apply(exp, (x,), NO_KWARGS)),
                     (f"apply1 grad={grad}", hot_path.apply1(exp, x)),
                     (f"apply2 grad={grad}", hot_path.apply2(mul, x, 2.0)),
                     (f"apply3 grad={grad}", hot_path.apply3(linear, x, w, b))]
    (x * w.sum()).sum().backward()  # the leaves' .grad: made by the backward pass
    made += [("first .grad", x.grad), ("accumulated .grad", w.grad)]
    return made


@pytest.mark.parametrize("how, tensor", made_tensors(), ids=[how for how, _ in made_tensors()])
def test_every_tensor_slot_is_set(how, tensor):
    assert _unset(tensor) == [], f"{how} leaves Tensor slots unset"


@pytest.mark.parametrize("how, tensor", [m for m in made_tensors() if m[1].grad_fn is not None],
                         ids=[how for how, t in made_tensors() if t.grad_fn is not None])
def test_every_node_slot_is_set(how, tensor):
    assert type(tensor.grad_fn) is Node
    assert _unset(tensor.grad_fn) == [], f"{how} leaves Node slots unset"


def test_every_path_is_covered():
    # each construction path above makes a node when grad mode is on
    paths = {how.split()[0] for how, t in made_tensors() if t.grad_fn is not None}
    assert paths == {"apply", "apply1", "apply2", "apply3"}
