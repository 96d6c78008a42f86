"""``mg.compile``: capture one eager training step, replay it without Tensors or Nodes.

- **Capture** (the first call for a signature): the step runs eagerly, with three taps.
  Forward: the apply paths (``apply``, ``apply1..3``) test ``capture.capture_state.active`` once per op
  and hand each forward call to ``_Tape.record_op``; ``out=`` writes record their copy.
  Backward: a ``engine.backward_listeners`` entry runs, before the real pass, a copy of
  ``hot_path.run``'s traversal (same order, same sums) that calls the same VJPs and records them.
  Library NumPy: ``graph.replayable(fn, *args)`` (optimizer step and zero_grad, LeakyReLU's slopes,
  dropout's masks, gradient clipping) records ``fn`` itself as one step.
- **Tape to code**: the recorded calls become one straight-line Python function (``exec``), every
  array a local variable, every function and constant a global of that function; steps whose results
  nothing uses are dropped. The arrays of the parameters and buffers the step read are read again from
  their Tensors when some Tensor's array was replaced since the last replay (``p.data = ...`` between
  calls is seen; a global count, ``tensor.arrays_replaced``, tells).
- **Replay**: the later calls of that signature call the generated function on the inputs' arrays.
  The same functions run on the same values in the same order, so the results equal eager bit for bit.
  The function's last lines build what the step returned (``_Results``: a structure of fresh graph-free
  Tensors, state Tensors and constants).
- ``check=N``: the first N replays run side by side with eager (state snapshotted and restored) and
  raise on any bit of difference; the error names what differed and the first replay step whose output
  differs (a traced copy of the replay against a second capture that keeps every slot).
- **Threads**: ``capture_state.active`` is global; the tape records its own thread's calls only, and
  one capture runs at a time (``_capture_lock``).
- **Hooks**: a replay runs none; while a hook or backward listener is live on what the captures use, a
  call runs the step eagerly (``CompiledStep.hooks_live``; a global count of hook registrations,
  ``capture.hooks_changed``, makes that one integer test per call).

- **Buffers**: ufunc steps and the steps with an ``out=`` variant write their results into arrays the
  replay owns, shared between results whose lifetimes do not overlap (``replay_buffers``).

The user's guide: ``docs/guide/compiling-a-step.md``.
"""
import collections
import threading
import warnings

import numpy as np

from .autograd import engine
from .autograd.engine import backward_listeners
from .autograd.graph import hooks_changed, set_capture
from .capture_tape import CompileError, _name, _Stale, _Tape, compile_source
from .grad_mode import _state as _grad_state
from .replay_check import (
    _bits_equal,
    _called_function,
    _describe_difference,
    _describe_item,
    _first_difference,
    _outcome,
    _Snapshot,
    _traced_values,
    _TracingTape,
)
from .step_results import _Results
from .tensor import Tensor

__all__ = ["compile", "CompileError", "CompiledStep"]

# the hook tables of a module, by PyTorch's attribute names (the engine reads modules duck-typed)
_MODULE_HOOK_TABLES = ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks", "_backward_pre_hooks")

_capture_lock = threading.RLock()  # one capture at a time: ``capture_state.active`` is one slot for all threads


class CompiledStep:
    """What ``mg.compile(step_fn)`` returns: ``step_fn`` with a cache of captured replays, one per signature.

    Call it as ``step_fn``. ``step_fn`` is the function it compiles (call it for an eager step, to debug);
    ``captures`` counts the captures so far (each runs ``step_fn`` eagerly); ``checked`` counts the
    replays run side by side with eager (``check``); ``eager_calls`` counts the calls run eagerly because
    hooks a replay would skip were live (``hooks_live``).
    """

    def __init__(self, step_fn, check=0, cache_size=8, buffers=True):
        self.buffers = buffers
        self.step_fn = step_fn
        self.check = check
        self.cache_size = cache_size
        self.cache = collections.OrderedDict()
        self.captures = 0
        self.checked = 0
        self.guarded = []  # the modules whose training flags are part of the signature
        self.evictions = 0
        self.eager_calls = 0
        self.hooks_seen = hooks_changed[0]  # the hook count when no hook was found last
        self.last = None  # (guard, key, entry) of the replay run last: tried first, without building a key

    def __call__(self, *args):
        """One step: a replay when this signature was captured before, else a capture (an eager step)."""
        if hooks_changed[0] != self.hooks_seen or backward_listeners:  # (rare) a replay runs no hooks
            if self.hooks_live():
                return self.step_fn(*args)
        last = self.last
        if last is not None and self.checked >= self.check:
            arrays = last[0](args)  # the signature of the last replay, tested without building a key
            if arrays is not None:
                try:
                    return last[2][0](*arrays, args)
                except _Stale:
                    self.last = None
                    del self.cache[last[1]]
                    return self.capture(last[1], args)
        # the signature and the input arrays in one pass
        key = [_grad_state.enabled]
        arrays = []
        for a in args:
            if type(a) is Tensor or isinstance(a, Tensor):
                data = a._array
                arrays.append(data)
                key.append((data.shape, data.dtype, a.requires_grad))
            else:
                key.append((type(a), a))
        if self.guarded:  # the train()/eval() flags of the modules the captured steps called
            key.append(tuple([m.training for m in self.guarded]))
        key = tuple(key)
        try:
            entry = self.cache.get(key)
        except TypeError:  # an argument that is no Tensor and cannot be part of a signature
            raise _unhashable_argument(args) from None
        if entry is None:
            return self.capture(key, args)
        self.cache.move_to_end(key)  # least recently used first out
        self.last = (entry[6], key, entry)
        try:
            if self.checked < self.check:
                result = self.checked_replay(entry, args, arrays)
                self.checked += 1
                return result
            out = entry[0](*arrays, args)
        except _Stale:  # a parameter now holds an array of another shape or dtype (raised before any step)
            self.last = None
            del self.cache[key]
            return self.capture(key, args)
        return out  # (the replay built the step's result: ``_Results``)

    def capture(self, key, args):
        """Run ``step_fn(*args)`` eagerly while recording it, and keep the replay under ``key``."""
        arrays = [a._array for a in args if isinstance(a, Tensor)]
        modes = tuple([m.training for m in self.guarded])
        tape = _Tape(arrays, args)
        result = _run_recorded(tape, self.step_fn, args)
        known = {id(m) for m in self.guarded}
        new_modules = [m for k, m in tape.modules.items() if k not in known]
        if new_modules:  # a longer signature: the entries cached so far are keyed without these flags
            self.guarded.extend(new_modules)
            self.cache.clear()
            key = key[:-1] if modes else key
            key = key + (modes + tuple([m.training for m in new_modules]),)
        tape.verify_backward()
        replay, steps = tape.build(_Results(tape, args, result), self.buffers)
        self.buffer_bytes = tape.buffer_bytes
        reread = {name for _, name in tape.reread}
        state = [v for k, v in tape.consts.items() if isinstance(v, np.ndarray) and v.flags.writeable
                 and k not in reread and id(v) not in tape.buffer_ids]
        optimizers = [getattr(v, "__self__", None) for v in tape.consts.values()]
        optimizers = [o for o in optimizers if hasattr(o, "param_groups")]
        leaves = [v for v in tape.consts.values() if isinstance(v, Tensor)]
        # a learning-rate scheduler stepped inside the step (PyTorch's schedulers have last_epoch and a
        # state dict): a checked replay restores it before its eager twin steps it again
        schedulers = [v for v in tape.consts.values() if hasattr(v, "last_epoch") and hasattr(v, "load_state_dict")]
        entry = (replay, state, optimizers, leaves, steps, [t for t, _ in tape.reread],
                 _signature_guard(key, args, self.guarded), schedulers)
        self.cache[key] = entry
        self.last = (entry[6], key, entry)
        self.captures += 1
        self.hooks_seen = -1  # the next call looks for hooks on the modules this capture found
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
            self.evictions += 1
            if self.evictions == 1:
                warnings.warn(
                    f"mg.compile: {self.captures} captures of {_name(self.step_fn)} for new signatures, and its cache "
                    f"(cache_size={self.cache_size}) now evicts replays: each capture costs about 3 eager steps. "
                    f"Keep the inputs' shapes and dtypes fixed (drop or pad a short last batch), raise cache_size, "
                    f"or run the step eagerly.", UserWarning, stacklevel=3)
        return result

    def hooks_live(self):
        """True (and counted in ``eager_calls``) when a replay would skip something that must run: a
        backward listener (``mg.viz.Monitor``'s) or a hook on a module the captured steps call or on a tensor
        they give a gradient. Called when hooks were registered or removed since the last look, or while
        a backward listener is installed (another thread's capture has one: not a reason to run eagerly);
        finding none, it notes the count, and calls replay again."""
        live = any(not isinstance(getattr(listener, "__self__", None), _Tape) for listener in backward_listeners)
        live = live or any(getattr(module, table, None) for module in self.guarded for table in _MODULE_HOOK_TABLES)
        live = live or any(leaf._hooks for entry in self.cache.values() for leaf in entry[3])
        if live:
            self.eager_calls += 1
        else:
            self.hooks_seen = hooks_changed[0]
        return live

    def checked_replay(self, entry, args, arrays):
        """A replay, then the same step run eagerly from the same state; raises if any bit differs, naming
        what differed and the first replay step whose output differs (``difference_error``)."""
        replay, state, optimizers, leaves, _, tensors, _, schedulers = entry
        state = state + [t._array for t in tensors]  # (the parameters' arrays now)
        leaves = leaves + [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        start = _Snapshot(state, optimizers, leaves, schedulers)
        got = _outcome(state, optimizers, leaves, replay(*arrays, args), copy=True)
        start.restore()  # (the random generator too: eager draws the dropout masks the replay drew)
        expected = self.step_fn(*args)
        difference = _first_difference(got, _outcome(state, optimizers, leaves, expected, copy=False))
        if difference is not None:
            raise self.difference_error(difference, replay, args, arrays, start, (state, optimizers, leaves))
        return expected

    def difference_error(self, difference, replay, args, arrays, start, state):
        """The CompileError of a checked replay that differs from eager: what differed (a parameter, a
        gradient, an optimizer's state, the result), how, and the first replay step whose output differs
        (``first_differing_step``). The eager step's results are kept."""
        key, got, want = difference
        what = _describe_item(key, state, self.guarded)
        message = f"mg.compile(check=...): the replay differs from eager in {what}: {_describe_difference(got, want)}."
        end = _Snapshot(*state)
        try:
            step = self.first_differing_step(replay, args, arrays, start)
        finally:
            end.restore()
        if step is None:
            step = ("No replay step's output differs from eager's: the difference comes from a step that writes "
                    "in place (an optimizer's update, a gradient accumulated into .grad, an out= write).")
        error = CompileError(f"{message} {step}")
        error.source = getattr(replay, "source", None)  # the replay's code, whose lines the message cites
        return error

    def first_differing_step(self, replay, args, arrays, start):
        """Run from ``start`` a traced copy of the replay that keeps every slot it assigns, then the step
        eagerly under a capture that keeps every slot it records (the same names, in the same order), and
        describe the first replay step whose output differs, or None."""
        steps = getattr(replay, "steps", None)
        if steps is None:
            return None
        start.restore()
        traced = _traced_values(replay, arrays, args)
        start.restore()
        tape = _TracingTape(arrays, args)
        try:
            _run_recorded(tape, self.step_fn, args)
        except CompileError:
            return None
        for line_number, targets, expr, label in steps:
            for name in targets:
                if name not in traced or name not in tape.values:
                    continue
                eager_label, eager_value = tape.values[name]
                if eager_label != label:  # the eager run took another path: its slots do not line up
                    return None
                if not _bits_equal(traced[name], eager_value):
                    function = _called_function(expr, replay.__globals__)
                    statement = f"{', '.join(targets)} = {expr}"
                    statement = statement if len(statement) <= 100 else statement[:97] + "..."
                    return (f"The first replay step whose output differs is line {line_number} of the replay's "
                            f"source (error.source), `{statement}`: {label}"
                            + (f", calling {function}" if function else "")
                            + f"; its output {name}: {_describe_difference(traced[name], eager_value)}.")
        return None



def _unhashable_argument(args):
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            try:
                hash(a)
            except TypeError:
                return TypeError(
                    f"mg.compile: argument #{i} of the step is a {type(a).__name__}, which cannot be part of a "
                    f"signature: pass arrays as Tensors (mg.tensor(x), mg.from_numpy(x)) and other values as "
                    f"hashable ones (numbers, strings, tuples)")
    return TypeError("mg.compile: the step's arguments cannot form a signature")


def _signature_guard(key, args, modules):
    """A function of a call's arguments: their arrays when the call has the signature ``key`` (made by
    ``CompiledStep.__call__`` from ``args`` and the ``training`` flags of ``modules``), else None.

    Generated code with the signature's values as constants: it tests what the key holds without
    building the key (dtypes by identity: an equal dtype that is another object only takes the slow path).
    """
    consts = {"Tensor": Tensor, "grad_state": _grad_state}
    tests = [f"len(args) != {len(args)}", f"grad_state.enabled is not {key[0]!r}"]
    arrays = []
    for i, (a, part) in enumerate(zip(args, key[1:])):
        if isinstance(a, Tensor):
            if type(a) is not Tensor:  # (a subclass: the slow path's isinstance decides)
                return lambda args: None
            shape, dtype, requires_grad = part
            consts[f"d{i}"] = dtype
            tests.append(f"type(args[{i}]) is not Tensor or args[{i}]._array.shape != {shape!r} "
                         f"or args[{i}]._array.dtype is not d{i} or args[{i}].requires_grad is not {requires_grad!r}")
            arrays.append(f"args[{i}]._array")
        else:
            consts[f"t{i}"], consts[f"v{i}"] = part
            tests.append(f"type(args[{i}]) is not t{i} or args[{i}] != v{i}")
    if modules:
        for j, (module, flag) in enumerate(zip(modules, key[-1])):
            consts[f"m{j}"] = module
            tests.append(f"m{j}.training is not {flag!r}")
    source = ("def guard(args):\n    if (" + "\n            or ".join(f"({t})" for t in tests) + "):\n"
              "        return None\n    return (" + "".join(f"{a}, " for a in arrays) + ")\n")
    exec(compile_source(source), consts)
    return consts["guard"]


def _run_recorded(tape, step_fn, args):
    """``step_fn(*args)``, eagerly, with ``tape`` recording it (this thread's ops only). A capture in
    another thread is waited for: there is one ``capture_state.active`` for all threads."""
    with _capture_lock:
        engine.backward_listeners.append(tape.on_backward)
        previous = set_capture(tape)
        try:
            return step_fn(*args)
        finally:
            set_capture(previous)
            engine.backward_listeners.remove(tape.on_backward)



def compile(step_fn, *, check=False, cache_size=8, buffers=True):  # noqa: A001 (PyTorch's name: torch.compile)
    """A training step captured on its first call, then replayed as straight-line NumPy code.

    ``step_fn(*args)`` is a function of Tensors (and hashable Python values) that runs one step: for
    example ``zero_grad()``, the forward pass and the loss, ``loss.backward()``, gradient clipping,
    ``optimizer.step()``. It returns None, a Tensor it computed (the loss), or a structure of those:
    tuples, lists, dicts and namedtuples (nested) of Tensors it computed, parameters and buffers, their
    ``.grad``, and plain Python values (None, numbers, strings), as in ``return loss, {"logits": logits}``;
    a replay returns the same structure, each computed Tensor a fresh graph-free one (never an array the
    next call rewrites), a parameter the object itself, an input the Tensor that call was given, a plain
    value as captured. Returning a Tensor the recorded ops did not compute raises ``CompileError``, naming
    where it sits in the structure.

    The returned callable takes the same arguments. Its first call for a *signature* (each Tensor
    argument's shape, dtype and ``requires_grad``, the other arguments' values, the grad mode and the
    ``training`` flags of the modules the step called) runs ``step_fn`` eagerly and records every op,
    the backward pass in the engine's order and the optimizer's update; the later calls with that
    signature replay the record:
    the same NumPy functions on the new inputs' arrays, with no Tensor, Node or Python code of
    ``step_fn`` in between. The results (the loss, the parameters, ``.grad`` and the optimizer's state)
    equal eager bit for bit.

    A step whose Python control flow depends on a value it computed (``if loss.item() > 1``, ``.numpy()``
    of an intermediate) cannot be replayed: its capture raises ``CompileError``. Run it eagerly instead.

    A replay runs no hooks: while a module the step calls or a parameter it updates has a hook, or a
    backward listener is installed (``mg.viz.Monitor``), calls run ``step_fn`` eagerly instead
    (``.eager_calls`` counts them), and replay again once the hooks are gone. A capture records only
    the ops of the thread that runs it; captures in several threads run one after the other.

    Args:
        step_fn: the step; its Python code runs only when a signature is captured.
        check: ``True`` runs the first 3 replays side by side with an eager step (``N``, an int: the
            first N) and raises ``CompileError`` on any bit of difference; the eager results are kept.
            The message names what differs (a parameter by its name, a ``.grad``, an optimizer's state,
            a result) and the first replay step whose output differs: what it computes, the function
            it calls, its line in the replay's code (``error.source``), and by how much.
        cache_size: how many signatures keep their replay (least recently used first out). A warning
            says when captures keep coming for new signatures and the cache evicts one.
        buffers: write the results of the ops that can write into a given array (the ufuncs, linear,
            relu, matmul, unfold, fold, max pooling's gradient) into arrays the replay allocates once and
            shares between results whose lifetimes do not overlap: a leaf's ``.grad`` may then be
            rewritten by the next call (what the step returns never is).

    Returns:
        A ``CompiledStep``: call it as ``step_fn``; ``.captures`` counts the captures so far,
        ``.eager_calls`` the calls run eagerly because of hooks.
    """
    if check is True:
        check = 3
    elif check is False or check is None:
        check = 0
    elif not isinstance(check, int) or check < 0:
        raise TypeError(f"mg.compile: check must be True, False or a number of replays >= 0, not {check!r}")
    if not isinstance(cache_size, int) or cache_size < 1:
        raise ValueError(f"mg.compile: cache_size must be an int >= 1, not {cache_size!r}")
    return CompiledStep(step_fn, check=check, cache_size=cache_size, buffers=buffers)
