"""``out=`` on matmul, mul, add, sub and div: the result written into a given Tensor, as in PyTorch."""
import warnings

import numpy as np
import pytest

import microgradnp as mg

OPS = ["matmul", "mul", "add", "sub", "div"]
A = [[1.0, 2.0], [3.0, 4.0]]
B = [[0.5, -1.0], [2.0, 0.25]]


def test_the_tutorials_calls():
    tensor = mg.tensor(A)
    y1 = tensor @ tensor.T
    y3 = mg.zeros(2, 2)
    assert mg.matmul(tensor, tensor.T, out=y3) is y3
    np.testing.assert_array_equal(y3.numpy(), y1.numpy())
    z3 = mg.zeros(2, 2)
    mg.mul(tensor, tensor, out=z3)
    np.testing.assert_array_equal(z3.numpy(), (tensor * tensor).numpy())


@pytest.mark.parametrize("op", OPS)
def test_values_and_the_version(op):
    a, b = mg.tensor(A), mg.tensor(B)
    out = mg.zeros(2, 2)
    assert getattr(mg, op)(a, b, out=out) is out
    np.testing.assert_allclose(out.numpy(), getattr(mg, op)(a, b).numpy())
    assert out._version == 1


def test_a_mismatched_out_is_resized_with_a_warning_unless_empty():
    a = mg.tensor(A)
    out = mg.zeros(3)
    with pytest.warns(UserWarning, match=r"resized since it had shape \[3\], which does not match the required "
                                         r"output shape \[2, 2\]"):
        mg.add(a, a, out=out)
    assert out.shape == (2, 2)
    empty = mg.zeros(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.add(a, a, out=empty)
    assert empty.shape == (2, 2)


def test_out_may_be_an_input():
    a = mg.tensor(A)
    assert mg.sub(a, 1, out=a) is a
    np.testing.assert_array_equal(a.numpy(), np.array(A) - 1)


def test_autograd_refuses_out():
    a = mg.tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"add\(\): functions with out=... arguments don't support automatic "
                                           r"differentiation, but one of the arguments requires grad"):
        mg.add(a, 1, out=mg.zeros(2, 2))
    with pytest.raises(RuntimeError, match="matmul"):
        mg.matmul(mg.tensor(A), mg.tensor(B), out=mg.zeros(2, 2, requires_grad=True))
    with mg.no_grad():
        w = mg.zeros(2, 2, requires_grad=True)
        assert mg.mul(a, 2, out=w) is w and w.requires_grad and w._version == 1


def test_dtypes_follow_pytorch():
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        mg.add(mg.ones(2), mg.ones(2), out=mg.zeros(2, dtype=mg.int64))
    out = mg.zeros(2)
    mg.div(mg.tensor([1, 3]), 2, out=out)
    assert out.dtype == mg.float32 and out.tolist() == [0.5, 1.5]


def test_out_must_be_a_tensor():
    with pytest.raises(TypeError, match="argument 'out' must be Tensor, not list"):
        mg.add(mg.ones(2), 1, out=[0, 0])


def test_a_write_into_a_saved_tensor_is_seen_by_backward():
    # the in-place rules: out's version moves, with that of every tensor sharing its memory
    x = mg.tensor([0.5, 0.3], requires_grad=True)
    h = x * 2
    s = h.sin()  # saves h
    with mg.no_grad():
        mg.add(mg.ones(2), 1, out=h.detach())
    with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
        s.sum().backward()


def test_the_plain_call_is_unchanged():
    a = mg.tensor(A, requires_grad=True)
    y = mg.add(a, a)
    assert y.grad_fn is not None
    with pytest.raises(TypeError, match="takes no keyword arguments"):
        mg.add(a, a, where=True)


@pytest.mark.parametrize("op", OPS)
def test_against_torch(op):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, mg):
        a, b = lib.tensor(A), lib.tensor(B)
        out = lib.zeros(5)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            returned = getattr(lib, op)(a, b, out=out)
        assert returned is out
        results.append((out.numpy().copy(), tuple(out.shape), out._version, len(caught)))
    (theirs, *t_rest), (ours, *o_rest) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert t_rest == o_rest
