"""Custom Functions with several outputs, non-differentiable outputs and PyTorch 2's setup_context.

Each Function is written once for a library (``lib`` is microgradnp or torch), so the same code runs on
both and the values and gradients are compared where torch is installed.
"""
import numpy as np
import pytest

import microgradnp as mg


def sin_cos(lib):
    class SinCos(lib.autograd.Function):
        """(k sin x, cos x, argmax x, a string): two differentiable outputs, an index and a value."""

        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            index = x.argmax()
            ctx.mark_non_differentiable(index)
            return x.sin() * k, x.cos(), index, "tag"

        @staticmethod
        def backward(ctx, g_sin, g_cos, g_index, g_tag):
            (x,) = ctx.saved_tensors
            assert g_tag is None
            return g_sin * x.cos() * ctx.k - g_cos * x.sin(), None

    return SinCos


def split(lib, materialize=True):
    class Split(lib.autograd.Function):
        """The two halves of a vector; backward reports which gradients it received."""

        seen = []

        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            n = x.shape[0] // 2
            return x[:n].clone(), x[n:].clone()

        @staticmethod
        def backward(ctx, g_first, g_second):
            Split.seen.append((g_first is None, g_second is None))
            parts = [g if g is not None else lib.zeros(2, dtype=lib.float64) for g in (g_first, g_second)]
            return lib.cat(parts)

    return Split


def mul_setup_context(lib):
    class Mul(lib.autograd.Function):
        """PyTorch 2's form: forward without ctx, setup_context fills it."""

        @staticmethod
        def forward(a, b):
            return a * b, a + b

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, g_product, g_sum):
            a, b = ctx.saved_tensors
            return g_product * b + g_sum, g_product * a + g_sum

    return Mul


def leaf(lib, values):
    return lib.tensor(values, dtype=lib.float64, requires_grad=True)


X = [0.3, 1.2, -0.5, 2.0]


def values(t):
    return np.asarray(t.detach().numpy())


# ---- without torch --------------------------------------------------------------------------------------

def test_several_outputs_values_and_gradient():
    x = leaf(mg, X)
    s, c, index, tag = sin_cos(mg).apply(x, 2.0)
    assert tag == "tag" and index.item() == 3
    assert s.requires_grad and c.requires_grad and not index.requires_grad and index.grad_fn is None
    np.testing.assert_allclose(values(s), 2 * np.sin(X))
    (s.sum() + c.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(X) - np.sin(X))


def test_an_unused_output_gets_zeros_or_none():
    for materialize, expected in [(True, (False, False)), (False, (False, True))]:
        Split = split(mg, materialize)
        x = leaf(mg, X)
        first, _ = Split.apply(x)
        (first * 3).sum().backward()
        assert Split.seen == [expected]
        np.testing.assert_array_equal(x.grad.numpy(), [3, 3, 0, 0])


def test_hooks_and_retain_grad_on_each_output():
    x = leaf(mg, X)
    first, second = split(mg).apply(x)
    first.retain_grad()
    second.register_hook(lambda g: g * 10)
    (first * 2 + second).sum().backward()
    np.testing.assert_array_equal(first.grad.numpy(), [2, 2])
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 10, 10])


def test_autograd_grad_and_create_graph_through_several_outputs():
    x = leaf(mg, X)
    s, c, _, _ = sin_cos(mg).apply(x, 1.0)
    (g,) = mg.autograd.grad((s * c).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), np.cos(2 * np.array(X)))
    (g2,) = mg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g2.numpy(), -2 * np.sin(2 * np.array(X)))


def test_setup_context_form():
    a, b = leaf(mg, [2.0]), leaf(mg, [5.0])
    product, total = mul_setup_context(mg).apply(a, b)
    assert (product.item(), total.item()) == (10.0, 7.0)
    (product + total).backward()
    assert (a.grad.item(), b.grad.item()) == (6.0, 3.0)


def test_no_graph_without_an_input_that_requires_grad():
    s, c, _, _ = sin_cos(mg).apply(mg.tensor(X), 1.0)
    assert s.grad_fn is None and not s.requires_grad
    x = leaf(mg, X)
    with mg.no_grad():
        first, _ = split(mg).apply(x)
    assert first.grad_fn is None and not first.requires_grad


def test_wrong_number_of_gradients_raises_as_pytorch():
    class Bad(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1, g2

    first, second = Bad.apply(leaf(mg, X))
    with pytest.raises(RuntimeError, match=r"returned an incorrect number of gradients \(expected 1, got 2\)"):
        (first + second).sum().backward()


def test_extra_none_gradients_are_allowed():
    class Extra(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    x = leaf(mg, X)
    Extra.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2] * 4)


def test_a_gradient_for_a_non_tensor_input_raises():
    class Bad(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="different than None at position 1"):
        Bad.apply(leaf(mg, X), 2.0).sum().backward()


def test_a_saved_tensor_changed_in_place_raises_in_backward():
    x = leaf(mg, X)
    h = x * 1
    s, _, _, _ = sin_cos(mg).apply(h, 1.0)
    with mg.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        s.sum().backward()


def test_an_input_not_saved_may_change_in_place():
    class Double(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = leaf(mg, X)
    h = x * 1
    y = Double.apply(h)
    h.add_(1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2] * 4)


def test_mark_dirty_makes_the_input_the_output():
    class AddOne(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x = leaf(mg, X)
    h = x * 2
    y = AddOne.apply(h)
    assert y is h and h.grad_fn.name == "AddOne"
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * (2 * np.array(X) + 1))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        AddOne.apply(leaf(mg, X))


def test_an_input_returned_as_it_is_becomes_a_new_tensor():
    class Same(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = leaf(mg, X)
    y = Same.apply(x)
    assert y is not x and y.grad_fn is not None and x.grad_fn is None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5] * 4)


def test_save_for_backward_takes_tensors_only():
    class Bad(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 1

    with pytest.raises(TypeError, match="argument 1 is a int"):
        Bad.apply(leaf(mg, X))


def test_needs_input_grad():
    seen = []

    class Record(mg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(ctx.needs_input_grad)
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            return g, g, None

    Record.apply(leaf(mg, X), mg.tensor(X), 2)
    assert seen == [(True, False, False)]


# ---- against torch --------------------------------------------------------------------------------------

def run_both(make, script):
    torch = pytest.importorskip("torch")
    return script(torch, make(torch)), script(mg, make(mg))


def assert_same(theirs, ours):
    assert len(theirs) == len(ours)
    for t, o in zip(theirs, ours):
        if t is None:
            assert o is None
        else:
            np.testing.assert_allclose(values(o), values(t), rtol=1e-12)


def test_several_outputs_match_torch():
    def script(lib, Fn):
        x = leaf(lib, X)
        s, c, index, tag = Fn.apply(x, 1.5)
        loss = (s * c).sum() + (s ** 2).mean()
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        (g2,) = lib.autograd.grad(g.sum(), x)
        return s, c, index, g, g2

    theirs, ours = run_both(sin_cos, script)
    assert_same(theirs, ours)


@pytest.mark.parametrize("materialize", [True, False])
def test_unused_outputs_match_torch(materialize):
    def script(lib, Fn):
        x = leaf(lib, X)
        first, second = Fn.apply(x)
        (first * 4).sum().backward()
        return x.grad, mg.tensor(np.array(Fn.seen, dtype=float))

    theirs, ours = run_both(lambda lib: split(lib, materialize), script)
    assert_same(theirs, ours)


def test_setup_context_matches_torch():
    def script(lib, Fn):
        a, b = leaf(lib, X), leaf(lib, X[::-1])
        product, total = Fn.apply(a, b)
        (product * total).sum().backward()
        return product, total, a.grad, b.grad

    theirs, ours = run_both(mul_setup_context, script)
    assert_same(theirs, ours)


def test_non_differentiable_outputs_match_torch():
    def script(lib, Fn):
        x = leaf(lib, X)
        s, c, index, tag = Fn.apply(x, 1.0)
        return (s.requires_grad, c.requires_grad, index.requires_grad, index.grad_fn is None, tag)

    theirs, ours = run_both(sin_cos, script)
    assert theirs == ours
