"""`.data` is PyTorch's: a tensor sharing the values, cut off from the graph and from version counting."""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn


def test_data_is_a_detached_tensor_sharing_the_array():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = w.data
    assert isinstance(d, mg.Tensor) and not d.requires_grad and d.grad_fn is None
    assert d.numpy() is w.numpy()
    d.mul_(2)
    assert w.tolist() == [2.0, 4.0, 6.0]


def test_a_write_through_data_is_not_counted_as_pytorch_does_not():
    # the old-style optimizer update: the backward that follows sees no version change
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w.data.add_(10.0)
    y.backward()
    assert w.grad.tolist() == [22.0, 24.0]  # computed from the values as they are now, as in PyTorch


def test_data_setter_takes_a_tensor_or_an_array_and_may_change_the_shape():
    w = mg.zeros(2, requires_grad=True)
    w.data = mg.ones(3)
    assert w.shape == (3,) and w.tolist() == [1.0, 1.0, 1.0] and w.requires_grad
    w.data = np.full((2, 2), 7.0)
    assert w.shape == (2, 2) and w.dtype == np.float64 and w.is_leaf


def test_older_pytorch_initialisation_and_update_code_runs():
    mg.manual_seed(0)
    layer = nn.Linear(4, 3)
    nn.init.normal_(layer.weight.data, 0, 0.01)
    layer.bias.data.fill_(0)
    assert float(layer.weight.data.std()) < 0.05 and (layer.bias.numpy() == 0).all()
    layer(mg.ones(2, 4)).sum().backward()
    before = layer.bias.numpy().copy()
    for p in layer.parameters():
        p.data.add_(-0.1 * p.grad)
    np.testing.assert_allclose(layer.bias.numpy(), before - 0.1 * 2)


def test_data_std_is_pytorchs_unbiased_std():
    values = np.array([1.0, 2.0, 4.0, 8.0])
    assert float(mg.tensor(values).data.std()) == pytest.approx(np.std(values, ddof=1))


def test_data_matches_torch():
    torch = pytest.importorskip("torch")
    values = np.array([[0.5, -1.0], [2.0, 3.0]])
    ours, theirs = mg.tensor(values.copy(), requires_grad=True), torch.tensor(values.copy(), requires_grad=True)
    for t in (ours, theirs):
        (t * t).sum().backward()
        t.data.mul_(3.0)
        t.data.sub_(t.grad)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy())
    assert float(ours.data.std()) == pytest.approx(float(theirs.data.std()))
    assert ours.data.requires_grad == theirs.data.requires_grad and ours.data.is_leaf == theirs.data.is_leaf
