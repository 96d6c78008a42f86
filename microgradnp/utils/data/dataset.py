"""Datasets: anything with ``__getitem__`` and ``__len__``; ``TensorDataset`` wraps aligned tensors."""
import numpy as np

from ...tensor import Tensor


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) to be a Dataset")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__() to be a Dataset")


class TensorDataset(Dataset):
    """Samples are rows: item ``i`` is ``(t[i] for t in tensors)``; every tensor needs the same first dim."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
            raise ValueError(f"TensorDataset: every tensor needs the same size in its first dimension, got shapes "
                             f"{shapes}")

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def batch(self, indices):
        """The rows at ``indices`` (an integer array) of every tensor, gathered in one indexing each."""
        return tuple(t[indices] if t.requires_grad else Tensor(t._array[indices]) for t in self.tensors)
