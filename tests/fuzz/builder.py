"""Building a program one step at a time, with PyTorch running each step as it is drawn.

Running PyTorch while drawing tells the builder every tensor's shape, dtype and values, so each op is
drawn with arguments that fit its inputs (and, now and then, arguments that do not, for error parity).
A step that PyTorch refuses ends the program: the test then checks that microgradnp refuses it too.

Before a step is kept, every entry of ``differences.DIFFERENCES`` and ``differences.KNOWN_OPEN`` is
asked whether the step is one it covers (``avoid(ctx)``); such a step is not generated.
"""
import dataclasses
import itertools

import numpy as np
from hypothesis import strategies as st

from . import differences
from .program import Program, Step, exec_step, fresh_namespace

FLOAT_DTYPES = ("float32", "float64")
SIDES = [0] + [1, 2, 3, 4] * 3   # a dimension's length: 0 about one time in thirteen
SCALARS = [0.5, 2.0, -1.5, 3.0, 1.0, 0.0, -0.25]
PROFILES = ("normal", "normal", "grid", "positive")

# ops whose output may share memory with (or be) their input, in either framework: their outputs are
# never written in place, nor are their inputs afterwards (D5: writing through views is not supported)
VIEW_OPS = frozenset({
    "reshape", "view", "transpose", "permute", "mT", "squeeze", "unsqueeze", "expand", "broadcast_to", "flatten",
    "getitem", "split", "chunk", "detach", "to", "dropout", "Dropout", "unbind", "max_dim_values", "identity",
})


# the op whose output a tensor is after an in-place op while recording (microgradnp computes it out of place;
# fill_, copy_ and setitem select with where)
RECORDED_AS = {"add_": "add", "iadd": "add", "sub_": "sub", "mul_": "mul", "div_": "div", "clamp_": "clamp",
               "fill_": "where", "zero_": "where", "copy_": "where", "setitem": "where"}


class StopProgram(Exception):
    """The program ends here (a step raised in PyTorch, or was avoided after it ran)."""


@dataclasses.dataclass
class Entry:
    """What the builder knows about a pool name besides the tensor itself."""

    op: str                 # the op that made it
    fresh: bool = True      # owns its memory in both frameworks
    viewed: bool = False    # some view op read it: its memory may be shared
    leaf: bool = False
    consumers: list = dataclasses.field(default_factory=list)   # ops that read it
    recorded_inplace: list = dataclasses.field(default_factory=list)   # in-place ops applied while recording


def _non_finite(outcome):
    return any(snap[0].dtype.kind == "f" and not np.isfinite(snap[0]).all() for snap in outcome.values.values())


def make_array(rng, shape, dtype, profile="normal"):
    """Data for a leaf or a constant: normal, on a grid of halves (ties, zeros), positive, or in (0, 1)."""
    if profile == "grid":
        array = rng.integers(-4, 5, shape) / 2
    elif profile == "positive":
        array = rng.uniform(0.25, 2.5, shape)
    elif profile == "unit":
        array = rng.uniform(0.05, 0.95, shape)
    else:
        array = np.round(rng.standard_normal(shape) * 1.5, 4)
    return np.asarray(array, dtype=dtype)


class Builder:
    """The program being drawn, the PyTorch namespace it runs in, and the helpers op generators use."""

    def __init__(self, draw, smooth=False, max_steps=10):
        self.draw = draw
        self.smooth = smooth
        self.max_steps = max_steps
        self.rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
        self.program = Program(consts={}, steps=[], leaves=[], loss_weights={}, second_order=smooth)
        self.ns = fresh_namespace(self.program, "torch")
        self.pool = {}
        self._names = itertools.count()
        self._consts = itertools.count()
        self._modules = itertools.count()

    # ---- names and constants ------------------------------------------------------------------------
    def name(self):
        return f"v{next(self._names)}"

    def module_name(self):
        return f"m{next(self._modules)}"

    def const(self, array):
        """Register a NumPy constant; returns its name (each replay gets a fresh copy)."""
        name = f"c{next(self._consts)}"
        array = np.asarray(array)
        self.program.consts[name] = array
        self.ns[name] = array.copy()
        return name

    # ---- drawing ----------------------------------------------------------------------------------
    def choice(self, options, label=None):
        return self.draw(st.sampled_from(list(options)), label=label)

    def flag(self, p_true=0.5):
        """A boolean that is True about ``p_true`` of the time (in steps of 1/8)."""
        return self.draw(st.integers(0, 7)) < round(p_true * 8)

    def integer(self, low, high):
        return self.draw(st.integers(low, high))

    def dtype(self):
        return "float64" if self.smooth else self.choice(FLOAT_DTYPES)

    def shape(self, min_dims=0, max_dims=3):
        n = self.integer(min_dims, max_dims)
        sides = [1, 2, 3, 4] if self.smooth else SIDES
        return tuple(self.choice(sides) for _ in range(n))

    def scalar(self):
        return self.choice(SCALARS)

    def dim(self, ndim, bad=0.03):
        """A dim of a tensor with ``ndim`` dims (PyTorch takes -1 and 0 for a 0-d tensor); rarely out of range."""
        n = max(ndim, 1)
        if not self.smooth and self.integer(0, 99) < bad * 100:
            return self.choice([n, -n - 1])
        return self.integer(-n, n - 1)

    def broadcastable(self, shape):
        """A shape that broadcasts with ``shape``: trailing dims equal or 1, maybe fewer or more dims."""
        kind = self.integer(0, 19)
        if kind == 0 and not self.smooth:  # a mismatch, for error parity
            return tuple(n + 1 for n in shape) or (2,)
        if kind in (1, 4):
            return ()
        keep = self.integer(0, len(shape))
        tail = shape[len(shape) - keep:]
        out = tuple(1 if self.flag(0.25) else n for n in tail)
        if kind in (2, 3) and len(out) < 4:
            out = (self.choice([1, 2]),) + out
        return out

    # ---- the pool ---------------------------------------------------------------------------------
    def tensor(self, name):
        return self.ns[name]

    def names(self, pred=None):
        out = []
        for name in self.pool:
            t = self.ns.get(name)
            if t is not None and (pred is None or pred(t)):
                out.append(name)
        return out

    def pick(self, pred=None):
        options = self.names(pred)
        return self.choice(options) if options else None

    def floating(self, min_ndim=0, pred=None, new=0.15):
        """A floating pool tensor (with at least ``min_ndim`` dims), or a new leaf."""
        def ok(t):
            return t.dtype.is_floating_point and t.ndim >= min_ndim and (pred is None or pred(t))
        options = self.names(ok)
        if options and not self.flag(new):
            return self.choice(options)
        shape = self.shape(min_dims=min_ndim, max_dims=max(min_ndim, 3))
        name = self.leaf(shape)
        if pred is not None and not pred(self.tensor(name)):
            return None
        return name

    def leaf(self, shape, dtype=None, profile=None, requires_grad=True):
        """A new leaf (a step of its own); returns its name."""
        dtype = dtype or self.dtype()
        profile = profile or ("normal" if self.smooth else self.choice(PROFILES))
        c = self.const(make_array(self.rng, shape, dtype, profile))
        name = self.name()
        grad = ", requires_grad=True" if requires_grad else ""
        self.emit(Step("leaf", f"{name} = M.tensor({c}.copy(){grad})", outputs=(name,),
                       params={"shape": shape}), leaf=requires_grad)
        return name

    def like(self, name, profile="normal", dtype=None):
        """A new constant tensor expression with the shape of pool tensor ``name`` (no grad)."""
        t = self.tensor(name)
        array = make_array(self.rng, tuple(t.shape), dtype or str(t.dtype).split(".")[-1], profile)
        return f"M.tensor({self.const(array)})"

    def int_const(self, array):
        return f"M.tensor({self.const(np.asarray(array, dtype=np.int64))})"

    # ---- steps ------------------------------------------------------------------------------------
    def emit(self, step, leaf=False):
        """Run ``step`` in PyTorch and keep it, unless a difference or a known open bug covers it.

        Returns the step, or None when it was dropped: avoided, or refused by PyTorch and not kept. A step
        that PyTorch refused and that is kept ends the program (StopProgram).
        """
        ctx = differences.Context(self, step, None)
        if differences.avoided(ctx):
            return None
        outcome = exec_step(step, self.ns, "torch")
        ctx.outcome = outcome
        if differences.avoided(ctx):
            if step.target is not None:  # it may have changed its target: the program cannot go on without it
                raise StopProgram
            return None
        if outcome.error is not None:
            # half of the steps PyTorch refuses end the program (microgradnp must refuse them too); the others
            # are dropped, so that the program goes on to its backward pass
            if step.target is not None or self.flag(0.5):
                self.program.steps.append(step)
                raise StopProgram
            return None
        self.program.steps.append(step)
        if _non_finite(outcome):
            # gradients flowing back from inf or nan hit known open F13: such a step is either dropped or ends
            # a program that is compared forward only
            if step.target is None and not self.flag(0.3):
                self.program.steps.pop()
                return None
            self.program.forward_only = True
            raise StopProgram
        for name in step.inputs:
            if name in self.pool:
                self.pool[name].consumers.append(step.op)
                if step.op in VIEW_OPS:
                    self.pool[name].viewed = True
        if step.target is not None and step.mode == "record" and getattr(self.ns[step.target], "grad_fn", None):
            # recorded: the tensor is now the output of the op that the in-place op is computed with
            self.pool[step.target].op = RECORDED_AS.get(step.op, step.op)
            self.pool[step.target].recorded_inplace.append(step.op)
        for name in step.outputs:
            t = self.ns[name]
            self.pool[name] = Entry(step.op, fresh=step.op not in VIEW_OPS, leaf=leaf)
            if hasattr(t, "dtype") and t.dtype.is_floating_point:
                array = make_array(self.rng, tuple(t.shape), str(t.dtype).split(".")[-1])
                self.program.loss_weights[name] = array
        if leaf:
            self.program.leaves.extend(step.outputs)
        self.program.leaves.extend(step.new_leaves)
        return step

    def op(self, op, expr, inputs, params=None, mode="record"):
        """A step ``vN = expr``; returns the output's name (None when the step was avoided)."""
        out = self.name()
        step = Step(op, _both(expr, lambda e: f"{out} = {e}"), tuple(inputs), (out,), params or {}, mode)
        return out if self.emit(step) else None

    def op_tuple(self, op, expr, inputs, params=None):
        """A step whose expression returns a tuple of tensors: one pool name per piece."""
        ctx = differences.Context(self, Step(op, _both(expr, lambda e: f"_ = {e}"), tuple(inputs), (), params or {}),
                                  None)
        if differences.avoided(ctx):
            return None
        torch_expr = expr if isinstance(expr, str) else expr["torch"]
        try:
            with np.errstate(all="ignore"):
                count = len(eval(torch_expr, self.ns))
        except Exception:
            count = None
        if not count:
            return self.emit(ctx.step)  # PyTorch raises (or returns nothing): ends the program
        names = [self.name() for _ in range(count)]
        target = ", ".join(names) + ("," if count == 1 else "")
        step = Step(op, _both(expr, lambda e: f"{target} = {e}"), tuple(inputs), tuple(names), params or {})
        return names if self.emit(step) else None

    def inplace(self, op, code, target, inputs, params=None, mode="record"):
        """An in-place step on pool tensor ``target`` (which keeps its name)."""
        step = Step(op, code, tuple(inputs), (), params or {}, mode, target=target)
        return self.emit(step)

    def writable(self, name):
        """Whether ``name`` may be written in place: it owns its memory and no view of it exists."""
        entry = self.pool.get(name)
        return entry is not None and entry.fresh and not entry.viewed

    def finish(self):
        """The program, with the weights of the second-order scalar when it has one."""
        program = self.program
        if program.second_order:
            for leaf in program.leaves:
                t = eval(leaf, self.ns)
                program.grad_weights[leaf] = make_array(self.rng, tuple(t.shape), str(t.dtype).split(".")[-1])
        return program


def _both(expr, wrap):
    if isinstance(expr, str):
        return wrap(expr)
    return {framework: wrap(e) for framework, e in expr.items()}
