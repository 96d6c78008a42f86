"""The hot path equals the plain path: every primitive, applied through ``apply`` (the general path) and
through ``apply1``/``apply2``/``apply3`` (its unrolled copies in hot_path.py), gives the same output,
the same node, the same gradients and the same in-place checks.

Views (reshape, transpose, indexing...) always take the general path, which links the output to the
memory it shares, and so do primitives that return a saved value. The calls come from the gradcheck
cases of every other primitive (test_gradcheck_ops.PRIMITIVE_CASES): each
node in their graphs is replayed through both paths, with every combination of its tensor inputs
requiring grad or not. Keyword arguments are passed positionally, so that the fast paths, which take
none, run for nearly every primitive.
"""
import inspect
import itertools

import numpy as np
import pytest

import microgradnp as mg
from microgradnp.autograd import backward_steps, hot_path
from microgradnp.autograd.apply import NO_KWARGS, apply
from microgradnp.autograd.graph import increment_version
from microgradnp.autograd.node import Node
from microgradnp.autograd.primitive import PRIMITIVES, SavingPrimitive, ViewPrimitive

from test_gradcheck_ops import PRIMITIVE_CASES, op_names

FAST = {1: hot_path.apply1, 2: hot_path.apply2, 3: hot_path.apply3}


def _nodes(result):
    outs = result if isinstance(result, (tuple, list)) else (result,)
    stack, seen = [o.grad_fn for o in outs if o.grad_fn is not None], []
    while stack:
        node = stack.pop()
        if any(node is s for s in seen):
            continue
        seen.append(node)
        stack.extend(e for e in node.edges if type(e) is Node)
    return seen


def _positional(node):
    """The node's call with its keyword arguments passed positionally, or None if the forward can't take
    them so (keyword-only) or the call would need more than three inputs."""
    inputs = backward_steps.tensor_args(node)
    if not node.kwargs:
        return inputs
    params = list(inspect.signature(node.fn.forward).parameters.values())
    following = [p.name for p in params[len(inputs):len(inputs) + len(node.kwargs)]
                 if p.kind is p.POSITIONAL_OR_KEYWORD]
    if sorted(following) != sorted(node.kwargs) or len(inputs) + len(node.kwargs) > 3:
        return None
    return inputs + [node.kwargs[name] for name in following]


def calls():
    """(primitive name, inputs) for every node of every gradcheck case that a fast path can take."""
    found = []
    for name, cases in PRIMITIVE_CASES.items():
        for case in cases:
            for node in _nodes(case.fn(*case.tensors())):
                if isinstance(node.fn, (SavingPrimitive, ViewPrimitive)) or node.fn.name not in PRIMITIVES:
                    continue
                inputs = _positional(node)
                if inputs is not None and 1 <= len(inputs) <= 3:
                    found.append((node.fn.name, inputs))
    return found


def _variants(inputs):
    # every combination of the tensor inputs that require grad being used as they are or detached
    grad_positions = [i for i, x in enumerate(inputs) if isinstance(x, mg.Tensor) and x.requires_grad]
    for detached in itertools.product((False, True), repeat=len(grad_positions)):
        variant = list(inputs)
        for i, cut in zip(grad_positions, detached):
            if cut:
                variant[i] = variant[i].detach()
        yield variant


def _fresh(inputs):
    # new Tensors in the same places of the graph, at version 0: each probe below changes versions
    fresh = []
    for x in inputs:
        if isinstance(x, mg.Tensor):
            leaf_requiring_grad = x.grad_fn is None and x.requires_grad
            x = mg.Tensor._from_op(x.numpy(), x.grad_fn)
            x.requires_grad = x.requires_grad or leaf_requiring_grad
        fresh.append(x)
    return fresh


def both_paths(prim, inputs):
    """(the general path's result, the fast path's result) for the same inputs."""
    return apply(prim, tuple(inputs), NO_KWARGS), FAST[len(inputs)](prim, *inputs)


def assert_same_node(plain, fast):
    assert plain is not None and fast is not None
    assert fast.fn is plain.fn
    assert len(fast.inputs) == len(plain.inputs) and all(a is b for a, b in zip(fast.inputs, plain.inputs))
    assert len(fast.args) == len(plain.args) and all(a is b for a, b in zip(fast.args, plain.args))
    assert len(fast.edges) == len(plain.edges) and all(a is b for a, b in zip(fast.edges, plain.edges))
    assert (fast.edge0, fast.edge1, fast.more_edges) == (plain.edge0, plain.edge1, plain.more_edges)
    assert fast.kwargs == plain.kwargs
    assert (fast.out is None) == (plain.out is None)
    if plain.out is not None:
        np.testing.assert_array_equal(fast.out, plain.out)
    assert fast.version == plain.version
    assert fast.exact_grads == plain.exact_grads
    assert fast.extra == plain.extra and fast.pending == plain.pending


def _gradients(out, inputs, seed):
    wrt = [x for x in inputs if isinstance(x, mg.Tensor) and x.requires_grad]
    if not wrt:
        return []
    return mg.autograd.grad(out, wrt, grad_outputs=seed, retain_graph=True, allow_unused=True)


def _outcome(out, inputs, seed):
    # the gradients, or the error backward raises
    try:
        return [None if g is None else g.numpy() for g in _gradients(out, inputs, seed)]
    except RuntimeError as error:
        return str(error)


def _leaf(shape, dtype=np.float64):
    return mg.tensor(np.random.default_rng(len(shape)).standard_normal(shape).astype(dtype), requires_grad=True)


# calls the gradcheck cases (all float64) do not make: mixed dtypes, NumPy scalars, ints, broadcasting
MIXED_CALLS = [
    ("linear", [_leaf((4, 3), np.float32), _leaf((2, 3)), _leaf((2,))]),
    ("linear", [_leaf((4, 3)), _leaf((2, 3), np.float32), None]),
    ("linear", [_leaf((4, 3), np.float32), _leaf((2, 3), np.float32), _leaf((2,), np.float32)]),
    ("linear", [_leaf((4, 3), np.float32), _leaf((2, 3))]),
    ("linear", [_leaf((4, 3)), _leaf((2, 3))]),
    ("matmul", [_leaf((4, 3), np.float32), _leaf((3, 2))]),
    ("mul", [_leaf((3, 1), np.float32), np.float64(2.0)]),
    ("mul", [3, _leaf((2, 2), np.float32)]),
    ("add", [_leaf((3, 1), np.float32), _leaf((4,))]),
    ("sub", [_leaf((3, 4)), np.ones((3, 4), np.float32)]),
    ("div", [_leaf((2, 3), np.float32), 2.0]),
    ("where", [np.array([True, False]), _leaf((2,), np.float32), 0.0]),
]

CALLS = calls() + MIXED_CALLS


def test_every_primitive_that_a_fast_path_can_take_is_replayed():
    # the comparison below must not pass by comparing nothing: every primitive except those that never
    # take a fast path (a saved value, a view, or keyword-only arguments) has calls
    never_fast = {name for name, p in PRIMITIVES.items() if isinstance(p, (SavingPrimitive, ViewPrimitive))}
    never_fast |= {"concatenate", "einsum", "unfold", "fold"}  # (any number of inputs, or keyword-only options)
    assert {name for name, _ in CALLS} == set(PRIMITIVES) - never_fast
    assert {len(inputs) for _, inputs in CALLS} == {1, 2, 3}


@pytest.mark.parametrize("name, inputs", CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CALLS)])
def test_fast_path_equals_general_path(name, inputs):
    prim = PRIMITIVES[name]
    for variant in _variants(inputs):
        plain, fast = both_paths(prim, variant)
        assert fast.dtype == plain.dtype and fast.shape == plain.shape
        np.testing.assert_array_equal(fast.numpy(), plain.numpy())
        assert fast.requires_grad == plain.requires_grad
        assert fast.is_leaf == plain.is_leaf
        if plain.grad_fn is None:
            continue
        assert_same_node(plain.grad_fn, fast.grad_fn)
        seed = mg.tensor(np.random.default_rng(0).standard_normal(plain.shape).astype(plain.dtype))
        for g_plain, g_fast in zip(_gradients(plain, variant, seed), _gradients(fast, variant, seed)):
            assert (g_plain is None) == (g_fast is None)
            if g_plain is not None:
                assert g_fast.dtype == g_plain.dtype
                np.testing.assert_array_equal(g_fast.numpy(), g_plain.numpy())


@pytest.mark.parametrize("name, inputs", CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CALLS)])
def test_fast_path_checks_the_same_in_place_changes(name, inputs):
    # an input changed in place after the op: both paths raise, or both compute the same gradients
    prim = PRIMITIVES[name]
    for variant in _variants(inputs):
        for position, x in enumerate(variant):
            if not isinstance(x, mg.Tensor):
                continue
            outcomes = []
            for path in (0, 1):
                probe = _fresh(variant)
                out = both_paths(prim, probe)[path]
                if out.grad_fn is None:
                    break
                increment_version(probe[position])
                seed = np.ones(out.shape, out.dtype)
                outcomes.append(_outcome(out, probe, mg.tensor(seed)))
            if len(outcomes) == 2:
                if isinstance(outcomes[0], str) or isinstance(outcomes[1], str):
                    assert outcomes[0] == outcomes[1]
                else:
                    for a, b in zip(*outcomes):
                        np.testing.assert_array_equal(a, b)


def test_grad_mode_off_and_recording_agree():
    x = mg.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w = mg.tensor(np.ones((2, 3)), requires_grad=True)
    for prim, inputs in [(PRIMITIVES["tanh"], [x]), (PRIMITIVES["mul"], [x, 2.0]),
                         (PRIMITIVES["linear"], [x, w, None])]:
        with mg.no_grad():
            plain, fast = both_paths(prim, inputs)
        assert plain.grad_fn is None and fast.grad_fn is None and not fast.requires_grad
        with mg.autograd.graph.record(), mg.autograd.graph.scope("layer"):
            plain, fast = both_paths(prim, inputs)
        assert plain.grad_fn.info("scope") == fast.grad_fn.info("scope") == ("layer",)
        assert plain.grad_fn.info("trace")[0] == fast.grad_fn.info("trace")[0] == __file__


def test_the_cases_use_their_primitives():
    # (the replay depends on the gradcheck cases building graphs of the primitives they name)
    for name, cases in PRIMITIVE_CASES.items():
        assert name in op_names(cases[0].fn(*cases[0].tensors()))
