"""PyTorch's keyword names for a primitive's inputs: ``mg.matmul(input=a, other=b)``, as in its tutorials."""
import numpy as np
import pytest

import microgradnp as mg

CALLS = [
    lambda M, a, b: M.matmul(input=a, other=b),
    lambda M, a, b: M.matmul(a, other=b),
    lambda M, a, b: M.add(input=a, other=b),
    lambda M, a, b: M.mul(a, other=b),
    lambda M, a, b: M.sub(input=a, other=b),
]


@pytest.mark.parametrize("call", CALLS)
def test_inputs_by_name_give_the_positional_result_and_gradient(call):
    a = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = mg.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    call(mg, a, b).sum().backward()
    named = a.grad.numpy().copy(), b.grad.numpy().copy()
    torch = pytest.importorskip("torch")
    ta = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    call(torch, ta, tb).sum().backward()
    np.testing.assert_allclose(named[0], ta.grad.numpy())
    np.testing.assert_allclose(named[1], tb.grad.numpy())


def test_a_name_given_twice_is_refused():
    a = mg.ones(2)
    with pytest.raises(TypeError, match="multiple values for argument 'input'"):
        mg.add(a, input=a)
    assert mg.add(a, other=a, out=mg.zeros(2)).tolist() == [2.0, 2.0]
