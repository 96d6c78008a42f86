"""Backward on random graphs: the fast traversal (hot_path.run, what loss.backward() takes) equals the
plain one (engine.run) bit for bit, hooks and retain_grad included, and both agree with the reference
engine in tests/reference_engine.py."""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp.autograd import engine, hot_path
from microgradnp.autograd.namespaces import NUMPY

from reference_engine import gradients as reference_gradients

SHAPES = [(3, 4), (4,), (1, 4), (3, 1), ()]  # all broadcast to (3, 4)

UNARY = {
    "tanh": mg.tanh, "sigmoid": mg.sigmoid, "relu": lambda a: mg.relu(a + 0.1), "sin": mg.sin,
    "neg": lambda a: -a, "square": lambda a: a * a, "exp": lambda a: mg.exp(mg.tanh(a)),
    "sum0": lambda a: a.sum(0, keepdim=True) if a.ndim == 2 else a, "mean": lambda a: a.mean(),
    "flip": lambda a: a[::-1] if a.ndim else a, "abs": lambda a: mg.abs(a) + 0.5,
    "float32 round trip": lambda a: a.float().double() * 1.5,
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.5 + b * b), "maximum": mg.maximum, "minimum": mg.minimum,
    "where": lambda a, b: mg.where(a.numpy() > b.numpy(), a, b), "pow": lambda a, b: (a * a + 1.0) ** mg.tanh(b),
}


def random_program(seed, n_ops=14, binary=BINARY, given=None):
    """(leaves, outputs, intermediate tensors) of a random program over broadcasting shapes.

    ``given``: the leaves of an earlier call with this seed, to run the same program on them again.
    """
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) for shape in SHAPES]
    arrays[1] = arrays[1].astype(np.float32)  # float32 among float64: gradients are cast back
    weight, bias = rng.standard_normal((4, 4)) * 0.5, rng.standard_normal(4)
    if given is None:
        leaves = [mg.tensor(a, requires_grad=True) for a in arrays]
        weight, bias = mg.tensor(weight, requires_grad=True), mg.tensor(bias, requires_grad=True)
    else:
        leaves, (weight, bias) = list(given[:-2]), given[-2:]
    pool = list(leaves) + [mg.tensor(rng.standard_normal((3, 4)))]  # and a constant
    for _ in range(n_ops):
        kind = rng.integers(4)
        a = pool[rng.integers(len(pool))]
        if kind == 0:
            out = UNARY[list(UNARY)[rng.integers(len(UNARY))]](a)
        elif kind == 1:
            out = binary[list(binary)[rng.integers(len(binary))]](a, pool[rng.integers(len(pool))])
        elif kind == 2:  # a layer, on the (3, 4) broadcast of a
            out = mg.tanh(mg.linear(a * mg.ones(3, 4, dtype=mg.float64), weight, bias))
        else:  # the same tensor used twice, a diamond
            out = a * mg.sigmoid(a) + a
        pool.append(out)
    grads = [t for t in pool[len(leaves):] if t.requires_grad]
    total = grads[-1].sum()
    for t in grads[:-1]:
        total = total + t.sum() * 0.1
    outputs = [total, (grads[len(grads) // 2] * 0.5).mean()]  # the second is also part of the first
    return leaves + [weight, bias], outputs, grads


def _seeds(outputs):
    return [np.ones(out.shape, out.dtype) for out in outputs]


def _grads(leaves):
    return [None if leaf.grad is None else leaf.grad.numpy().copy() for leaf in leaves]


def _clear(tensors):
    for t in tensors:
        t.grad = None


@pytest.mark.parametrize("seed", range(40))
def test_fast_traversal_equals_plain_traversal_bit_for_bit(seed):
    leaves, outputs, middle = random_program(seed)
    rng = np.random.default_rng(seed + 1000)
    hooked = [t for t in middle if rng.random() < 0.2]
    retained = [t for t in middle if rng.random() < 0.2]
    for t in hooked:
        t.register_hook(lambda g: g * 2.0)
    for t in retained:
        t.retain_grad()
    leaves[0].register_hook(lambda g: g - 1.0)
    roots = list(zip(outputs, _seeds(outputs)))

    engine.run(roots, retain_graph=True, create_graph=False)
    plain, plain_retained = _grads(leaves), _grads(retained)
    _clear(leaves + retained)
    hot_path.run(roots, True, NUMPY)
    fast, fast_retained = _grads(leaves), _grads(retained)

    for a, b in zip(plain + plain_retained, fast + fast_retained):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(40))
def test_backward_agrees_with_the_reference_engine(seed):
    leaves, outputs, _ = random_program(seed)
    expected = reference_gradients(outputs, _seeds(outputs))
    mg.autograd.backward(outputs, retain_graph=True)  # hot_path.run
    fast = _grads(leaves)
    _clear(leaves)
    mg.autograd.backward(outputs, inputs=leaves, retain_graph=True)  # engine.run, capturing
    plain = _grads(leaves)
    for leaf, a, b in zip(leaves, fast, plain):
        if leaf not in expected:
            assert a is None and b is None
            continue
        tolerance = 1e-11 if a.dtype == np.float64 else 1e-5  # (the order of the sums differs)
        assert a.dtype == expected[leaf].dtype == leaf.dtype
        np.testing.assert_allclose(a, expected[leaf], rtol=tolerance, atol=tolerance)
        np.testing.assert_array_equal(a, b)


# a compiled step refuses a value read (where's mask): a comparison the same shape instead
_COMPILABLE = dict(BINARY, where=lambda a, b: mg.maximum(a, b) * 0.5 + b)


@pytest.mark.parametrize("seed", range(40))
def test_a_compiled_steps_recorded_traversal_equals_the_engine_bit_for_bit(seed):
    # the capture checks its recorded traversal against the engine's gradients, and check=3 each replay
    # against an eager step: either raises on a bit of difference; the gradients accumulate over the calls
    leaves, _, _ = random_program(seed, binary=_COMPILABLE)
    eager_leaves = [leaf.detach().requires_grad_() for leaf in leaves]

    def step(*given):
        _, outputs, _ = random_program(seed, binary=_COMPILABLE, given=given)
        outputs[0].backward()
        return outputs[0]

    compiled = mg.compile(step, check=3)
    for _ in range(5):
        replayed, expected = compiled(*leaves), step(*eager_leaves)
        assert replayed.numpy().tobytes() == expected.numpy().tobytes()
    assert compiled.captures == 1 and compiled.checked == 3
    for a, b in zip(_grads(leaves), _grads(eager_leaves)):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_the_random_programs_reach_their_leaves():
    # the comparisons above must not pass by comparing only Nones
    reached = [sum(leaf in reference_gradients(o, _seeds(o)) for leaf in ls)
               for ls, o, _ in (random_program(seed) for seed in range(40))]
    assert sum(reached) > 5 * 40 and max(reached) == 7


def test_the_reference_engine_is_right_on_a_known_graph():
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x + mg.exp(x)  # dy/dx = 2x + e^x
    (grad,) = reference_gradients([y.sum()], [np.array(1.0)]).values()
    np.testing.assert_allclose(grad, 2 * x.numpy() + np.exp(x.numpy()))
