"""``DataLoader``: iterate over a dataset in (optionally shuffled) mini-batches."""
import numbers

import numpy as np

from ... import dtypes
from ...random import get_generator
from ...tensor import Tensor
from .dataset import TensorDataset


def default_collate(batch):
    """Stack a list of samples into a batch: tensors and arrays are stacked along a new first dimension,
    numbers become a 1-D tensor, and tuples/lists/dicts are collated field by field."""
    first = batch[0]
    if isinstance(first, Tensor):
        return Tensor(np.stack([b._array for b in batch]))
    if isinstance(first, np.ndarray):
        return Tensor(np.stack(batch))
    if isinstance(first, (bool, np.bool_)):
        return Tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(first, numbers.Integral):
        return Tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor(np.asarray(batch, dtype=dtypes.get_default_dtype()))
    if isinstance(first, dict):
        return {key: default_collate([b[key] for b in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(b) != len(first) for b in batch):
            raise ValueError("default_collate: every sample in a batch must have the same number of fields")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        return tuple(fields) if isinstance(first, tuple) else fields
    if isinstance(first, str):
        return list(batch)
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; pass collate_fn=")


class DataLoader:
    """Yield batches of ``batch_size`` samples from ``dataset``.

    ``shuffle`` draws a new order every epoch from ``generator`` (a NumPy Generator or an int seed; the
    global generator of ``mg.manual_seed`` when None). ``drop_last`` drops a final short batch.
    ``batch_size=None`` yields the samples one by one, unbatched. A ``TensorDataset`` is batched with one
    array index per tensor (no per-sample Python loop).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None, collate_fn=None,
                 seed=None):
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer or None, got {batch_size!r}")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: pass either generator or seed, not both")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        # an int seed makes one generator that lives as long as the loader, so epochs differ but repeat per run
        self.generator = get_generator(seed if seed is not None else generator) \
            if (seed is not None or generator is not None) else None

    def __len__(self):
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return get_generator(self.generator).permutation(n)

    def __iter__(self):
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is None
        collate = self.collate_fn or default_collate
        for start in range(0, stop, self.batch_size):
            indices = order[start:start + self.batch_size]
            if fast:
                yield self.dataset.batch(indices)
            else:
                yield collate([self.dataset[int(i)] for i in indices])
