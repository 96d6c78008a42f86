"""``default_collate`` and ``default_convert``: turn the samples a dataset returns into batched tensors."""
import collections.abc
import copy
import re

import numpy as np

from ... import dtypes
from ...factories import tensor
from ...tensor import Tensor

# NumPy dtypes of bytes, strings and objects: these arrays have no tensor form
_STRING_OR_OBJECT = re.compile(r"[SaUO]")

_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_numpy(value):
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ not in ("str_", "string_", "bytes_")


def default_convert(data):
    """Turn NumPy arrays and NumPy scalars in ``data`` into tensors, through tuples, lists and dicts.

    What ``DataLoader`` applies to each sample when batching is off (``batch_size=None``). Python numbers,
    strings and anything else are returned unchanged; a tuple comes back as a list, as in PyTorch.
    """
    if isinstance(data, Tensor):
        return data
    if _is_numpy(data):
        if isinstance(data, np.ndarray) and _STRING_OR_OBJECT.search(data.dtype.str):
            return data
        return Tensor(np.array(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a named tuple keeps its type
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(like, values):
    # the same mapping type as the sample's when it can be copied or built from a dict, else a dict
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)
            clone.update(values)
            return clone
        return type(like)(values)
    except TypeError:
        return values


def _rebuild_sequence(like, values):
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, value in enumerate(values):
                clone[i] = value
            return clone
        return type(like)(values)
    except TypeError:
        return values


def collate_tensor_fn(batch, *, collate_fn_map=None):
    """Stack tensors along a new first dimension (with gradient history when any of them requires grad)."""
    shapes = [tuple(b.shape) for b in batch]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, but got "
                               f"{list(shapes[0])} at entry 0 and {list(shape)} at entry {i}")
    if any(b.requires_grad for b in batch):
        return np.stack(batch)  # dispatches to mg.stack, which records the graph
    return Tensor(np.stack([b._array for b in batch]))


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    """Stack NumPy arrays into one tensor of their dtype; string and object arrays are refused."""
    if _STRING_OR_OBJECT.search(batch[0].dtype.str):
        raise TypeError(_ERROR.format(batch[0].dtype))
    return collate([Tensor(np.array(b)) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    """NumPy scalars become a 1-D tensor of their dtype."""
    return Tensor(np.asarray(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    """Python floats become a float64 tensor, as in PyTorch (not the default dtype)."""
    return tensor(batch, dtype=dtypes.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    """Python ints become an int64 tensor (bools a bool one; ints mixed with floats the default dtype)."""
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    """Strings and bytes are kept: the batch is the sequence of them (a list, or a tuple inside a tuple)."""
    return batch


default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(batch, *, collate_fn_map=None):
    """Collate a list of samples, looking each leaf's type up in ``collate_fn_map`` ({type: function}).

    The exact type is looked up first, then each key in order with ``isinstance``. Mappings, named
    tuples and sequences are collated field by field: a dict of batches, a named tuple of batches, a
    list of batches (a tuple sample gives a list, as in PyTorch). Each function is called as
    ``fn(batch, collate_fn_map=collate_fn_map)``.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple keeps its type
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuild_sequence(elem, fields)
    raise TypeError(_ERROR.format(elem_type))


def default_collate(batch):
    """Make one batch of a list of samples, as PyTorch's ``default_collate``.

    Tensors and NumPy arrays are stacked along a new first dimension (keeping their dtype); NumPy
    scalars, Python ints (int64), floats (float64) and bools (bool) become 1-D tensors; strings and bytes
    stay a list; dicts, named tuples, tuples and lists are collated field by field (a tuple sample gives a
    list of batches). ``[(x0, y0), (x1, y1)]`` gives ``[stack([x0, x1]), stack([y0, y1])]``.
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
