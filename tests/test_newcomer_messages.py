"""Mistakes a newcomer makes that used to pass in silence: each now warns or raises as PyTorch does."""
import warnings

import numpy as np
import pytest

import microgradnp as mg


def test_reading_grad_of_a_non_leaf_warns_and_says_to_retain_it():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    (y * y).sum().backward()
    with pytest.warns(UserWarning, match=r"not a leaf Tensor.*\.retain_grad\(\)"):
        assert y.grad is None


def test_leaves_and_retained_tensors_do_not_warn():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None and y.grad is None  # before backward: nothing yet, and no warning
        (y * y).sum().backward()
        np.testing.assert_array_equal(y.grad.numpy(), [6.0, 12.0])
        np.testing.assert_array_equal(x.grad.numpy(), [18.0, 36.0])
        assert mg.tensor([1.0]).grad is None


def test_a_list_of_tensors_that_require_grad_is_refused_and_points_to_stack():
    a = mg.tensor(1.0, requires_grad=True)
    b = a * 2
    for data in ([a, b], [[1.0, 2.0], [a, 3.0]], (1.0, b)):
        with pytest.raises(TypeError, match=r"mg\.stack"):
            mg.tensor(data)
    joined = mg.stack([a, b])
    joined.sum().backward()
    assert a.grad.item() == 3.0  # what the user wanted: the gradient reaches a


def test_lists_of_numbers_and_of_detached_tensors_still_work():
    assert mg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert mg.tensor([mg.tensor(1.0), mg.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_copying_a_tensor_that_requires_grad_warns():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match=r"clone\(\)\.detach\(\)"):
        copy = mg.tensor(a)
    assert not copy.requires_grad and copy.tolist() == [1.0, 2.0]
