"""The Tensor: an ndarray plus what autograd needs to know about where it came from.

This file holds what a Tensor *is*: its data, its place in the graph (``grad_fn``, ``requires_grad``,
``grad``), its version counter and the tensors it shares memory with, and the calls that read or change
those (``detach``, ``requires_grad_``, ``retain_grad``, ``register_hook``). What a Tensor *computes*
(operators, ``x.exp()``, ``x.sum()``, in-place ops, casts, ``backward()``) is in ``tensor_methods.py``,
bound onto this class once when microgradnp is imported: those need the ops and the engine, which sit
above this file.
"""
import warnings
import weakref

import numpy as np

from . import dtypes
from .capture import capture_state as _capture
from .capture import hooks_changed
from .devices import CPU


def as_array(data, dtype=None):
    """Convert user data to an ndarray: Python floats become the default dtype, arrays keep theirs."""
    if isinstance(data, Tensor):
        array = data._array
    elif isinstance(data, np.ndarray):
        array = data
    else:
        array = np.asarray(data)
        if dtype is None and array.dtype == np.float64 and not isinstance(data, np.generic):
            array = array.astype(dtypes.get_default_dtype())
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


def raw(value):
    """The array of a Tensor; anything else as it is."""
    return value._array if isinstance(value, Tensor) else value


def _require_grad_allowed(array, where):
    if not dtypes.is_floating(array.dtype):
        raise RuntimeError(f"{where}: only floating point tensors can require gradients, got dtype "
                           f"{array.dtype}; convert first, e.g. t.float().requires_grad_()")


_new = object.__new__
_new_tuple = tuple.__new__


class Size(tuple):
    """A tensor's shape: a tuple of ints, as PyTorch's ``torch.Size``.

    It compares equal to the plain tuple with the same entries (``x.shape == (2, 3)``), indexing it
    gives an int and slicing, adding or repeating it gives a Size. ``numel()`` is the product of its
    entries, the number of elements of a tensor of this shape.
    """

    __slots__ = ()

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        for i, n in enumerate(sizes):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
                if isinstance(n, Tensor) and n.ndim == 0 and np.issubdtype(n.dtype, np.integer):
                    continue
                raise TypeError(f"Size() takes an iterable of 'int' (item {i} is '{type(n).__name__}')")
        return _new_tuple(cls, (int(n) for n in sizes))

    def numel(self):
        """The number of elements of a tensor of this shape (1 for the empty Size of a 0-d tensor)."""
        count = 1
        for n in self:
            count *= n
        return count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return _new_tuple(Size, tuple.__getitem__(self, index))
        return tuple.__getitem__(self, index)

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _new_tuple(Size, tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _new_tuple(Size, tuple.__add__(other, self))

    def __mul__(self, count):
        repeated = tuple.__mul__(self, count)
        return repeated if repeated is NotImplemented else _new_tuple(Size, repeated)

    __rmul__ = __mul__

    def __repr__(self):
        return f"microgradnp.Size({list(self)})"

    __str__ = __repr__

    def __reduce__(self):
        return Size, (tuple(self),)


# How many times a Tensor was given another array (``t._array = new`` on an existing tensor: the ``.data``
# setter, a recorded in-place op, an ``out=`` resize, gradcheck's perturbations). A compiled step's replay
# keeps the parameters' arrays it captured and re-reads them only when this moved since its last call, so
# every such assignment must bump it; writes into the array in place (``copy_``, ``t[...] = v``) need not.
# A new Tensor's first array (``__init__``, ``_from_op``) is no replacement.
arrays_replaced = [0]


class Tensor:
    """An n-dimensional array that records the operations applied to it for reverse-mode autodiff."""

    # _version counts in-place writes (a backward pass that needs older values raises); _aliases is
    # None, or the list, shared by every tensor whose array shares this one's memory (its views, its
    # detach(), what it is a view of), of weak references to them: a write through any of them moves the
    # version of all of them, as PyTorch's views share one version counter
    __slots__ = ("_array", "_grad", "requires_grad", "grad_fn", "_version", "_hooks", "_aliases", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to the Tensor's reflected operator
    __hash__ = object.__hash__  # identity hash, as in PyTorch (== is elementwise)

    def __init__(self, data, requires_grad=False, dtype=None):
        self._array = as_array(data, dtype)
        self._grad = None
        self.grad_fn = None
        self._version = 0
        self._hooks = None
        self._aliases = None
        if requires_grad:
            _require_grad_allowed(self._array, "tensor")
        self.requires_grad = bool(requires_grad)

    def __dir__(self):
        # PyTorch's Tensor names that microgradnp lacks are class attributes that raise when read (see
        # torch_names.TorchOnly, set by tensor_methods.bind): they are no attributes, so dir() omits them
        hidden = {name for cls in type(self).__mro__ for name, value in vars(cls).items()
                  if getattr(type(value), "torch_only", False)}
        return [name for name in object.__dir__(self) if name not in hidden]

    @staticmethod
    def _from_op(data, node):
        """The constructor every op result goes through: ``data`` an ndarray, ``node`` its Node or None.

        No validation and no ``__init__``: the caller made the array. (A staticmethod: a classmethod
        would bind a method object on every call.)
        """
        t = _new(Tensor)
        t._array = data
        t._grad = None
        t.requires_grad = node is not None
        t.grad_fn = node
        t._version = 0
        t._hooks = None
        t._aliases = None
        if _capture.active is not None:  # a compiled step's capture: an array no recorded op made is marked
            _capture.active.note_result(data)
        return t

    # ---- properties ------------------------------------------------------------------------------
    @property
    def shape(self):
        """The shape, a :class:`Size` (a tuple: ``x.shape == (2, 3)``)."""
        # (the engine's own code reads self._array.shape: this builds a Size on every read)
        return _new_tuple(Size, self._array.shape)

    @property
    def ndim(self):
        """Number of dimensions."""
        return self._array.ndim

    @property
    def dtype(self):
        """The NumPy dtype of the data."""
        return self._array.dtype

    @property
    def data(self):
        """A tensor sharing these values, cut off from the graph and from version counting (PyTorch's ``.data``).

        A write into it (``p.data.add_(...)``, ``p.data.normal_()``) changes this tensor's values without
        autograd seeing it, as in PyTorch; ``detach()`` is the checked way. ``.numpy()`` gives the ndarray.
        """
        return Tensor._from_op(self._array, None)

    @data.setter
    def data(self, value):
        # PyTorch's `p.data = other`: this tensor takes the other's values (shape and dtype included)
        # and shares them; its graph and version are left as they are
        self._array = value._array if isinstance(value, Tensor) else np.asarray(value)
        arrays_replaced[0] += 1

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op (user-created tensors and parameters)."""
        return self.grad_fn is None

    @property
    def device(self):
        """``mg.device('cpu')``: microgradnp computes with NumPy on the CPU (equal to the string ``'cpu'``)."""
        return CPU

    @property
    def is_cuda(self):
        """False: microgradnp computes with NumPy on the CPU."""
        return False

    def size(self, dim=None):
        """The shape as a :class:`Size`, or the length of dimension ``dim`` as an int (negative counts from the end)."""
        shape = self._array.shape
        if dim is None:
            return _new_tuple(Size, shape)
        try:
            return shape[dim]
        except IndexError:
            if not shape:
                raise IndexError(f"size(): dimension specified as {dim} but the tensor has no dimensions") from None
            raise IndexError(f"size(): dimension out of range (expected to be in range of [{-len(shape)}, "
                             f"{len(shape) - 1}], but got {dim})") from None
        except TypeError:
            raise TypeError(f"size(): dim must be an int, got {type(dim).__name__}") from None

    def numel(self):
        """Total number of elements."""
        return self._array.size

    def nelement(self):
        """Total number of elements (another name of ``numel()``)."""
        return self._array.size

    def is_contiguous(self):
        """True when the elements lie in memory in row-major (C) order, without gaps."""
        return self._array.flags.c_contiguous

    def dim(self):
        """Number of dimensions."""
        return self._array.ndim

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if _capture.active is not None:  # inside a compiled step's capture: a value may not steer Python
            _capture.active.read_value(self, "item()")
        if self._array.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to Python scalars, "
                             f"got shape {self._array.shape}")
        return self._array.item()

    def tolist(self):
        """The data as (nested) Python lists."""
        if _capture.active is not None:  # inside a compiled step's capture: a value may not steer Python
            _capture.active.read_value(self, "tolist()")
        return self._array.tolist()

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        if _capture.active is not None:  # inside a compiled step's capture: a value may not steer Python
            _capture.active.read_value(self, "numpy()")
        return self._array

    def __array__(self, dtype=None, copy=None):
        if _capture.active is not None:  # inside a compiled step's capture: a value may not steer Python
            _capture.active.read_value(self, "np.asarray()")
        if dtype is not None and dtype != self._array.dtype:
            return self._array.astype(dtype)
        return self._array.copy() if copy else self._array

    def __len__(self):
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._array)

    def __iter__(self):
        if self._array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._array)))

    def __bool__(self):
        if _capture.active is not None:  # inside a compiled step's capture: a value may not steer Python
            _capture.active.read_value(self, "bool()")
        if self._array.size != 1:
            raise RuntimeError(f"Boolean value of a tensor with {self._array.size} elements is ambiguous; "
                               f"use .any() or .all()")
        return bool(self._array)

    def __float__(self):
        if _capture.active is not None:  # inside a compiled step's capture: a value may not steer Python
            _capture.active.read_value(self, "float()")
        return float(self.item())

    def __int__(self):
        if _capture.active is not None:  # inside a compiled step's capture: a value may not steer Python
            _capture.active.read_value(self, "int()")
        return int(self.item())

    def __index__(self):
        if _capture.active is not None:  # inside a compiled step's capture: a value may not steer Python
            _capture.active.read_value(self, "an index (__index__)")
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError(f"only integer tensors of a single element can be used as an index, got {self.dtype}")
        return int(self.item())

    def __repr__(self):
        return _format(self)

    def __format__(self, format_spec):
        # PyTorch's rule: a 0-d tensor formats as its Python number (f"{loss:.4f}"); any other tensor
        # takes only the empty spec, which gives its repr
        if self._array.ndim == 0:
            return self._array.item().__format__(format_spec)
        if format_spec:
            raise TypeError(f"unsupported format string {format_spec!r} passed to Tensor.__format__: only a "
                            f"0-d tensor takes a format spec, this one has shape {tuple(self._array.shape)}; "
                            f"format t.item() or t.tolist() instead")
        return _format(self)

    # ---- the tensor's place in the graph ---------------------------------------------------------
    def detach(self):
        """A tensor sharing this data, cut off from the graph (an in-place change to either is seen by both)."""
        t = Tensor._from_op(self._array, None)
        share_memory(t, self)
        return t

    def detach_(self):
        """Cut this tensor off from the graph in place."""
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on a leaf in place and return it."""
        if requires_grad:
            _require_grad_allowed(self._array, "requires_grad_")
        elif self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False): only leaf tensors can stop requiring grad; use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves keep theirs anyway)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad(): can't retain the gradient of a tensor that does not require grad")
        if self.grad_fn is not None:
            self.grad_fn.set_info("retained", weakref.ref(self))

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor (of the same shape
        and dtype, as in PyTorch) replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook(): cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            hooks = self.grad_fn.info("hooks")
            if hooks is None:
                hooks = []
                self.grad_fn.set_info("hooks", hooks)
        hooks.append(hook)
        hooks_changed[0] += 1  # a compiled step's replay would skip it: its next call looks for hooks
        return _HookHandle(hooks, hook)


def increment_version(tensors):
    """Tell autograd that ``tensors`` (one Tensor or several) were changed in place through their arrays.

    A backward pass that needs the old values of a tensor, or of one sharing its memory, then raises
    instead of computing a wrong gradient. In-place Tensor ops do this themselves; code that writes into
    ``t._array`` directly (an optimizer's update, under ``no_grad``) calls this afterwards, as with
    PyTorch's function of this name.
    """
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    for t in tensors:
        if t._aliases is None and t.grad_fn is None:  # a parameter, as an optimizer updates it
            t._version += 1
        else:
            note_write(t, "increment_version")


def share_memory(view, base):
    """Record that ``view``'s array shares memory with ``base``'s (a view op's output, or ``detach()``)."""
    group = base._aliases
    if group is None:
        group = base._aliases = [weakref.ref(base)]
    elif len(group) > 8:  # drop the dead: views are often temporaries
        group[:] = [ref for ref in group if ref() is not None]
    group.append(weakref.ref(view))
    view._aliases = group


def aliases(t):
    """The live tensors other than ``t`` that share its memory."""
    if t._aliases is None:
        return []
    return [other for other in (ref() for ref in t._aliases) if other is not None and other is not t]


def note_write(t, name):
    """After an in-place write named ``name`` into ``t``'s array: every tensor sharing that memory moves
    its version, and a node that keeps one of them as its output for its gradient is marked modified."""
    for other in (t,) if t._aliases is None else [t] + aliases(t):
        other._version += 1
        node = other.grad_fn
        if node is not None and node.output is not None:
            node.set_info("modified_by", name)


class _HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        """Unregister the hook."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
            hooks_changed[0] += 1


def _format(t):
    data = t._array
    suffix = []
    if data.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool):
        suffix.append(f"dtype=microgradnp.{data.dtype}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name}Backward>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    body = np.array2string(data, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"


def _read_grad(tensor):
    grad = tensor._grad
    if _capture.active is not None and grad is not None:  # a replay reads the .grad of its own call
        _capture.active.note_grad_read(tensor)
    if grad is None and tensor.grad_fn is not None and tensor.grad_fn.info("retained") is None:
        warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                      "attribute won't be populated during backward(). If you indeed want the .grad field to be "
                      "populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access "
                      "the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead.",
                      UserWarning, stacklevel=2)
    return grad


def _write_grad(tensor, grad):
    if _capture.active is not None:  # (``p.grad = None`` inside a compiled step is replayed)
        _capture.active.note_grad_write(tensor, grad)
    tensor._grad = grad


# .grad is read through a property, so that reading a non-leaf's warns as PyTorch's does (the library
# itself reads and clears the ``_grad`` slot directly: ``graph.grad_of``, ``graph.clear_grads``)
Tensor.grad = property(_read_grad, _write_grad, doc=(
    "The gradient a backward pass accumulated here (None until one has): a leaf's, or a non-leaf's after "
    "``retain_grad()``. Reading it on a non-leaf that does not retain it warns, as in PyTorch."))
