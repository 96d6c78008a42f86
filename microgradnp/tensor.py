"""The Tensor: an ndarray plus what autograd needs to know about where it came from."""
import numpy as np

from . import dtypes, grad_mode
from .autograd import graph


def as_array(data, dtype=None):
    """Convert user data to an ndarray: Python floats become the default dtype, arrays keep theirs."""
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, np.ndarray):
        array = data
    else:
        array = np.asarray(data)
        if dtype is None and array.dtype == np.float64 and not isinstance(data, np.generic):
            array = array.astype(dtypes.get_default_dtype())
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _require_grad_allowed(array, where):
    if not dtypes.is_floating(array.dtype):
        raise RuntimeError(f"{where}: only floating point tensors can require gradients, got dtype "
                           f"{array.dtype}; convert first, e.g. t.float().requires_grad_()")


_new = object.__new__


class Tensor:
    """An n-dimensional array that records the operations applied to it for reverse-mode autodiff."""

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_version", "_hooks", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to the Tensor's reflected operator
    __hash__ = object.__hash__  # identity hash, as in PyTorch (== is elementwise)

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = as_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self._version = 0
        self._hooks = None
        if requires_grad:
            _require_grad_allowed(self.data, "tensor")
        self.requires_grad = bool(requires_grad)

    @staticmethod
    def _from_op(data, node):
        # hot path: every op result is built here, so no validation and no __init__ (and a staticmethod:
        # a classmethod call binds a method object first, about 500 instructions more)
        t = _new(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = node is not None
        t.grad_fn = node
        t._version = 0
        t._hooks = None
        return t

    # ---- properties ------------------------------------------------------------------------------
    @property
    def shape(self):
        """The shape as a tuple."""
        return self.data.shape

    @property
    def ndim(self):
        """Number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self):
        """The NumPy dtype of the data."""
        return self.data.dtype

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op (user-created tensors and parameters)."""
        return self.grad_fn is None

    @property
    def T(self):
        """The tensor with its axes reversed."""
        return F.transpose(self)

    @property
    def mT(self):
        """The tensor with its last two axes swapped."""
        return F.transpose(self, -2, -1)

    @property
    def device(self):
        """Always 'cpu': microgradnp runs on NumPy."""
        return "cpu"

    def size(self, dim=None):
        """The shape, or the length of one dimension."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        """Total number of elements."""
        return self.data.size

    def dim(self):
        """Number of dimensions."""
        return self.data.ndim

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to Python scalars, "
                             f"got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists."""
        return self.data.tolist()

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of a tensor with {self.data.size} elements is ambiguous; "
                               f"use .any() or .all()")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError(f"only integer tensors of a single element can be used as an index, got {self.dtype}")
        return int(self.item())

    def __repr__(self):
        return _format(self)

    # ---- autograd --------------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (``gradient`` is needed unless scalar)."""
        _engine.backward(self, None if gradient is None else [gradient], retain_graph, create_graph, inputs)

    def detach(self):
        """A tensor sharing this data, cut off from the graph."""
        return Tensor._from_op(self.data, None)

    def detach_(self):
        """Cut this tensor off from the graph in place."""
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on a leaf in place and return it."""
        if requires_grad:
            _require_grad_allowed(self.data, "requires_grad_")
        elif self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False): only leaf tensors can stop requiring grad; use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves keep theirs anyway)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad(): can't retain the gradient of a tensor that does not require grad")
        if self.grad_fn is not None:
            import weakref
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
        return _HookHandle(hooks, hook)

    # ---- in-place operations ---------------------------------------------------------------------
    def _inplace(self, name, op, *others):
        """Apply ``op(self, *others)`` in place, keeping autograd honest.

        While the graph is recorded the result is computed out of place and this tensor is rebound to it,
        so values saved by earlier ops stay intact. Otherwise the data is overwritten and the version
        counter moves, so a backward that needs the old values raises instead of being silently wrong.
        """
        recording = grad_mode.is_grad_enabled() and (
            self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others))
        if recording:
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"{name}: a leaf tensor that requires grad is being used in an in-place operation; "
                    f"update parameters inside `with mg.no_grad():` (as optimizers do) or use an out-of-place op")
            result = op(self, *others)
            if result.shape != self.shape:
                raise RuntimeError(f"{name}: the result has shape {result.shape}, which cannot be written into a "
                                   f"tensor of shape {self.shape} (in-place ops do not change a tensor's shape)")
            result = F.astype(result, self.dtype)  # in place keeps this tensor's dtype, as in PyTorch
            self.data, self.grad_fn, self.requires_grad = result.data, result.grad_fn, result.requires_grad
            return self
        with grad_mode.no_grad():
            result = op(self, *others)
        try:
            np.copyto(self.data, np.broadcast_to(result.data, self.data.shape), casting="same_kind")
        except (TypeError, ValueError) as error:
            raise type(error)(f"{name}: cannot write a result of shape {result.shape} and dtype {result.dtype} "
                              f"into a tensor of shape {self.shape} and dtype {self.dtype}: {error}") from None
        self._version += 1
        if self.grad_fn is not None and self.grad_fn.output is not None:
            self.grad_fn.set_info("modified_by", name)
        return self

    def __iadd__(self, other):
        return self._inplace("add_", F.add, other)

    def __isub__(self, other):
        return self._inplace("sub_", F.sub, other)

    def __imul__(self, other):
        return self._inplace("mul_", F.mul, other)

    def __itruediv__(self, other):
        return self._inplace("div_", F.div, other)

    def add_(self, other, alpha=1):
        """In-place ``self += alpha * other``."""
        return self._inplace("add_", F.add, other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        """In-place ``self -= alpha * other``."""
        return self._inplace("sub_", F.sub, other if alpha == 1 else other * alpha)

    def mul_(self, other):
        """In-place ``self *= other``."""
        return self._inplace("mul_", F.mul, other)

    def div_(self, other):
        """In-place ``self /= other``."""
        return self._inplace("div_", F.div, other)

    def clamp_(self, min=None, max=None):  # noqa: A002
        """In-place clamp."""
        return self._inplace("clamp_", lambda t: F.clamp(t, min, max))

    def zero_(self):
        """Fill with zeros in place."""
        return self.fill_(0)

    def fill_(self, value):
        """Fill with ``value`` in place."""
        return self._inplace("fill_", _replaced_by, value)

    def copy_(self, src):
        """Copy ``src`` (broadcast to this shape) into this tensor in place."""
        return self._inplace("copy_", _replaced_by, src)

    def __setitem__(self, index, value):
        index = F.index_from(index)
        if not (grad_mode.is_grad_enabled() and (self.requires_grad or
                                                 (isinstance(value, Tensor) and value.requires_grad))):
            self.data[index] = _raw(value)
            self._version += 1
            return
        self._inplace("setitem", lambda t, v: F.index_put(t, index, v), value)

    # ---- operators ---------------------------------------------------------------------------------
    def __add__(self, other):
        return _apply2(_ADD, self, other)

    def __radd__(self, other):
        return _apply2(_ADD, other, self)

    def __sub__(self, other):
        return _apply2(_SUB, self, other)

    def __rsub__(self, other):
        return _apply2(_SUB, other, self)

    def __mul__(self, other):
        return _apply2(_MUL, self, other)

    def __rmul__(self, other):
        return _apply2(_MUL, other, self)

    def __truediv__(self, other):
        return _apply2(_DIV, self, other)

    def __rtruediv__(self, other):
        return _apply2(_DIV, other, self)

    def __pow__(self, other):
        return F.pow(self, other)

    def __rpow__(self, other):
        return F.pow(other, self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return F.abs(self)

    def __getitem__(self, index):
        return F.getitem(self, index)

    def __lt__(self, other):
        return Tensor._from_op(self.data < _raw(other), None)

    def __le__(self, other):
        return Tensor._from_op(self.data <= _raw(other), None)

    def __gt__(self, other):
        return Tensor._from_op(self.data > _raw(other), None)

    def __ge__(self, other):
        return Tensor._from_op(self.data >= _raw(other), None)

    def __eq__(self, other):
        return Tensor._from_op(np.asarray(self.data == _raw(other)), None)

    def __ne__(self, other):
        return Tensor._from_op(np.asarray(self.data != _raw(other)), None)

    def __and__(self, other):
        return Tensor._from_op(self.data & _raw(other), None)

    def __or__(self, other):
        return Tensor._from_op(self.data | _raw(other), None)

    def __xor__(self, other):
        return Tensor._from_op(self.data ^ _raw(other), None)

    def __invert__(self):
        return Tensor._from_op(~self.data, None)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # np.exp(t) and friends go through the differentiable op; anything else must not drop the graph
        return _numpy_dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        # np.where(t > 0, t, 0), np.sum(t), np.clip(t, ...) likewise: NumPy code can be traced as it is
        return _numpy_dispatch.array_function(func, args, kwargs)

    # ---- conversions -------------------------------------------------------------------------------
    def to(self, dtype_or_device, dtype=None):
        """Cast to ``dtype`` (differentiable between floating dtypes); ``to('cpu')`` is accepted and a no-op.

        Every tensor lives in NumPy on the CPU, so ported code calling ``x.to(device)`` keeps working.
        """
        if isinstance(dtype_or_device, str) and dtype_or_device.split(":")[0] == "cpu":
            return self if dtype is None else F.astype(self, dtype)
        if isinstance(dtype_or_device, str) and dtype_or_device.split(":")[0] in ("cuda", "mps", "xpu"):
            raise RuntimeError(f"to({dtype_or_device!r}): microgradnp runs on NumPy, on the CPU only")
        return F.astype(self, dtype_or_device)

    def type(self, dtype):
        """Cast to ``dtype``."""
        return F.astype(self, dtype)

    def float(self):
        """Cast to float32."""
        return F.astype(self, dtypes.float32)

    def double(self):
        """Cast to float64."""
        return F.astype(self, dtypes.float64)

    def long(self):
        """Cast to int64."""
        return F.astype(self, dtypes.int64)

    def int(self):
        """Cast to int32."""
        return F.astype(self, dtypes.int32)

    def bool(self):
        """Cast to bool."""
        return F.astype(self, dtypes.bool)

    def clone(self):
        """A copy that stays in the graph."""
        return F.clone(self)

    def any(self, dim=None, keepdim=False):
        """True where any element is nonzero."""
        return Tensor._from_op(np.asarray(np.any(self.data, axis=dim, keepdims=keepdim)), None)

    def all(self, dim=None, keepdim=False):
        """True where all elements are nonzero."""
        return Tensor._from_op(np.asarray(np.all(self.data, axis=dim, keepdims=keepdim)), None)


def _replaced_by(t, value):
    # every element of t replaced by (broadcast) value: t gets a zero gradient and value the rest,
    # without arithmetic on t's old contents (t * 0 would turn inf or NaN into NaN)
    return F.where(np.zeros(t.shape, dtype=np.bool_), t, value)


class _HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        """Unregister the hook."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _format(t):
    data = t.data
    suffix = []
    if data.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool):
        suffix.append(f"dtype=microgradnp.{data.dtype}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name}Backward>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    body = np.array2string(data, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"


graph.Tensor = Tensor

from . import functions as F  # noqa: E402  (functions needs Tensor defined first)
from . import numpy_dispatch as _numpy_dispatch  # noqa: E402
from .autograd.graph import apply2 as _apply2  # noqa: E402
_ADD, _SUB, _MUL, _DIV = F.add, F.sub, F.mul, F.div
from .autograd import engine as _engine  # noqa: E402
