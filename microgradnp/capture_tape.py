"""What a compiled step's capture records, and the replay function it builds from the record.

A ``_Tape`` is the capture in progress (``capture.capture_state.active``): the apply paths hand it every
forward call (``record_op``), ``graph.replayable`` every call of library code (``record_call``), the
engine's backward listener the backward pass, which it re-derives in the engine's own order
(``_traverse``); the Tensor's value reads, ``.grad`` reads and writes and ``graph.clear_grads`` tell it
what they do. ``build`` turns the record into one straight-line Python function of the inputs' arrays:
every array a local variable, every function and constant a global, dead steps dropped, results in
buffers (``replay_buffers``, ``replay_variants``).
"""
import builtins
import threading

import numpy as np

from . import grad_mode
from .autograd import backward_steps, engine
from .autograd.namespaces import NUMPY
from .autograd.node import Node
from .replay_buffers import BufferStep, plan_buffers
from .replay_variants import _INTO
from .tensor import Tensor, arrays_replaced

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



def _name(fn):
    return getattr(fn, "__qualname__", None) or repr(fn)


def _describe(array):
    return f"shape {tuple(array.shape)}, {array.dtype}"
