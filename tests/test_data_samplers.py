"""mg.utils.data without torch: random samplers, random_split, worker options, datasets and collation."""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp.utils import data
from microgradnp.utils.data import DataLoader, TensorDataset


def _order(loader):
    return [int(i) for batch in loader for i in batch.tolist()]


def test_shuffle_is_a_fresh_permutation_each_epoch_and_repeats_with_a_seed():
    loader = DataLoader(range(50), batch_size=7, shuffle=True, generator=3)
    first, second = _order(loader), _order(loader)
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second and first != list(range(50))
    again = DataLoader(range(50), batch_size=7, shuffle=True, generator=3)
    assert _order(again) == first and _order(again) == second


def test_shuffle_takes_a_numpy_generator_and_follows_it():
    a = DataLoader(range(20), batch_size=5, shuffle=True, generator=np.random.default_rng(1))
    b = DataLoader(range(20), batch_size=5, shuffle=True, generator=np.random.default_rng(1))
    assert _order(a) == _order(b) and _order(a) == _order(b)


def test_shuffle_without_a_generator_follows_manual_seed():
    loader = DataLoader(range(30), batch_size=4, shuffle=True)
    mg.manual_seed(11)
    first = _order(loader)
    mg.manual_seed(11)
    assert _order(loader) == first


def test_random_sampler_with_and_without_replacement():
    assert sorted(data.RandomSampler(range(6), generator=0)) == list(range(6))
    long = list(data.RandomSampler(range(4), num_samples=10, generator=0))
    assert len(long) == 10 and sorted(long[:4]) == sorted(long[4:8]) == [0, 1, 2, 3]
    drawn = list(data.RandomSampler(range(3), replacement=True, num_samples=200, generator=0))
    assert len(drawn) == 200 and set(drawn) == {0, 1, 2}
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        data.RandomSampler(range(3), replacement="yes")


def test_subset_random_sampler_permutes_the_given_indices():
    sampler = data.SubsetRandomSampler([10, 20, 30, 40], generator=5)
    assert sorted(sampler) == [10, 20, 30, 40] and len(sampler) == 4
    assert list(data.SubsetRandomSampler([10, 20, 30, 40], generator=5)) == list(
        data.SubsetRandomSampler([10, 20, 30, 40], generator=5))


def test_weighted_random_sampler():
    drawn = list(data.WeightedRandomSampler([0.0, 1.0, 3.0], 400, generator=0))
    assert len(drawn) == 400 and 0 not in drawn and drawn.count(2) > drawn.count(1)
    once = list(data.WeightedRandomSampler(mg.tensor([1.0, 1.0, 5.0, 0.5]), 4, replacement=False, generator=0))
    assert sorted(once) == [0, 1, 2, 3]
    assert data.WeightedRandomSampler([1, 2], 3).weights.dtype == np.float64
    with pytest.raises(RuntimeError, match="cannot draw 3 samples without replacement from 2"):
        list(data.WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False))
    with pytest.raises(RuntimeError, match="non-negative"):
        list(data.WeightedRandomSampler([1.0, -1.0], 1))
    with pytest.raises(ValueError, match=r"1d sequence .* shape \(1, 2\)"):
        data.WeightedRandomSampler([[1.0, 2.0]], 1)


def test_loader_with_a_sampler_and_a_batch_sampler():
    sampler = data.SubsetRandomSampler(list(range(0, 20, 2)), generator=1)
    seen = _order(DataLoader(range(20), batch_size=3, sampler=sampler))
    assert sorted(seen) == list(range(0, 20, 2))
    batches = data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False)
    assert [b.tolist() for b in DataLoader(range(7), batch_sampler=batches)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(DataLoader(range(7), batch_sampler=batches)) == 3


def test_random_split_is_a_reproducible_partition():
    parts = data.random_split(range(10), [0.5, 0.3, 0.2], generator=4)
    assert [len(p) for p in parts] == [5, 3, 2]
    assert sorted(i for p in parts for i in p) == list(range(10))
    assert [list(p) for p in parts] == [list(p) for p in data.random_split(range(10), [5, 3, 2], generator=4)]
    with pytest.raises(ValueError, match=r"random_split: sum of input lengths .* \[3, 3\] .* length 10"):
        data.random_split(range(10), [3, 3])


def test_tensor_dataset_under_random_split_batches_like_sample_by_sample():
    x = mg.arange(24, dtype=mg.float32).reshape(12, 2)
    y = mg.arange(12)
    train, _ = data.random_split(TensorDataset(x, y), [8, 4], generator=0)
    fast = list(DataLoader(train, batch_size=3))
    slow = list(DataLoader(train, batch_size=3, collate_fn=lambda items: data.default_collate(items)))
    assert len(fast) == len(slow) == 3
    for a, b in zip(fast, slow):
        assert isinstance(a, list) and len(a) == 2
        for ta, tb in zip(a, b):
            assert ta.dtype == tb.dtype and ta.shape == tb.shape
            np.testing.assert_array_equal(ta.numpy(), tb.numpy())


def test_collated_tensors_that_require_grad_keep_their_history():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    batch = data.default_collate([w * 2, w * 3])
    batch.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [5.0, 5.0])
    with pytest.raises(RuntimeError, match=r"equal size, but got \[2\] at entry 0 and \[3\] at entry 1"):
        data.default_collate([mg.zeros(2), mg.zeros(3)])


def test_default_collate_dtypes_and_structures():
    assert data.default_collate([1, 2]).dtype == np.int64
    assert data.default_collate([1.0, 2.0]).dtype == np.float64
    assert data.default_collate([True, False]).dtype == np.bool_
    assert data.default_collate([np.float32(1.0)]).dtype == np.float32
    assert data.default_collate(["a", "b"]) == ["a", "b"]
    out = data.default_collate([{"x": (1, "p")}, {"x": (2, "q")}])
    assert out["x"][0].tolist() == [1, 2] and out["x"][1] == ("p", "q")
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors.*found <class 'object'>"):
        data.default_collate([object()])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        data.default_collate([[1, 2], [3]])


def test_workers_are_accepted_and_load_in_process():
    ds = TensorDataset(mg.arange(10))
    plain = [b[0].tolist() for b in DataLoader(ds, batch_size=4)]
    calls = []

    def init(worker_id):
        calls.append((worker_id, data.get_worker_info().id, data.get_worker_info().num_workers))

    loader = DataLoader(ds, batch_size=4, num_workers=3, pin_memory=True, worker_init_fn=init, prefetch_factor=4,
                        timeout=5)
    assert [b[0].tolist() for b in loader] == plain and calls == [(0, 0, 1)]
    list(loader)
    assert len(calls) == 2  # workers start afresh each epoch
    persistent = DataLoader(ds, batch_size=4, num_workers=2, worker_init_fn=init, persistent_workers=True)
    list(persistent), list(persistent)
    assert len(calls) == 3
    assert data.get_worker_info() is None
    assert DataLoader(ds, num_workers=2).prefetch_factor == 2


class _Range(data.IterableDataset):
    """The sharding recipe of torch's IterableDataset docs."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = data.get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        per_worker = -(-(self.end - self.start) // info.num_workers)
        first = self.start + info.id * per_worker
        return iter(range(first, min(first + per_worker, self.end)))


def test_iterable_dataset_sharded_by_worker_info_gives_everything_once():
    for workers in (0, 2):
        assert [b.item() for b in DataLoader(_Range(3, 7), num_workers=workers)] == [3, 4, 5, 6]
    assert [b.tolist() for b in DataLoader(_Range(0, 5), batch_size=2, drop_last=True)] == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified shuffle option"):
        DataLoader(_Range(0, 5), shuffle=True)


def test_datasets_concatenate_subset_and_stack():
    a, b = TensorDataset(mg.arange(3)), TensorDataset(mg.arange(10, 12))
    both = a + b
    assert isinstance(both, data.ConcatDataset) and len(both) == 5
    assert [int(both[i][0].item()) for i in range(5)] == [0, 1, 2, 10, 11] and both[-1][0].item() == 11
    assert [b[0].tolist() for b in DataLoader(both, batch_size=2)] == [[0, 1], [2, 10], [11]]
    with pytest.raises(ValueError, match="ConcatDataset: datasets should not be an empty"):
        data.ConcatDataset([])
    with pytest.raises(TypeError, match="ConcatDataset: does not support IterableDataset"):
        data.ConcatDataset([_Range(0, 2)])
    stacked = data.StackDataset(x=a, y=[7, 8, 9])
    assert stacked[1]["y"] == 8 and len(stacked) == 3
    assert data.StackDataset(a, [4, 5, 6])[2][1] == 6
    with pytest.raises(ValueError, match=r"size mismatch between datasets, got lengths \[3, 2\]"):
        data.StackDataset(a, b)
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        data.Dataset()[0]
    with pytest.raises(NotImplementedError, match="should implement __iter__"):
        iter(data.IterableDataset())


def test_batch_size_none_converts_samples_without_batching():
    samples = list(DataLoader([np.arange(2), {"a": np.float32(1)}, 3], batch_size=None))
    assert samples[0].tolist() == [0, 1] and samples[1]["a"].dtype == np.float32 and samples[2] == 3
    assert [s[0].item() for s in DataLoader(TensorDataset(mg.arange(3)), batch_size=None)] == [0, 1, 2]


def test_collate_with_an_own_type_table():
    table = dict(data.default_collate_fn_map)
    table[float] = lambda batch, *, collate_fn_map: sum(batch)
    assert data.collate([(1.5, 1), (2.0, 2)], collate_fn_map=table)[0] == 3.5
    assert data.collate([(1.5, 1), (2.0, 2)], collate_fn_map=table)[1].tolist() == [1, 2]


def test_random_sampler_with_replacement_draws_lazily_like_pytorchs():
    # makemore's "infinite" loader: RandomSampler(dataset, replacement=True, num_samples=int(1e10))
    from microgradnp.utils.data import RandomSampler

    sampler = RandomSampler(range(10), replacement=True, num_samples=int(1e10), generator=0)
    first = iter(sampler)
    drawn = [next(first) for _ in range(100)]
    assert len(sampler) == int(1e10) and set(drawn) <= set(range(10)) and len(set(drawn)) == 10
    assert [next(iter(RandomSampler(range(10), True, 5, generator=1))) for _ in range(2)] == \
        [next(iter(RandomSampler(range(10), True, 5, generator=1)))] * 2
