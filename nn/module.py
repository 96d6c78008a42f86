"""``Module``: the base class of every layer and model, with PyTorch's registration and traversal rules."""
import threading
import weakref
from collections import OrderedDict, namedtuple

import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import (
    array_of,
    capture_state,
    clear_grads,
    grad_of,
    is_recording,
    note_hooks_changed,
    replayable,
)

from . import hooks as _hooks
from .functional.loss_checks import warn
from .parameter import Parameter


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it could not match (shown as PyTorch shows it when all
    matched)."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

_calls = threading.local()  # stack of (module, scope name) while graph recording is on

# True while some module may hold a hook: Module.__call__ then looks for hooks; while False, every call
# goes straight to forward (one global test), so hooks cost nothing until one is registered
_hooks_live = False
_hooked = weakref.WeakSet()  # the modules that have held a hook since _hooks_live was last recomputed


def _note_hooks(module):
    global _hooks_live
    _hooked.add(module)
    _hooks_live = True
    note_hooks_changed()  # a compiled step that calls this module must now run eagerly to run the hook


def _recount_hooks():
    # after a handle's remove(): calls go straight to forward again once no module holds a hook
    global _hooks_live
    note_hooks_changed()
    for module in list(_hooked):
        if not any(module.__dict__.get(name) for name in _hooks.HOOK_TABLES):
            _hooked.discard(module)
    _hooks_live = bool(_hooked) or capture_state.active is not None


def _capture_started(on):
    # a compiled step's capture begins (on) or ends: while it runs every call takes _call_slow, which notes
    # the module for the capture, so that the eager path pays nothing for it
    global _hooks_live
    _hooks_live = on or bool(_hooked)


capture_state.listeners.append(_capture_started)


class Module:
    """Base class for layers and models.

    Subclasses call ``super().__init__()`` first, assign ``Parameter``s, sub-modules and buffers as
    attributes (they are registered automatically) and define ``forward``. Calling the module runs
    ``forward``.
    """

    training: bool
    _containers_checked = False  # True on an instance once named_parameters looked for unregistered modules

    def __init__(self):
        # object.__setattr__ because our __setattr__ needs these dicts to exist already
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        for name in _hooks.HOOK_TABLES:
            object.__setattr__(self, name, OrderedDict())

    # ---- calling ------------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """Compute the module's output; every subclass defines it."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if _hooks_live or is_recording():
            return self._call_slow(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_slow(self, args, kwargs):
        # a hook exists somewhere, graph recording is on, or a compiled step is being captured (_hooks_live)
        if capture_state.active is not None:  # its train()/eval() flag becomes part of the step's signature
            capture_state.active.note_module(self)
        d = self.__dict__
        if any(d.get(name) for name in _hooks.HOOK_TABLES):
            return _hooks.call_with_hooks(self, args, kwargs, self._forward_call)
        return self._forward_call(args, kwargs)

    def _forward_call(self, args, kwargs):
        if is_recording():
            return self._call_in_scope(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_in_scope(self, args, kwargs):
        # only while recording (a debugging mode): nodes made inside get this module's dotted name as scope
        stack = getattr(_calls, "stack", None)
        if stack is None:
            stack = _calls.stack = []
        name = _scope_name(self, stack)
        stack.append((self, name))
        try:
            with mg.autograd.graph.scope(name):
                return self.forward(*args, **kwargs)
        finally:
            stack.pop()

    # ---- hooks --------------------------------------------------------------------------------------
    def _add_hook(self, table, hook, prepend, flags=()):
        hooks = _hooks.table(self, table)
        extra = [_hooks.table(self, flag) for flag in _hooks.FLAG_TABLES]
        handle = _hooks.RemovableHandle(hooks, extra_dict=extra, on_remove=_recount_hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        for flag in flags:
            _hooks.table(self, flag)[handle.id] = True
        _note_hooks(self)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before each ``forward`` (``hook(module, args, kwargs)`` with
        ``with_kwargs=True``); a value it returns replaces the arguments (a tuple, or a single value
        meaning a 1-tuple; with kwargs, an ``(args, kwargs)`` pair). Returns a ``RemovableHandle``."""
        return self._add_hook(_hooks.FORWARD_PRE, hook, prepend,
                              (_hooks.FORWARD_PRE_WITH_KWARGS,) if with_kwargs else ())

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, args, output)`` after each ``forward`` (``hook(module, args, kwargs, output)``
        with ``with_kwargs=True``); a value it returns replaces the output. With ``always_call=True`` it
        runs even when forward raises. Returns a ``RemovableHandle``."""
        flags = ((_hooks.FORWARD_WITH_KWARGS,) if with_kwargs else ()) + \
            ((_hooks.FORWARD_ALWAYS_CALLED,) if always_call else ())
        return self._add_hook(_hooks.FORWARD, hook, prepend, flags)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` once per backward pass through this module's call.

        ``grad_input`` has one entry per positional argument (None for a non-tensor or one that needs no
        gradient), ``grad_output`` one per output tensor; a tuple it returns replaces ``grad_input``.
        Returns a ``RemovableHandle``.
        """
        return self._add_hook(_hooks.BACKWARD, hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients of this module's outputs are known, before
        those of its inputs; a tuple it returns replaces ``grad_output``. Returns a ``RemovableHandle``."""
        return self._add_hook(_hooks.BACKWARD_PRE, hook, prepend)

    def __setstate__(self, state):
        # copy.deepcopy and pickle: a copy of a hooked module has the hooks too, so calls must look for them
        self.__dict__.update(state)
        if any(state.get(name) for name in _hooks.HOOK_TABLES):
            _note_hooks(self)

    # ---- registration -------------------------------------------------------------------------------
    def __setattr__(self, name, value):
        # parameters and sub-modules are registered by type; assigning None to a registered name clears it
        for registry, kind, cls, requirement in _TYPED_REGISTRIES:
            table = self.__dict__.get(registry)
            if isinstance(value, cls):
                if table is None:
                    raise AttributeError(f"cannot assign {kind} {name!r} before Module.__init__() call "
                                         f"(call super().__init__() first in {type(self).__name__}.__init__)")
                self._forget(name, keep=table)
                table[name] = value
                return
            if table is not None and name in table:
                if value is not None:
                    raise TypeError(f"cannot assign {type(value).__name__} as {kind} {name!r} of "
                                    f"{type(self).__name__} ({requirement})")
                table[name] = None
                return
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, mg.Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} of "
                                f"{type(self).__name__} (a Tensor or None is required)")
            buffers[name] = value
            return
        object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        # a name lives in exactly one place: plain attribute, parameter, buffer or sub-module; the registry
        # it is about to be stored in again keeps it, so that it keeps its place in the order (as in PyTorch)
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name):
        # only reached when normal lookup fails: parameters, buffers and sub-modules live in registries
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            table = d.get(registry)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name, param):
        """Register ``param`` (a ``Parameter`` or None) under ``name``."""
        _check_name(self, name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or None, "
                            f"got {type(param).__name__}")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register a tensor that is state but not a parameter (e.g. BatchNorm's running mean).

        Persistent buffers are saved in ``state_dict``; ``tensor`` may be None (then it is skipped).
        """
        _check_name(self, name, "buffer")
        if tensor is not None and not isinstance(tensor, mg.Tensor):
            tensor = mg.tensor(np.asarray(tensor))
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Register ``module`` (a ``Module`` or None) as a child under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        _check_name(self, name, "module")
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The sub-module at dotted path ``target`` (``''`` is this module)."""
        module = self
        for part in target.split(".") if target else ():
            if not hasattr(module, part):
                raise AttributeError(f"{module._get_name()} has no attribute `{part}` (looking up {target!r})")
            module = getattr(module, part)
            if not isinstance(module, Module):
                raise AttributeError(f"`{part}` is not an nn.Module (looking up {target!r})")
        return module

    def get_parameter(self, target):
        """The parameter at dotted path ``target`` (``'encoder.0.weight'``)."""
        return self._get_member(target, "_parameters", "an nn.Parameter")

    def get_buffer(self, target):
        """The buffer at dotted path ``target`` (``'bn.running_mean'``)."""
        return self._get_member(target, "_buffers", "a buffer")

    def _get_member(self, target, registry, what):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}` (looking up {target!r})")
        if name not in getattr(module, registry):
            raise AttributeError(f"`{name}` is not {what} (looking up {target!r})")
        return getattr(module, registry)[name]

    # ---- traversal ----------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield ``(dotted_name, module)`` for this module and every descendant, each once."""
        if memo is None:
            memo = set()
        if remove_duplicate:  # PyTorch's memo is a set of modules (a Module hashes by identity)
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        """Yield this module and every descendant."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """Yield ``(name, module)`` for the direct children."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        """Yield the direct children."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(dotted_name, parameter)`` as PyTorch names them (``0.weight``, ``encoder.fc.bias``).

        The first call on a module also warns (``MisuseWarning``, once) about modules and parameters kept in
        plain lists, tuples or dicts, which are not registered and so are missing here.
        """
        if not self._containers_checked:  # one attribute test on later calls (model.zero_grad() every step)
            _warn_if_unregistered(self)
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Yield every parameter (shared ones once)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(dotted_name, buffer)``."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """Yield every buffer."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ---- modes and gradients ------------------------------------------------------------------------
    def train(self, mode=True):
        """Put this module and its descendants in training mode (``mode=False``: evaluation); returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: Dropout passes inputs through, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Switch ``requires_grad`` of every parameter (e.g. to freeze a layer); returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient (to None by default, or to zeros in place); inside a compiled step
        (``mg.compile``) at every replay, as ``optimizer.zero_grad()``."""
        if capture_state.active is not None:  # inside a compiled step's capture: recorded as one replay step
            replayable(self._clear_grads, set_to_none)
        else:
            self._clear_grads(set_to_none)

    def _clear_grads(self, set_to_none):
        # the clearing itself: called eagerly, or by a compiled step's replay
        if set_to_none:
            clear_grads(list(self.parameters()))
            return
        for param in self.parameters():
            grad = grad_of(param)
            if grad is not None:
                array_of(grad)[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant, then on this module (e.g. custom init); returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- device and dtype ---------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """Cast floating parameters and buffers to a floating dtype, in place (parameters stay the same objects).

        Takes PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` (its dtype)
        and the keywords ``device``, ``dtype``, ``non_blocking``, ``memory_format``. microgradnp computes on
        the CPU with NumPy: the device ``'cpu'`` (or an object whose ``str()`` is ``'cpu'``) is accepted and
        changes nothing; any other device is an error.
        """
        _, dtype, _ = mg.devices.to_arguments(args, kwargs, f"{type(self).__name__}.to")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        return self._cast(dtype, floating_only=True)

    def _cast(self, dtype, floating_only):
        # parameters and buffers change dtype in place, so optimizers and references keep seeing them
        for t in list(self.parameters()) + list(self.buffers()):
            if (np.issubdtype(t.dtype, np.floating) or not floating_only) and t.dtype != dtype:
                t.data = t.numpy().astype(dtype)
                if t.grad is not None:
                    t.grad.data = t.grad.numpy().astype(dtype)
        return self

    def cpu(self):
        """The module itself: it is already on the CPU."""
        return self

    def cuda(self, device=None):
        """Raises: microgradnp computes with NumPy on the CPU."""
        mg.devices.check_device("cuda" if device is None else device, f"{type(self).__name__}.cuda")

    def float(self):
        """Cast floating parameters and buffers to float32."""
        return self._cast(np.dtype(mg.float32), floating_only=True)

    def double(self):
        """Cast floating parameters and buffers to float64."""
        return self._cast(np.dtype(mg.float64), floating_only=True)

    def half(self):
        """Cast floating parameters and buffers to float16."""
        return self._cast(np.dtype(mg.float16), floating_only=True)

    def type(self, dst_type):
        """Cast every parameter and buffer (integer ones too, as in PyTorch) to ``dst_type``."""
        return self._cast(np.dtype(dst_type), floating_only=False)

    # ---- state --------------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer by dotted name.

        Values are tensors sharing memory with the module (detached unless ``keep_vars``); save them with
        ``mg.save``.
        """
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _state_entries(self):
        # name -> the tensor in this module tree that a state_dict key is loaded into
        entries = OrderedDict()
        for prefix, module in self.named_modules(remove_duplicate=False):
            dot = prefix + "." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    entries[dot + name] = param
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent_buffers:
                    entries[dot + name] = buf
        return entries

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        Nothing is changed unless every value fits: a wrong shape always raises, and with ``strict`` (the
        default) so do missing and unexpected keys; the message lists all of them. Returns the
        ``(missing_keys, unexpected_keys)`` named tuple.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a dict of tensors, got {type(state_dict).__name__}")
        entries = self._state_entries()
        missing = [k for k in entries if k not in state_dict]
        unexpected = [k for k in state_dict if k not in entries]
        mismatched = []
        values = {}
        for key, target in entries.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value.numpy() if isinstance(value, mg.Tensor) else np.asarray(value)
            if array.shape != target.shape and not getattr(target, "_uninitialized", False):
                mismatched.append(f"size mismatch for {key}: copying a param with shape {tuple(array.shape)} from "
                                  f"checkpoint, the shape in current model is {tuple(target.shape)}.")
            else:
                values[key] = array
        errors = []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        errors.extend(mismatched)
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors)
                               + "\n(compare the checkpoint's keys with model.state_dict().keys(); "
                                 "strict=False skips missing and unexpected keys)")
        with mg.no_grad():
            for key, array in values.items():
                if getattr(entries[key], "_uninitialized", False):  # a lazy layer's: takes the checkpoint's shape
                    entries[key].materialize(array.shape)
                # item assignment writes into the existing array and bumps the tensor's version
                entries[key][...] = array.astype(entries[key].dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ---- printing -----------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in ``repr`` (its settings); subclasses override it."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, module in self._modules.items():
            child = _indent(repr(module), 2)
            lines.append(f"({name}): {child}")
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _indent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _check_name(module, name, what):
    if "_parameters" not in module.__dict__:
        raise AttributeError(f"cannot register {what} {name!r} before Module.__init__() call "
                             f"(call super().__init__() first in {type(module).__name__}.__init__)")
    if not isinstance(name, str):
        raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{what} name {name!r} must be a non-empty string without '.'")
    if name in module.__dict__ or hasattr(type(module), name):
        raise KeyError(f"attribute {name!r} already exists in {type(module).__name__}")


# the registries themselves are dicts in the instance's __dict__: not user containers
_REGISTRY_NAMES = frozenset({"_parameters", "_buffers", "_modules", "_non_persistent_buffers",
                             *_hooks.HOOK_TABLES, *_hooks.FLAG_TABLES})


def _warn_if_unregistered(root):
    """Warn about each plain list, tuple or dict attribute in ``root``'s tree that holds modules or parameters
    registered nowhere in the tree (``self.layers = [nn.Linear(2, 3), ...]``): ``parameters()`` misses them,
    so they never train, and ``to()``, ``train()`` and ``state_dict()`` skip them.

    Each module is looked at once (a flag on it is then set), so each warns once; containers are looked
    into one level deep. Not flagged: modules without parameters or buffers (a dict of activations to pick
    from), and frozen ones (parameters, none requiring grad), kept out of the tree on purpose, such as a
    teacher model.
    """
    suspects = []
    for prefix, module in root.named_modules():
        attributes = module.__dict__
        if attributes.get("_containers_checked"):
            continue
        for name, value in attributes.items():
            if isinstance(value, (list, tuple, dict)) and name not in _REGISTRY_NAMES:
                held = [item for item in (value.values() if isinstance(value, dict) else value)
                        if isinstance(item, (Module, Parameter))]
                if held:
                    suspects.append((prefix, module, name, type(value).__name__, held))
        object.__setattr__(module, "_containers_checked", True)
    if not suspects:
        return
    registered_modules = {id(m) for m in root.modules()}
    registered = {id(p) for _, p in root._named_members("_parameters", "", True)}
    owner = type(root).__name__
    for prefix, module, name, kind, held in suspects:
        where = f"{type(module).__name__}.{name}" + (f" (in {owner}'s sub-module {prefix!r})" if prefix else "")
        modules = [m for m in held if isinstance(m, Module) and id(m) not in registered_modules]
        missed = {id(p): p for m in modules for _, p in m._named_members("_parameters", "", True)
                  if id(p) not in registered}
        stateful = any(True for m in modules for _ in m._named_members("_buffers", "", True))
        if (missed or stateful) and not (missed and not any(p.requires_grad for p in missed.values())):
            if missed:
                lost = (f"{owner}.parameters() misses {_count(len(missed), 'parameter tensor')} "
                        f"({sum(p.numel() for p in missed.values())} values), so the model has fewer parameters "
                        f"than it seems and an optimizer built from its parameters() never trains them; .to(), "
                        f".train()/.eval() and state_dict() skip them too")
            else:
                lost = ".train()/.eval(), .to() and state_dict() skip them (model.eval() leaves them training)"
            fix = (f"self.{name} = nn.ModuleList([...])" if kind != "dict" else
                   f"self.{name} = nn.ModuleDict({{...}}) (or self.add_module(key, module) for each entry)")
            warn(f"{where} is a plain Python {kind}, so the {_count(len(modules), 'module')} in it "
                 f"({_kinds(modules)}) {_are(modules)} not registered: {lost}. Use {fix}.")
        params = [p for p in held if isinstance(p, Parameter) and id(p) not in registered]
        if params:
            warn(f"{where} is a plain Python {kind}, so the {_count(len(params), 'nn.Parameter')} in it "
                 f"({sum(p.numel() for p in params)} values) {_are(params)} not registered: {owner}.parameters() "
                 f"misses {'it' if len(params) == 1 else 'them'}, so an optimizer built from it never trains "
                 f"{'it' if len(params) == 1 else 'them'}, and .to() and state_dict() skip "
                 f"{'it' if len(params) == 1 else 'them'}. Use self.{name} = "
                 f"{'nn.ParameterDict({...})' if kind == 'dict' else 'nn.ParameterList([...])'}, or register each "
                 f"one: assign it as an attribute (self.w0 = nn.Parameter(...)) or call "
                 f"self.register_parameter(name, p).")


def _kinds(modules):
    counts = {}
    for m in modules:
        counts[type(m).__name__] = counts.get(type(m).__name__, 0) + 1
    return ", ".join(name if n == 1 else f"{n} {name}" for name, n in counts.items())


def _are(items):
    return "is" if len(items) == 1 else "are"


def _count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _scope_name(module, stack):
    """The dotted name of ``module`` in the model being called: the root gets its class name, the rest
    the names ``named_modules`` gives them (``encoder``, ``encoder.0``)."""
    if not stack:
        return type(module).__name__
    parent, parent_name = stack[-1]
    dot = "" if len(stack) == 1 else parent_name + "."
    for name, child in parent._modules.items():
        if child is module:
            return dot + name
    # called from deeper down, or not registered at all: search the caller's tree, else use the class name
    for name, child in parent.named_modules():
        if child is module and name:
            return dot + name
    return type(module).__name__


# (registry, what errors call it, the type registered there, what errors ask for), read by __setattr__
_TYPED_REGISTRIES = (
    ("_parameters", "parameter", Parameter, "a Parameter or None is required; wrap it: nn.Parameter(value)"),
    ("_modules", "module", Module, "a Module or None is required"),
)
