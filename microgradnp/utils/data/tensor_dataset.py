"""Datasets built of aligned pieces: ``TensorDataset`` (rows of tensors) and ``StackDataset``."""
import numpy as np

from ...tensor import Tensor
from .dataset import Dataset


class TensorDataset(Dataset):
    """Samples are rows: item ``i`` is ``tuple(t[i] for t in tensors)``; every tensor needs the same first
    dimension. NumPy arrays and lists are turned into tensors. ``DataLoader`` batches it with one index
    per tensor instead of collating sample by sample (the same values and dtypes)."""

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
        """The rows at ``indices`` (an integer array) of every tensor, gathered in one indexing each: what
        ``default_collate`` makes of those samples, as a list."""
        return [t[indices] if t.requires_grad else Tensor(t._array[indices]) for t in self.tensors]


class StackDataset(Dataset):
    """Several datasets of one length side by side: ``StackDataset(a, b)[i]`` is ``(a[i], b[i])`` and
    ``StackDataset(x=a, y=b)[i]`` is ``{"x": a[i], "y": b[i]}``."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: supports either tuple-like (via args) or dict-like (via kwargs) "
                             "input/output, but both types are given")
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed")
        datasets = args or kwargs
        lengths = [len(d) for d in (args or kwargs.values())]
        if len(set(lengths)) != 1:
            raise ValueError(f"StackDataset: size mismatch between datasets, got lengths {lengths}")
        self._length = lengths[0]
        self.datasets = datasets

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: dataset[index] for key, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __len__(self):
        return self._length
