"""PyTorch's public names, read from ``torch_names.json`` (never from torch): the errors for missing ones.

An attribute that microgradnp lacks but PyTorch has raises an ``AttributeError`` that says so
(``module 'microgradnp' has no attribute 'stft': torch.stft has no microgradnp counterpart yet``); any
other missing attribute keeps Python's plain message. ``tests/generate_torch_names.py`` writes the file.
"""
import json
import os

_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_names.json")

# microgradnp's namespaces and the PyTorch namespace each stands for
TORCH_NAMESPACE = {
    "microgradnp": "torch",
    "Tensor": "torch.Tensor",
    "microgradnp.nn": "torch.nn",
    "microgradnp.nn.functional": "torch.nn.functional",
    "microgradnp.nn.utils": "torch.nn.utils",
    "microgradnp.nn.optim": "torch.optim",
    "microgradnp.optim": "torch.optim",
}

_names = {}  # torch namespace -> frozenset of its public names, read on the first missing attribute


def torch_names(namespace):
    """The public names of the PyTorch namespace ``namespace`` (``"torch.nn"``...), as a frozenset."""
    if not _names:
        with open(_FILE, encoding="utf-8") as file:
            for key, names in json.load(file)["names"].items():
                _names[key] = frozenset(names)
    return _names.get(namespace, frozenset())


def missing_attribute(owner, name):
    """The ``AttributeError`` for attribute ``name`` missing from ``owner``, to raise.

    ``owner`` is a module's name (``"microgradnp"``, ``"microgradnp.nn.functional"``...) or
    ``"Tensor"``. Where PyTorch's counterpart of ``owner`` has ``name``, the message says that
    microgradnp has no counterpart yet; otherwise it is Python's own.
    """
    plain = (f"'Tensor' object has no attribute {name!r}" if owner == "Tensor"
             else f"module {owner!r} has no attribute {name!r}")
    namespace = TORCH_NAMESPACE.get(owner)
    if namespace is not None and not name.startswith("_") and name in torch_names(namespace):
        return AttributeError(f"{plain}: {namespace}.{name} has no microgradnp counterpart yet", name=name)
    return AttributeError(plain, name=name)


class TorchOnly:
    """A class attribute for a ``torch.Tensor`` name that Tensor lacks: reading it raises
    ``missing_attribute("Tensor", name)``, so ``hasattr`` stays False.

    Tensor gets these instead of a ``__getattr__``: a class with ``__getattr__`` makes every attribute
    read on its instances slower, found or not.
    """

    __slots__ = ("name",)
    torch_only = True  # what Tensor.__dir__ leaves out

    def __init__(self, name):
        self.name = name

    def __get__(self, instance, owner=None):
        raise missing_attribute("Tensor", self.name)

    def __repr__(self):
        return f"<torch.Tensor.{self.name}: no microgradnp counterpart yet>"
