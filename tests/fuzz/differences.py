"""Where microgradnp and PyTorch may disagree, written down once: deliberate differences and open bugs.

``DIFFERENCES``: microgradnp differs from PyTorch on purpose. Each entry gives its reason and the item of
"What differs" in docs/guide/porting-from-pytorch.md that documents it, and says how the fuzzer keeps out
of it: a predicate that keeps such steps out of the programs (``avoid``), a mapping applied when comparing
(``program.check``), or a rule of the generators (``builder.py``, ``catalogue.py``).

``KNOWN_OPEN``: bugs that are known and being fixed elsewhere. The fuzzer does not generate them (each
entry's ``avoid``), and ``test_known_open.py`` runs each entry's ``repro`` — a direct check that returns True
while the bug is still there. When a fix lands that test fails and names the entry to delete: the fuzzer
then generates those programs again. The entries were found by this fuzzer
(``found_by_fuzzer``); the 21 cases of issue 17 it was first built around are fixed and gone from it.

This module needs no PyTorch: the predicates only read attributes of the tensors they are given.
"""
import collections
import dataclasses
import warnings

import numpy as np

import microgradnp as mg
import microgradnp.nn.functional as F

DOC = "docs/guide/porting-from-pytorch.md, What differs"


@dataclasses.dataclass
class Context:
    """What a predicate sees: the builder (pool, history), the step, and PyTorch's outcome once it ran."""

    builder: object
    step: object
    outcome: object = None   # None before the step ran in PyTorch

    @property
    def op(self):
        return self.step.op

    @property
    def params(self):
        return self.step.params

    def tensor(self, name):
        return self.builder.ns.get(name)

    def inputs(self):
        return [self.builder.ns[n] for n in self.step.inputs if n in self.builder.ns]

    def error(self):
        return None if self.outcome is None else self.outcome.error


@dataclasses.dataclass
class Entry:
    key: str
    title: str
    why: str
    avoid: object = None          # predicate(ctx) -> True to keep the step out of programs
    how: str = ""                 # how the fuzzer keeps out of it when there is no predicate
    doc: str = ""                 # the documentation item (deliberate differences)
    case: object = None           # issue 17's case number (known open bugs)
    repro: object = None          # () -> True while the bug reproduces (known open bugs)
    found_by_fuzzer: bool = False


AVOIDED = collections.Counter()   # entry key -> steps kept out, over this process


def avoided(ctx):
    """True when some difference or known open bug covers this step (counted in AVOIDED)."""
    for entry in DIFFERENCES + KNOWN_OPEN:
        if entry.avoid is not None and entry.avoid(ctx):
            AVOIDED[entry.key] += 1
            return True
    return False


# ---- small readers ----------------------------------------------------------------------------------

def _is_float(t):
    return hasattr(t, "dtype") and t.dtype.is_floating_point


def _has_zero(t):
    return t is not None and bool((t.detach() == 0).any())


def _dim_in_range(dim, ndim):
    n = max(ndim, 1)
    return -n <= dim < n


MG_INTERNAL_VIEWS = frozenset({"outer"})   # composites whose nodes keep a view of their inputs


def _recorded_into_internal_view(ctx):
    # views never get written in place here (D5, Builder.writable); left is a tensor that a composite keeps
    # a view of (outer reshapes its inputs, and the product keeps each reshaped factor)
    if ctx.step.target is None or _inplace_outside_recording(ctx):
        return False
    entry = ctx.builder.pool.get(ctx.step.target)
    return entry is not None and bool(MG_INTERNAL_VIEWS & set(entry.consumers))


def _outside(index, t, dim):
    """Whether some index is negative or too large for ``t`` along ``dim`` (a dim out of range: False)."""
    if not -t.ndim <= dim < max(t.ndim, 1):
        return False
    size = t.shape[dim] if t.ndim else 1
    return bool(np.size(index)) and bool((np.asarray(index) < 0).any() or (np.asarray(index) >= size).any())


def _inplace_outside_recording(ctx):
    """An in-place step that writes into the array itself in microgradnp (no rebinding)."""
    if ctx.step.target is None:
        return False
    if ctx.step.mode == "no_grad":
        return True
    return not any(getattr(t, "requires_grad", False) for t in ctx.inputs())


# ---- deliberate differences ---------------------------------------------------------------------------

ELEMENTWISE = frozenset({"add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv", "maximum", "minimum", "pow",
                         "where", "compare", "cat", "stack", "clamp", "add_", "sub_", "mul_", "div_", "iadd",
                         "copy_", "setitem"})


def _mixed_float_dtypes(ctx):
    tensors = [t for t in ctx.inputs() if _is_float(t)]
    if len({t.dtype for t in tensors}) < 2:
        return False
    if ctx.op not in ELEMENTWISE:
        return True   # PyTorch refuses mixed dtypes in matmul, linear, losses...; NumPy promotes
    # a 0-d tensor does not decide the result dtype in PyTorch (like a Python number); in NumPy it does
    return len({t.ndim == 0 for t in tensors}) > 1


DIFFERENCES = [
    Entry("D1", "Dtypes follow NumPy's promotion rules",
          "A 0-d float64 tensor with a float32 tensor gives float64 (PyTorch: float32, a 0-d tensor counts like "
          "a Python number); mixed float dtypes in matmul, linear and losses are promoted (PyTorch refuses); "
          "integer division gives float64.",
          avoid=_mixed_float_dtypes, doc=f"{DOC}, item 1",
          how="mixed float dtypes only in elementwise ops between tensors of equal rank class; integers only as "
              "indices and targets (no integer arithmetic)"),
    Entry("D2", "CPU only, and honest about it", "Any device but the CPU raises; mg.device('cpu') == 'cpu'.",
          doc=f"{DOC}, item 2", how="no device is ever named"),
    Entry("D3", "In-place ops on tensors that require grad rebind their array while recording",
          "microgradnp computes the result out of place and rebinds the tensor, so values saved for backward "
          "stay intact: a backward that PyTorch refuses ('modified by an inplace operation') succeeds; and it "
          "refuses such an op on a tensor that shares memory with a live view, which PyTorch writes through.",
          doc=f"{DOC}, item 3",
          how="mapped: when PyTorch's backward refuses a program with in-place ops while recording, the fuzzer "
              "compares with PyTorch running each such op on a clone (program.check, Step.source(mapped=True)); "
              "an in-place op that records on a tensor sharing memory with a live view is refused: kept out",
          avoid=lambda ctx: _recorded_into_internal_view(ctx)),
    Entry("D4", "numpy() works on tensors that require grad", "It returns the data array itself.",
          doc=f"{DOC}, item 4", how="programs never call numpy()"),
    Entry("D5", "Views share memory, as in PyTorch",
          "Nothing differs for programs: views, detach() and their writes follow PyTorch (the in-place ops that "
          "record on a tensor sharing memory with a live view are D3's).", doc=f"{DOC}, item 5",
          how="in-place steps only write tensors that own their memory and that no view op has read "
              "(builder.VIEW_OPS, Builder.writable)"),
    Entry("D6", "NumPy's names work too", "axis/keepdims and np.* on tensors: no PyTorch counterpart.",
          doc=f"{DOC}, item 6", how="programs use PyTorch's names only"),
    Entry("D7", "Random numbers come from NumPy", "The same seed draws different numbers.",
          doc=f"{DOC}, item 7",
          how="no random op runs inside a program: layers get their weights copied in, dropout runs in eval "
              "mode or with p in {0, 1}"),
    Entry("D8", "Checkpoints are .npz", "mg.save/mg.load.", doc=f"{DOC}, item 8", how="not generated"),
    Entry("D9", "Losses check their input",
          "binary_cross_entropy raises outside [0, 1] (as PyTorch does) and warns on softmax rows; the losses "
          "refuse a target whose shape differs from the input's, where PyTorch broadcasts it with a warning.",
          doc=f"{DOC}, item 9 (the shape check is in nn/functional/loss_checks.py, matching_target)",
          how="targets always have the input's shape; warnings are not compared"),
    Entry("D10", "Graph drawings are built in", "mg.viz has no PyTorch counterpart.", doc=f"{DOC}, item 10",
          how="not generated"),
    Entry("D11", "nn.Linear keeps large weights in Fortran order", "Values are the same.", doc=f"{DOC}, item 11",
          how="nothing to avoid: values are compared, not layouts"),
    Entry("D12", "SGD rounds as PyTorch's where the BLAS allows", "Optimizers are not fuzzed.",
          doc=f"{DOC}, item 12", how="not generated"),
    Entry("D13", "Indexing reads as in PyTorch, and takes NumPy's negative steps too",
          "x[::-1] works (PyTorch refuses negative steps), uint8 index tensors index by position, gather and "
          "take_along_dim take any integer index dtype and always check their indices.", doc=f"{DOC}, item 13",
          how="negative steps and uint8 indices are not generated; take_along_dim with indices PyTorch does not "
              "check (negative or too large) is kept out",
          avoid=lambda ctx: ctx.op == "take_along_dim" and _outside(
              ctx.params["index"], ctx.tensor(ctx.step.inputs[0]), ctx.params["dim"])),
    Entry("D14", "A few edge cases answer differently, on purpose",
          "var/std with no more elements than the correction raise (PyTorch: nan with a warning); the exponent's "
          "gradient of a ** b is 0 where a <= 0 (PyTorch: nan, or -inf at 0 ** negative); clamp's NaN results "
          "carry no gradient.", doc=f"{DOC}, item 14",
          avoid=lambda ctx: _avoid_f02(ctx) or _avoid_f04_f05(ctx)),
    Entry("D15", "Data loading runs in-process", "DataLoader's worker arguments change nothing.",
          doc=f"{DOC}, item 15", how="not generated"),
    Entry("D16", "Smaller differences, point by point",
          "sort/topk always stable and sorted; scatter's repeated indices; kl_div's gradient at target 0; "
          "inference_mode is no_grad; NumPy's type promotion between float and integer tensors.",
          doc=f"{DOC}, item 16", how="those ops are not generated; integers only as indices and targets (D1)"),
    Entry("D17", "Not provided: GPUs, sparse and complex tensors, convolutions, JIT...", "Out of scope.",
          doc=f"{DOC}, item 17", how="not generated"),
]


# ---- known open bugs ---------------------------------------------------------------------------------------

def _raises(fn, *errors):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                fn()
    except errors or (Exception,):
        return True
    return False


# ---- known open bugs found by this fuzzer ------------------------------------------------------------------





def repro_f03():
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    return not mg.sign(x).requires_grad   # PyTorch: requires_grad, and x gets a zero gradient through it






def repro_f06():
    from microgradnp import nn
    return _raises(lambda: nn.BatchNorm1d(2)(mg.zeros((0, 2))))   # PyTorch: an empty (0, 2) result


def _changed_after(fn, output=False):
    """Backward through ``fn(x)`` after x (or the output) was changed in place under no_grad: True if it raises."""
    x = mg.tensor(np.array([[0.5, 1.5], [2.0, 0.7]]), requires_grad=True) * 1
    y = fn(x)
    with mg.no_grad():
        (y if output else x).mul_(1.5)
    return _raises(lambda: y.sum().backward(), RuntimeError)


# ops whose input (or output) PyTorch saves for backward, so that changing it in place makes backward refuse,
# while microgradnp's gradient does not read it and backward goes on, with the gradient of the old values
LENIENT_INPUTS = {
    "gelu": lambda x: F.gelu(x), "leaky_relu": lambda x: F.leaky_relu(x, 0.2), "div": lambda x: x / 2.0,
    "softplus": lambda x: F.softplus(x, beta=2.0, threshold=3.0), "softplus_smooth": lambda x: F.softplus(x),
    "elu": lambda x: F.elu(x), "clamp": lambda x: mg.clamp(x, min=mg.tensor(np.array([0.5, 0.5]))),
    "logsumexp": lambda x: mg.logsumexp(x, 0), "var": lambda x: x.var(0), "std": lambda x: x.std(0),
    "gather": lambda x: mg.gather(x, 0, mg.tensor([[1, 0]])),
    "take_along_dim": lambda x: mg.take_along_dim(x, mg.tensor([[1, 0]]), 0),
    "mse_loss": lambda x: F.mse_loss(x, mg.ones((2, 2))),
    "huber_loss": lambda x: F.huber_loss(x, mg.ones((2, 2))), "nll_loss": lambda x: F.nll_loss(x, mg.tensor([0, 1])),
    "LayerNorm": lambda x: F.layer_norm(x, (2,)),
    "BatchNorm1d": lambda x: F.batch_norm(x, mg.zeros(2), mg.ones(2)),
    "hardtanh": lambda x: F.hardtanh(x, -0.5, 0.5),
}
LENIENT_OUTPUTS = {"logsumexp": lambda x: mg.logsumexp(x, 0), "log_softmax": lambda x: mg.log_softmax(x, 0),
                   "std": lambda x: x.std(0)}

# and the other way round: microgradnp keeps a value for its version check that PyTorch does not save
STRICT_INPUTS = {
    "cross_entropy": lambda x: F.cross_entropy(x, mg.tensor([0, 1])),
    "max_dim": lambda x: x.max(dim=0)[0], "rdiv": lambda x: 2.0 / x,
}
STRICT_OUTPUTS = {  # a division saves its output (for the divisor's gradient), so does pow; mean, var... divide
    "div": lambda x: x / 2.0, "rdiv": lambda x: 2.0 / x, "pow": lambda x: x ** 2, "mean": lambda x: x.mean(0),
    "var": lambda x: x.var(0),
    "max_dim": lambda x: x.max(dim=0)[0], "mse_loss": lambda x: F.mse_loss(x, mg.ones((2, 2))),
    "l1_loss": lambda x: F.l1_loss(x, mg.ones((2, 2))), "huber_loss": lambda x: F.huber_loss(x, mg.ones((2, 2))),
    "binary_cross_entropy_with_logits": lambda x: F.binary_cross_entropy_with_logits(x, mg.ones((2, 2))),
    "nll_loss": lambda x: F.nll_loss(x, mg.tensor([0, 1])), "LayerNorm": lambda x: F.layer_norm(x, (2,)),
    "cross_entropy": lambda x: F.cross_entropy(x, mg.tensor([0, 1]), weight=mg.tensor([1.0, 2.0])),
}


def repro_f07():
    return not all(_changed_after(fn) for fn in LENIENT_INPUTS.values()) or \
        not all(_changed_after(fn, output=True) for fn in LENIENT_OUTPUTS.values())


def _matmul_batched_right():
    a = mg.tensor(np.ones((4, 3)), requires_grad=True)
    b = mg.tensor(np.ones((2, 3, 2)), requires_grad=True) * 1
    y = mg.matmul(a, b)     # PyTorch saves a contiguous copy of the broadcast right operand
    with mg.no_grad():
        b.mul_(2.0)
    return _raises(lambda: y.sum().backward(), RuntimeError)


def repro_f08():
    return any(_changed_after(fn) for fn in STRICT_INPUTS.values()) or \
        any(_changed_after(fn, output=True) for fn in STRICT_OUTPUTS.values()) or _matmul_batched_right()


ALIASES = {"gelu": {"gelu_tanh"}, "div": {"rdiv"}, "pow": {"rpow"}}


def _names(table):
    return frozenset(table).union(*(ALIASES.get(name, set()) for name in table))


def _changed_in_place(ctx, inputs, outputs):
    """A write outside recording into a tensor that an op of ``inputs`` read, or that one of ``outputs`` made."""
    if not _inplace_outside_recording(ctx):
        return False
    entry = ctx.builder.pool.get(ctx.step.target)
    return entry is not None and (bool(_names(inputs) & set(entry.consumers)) or entry.op in _names(outputs))




def _avoid_f02(ctx):
    if ctx.op not in ("var", "std"):
        return False
    x, dim = ctx.tensor(ctx.step.inputs[0]), ctx.params.get("dim")
    if dim is None:
        count = x.numel()
    else:
        dims = dim if isinstance(dim, tuple) else (dim,)
        if not all(_dim_in_range(d, x.ndim) for d in dims):
            return False
        count = int(np.prod([x.shape[d] for d in dims])) if x.ndim else 1
    return count - ctx.params["correction"] <= 0


def _avoid_f03(ctx):
    return ctx.op == "sign"


def _avoid_f04_f05(ctx):
    if ctx.op not in ("pow", "rpow"):
        return False
    if ctx.op == "rpow":
        return ctx.params["base"] == 0.0 and bool((ctx.tensor(ctx.step.inputs[0]).detach() < 0).any())
    exponent = ctx.params.get("exponent")
    if not isinstance(exponent, str):
        return False
    base, exponent = ctx.tensor(ctx.step.inputs[0]).detach(), ctx.tensor(exponent).detach()
    return bool((base < 0).any()) or (bool((base == 0).any()) and bool((exponent < 0).any()))


def _avoid_f06(ctx):
    return ctx.op == "BatchNorm1d" and ctx.params["training"] and ctx.params["count"] == 0






def repro_f10():
    x = mg.tensor([1.0, 0.2], requires_grad=True)
    v = x * 1
    v.clamp_(min=0.5)       # recorded: v is rebound to clip(old v), and clip keeps the Tensor v
    with mg.no_grad():
        v.add_(0.5)         # bumps v's version, though clip read the old array
    clamp_refuses = _raises(lambda: v.sum().backward(), RuntimeError)   # PyTorch: x.grad = [1., 0.]
    x = mg.tensor([1.0, 0.2], requires_grad=True)
    v = x * 1
    y = mg.sin(v)           # sin keeps the Tensor v
    v.sub_(y)               # recorded: v is rebound
    with mg.no_grad():
        v.fill_(0.5)
    sin_refuses = _raises(lambda: (v + y).sum().backward(), RuntimeError)   # PyTorch (as D3 maps it): goes on
    return clamp_refuses or sin_refuses


def _avoid_f10(ctx):
    if not _inplace_outside_recording(ctx):
        return False
    entry = ctx.builder.pool.get(ctx.step.target)
    return entry is not None and bool(entry.recorded_inplace)


def _grad_at_nan(fn):
    x = mg.tensor(np.array([np.nan, 1.0], np.float32), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fn(x).sum().backward()
    return x.grad.numpy()[0]


NAN_GRADIENTS = {  # op: (its call on x = [nan, 1.], PyTorch's gradient at the nan)
    "abs": (lambda x: mg.abs(x), 0.0),
    "l1_loss": (lambda x: F.l1_loss(x, mg.tensor(np.array([0.5, 0.5], np.float32)), reduction="sum"), 0.0),
    "relu": (lambda x: F.relu(x), 1.0),
    "maximum": (lambda x: mg.maximum(x, mg.tensor(np.array([0.5, 0.5], np.float32))), 1.0),
    "elu": (lambda x: F.elu(x), 1.0),
}


def repro_f11():
    return any(not np.isclose(_grad_at_nan(fn), expected) for fn, expected in NAN_GRADIENTS.values())


NAN_SENSITIVE = frozenset(NAN_GRADIENTS) | {"minimum", "huber_loss", "sign", "leaky_relu", "clamp", "softplus",
                                            "softplus_smooth", "max_all", "max_dim", "amax", "amin", "where",
                                            "masked_fill", "setitem", "binary_cross_entropy_with_logits",
                                            "BatchNorm1d", "LayerNorm", "gelu", "gelu_tanh"}


def _avoid_f11(ctx):
    if ctx.op not in NAN_SENSITIVE:
        return False
    return any(_is_float(t) and bool(t.detach().isnan().any()) for t in ctx.inputs())






def repro_f13():
    x = mg.tensor([-1.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (1.0 / F.relu(x)).sum().backward()
    return bool(np.isnan(x.grad.numpy()[0]))   # PyTorch: [0., -0.25]


INFINITE_SLOPE = frozenset({"sqrt", "pow", "rpow"})


def _avoid_f13(ctx):
    # a tensor holding inf or nan is compared where it is made (values and gradient) but is no op's input after
    # that: the gradients flowing back into it would be inf or nan, which the masks of later ops turn into nan
    if ctx.outcome is not None:
        return False
    if any(_is_float(t) and not bool(t.detach().isfinite().all()) for t in ctx.inputs()):
        return True
    # sqrt(0) (and 0 ** 0.5): a finite value with an infinite gradient
    return ctx.op in INFINITE_SLOPE and any(_is_float(t) and _has_zero(t) for t in ctx.inputs()[:1])


def repro_f14():
    x = mg.tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    ignored = F.cross_entropy(x, mg.tensor([-100]), reduction="none")      # PyTorch: [0.]; microgradnp: [-0.]
    one_class = F.cross_entropy(mg.tensor(np.array([0.96])), mg.tensor(np.array([1.0])))   # PyTorch: -0.0
    return bool(np.signbit(ignored.numpy()[0])) or not np.signbit(one_class.item())


DIVISIONS = {"div": 1, "rdiv": 0, "div_": 1, "rsqrt": 0}   # op: the position of the denominator among the inputs


def _avoid_f14(ctx):
    # a zero loss (or any exact zero) ends up as a denominator: the sign of the infinity is the sign of the zero
    position = DIVISIONS.get(ctx.op)
    if position is None or ctx.outcome is not None or len(ctx.step.inputs) <= position:
        return False
    return _has_zero(ctx.tensor(ctx.step.inputs[position]))


def repro_f15():
    return not _raises(lambda: F.one_hot(mg.tensor(np.zeros(0, np.int64))))   # PyTorch: "Can not infer total
    # number of classes from empty tensor."


def _avoid_f15(ctx):
    return ctx.op == "one_hot" and ctx.params["size"] == 0 and ctx.params["num_classes"] == -1


def repro_f16():
    return _raises(lambda: mg.cat([mg.zeros(0), mg.zeros(0)], dim=1))   # PyTorch skips legacy empty 1-D tensors


def _avoid_f16(ctx):
    return ctx.op == "cat" and any(tuple(t.shape) == (0,) for t in ctx.inputs()) and \
        not _dim_in_range(ctx.params["dim"], 1)


def repro_f17():
    x = mg.tensor(np.zeros((1, 0, 1), np.float32))
    return not _raises(lambda: F.nll_loss(x, mg.tensor([[0]]), ignore_index=0, reduction="sum"))


def _avoid_f17(ctx):
    return ctx.op in ("nll_loss", "cross_entropy") and ctx.params["classes"] == 0 and \
        ctx.tensor(ctx.step.inputs[0]).ndim >= 3


_FOUND = [  # (key, title, why, avoid, repro)
    ("F03", "sign() of a tensor that requires grad does not require grad (PyTorch: it does, zero gradient)",
     "functions.sign returns a tensor without a node", _avoid_f03, repro_f03),
    ("F06", "BatchNorm1d in training on an empty batch raises (PyTorch returns an empty result)",
     "batch_norm refuses count <= 1, 0 included", _avoid_f06, repro_f06),
    ("F07", "backward after an in-place change (under no_grad) of a tensor that PyTorch saves but microgradnp does "
            "not read succeeds (PyTorch refuses): the input of " + ", ".join(sorted(LENIENT_INPUTS)) +
            "; the output of " + ", ".join(sorted(LENIENT_OUTPUTS)),
     "the composites read other values (constants, differences) that were not changed; the gradient is that of "
     "the old values", lambda ctx: _changed_in_place(ctx, LENIENT_INPUTS, LENIENT_OUTPUTS), repro_f07),
    ("F08", "backward after an in-place change (under no_grad) of a tensor that microgradnp keeps but PyTorch does "
            "not save raises (PyTorch goes on): the input of " + ", ".join(sorted(STRICT_INPUTS)) +
            "; the output of " + ", ".join(sorted(STRICT_OUTPUTS)) + "; the batched right operand of "
            "matrix @ batch (PyTorch saves a copy)",
     "a node that saves its output is marked modified whichever VJP reads it (div saves it for the divisor's "
     "gradient), the fused cross_entropy and amax keep their input",
     lambda ctx: _changed_in_place(ctx, set(STRICT_INPUTS) | {"matmul"}, STRICT_OUTPUTS), repro_f08),
    ("F10", "after an in-place op recorded on a non-leaf, a later in-place change under no_grad makes backward "
            "raise where the ops that read the tensor (the recorded op itself: clamp_, mul_, div_, setitem, fill_, "
            "copy_; or an earlier op such as sin) read the old array (PyTorch goes on)",
     "nodes keep the Tensor object for their version check, and rebinding keeps the object: its version moves "
     "though the array they read did not change",
     _avoid_f10, repro_f10),
    ("F11", "gradients where the input is nan differ: abs and l1_loss give nan (PyTorch 0: sign(nan) is 0), relu, "
            "maximum and elu give 0 or nan (PyTorch passes the gradient: its masks compare with nan as false)",
     "the VJPs build their masks the other way round (x > 0 selects, where PyTorch's x <= 0 blocks)", _avoid_f11,
     repro_f11),
    ("F13", "an infinite or nan gradient blocked by a mask becomes nan: 1 / relu(x) at x < 0 gives x.grad nan "
            "(PyTorch 0); the same through nll_loss / cross_entropy (other classes, ignored targets), clamp, abs, "
            "maximum..., and a nan input of cross_entropy's ignored target makes the loss nan (PyTorch: 0)",
     "the VJPs multiply by the mask (inf * 0 = nan) where PyTorch selects (where(mask, g, 0)); the fuzzer uses "
     "no tensor holding inf or nan as an input, nor sqrt/pow at 0", _avoid_f13, repro_f13),
    ("F14", "signed zeros of losses that are exactly 0 differ: cross_entropy / nll_loss with reduction='none' give "
            "-0.0 for ignored targets (PyTorch 0.0), cross_entropy of one class with a probability target gives "
            "0.0 (PyTorch -0.0): 1 / loss has the other infinity",
     "the loss is -sum(log_probs * mask), PyTorch's -(target * log_probs).sum(); the fuzzer divides by no exact "
     "zero", _avoid_f14, repro_f14),
    ("F15", "one_hot of an empty tensor with num_classes=-1 returns a (0, 0) tensor (PyTorch raises: 'Can not infer "
            "total number of classes from empty tensor')", "num_classes is taken as 0", _avoid_f15, repro_f15),
    ("F16", "cat of (0,)-shaped tensors along dim 1 raises (PyTorch skips legacy empty 1-D tensors in cat)",
     "np.concatenate checks the axis", _avoid_f16, repro_f16),
    ("F17", "nll_loss / cross_entropy of an (N, 0, d) input (no classes, every target ignored) return 0 (PyTorch "
            "raises 'size mismatch'; arguably PyTorch's quirk: (N, 0) inputs work in both)",
     "no check for zero classes", _avoid_f17, repro_f17),
]

# (the 21 cases of issue 17 were entries K01-K21 here until their fixes landed)
KNOWN_OPEN = [Entry(key, title, why, avoid=avoid, case=key, repro=repro, found_by_fuzzer=True)
              for key, title, why, avoid, repro in _FOUND]
