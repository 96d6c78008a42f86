"""``Subset`` of a dataset at given indices, and ``random_split`` into non-overlapping subsets."""
import itertools
import math
import warnings

from ...random import get_generator
from .dataset import Dataset


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``Subset(d, [4, 1])[0]`` is ``d[4]``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        """The samples at ``indices`` (a list), fetched by the dataset's ``__getitems__`` when it has one."""
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def _split_lengths(n, lengths):
    # fractions that sum to 1 become floor(n * fraction) each, the remainder handed out one by one from
    # the first split on (PyTorch's rounding)
    total = sum(lengths)
    if not (math.isclose(total, 1) and total <= 1):
        return list(lengths)
    counts = []
    for i, fraction in enumerate(lengths):
        if fraction < 0 or fraction > 1:
            raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1, got {fraction}")
        counts.append(math.floor(n * fraction))
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    for i, count in enumerate(counts):
        if count == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                          stacklevel=3)
    return counts


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` at random into ``len(lengths)`` non-overlapping ``Subset``s.

    ``lengths`` are sizes that add up to ``len(dataset)``, or fractions that add up to 1 (each split gets
    ``floor(fraction * len(dataset))`` samples, and what is left over goes one each to the splits in
    turn, from the first). ``generator`` is anything ``mg.random.get_generator`` takes (a seed, a
    Generator); None draws from the global generator of ``mg.manual_seed``.
    """
    n = len(dataset)
    lengths = _split_lengths(n, lengths)
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths does not equal the length of the input dataset! "
                         f"Got lengths {lengths} for a dataset of length {n}")
    indices = get_generator(generator).permutation(n).tolist()
    return [Subset(dataset, indices[offset - length:offset])
            for offset, length in zip(itertools.accumulate(lengths), lengths)]
