"""Containers: ``Sequential`` chains modules; ``ModuleList``, ``ModuleDict``, ``ParameterList`` and
``ParameterDict`` hold modules or parameters for a custom ``forward``, registered so that ``parameters()``,
``state_dict()``, ``to()`` and ``train()`` reach them."""
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

import microgradnp as mg
from microgradnp.autograd.graph import is_recording

from . import module as _module
from .module import Module
from .parameter import Parameter


def _index(length, idx, where):
    idx = operator.index(idx)
    if not -length <= idx < length:
        raise IndexError(f"{where}: index {idx} is out of range for {length} modules")
    return idx % length


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: modules registered under the names "0", "1", ... in order."""

    def _renumber(self, modules):
        # indices stay 0..n-1 after a deletion or insertion, as PyTorch keeps them
        self._modules.clear()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)._from_modules(list(self._modules.items())[idx])
        return list(self._modules.values())[_index(len(self._modules), idx, type(self).__name__)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(len(self._modules), idx, type(self).__name__)]
        self.add_module(key, module)

    def __delitem__(self, idx):
        modules = list(self._modules.values())
        del modules[idx if isinstance(idx, slice) else _index(len(modules), idx, type(self).__name__)]
        self._renumber(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append every module of ``modules``; returns self."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index``; returns self."""
        name = type(self).__name__
        if not isinstance(module, Module):
            raise TypeError(f"{name}.insert: expected a Module, got {type(module).__name__}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"{name}.insert: index {index} is out of range for {n} modules")
        modules = list(self._modules.values())
        modules.insert(index % (n + 1), module)
        self._renumber(modules)
        return self


_MODULE_CALL = Module.__call__


class Sequential(_ModuleSequence):
    """Modules applied one after another: ``Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))``.

    Also accepts one ``OrderedDict`` of named modules. Indexable (a slice gives a new ``Sequential``),
    iterable, and ``len()`` gives the number of modules.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                if not isinstance(module, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(module).__name__}, not a Module "
                                    f"(did you pass a function? wrap it in a Module, or use e.g. nn.ReLU())")
                self.add_module(str(i), module)

    @classmethod
    def _from_modules(cls, named):
        return cls(OrderedDict(named))

    def forward(self, input):
        """Feed ``input`` through every module in order."""
        # unless recording (where each module's call names its scope) or some module has hooks,
        # Module.__call__ only calls forward:
        # calling it directly skips packing the arguments into a tuple and unpacking them again for every
        # module, pure call overhead on a small network (a module that defines its own __call__ still gets it)
        direct = not (_module._hooks_live or is_recording())  # hooks, like scopes, need Module.__call__
        for module in self._modules.values():
            input = module.forward(input) if direct and type(module).__call__ is _MODULE_CALL else module(input)
        return input


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (a plain Python list would hide them)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @classmethod
    def _from_modules(cls, named):
        return cls([module for _, module in named])


def _pairs(values, name):
    """The (key, value) pairs of ``values`` for ``name``.update, with PyTorch's checks and order."""
    if not isinstance(values, Iterable):
        raise TypeError(f"{name}.update should be called with an iterable of key/value pairs, but got "
                        f"{type(values).__name__}")
    if isinstance(values, Mapping) or hasattr(values, "items") and hasattr(values, "keys"):
        return list(values.items())
    pairs = []
    for j, pair in enumerate(values):
        if not isinstance(pair, Iterable):
            raise TypeError(f"{name} update sequence element #{j} should be Iterable; is {type(pair).__name__}")
        pair = tuple(pair)
        if len(pair) != 2:
            raise ValueError(f"{name} update sequence element #{j} has length {len(pair)}; 2 is required")
        pairs.append(pair)
    return pairs


class ModuleDict(Module):
    """A dict of modules whose parameters are registered (a plain Python dict would hide them).

    Ordered by insertion; ``update`` keeps the order of the mapping or pairs it is given. Keys are strings
    and become the modules' names: ``ModuleDict({'enc': nn.Linear(2, 3)})`` has a parameter ``enc.weight``.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        """Remove every module."""
        self._modules.clear()

    def pop(self, key):
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def keys(self):
        """The keys, in order."""
        return self._modules.keys()

    def items(self):
        """The ``(key, module)`` pairs, in order."""
        return self._modules.items()

    def values(self):
        """The modules, in order."""
        return self._modules.values()

    def update(self, modules):
        """Add (or replace) the modules of a mapping or of an iterable of ``(key, module)`` pairs."""
        for key, module in _pairs(modules, "ModuleDict"):
            self[key] = module


def _as_parameter(value):
    # as in PyTorch, a plain tensor put into a ParameterList or ParameterDict becomes a Parameter
    if isinstance(value, mg.Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _describe(value):
    if isinstance(value, mg.Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        return f"{kind} containing: [microgradnp.{value.dtype} of size {'x'.join(str(n) for n in value.shape)}]"
    return f"Object of type: {type(value).__name__}"


class ParameterList(Module):
    """A list of parameters that are registered (named ``0``, ``1``, ... as in PyTorch's ``state_dict``).

    Tensors put in it become ``Parameter``s; other objects are kept as they are.
    """

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self += values

    def _key(self, idx):
        idx = operator.index(idx)
        if not -len(self) <= idx < len(self):
            raise IndexError(f"ParameterList: index {idx} is out of range for {len(self)} entries")
        return str(idx % len(self))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            out = type(self)()
            for i in range(*idx.indices(len(self))):
                out.append(self[i])
            return out
        return getattr(self, self._key(idx))

    def __setitem__(self, idx, value):
        setattr(self, self._key(idx), _as_parameter(value))

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def __dir__(self):
        return [key for key in super().__dir__() if not key.isdigit()]

    def append(self, value):
        """Add ``value`` at the end; returns self."""
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values):
        """Append every value of the iterable ``values``; returns self."""
        if not isinstance(values, Iterable) or isinstance(values, mg.Tensor):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self):
        """One line per entry: its kind, dtype and size."""
        return "\n".join(f"  ({i}): {_describe(value)}" for i, value in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


class ParameterDict(Module):
    """A dict of parameters that are registered under their keys (``pdict.a`` in ``state_dict``).

    Tensors put in it become ``Parameter``s; other objects are kept as they are. As in PyTorch, a plain
    ``dict`` given to the constructor or ``update`` is added in sorted key order (an ``OrderedDict``, a
    ``ParameterDict`` or a sequence of pairs keeps its order).
    """

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _attr(key):
        if not isinstance(key, str):
            raise TypeError(f"Index given to ParameterDict cannot be used as a key as it is not a string (type is "
                            f"'{type(key).__name__}')")
        return key

    def __getitem__(self, key):
        key = self._attr(key)
        if key not in self._keys:
            raise KeyError(key)
        params = self._parameters
        return params[key] if key in params else getattr(self, key)

    def __setitem__(self, key, value):
        attr = self._attr(key)
        self._keys[key] = None
        setattr(self, attr, _as_parameter(value))

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, self._attr(key))

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def copy(self):
        """A new ParameterDict holding the same parameters, in the same order."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key, default=None):
        """The value of ``key``, first setting it to ``default`` if absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self):
        """Remove every entry."""
        for key in list(self._keys):
            del self[key]

    def pop(self, key):
        """Remove ``key`` and return its value."""
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        """Remove the last entry and return ``(key, value)``."""
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = next(reversed(self._keys))
        return key, self.pop(key)

    def get(self, key, default=None):
        """The value of ``key``, or ``default``."""
        return self[key] if key in self else default

    def fromkeys(self, keys, default=None):
        """A new ParameterDict with ``keys``, each set to ``default``."""
        return ParameterDict((k, default) for k in keys)

    def keys(self):
        """The keys, in order."""
        return self._keys.keys()

    def items(self):
        """The ``(key, value)`` pairs, in order."""
        return ((k, self[k]) for k in self._keys)

    def values(self):
        """The values, in order."""
        return (self[k] for k in self._keys)

    def update(self, parameters):
        """Add (or replace) entries from a mapping or an iterable of ``(key, value)`` pairs."""
        pairs = _pairs(parameters, "ParameterDict")
        if isinstance(parameters, Mapping) and not isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = sorted(pairs)
        for key, value in pairs:
            self[key] = value

    def extra_repr(self):
        """One line per entry: its kind, dtype and size."""
        return "\n".join(f"  ({k}): {_describe(value)}" for k, value in self.items())

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")

    def __or__(self, other):
        copy = self.copy()
        copy.update(other)
        return copy

    def __ror__(self, other):
        copy = other.copy()
        copy.update(self)
        return copy

    def __ior__(self, other):
        self.update(other)
        return self
