"""Where microgradnp and PyTorch may disagree, written down once: deliberate differences and open bugs.

``DIFFERENCES``: microgradnp differs from PyTorch on purpose. Each entry gives its reason and the item of
"What differs" in docs/guide/porting-from-pytorch.md that documents it, and says how the fuzzer keeps out
of it: a predicate that keeps such steps out of the programs (``avoid``), a mapping applied when comparing
(``program.check``), or a rule of the generators (``builder.py``, ``catalogue.py``).

``KNOWN_OPEN``: bugs that are known and being fixed elsewhere. The fuzzer does not generate them (each
entry's ``avoid``), and ``test_known_open.py`` runs each entry's ``repro`` — a direct check that returns True
while the bug is still there. When a fix lands that test fails and names the entry to delete: the fuzzer
then generates those programs again. Entries numbered 1-21 are the cases of issue 17; entries marked
``found_by_fuzzer`` were found by this fuzzer.

This module needs no PyTorch: the predicates only read attributes of the tensors they are given.
"""
import collections
import dataclasses
import warnings

import numpy as np

import microgradnp as mg
import nn.functional as F

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
    Entry("D2", "CPU only", "There is no device argument.", doc=f"{DOC}, item 2",
          how="no device is ever named"),
    Entry("D3", "In-place ops on tensors that require grad rebind .data while recording",
          "microgradnp computes the result out of place and rebinds the tensor, so values saved for backward "
          "stay intact: a backward that PyTorch refuses ('modified by an inplace operation') succeeds.",
          doc=f"{DOC}, item 3",
          how="mapped: when PyTorch's backward refuses a program with in-place ops while recording, the fuzzer "
              "compares with PyTorch running each such op on a clone (program.check, Step.source(mapped=True))"),
    Entry("D4", "numpy() works on tensors that require grad", "It returns the data array itself.",
          doc=f"{DOC}, item 4", how="programs never call numpy()"),
    Entry("D5", "view is reshape; writing through views is not supported",
          "NumPy decides whether a reshaped array shares memory, so writes through views do not reach the "
          "original (and the other way round).", doc=f"{DOC}, item 5",
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
    Entry("D13", "Not provided: devices, sparse and complex tensors, convolutions, JIT...", "Out of scope.",
          doc=f"{DOC}, item 13", how="not generated"),
]


# ---- known open bugs (issue 17) ---------------------------------------------------------------------------

def _raises(fn, *errors):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                fn()
    except errors or (Exception,):
        return True
    return False


def repro_01():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    y = a.exp()
    with mg.no_grad():
        y[0] = 5.0          # PyTorch's backward then refuses: exp needs its output
    return not _raises(lambda: y.sum().backward(), RuntimeError)


def repro_02():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    y = a.exp()
    d = y.detach()
    d.add_(1.0)             # changes y's data too; PyTorch: d and y share a version counter, backward refuses
    detached_caught = _raises(lambda: y.sum().backward(), RuntimeError)
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    view_refused = _raises(lambda: x.T.view(6))   # PyTorch: "view size is not compatible", use reshape
    return not (detached_caught and view_refused)


def repro_03():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (x ** 0).sum().backward()
    return bool(np.isnan(x.grad.numpy()).any())   # PyTorch: [0., 0.]


def repro_04():
    x = mg.tensor([1.0, 1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        x.std().backward()
    return bool(np.isnan(x.grad.numpy()).any())   # PyTorch: [0., 0.]


def repro_05():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with np.errstate(all="ignore"):
        F.cross_entropy(x, mg.tensor([-100, -100])).backward()
    return bool(np.isnan(x.grad.numpy()).any())   # PyTorch: zeros (the loss itself is NaN in both)


def repro_06():
    x = mg.tensor([1.0, 2.0], requires_grad=True) * 1
    return any(y is x for y in (x.reshape(2), x.view(2), x.squeeze(), x.expand(2)))  # PyTorch: new tensors


def repro_07():
    x = mg.tensor([[1.0, 1.0]], requires_grad=True)
    x.max(dim=1)[0].sum().backward()
    return x.grad.tolist() != [[1.0, 0.0]]        # PyTorch: the whole gradient to the returned index


def repro_08():
    return mg.zeros((2, 3, 4))[0, :, [1, 2]].shape != (3, 2)   # PyTorch: (3, 2); NumPy: (2, 3)


def repro_09():
    empty_split = [p.shape for p in mg.zeros((0, 2)).split(2)] != [(0, 2)]
    empty_chunk = [p.shape for p in mg.zeros((0, 2)).chunk(2)] != [(0, 2), (0, 2)]
    try:
        mg.zeros(3).split(0)
        zero_crash = True
    except Exception as error:
        zero_crash = "split" not in str(error)   # PyTorch: "split_size can only be 0 if dimension size is 0"
    return empty_split or empty_chunk or zero_crash


def repro_10():
    return mg.where(mg.tensor([True, False]), 1.0, 0.0).dtype != mg.float32


def repro_11():
    negative = not _raises(lambda: mg.gather(mg.tensor([1.0, 2.0, 3.0]), 0, mg.tensor([-1])))
    bad_dim = not _raises(lambda: mg.gather(mg.tensor([[1.0, 2.0, 3.0]]), 2, mg.tensor([[0]])))
    return negative or bad_dim


def repro_12():
    return not _raises(lambda: mg.zeros(3).expand(-1, 3))


def repro_13():
    probs = mg.tensor(np.full((2, 3), 1 / 3, np.float32))
    calls = [lambda: mg.zeros((2, 3, 4)).flatten(2, 1), lambda: mg.zeros(()).flatten(0, 1),
             lambda: mg.zeros(2).split([-1, 3]), lambda: F.layer_norm(mg.zeros((2, 3)), ()),
             lambda: F.cross_entropy(mg.zeros((2, 3)), probs, ignore_index=1)]
    return not all(_raises(call) for call in calls)


def repro_14():
    return _raises(lambda: mg.clamp(mg.tensor([1.0, 2.0]), min=mg.tensor([1.5, 0.0])), RecursionError)


def repro_15():
    calls = [lambda: mg.softmax(mg.zeros((2, 0)), dim=1), lambda: mg.log_softmax(mg.zeros((2, 0)), dim=1),
             lambda: mg.logsumexp(mg.zeros((2, 0)), dim=1)]
    return any(_raises(call) for call in calls)


def repro_16():
    def assign():
        x = mg.zeros((2, 3))
        x[0, 1] = mg.ones((1, 1))   # PyTorch drops the leading size-1 dims
    return _raises(assign)


def repro_17():
    def run():
        x = mg.zeros((4, 2, 0), requires_grad=True)
        w = mg.zeros((3, 0), requires_grad=True)
        mg.linear(x, w).sum().backward()
    return _raises(run)


def repro_18():
    return _raises(lambda: F.binary_cross_entropy(mg.tensor(0.3, requires_grad=True), mg.tensor(1.0),
                                                  reduction="none"))


def repro_19():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    z = a * 1
    y = mg.where(mg.tensor([True, False]), z, b)
    with mg.no_grad():
        z.add_(1.0)
    return _raises(lambda: y.sum().backward(), RuntimeError)   # PyTorch: where saves only the condition


def repro_20():
    x, index = mg.tensor([[1.0, 2.0]]), mg.tensor([[1]])
    try:
        return mg.take_along_dim(x, index, 1).tolist() != [[2.0]]   # PyTorch: (input, indices, dim)
    except Exception:
        return True


def repro_21():
    return _raises(lambda: mg.pad(mg.tensor(1.0), ()))


# predicates: which generated steps each open bug covers

def _avoid_01(ctx):
    target = ctx.tensor(ctx.step.target) if ctx.step.target else None
    return ctx.op == "setitem" and _inplace_outside_recording(ctx) and getattr(target, "grad_fn", None) is not None


MG_INTERNAL_VIEWS = frozenset({"outer"})   # composites whose ops read NumPy views of their inputs


def _avoid_02(ctx):
    # views never get written in place here (D5); left are view() on a layout PyTorch cannot view, and writes
    # into a tensor that a composite read through a view of it (outer reshapes its inputs)
    if ctx.op == "view" and ctx.error() is not None and "view" in str(ctx.error()):
        return True
    if not _inplace_outside_recording(ctx):
        return False
    entry = ctx.builder.pool.get(ctx.step.target)
    return entry is not None and bool(MG_INTERNAL_VIEWS & set(entry.consumers))


def _avoid_03(ctx):
    if ctx.op != "pow":
        return False
    base, exponent = ctx.tensor(ctx.step.inputs[0]), ctx.params.get("exponent")
    if isinstance(exponent, str):
        return _has_zero(base) and _has_zero(ctx.tensor(exponent))
    return exponent == 0


def _avoid_04(ctx):
    if ctx.op != "std" or ctx.outcome is None or ctx.outcome.error is not None:
        return False
    # also a std that rounding alone keeps off 0 (equal values in float32): its gradient is rounding noise
    # divided by it, and PyTorch's two-pass std often finds exactly 0 there
    x = ctx.tensor(ctx.step.inputs[0]).detach()
    scale = float(x.abs().max()) + 1 if x.numel() else 1.0
    return any(np.any(np.abs(snap[0]) < 1e-3 * scale) for snap in ctx.outcome.values.values())


def _avoid_05(ctx):
    if ctx.op not in ("cross_entropy", "nll_loss") or ctx.params.get("reduction") != "mean":
        return False
    target = ctx.params.get("target")
    if target is None:
        return False
    return bool(np.all(target == ctx.params.get("ignore_index", -100)))


def _avoid_06(ctx):
    if ctx.op not in ("reshape", "view", "squeeze", "expand", "broadcast_to", "flatten") or ctx.outcome is None:
        return False
    if ctx.outcome.error is not None:
        return False
    x = ctx.tensor(ctx.step.inputs[0])
    out = ctx.step.outputs[0]
    return tuple(ctx.outcome.values[out][2]) == tuple(x.shape)


def _avoid_07(ctx):
    if ctx.op != "max_dim":
        return False
    x, dim = ctx.tensor(ctx.step.inputs[0]), ctx.params["dim"]
    if not _dim_in_range(dim, x.ndim) or x.numel() == 0 or x.ndim == 0:
        return False
    fn = x.detach().amax if ctx.params["which"] == "max" else x.detach().amin
    return bool(((x.detach() == fn(dim=dim, keepdim=True)).sum(dim=dim) > 1).any())


def _avoid_08(ctx):
    positions = ctx.params.get("positions")
    return ctx.op == "getitem" and positions is not None and len(positions) > 1 and \
        max(positions) - min(positions) + 1 != len(positions)


def _avoid_09(ctx):
    if ctx.op not in ("split", "chunk"):
        return False
    return ctx.params.get("length") == 0 or ctx.params.get("size") == 0


def _avoid_10(ctx):
    return ctx.op == "where" and ctx.params.get("scalars") == 2


def _avoid_11(ctx):
    if ctx.op not in ("gather", "take_along_dim"):
        return False
    x = ctx.tensor(ctx.step.inputs[0])
    return bool((ctx.params["index"] < 0).any()) or not _dim_in_range(ctx.params["dim"], x.ndim)


def _avoid_12(ctx):
    if ctx.op != "expand":
        return False
    lead = len(ctx.params["sizes"]) - len(ctx.params["input_shape"])
    return -1 in ctx.params["sizes"][:max(lead, 0)]


def _avoid_13(ctx):
    if ctx.op == "flatten":
        start, end, ndim = ctx.params["start"], ctx.params["end"], ctx.params["ndim"]
        if ndim == 0:
            return start not in (0, -1) or end not in (0, -1)
        return _dim_in_range(start, ndim) and _dim_in_range(end, ndim) and start % ndim > end % ndim
    if ctx.op == "split":
        return any(s < 0 for s in ctx.params.get("sizes", ()))
    if ctx.op == "cross_entropy":
        return ctx.params.get("probabilities") and "ignore_index" in ctx.params
    if ctx.op == "LayerNorm":
        return ctx.params.get("normalized_shape") == ()
    return False


def _avoid_14(ctx):
    return ctx.op == "clamp" and ctx.params.get("tensor_bounds", False)


def _avoid_15(ctx):
    if ctx.op == "cross_entropy":   # log_softmax over the classes
        return ctx.params["classes"] == 0
    if ctx.op not in ("softmax", "log_softmax", "logsumexp"):
        return False
    x, dim = ctx.tensor(ctx.step.inputs[0]), ctx.params["dim"]
    dims = dim if isinstance(dim, tuple) else (dim,)
    return any(_dim_in_range(d, x.ndim) and x.ndim and x.shape[d] == 0 for d in dims)


def _avoid_16(ctx):
    if ctx.op != "setitem" or len(ctx.step.inputs) < 2 or not _inplace_outside_recording(ctx):
        return False
    value = ctx.tensor(ctx.step.inputs[1])
    return value.ndim > len(ctx.params["selection"])


def _avoid_17(ctx):
    return ctx.op in ("linear", "Linear") and ctx.params["in_features"] == 0 and ctx.params["ndim"] != 2


def _avoid_18(ctx):
    return ctx.op == "binary_cross_entropy" and ctx.params["ndim"] == 0 and ctx.params["reduction"] == "none"


WHERE_USERS = frozenset({"where", "masked_fill", "elu", "softplus", "softplus_smooth", "copy_"})  # copy_ selects


def _avoid_19(ctx):
    if not _inplace_outside_recording(ctx):
        return False
    entry = ctx.builder.pool.get(ctx.step.target)
    return entry is not None and bool(WHERE_USERS & set(entry.consumers))


def _avoid_20(ctx):
    return ctx.op == "take_along_dim"


def _avoid_21(ctx):
    return ctx.op == "pad" and ctx.params["ndim"] == 0 and ctx.params["pad"] == ()


_OPEN = [  # (case, title, why, avoid, repro)
    (1, "a write under no_grad into a saved output through __setitem__ is not detected",
     "x[i] = v outside recording bumps the version but does not mark the node, so backward reads the new values",
     _avoid_01, repro_01),
    (2, "tensors sharing an array (detach(), views) do not share a version counter; view() silently copies",
     "each Tensor has its own counter; view is reshape", _avoid_02, repro_02),
    (3, "x ** 0 has a NaN gradient at 0", "0 * 0 ** -1", _avoid_03, repro_03),
    (4, "std has a NaN gradient where the std is 0", "0.5 / sqrt(0)", _avoid_04, repro_04),
    (5, "cross_entropy / nll_loss mean with every target ignored: NaN gradient (PyTorch 0)", "0 / 0",
     _avoid_05, repro_05),
    (6, "no-op reshape/view/squeeze/expand return the input object itself", "hooks act on the old one",
     _avoid_06, repro_06),
    (7, "max/min over a dim with ties split the gradient (PyTorch: all to the returned index)",
     "amax's VJP shares ties", _avoid_07, repro_07),
    (8, "x[0, :, [1, 2]]: the shape follows NumPy, not PyTorch", "NumPy counts the int as an advanced index",
     _avoid_08, repro_08),
    (9, "split/chunk of a zero-length dim; split(0) crashes", "range() over a zero length or step", _avoid_09,
     repro_09),
    (10, "mg.where(mask, 1.0, 0.0) is float64 instead of the default float32", "np.where of two Python floats",
     _avoid_10, repro_10),
    (11, "gather with negative indices / an out-of-range dim wraps around", "NumPy indexing", _avoid_11,
     repro_11),
    (12, "expand(-1, 3) on a (3,) tensor is allowed", "-1 in a new leading dim", _avoid_12, repro_12),
    (13, "flatten(2, 1), flatten(0, 1) on 0-d, split([-1, 3]), layer_norm(x, ()), cross_entropy probability "
         "targets with ignore_index do not raise", "missing argument checks", _avoid_13, repro_13),
    (14, "clamp with tensor min/max: RecursionError", "np.clip on Tensors dispatches back", _avoid_14, repro_14),
    (15, "softmax/log_softmax/logsumexp over an empty dim raise", "np.amax of an empty axis", _avoid_15,
     repro_15),
    (16, "setitem with extra leading size-1 dims in the value raises outside recording",
     "NumPy's assignment does not drop them there", _avoid_16, repro_16),
    (17, "linear with a zero-size inner dim: backward crashes", "a reshape of an empty gradient", _avoid_17,
     repro_17),
    (18, "binary_cross_entropy on a 0-d input with reduction='none' crashes", "np.negative(out=) of a scalar",
     _avoid_18, repro_18),
    (19, "where version-checks both branches (PyTorch reads only the condition)",
     "where keeps every input for its version check", _avoid_19, repro_19),
    (20, "take_along_dim has gather's argument order", "take_along_dim = gather", _avoid_20, repro_20),
    (21, "pad of a 0-d tensor with () crashes", "np.pad with an empty pad_width", _avoid_21, repro_21),
]



# ---- known open bugs found by this fuzzer ------------------------------------------------------------------

def repro_f01():
    x = mg.tensor(2.0)
    calls = [lambda: x.mean(dim=0), lambda: x.var(dim=0), lambda: x.std(dim=-1)]
    return any(_raises(call, IndexError) for call in calls)   # PyTorch: 2.0, nan, nan (dim 0 and -1 of a 0-d)


def repro_f02():
    calls = [lambda: mg.tensor([2.0]).var(), lambda: mg.ones((2, 1)).std(dim=1),
             lambda: mg.zeros(0).var(correction=0)]
    return any(_raises(call) for call in calls)   # PyTorch: nan (with a warning), [nan, nan], nan


def repro_f03():
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    return not mg.sign(x).requires_grad   # PyTorch: requires_grad, and x gets a zero gradient through it


def repro_f04():
    x = mg.tensor([-1.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (0.0 ** x).sum().backward()
    return not np.isneginf(x.grad.numpy()[0])   # PyTorch: [-inf, 0.]; microgradnp: [nan, 0.]


def repro_f05():
    x, y = mg.tensor([-2.0]), mg.tensor([2.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (x ** y).sum().backward()
    return not np.isnan(y.grad.numpy()[0])   # PyTorch: d/dy (-2) ** y = (-2) ** y * log(-2) = nan; microgradnp: 0


def repro_f06():
    import nn
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
    "logsumexp": lambda x: mg.logsumexp(x, 0), "var": lambda x: x.var(0), "std": lambda x: x.std(0),
    "gather": lambda x: mg.gather(x, 0, mg.tensor([[1, 0]])), "mse_loss": lambda x: F.mse_loss(x, mg.ones((2, 2))),
    "huber_loss": lambda x: F.huber_loss(x, mg.ones((2, 2))), "nll_loss": lambda x: F.nll_loss(x, mg.tensor([0, 1])),
    "LayerNorm": lambda x: F.layer_norm(x, (2,)),
    "BatchNorm1d": lambda x: F.batch_norm(x, mg.zeros(2), mg.ones(2)),
}
LENIENT_OUTPUTS = {"logsumexp": lambda x: mg.logsumexp(x, 0), "log_softmax": lambda x: mg.log_softmax(x, 0)}

# and the other way round: microgradnp keeps a value for its version check that PyTorch does not save
STRICT_INPUTS = {
    "cross_entropy": lambda x: F.cross_entropy(x, mg.tensor([0, 1])),
    "max_dim": lambda x: x.max(dim=0)[0],
}
STRICT_OUTPUTS = {  # a division saves its output (for the divisor's gradient), so does pow; mean, var... divide
    "div": lambda x: x / 2.0, "pow": lambda x: x ** 2, "mean": lambda x: x.mean(0), "var": lambda x: x.var(0),
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


def _avoid_f01(ctx):
    return ctx.op in ("mean", "var", "std") and ctx.params.get("dim") is not None and \
        ctx.tensor(ctx.step.inputs[0]).ndim == 0


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


def repro_f09():
    try:
        return mg.tensor(1.0).masked_fill(mg.tensor([False, True]), 0.5).shape != (2,)
    except ValueError:
        return True   # PyTorch: tensor([1.0, 0.5]), the input broadcast to the mask's shape


def _avoid_f09(ctx):
    if ctx.op != "masked_fill":
        return False
    try:
        return np.broadcast_shapes(ctx.params["mask_shape"], ctx.params["shape"]) != ctx.params["shape"]
    except ValueError:
        return False


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


def repro_f12():
    return _raises(lambda: mg.tensor(1.0).transpose(0, -1), IndexError)   # PyTorch: tensor(1.)


def _avoid_f12(ctx):
    return ctx.op == "transpose" and ctx.tensor(ctx.step.inputs[0]).ndim == 0


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
    ("F01", "mean/var/std with dim=0 or dim=-1 on a 0-d tensor raise IndexError (PyTorch accepts those dims)",
     "functions._count indexes the empty shape", _avoid_f01, repro_f01),
    ("F02", "var/std with no more elements than the correction raise ValueError (PyTorch returns nan, warns)",
     "functions.var raises when n - correction <= 0", _avoid_f02, repro_f02),
    ("F03", "sign() of a tensor that requires grad does not require grad (PyTorch: it does, zero gradient)",
     "functions.sign returns a tensor without a node", _avoid_f03, repro_f03),
    ("F04", "0.0 ** x: the gradient at negative x is nan (PyTorch: -inf)",
     "pow's exponent VJP takes log(a) as 0 where a <= 0: inf * 0", _avoid_f04_f05, repro_f04),
    ("F05", "a ** y with a < 0: the exponent's gradient is 0 (PyTorch: nan, log of a negative number)",
     "pow's exponent VJP takes log(a) as 0 where a <= 0", _avoid_f04_f05, repro_f05),
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
    ("F09", "masked_fill with a mask of more dims (or longer ones) than the input raises (PyTorch broadcasts the "
            "input to the mask's shape)",
     "masked_fill requires the mask to broadcast to the input's shape", _avoid_f09, repro_f09),
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
    ("F12", "transpose(0, -1) on a 0-d tensor raises IndexError 'list index out of range' (PyTorch accepts dims 0 "
            "and -1 of a 0-d tensor; out-of-range dims raise the same bare message)",
     "functions.transpose indexes a list of the axes without a range check", _avoid_f12, repro_f12),
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

KNOWN_OPEN = [Entry(f"K{case:02d}", title, why, avoid=avoid, case=case, repro=repro)
              for case, title, why, avoid, repro in _OPEN]
KNOWN_OPEN += [Entry(key, title, why, avoid=avoid, case=key, repro=repro, found_by_fuzzer=True)
               for key, title, why, avoid, repro in _FOUND]
