"""``mg.compile(check=N)``: a replay side by side with an eager step from the same state, and, when they
differ, the first replay step whose output differs (a traced copy of the replay against a second capture
that keeps every slot)."""
import copy
import re

import numpy as np

from .capture_tape import _bits_equal, _describe, _name, _pair_asarray, _Tape, compile_source
from .random import get_generator
from .tensor import Tensor


def _result_leaves(value, path="result"):
    """What a step returned, flattened (as ``_Results`` walks it): (path, each Tensor's array or other value)."""
    if isinstance(value, Tensor):
        return [(path, value._array)]
    if isinstance(value, (tuple, list)):
        return [leaf for i, item in enumerate(value) for leaf in _result_leaves(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [leaf for k, item in value.items() for leaf in _result_leaves(item, f"{path}[{k!r}]")]
    return [(path, value)]


def _same_leaf(a, b):
    """Two values a checked replay compares: arrays equal bit for bit, other values equal."""
    if type(a) is np.ndarray or type(b) is np.ndarray:
        return type(a) is type(b) and _bits_equal(a, b)
    return type(a) is type(b) and a == b


class _Snapshot:
    """The state a step changes (arrays, optimizers' state and settings, schedulers, leaves' gradients, the
    random generator), saved to be restored: a checked replay and its eager twin start from the same one."""

    def __init__(self, arrays, optimizers, leaves, schedulers=()):
        self.arrays = [(a, a.copy()) for a in arrays]
        self.optimizers = [(o, _copy_state(o.state)) for o in optimizers]
        self.settings = [(group, {k: v for k, v in group.items() if k != "params"})
                         for o in optimizers for group in o.param_groups]
        self.schedulers = [(s, copy.deepcopy(s.state_dict())) for s in schedulers]
        self.grads = [(leaf, leaf._grad, None if leaf._grad is None else leaf._grad._array.copy()) for leaf in leaves]
        self.rng = _global_rng().bit_generator.state

    def restore(self):
        for a, saved in self.arrays:
            a[...] = saved
        for o, saved in self.optimizers:
            _restore_state(o.state, saved)
        for group, saved in self.settings:
            group.update(saved)
        for scheduler, saved in self.schedulers:
            scheduler.load_state_dict(copy.deepcopy(saved))
        for leaf, grad, saved in self.grads:
            leaf._grad = grad
            if grad is not None and grad._array.shape == saved.shape:  # (a step may accumulate into it)
                grad._array[...] = saved
        _global_rng().bit_generator.state = self.rng


def _outcome(arrays, optimizers, leaves, result, copy):
    """What a step left, as [(key, value)] in a fixed order, for ``_first_difference``: the state arrays,
    the leaves' gradients, the optimizers' state and the result's leaves (copies if ``copy``)."""
    take = (lambda v: v.copy() if type(v) is np.ndarray else v) if copy else (lambda v: v)
    items = [(("state", i), take(a)) for i, a in enumerate(arrays)]
    items += [(("grad", i), None if leaf._grad is None else take(leaf._grad._array)) for i, leaf in enumerate(leaves)]
    items += [(("optimizer", o, p, k), take(v)) for o in optimizers for p, s in o.state.items() for k, v in s.items()]
    items += [(("result", path), take(v)) for path, v in _result_leaves(result)]
    return items


def _first_difference(got, want):
    """The first (key, replay's value, eager's value) that differs between two ``_outcome``s, or None."""
    for (key, a), (other, b) in zip(got, want):
        if not _same_key(key, other) or not _same_leaf(a, b):
            return key, a, b
    if len(got) != len(want):
        key = (got if len(got) > len(want) else want)[min(len(got), len(want))][0]
        return key, "present" if len(got) > len(want) else "absent", "absent" if len(got) > len(want) else "present"
    return None


def _same_key(a, b):
    # (by identity for the optimizers and parameters in a key: a Tensor's == is elementwise)
    return len(a) == len(b) and all(x is y or type(x) in (str, int) and type(x) is type(y) and x == y
                                    for x, y in zip(a, b))


def _describe_item(key, state, modules):
    """What a key of ``_outcome`` names, for a message: "parameter '0.weight'"."""
    arrays, _, leaves = state
    names = _state_names(modules)
    kind = key[0]
    if kind == "state":
        return names.get(id(arrays[key[1]]), f"the state array #{key[1]}")
    if kind == "grad":
        return f"the .grad of {names.get(id(leaves[key[1]]._array), f'leaf #{key[1]}')}"
    if kind == "optimizer":
        _, optimizer, param, name = key
        return f"{type(optimizer).__name__}'s state {name!r} of {names.get(id(param._array), 'a parameter')}"
    return f"the result at {key[1]}"


def _state_names(modules):
    """id(array) -> "parameter '0.weight'" or "buffer 'running_mean'", the longest dotted name any module
    the step called gives its parameters and buffers (the outermost module's)."""
    names = {}
    for module in modules:
        for kind, named in (("parameter", module.named_parameters()), ("buffer", module.named_buffers())):
            for name, tensor in named:
                if len(name) >= len(names.get(id(tensor._array), (None, ""))[1]):
                    names[id(tensor._array)] = (kind, name)
    return {k: f"{kind} {name!r}" for k, (kind, name) in names.items()}


def _describe_difference(got, want):
    """How two values differ: shapes, dtypes, or how many elements and by how much at most."""
    if type(got) is not np.ndarray or type(want) is not np.ndarray:
        return f"the replay gave {_short(got)}, eager {_short(want)}"
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"the replay gave {_describe(got)}, eager {_describe(want)}"
    flat_got, flat_want = got.reshape(-1), want.reshape(-1)
    differ = (_bytes_per_element(flat_got) != _bytes_per_element(flat_want)).any(axis=1)
    text = f"{int(differ.sum())} of {got.size} elements differ"
    if got.dtype.kind in "iufc":
        with np.errstate(all="ignore"):
            gap = np.abs(flat_got[differ].astype(np.complex128 if got.dtype.kind == "c" else np.float64)
                         - flat_want[differ]).max()
        text += f", by up to {gap:.3g}"
    return f"{text} ({_describe(got)})"


def _bytes_per_element(flat):
    return np.ascontiguousarray(flat).view(np.uint8).reshape(flat.size, flat.dtype.itemsize)


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _TracingTape(_Tape):
    """A capture that also keeps a copy of each slot's value when it is made, with its step's label: the
    eager side of check's search for the first differing step. Nothing is built from it."""

    def __init__(self, input_arrays, args=()):
        super().__init__(input_arrays, args)
        self.values = {}  # slot name -> (label, a copy of its value)

    def new_slot(self, value):
        name = super().new_slot(value)
        self.values[name] = (self.labels.get(len(self.lines), ""), value.copy())
        return name


def _traced_values(replay, arrays, args):
    """Run a copy of ``replay``'s source that keeps a copy of every slot it assigns: {slot name: array}."""
    assigned = {line_number: [t for t in targets if t.startswith("s")] for line_number, targets, _, _ in replay.steps}
    lines = []
    for number, line in enumerate(replay.source.split("\n"), 1):
        lines.append(line)
        names = assigned.get(number)
        if names:
            lines.append(f"    __trace__(({', '.join(map(repr, names))},), ({', '.join(names)},))")
    lines[0] = lines[0].replace("def replay(", "def traced_replay(", 1)
    values = {}
    scope = replay.__globals__  # (the replay's own globals: a parameter read again lands there)
    scope["__trace__"] = lambda names, found: values.update(
        (n, a.copy()) for n, a in zip(names, found) if type(a) is np.ndarray)
    try:
        exec(compile_source("\n".join(lines)), scope)
        scope["traced_replay"](*arrays, args)
    finally:
        scope.pop("__trace__", None)
        scope.pop("traced_replay", None)
    return values


def _called_function(expr, scope):
    """The name of the function a replay line calls (inside the asarray wrappers), or None."""
    for name in re.findall(r"\b(c\d+)\(", expr):
        fn = scope.get(name)
        if fn is not np.asarray and fn is not _pair_asarray:
            return _name(fn)
    return None



def _global_rng():
    return get_generator(None)


def _copy_state(state):
    return {k: {n: (v.copy() if isinstance(v, np.ndarray) else v) for n, v in s.items()} for k, s in state.items()}


def _restore_state(state, saved):
    for k in list(state):
        if k not in saved:
            del state[k]
    for k, s in saved.items():
        cur = state.setdefault(k, {})
        for n, v in s.items():
            if isinstance(v, np.ndarray) and isinstance(cur.get(n), np.ndarray) and cur[n].shape == v.shape:
                cur[n][...] = v
            else:
                cur[n] = v
