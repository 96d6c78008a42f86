"""mg.utils.data against torch.utils.data: batches, collation, dtypes, lengths, splits and errors."""
import collections
import warnings

import numpy as np
import pytest

import microgradnp as mg
from microgradnp.utils import data as mgdata

Point = collections.namedtuple("Point", "x y")


def _plain(value):
    """A structure of tensors (either library's) as comparable Python values: each tensor as
    ("tensor", dtype name, nested list)."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        array = value.detach().numpy() if type(value).__module__.startswith("torch") else value.numpy()
        return ("tensor", np.dtype(array.dtype).name, array.tolist())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, tuple(_plain(v) for v in value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(v) for v in value])
    return value


def _samples():
    """Lists of samples that both libraries collate, by name."""
    return {
        "ints": [1, 2, 3],
        "floats": [1.5, 2.0],
        "ints_then_float": [1, 2.5],
        "bools": [True, False],
        "numpy_scalars": [np.float32(1), np.float32(2.5)],
        "numpy_int_scalars": [np.int16(1), np.int16(-4)],
        "arrays": [np.arange(3, dtype=np.float64), np.ones(3, dtype=np.float64)],
        "int_arrays": [np.arange(4, dtype=np.int32).reshape(2, 2)] * 3,
        "strings": ["a", "bc"],
        "tuples": [(np.zeros(2, dtype=np.float32), 1, "x"), (np.ones(2, dtype=np.float32), 0, "y")],
        "lists": [[1, 2.0], [3, 4.0]],
        "dicts": [{"a": 1, "b": [np.float64(0.5), "s"]}, {"a": 2, "b": [np.float64(1.5), "t"]}],
        "named": [Point(1, 2.0), Point(3, 4.0)],
        "nested": [({"k": (1, 2)},), ({"k": (3, 4)},)],
    }


@pytest.mark.parametrize("name", ["ints", "floats", "ints_then_float", "bools", "numpy_scalars",
                                  "numpy_int_scalars", "arrays", "int_arrays", "strings", "tuples", "lists",
                                  "dicts", "named", "nested"])
def test_default_collate_matches_torch(name):
    torch = pytest.importorskip("torch")
    samples = _samples()[name]
    assert _plain(mgdata.default_collate(samples)) == _plain(torch.utils.data.default_collate(samples))


def test_default_collate_of_tensors_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    ours = mgdata.default_collate([mg.tensor(a), mg.tensor(a + 1)])
    theirs = torch.utils.data.default_collate([torch.tensor(a), torch.tensor(a + 1)])
    assert _plain(ours) == _plain(theirs)


@pytest.mark.parametrize("sample", [(np.zeros(2), 3, "a"), {"x": np.int8(3), "y": 1.5}, np.float32(2), 4,
                                    [np.arange(2)], Point(np.ones(1), 2)])
def test_default_convert_matches_torch(sample):
    torch = pytest.importorskip("torch")
    assert _plain(mgdata.default_convert(sample)) == _plain(torch.utils.data.default_convert(sample))


@pytest.mark.parametrize("batch", [[np.zeros(2), np.zeros(3)], [(1, 2), (1,)], [object(), object()],
                                   [np.array(["a"]), np.array(["b"])]])
def test_default_collate_errors_match_torch(batch):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        torch.utils.data.default_collate(batch)
    with pytest.raises(type(theirs.value)):
        mgdata.default_collate(batch)


class _Squares:
    """A map-style dataset of non-tensors (not even a Dataset subclass), in either library."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32), "label": i % 3, "w": i / 2, "name": f"n{i}"}


def _tensor_data(lib):
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10) % 3
    return lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y))


LOADER_CASES = [
    dict(batch_size=3),
    dict(batch_size=3, drop_last=True),
    dict(batch_size=4, num_workers=2),
    dict(batch_size=None),
    dict(batch_size=10),
    dict(batch_size=16),
    dict(batch_size=2, sampler=[9, 0, 3, 3, 5]),
    dict(batch_sampler=[[1, 2], [0], [9, 8, 7]]),
]


@pytest.mark.parametrize("kwargs", LOADER_CASES)
@pytest.mark.parametrize("make", ["tensors", "squares", "subset", "concat"])
def test_loader_batches_and_len_match_torch(kwargs, make):
    torch = pytest.importorskip("torch")

    def build(lib):
        if make == "tensors":
            return _tensor_data(lib)
        if make == "squares":
            return _Squares()
        if make == "subset":
            return lib.utils.data.Subset(_tensor_data(lib), [9, 7, 5, 3, 1, 0, 2, 4, 6, 8])
        return _tensor_data(lib) + lib.utils.data.Subset(_tensor_data(lib), [0, 1])

    ours_loader = mgdata.DataLoader(build(mg), **kwargs)
    theirs_loader = torch.utils.data.DataLoader(build(torch), **kwargs)
    ours, theirs = [_plain(b) for b in ours_loader], [_plain(b) for b in theirs_loader]
    assert len(ours_loader) == len(theirs_loader)
    assert ours == theirs


class _Stream(mgdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("kwargs", [dict(), dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                    dict(batch_size=None)])
def test_iterable_dataset_matches_torch(kwargs):
    torch = pytest.importorskip("torch")

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(8))

        def __len__(self):
            return 8

    ours = mgdata.DataLoader(_Stream(8), **kwargs)
    theirs = torch.utils.data.DataLoader(TorchStream(), **kwargs)
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]
    assert len(ours) == len(theirs)


def test_chain_of_streams_matches_torch():
    torch = pytest.importorskip("torch")
    assert list(_Stream(2) + _Stream(3)) == [0, 1, 0, 1, 2]
    assert len(_Stream(2) + _Stream(3)) == 5
    assert isinstance(_Stream(1) + _Stream(1), mgdata.ChainDataset)

    class TorchStream(torch.utils.data.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    assert list(TorchStream(2) + TorchStream(3)) == list(_Stream(2) + _Stream(3))


def _loader_error(lib, dataset_kind, kwargs):
    if dataset_kind == "stream":
        dataset = _Stream(4) if lib is mg else type("S", (lib.utils.data.IterableDataset,),
                                                    {"__iter__": lambda self: iter(range(4))})()
    else:
        dataset = list(range(6))
    with pytest.raises(Exception) as info:
        lib.utils.data.DataLoader(dataset, **kwargs)
    return info.value


@pytest.mark.parametrize("dataset_kind, kwargs", [
    ("map", dict(batch_size=0)),
    ("map", dict(batch_size=-2)),
    ("map", dict(batch_size=2.0)),
    ("map", dict(drop_last=1)),
    ("map", dict(sampler=[0, 1], shuffle=True)),
    ("map", dict(batch_sampler=[[0]], batch_size=2)),
    ("map", dict(batch_sampler=[[0]], shuffle=True)),
    ("map", dict(batch_sampler=[[0]], sampler=[0])),
    ("map", dict(batch_sampler=[[0]], drop_last=True)),
    ("map", dict(batch_size=None, drop_last=True)),
    ("map", dict(num_workers=-1)),
    ("map", dict(timeout=-1)),
    ("map", dict(prefetch_factor=2)),
    ("map", dict(num_workers=1, prefetch_factor=-1)),
    ("map", dict(persistent_workers=True)),
    ("stream", dict(shuffle=True)),
    ("stream", dict(sampler=[0])),
    ("stream", dict(batch_sampler=[[0]])),
])
def test_loader_argument_errors_match_torch(dataset_kind, kwargs):
    torch = pytest.importorskip("torch")
    theirs = _loader_error(torch, dataset_kind, kwargs)
    ours = _loader_error(mg, dataset_kind, kwargs)
    assert type(ours) is type(theirs), (ours, theirs)


def test_setting_loader_attributes_after_init_is_refused_as_in_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, mg):
        loader = lib.utils.data.DataLoader(list(range(4)), batch_size=2)
        with pytest.raises(ValueError, match="batch_size attribute should not be set"):
            loader.batch_size = 3
        loader.collate_fn = list  # allowed in both


@pytest.mark.parametrize("n, lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.7]),
                                        (30, [0.3, 0.3, 0.4]), (5, [1 / 3, 1 / 3, 1 / 3]), (3, [0.9, 0.05, 0.05])])
def test_random_split_sizes_match_torch(n, lengths):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = [len(s) for s in torch.utils.data.random_split(range(n), lengths)]
        ours = mgdata.random_split(range(n), lengths, generator=0)
    assert [len(s) for s in ours] == theirs
    assert sorted(i for s in ours for i in s) == list(range(n))


@pytest.mark.parametrize("lengths", [[3, 3], [0.5, 0.6], [1.2, -0.2], [4, 7]])
def test_random_split_errors_match_torch(lengths):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        torch.utils.data.random_split(range(10), lengths)
    with pytest.raises(type(theirs.value)):
        mgdata.random_split(range(10), lengths)


def test_zero_length_split_warns_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        torch.utils.data.random_split(range(2), [0.5, 0.0, 0.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        mgdata.random_split(range(2), [0.5, 0.0, 0.5])


def test_sequential_and_batch_samplers_match_torch():
    torch = pytest.importorskip("torch")
    for drop_last in (False, True):
        for n, size in [(10, 3), (9, 3), (2, 5)]:
            ours = mgdata.BatchSampler(mgdata.SequentialSampler(range(n)), size, drop_last)
            theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), size, drop_last)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("make", [
    lambda lib: lib.utils.data.BatchSampler(range(3), 0, False),
    lambda lib: lib.utils.data.BatchSampler(range(3), 2, 1),
    lambda lib: lib.utils.data.RandomSampler(range(3), replacement=1),
    lambda lib: lib.utils.data.RandomSampler(range(3), num_samples=0),
    lambda lib: lib.utils.data.RandomSampler([]),
    lambda lib: lib.utils.data.WeightedRandomSampler([1.0, 2.0], 0),
    lambda lib: lib.utils.data.WeightedRandomSampler([1.0, 2.0], 2, replacement=None),
    lambda lib: lib.utils.data.WeightedRandomSampler([[1.0, 2.0]], 2),
])
def test_sampler_argument_errors_match_torch(make):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        make(torch)
    with pytest.raises(type(theirs.value)):
        make(mg)


def test_random_sampler_lengths_match_torch():
    torch = pytest.importorskip("torch")
    for kwargs in (dict(), dict(num_samples=13), dict(replacement=True, num_samples=40), dict(num_samples=2)):
        ours, theirs = mgdata.RandomSampler(range(5), **kwargs), torch.utils.data.RandomSampler(range(5), **kwargs)
        assert len(ours) == len(theirs) and len(list(ours)) == len(list(theirs))
    assert len(mgdata.DataLoader(range(10), batch_size=3, shuffle=True)) == \
        len(torch.utils.data.DataLoader(range(10), batch_size=3, shuffle=True))


def test_subset_and_concat_indexing_match_torch():
    torch = pytest.importorskip("torch")
    pieces = [list(range(3)), list(range(10, 14)), list(range(20, 22))]
    ours, theirs = mgdata.ConcatDataset(pieces), torch.utils.data.ConcatDataset(pieces)
    assert len(ours) == len(theirs) and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-9, 9)] == [theirs[i] for i in range(-9, 9)]
    sub_ours, sub_theirs = mgdata.Subset(ours, [8, 0, 4]), torch.utils.data.Subset(theirs, [8, 0, 4])
    assert list(sub_ours) == list(sub_theirs) and len(sub_ours) == len(sub_theirs)
    assert sub_ours.__getitems__([2, 0]) == sub_theirs.__getitems__([2, 0])
