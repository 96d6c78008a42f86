"""Devices, honestly: microgradnp computes with NumPy on the CPU, and says so when asked for another.

``mg.device('cpu')`` is PyTorch's device object, so the usual lines of learner code work as written::

    device = "cuda" if torch.cuda.is_available() else "cpu"        # picks "cpu"
    x = torch.zeros(3, device=device); model.to(device)

A device other than the CPU can be *named* (``mg.device('cuda')``, as in PyTorch without a GPU), but
putting a tensor or a module there raises a ``RuntimeError`` that says where microgradnp computes.
"""
import numpy as np


class device:
    """A device, as ``torch.device``: ``.type`` (``'cpu'``, ``'cuda'``...) and ``.index`` (None or an int).

    Equal to another device of the same type and index, and to its string (``mg.device('cpu') == 'cpu'``).
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 - PyTorch's argument name
        spec = type
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        elif isinstance(spec, int) and index is None:  # torch.device(0) means cuda:0
            spec, index = "cuda", spec
        if not isinstance(spec, str):
            raise TypeError(f"device(): expected a string or a device, got {spec!r}")
        name, _, number = spec.partition(":")
        if number:
            if index is not None:
                raise RuntimeError(f"device(): type {spec!r} already names an index, and index={index} was given")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: {spec!r}")
            index = int(number)
        if name not in KNOWN_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(KNOWN_TYPES)} device type at start of device string: "
                               f"{spec}")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index!r}")
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type={self.type!r})" if self.index is None else \
            f"device(type={self.type!r}, index={self.index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):  # copy.copy / copy.deepcopy of a module holding a device
        return (device, (self.type, self.index))


# the device types PyTorch knows by name; only the CPU computes here
KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "ipu", "hpu", "mtia", "privateuseone")

CPU = device("cpu")
_default = CPU


def check_device(requested, where):
    """Return ``mg.device('cpu')`` for ``requested`` (None, ``'cpu'``, ``'cpu:0'`` or a cpu device); raise otherwise.

    ``where`` names the call in the error (``"zeros"``, ``"Tensor.to"``, ``"Module.to"``).
    """
    if requested is None:
        return _default
    if isinstance(requested, int) and not isinstance(requested, bool):
        requested = device(requested)
    if not isinstance(requested, (str, device)):
        requested = str(requested)  # another library's device object (torch.device) names itself so
    try:
        chosen = device(requested)
    except RuntimeError:
        raise TypeError(f"{where}: expected a device (a string such as 'cpu' or mg.device('cpu')), got "
                        f"{requested!r}") from None
    if chosen.type != "cpu" or chosen.index not in (None, 0):
        raise RuntimeError(f"{where}: device {str(chosen)!r} is not available: microgradnp computes with NumPy on "
                           f"the CPU, so 'cpu' is its only device (write device='cpu', or pick the device with "
                           f"`'cuda' if mg.cuda.is_available() else 'cpu'`, which gives 'cpu' here)")
    return CPU


def to_arguments(args, kwargs, where):
    """``(device, dtype, copy)`` from the arguments of PyTorch's ``to``, for ``Tensor.to`` and ``Module.to``.

    The forms are ``to(dtype)``, ``to(device)``, ``to(device, dtype)`` and ``to(tensor)`` (its dtype), each
    optionally followed by ``non_blocking`` and ``copy``, with the keywords ``device``, ``dtype``,
    ``non_blocking``, ``copy`` and ``memory_format``. The device is checked (``check_device``).
    """
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "memory_format", "copy"}
    if unknown:
        raise TypeError(f"to() got an unexpected keyword argument {sorted(unknown)[0]!r} (it takes device, "
                        f"dtype, non_blocking and memory_format)")
    requested, dtype, copy = kwargs.get("device"), kwargs.get("dtype"), kwargs.get("copy", False)
    positional = list(args)
    if positional and _is_tensor(positional[0]):
        dtype = positional.pop(0).dtype
    elif positional and _is_dtype(positional[0]):
        dtype = positional.pop(0)
    elif positional:
        requested = positional.pop(0)
        if positional and _is_dtype(positional[0]):
            dtype = positional.pop(0)
    flags = []  # non_blocking (meaningless on the CPU), then copy
    while positional and isinstance(positional[0], bool) and len(flags) < 2:
        flags.append(positional.pop(0))
    if positional:
        raise TypeError(f"to() received an invalid combination of arguments: {args!r} (expected a dtype, a "
                        f"device, a device and a dtype, or a tensor)")
    if len(flags) == 2:
        copy = flags[1]
    check_device(requested, where)
    return requested, dtype, copy


def _is_dtype(value):
    # a NumPy dtype (microgradnp's dtypes are NumPy's) or a NumPy scalar type such as np.float32
    return isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic))


def _is_tensor(value):
    # a tensor (this library's or another's) stands for its dtype; dtypes and devices have no shape
    return hasattr(value, "dtype") and hasattr(value, "shape") and not isinstance(value, type)


def set_default_device(requested):
    """Set the device new tensors are made on: ``'cpu'`` (or None) is accepted, any other raises."""
    global _default
    _default = check_device(requested, "set_default_device")


def get_default_device():
    """The device new tensors are made on: always ``mg.device('cpu')``."""
    return _default
