"""``mg.utils.data``: datasets, samplers and the mini-batch ``DataLoader``, as ``torch.utils.data``.

Everything loads in the calling process; ``num_workers`` and the other multiprocessing options are
accepted and checked (see ``DataLoader``).
"""
from .collation import collate, default_collate, default_collate_fn_map, default_convert
from .dataloader import DataLoader, WorkerInfo, get_worker_info
from .dataset import ChainDataset, ConcatDataset, Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler
from .subset import Subset, random_split
from .tensor_dataset import StackDataset, TensorDataset

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
    "random_split",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler",
    "DataLoader", "get_worker_info", "WorkerInfo",
    "default_collate", "default_convert", "collate", "default_collate_fn_map",
]
