"""Containers: ``Sequential`` chains modules, ``ModuleList`` holds them for a custom ``forward``."""
import operator
from collections import OrderedDict

from microgradnp.autograd.graph import is_recording

from .module import Module


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
        # unless recording (where each module's call names its scope), Module.__call__ only calls forward:
        # calling it directly skips packing the arguments into a tuple and unpacking them again for every
        # module, pure call overhead on a small network (a module that defines its own __call__ still gets it)
        direct = not is_recording()
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
