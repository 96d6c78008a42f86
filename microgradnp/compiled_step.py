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
import builtins
import collections
import copy
import math
import re
import threading
import warnings

import numpy as np

from . import grad_mode
from .autograd import backward_steps, engine
from .autograd.engine import backward_listeners
from .autograd.graph import hooks_changed, set_capture
from .autograd.namespaces import NUMPY
from .autograd.node import Node
from .autograd.primitive import PRIMITIVES
from .grad_mode import _state as _grad_state
from .ops import linalg, windows
from .ops.constant_arrays import ZERO, ones_vector, zeros_view
from .ops.elementwise import _VECTOR_MIN
from .ops.linalg import _BLAS_TYPES, _DOT_MAX_OUTPUT, product
from .random import get_generator
from .replay_buffers import BufferStep, plan_buffers
from .tensor import Tensor, arrays_replaced

__all__ = ["compile", "CompileError", "CompiledStep"]

_INTO = {}  # an eager function -> its out= variant; filled below

# the hook tables of a module, by PyTorch's attribute names (the engine reads modules duck-typed)
_MODULE_HOOK_TABLES = ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks", "_backward_pre_hooks")

_get_ident = threading.get_ident
_capture_lock = threading.RLock()  # one capture at a time: ``capture_state.active`` is one slot for all threads


# what a step computes besides arrays: a VJP on 0-d operands returns a NumPy (or Python) scalar, which a
# replay must compute again like an array, not keep as a constant
_COMPUTED_SCALARS = (np.floating, np.complexfloating, float, complex)


class CompileError(RuntimeError):
    """``mg.compile``: a step that cannot be captured (it reads a value it computed, or uses what a replay
    does not support yet), or, with ``check``, a replay that differs from eager."""


def _bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


class _Tape:
    """What one capture records: calls on slots (arrays by identity) and constants."""

    def __init__(self, input_arrays, args=()):
        self.slot_of = {}     # id(array) -> local name
        self.keep = []        # every array seen, so that ids stay unique while capturing
        self.consts = {}      # global name -> object
        self.const_of = {}    # id(object) -> global name
        self.lines = []       # (targets, expression, names read, side effect)
        self.inputs = []
        self.named = {}       # slot name -> the array it held while captured
        for i, a in enumerate(input_arrays):
            name = f"a{i}"
            self.slot_of[id(a)] = name
            self.named[name] = a
            self.keep.append(a)
            self.inputs.append(name)
        # an input Tensor that the backward pass reaches gets its .grad through the replay's ``inputs``
        # argument (the Tensors of that call), not as the constant of the capture's call
        self.input_index = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        self.n = 0
        self.backward_seen = 0
        self.leaf_checks = []   # (leaf, array computed by the recorded traversal)
        self.into = {}     # line index -> (fn, args, the outputs at capture): a step with an out= variant
        self.ufuncs = {}   # line index -> the output at capture of a one-output ufunc step (it takes out=)
        self.cleared = set()  # ids of leaves whose .grad a recorded zero_grad(set_to_none=True) cleared
        self.grads_none = set()  # ids of those leaves whose .grad no recorded step has set since
        self.new_grads = {}  # line index -> (leaf's name, gradient's name, gradient): ``leaf._grad = Tensor(g)``
        self.specializations = []  # (line index, factory of a faster function for that line's call)
        self.fresh_leaves = {}  # leaf -> whether its .grad was None when the backward pass began
        self.modules = {}  # id -> every nn.Module called during capture (its training flag is guarded)
        self.untracked = {}  # id -> array made outside any recorded op during capture (note_result)
        self.unverified = False  # a backward pass was recorded, and not yet compared with the engine's
        self.labels = {}  # line index -> what the step is ("relu (forward)"), for check's messages
        # the capturing thread: ``capture_state.active`` is global (one attribute test per op on the eager
        # path), so every tap below first lets the ops of other threads through, unrecorded
        self.thread = _get_ident()

    # ---- names ---------------------------------------------------------------------------------------
    def const(self, obj):
        key = id(obj)
        name = self.const_of.get(key)
        if name is None:
            name = self.const_of[key] = f"c{len(self.consts)}"
            self.consts[name] = obj
            self.keep.append(obj)
        return name

    def ref(self, value):
        """The name to read ``value`` by: its slot if a recorded step or an input made it, else a constant."""
        if type(value) is np.ndarray or isinstance(value, _COMPUTED_SCALARS):
            name = self.slot_of.get(id(value))
            if name is not None:
                return name
        if value is None or type(value) in (int, bool, str) or type(value) is float and np.isfinite(value):
            return repr(value)
        return self.const(value)

    def new_slot(self, value):
        self.n += 1
        name = f"s{self.n}"
        self.slot_of[id(value)] = name
        self.named[name] = value
        self.keep.append(value)
        return name

    def emit(self, targets, fn, args, kwargs=None, effect=False, outs=None, label=None):
        self.labels[len(self.lines)] = label or _name(fn)
        if outs is not None:
            if fn in _INTO:
                self.into[len(self.lines)] = (fn, args, outs)
            elif type(fn) is np.ufunc and fn.nout == 1 and type(outs[0]) is np.ndarray and not kwargs:
                self.ufuncs[len(self.lines)] = outs[0]
        refs = [self.ref(a) for a in args]
        kw = [f"{k}={self.ref(v)}" for k, v in (kwargs or {}).items()]
        # the outputs get their slots after the arguments are named: a VJP may return its ``g`` itself
        targets = [self.new_slot(t) if type(t) is np.ndarray or isinstance(t, _COMPUTED_SCALARS) else t
                   for t in targets]
        expr = f"{self.const(fn)}({', '.join(refs + kw)})"
        self.lines.append((targets, expr, refs + [k.split('=', 1)[1] for k in kw], effect))

    # ---- taps ----------------------------------------------------------------------------------------
    def note_result(self, data):
        """``Tensor._from_op(data)``: a result computed by NumPy outside any recorded op (a comparison,
        ``argmax``, ``any``...). It depends on values the replay would not recompute, so it is marked:
        an op that reads it, or a read of its value, is refused."""
        if _get_ident() != self.thread:
            return
        if id(data) not in self.slot_of:
            self.untracked[id(data)] = data

    def note_module(self, module):
        """``Module.__call__`` during capture: the module's ``training`` flag is guarded at every call."""
        if _get_ident() != self.thread:
            return
        self.modules.setdefault(id(module), module)

    def check_inputs(self, args, what):
        for a in args:
            if type(a) is np.ndarray and id(a) in self.untracked and id(a) not in self.slot_of:
                raise CompileError(
                    f"mg.compile: {what} reads a tensor computed outside the recorded ops (a comparison, argmax, "
                    f"any/all or another result without a gradient); such values are not captured yet, and a "
                    f"replay would reuse the captured one. Run the step eagerly, or compute it outside the "
                    f"compiled function and pass it in.")

    def read_value(self, tensor, how):
        """A Tensor method that hands its values to Python (``.item()``, ``bool()``...) ran during capture.

        Refused for a tensor the step computed: what Python does with the value is not recorded, so a
        replay would repeat the captured decision whatever the new values are.
        """
        if _get_ident() != self.thread:
            return
        name = self.slot_of.get(id(tensor._array))
        if name is not None and not name.startswith("a") or id(tensor._array) in self.untracked:
            raise CompileError(
                f"mg.compile: the step reads a tensor's value with {how} while it is captured; value-dependent "
                f"Python control flow cannot be captured (a replay runs no Python code, so the value could not "
                f"steer it). Run the step eagerly, or move the {how} outside the compiled function (return the "
                f"tensor and read it from the result).")

    def tensor_name(self, tensor):
        """The replay's name for a Tensor: ``inputs[i]`` for the call's i-th argument, else a constant."""
        position = self.input_index.get(id(tensor))
        return self.const(tensor) if position is None else f"inputs[{position}]"

    def note_grads_cleared(self, tensors):
        """``graph.clear_grads`` (``zero_grad()``) set these tensors' ``.grad`` to None: at this point of every
        replay too, so the backward pass that follows assigns their gradients without testing."""
        if _get_ident() != self.thread:
            return
        cleared = {id(t) for t in tensors}
        self.cleared.update(cleared)
        self.grads_none.update(cleared)

    def note_grad_read(self, tensor):
        """``tensor.grad`` read by the step (``w -= lr * w.grad``): the replay reads the ``.grad`` of its own
        call, which may be another array than the one captured (a gradient accumulated into, not reset)."""
        if _get_ident() != self.thread:
            return
        if self.unverified:
            self.verify_backward()
        array = tensor._grad._array
        name = self.new_slot(array)
        self.lines.append(([name], f"{self.tensor_name(tensor)}._grad._array", [], False))

    def note_grad_write(self, tensor, grad):
        """``tensor.grad = grad`` in the step (``w.grad = None`` after a hand-written update): replayed."""
        if _get_ident() != self.thread:
            return
        if self.unverified:
            self.verify_backward()
        name = self.tensor_name(tensor)
        if grad is None:
            self.lines.append(([], f"{name}._grad = None", [], True))
            self.grads_none.add(id(tensor))
            return
        if not isinstance(grad, Tensor):
            raise CompileError(f"mg.compile: .grad set to a {type(grad).__name__} inside the step")
        value = self.ref(grad._array)
        self.lines.append(([], f"{name}._grad = {self.const(_plain_tensor)}({value})", [value], True))
        self.grads_none.discard(id(tensor))

    def verify_backward(self):
        """The recorded traversal's leaf gradients against the engine's, bit for bit: called at the first
        step recorded after the backward pass (before clipping, say, changes ``.grad``) or at the end."""
        if not self.unverified:
            return
        self.unverified = False
        for leaf, g in self.leaf_checks:
            if self.fresh_leaves[leaf] and (leaf._grad is None or not _bits_equal(leaf._grad._array, g)):
                raise CompileError("mg.compile: the recorded backward differs from the engine's")

    def before_call(self):
        """``graph.replayable`` is about to call its function (which may change ``.grad``, as clipping does)."""
        if self.unverified and _get_ident() == self.thread:
            self.verify_backward()

    def record_call(self, fn, args, out, specialize=None):
        """``graph.replayable``: ``fn(*args)`` ran and gave ``out``; ``specialize()`` may give a faster ``fn``."""
        if _get_ident() != self.thread:
            return
        if self.untracked:
            self.check_inputs(args, f"{getattr(fn, '__qualname__', fn)!r}")
        if specialize is not None:
            self.specializations.append((len(self.lines), specialize))
        if out is None:
            self.emit([], fn, args, effect=True)
        elif type(out) is np.ndarray:
            self.emit([out], fn, args, effect=True)
        else:
            raise CompileError(f"mg.compile: replayable {fn!r} returned a {type(out).__name__}, not an array or None")

    def record_op(self, prim, args, kwargs, out):
        """The apply paths' tap (``autograd/capture.py``): ``prim.forward(*args, **kwargs)`` gave ``out``.

        Returns ``out`` converted to an ndarray, as the apply path would (the replay converts it too).
        """
        if _get_ident() != self.thread:
            return out  # (the apply path converts it)
        forward = prim.forward
        if self.unverified:
            self.verify_backward()
        if self.untracked:
            self.check_inputs(args, f"'{prim.name}'")
            self.check_inputs(kwargs.values(), f"'{prim.name}'")
        if prim.returns_saved:
            value, saved = out
            converted = value if type(value) is np.ndarray else np.asarray(value)
            targets = [converted, saved if type(saved) is np.ndarray else "_"]
            self.emit(targets, forward, args, kwargs, label=f"{prim.name} (forward)")
            if converted is not value:  # the replay must hold the same array as the node
                t, e, r, f = self.lines[-1]
                self.lines[-1] = (t, f"{self.const(_pair_asarray)}({e})", r, f)
            return converted, saved
        converted = out if type(out) is np.ndarray else np.asarray(out)
        # (a NumPy scalar result, converted by the apply path, cannot be written into a buffer)
        self.emit([converted], forward, args, kwargs, outs=(converted,) if converted is out else None,
                  label=f"{prim.name} (forward)")
        if converted is not out:
            t, e, r, f = self.lines[-1]
            self.lines[-1] = (t, f"{self.const(np.asarray)}({e})", r, f)
        return converted

    def on_backward(self, outputs):
        """``engine.backward_listeners``: record ``hot_path.run``'s traversal for these outputs."""
        if _get_ident() != self.thread:
            return
        self.backward_seen += 1
        if len(outputs) != 1 or outputs[0]._array.size != 1:
            raise CompileError("mg.compile: only loss.backward() of one scalar loss is captured; run the step eagerly")
        loss = outputs[0]
        data = loss._array
        g = np.array(1, dtype=data.dtype)
        if data.ndim:
            g = g.reshape(data.shape)
        self.labels[len(self.lines)] = "the loss's gradient (a one)"
        name = self.new_slot(g)
        self.lines.append(([name], f"{self.const(_root_grad)}({self.const(data.dtype)}, {data.shape!r})", [], False))
        previous = grad_mode.set_enabled(False)
        try:
            self._traverse(loss, g)
        finally:
            grad_mode.set_enabled(previous)

    def _add(self, a, b):
        out = np.add(a, b)  # (``a + b``, as ``hot_path.run`` sums, through the ufunc, which takes out=)
        self.emit([out], np.add, (a, b), outs=(out,), label="add (two gradients of one tensor summed)")
        return out

    def _traverse(self, root, root_g):
        """``hot_path.run`` for one root, with dict counts instead of ``pending`` (same order, same sums)."""
        leaf_grads = {}
        node = root.grad_fn
        grads = {node: root_g}
        counts = engine.count_consumers([node])
        ready = [(node, grads.pop(node))] if counts[node] == 0 else []
        after = after_g = None
        while True:
            if after is not None:
                node, g = after, after_g
                after = after_g = None
            elif ready:
                node, g = ready.pop()
            else:
                break
            if "ctx" in node.kwargs and "function" in node.kwargs:
                raise CompileError(f"mg.compile: the custom autograd.Function '{node.kwargs['function'].__name__}' "
                                   f"is not captured yet; run the step eagerly")
            extra = node.extra
            if extra is not None and (extra.get("hooks") or extra.get("retained") or extra.get("modified_by")):
                raise CompileError(f"mg.compile: hooks and retain_grad ('{node.fn.name}') are not captured; "
                                   f"run the step eagerly")
            args, kwargs, ans, fn = node.args, node.kwargs, node.out, node.fn
            if args is None:
                raise CompileError("mg.compile: the graph was freed before backward")
            edges = node.edges
            if fn.joint_vjp is not None:
                marks = tuple(None if e is None else True for e in edges)
                joint = fn.joint_vjp(NUMPY, g, ans, edges, *args, **kwargs)
                jname = f"j{len(self.lines)}"
                self.emit([jname], fn.joint_vjp, (NUMPY, g, ans, marks) + tuple(args), kwargs, outs=joint,
                          label=f"{fn.name} (joint vjp)")
            for i, edge in enumerate(edges):
                if edge is None:
                    continue
                if fn.joint_vjp is None:
                    gi = fn.vjps[i](NUMPY, g, ans, *args, **kwargs)
                    self.emit([gi], fn.vjps[i], (NUMPY, g, ans) + tuple(args), kwargs, outs=(gi,),
                              label=f"{fn.name} (vjp for input {i})")
                else:
                    gi = joint[i]
                    if gi is None:
                        continue
                    self.labels[len(self.lines)] = f"{fn.name} (joint vjp, the gradient for input {i})"
                    self.lines.append(([self.new_slot(gi)], f"{jname}[{i}]", [jname], False))
                if not node.exact_grads:
                    target = args[i]
                    if gi.shape != target.shape:
                        out = NUMPY.sum_to(gi, shape=target.shape)
                        self.emit([out], NUMPY.sum_to, (gi,), {"shape": target.shape})
                        gi = out
                    if gi.dtype is not target.dtype and gi.dtype != target.dtype:
                        out = NUMPY.astype(gi, dtype=target.dtype)
                        self.emit([out], NUMPY.astype, (gi,), {"dtype": target.dtype})
                        gi = out
                if type(edge) is Node:
                    counts[edge] -= 1
                    if counts[edge] == 0:
                        summed = grads.pop(edge, None)
                        if after is not None:
                            ready.append((after, after_g))
                        after, after_g = edge, gi if summed is None else self._add(summed, gi)
                    else:
                        summed = grads.get(edge)
                        grads[edge] = gi if summed is None else self._add(summed, gi)
                else:
                    if edge._hooks:
                        raise CompileError("mg.compile: leaf hooks are not captured; run the step eagerly")
                    if edge not in leaf_grads:
                        self.fresh_leaves[edge] = edge._grad is None
                    summed = leaf_grads.get(edge)
                    leaf_grads[edge] = gi if summed is None else self._add(summed, gi)
        # the leaves: hot_path.finish_leaves, its decisions that depend only on the signature taken now
        # (whether a gradient is a view or reaches two leaves); whether .grad is None is tested at replay
        handed_out = set()
        for leaf, g in leaf_grads.items():
            name, gname = self.tensor_name(leaf), self.ref(g)
            shared = type(g) is not np.ndarray or g.base is not None or leaf._array.dtype.kind != "f"
            if not shared:
                shared = id(g) in handed_out
                handed_out.add(id(g))
            acc = f"{self.const(backward_steps.accumulate_into)}({name}, {gname}, False, copy={shared})"
            if shared:
                self.lines.append(([], acc, [gname], True))
            elif id(leaf) in self.grads_none:  # cleared by a recorded zero_grad: None at every replay
                self.new_grads[len(self.lines)] = (name, gname, g)
                self.lines.append(([], f"{name}._grad = {self.const(_plain_tensor)}({gname})", [gname], True))
            else:
                self.lines.append(([], f"if {name}._grad is None: {name}._grad = {self.const(_plain_tensor)}({gname})\n"
                                       f"    else: {acc}", [gname], True))
        self.grads_none.difference_update(id(leaf) for leaf in leaf_grads)
        self.leaf_checks = list(leaf_grads.items())
        self.unverified = True

    # ---- code ----------------------------------------------------------------------------------------
    def escaping(self, results):
        """The names whose arrays leave the replay: those of the step's result (``_Results.escaping``: slot
        names and array ids), and the gradient of a leaf whose ``.grad`` is not cleared by a recorded
        ``zero_grad()`` first (it is accumulated into at the next call)."""
        ids = {x for x in results if not isinstance(x, str)}
        escaping = {x for x in results if isinstance(x, str)}
        escaping.update(name for name, array in self.named.items() if id(array) in ids)
        for leaf, g in self.leaf_checks:
            if id(leaf) not in self.cleared and id(g) in self.slot_of:
                escaping.add(self.slot_of[id(g)])
        return escaping

    def assign_buffers(self, kept, results):
        """Rewrite the kept steps that can write into buffers (ufuncs, ``_INTO`` variants) to do so, with
        buffers shared by liveness (``replay_buffers.plan_buffers``); returns the steps, rewritten.

        A buffer is owned by this replay and rewritten by every call: a leaf's ``.grad`` that is such a
        buffer holds its values until the next call.
        """
        steps, pinned = {}, set()
        for position, (index, targets, expr, reads, effect) in enumerate(kept):
            if effect:  # library code (optimizer, clipping, a leaf's .grad) may keep what it reads
                pinned.update(reads)
            if index in self.ufuncs:
                steps[position] = BufferStep((self.ufuncs[index],), in_place=True)
            elif index in self.into:
                fn, args, outs = self.into[index]
                outputs = _INTO[fn].outputs
                steps[position] = BufferStep(tuple(o if i in outputs else None for i, o in enumerate(outs)),
                                             in_place=False)
        plan, self.buffer_bytes = plan_buffers([(targets, reads) for _, targets, _, reads, _ in kept], steps,
                                               self.named, pinned, self.escaping(results))
        self.buffer_ids = {id(b) for buffers in plan.values() for b in buffers if b is not None}
        buffer_of = {id(o): b for position, step in steps.items() for o, b in zip(step.outputs, plan[position])
                     if o is not None and b is not None}
        rewritten = []
        for position, (index, targets, expr, reads, effect) in enumerate(kept):
            if index in self.new_grads and id(self.new_grads[index][2]) in buffer_of:
                # the gradient is a buffer of its own (pinned), the same array at every call: so is its Tensor,
                # unless something gave that Tensor another array since
                leaf, gname, g = self.new_grads[index]
                grad = self.const(_plain_tensor(buffer_of[id(g)]))
                expr = f"{leaf}._grad = {grad} if {grad}._array is {gname} else {self.const(_plain_tensor)}({gname})"
            buffers = plan.get(position)
            if buffers and any(b is not None for b in buffers):
                call = expr[expr.index("(") + 1:]
                if index in self.ufuncs:
                    expr = f"{expr[:-1]}, out={self.const(buffers[0])})"
                else:
                    fn, args, outs = self.into[index]
                    variant = _INTO[fn]
                    extra = variant.extra(args, outs)
                    self.buffer_bytes += sum(b.nbytes for b in extra)
                    fn = variant.choose(args, buffers)
                    expr = f"{self.const(fn)}({self.const(buffers + extra)}, {call}"
            rewritten.append((targets, expr))
        return rewritten

    def build(self, results, buffers=True):
        """The replay function: straight-line code, dead steps dropped, results in buffers where they can; it
        returns what ``results`` (a ``_Results``) builds."""
        self.buffer_bytes = 0
        self.buffer_ids = set()
        for index, specialize in self.specializations:
            fast = specialize()
            if fast is not None:
                targets, expr, reads, effect = self.lines[index]
                self.lines[index] = (targets, self.const(fast) + expr[expr.index("("):], reads, effect)
        live = set(results.reads)
        kept = []
        for index in range(len(self.lines) - 1, -1, -1):
            targets, expr, reads, effect = self.lines[index]
            if effect or any(t in live for t in targets):
                kept.append((index, targets, expr, reads, effect))
                live.update(r for r in reads if r.isidentifier())
        kept.reverse()
        if buffers:
            code = self.assign_buffers(kept, results.escaping)
        else:
            code = [(targets, expr) for _, targets, expr, _, _ in kept]
        body = self.reread_parameters(live)
        steps = []  # (its line in the source, targets, expression, label): check's messages name a step by these
        line_number = 2 + sum(line.count("\n") + 1 for line in body)
        for (targets, expr), (index, *_) in zip(code, kept):
            steps.append((line_number, targets, expr, self.labels.get(index, "")))
            line_number += expr.count("\n") + 1
            body.append(f"    {', '.join(targets)} = {expr}" if targets else f"    {expr}")
        body.extend(f"    {line}" for line in results.lines)
        body.append(f"    return {results.expression}")
        source = f"def replay({', '.join(self.inputs + ['inputs'])}):\n" + "\n".join(body) + "\n"
        scope = dict(self.consts)
        exec(compile_source(source), scope)
        fn = scope["replay"]
        fn.source = source
        fn.steps = steps
        for validate in self.validators:
            validate.scope = scope
        return fn, len(code)

    def state_tensors(self):
        """The Tensors that outlive the step: the parameters and buffers of the modules the step called,
        the optimizers' parameters and the leaves the backward pass reached."""
        tensors = [leaf for leaf, _ in self.leaf_checks]
        for obj in list(self.consts.values()):
            for group in getattr(getattr(obj, "__self__", None), "param_groups", ()):
                tensors.extend(group["params"])
        for module in self.modules.values():
            tensors.extend(module.parameters(recurse=False))
            tensors.extend(module.buffers(recurse=False))
        return [t for t in tensors if isinstance(t, Tensor)]

    def owners(self):
        """id(array) -> the Tensor holding it, for the ``state_tensors``."""
        return {id(t._array): t for t in self.state_tensors()}

    def reread_parameters(self, live):
        """The replay's first line: if any Tensor was given another array since the last call (the global
        count ``tensor.arrays_replaced`` moved: ``p.data = other``, ...), the arrays of the parameters and
        buffers it read are read again from their Tensors into the replay's globals (``_Reread``). Writes in
        place (``copy_``, ``load_state_dict``) keep the arrays, so they need nothing."""
        owners = self.owners()
        self.validators = []
        self.reread = []  # (tensor, the name of the array it held at capture)
        for name, value in list(self.consts.items()):
            tensor = owners.get(id(value)) if type(value) is np.ndarray else None
            if tensor is None or name not in live:
                continue
            self.reread.append((tensor, name))
        if not self.reread:
            return []
        validate = _Reread(self.reread, "seen_replaced")
        self.consts["seen_replaced"] = None  # the first call reads them all
        self.validators.append(validate)
        return [f"    if {self.const(arrays_replaced)}[0] != seen_replaced: {self.const(validate)}()"]


_CONSTANT_TYPES = (type(None), bool, int, float, complex, str, bytes)


class _Results:
    """How a replay returns what the step returned: the same structure (tuples, lists, dicts and
    namedtuples, nested), built by the replay's last lines.

    Each Tensor the step computed comes back as a fresh graph-free Tensor around the replay's array
    (``_plain_tensor``); a parameter, buffer or other state Tensor as the same object, and its ``.grad``
    as read at the end of the replay; an input as the Tensor that call was given; plain Python values (None,
    numbers, strings) as captured. A value computed outside the recorded ops or an array is refused: a
    replay could not return it as eager would.
    """

    def __init__(self, tape, args, result):
        self.tape = tape
        self.inputs = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        state = tape.state_tensors()
        self.state = {id(t): t for t in state}
        self.state_arrays = {id(t._array): t for t in state}
        self.grad_owners = {id(t._grad): t for t in state if t._grad is not None}
        self.lines = []       # code before the return: one local per Tensor returned
        self.reads = set()    # the names those lines read (kept alive in the replay)
        self.escaping = set()  # slot names and array ids the result holds: no buffer may be reused for them
        self.made = {}        # id(Tensor) -> the local that holds its replay counterpart
        self.expression = self.build(result, "result")

    def build(self, value, path):
        """The replay's expression for ``value``, found at ``path`` in what the step returned."""
        if isinstance(value, Tensor):
            return self.tensor(value, path)
        if type(value) in _CONSTANT_TYPES:
            return self.tape.ref(value)
        if isinstance(value, tuple):
            items = [self.build(v, f"{path}[{i}]") for i, v in enumerate(value)]
            if type(value) is tuple:
                return f"({', '.join(items)},)" if items else "()"
            if hasattr(type(value), "_fields"):  # a namedtuple
                return f"{self.tape.const(type(value))}({', '.join(items)})"
            return f"{self.tape.const(type(value))}(({', '.join(items)},))"
        if type(value) is list:
            return f"[{', '.join(self.build(v, f'{path}[{i}]') for i, v in enumerate(value))}]"
        if type(value) in (dict, collections.OrderedDict):
            for key in value:
                if type(key) not in _CONSTANT_TYPES:
                    self.refuse(path, f"a dict with a {type(key).__name__} key", "use keys that are strings or numbers")
            items = ", ".join(f"{self.tape.ref(k)}: {self.build(v, f'{path}[{k!r}]')}" for k, v in value.items())
            return "{" + items + "}" if type(value) is dict else f"{self.tape.const(type(value))}({{{items}}})"
        self.refuse(path, f"a {type(value).__name__}",
                    "return Tensors the step computed, plain Python values (None, numbers, strings) and tuples, "
                    "lists or dicts of those")

    def tensor(self, t, path):
        """The replay's local for the Tensor ``t`` (one local per Tensor object: eager's ``(a, a)`` stays
        one object twice)."""
        local = self.made.get(id(t))
        if local is None:
            local = self.made[id(t)] = f"r{len(self.made)}"
            self.lines.append(f"{local} = {self.tensor_expression(t, path)}")
        return local

    def tensor_expression(self, t, path):
        tape, data = self.tape, t._array
        if id(t) in self.inputs:  # eager returns the object it was given: so does a replay, that call's
            return f"inputs[{self.inputs[id(t)]}]"
        if id(t) in self.state:  # a parameter or buffer: eager returns the object, updated in place
            return tape.const(t)
        if id(t) in self.grad_owners:  # a parameter's .grad: the object the replay's backward left there
            return f"{tape.tensor_name(self.grad_owners[id(t)])}._grad"
        name = tape.slot_of.get(id(data))
        if name is None and id(data) in self.state_arrays:  # p.detach(): the parameter's array (read again)
            name = tape.ref(data)
        elif name is None:
            how = ("computed outside the recorded ops (a comparison, argmax, any/all)" if id(data) in tape.untracked
                   else "that the step did not compute")
            self.refuse(path, f"a Tensor {how} ({_describe(data)})",
                        "a replay would return the captured values; return it from outside the compiled function")
        self.reads.add(name)
        self.escaping.update((name, id(data)))
        if data.base is not None:  # a view: what it views escapes too (a buffer under it would be rewritten)
            self.escaping.update((id(data.base), tape.slot_of.get(id(data.base))))
        return f"{tape.const(_plain_tensor)}({name})"

    @staticmethod
    def refuse(path, what, advice):
        raise CompileError(f"mg.compile: the step returned {what} at {path}; {advice}. A compiled step returns "
                           f"Tensors it computed, parameters, their .grad and plain Python values.")


def _describe(array):
    return f"shape {tuple(array.shape)}, {array.dtype}"


class _Stale(Exception):
    """A replay's assumptions no longer hold (a parameter's array of another shape or dtype): capture again."""


class _Reread:
    """Reads the parameters' arrays again into a replay's globals, after some Tensor's array was replaced
    (``p.data = other``). A new array must have the shape and dtype of the one captured, else ``_Stale``."""

    def __init__(self, reread, seen):
        self.reread = [(tensor, name, tensor._array.shape, tensor._array.dtype) for tensor, name in reread]
        self.seen = seen
        self.scope = None

    def __call__(self):
        scope = self.scope
        count = arrays_replaced[0]
        for tensor, name, shape, dtype in self.reread:
            array = tensor._array
            if array is not scope[name]:
                if array.shape != shape or array.dtype != dtype:
                    raise _Stale
                scope[name] = array  # the replay's code reads it as a global
        scope[self.seen] = count


def compile_source(source):
    return builtins.compile(source, "<mg.compile replay>", "exec")


# ---- out= variants -------------------------------------------------------------------------------------
# Each mirrors its eager function's branches exactly and makes the same NumPy/BLAS calls with out=
# buffers, so that the bits are the same; it is called as variant(buffers, *the eager call's arguments).

def _product_into(a, b, out):
    """``linalg.product(a, b)`` (its choice of ``dot`` or ``matmul`` made as without ``out``), into ``out``."""
    if out is None:
        return product(a, b)
    if a.ndim == 2 and b.ndim == 2 and (a.shape[0] * b.shape[1] <= _DOT_MAX_OUTPUT
                                        or a.shape[1] == 1 and a.dtype.char in _BLAS_TYPES):
        return a.dot(b, out=out)
    return np.matmul(a, b, out=out)


def _linear_into(buffers, x, weight, bias=None):
    out = _product_into(x, weight.T, buffers[0])
    if bias is not None:
        out += bias
    return out


def _linear_dot_into(buffers, x, weight, bias=None):
    """``_linear_into`` for a 2-D input whose product ``linalg.product`` makes with ``dot`` (the choice depends
    on the shapes only, which the signature fixes: ``_choose_linear`` takes it once per replay)."""
    out = x.dot(weight.T, out=buffers[0])
    if bias is not None:
        out += bias
    return out


def _choose_linear(args, buffers):
    x, weight = args[0], args[1]
    if (buffers[0] is not None and x.ndim == 2 and weight.ndim == 2
            and (x.shape[0] * weight.shape[0] <= _DOT_MAX_OUTPUT or x.shape[1] == 1 and x.dtype.char in _BLAS_TYPES)):
        return _linear_dot_into
    return _linear_into


def _relu_into(buffers, x):
    out = buffers[0]
    if x.size >= _VECTOR_MIN and x.flags.c_contiguous:
        return np.maximum(x, zeros_view(x.shape, x.dtype), out=out)
    if x.size >= _VECTOR_MIN and x.flags.f_contiguous:
        return np.maximum(x, zeros_view(x.shape[::-1], x.dtype).T, out=out)
    return np.maximum(x, ZERO[x.dtype], out=out)


def _relu_vjp_into(buffers, xp, g, ans, x):
    out, mask = buffers
    np.greater(ans, ZERO[ans.dtype], out=mask)
    return np.multiply(g, mask, out=out)


def _linear_vjp_into(buffers, xp, g, ans, edges, x, weight, bias=None):
    buf_x, buf_w = buffers[0], buffers[1]
    grad_x = None if edges[0] is None else _product_into(g, weight, buf_x)
    if g.ndim != 2:  # as linalg._linear_vjp: every leading dimension is a batch dimension
        rows = math.prod(g.shape[:-1])
        g, x = g.reshape(rows, g.shape[-1]), x.reshape(rows, x.shape[-1])
    if w_special(weight):  # linalg._weight_gradient's own out= array, preallocated
        grad_w = None if edges[1] is None else (
            product(g.T, x, out=buf_w) if buf_w is not None else linalg._weight_gradient(xp, g, x, weight))
    else:
        grad_w = None if edges[1] is None else _product_into(g.T, x, buf_w)
    if bias is None or edges[2] is None:
        grad_b = None
    elif buffers[2] is not None and g.ndim == 2 and bias.shape == g.shape[1:] and g.dtype.char in "fd":
        grad_b = ones_vector(len(g), g.dtype).dot(g, out=buffers[2])  # (shape.sum_to_shape's product, into it)
    else:
        grad_b = xp.sum_to(g, shape=bias.shape)
    return grad_x, grad_w, grad_b


def _matmul_into(buffers, a, b):
    """``linalg._matmul`` (its shapes were checked when captured) into ``buffers[0]``."""
    return _product_into(a, b, buffers[0])


def _matmul_vjp_a_into(buffers, xp, g, ans, a, b):
    if a.ndim < 2 or b.ndim < 2:  # the 1-D cases reshape: the plain rule
        return linalg._matmul_vjp_a(xp, g, ans, a, b)
    return _product_into(g, linalg._mT(xp, b), buffers[0])


def _matmul_vjp_b_into(buffers, xp, g, ans, a, b):
    if a.ndim < 2 or b.ndim < 2:
        return linalg._matmul_vjp_b(xp, g, ans, a, b)
    return _product_into(linalg._mT(xp, a), g, buffers[0])


def _unfold_into(buffers, x, *args, **kwargs):
    return windows._unfold(x, *args, out=buffers[0], **kwargs)


def _fold_into(buffers, columns, *args, **kwargs):
    return windows._fold(columns, *args, out=buffers[0], **kwargs)


def _unfold_vjp_into(buffers, xp, g, ans, x, kernel_size, dilation, padding, stride):
    """The VJP of ``unfold`` (``fold`` of ``g`` to ``x``'s image), summed into ``buffers[0]``."""
    return windows._fold(g, tuple(x.shape[2:]), kernel_size, dilation, padding, stride, out=buffers[0])


def _fold_vjp_into(buffers, xp, g, ans, columns, output_size, kernel_size, dilation, padding, stride):
    """The VJP of ``fold`` (``unfold`` of ``g``), copied into ``buffers[0]``."""
    return windows._unfold(g, kernel_size, dilation, padding, stride, out=buffers[0])


def _window_max_vjp_into(buffers, xp, g, ans, tiles, axes):
    if type(g) is not np.ndarray:
        return windows._window_max_vjp(xp, g, ans, tiles, axes)
    return windows._window_max_vjp_fast(g, ans, tiles, axes, out=buffers[0])


def w_special(w):
    return w.flags.f_contiguous and not w.flags.c_contiguous


class _Variant:
    def __init__(self, fn, outputs=(0,), extra=None, choose=None):
        self.fn = fn
        self.outputs = outputs
        self.extra = extra or (lambda args, outs: ())
        self.choose = choose or (lambda args, buffers: fn)  # a faster copy for these shapes, or fn

    def __call__(self, buffers, *args):
        return self.fn(buffers, *args)


def _variants():
    table = {}
    linear, relu = PRIMITIVES["linear"], PRIMITIVES["relu"]
    table[linear.forward] = _Variant(_linear_into, choose=_choose_linear)
    table[relu.forward] = _Variant(_relu_into)
    table[relu.vjps[0]] = _Variant(_relu_vjp_into, extra=lambda args, outs: (np.empty(outs[0].shape, bool),))
    table[linear.joint_vjp] = _Variant(_linear_vjp_into, outputs=(0, 1, 2))
    matmul, unfold, fold, window_max = (PRIMITIVES[n] for n in ("matmul", "unfold", "fold", "window_max"))
    table[matmul.forward] = _Variant(_matmul_into)
    table[matmul.vjps[0]] = _Variant(_matmul_vjp_a_into)
    table[matmul.vjps[1]] = _Variant(_matmul_vjp_b_into)
    table[unfold.forward] = _Variant(_unfold_into)
    table[fold.forward] = _Variant(_fold_into)
    table[unfold.vjps[0]] = _Variant(_unfold_vjp_into)
    table[fold.vjps[0]] = _Variant(_fold_vjp_into)
    table[window_max.vjps[0]] = _Variant(_window_max_vjp_into)
    return table


_new = object.__new__


def _plain_tensor(data):
    """A Tensor with no graph around ``data``, as ``Tensor._from_op(data, None)`` builds it, inline: a replay's
    result and each leaf's first gradient (kept by reference, as ``hot_path.finish_leaves`` keeps it)."""
    t = _new(Tensor)
    t._array = data
    t._grad = t.grad_fn = t._hooks = t._aliases = None
    t.requires_grad = False
    t._version = 0
    return t


def _root_grad(dtype, shape):
    g = np.array(1, dtype=dtype)
    return g.reshape(shape) if shape else g


def _pair_asarray(pair):
    value, saved = pair
    return np.asarray(value), saved


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
        entry = self.cache.get(key)
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


def _name(fn):
    return getattr(fn, "__qualname__", None) or repr(fn)


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


_INTO.update(_variants())


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
