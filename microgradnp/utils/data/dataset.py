"""The dataset base classes: map-style ``Dataset`` and ``IterableDataset``, and their concatenations."""
import bisect


class Dataset:
    """Base class of map-style datasets: a subclass defines ``__getitem__(index)`` and, for the default
    samplers and ``len(DataLoader)``, ``__len__()``. It may define ``__getitems__(indices)`` to fetch a
    whole batch at once (a list of samples). ``a + b`` is ``ConcatDataset([a, b])``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of datasets that are a stream of samples: a subclass defines ``__iter__()``.

    ``DataLoader`` takes samples in the order ``__iter__`` yields them (no sampler, no shuffle).
    ``a + b`` is ``ChainDataset([a, b])``.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of IterableDataset should implement "
                                  f"__iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


class ConcatDataset(Dataset):
    """The samples of several map-style datasets one after another; ``cumulative_sizes[i]`` is the length
    of the first ``i + 1`` of them together."""

    @staticmethod
    def cumsum(sequence):
        """The running total of the lengths of ``sequence``'s datasets."""
        totals, total = [], 0
        for dataset in sequence:
            total += len(dataset)
            totals.append(total)
        return totals

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                raise TypeError(f"ConcatDataset: does not support IterableDataset (got "
                                f"{type(dataset).__name__}); use ChainDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError(f"ConcatDataset: absolute value of index should not exceed dataset length, "
                                 f"got index {idx} for length {len(self)}")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Several ``IterableDataset``s streamed one after another."""

    def __init__(self, datasets):
        self.datasets = datasets

    def _checked(self):
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise TypeError(f"ChainDataset: only supports IterableDataset, got {type(dataset).__name__}")
            yield dataset

    def __iter__(self):
        for dataset in self._checked():
            yield from dataset

    def __len__(self):
        return sum(len(dataset) for dataset in self._checked())
