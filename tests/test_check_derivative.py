"""check_derivative on the hand-written derivatives from the seed posts, copied exactly, and on the
other usual mistakes: each must be caught and named, and a right derivative must pass."""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp.autograd import DerivativeMismatch, check_derivative
from microgradnp.autograd.check_derivative import default_points


# ---- seed 001: leaky ReLU and its two relu_prime versions (verbatim) ----------------------------------
def relu(data, epsilon=0.1):
    return np.maximum(epsilon * data, data)


def relu_prime(data, epsilon=0.1):
    if 1. * np.all(epsilon < data):
        return 1
    return epsilon


def relu_prime_edited(data, epsilon=0.1):
    gradients = 1. * (data > epsilon)
    gradients[gradients == 0] = epsilon
    return gradients


# ---- seed 002: sigmoid and d_sigmoid (verbatim), applied to y_pred in its backward pass ----------------
def sigmoid(x):
    return 1/(1 + np.exp(-x))


def d_sigmoid(x):
    return sigmoid(x) * (1 - sigmoid(x))


def d_ReLU(x):
    return np.where(x > 0, 1, 0)


def ReLU(x):
    return np.maximum(0, x)


# ---- seed 003: relu and reluGrad (verbatim) -----------------------------------------------------------
def relu003(arg):  #I have tried both relu and leaky relu
    return 1*(arg<0)*0.0001*arg + (arg>=0)*arg


def reluGrad(arg):
    for i in range(arg.shape[0]):
        for j in range(arg.shape[1]):
            if arg[i][j]>0:
                arg[i][j]=1
            else:
                arg[i][j]=0
    return arg


# ---- seed 000: nonlin with deriv=True written for the output (verbatim) --------------------------------
def nonlin(x, deriv=False):
    if deriv:
        return x*(1-x)
    return 1/(1+np.exp(-x))


def test_default_points_cover_small_values_and_avoid_round_numbers():
    x = default_points()
    assert x.dtype == np.float64 and x.ndim == 2 and x.shape[1] == 1
    assert x.min() < -2.9 and x.max() > 2.9
    assert ((x > 0) & (x < 0.01)).sum() >= 3 and ((x > 0.01) & (x < 0.1)).sum() >= 3
    assert ((x < 0) & (x > -0.01)).sum() >= 3
    for kink in (0.0, 0.1, 0.01, 1.0, -1.0, 0.5):
        assert not np.any(x == kink)


def test_right_derivatives_pass():
    for f, df in [(sigmoid, d_sigmoid), (ReLU, d_ReLU), (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
                  (relu, lambda x: np.where(x > 0, 1.0, 0.1)), (np.exp, np.exp),
                  (lambda x: x ** 3, lambda x: 3 * x * x)]:
        report = check_derivative(f, df)
        assert report.ok, str(report)
        assert report.diagnosis is None and report.mismatches == []
        assert report.raise_if_wrong() is report
        assert "OK at all 65 points" in str(report)


def test_seed001_scalar_returned_for_an_array():
    report = check_derivative(relu, relu_prime)
    assert not report.ok
    assert "single number (0.1)" in report.diagnosis and "one derivative per element" in report.diagnosis
    # it is wrong exactly where the true derivative is 1, i.e. every positive x
    xs = np.array([m.x for m in report.mismatches])
    assert (xs > 0).all() and len(xs) == (default_points() > 0).sum()
    assert all(m.claimed == 0.1 and m.true == pytest.approx(1.0) for m in report.mismatches)
    with pytest.raises(DerivativeMismatch, match="single number"):
        report.raise_if_wrong()


def test_seed001_edited_version_has_the_wrong_threshold_and_says_where():
    report = check_derivative(relu, relu_prime_edited)
    assert not report.ok
    assert report.diagnosis.startswith("wrong threshold")
    assert "switches value at x = 0.1, but f' switches at x = 0" in report.diagnosis
    assert "between x = 0 and x = 0.1" in report.diagnosis
    assert "df gives 0.1 where f' is 1" in report.diagnosis
    xs = np.array([m.x for m in report.mismatches])
    assert ((xs > 0) & (xs < 0.1)).all() and len(xs) == 9


def test_seed002_d_sigmoid_itself_is_right_but_applied_to_y_pred_is_caught():
    assert check_derivative(sigmoid, d_sigmoid).ok
    # the backward pass computes d_sigmoid(y_pred) with y_pred = sigmoid(z): as a derivative in z that is
    as_used = lambda z: d_sigmoid(sigmoid(z))  # noqa: E731
    report = check_derivative(sigmoid, as_used)
    assert not report.ok
    assert "at the activation's output" in report.diagnosis and "f'(f(x))" in report.diagnosis
    assert len(report.mismatches) == 65
    m = report.mismatches[0]
    s = 1 / (1 + np.exp(-m.x))
    assert m.true == pytest.approx(s * (1 - s)) and m.claimed == pytest.approx(d_sigmoid(s))


def test_seed000_derivative_written_for_the_output():
    report = check_derivative(nonlin, lambda x: nonlin(x, deriv=True))
    assert not report.ok
    assert "expects the activation's output" in report.diagnosis and "df(f(x)) equals f'(x)" in report.diagnosis


def test_seed003_reluGrad_overwrites_its_input_and_drops_the_leak():
    x = default_points()
    before = x.copy()
    report = check_derivative(relu003, reluGrad, x)
    np.testing.assert_array_equal(x, before)  # check_derivative itself passes a copy
    assert not report.ok
    assert "overwrites its input in place and returns that same array" in report.diagnosis
    assert f"{x.size} of {x.size} elements" in report.diagnosis
    # and it is wrong for negative x, where the leaky slope 0.0001 is the true derivative
    assert "for x below 0 (df gives 0 where f' is 0.0001)" in report.diagnosis
    assert all(m.x < 0 and m.claimed == 0 and m.true == pytest.approx(1e-4) for m in report.mismatches)


def test_in_place_but_correct_values_is_still_wrong():
    def relu_grad_in_place(x):
        x[...] = x > 0
        return x

    report = check_derivative(ReLU, relu_grad_in_place)
    assert not report.ok and report.mismatches == []
    assert "overwrites its input in place" in report.diagnosis


def test_sign_error():
    report = check_derivative(np.tanh, lambda x: np.tanh(x) ** 2 - 1)
    assert report.diagnosis.startswith("sign error")


def test_constant_factor():
    report = check_derivative(lambda x: x ** 2, lambda x: x)
    assert report.diagnosis.startswith("constant factor: df is 0.5 times f'")
    report = check_derivative(sigmoid, lambda x: 2 * d_sigmoid(x))
    assert "df is 2 times f'" in report.diagnosis


def test_wrong_on_one_side_reports_the_interval():
    # the leak slope is forgotten: df = 0 for x < 0 where f' = 0.1
    report = check_derivative(relu, d_ReLU)
    assert "df disagrees with f' for x below 0 (df gives 0 where f' is 0.1)" in report.diagnosis


def test_wrong_in_the_middle_without_a_threshold():
    report = check_derivative(np.sin, lambda x: np.where(np.abs(x) < 1, 0.0, np.cos(x)))
    assert "between x = -1 and x = 1" in report.diagnosis


def test_user_points_at_a_kink_accept_any_subgradient():
    x = np.array([[-1.0], [0.0], [1.0]])
    report = check_derivative(ReLU, lambda y: np.where(y >= 0, 1.0, 0.0), x)
    assert report.ok
    assert any("x = 0 is a kink" in note for note in report.notes)
    report = check_derivative(ReLU, lambda y: np.where(y >= 0, 2.0, 0.0), x)
    assert not report.ok and [m.x for m in report.mismatches] == [0.0, 1.0]


def test_untraceable_f_falls_back_to_central_differences():
    def f(x):
        return np.asarray(np.sort(np.asarray(x), axis=-1)) ** 2  # converts its input: nothing to trace

    report = check_derivative(f, lambda x: 2 * x)
    assert report.ok and report.method == "by central differences"
    assert "central differences" in str(report)
    report = check_derivative(f, lambda x: 3 * x)
    assert not report.ok and "df is 1.5 times f'" in report.diagnosis


def test_points_outside_the_domain_are_skipped_with_a_note():
    report = check_derivative(np.log, lambda x: 1 / x)
    assert report.ok
    assert any("not finite" in note for note in report.notes)
    assert not check_derivative(np.log, lambda x: 1 / x ** 2).ok


def test_shape_and_elementwise_errors():
    report = check_derivative(np.tanh, lambda x: np.ones(3))
    assert not report.ok and "returned shape (3,)" in report.diagnosis
    with pytest.raises(ValueError, match="f must be elementwise"):
        check_derivative(lambda x: np.sum(x), lambda x: np.ones_like(x))


def test_df_exception_says_where():
    with pytest.raises(IndexError) as info:
        check_derivative(relu003, reluGrad, np.array([1.0, -1.0]))
    assert any("raised by df (reluGrad)" in note for note in getattr(info.value, "__notes__", []))


def test_numpy_functions_on_tensors_are_traced():
    # the traced derivative is microgradnp's, not a finite difference, even through np.where / np.clip
    x = mg.tensor(np.array([-2.0, 0.5, 3.0]), requires_grad=True)
    y = np.where(x > 0, np.clip(x, 0, 1), np.exp(x))
    assert isinstance(y, mg.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [np.exp(-2.0), 1.0, 0.0])
    assert check_derivative(lambda x: np.where(x > 0, np.clip(x, 0, 1), np.exp(x)),
                            lambda x: np.where(x > 1, 0.0, np.where(x > 0, 1.0, np.exp(x)))).method == \
        "traced by microgradnp"
