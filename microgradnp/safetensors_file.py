"""State dicts in the safetensors format: the weights file that PyTorch, JAX and the model hubs read.

A safetensors file is a JSON header (each tensor's dtype, shape and byte range) followed by the raw
bytes: loading it can never run code. It holds a flat ``{name: tensor}`` dict, which is what a
``state_dict()`` is, and with PyTorch's names, shapes and dtypes (``nn`` keeps all three), a file
written here loads into the same PyTorch model with ``load_state_dict(safetensors.torch.load_file(p))``,
and a file written by ``safetensors.torch.save_file`` loads here.
"""
import os

import numpy as np

from .tensor import Tensor

SUFFIX = ".safetensors"
_INSTALL = "pip install safetensors (a dependency of microgradnp; reinstall microgradnp to get it)"


def _package():
    try:
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(f"reading and writing .safetensors files needs the safetensors package: {_INSTALL} "
                          f"({error})") from None
    return safetensors.numpy


def save_safetensors(state, path, metadata=None):
    """Write a flat ``{str: tensor or ndarray}`` dict (a state dict) to ``path`` in the safetensors format."""
    if not isinstance(state, dict):
        raise TypeError(f"mg.save: a .safetensors file holds a flat dict of tensors (a state_dict()), got a "
                        f"{type(state).__name__}; save other objects to a .pt or .npz name instead")
    arrays = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"mg.save: the keys of a .safetensors file are strings, got {key!r}")
        if isinstance(value, Tensor):
            value = value.numpy()
        if not isinstance(value, np.ndarray):
            raise TypeError(f"mg.save: a .safetensors file holds only tensors, but {key!r} is a "
                            f"{type(value).__name__}; save nested state (an optimizer's) to a .pt or .npz name, "
                            f"which keeps any structure")
        if value.dtype.hasobject:
            raise TypeError(f"mg.save: {key!r} has dtype {value.dtype}, which holds Python objects")
        # the format stores C order: a Fortran-order weight is copied (not with ascontiguousarray, which
        # would turn a 0-d buffer such as num_batches_tracked into shape (1,))
        arrays[key] = value if value.flags.c_contiguous else value.copy(order="C")
    # "pt" is what safetensors.torch writes; libraries that check the header's format expect it
    header = {"format": "pt"}
    header.update(metadata or {})
    path = os.fspath(path)
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        _package().save_file(arrays, temporary, metadata=header)
        os.replace(temporary, path)  # a crash mid-write never leaves a truncated file under the name
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def load_safetensors(path):
    """Read a safetensors file into ``{name: Tensor}`` (load it with ``model.load_state_dict``)."""
    package = _package()
    try:
        arrays = package.load_file(os.fspath(path))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as error:  # the package raises its own error types for a damaged header or a bfloat16
        text = str(error)
        bfloat16 = "bf16" in text.lower() or "bfloat16" in text.lower()
        hint = (" (bfloat16 has no NumPy dtype: convert it in PyTorch first, e.g. "
                "{k: v.float() for k, v in state.items()})") if bfloat16 else ""
        raise ValueError(f"mg.load: {os.fspath(path)!r} is not a readable safetensors file: "
                         f"{type(error).__name__}: {text}{hint}") from None
    return {key: Tensor(np.array(value)) for key, value in arrays.items()}


def is_safetensors(path, format):
    """Whether ``mg.save``/``mg.load`` should use the safetensors format for ``path``."""
    if format is not None:
        if format not in ("safetensors", "npz"):
            raise ValueError(f"mg.save/mg.load: format must be 'safetensors' or 'npz', got {format!r}")
        return format == "safetensors"
    return isinstance(path, (str, os.PathLike)) and os.fspath(path).endswith(SUFFIX)
