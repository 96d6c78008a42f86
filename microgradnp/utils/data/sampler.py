"""Samplers: the order in which ``DataLoader`` visits a map-style dataset's indices, one by one or in
batches. Random ones take ``generator=``: anything ``mg.random.get_generator`` takes (an int seed, a
Generator), or None for the global generator of ``mg.manual_seed``; each pass draws a fresh order."""
import itertools
import numbers

import numpy as np

from ...random import get_generator
from ...tensor import Tensor


def _source(generator):
    # an int seed becomes one generator kept for the sampler's life, so each epoch draws a new order that
    # repeats from run to run; anything else is looked up at every pass, so a reseeded generator is followed
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return get_generator(generator)
    return generator


_CHUNK = 32  # indices drawn at a time by RandomSampler with replacement

class Sampler:
    """Base class of samplers: a subclass defines ``__iter__`` (indices, or lists of indices for a batch
    sampler) and, for ``len(DataLoader)``, ``__len__``."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Sampler should implement __iter__.")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """The indices of ``data_source`` in random order; with ``replacement=True``, ``num_samples`` indices
    drawn independently. Without replacement, ``num_samples`` beyond the length runs through further
    permutations."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        self._rng = _source(generator)
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or self.num_samples <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        """How many indices one pass yields: ``len(data_source)`` unless given."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        rng = get_generator(self._rng)
        if self.replacement:
            # drawn in chunks, as PyTorch does: num_samples may be huge (an "infinite" sampler)
            for start in range(0, self.num_samples, _CHUNK):
                yield from rng.integers(0, n, size=min(_CHUNK, self.num_samples - start)).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, each once."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator
        self._rng = _source(generator)

    def __iter__(self):
        for i in get_generator(self._rng).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices of ``weights`` drawn with probability proportional to the weights (which
    need not sum to 1); without replacement an index is drawn at most once."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        array = np.array(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                             f"shape {tuple(array.shape)}")
        self.weights = Tensor(array)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator
        self._rng = _source(generator)

    def __iter__(self):
        w = self.weights.numpy()
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise RuntimeError(f"WeightedRandomSampler: weights must be finite, non-negative and not all zero, "
                               f"got {w.tolist()}")
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples without "
                               f"replacement from {np.count_nonzero(w)} non-zero weights")
        rng = get_generator(self._rng)
        yield from rng.choice(len(w), size=self.num_samples, replace=self.replacement, p=w / w.sum()).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (any iterable of indices); ``drop_last`` drops a
    final shorter list."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        indices = iter(self.sampler)
        while True:
            batch = list(itertools.islice(indices, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
