"""Randomness: ``mg.Generator`` everywhere ``generator=`` is, ``multinomial``, ``normal``, the ``*_like``
factories, ``randint``'s two forms and the in-place samplers. The streams are NumPy's, not PyTorch's, so
values are checked by their distribution and by repeating, and shapes, dtypes and errors against PyTorch."""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn

SAMPLERS = {
    "rand": lambda g: mg.rand(3, 4, generator=g),
    "randn": lambda g: mg.randn(3, 4, generator=g),
    "randint": lambda g: mg.randint(0, 10, (5,), generator=g),
    "randperm": lambda g: mg.randperm(7, generator=g),
    "rand_like": lambda g: mg.rand_like(mg.ones(3), generator=g),
    "randn_like": lambda g: mg.randn_like(mg.ones(3), generator=g),
    "randint_like": lambda g: mg.randint_like(mg.ones(3), 10, generator=g),
    "normal": lambda g: mg.normal(0.0, 1.0, (4,), generator=g),
    "multinomial": lambda g: mg.multinomial(mg.tensor([0.2, 0.3, 0.5]), 2, generator=g),
    "bernoulli": lambda g: mg.bernoulli(mg.full((6,), 0.5), generator=g),
    "uniform_": lambda g: mg.zeros(4).uniform_(-1, 1, generator=g),
    "normal_": lambda g: mg.zeros(4).normal_(generator=g),
    "init.trunc_normal_": lambda g: nn.init.trunc_normal_(mg.zeros(4), generator=g),
    "init.normal_": lambda g: nn.init.normal_(mg.zeros(4), generator=g),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_a_seeded_generator_repeats_and_leaves_the_global_stream_alone(name):
    sample = SAMPLERS[name]
    mg.manual_seed(0)
    global_before = mg.rand(2).tolist()
    first = sample(mg.Generator().manual_seed(5)).tolist()
    mg.manual_seed(0)
    second = sample(mg.Generator().manual_seed(5)).tolist()
    assert first == second and mg.rand(2).tolist() == global_before
    assert sample(mg.Generator().manual_seed(6)).tolist() != first or name in ("multinomial", "bernoulli")


def test_generator_state_round_trip_and_seeds():
    g = mg.Generator().manual_seed(42)
    assert g.initial_seed() == 42 and g.manual_seed(42) is g
    state = g.get_state()
    a = mg.rand(5, generator=g).tolist()
    g.set_state(state)
    assert mg.rand(5, generator=g).tolist() == a
    fresh = g.seed()
    assert g.initial_seed() == fresh
    assert mg.manual_seed(3) is mg.default_generator and mg.initial_seed() == 3
    state = mg.get_rng_state()
    b = mg.randn(3).tolist()
    mg.set_rng_state(state)
    assert mg.randn(3).tolist() == b
    with pytest.raises(RuntimeError, match="CPU"):
        mg.Generator(device="cuda")


def test_generator_also_takes_a_numpy_generator_or_a_seed():
    assert mg.rand(3, generator=7).tolist() == mg.rand(3, generator=np.random.default_rng(7)).tolist()
    with pytest.raises(TypeError, match="generator"):
        mg.rand(3, generator="seed")


def test_multinomial_without_replacement_draws_distinct_categories_in_proportion():
    g = mg.Generator().manual_seed(0)
    weights = mg.tensor([1.0, 2.0, 7.0])  # not normalised, as PyTorch allows
    draws = mg.multinomial(weights.expand(4000, 3), 1, generator=g)
    assert draws.shape == (4000, 1) and draws.dtype == np.int64
    frequencies = np.bincount(draws.numpy().ravel(), minlength=3) / 4000
    np.testing.assert_allclose(frequencies, [0.1, 0.2, 0.7], atol=0.03)
    pairs = mg.multinomial(weights, 3, generator=g)
    assert sorted(pairs.tolist()) == [0, 1, 2]
    with_replacement = mg.multinomial(mg.tensor([0.0, 1.0]), 5, replacement=True, generator=g)
    assert with_replacement.tolist() == [1] * 5
    # without replacement, categories of weight 0 come after the others are used up, as in PyTorch
    assert mg.multinomial(mg.tensor([0.0, 1.0, 0.0]), 3, generator=g).tolist()[0] == 1
    counts = np.bincount(mg.multinomial(weights.expand(4000, 3), 3, replacement=True, generator=g).numpy().ravel())
    np.testing.assert_allclose(counts / counts.sum(), [0.1, 0.2, 0.7], atol=0.02)


@pytest.mark.parametrize("weights, count, replacement, message", [
    ([0.5, 0.5], 3, False, "cannot sample n_sample > prob_dist.size\\(-1\\) samples without replacement"),
    ([0.5, -0.5], 1, False, "probability tensor contains either `inf`, `nan` or element < 0"),
    ([0.5, float("nan")], 1, True, "probability tensor contains either `inf`, `nan` or element < 0"),
    ([0.0, 0.0], 1, True, "invalid multinomial distribution \\(sum of probabilities <= 0\\)"),
    ([[[1.0]]], 1, True, "prob_dist must be 1 or 2 dim"),
    ([1.0, 1.0], 0, True, "cannot sample n_sample <= 0 samples"),
])
def test_multinomial_refuses_as_pytorch_does(weights, count, replacement, message):
    with pytest.raises(RuntimeError, match=message):
        mg.multinomial(mg.tensor(weights), count, replacement)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(weights), count, replacement)


def test_normal_overloads_shapes_and_moments():
    g = mg.Generator().manual_seed(1)
    mean = mg.zeros(2, 1, dtype=mg.float64)
    assert mg.normal(mean, mg.ones(3), generator=g).shape == (2, 3)
    assert mg.normal(mean, 2.0).dtype == np.float64 and mg.normal(1.0, mg.ones(4)).shape == (4,)
    big = mg.normal(3.0, 2.0, (20000,), generator=g)
    assert big.dtype == mg.float32
    assert abs(float(big.mean()) - 3.0) < 0.05 and abs(float(big.std()) - 2.0) < 0.05
    with pytest.raises(RuntimeError, match="std >= 0"):
        mg.normal(mg.zeros(2), -1.0)


def test_randint_takes_both_of_pytorchs_forms():
    g = mg.Generator().manual_seed(2)
    high_only = mg.randint(5, (1000,), generator=g)
    low_high = mg.randint(3, 5, (1000,), generator=g)
    assert high_only.dtype == np.int64 and set(high_only.tolist()) == {0, 1, 2, 3, 4}
    assert set(low_high.tolist()) == {3, 4} and mg.randint(3, 5, size=(2, 2)).shape == (2, 2)
    with pytest.raises(RuntimeError, match="from=5 >= to=5"):
        mg.randint(5, 5, (1,))


def test_like_factories_keep_shape_and_dtype():
    ints = mg.tensor([[1, 2], [3, 4]])
    assert mg.rand_like(ints, dtype=mg.float32).dtype == mg.float32
    assert mg.rand_like(ints, dtype=mg.float).shape == (2, 2)
    assert mg.randn_like(mg.ones(3, dtype=mg.float64)).dtype == np.float64
    assert mg.randint_like(ints, 3).dtype == np.int64 and mg.randint_like(ints, 3, 6).numpy().min() >= 3
    with pytest.raises(RuntimeError, match="floating point"):
        mg.rand_like(ints)


def test_in_place_samplers_fill_the_tensor_and_go_through_data():
    g = mg.Generator().manual_seed(4)
    w = mg.zeros(20000, requires_grad=True)
    w.data.uniform_(-2.0, 2.0, generator=g)
    values = w.numpy()
    assert w.requires_grad and w.is_leaf and -2.0 <= values.min() and values.max() < 2.0
    assert abs(values.mean()) < 0.05
    w.data.normal_(1.0, 0.5, generator=g)
    assert abs(w.numpy().mean() - 1.0) < 0.02 and abs(w.numpy().std() - 0.5) < 0.02
    counts = mg.zeros(2000).random_(3, generator=g).numpy()
    assert set(counts.tolist()) == {0.0, 1.0, 2.0}
    assert set(mg.zeros(100).bernoulli_(0.5, generator=g).tolist()) == {0.0, 1.0}
    assert mg.zeros(1000).exponential_(2.0, generator=g).numpy().mean() == pytest.approx(0.5, abs=0.06)


def test_trunc_normal_stays_in_its_bounds():
    g = mg.Generator().manual_seed(5)
    t = nn.init.trunc_normal_(mg.zeros(20000), mean=0.0, std=1.0, a=-0.5, b=1.0, generator=g)
    assert t.numpy().min() >= -0.5 and t.numpy().max() <= 1.0 and t.numpy().mean() > 0


def test_shapes_and_dtypes_match_torch():
    torch = pytest.importorskip("torch")
    g, tg = mg.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    pairs = [
        (mg.multinomial(mg.ones(2, 4), 3, generator=g), torch.multinomial(torch.ones(2, 4), 3, generator=tg)),
        (mg.randint(5, (3,), generator=g), torch.randint(5, (3,), generator=tg)),
        (mg.rand_like(mg.tensor([[1, 2]]), dtype=mg.float32),
         torch.rand_like(torch.tensor([[1, 2]]), dtype=torch.float)),
        (mg.randint_like(mg.tensor([1, 2]), 4), torch.randint_like(torch.tensor([1, 2]), 4)),
        (mg.normal(mg.zeros(2, 1), mg.ones(3)), torch.normal(torch.zeros(2, 1), torch.ones(3))),
        (mg.normal(0.0, 1.0, (2, 2)), torch.normal(0.0, 1.0, (2, 2))),
        (mg.bernoulli(mg.full((3,), 0.5)), torch.bernoulli(torch.full((3,), 0.5))),
        (mg.randperm(4), torch.randperm(4)),
    ]
    for ours, theirs in pairs:
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
