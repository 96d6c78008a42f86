"""``mg.compile`` (issue 22): capture one eager training step, replay it without Tensors or Nodes.

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
- ``check=N``: the first N replays run side by side with eager (state snapshotted and restored) and
  raise on any bit of difference.

The design, its measurements and what is missing: ``compile_design.md`` in the session notes; the
user's guide: ``docs/guide/compiling-a-step.md``.
"""
import builtins
import collections
import math
import operator
import warnings

import numpy as np

from . import grad_mode
from .autograd import backward_steps, engine
from .autograd.graph import set_capture
from .autograd.namespaces import NUMPY
from .autograd.node import Node
from .autograd.primitive import PRIMITIVES
from .grad_mode import _state as _grad_state
from .ops import linalg
from .ops.constant_arrays import ZERO, zeros_view
from .ops.elementwise import _VECTOR_MIN
from .ops.linalg import _BLAS_TYPES, _DOT_MAX_OUTPUT, product
from .random import get_generator
from .tensor import Tensor, arrays_replaced

__all__ = ["compile", "CompileError", "CompiledStep"]

_INTO = {}  # an eager function -> its out= variant; filled below


class CompileError(RuntimeError):
    """``mg.compile``: a step that cannot be captured (it reads a value it computed, or uses what a replay
    does not support yet), or, with ``check``, a replay that differs from eager."""


def _bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


class _Tape:
    """What one capture records: calls on slots (arrays by identity) and constants."""

    def __init__(self, input_arrays):
        self.slot_of = {}     # id(array) -> local name
        self.keep = []        # every array seen, so that ids stay unique while capturing
        self.consts = {}      # global name -> object
        self.const_of = {}    # id(object) -> global name
        self.lines = []       # (targets, expression, names read, side effect)
        self.inputs = []
        for i, a in enumerate(input_arrays):
            name = f"a{i}"
            self.slot_of[id(a)] = name
            self.keep.append(a)
            self.inputs.append(name)
        self.n = 0
        self.backward_seen = 0
        self.leaf_checks = []   # (leaf, array computed by the recorded traversal)
        self.into = {}     # line index -> (fn, args, the outputs at capture): a step that may write into buffers
        self.cleared = set()  # ids of leaves whose .grad a recorded zero_grad(set_to_none=True) cleared
        self.specializations = []  # (line index, factory of a faster function for that line's call)
        self.fresh_leaves = {}  # leaf -> whether its .grad was None when the backward pass began
        self.modules = {}  # id -> every nn.Module called during capture (its training flag is guarded)
        self.untracked = {}  # id -> array made outside any recorded op during capture (note_result)
        self.unverified = False  # a backward pass was recorded, and not yet compared with the engine's

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
        if type(value) is np.ndarray:
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
        self.keep.append(value)
        return name

    def emit(self, targets, fn, args, kwargs=None, effect=False, outs=None):
        if outs is not None and fn in _INTO and not kwargs:
            self.into[len(self.lines)] = (fn, args, outs)
        refs = [self.ref(a) for a in args]
        kw = [f"{k}={self.ref(v)}" for k, v in (kwargs or {}).items()]
        # the outputs get their slots after the arguments are named: a VJP may return its ``g`` itself
        targets = [self.new_slot(t) if type(t) is np.ndarray else t for t in targets]
        expr = f"{self.const(fn)}({', '.join(refs + kw)})"
        self.lines.append((targets, expr, refs + [k.split('=', 1)[1] for k in kw], effect))

    # ---- taps ----------------------------------------------------------------------------------------
    def note_result(self, data):
        """``Tensor._from_op(data)``: a result computed by NumPy outside any recorded op (a comparison,
        ``argmax``, ``any``...). It depends on values the replay would not recompute, so it is marked:
        an op that reads it, or a read of its value, is refused."""
        if id(data) not in self.slot_of:
            self.untracked[id(data)] = data

    def note_module(self, module):
        """``Module.__call__`` during capture: the module's ``training`` flag is guarded at every call."""
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
        name = self.slot_of.get(id(tensor._array))
        if name is not None and not name.startswith("a") or id(tensor._array) in self.untracked:
            raise CompileError(
                f"mg.compile: the step reads a tensor's value with {how} while it is captured; value-dependent "
                f"Python control flow cannot be captured (a replay runs no Python code, so the value could not "
                f"steer it). Run the step eagerly, or move the {how} outside the compiled function (return the "
                f"tensor and read it from the result).")

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
        if self.unverified:
            self.verify_backward()

    def record_call(self, fn, args, out, specialize=None):
        """``graph.replayable``: ``fn(*args)`` ran and gave ``out``; ``specialize()`` may give a faster ``fn``."""
        if self.untracked:
            self.check_inputs(args, f"{getattr(fn, '__qualname__', fn)!r}")
        if specialize is not None:
            self.specializations.append((len(self.lines), specialize))
        owner = getattr(fn, "__self__", None)
        if getattr(fn, "__name__", "") == "_zero_grad" and args == (True,) and owner is not None:
            # (prototype: the real API lets the optimizer say which gradients it clears)
            self.cleared.update(id(p) for group in owner.param_groups for p in group["params"])
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
            self.emit(targets, forward, args, kwargs)
            if converted is not value:  # the replay must hold the same array as the node
                t, e, r, f = self.lines[-1]
                self.lines[-1] = (t, f"{self.const(_pair_asarray)}({e})", r, f)
            return converted, saved
        converted = out if type(out) is np.ndarray else np.asarray(out)
        self.emit([converted], forward, args, kwargs, outs=(converted,))
        if converted is not out:
            t, e, r, f = self.lines[-1]
            self.lines[-1] = (t, f"{self.const(np.asarray)}({e})", r, f)
        return converted

    def on_backward(self, outputs):
        """``engine.backward_listeners``: record ``hot_path.run``'s traversal for these outputs."""
        self.backward_seen += 1
        if len(outputs) != 1 or outputs[0]._array.size != 1:
            raise CompileError("mg.compile: only loss.backward() of one scalar loss is captured; run the step eagerly")
        loss = outputs[0]
        data = loss._array
        g = np.array(1, dtype=data.dtype)
        if data.ndim:
            g = g.reshape(data.shape)
        name = self.new_slot(g)
        self.lines.append(([name], f"{self.const(_root_grad)}({self.const(data.dtype)}, {data.shape!r})", [], False))
        previous = grad_mode.set_enabled(False)
        try:
            self._traverse(loss, g)
        finally:
            grad_mode.set_enabled(previous)

    def _add(self, a, b):
        out = a + b
        self.emit([out], operator.add, (a, b))
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
                self.emit([jname], fn.joint_vjp, (NUMPY, g, ans, marks) + tuple(args), kwargs, outs=joint)
            for i, edge in enumerate(edges):
                if edge is None:
                    continue
                if fn.joint_vjp is None:
                    gi = fn.vjps[i](NUMPY, g, ans, *args, **kwargs)
                    self.emit([gi], fn.vjps[i], (NUMPY, g, ans) + tuple(args), kwargs, outs=(gi,))
                else:
                    gi = joint[i]
                    if gi is None:
                        continue
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
            name, gname = self.const(leaf), self.ref(g)
            shared = type(g) is not np.ndarray or g.base is not None or leaf._array.dtype.kind != "f"
            if not shared:
                shared = id(g) in handed_out
                handed_out.add(id(g))
            acc = f"{self.const(backward_steps.accumulate_into)}({name}, {gname}, False, copy={shared})"
            if shared:
                self.lines.append(([], acc, [gname], True))
            else:
                self.lines.append(([], f"if {name}._grad is None: {name}._grad = {self.const(_plain_tensor)}({gname})\n"
                                       f"    else: {acc}", [gname], True))
        self.leaf_checks = list(leaf_grads.items())
        self.unverified = True

    # ---- code ----------------------------------------------------------------------------------------
    def assign_buffers(self, result_name):
        """Give each step that can write into a buffer (``_INTO``) one preallocated array per output.

        An output gets a buffer unless it leaves the call: the result, and the gradient of a leaf whose
        ``.grad`` is not cleared by a recorded ``zero_grad()`` first (it would be accumulated into). One
        buffer per output, owned by this replay and rewritten by every call (a leaf's ``.grad`` is such a
        buffer until the next call). Prototype: no sharing of buffers between outputs of disjoint lifetimes.
        """
        escaping = set()
        if result_name:
            escaping.add(result_name)
        for leaf, g in self.leaf_checks:
            if id(leaf) not in self.cleared:
                escaping.add(id(g))
        for index, (fn, args, outs) in self.into.items():
            buffers = []
            variant = _INTO[fn]
            for i, o in enumerate(outs):
                if (i in variant.outputs and type(o) is np.ndarray and id(o) not in escaping and o.base is None
                        and (o.flags.c_contiguous or o.flags.f_contiguous) and self.slot_of.get(id(o)) not in escaping):
                    buffers.append(np.empty_like(o))  # (the same memory order as the eager output)
                else:
                    buffers.append(None)
            extra = variant.extra(args, outs)
            if not any(b is not None for b in buffers):
                continue
            targets, expr, reads, effect = self.lines[index]
            call = expr[expr.index("(") + 1:]
            self.lines[index] = (targets, f"{self.const(variant.fn)}({self.const(tuple(buffers) + extra)}, {call}",
                                 reads, effect)
            self.buffer_bytes += sum(b.nbytes for b in buffers if b is not None) + sum(b.nbytes for b in extra)

    def build(self, result_name, buffers=True):
        """The replay function: straight-line code, dead steps dropped."""
        self.buffer_bytes = 0
        if buffers:
            self.assign_buffers(result_name)
        for index, specialize in self.specializations:
            fast = specialize()
            if fast is not None:
                targets, expr, reads, effect = self.lines[index]
                self.lines[index] = (targets, self.const(fast) + expr[expr.index("("):], reads, effect)
        live = {result_name} if result_name else set()
        kept = []
        for targets, expr, reads, effect in reversed(self.lines):
            if effect or any(t in live for t in targets):
                kept.append((targets, expr))
                live.update(r for r in reads if r.isidentifier())
        kept.reverse()
        body = self.reread_parameters(live)
        for targets, expr in kept:
            body.append(f"    {', '.join(targets)} = {expr}" if targets else f"    {expr}")
        body.append(f"    return {result_name or 'None'}")
        source = f"def replay({', '.join(self.inputs)}):\n" + "\n".join(body) + "\n"
        scope = dict(self.consts)
        exec(compile_source(source), scope)
        fn = scope["replay"]
        fn.source = source
        for validate in self.validators:
            validate.scope = scope
        return fn, len(kept)

    def owners(self):
        """id(array) -> the Tensor holding it: the parameters and buffers of the modules the step called,
        the optimizers' parameters and the leaves the backward pass reached."""
        tensors = [leaf for leaf, _ in self.leaf_checks]
        for obj in list(self.consts.values()):
            for group in getattr(getattr(obj, "__self__", None), "param_groups", ()):
                tensors.extend(group["params"])
        for module in self.modules.values():
            tensors.extend(module.parameters(recurse=False))
            tensors.extend(module.buffers(recurse=False))
        return {id(t._array): t for t in tensors if isinstance(t, Tensor)}

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


# ---- out= variants (prototype: the real design declares them with the primitives) ----------------------
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
    if g.ndim != 2:  # as linalg._linear_vjp: every leading dimension is a batch dimension, flattened into rows
        rows = math.prod(g.shape[:-1])
        g, x = xp.reshape(g, (rows, g.shape[-1])), xp.reshape(x, (rows, x.shape[-1]))
    if w_special(weight):  # linalg._weight_gradient's own out= array, preallocated
        grad_w = None if edges[1] is None else (
            product(g.T, x, out=buf_w) if buf_w is not None else linalg._weight_gradient(xp, g, x, weight))
    else:
        grad_w = None if edges[1] is None else _product_into(g.T, x, buf_w)
    grad_b = None if bias is None or edges[2] is None else xp.sum_to(g, shape=bias.shape)
    return grad_x, grad_w, grad_b


def w_special(w):
    return w.flags.f_contiguous and not w.flags.c_contiguous


class _Variant:
    def __init__(self, fn, outputs=(0,), extra=None):
        self.fn = fn
        self.outputs = outputs
        self.extra = extra or (lambda args, outs: ())

    def __call__(self, buffers, *args):
        return self.fn(buffers, *args)


def _variants():
    table = {}
    linear, relu = PRIMITIVES["linear"], PRIMITIVES["relu"]
    table[linear.forward] = _Variant(_linear_into)
    table[relu.forward] = _Variant(_relu_into)
    table[relu.vjps[0]] = _Variant(_relu_vjp_into, extra=lambda args, outs: (np.empty(outs[0].shape, bool),))
    table[linear.joint_vjp] = _Variant(_linear_vjp_into, outputs=(0, 1))
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
    replays run side by side with eager (``check``).
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

    def __call__(self, *args):
        """One step: a replay when this signature was captured before, else a capture (an eager step)."""
        # the signature and the input arrays in one pass (this runs at every call)
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
        try:
            if self.checked < self.check:
                result = self.checked_replay(entry, args, arrays)
                self.checked += 1
                return result
            out = entry[0](*arrays)
        except _Stale:  # a parameter now holds an array of another shape or dtype (raised before any step)
            del self.cache[key]
            return self.capture(key, args)
        return None if out is None else _plain_tensor(out)

    def capture(self, key, args):
        """Run ``step_fn(*args)`` eagerly while recording it, and keep the replay under ``key``."""
        arrays = [a._array for a in args if isinstance(a, Tensor)]
        modes = tuple([m.training for m in self.guarded])
        tape = _Tape(arrays)
        engine.backward_listeners.append(tape.on_backward)
        previous = set_capture(tape)
        try:
            result = self.step_fn(*args)
        finally:
            set_capture(previous)
            engine.backward_listeners.remove(tape.on_backward)
        known = {id(m) for m in self.guarded}
        new_modules = [m for k, m in tape.modules.items() if k not in known]
        if new_modules:  # a longer signature: the entries cached so far are keyed without these flags
            self.guarded.extend(new_modules)
            self.cache.clear()
            key = key[:-1] if modes else key
            key = key + (modes + tuple([m.training for m in new_modules]),)
        tape.verify_backward()
        result_name = None
        if result is not None:
            if not isinstance(result, Tensor) or id(result._array) not in tape.slot_of:
                raise CompileError("mg.compile: the step must return None or a Tensor it computed")
            result_name = tape.slot_of[id(result._array)]
        replay, steps = tape.build(result_name, self.buffers)
        self.buffer_bytes = tape.buffer_bytes
        reread = {name for _, name in tape.reread}
        state = [v for k, v in tape.consts.items() if isinstance(v, np.ndarray) and v.flags.writeable
                 and k not in reread]
        optimizers = [getattr(v, "__self__", None) for v in tape.consts.values()]
        optimizers = [o for o in optimizers if hasattr(o, "param_groups")]
        leaves = [v for v in tape.consts.values() if isinstance(v, Tensor)]
        self.cache[key] = (replay, state, optimizers, leaves, steps, [t for t, _ in tape.reread])
        self.captures += 1
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

    def checked_replay(self, entry, args, arrays):
        """A replay, then the same step run eagerly from the same state; raises if any bit differs."""
        replay, state, optimizers, leaves, _, tensors = entry
        state = state + [t._array for t in tensors]  # (the parameters' arrays now)
        before = [a.copy() for a in state]
        opt_before = [_copy_state(o.state) for o in optimizers]
        grads_before = [leaf._grad for leaf in leaves]
        rng = _global_rng()
        rng_before = rng.bit_generator.state
        out = replay(*arrays)
        got = ([a.copy() for a in state], [None if leaf._grad is None else leaf._grad._array.copy() for leaf in leaves],
               None if out is None else out.copy())
        for a, b in zip(state, before):
            a[...] = b
        for o, s in zip(optimizers, opt_before):
            _restore_state(o.state, s)
        for leaf, g in zip(leaves, grads_before):
            leaf._grad = g
        rng.bit_generator.state = rng_before  # eager draws the same dropout masks as the replay did
        expected = self.step_fn(*args)
        want = (state, [None if leaf._grad is None else leaf._grad._array for leaf in leaves],
                None if expected is None else expected._array)
        for what, x, y in (("state", got[0], want[0]), ("gradients", got[1], want[1])):
            for i, (a, b) in enumerate(zip(x, y)):
                if (a is None) != (b is None) or a is not None and not _bits_equal(a, b):
                    raise CompileError(f"mg.compile(check=...): replay differs from eager in {what} #{i}")
        if (got[2] is None) != (want[2] is None) or got[2] is not None and not _bits_equal(got[2], want[2]):
            raise CompileError("mg.compile(check=...): replay's result differs from eager's")
        return expected


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
    ``optimizer.step()``; it returns None or a Tensor it computed (the loss). The returned callable
    takes the same arguments. Its first call for a *signature* (each Tensor argument's shape, dtype and
    ``requires_grad``, the other arguments' values, the grad mode and the ``training`` flags of the
    modules the step called) runs ``step_fn`` eagerly and records every op, the backward pass in the
    engine's order and the optimizer's update; the later calls with that signature replay the record:
    the same NumPy functions on the new inputs' arrays, with no Tensor, Node or Python code of
    ``step_fn`` in between. The results (the loss, the parameters, ``.grad`` and the optimizer's state)
    equal eager bit for bit.

    A step whose Python control flow depends on a value it computed (``if loss.item() > 1``, ``.numpy()``
    of an intermediate) cannot be replayed: its capture raises ``CompileError``. Run it eagerly instead.

    Args:
        step_fn: the step; its Python code runs only when a signature is captured.
        check: ``True`` runs the first 3 replays side by side with an eager step (``N``, an int: the
            first N) and raises ``CompileError`` on any bit of difference; the eager results are kept.
        cache_size: how many signatures keep their replay (least recently used first out). A warning
            says when captures keep coming for new signatures and the cache evicts one.
        buffers: write the results of ops that have an out= variant (linear, relu) into arrays kept
            by the replay: a leaf's ``.grad`` may then be rewritten by the next call.

    Returns:
        A ``CompiledStep``: call it as ``step_fn``; ``.captures`` counts the captures so far.
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
