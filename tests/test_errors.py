"""Every error names the op and the shapes or values involved, and says what to do where it can."""
import re

import numpy as np
import pytest

import microgradnp as mg


def t(*shape, requires_grad=True):
    return mg.tensor(np.ones(shape), requires_grad=requires_grad)


@pytest.mark.parametrize("call, message", [
    (lambda x, z: mg.tanh(x, z), r"tanh\(\) takes 1 input but 2 were given"),
    (lambda x, z: mg.relu(x, z), r"relu\(\) takes 1 input but 2 were given"),
    (lambda x, z: mg.exp(x, out=z), r"exp\(\) takes no keyword arguments, got 'out'"),
    (lambda x, z: mg.add(x, x, z), r"add\(\) takes 2 inputs but 3 were given"),
    (lambda x, z: mg.mul(x, x, out=z), r"mul\(\): argument 'out' must be Tensor, not ndarray"),
])
def test_an_op_refuses_an_output_array(call, message):
    # NumPy's ufunc behind the op would take the extra array as its output and overwrite it
    x, z = t(2), np.zeros(2)
    with pytest.raises(TypeError, match=message):
        call(x, z)
    np.testing.assert_array_equal(z, [0.0, 0.0])


SHAPE_ERRORS = [
    (lambda: t(4, 3) @ t(2, 1), ValueError, "matmul: (4, 3) @ (2, 1): inner dimensions 3 and 2 differ"),
    (lambda: mg.matmul(t(3), t(4)), ValueError, "matmul: (3,) @ (4,): inner dimensions 3 and 4 differ"),
    (lambda: t(2, 3, 4) @ t(3, 4, 5), ValueError,
     "matmul: (2, 3, 4) @ (3, 4, 5): batch dimensions (2,) and (3,) do not broadcast"),
    (lambda: mg.matmul(t(), t(3)), ValueError, "matmul: both operands need at least 1 dimension, got () @ (3,)"),
    (lambda: t(2, 3) + t(4), ValueError, "add: cannot apply to inputs of shape (2, 3), (4,)"),
    (lambda: t(2, 3) - t(2, 2), ValueError, "sub: cannot apply to inputs of shape (2, 3), (2, 2)"),
    (lambda: t(2, 3) * t(3, 2), ValueError, "mul: cannot apply to inputs of shape (2, 3), (3, 2)"),
    (lambda: t(2, 3) / t(5), ValueError, "div: cannot apply to inputs of shape (2, 3), (5,)"),
    (lambda: t(2) ** t(3), ValueError, "pow: cannot apply to inputs of shape (2,), (3,)"),
    (lambda: mg.maximum(t(2, 3), t(2)), ValueError, "maximum: cannot apply to inputs of shape (2, 3), (2,)"),
    (lambda: mg.where(np.ones((2, 2), bool), t(3), t(2)), ValueError,
     "where: cannot apply to inputs of shape (2, 2), (3,), (2,)"),
    (lambda: t(2, 3).reshape(4, 2), ValueError, "reshape: cannot apply to inputs of shape (2, 3), shape=(4, 2)"),
    (lambda: t(2, 3).sum(2), ValueError, "sum: cannot apply to inputs of shape (2, 3), axis=2"),
    (lambda: t(2, 3).amax(5), ValueError, "amax: cannot apply to inputs of shape (2, 3), axis=5"),
    (lambda: t(2, 3).permute(0, 0), ValueError, "transpose: cannot apply to inputs of shape (2, 3), axes=(0, 0)"),
    (lambda: mg.broadcast_to(t(2, 3), (4, 3)), ValueError, "broadcast_to: cannot apply to inputs of shape (2, 3), shape=(4, 3)"),
    (lambda: mg.sum_to(t(2, 3), (4,)), ValueError, "sum_to: cannot apply to inputs of shape (2, 3), shape=(4,)"),
    (lambda: t(2, 3)[5], IndexError, "getitem: cannot apply to inputs of shape (2, 3), index=5: index 5 is out of bounds"),
    (lambda: t(2, 3)[[0, 7]], IndexError, "getitem: cannot apply to inputs of shape (2, 3), index=array([0, 7])"),
    (lambda: t(2, 3)[np.ones(4, bool)], IndexError, "size of axis is 2 but size of corresponding boolean axis is 4"),
    (lambda: t(3)[mg.tensor([1.0])], IndexError, "getitem: cannot apply to inputs of shape (3,)"),
    (lambda: mg.cat([t(2, 3), t(3, 2)], 0), ValueError,
     "concatenate: cannot apply to inputs of shape (2, 3), (3, 2), axis=0"),
    (lambda: mg.cat([]), ValueError, "cat: expects a non-empty sequence of tensors"),
    (lambda: mg.stack([t(2, 3), t(3, 2)]), ValueError, "stack: all tensors must have the same shape, got [(2, 3), (3, 2)]"),
    (lambda: mg.split(t(5), [2, 2]), ValueError, "split: sizes [2, 2] add up to 4, but dimension 0 has length 5"),
    (lambda: mg.chunk(t(4), 0), ValueError, "chunk: chunks must be at least 1, got 0"),
    (lambda: mg.gather(t(2, 3), 1, np.array([0, 1])), ValueError,
     "gather: index has 1 dims but input has 2 (shapes (2,) and (2, 3))"),
    (lambda: mg.gather(t(2, 3), 1, np.array([[0.0, 1.0]])), TypeError,
     "gather: index must be an integer tensor, got dtype float64"),
    (lambda: mg.gather(t(2, 3), 1, np.array([[0, 5]])), IndexError,
     "gather: index of shape (1, 2) does not fit input of shape (2, 3) along dim 1: index 5 is out of bounds"),
    (lambda: mg.pad(t(2, 3), (1, 2, 3)), ValueError, "pad: expected pairs for at most 2 dims, got (1, 2, 3)"),
    (lambda: mg.masked_fill(t(2, 3), np.ones(3), 0.0), TypeError, "masked_fill: mask must be a bool tensor, got dtype float64"),
    (lambda: mg.masked_fill(t(2, 3), np.ones(4, bool), 0.0), ValueError,
     "masked_fill: mask of shape (4,) does not broadcast to the input's shape (2, 3)"),
    (lambda: mg.linear(t(5, 3), t(4, 2)), ValueError,
     "linear: input of shape (5, 3) does not match weight of shape (4, 2)"),
    (lambda: mg.dot(t(2, 3), t(3)), ValueError, "dot: expects two 1-D tensors, got shapes (2, 3) and (3,)"),
    (lambda: mg.outer(t(2, 3), t(3)), ValueError, "outer: expects two 1-D tensors, got shapes (2, 3) and (3,)"),
    (lambda: mg.clamp(t(2)), ValueError, "clamp: at least one of min and max must be given"),
    (lambda: t(2).item(), ValueError, "item(): only one-element tensors can be converted to Python scalars, got shape (2,)"),
    (lambda: mg.var(t(1)), ValueError, "var: 1 element(s) over the reduced dims is too few for correction=1"),
    (lambda: mg.one_hot(mg.tensor([0, 3]), 2), ValueError, "one_hot: class values must be in [0, 2), got min 0 and max 3"),
    (lambda: t(2, 3).squeeze(5), IndexError, "squeeze: dim 5 is out of range for a tensor with 2 dim(s)"),
    (lambda: t(2, 3).unsqueeze(5), IndexError, "unsqueeze: dim 5 is out of range for a tensor with 3 dim(s)"),
    (lambda: mg.flatten(t(2, 3), 3), IndexError, "flatten: dim 3 is out of range for a tensor with 2 dim(s)"),
    (lambda: mg.softmax(t(2, 3), 2), ValueError, "softmax: dim 2 is out of range for a tensor of shape (2, 3)"),
    (lambda: mg.log_softmax(t(2, 3), 2), ValueError, "log_softmax: dim 2 is out of range for a tensor of shape (2, 3)"),
    (lambda: mg.logsumexp(t(2, 3), 2), ValueError, "logsumexp: dim 2 is out of range for a tensor of shape (2, 3)"),
    (lambda: mg.index_put(t(3), [5], 1.0), IndexError, "setitem: cannot index a tensor of shape (3,)"),
    (lambda: _assign(t(2), [0, 1], mg.tensor(np.ones(3))), ValueError,
     "setitem: cannot assign values of shape (3,) to a selection of shape (2,)"),
    (lambda: bool(t(3)), RuntimeError, "Boolean value of a tensor with 3 elements is ambiguous"),
]


def _assign(x, index, value):
    y = x * 1
    y[index] = value
    return y


@pytest.mark.parametrize("call, error, message", SHAPE_ERRORS, ids=[m.split(":")[0] + " " + m[-30:] for _, _, m in SHAPE_ERRORS])
def test_error_names_the_op_and_the_shapes(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_backward_on_a_non_scalar():
    with pytest.raises(RuntimeError, match=re.escape(
            "backward: a gradient can be created implicitly only for a scalar output, but this output has shape "
            "(2, 3); reduce it first (out.sum().backward()) or pass gradient= a tensor of shape (2, 3)")):
        (t(2, 3) * 2).backward()


def test_backward_gradient_of_the_wrong_shape():
    with pytest.raises(RuntimeError, match=re.escape("backward: gradient has shape (3,) but the output has shape (2,)")):
        (t(2) * 2).backward(gradient=np.ones(3))


def test_second_backward_names_the_op_whose_values_were_freed():
    y = (t(2).exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=re.escape(
            "Trying to backward through the graph a second time: the values saved by 'sum' were freed")):
        y.backward()


def test_backward_of_something_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="backward: output 0 does not require grad and has no grad_fn"):
        t(2, requires_grad=False).sum().backward()


def test_grad_of_an_input_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="grad: input 0 does not require grad"):
        mg.autograd.grad((t(2) * 2).sum(), t(2, requires_grad=False))


def test_requires_grad_on_integers():
    with pytest.raises(RuntimeError, match=re.escape(
            "tensor: only floating point tensors can require gradients, got dtype int64; convert first, "
            "e.g. t.float().requires_grad_()")):
        mg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="requires_grad_: only floating point tensors .* got dtype int32"):
        mg.tensor(np.array([1], dtype=np.int32)).requires_grad_()


def test_in_place_version_error_names_the_op_and_shapes():
    a = t(2, 3)
    b = a * 1
    c = b.log()
    with mg.no_grad():
        b.add_(1)
    with pytest.raises(RuntimeError, match=re.escape(
            "one of the tensors needed to compute the gradient of 'log' was modified by an in-place operation after "
            "it was used (inputs: (2, 3) at version 1)")):
        c.sum().backward()


def test_in_place_on_a_leaf_names_the_in_place_op():
    with pytest.raises(RuntimeError, match=re.escape("sub_: a leaf tensor that requires grad is being used in an "
                                                     "in-place operation; update parameters inside `with mg.no_grad():`")):
        t(2).sub_(1)


def test_in_place_result_that_does_not_fit():
    with pytest.raises(TypeError, match=re.escape("add_: cannot write a result of shape (2,) and dtype float64 into a "
                                                  "tensor of shape (2,) and dtype int64")):
        mg.tensor(np.array([1, 2])).add_(0.5)


def test_numpy_function_without_gradient_is_refused_by_name():
    with pytest.raises(TypeError, match="numpy.sort has no gradient in microgradnp"):
        np.sort(t(3))
    with pytest.raises(TypeError, match=r"numpy.cumsum has no gradient"):
        np.cumsum(t(3))
    with pytest.raises(TypeError, match=r"numpy.add \(reduce\) has no gradient"):
        np.add.reduce(t(3))


def test_numpy_argument_that_is_not_supported_is_named():
    with pytest.raises(TypeError, match="numpy.sum on a tensor: the argument.s. where are not supported"):
        np.sum(t(3), where=np.array([True, False, True]))


def test_custom_function_gradient_of_the_wrong_shape():
    class Bad(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return mg.tensor(np.ones(5))

    with pytest.raises(RuntimeError, match=re.escape("Bad.backward returned a gradient of shape (5,) for input 0 of "
                                                     "shape (2,)")):
        Bad.apply(t(2)).sum().backward()


def test_gradcheck_float32_message():
    with pytest.raises(TypeError, match="gradcheck: input 0 .* float32; finite differences need float64"):
        mg.autograd.gradcheck(mg.tanh, mg.tensor([1.0], requires_grad=True))


def test_set_default_dtype_names_the_dtype():
    with pytest.raises(TypeError, match="set_default_dtype: only float32 and float64 are supported, got int64"):
        mg.set_default_dtype(np.int64)


def test_anomaly_message_without_recording_says_how_to_get_the_line():
    from microgradnp.autograd import anomaly

    y = t(2) * 2
    with pytest.raises(RuntimeError, match="create the graph inside mg.autograd.detect_anomaly"):
        anomaly.check(y.grad_fn, 0, np.array([np.nan]))
