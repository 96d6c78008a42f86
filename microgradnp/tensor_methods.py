"""What a Tensor computes: operators, in-place ops, casts, ``backward()`` and the methods PyTorch has.

``tensor.py`` defines what a Tensor *is*; these need the ops, the public functions and the engine, all of
which build on ``tensor.py``, so they are written here and bound onto ``Tensor`` once, by ``bind()``
(called from ``microgradnp/__init__.py``). Three sources, one binding place:

- the class body of ``TensorMethods`` below, written by hand;
- every primitive declared ``method=True`` (``x.exp()`` is ``mg.exp(x)``);
- every public function marked ``@tensor_method()`` in ``functions.py`` (``x.mean(0)``).
"""
import numpy as np

from . import devices, dtypes, factories, functions, grad_mode, numpy_dispatch
from .autograd import engine
from .autograd.hot_path import apply1, apply2
from .autograd.primitive import PRIMITIVES
from .capture import replayable
from .ops import arithmetic, elementwise, linalg
from .random import draw
from .tensor import Tensor, aliases, arrays_replaced, note_write, raw
from .torch_names import TorchOnly, torch_names

_ADD, _SUB, _MUL, _DIV = arithmetic.add, arithmetic.sub, arithmetic.mul, arithmetic.div


class TensorMethods:
    """The hand-written part of what ``bind()`` puts on ``Tensor``."""

    @property
    def T(self):
        """The tensor with its axes reversed."""
        return functions.transpose(self)

    @property
    def mT(self):
        """The tensor with its last two axes swapped."""
        return functions.transpose(self, -2, -1)

    def t(self):
        """The transpose of a matrix; a 0-d or 1-d tensor as it is (PyTorch's ``t()``, for <= 2 dimensions)."""
        if self._array.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._array.ndim}D "
                               f"(shape {tuple(self._array.shape)}); use transpose(dim0, dim1) or mT")
        return functions.transpose(self)

    def contiguous(self, memory_format=None):
        """A tensor with the same values whose data is C-contiguous: ``self`` when it already is.

        The copy stays in the graph, as in PyTorch (a transposed or sliced tensor's data is not
        contiguous; ``view`` then needs ``contiguous()`` first in PyTorch).
        """
        if self._array.flags.c_contiguous:
            return self
        if not (self.requires_grad and grad_mode.is_grad_enabled()):
            return Tensor._from_op(np.ascontiguousarray(self._array), None)
        flat = functions.reshape(self, -1)  # a copy in row-major order, unless it can be a strided view
        if not flat._array.flags.c_contiguous:
            flat = flat * 1  # a fresh one-dimensional array is dense
        return functions.reshape(flat, self._array.shape)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (``gradient`` is needed unless scalar)."""
        engine.backward(self, None if gradient is None else [gradient], retain_graph, create_graph, inputs)

    # ---- in-place operations ---------------------------------------------------------------------
    def _inplace(self, name, op, *others):
        """Apply ``op(self, *others)`` in place, keeping autograd honest.

        While the graph is recorded the result is computed out of place and this tensor is rebound to it,
        so values saved by earlier ops stay intact. Otherwise the data is overwritten and the version
        counter moves (of every tensor sharing the memory), so a backward that needs the old values raises
        instead of being silently wrong.
        """
        recording = grad_mode.is_grad_enabled() and (
            self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others))
        if recording:
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"{name}: a leaf tensor that requires grad is being used in an in-place operation; "
                    f"update parameters inside `with mg.no_grad():` (as optimizers do) or use an out-of-place op")
            if aliases(self):
                # rebinding this tensor to a new array would leave the others with the old values
                raise RuntimeError(
                    f"{name}: this tensor shares its memory with another tensor (a view of it, what it is a view "
                    f"of, or a detach()), and an in-place operation that records the graph on it is not "
                    f"supported; use an out-of-place op (x = x + y instead of x += y), or clone() first")
            result = op(self, *others)
            if result._array.shape != self._array.shape:
                raise RuntimeError(f"{name}: the result has shape {result._array.shape}, which cannot be written "
                                   f"into a tensor of shape {self._array.shape} (in-place ops do not change a "
                                   f"tensor's shape)")
            result = functions.astype(result, self.dtype)  # in place keeps this tensor's dtype, as in PyTorch
            self._array, self.grad_fn, self.requires_grad = result._array, result.grad_fn, result.requires_grad
            arrays_replaced[0] += 1
            return self
        with grad_mode.no_grad():
            result = op(self, *others)
        try:
            # (a compiled step replays the write too: ``with no_grad(): w -= lr * w.grad`` updates w)
            replayable(_write_into, self._array, result._array)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{name}: cannot write a result of shape {result._array.shape} and dtype {result.dtype} "
                              f"into a tensor of shape {self._array.shape} and dtype {self.dtype}: {error}") from None
        note_write(self, name)
        return self

    def __iadd__(self, other):
        return self._inplace("add_", _ADD, other)

    def __isub__(self, other):
        return self._inplace("sub_", _SUB, other)

    def __imul__(self, other):
        return self._inplace("mul_", _MUL, other)

    def __itruediv__(self, other):
        return self._inplace("div_", _DIV, other)

    def __ifloordiv__(self, other):
        return self._inplace("floor_divide_", functions.floor_divide, other)

    def __imod__(self, other):
        return self._inplace("remainder_", arithmetic.remainder, other)

    def floor_divide_(self, other):
        """In-place ``self //= other``."""
        return self._inplace("floor_divide_", functions.floor_divide, other)

    def remainder_(self, other):
        """In-place ``self %= other`` (Python's modulus: the sign of the divisor)."""
        return self._inplace("remainder_", arithmetic.remainder, other)

    def fmod_(self, other):
        """In-place C remainder (the sign of the dividend)."""
        return self._inplace("fmod_", arithmetic.fmod, other)

    def add_(self, other, alpha=1):
        """In-place ``self += alpha * other``."""
        return self._inplace("add_", _ADD, other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        """In-place ``self -= alpha * other``."""
        return self._inplace("sub_", _SUB, other if alpha == 1 else other * alpha)

    def mul_(self, other):
        """In-place ``self *= other``."""
        return self._inplace("mul_", _MUL, other)

    def div_(self, other):
        """In-place ``self /= other``."""
        return self._inplace("div_", _DIV, other)

    def clamp_(self, min=None, max=None):
        """In-place clamp."""
        return self._inplace("clamp_", lambda t: functions.clamp(t, min, max))

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        """In-place ``scatter``: ``src`` (a tensor) or ``value`` (a number) written at ``index`` along ``dim``."""
        if src is not None and not isinstance(src, Tensor):
            src, value = None, src
        if src is None:
            return self._inplace("scatter_", lambda t: functions.scatter(t, dim, index, value=value, reduce=reduce))
        return self._inplace("scatter_", lambda t, s: functions.scatter(t, dim, index, s, reduce=reduce), src)

    def scatter_add_(self, dim, index, src):
        """In-place ``scatter_add``: ``src`` added at ``index`` along ``dim``, repeated indices adding up."""
        return self._inplace("scatter_add_", lambda t, s: functions.scatter_add(t, dim, index, s), src)

    def zero_(self):
        """Fill with zeros in place."""
        return self.fill_(0)

    def fill_(self, value):
        """Fill with ``value`` in place."""
        return self._inplace("fill_", _replaced_by, value)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with uniform samples in [a, b), in place."""
        return self._inplace("uniform_", _replaced_by, draw(generator, "uniform", a, b, self.shape))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with normal samples of ``mean`` and ``std``, in place."""
        return self._inplace("normal_", _replaced_by, draw(generator, "normal", mean, std, self.shape))

    def exponential_(self, lambd=1.0, *, generator=None):
        """Fill with exponential samples of rate ``lambd``, in place."""
        return self._inplace("exponential_", _replaced_by,
                             draw(generator, "exponential", 1.0 / lambd, self.shape))

    def bernoulli_(self, p=0.5, *, generator=None):
        """Fill with 0 or 1, 1 with probability ``p`` (a number or a tensor of probabilities), in place."""
        return self._inplace("bernoulli_", _replaced_by, factories.bernoulli(self, raw(p), generator=generator))

    def random_(self, low=0, high=None, *, generator=None):
        """Fill with integers in [low, high) (``random_(high)`` or ``random_(low, high)``), in place."""
        if high is None:
            if low == 0:
                raise ValueError("random_: give the upper bound, random_(high) or random_(low, high)")
            low, high = 0, low
        return self._inplace("random_", _replaced_by, draw(generator, "integers", low, high, self.shape))

    def bernoulli(self, p=None, *, generator=None):
        """0 or 1 for each element, 1 with probability ``self`` (or ``p``)."""
        return factories.bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """``mg.multinomial(self, ...)``: category indices drawn with the weights of each row."""
        return factories.multinomial(self, num_samples, replacement, generator=generator)

    def copy_(self, src):
        """Copy ``src`` (broadcast to this shape) into this tensor in place."""
        return self._inplace("copy_", _replaced_by, src)

    def __setitem__(self, index, value):
        index = functions.index_from(index)
        if not (grad_mode.is_grad_enabled() and (self.requires_grad or
                                                 (isinstance(value, Tensor) and value.requires_grad))):
            functions.setitem_array(self._array, index, value)
            note_write(self, "setitem")
            return
        self._inplace("setitem", lambda t, v: functions.index_put(t, index, v), value)

    # ---- operators ---------------------------------------------------------------------------------
    def __add__(self, other):
        return apply2(_ADD, self, other)

    def __radd__(self, other):
        return apply2(_ADD, other, self)

    def __sub__(self, other):
        return apply2(_SUB, self, other)

    def __rsub__(self, other):
        return apply2(_SUB, other, self)

    def __mul__(self, other):
        return apply2(_MUL, self, other)

    def __rmul__(self, other):
        return apply2(_MUL, other, self)

    def __truediv__(self, other):
        return apply2(_DIV, self, other)

    def __rtruediv__(self, other):
        return apply2(_DIV, other, self)

    def __floordiv__(self, other):
        return functions.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return functions.floor_divide(other, self)

    def __mod__(self, other):
        return arithmetic.remainder(self, other)

    def __rmod__(self, other):
        return arithmetic.remainder(other, self)

    def __pow__(self, other):
        return arithmetic.pow(self, other)

    def __rpow__(self, other):
        return arithmetic.pow(other, self)

    def __matmul__(self, other):
        return linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return linalg.matmul(other, self)

    def __neg__(self):
        return arithmetic.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return elementwise.abs(self)

    def __getitem__(self, index):
        return functions.getitem(self, index)

    def __lt__(self, other):
        return Tensor._from_op(self._array < raw(other), None)

    def __le__(self, other):
        return Tensor._from_op(self._array <= raw(other), None)

    def __gt__(self, other):
        return Tensor._from_op(self._array > raw(other), None)

    def __ge__(self, other):
        return Tensor._from_op(self._array >= raw(other), None)

    def __eq__(self, other):
        return Tensor._from_op(np.asarray(self._array == raw(other)), None)

    def __ne__(self, other):
        return Tensor._from_op(np.asarray(self._array != raw(other)), None)

    def __and__(self, other):
        return Tensor._from_op(self._array & raw(other), None)

    def __or__(self, other):
        return Tensor._from_op(self._array | raw(other), None)

    def __xor__(self, other):
        return Tensor._from_op(self._array ^ raw(other), None)

    def __invert__(self):
        return Tensor._from_op(~self._array, None)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # np.exp(t) and friends go through the differentiable op; anything else must not drop the graph
        return numpy_dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        # np.where(t > 0, t, 0), np.sum(t), np.clip(t, ...) likewise: NumPy code can be traced as it is
        return numpy_dispatch.array_function(func, args, kwargs)

    # ---- conversions -------------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """PyTorch's ``to``: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``.

        A cast between floating dtypes is differentiable. The device must be the CPU (``'cpu'`` or
        ``mg.device('cpu')``): any other raises, since microgradnp computes with NumPy on the CPU. As in
        PyTorch, the tensor itself is returned when nothing changes, unless ``copy=True``.
        """
        _, dtype, copy = devices.to_arguments(args, kwargs, "Tensor.to")
        if dtype is not None and np.dtype(dtype) != self.dtype:
            return functions.astype(self, dtype)
        return functions.clone(self) if copy else self

    def cpu(self):
        """The tensor itself: it is already on the CPU."""
        return self

    def cuda(self, device=None, non_blocking=False):
        """Raises: microgradnp computes with NumPy on the CPU."""
        devices.check_device("cuda" if device is None else device, "Tensor.cuda")

    def pin_memory(self):
        """The tensor itself: pinned memory speeds up copies to a GPU, and there is none here."""
        return self

    def is_pinned(self):
        """False: there is no pinned memory here."""
        return False

    def type(self, dtype=None):
        """Without an argument, the type's name (``'microgradnp.FloatTensor'``); else cast to ``dtype``.

        ``dtype`` is a dtype or such a name (``'torch.DoubleTensor'`` is read as ``'microgradnp.DoubleTensor'``).
        """
        if dtype is None:
            return "microgradnp." + _TYPE_NAMES.get(self._array.dtype, f"{self._array.dtype}Tensor")
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            name = dtype.rsplit(".", 1)[-1]
            for known, known_name in _TYPE_NAMES.items():
                if known_name == name:
                    return functions.astype(self, known)
            raise ValueError(f"type({dtype!r}): unknown tensor type; known are "
                             f"{', '.join(sorted(_TYPE_NAMES.values()))}")
        return functions.astype(self, dtype)

    def half(self):
        """Cast to float16."""
        return functions.astype(self, dtypes.float16)

    def float(self):
        """Cast to float32."""
        return functions.astype(self, dtypes.float32)

    def double(self):
        """Cast to float64."""
        return functions.astype(self, dtypes.float64)

    def long(self):
        """Cast to int64."""
        return functions.astype(self, dtypes.int64)

    def int(self):
        """Cast to int32."""
        return functions.astype(self, dtypes.int32)

    def bool(self):
        """Cast to bool."""
        return functions.astype(self, dtypes.bool)

    def type_as(self, other):
        """Cast to ``other``'s dtype."""
        return functions.astype(self, other.dtype)

    # ---- new tensors with this one's dtype -------------------------------------------------------------
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """A tensor of zeros of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        return _new_tensor("new_zeros", np.zeros(_size_arg("new_zeros", size), dtype or self.dtype),
                           device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """A tensor of ones of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        return _new_tensor("new_ones", np.ones(_size_arg("new_ones", size), dtype or self.dtype),
                           device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """An uninitialised tensor of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        return _new_tensor("new_empty", np.empty(_size_arg("new_empty", size), dtype or self.dtype),
                           device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        """A tensor of ``size`` filled with ``fill_value``, with this tensor's dtype unless ``dtype`` is given."""
        fill = fill_value._array if isinstance(fill_value, Tensor) else fill_value
        return _new_tensor("new_full", np.full(_size_arg("new_full", (size,)), fill, dtype or self.dtype),
                           device, requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        """A new leaf tensor holding a copy of ``data``, with this tensor's dtype unless ``dtype`` is given."""
        values = data._array if isinstance(data, Tensor) else data
        return _new_tensor("new_tensor", np.array(values, dtype=dtype or self.dtype), device, requires_grad)

    def any(self, dim=None, keepdim=False):
        """True where any element is nonzero."""
        return Tensor._from_op(np.asarray(np.any(self._array, axis=dim, keepdims=keepdim)), None)

    def all(self, dim=None, keepdim=False):
        """True where all elements are nonzero."""
        return Tensor._from_op(np.asarray(np.all(self._array, axis=dim, keepdims=keepdim)), None)

    # ---- methods whose arguments differ from the function's ------------------------------------------
    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other``."""
        return functions.where(condition, self, other)

    def expand_as(self, other):
        """Broadcast to ``other``'s shape."""
        return functions.expand(self, other.shape)

    def view_as(self, other):
        """The same elements in ``other``'s shape."""
        return functions.reshape(self, other.shape)

    reshape_as = view_as


_TYPE_NAMES = {dtypes.float32: "FloatTensor", dtypes.float64: "DoubleTensor", dtypes.float16: "HalfTensor",
               dtypes.int64: "LongTensor", dtypes.int32: "IntTensor", dtypes.int16: "ShortTensor",
               dtypes.int8: "CharTensor", dtypes.uint8: "ByteTensor", dtypes.bool: "BoolTensor"}


def _size_arg(name, size):
    # PyTorch's size arguments: ints, or one tuple, list or Size of them
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    for n in size:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{name}(): size must be ints or one tuple of ints, got {tuple(size)!r}")
    return tuple(int(n) for n in size)


def _new_tensor(name, array, device, requires_grad):
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"{name}(device={device!r}): microgradnp runs on NumPy, on the CPU only")
    return Tensor(array, requires_grad=requires_grad)


def _write_into(target, values):
    """``values`` (broadcast) written into the array ``target``: an in-place op's result, outside the graph."""
    np.copyto(target, np.broadcast_to(values, target.shape), casting="same_kind")


def _replaced_by(t, value):
    # every element of t replaced by (broadcast) value: t gets a zero gradient and value the rest,
    # without arithmetic on t's old contents (t * 0 would turn inf or NaN into NaN)
    return functions.where(np.zeros(t.shape, dtype=np.bool_), t, value)


def _primitive_method(prim):
    # a primitive object is not a function, so it would not bind as a method on its own
    def method(self, *args, **kwargs):
        if args or kwargs:
            return prim(self, *args, **kwargs)
        return apply1(prim, self)

    method.__name__ = method.__qualname__ = prim.name
    method.__doc__ = prim.doc
    return method


def methods():
    """``{name: what Tensor.<name> is}`` from all three sources (a name given twice is an error)."""
    # (the class body's __eq__ makes Python add __hash__ = None to it: Tensor keeps its identity hash)
    table = {name: value for name, value in vars(TensorMethods).items()
             if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__hash__")}
    derived = [(prim.name, _primitive_method(prim)) for prim in PRIMITIVES.values() if prim.method]
    derived += list(functions.TENSOR_METHODS.items())
    for name, value in derived:
        if name in table:
            raise RuntimeError(f"Tensor.{name} is declared twice")
        table[name] = value
    return table


def bind(cls):
    """Put every method of ``methods()`` on ``cls`` (the Tensor class); called once, on import."""
    for name, value in methods().items():
        setattr(cls, name, value)
    # PyTorch's Tensor names still missing raise an AttributeError that says so, and hasattr stays False
    for name in torch_names("torch.Tensor"):
        if not hasattr(cls, name):
            setattr(cls, name, TorchOnly(name))
