"""nn.init: PyTorch's gains, fan computations and distributions, filled in place."""
import math

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn
from microgradnp.nn import init


def test_calculate_gain_values():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_functions_fill_in_place_and_return_the_same_tensor():
    p = nn.Parameter(mg.zeros(3, 4))
    data = p.numpy()
    for fn in (init.zeros_, init.ones_, lambda t: init.constant_(t, 2.5), init.uniform_, init.normal_,
               init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_):
        assert fn(p) is p
        assert p.numpy() is data and p.dtype == np.float32 and p.requires_grad and p.grad_fn is None
    init.constant_(p, 2.5)
    np.testing.assert_array_equal(p.numpy(), np.full((3, 4), 2.5))


def test_uniform_and_normal_distributions():
    mg.manual_seed(0)
    t = init.uniform_(mg.empty(200, 500), -2.0, 3.0)
    assert t.numpy().min() >= -2.0 and t.numpy().max() < 3.0
    assert t.numpy().mean() == pytest.approx(0.5, abs=0.02) and t.numpy().var() == pytest.approx(25 / 12, rel=0.02)
    t = init.normal_(mg.empty(200, 500), 1.0, 0.5)
    assert t.numpy().mean() == pytest.approx(1.0, abs=0.01) and t.numpy().std() == pytest.approx(0.5, rel=0.01)


def test_xavier_bounds_and_std():
    mg.manual_seed(0)
    t = init.xavier_uniform_(mg.empty(300, 200), gain=2.0)
    bound = 2.0 * math.sqrt(6 / (200 + 300))
    assert np.abs(t.numpy()).max() <= bound and np.abs(t.numpy()).max() > 0.99 * bound
    t = init.xavier_normal_(mg.empty(300, 200))
    assert t.numpy().std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)


def test_kaiming_uses_fan_in_or_fan_out_and_gain():
    mg.manual_seed(0)
    t = init.kaiming_uniform_(mg.empty(300, 200), nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(t.numpy()).max() <= bound and np.abs(t.numpy()).max() > 0.99 * bound
    t = init.kaiming_normal_(mg.empty(300, 200), mode="fan_out", nonlinearity="relu")
    assert t.numpy().std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(mg.empty(3, 3), mode="fan_avg")


def test_fans_of_higher_dimensional_tensors_include_the_receptive_field():
    mg.manual_seed(0)
    t = init.kaiming_uniform_(mg.empty(8, 4, 3, 3), a=math.sqrt(5))  # fan_in = 4 * 9
    assert np.abs(t.numpy()).max() <= 1 / 6


def test_fan_needs_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(mg.empty(5))


def test_generator_argument_repeats_and_global_seed_repeats():
    a = init.normal_(mg.empty(4), generator=11).numpy().copy()
    np.testing.assert_array_equal(init.normal_(mg.empty(4), generator=11).numpy(), a)
    mg.manual_seed(3)
    b = init.uniform_(mg.empty(4)).numpy().copy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(init.uniform_(mg.empty(4)).numpy(), b)


def test_init_of_a_model_with_apply():
    def reset(module):
        if isinstance(module, nn.Linear):
            init.zeros_(module.bias)
            init.ones_(module.weight)

    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).apply(reset)
    np.testing.assert_allclose(model(mg.tensor([[1.0, 2.0]])).numpy(), [[9.0]])  # 3 * (1 + 2)
