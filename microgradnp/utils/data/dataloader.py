"""``DataLoader``: a dataset's samples in (optionally shuffled) mini-batches, as ``torch.utils.data``.

Loading always happens in the calling process: ``num_workers``, ``pin_memory``, ``persistent_workers``,
``prefetch_factor``, ``timeout`` and ``multiprocessing_context`` are checked as PyTorch checks them and
otherwise change nothing in what is loaded.
"""
import contextlib
import itertools

import numpy as np

from ...random import get_generator
from .collation import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler, _source
from .subset import Subset
from .tensor_dataset import TensorDataset

# set while the loader calls into the dataset or worker_init_fn on behalf of its one in-process worker
_worker_info = None


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a loader with ``num_workers > 0``: ``id`` (always 0),
    ``num_workers`` (always 1: one in-process worker loads everything), ``seed`` and ``dataset``."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, dataset={self.dataset!r})"


def get_worker_info():
    """The ``WorkerInfo`` of the worker that is loading, or None in the main process.

    microgradnp loads in-process: inside a ``DataLoader`` with ``num_workers > 0`` (in the dataset's
    ``__getitem__``/``__iter__`` and in ``worker_init_fn``) it is ``WorkerInfo(id=0, num_workers=1, ...)``,
    so code that splits an ``IterableDataset`` between workers gives the one worker everything; with
    ``num_workers=0``, and between batches, it is None, as in PyTorch.
    """
    return _worker_info


@contextlib.contextmanager
def _as_worker(info):
    global _worker_info
    previous, _worker_info = _worker_info, info
    try:
        yield
    finally:
        _worker_info = previous


def _tensor_source(dataset):
    # (TensorDataset, row of each index or None) when batches can be gathered with one index per tensor:
    # the dataset is a TensorDataset, maybe under plain Subsets of integer indices; else None
    rows = None
    while type(dataset) is Subset:
        indices = np.asarray(dataset.indices)
        if indices.ndim != 1 or (indices.dtype.kind not in "iu" and len(indices)):
            return None
        indices = indices.astype(np.int64, copy=False)
        rows = indices if rows is None else indices[rows]
        dataset = dataset.dataset
    return (dataset, rows) if type(dataset) is TensorDataset else None


class DataLoader:
    """Iterate over ``dataset`` in mini-batches, with PyTorch's arguments and checks.

    - ``batch_size`` samples are fetched and merged by ``collate_fn`` (``default_collate``: tensors,
      arrays and numbers stacked into tensors, through tuples, lists and dicts). ``batch_size=None``
      turns batching off: samples come one by one through ``default_convert``.
    - ``shuffle=True`` visits the indices in a new random order every epoch (a ``RandomSampler``), drawn
      from ``generator``: anything ``mg.random.get_generator`` takes (an int seed, a Generator), or None
      for the global generator of ``mg.manual_seed``. ``sampler`` (an iterable of indices) or
      ``batch_sampler`` (an iterable of lists of indices) choose the order instead; ``batch_sampler``
      excludes ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``, and ``sampler`` excludes
      ``shuffle``. ``drop_last`` drops a final short batch.
    - An ``IterableDataset`` is read in the order it yields samples; it takes no sampler and no shuffle.
    - ``len(loader)`` is the number of batches (samples when ``batch_size=None``).
    - Loading is in-process. ``num_workers`` (>= 0), ``prefetch_factor`` (only with ``num_workers > 0``),
      ``persistent_workers`` (only with ``num_workers > 0``), ``timeout`` (>= 0), ``pin_memory``,
      ``pin_memory_device``, ``multiprocessing_context`` and ``in_order`` are checked as in PyTorch and
      change nothing in the batches. With ``num_workers > 0``, ``worker_init_fn(0)`` is called at the
      start of each epoch (only the first with ``persistent_workers=True``) and ``get_worker_info()``
      describes one worker (``id=0``, ``num_workers=1``) while the dataset is read; its ``seed`` is drawn
      from ``generator`` each epoch, as PyTorch draws its base seed.
    - ``seed=`` (not in PyTorch, kept for older microgradnp code) is ``generator=seed``.
    - A ``TensorDataset`` (also under ``Subset``s, as ``random_split`` makes) with the default
      ``collate_fn`` is batched with one index per tensor, without a per-sample Python loop.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, seed=None):
        if seed is not None:
            if generator is not None:
                raise ValueError("DataLoader: pass either generator or seed, not both")
            generator = seed
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be non-negative, got {num_workers}; use "
                             f"num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing. "
                             "Let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError(f"DataLoader: prefetch_factor option should be non-negative, got {prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError(f"DataLoader: multiprocessing_context can only be used with multi-process loading "
                             f"(num_workers > 0), but got num_workers={num_workers}")

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            # an IterableDataset has no sampler: the batch sampler only says how many samples a batch takes
            batch_sampler = BatchSampler(sampler if sampler is not None else itertools.repeat(None),
                                         batch_size, drop_last)
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterable = iterable
        # an int seed becomes one generator for the loader's life, so each epoch's worker seed is new
        self._rng = _source(generator)
        self._workers_started = False
        self._initialized = True

    def __setattr__(self, attr, value):
        if getattr(self, "_initialized", False) and attr in (
                "batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(attr, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def __iter__(self):
        info = None
        if self.num_workers > 0:
            seed = int(get_generator(self._rng).integers(2 ** 63))
            info = WorkerInfo(id=0, num_workers=1, seed=seed, dataset=self.dataset)
            if self.worker_init_fn is not None and not (self.persistent_workers and self._workers_started):
                with _as_worker(info):
                    self.worker_init_fn(0)
            self._workers_started = True
        return self._iterable_batches(info) if self._iterable else self._map_batches(info)

    def _in_worker(self, info):
        return _as_worker(info) if info is not None else contextlib.nullcontext()

    def _map_batches(self, info):
        dataset, collate = self.dataset, self.collate_fn
        # looked up once an epoch: a Subset's index list is turned into an array once, not every batch
        source = _tensor_source(dataset) if self._auto_collation and collate is default_collate else None
        for index in self._index_sampler:
            with self._in_worker(info):
                rows = np.asarray(index) if source is not None else None
                if rows is not None and rows.ndim == 1 and rows.dtype.kind in "iu":
                    batch = source[0].batch(rows if source[1] is None else source[1][rows])
                elif not self._auto_collation:
                    batch = collate(dataset[index])
                elif callable(getattr(dataset, "__getitems__", None)):
                    batch = collate(dataset.__getitems__(index))
                else:
                    batch = collate([dataset[i] for i in index])
            yield batch

    def _iterable_batches(self, info):
        with self._in_worker(info):
            samples = iter(self.dataset)
        while True:
            with self._in_worker(info):
                if not self._auto_collation:
                    try:
                        sample = next(samples)
                    except StopIteration:
                        return
                    batch = self.collate_fn(sample)
                else:
                    data = list(itertools.islice(samples, self.batch_size))
                    if not data or (self.drop_last and len(data) < self.batch_size):
                        return
                    batch = self.collate_fn(data)
            yield batch
