"""mg.utils.data: TensorDataset, DataLoader batching, shuffling, drop_last and collation."""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp.utils.data import DataLoader, Dataset, TensorDataset


def _dataset(n=10):
    return TensorDataset(mg.arange(2 * n, dtype=mg.float32).reshape(n, 2), mg.arange(n))


def test_tensor_dataset_items_and_length():
    ds = _dataset(5)
    assert len(ds) == 5
    x, y = ds[3]
    np.testing.assert_array_equal(x.numpy(), [6.0, 7.0])
    assert y.item() == 3
    with pytest.raises(ValueError, match=r"same size in its first dimension.*\(5, 2\), \(4,\)"):
        TensorDataset(mg.zeros(5, 2), mg.zeros(4))


def test_batches_in_order_with_a_short_last_batch():
    loader = DataLoader(_dataset(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 2) and batches[0][0].dtype == np.float32
    assert batches[0][1].dtype == np.int64


def test_drop_last():
    loader = DataLoader(_dataset(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [b[1].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_covers_every_sample_once_and_reshuffles_each_epoch():
    loader = DataLoader(_dataset(20), batch_size=6, shuffle=True, generator=0)
    epoch1 = np.concatenate([y.numpy() for _, y in loader])
    epoch2 = np.concatenate([y.numpy() for _, y in loader])
    assert sorted(epoch1) == list(range(20)) and sorted(epoch2) == list(range(20))
    assert not np.array_equal(epoch1, epoch2) and not np.array_equal(epoch1, np.arange(20))
    again = np.concatenate([y.numpy() for _, y in DataLoader(_dataset(20), batch_size=6, shuffle=True, generator=0)])
    np.testing.assert_array_equal(again, epoch1)  # the same seed repeats the same order


def test_shuffle_uses_the_global_seed_by_default():
    mg.manual_seed(5)
    a = [y.tolist() for _, y in DataLoader(_dataset(8), batch_size=8, shuffle=True)]
    mg.manual_seed(5)
    b = [y.tolist() for _, y in DataLoader(_dataset(8), batch_size=8, shuffle=True)]
    assert a == b


def test_inputs_and_targets_stay_aligned_after_shuffling():
    for x, y in DataLoader(_dataset(12), batch_size=5, shuffle=True, generator=1):
        np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy())


def test_batches_are_copies_not_views_of_the_dataset():
    ds = _dataset(4)
    x, _ = next(iter(DataLoader(ds, batch_size=2)))
    x.numpy()[...] = -1
    assert ds.tensors[0].numpy().min() >= 0


def test_generic_dataset_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i, {"name_len": float(i)}

    batches = list(DataLoader(Squares(), batch_size=2))
    features, labels, extra = batches[1]
    np.testing.assert_array_equal(features.numpy(), [[2, 4], [3, 9]])
    assert labels.tolist() == [2, 3] and labels.dtype == np.int64
    assert extra["name_len"].tolist() == [2.0, 3.0]
    assert len(batches) == 3


def test_batch_size_none_yields_single_samples():
    samples = list(DataLoader(_dataset(3), batch_size=None))
    assert len(samples) == 3 and samples[2][1].item() == 2


def test_custom_collate_fn():
    loader = DataLoader(_dataset(4), batch_size=2, collate_fn=lambda items: len(items))
    assert list(loader) == [2, 2]


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_dataset(), batch_size=0)
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
