"""``mg.save`` / ``mg.load``: checkpoints that can never run code when loaded.

A path ending in ``.safetensors`` (or ``format="safetensors"``) is a safetensors file, the format PyTorch
and the model hubs share, for a flat state dict (``safetensors_file.py``). Anything else is a
checkpoint of microgradnp's own, which keeps any structure (an optimizer's state, nested dicts).

A checkpoint is a NumPy ``.npz`` archive: every array (tensor data, optimizer state) is one member, and one
more member holds a JSON description of the saved structure (dicts, lists, tuples, numbers, strings,
None, and which member each tensor is). It is read with ``np.load(allow_pickle=False)``, so a file that
carries pickled objects is refused before anything is unpickled.
"""
import json
import os
import zipfile

import numpy as np

from .safetensors_file import is_safetensors, load_safetensors, save_safetensors
from .tensor import Tensor

_FORMAT = "microgradnp-checkpoint"
_VERSION = 1
_STRUCTURE = "__microgradnp_structure__"


class CheckpointError(ValueError):
    """A file given to ``mg.load`` is not a readable microgradnp checkpoint (or would need unpickling)."""


# ---- saving -------------------------------------------------------------------------------------------

def save(obj, f, format=None):
    """Write ``obj`` (e.g. ``model.state_dict()``, ``optimizer.state_dict()`` or a dict of both) to ``f``.

    To a path ending in ``.safetensors`` (or with ``format="safetensors"``), ``obj`` is a flat state dict
    and the file is safetensors, which PyTorch loads with ``safetensors.torch.load_file``. Otherwise
    ``obj`` may nest dicts (str or int keys), lists and tuples of tensors, ndarrays, NumPy scalars, Python
    numbers, strings, bools and None, in microgradnp's checkpoint format. ``f`` is a path (written
    atomically, under exactly that name) or a binary file object.
    """
    if is_safetensors(f, format):
        if not isinstance(f, (str, os.PathLike)):
            raise TypeError("mg.save: a .safetensors file is written to a path, not to a file object")
        save_safetensors(obj, f)
        return
    arrays = {}
    root = _encode(obj, arrays, "obj")
    header = {"format": _FORMAT, "version": _VERSION, "root": root}
    arrays[_STRUCTURE] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        temporary = f"{path}.tmp{os.getpid()}"
        try:
            with open(temporary, "wb") as handle:
                np.savez(handle, allow_pickle=False, **arrays)
            os.replace(temporary, path)  # a crash mid-write never leaves a truncated checkpoint behind
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    else:
        np.savez(f, allow_pickle=False, **arrays)


def _array_member(array, arrays, where):
    if array.dtype.hasobject:
        raise TypeError(f"mg.save: the array at {where} has dtype {array.dtype}, which holds Python objects and "
                        f"cannot be saved without pickle; convert it to a numeric array")
    key = f"a{len(arrays)}"
    arrays[key] = array
    return key


def _encode(obj, arrays, where):
    if isinstance(obj, np.generic):  # first: np.float64 is also a Python float
        return {"t": "scalar", "key": _array_member(np.asarray(obj), arrays, where)}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, Tensor):
        return {"t": "tensor", "key": _array_member(obj._array, arrays, where), "requires_grad": obj.requires_grad}
    if isinstance(obj, np.ndarray):
        return {"t": "ndarray", "key": _array_member(obj, arrays, where)}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"mg.save: dict keys must be str or int, got {key!r} ({type(key).__name__}) at {where}")
            items.append([key, _encode(value, arrays, f"{where}[{key!r}]")])
        return {"t": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {"t": kind, "items": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    hint = " (save model.state_dict() rather than the model)" if hasattr(obj, "state_dict") else ""
    raise TypeError(f"mg.save: cannot save a {type(obj).__name__} at {where}{hint}; only dicts, lists, tuples, "
                    f"tensors, arrays, numbers, strings, bools and None can be saved")


# ---- loading ------------------------------------------------------------------------------------------

def load(f, map_location=None, weights_only=True, format=None):
    """Read a file written by ``mg.save`` (or a safetensors file, e.g. from ``safetensors.torch.save_file``);
    tensors come back as tensors, arrays as arrays.

    Never unpickles: a file holding pickled objects (a PyTorch ``.pt`` file from ``torch.save`` among them)
    raises ``CheckpointError`` (a ValueError), saying how to convert it, and so does anything that is not a
    complete checkpoint. ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility
    (everything loads on the CPU, and only data is ever loaded).
    """
    if is_safetensors(f, format):
        return load_safetensors(f)
    name = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file"
    try:
        archive = np.load(f, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise _refusal(name, error) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CheckpointError(f"mg.load: {name} is not a microgradnp checkpoint: it holds a single NumPy array "
                              f"(read it with np.load)")
    with archive:
        try:
            header = _header(archive, name)
            return _decode(header["root"], archive, name)
        except CheckpointError:
            raise
        except (ValueError, KeyError, TypeError, OSError, EOFError, zipfile.BadZipFile, RecursionError) as error:
            raise _refusal(name, error) from None


_CONVERT = ("To use PyTorch weights, convert them in PyTorch to safetensors, which holds only data: "
            "`from safetensors.torch import save_file; save_file(torch.load(path, weights_only=True), "
            "'model.safetensors')`, then `model.load_state_dict(mg.load('model.safetensors'))`")


def _refusal(name, error):
    text = str(error)
    if "pickle" in text.lower():
        return CheckpointError(f"mg.load: {name} contains pickled Python objects; refusing to load it, because "
                               f"unpickling can run arbitrary code. microgradnp checkpoints hold only arrays and a "
                               f"JSON structure (write them with mg.save). {_CONVERT}")
    return CheckpointError(f"mg.load: {name} is not a microgradnp checkpoint (or it is truncated or corrupted): "
                           f"{type(error).__name__}: {text}")


def _header(archive, name):
    if any(member == "data.pkl" or member.endswith("/data.pkl") for member in archive.zip.namelist()):
        raise CheckpointError(f"mg.load: {name} is a PyTorch checkpoint written by torch.save: it holds pickled "
                              f"Python objects, and microgradnp never unpickles (it can run arbitrary code). "
                              f"{_CONVERT}")
    if _STRUCTURE not in archive.files:
        raise CheckpointError(f"mg.load: {name} is not a microgradnp checkpoint: it is an .npz archive without the "
                              f"{_STRUCTURE!r} entry that mg.save writes (members: {archive.files[:5]})")
    raw = archive[_STRUCTURE]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"mg.load: {name} has a malformed structure entry (dtype {raw.dtype}, shape "
                              f"{tuple(raw.shape)})")
    header = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != _FORMAT or "root" not in header:
        raise CheckpointError(f"mg.load: {name} is not a microgradnp checkpoint: unknown structure header")
    if header.get("version") != _VERSION:
        raise CheckpointError(f"mg.load: {name} was written in checkpoint format version {header.get('version')}, "
                              f"this microgradnp reads version {_VERSION}")
    return header


def _decode(node, archive, name):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or "t" not in node:
        raise CheckpointError(f"mg.load: {name} has a malformed structure entry: {str(node)[:80]}")
    kind = node["t"]
    if kind == "dict":
        return {key: _decode(value, archive, name) for key, value in node["items"]}
    if kind == "list":
        return [_decode(value, archive, name) for value in node["items"]]
    if kind == "tuple":
        return tuple(_decode(value, archive, name) for value in node["items"])
    if kind in ("tensor", "ndarray", "scalar"):
        array = archive[node["key"]]
        if kind == "ndarray":
            return array
        if kind == "scalar":
            return array[()]
        return Tensor(array, requires_grad=bool(node.get("requires_grad")) and np.issubdtype(array.dtype, np.floating))
    raise CheckpointError(f"mg.load: {name} has an unknown entry kind {kind!r} in its structure")
