"""mg.autograd.gradcheck itself: it passes right gradients, fails wrong ones with a readable table,
tells kinks from errors, refuses float32, and stays cheap on large inputs."""
import re
import warnings

import numpy as np
import pytest

import microgradnp as mg
from microgradnp.autograd import GradcheckError, NondifferentiablePointWarning, gradcheck


def leaf(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


class WrongSquare(mg.autograd.Function):
    """x**2 whose backward claims 3x instead of 2x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * 3 * x


class WrongAtOneElement(mg.autograd.Function):
    """2x whose backward is off by 1 at flat element 7 only."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        error = np.zeros(ctx.shape)
        error.reshape(-1)[7] = 1.0
        return grad * 2 + mg.tensor(error) * grad


def test_right_gradients_pass_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inputs = (leaf(np.ones((2, 3)) * 0.5), leaf([[1.0, 2.0, 3.0]]))
        assert gradcheck(lambda a, b: (a * b).sum(-1, keepdim=True) / b, inputs)


def test_mismatch_raises_with_a_worst_first_table():
    x = leaf([[0.5, -2.0, 1.0], [3.0, 0.1, -1.0]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongSquare.apply, x)
    text = str(info.value)
    assert "input 0 (shape (2, 3), float64): 6 entries differ, worst first" in text
    rows = [line.split() for line in text.splitlines() if re.match(r"\s+\[\d, \d\]", line)]
    # worst first: |3x - 2x| = |x| is largest at x = 3.0, element [1, 0]
    assert rows[0][:4] == ["[1,", "0]", "[1,", "0]"]
    assert float(rows[0][4]) == pytest.approx(9.0) and float(rows[0][5]) == pytest.approx(6.0, rel=1e-6)
    diffs = [abs(float(r[6])) for r in rows]
    assert diffs == sorted(diffs, reverse=True)
    assert not gradcheck(WrongSquare.apply, x, raise_exception=False)


def test_only_the_wrong_input_is_reported():
    def f(a, b):
        return WrongSquare.apply(a) + b * 2

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, (leaf([1.0, 2.0]), leaf([1.0, 2.0])))
    assert "input 0 (shape (2,)" in str(info.value) and "input 1" not in str(info.value)


def test_several_outputs_are_checked():
    assert gradcheck(lambda a: (a.exp(), a.sin() * 2), leaf([0.1, 0.7]))
    with pytest.raises(GradcheckError, match=r"out1\[1\]"):
        gradcheck(lambda a: (a.exp(), WrongSquare.apply(a)), leaf([0.1, 0.7]))


@pytest.mark.parametrize("fn, x", [
    (mg.relu, [-1.0, 0.0, 2.0]),
    (lambda t: t.clamp(-1, 1), [-1.0, 0.5, 1.0]),
    (lambda t: mg.where(t > 0, t, 0.1 * t), [0.0, 1.0]),
])
def test_kinks_are_reported_as_warnings_not_failures(fn, x):
    with pytest.warns(NondifferentiablePointWarning, match="not differentiable") as record:
        assert gradcheck(fn, leaf(x))
    assert "left" in str(record[0].message) and "right" in str(record[0].message)


@pytest.mark.parametrize("fn, x", [
    (lambda t: t.amax(), [1.0, 3.0, 3.0]),
    (lambda t: mg.maximum(t[:2], t[2:]), [1.0, 3.0, 1.0, 3.0]),
    (mg.abs, [-1.0, 0.0, 2.0]),
])
def test_symmetric_kinks_pass_silently(fn, x):
    # the central difference at a tie or at abs(0) is the average of both sides: what the VJPs return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(fn, leaf(x))


def test_a_wrong_gradient_at_a_kink_still_fails():
    class BadRelu(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return mg.relu(x)

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * mg.tensor(np.where(x.numpy() >= 0, 5.0, 0.0))

    with pytest.raises(GradcheckError, match="kink: left 0, right 1; the analytic value lies outside both"):
        gradcheck(BadRelu.apply, leaf([0.0, 1.0]))


def test_float32_inputs_are_refused_with_advice():
    with pytest.raises(TypeError, match=r"input 0 \(shape \(2,\)\) has dtype float32.*float64"):
        gradcheck(mg.tanh, mg.tensor([1.0, 2.0], requires_grad=True))


def test_float32_output_is_refused():
    with pytest.raises(TypeError, match="output 0 .* float32"):
        gradcheck(lambda t: t.float(), leaf([1.0]))


def test_nothing_to_check_and_non_leaf_inputs_raise():
    with pytest.raises(ValueError, match="none of the inputs requires grad"):
        gradcheck(mg.tanh, mg.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="not a leaf"):
        gradcheck(mg.tanh, leaf([1.0]) * 2)


def test_inputs_are_left_as_they_were():
    data = np.array([0.3, -0.4])
    x = mg.tensor(data, requires_grad=True)
    own = x.numpy()
    gradcheck(lambda t: t ** 3, x)
    assert x.numpy() is own and x.grad is None
    np.testing.assert_array_equal(x.numpy(), data)


def test_read_only_input_data_is_fine():
    x = mg.Tensor(np.broadcast_to(np.array([0.2, 0.4]), (3, 2)), requires_grad=True)
    assert gradcheck(lambda t: (t * t).sum(0), x)
    assert not x.numpy().flags.writeable


def test_large_inputs_use_random_directions_and_stay_cheap():
    calls = []

    def fn(t):
        calls.append(1)
        return mg.tanh(t) * 2

    x = leaf(np.random.default_rng(0).standard_normal((60, 50)))
    assert gradcheck(fn, x)
    assert len(calls) < 30  # a full Jacobian would need 6,000 evaluations


def test_large_input_wrong_at_a_single_element_is_caught():
    x = leaf(np.random.default_rng(1).standard_normal((60, 50)))
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongAtOneElement.apply, x)
    assert "input 0 (shape (60, 50)" in str(info.value) and "v.out" in str(info.value)


def test_large_input_with_kinks_warns_but_passes():
    data = np.random.default_rng(2).standard_normal((40, 40))
    data[::3] = 0.0
    with pytest.warns(NondifferentiablePointWarning):
        assert gradcheck(mg.relu, leaf(data))


def test_full_jacobian_can_be_forced():
    x = leaf(np.random.default_rng(3).standard_normal(300))
    with pytest.raises(GradcheckError, match="1 entry differ"):
        gradcheck(WrongAtOneElement.apply, x, full_jacobian=True)


def test_tolerances_are_honoured():
    class SlightlyOff(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad * 1.0005

    x = leaf([1.0, 2.0])
    assert gradcheck(SlightlyOff.apply, x)  # 5e-4 relative is within rtol=1e-3
    with pytest.raises(GradcheckError):
        gradcheck(SlightlyOff.apply, x, rtol=1e-4)
