"""A program: steps of Python code over a pool of named tensors, replayed in microgradnp and in PyTorch.

Each step is one or a few statements written once for both frameworks: ``M`` is the framework (``mg`` or
``torch``), ``F`` its ``nn.functional`` and ``nn`` its ``nn`` package. Where the two spell a call
differently the step holds one text per framework. Constants (``c0``, ``c1``...) are NumPy arrays that
each replay receives fresh copies of; the leaves are tensors made from them with ``requires_grad=True``.

``run_forward`` executes the steps one by one and records, for each, the exception or a snapshot of the
step's outputs (values, dtype, shape, ``requires_grad`` and whether an output *is* one of the inputs).
``run_backward`` builds one scalar from every pool tensor that requires grad (each times fixed random
weights) and differentiates it, once (``backward``) or twice (``create_graph=True``). ``compare``
says where the two traces disagree. ``render`` writes a program as a script that runs on its own.
"""
import dataclasses
import math
import re
import warnings

import numpy as np

# ---- the program ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Step:
    """One step: ``code`` (a string for both frameworks, or ``{"mg": ..., "torch": ...}``)."""

    op: str                     # the catalogue's name (differences.py matches on it)
    code: object
    inputs: tuple = ()          # pool names read
    outputs: tuple = ()         # pool names written (new names)
    params: dict = dataclasses.field(default_factory=dict)
    mode: str = "record"        # "record", or "no_grad": the step runs inside M.no_grad()
    target: str = None          # the pool name an in-place step changes
    new_leaves: tuple = ()      # expressions naming new leaves (a layer's parameters)
    extras: tuple = ()          # expressions compared after the step but not pooled (running statistics)

    def source(self, framework, mapped=False):
        """The step's code for ``framework``; ``mapped``: a recording in-place step on a clone (see D3)."""
        code = self.code if isinstance(self.code, str) else self.code[framework]
        if mapped and self.target is not None and self.mode == "record":
            # microgradnp's semantics: the op reads the old tensor and the result rebinds the name
            receiver, rest = code.split(self.target, 1)
            rest = re.sub(rf"\b{self.target}\b", "_old", rest)
            code = f"_old = {self.target}\n{self.target} = {self.target}.clone()\n{receiver}{self.target}{rest}"
        if self.mode == "no_grad":
            code = "with M.no_grad():\n" + "\n".join("    " + line for line in code.splitlines())
        return code


@dataclasses.dataclass
class Program:
    """Constants, steps, the weights of the final scalar, and which leaves to differentiate."""

    consts: dict                # name -> ndarray
    steps: list
    leaves: list                # expressions of the leaves whose gradients are compared
    loss_weights: dict          # pool name -> ndarray (the pool tensor's shape and dtype)
    second_order: bool = False
    grad_weights: dict = dataclasses.field(default_factory=dict)  # leaf expression -> ndarray
    forward_only: bool = False  # its last step made inf or nan: no backward pass (see differences.F13)

    def ops(self):
        return [s.op for s in self.steps]

    def __repr__(self):  # hypothesis prints the example: the failure message has the whole program
        return f"Program(ops={[op for op in self.ops() if op != 'leaf']}, second_order={self.second_order})"

    def _repr_pretty_(self, printer, cycle):  # what hypothesis's pretty printer calls
        printer.text(repr(self))


# ---- the frameworks ---------------------------------------------------------------------------------


def namespace(framework):
    """The names a step's code sees: M, F, nn, np."""
    if framework == "mg":
        import microgradnp as M
        import microgradnp.nn.functional as F
        from microgradnp import nn
    else:
        import torch as M
        nn = M.nn
        F = M.nn.functional
    return {"M": M, "F": F, "nn": nn, "np": np}


def is_tensor(framework, value):
    if framework == "mg":
        import microgradnp as mg
        return isinstance(value, mg.Tensor)
    import torch
    return isinstance(value, torch.Tensor)


def snapshot(framework, t):
    """(array copy, dtype as a NumPy dtype, shape, requires_grad) of a tensor, read without autograd."""
    if framework == "mg":
        return np.array(t.numpy(), copy=True), np.dtype(t.dtype), tuple(t.shape), bool(t.requires_grad)
    array = t.detach().cpu().numpy().copy()
    return array, array.dtype, tuple(t.shape), bool(t.requires_grad)


@dataclasses.dataclass
class Outcome:
    """What one step, or the backward phase, did: an exception, or snapshots of named tensors."""

    error: BaseException = None
    values: dict = dataclasses.field(default_factory=dict)     # name -> snapshot
    identity: dict = dataclasses.field(default_factory=dict)   # output name -> the input name it *is*, or None


@dataclasses.dataclass
class Trace:
    framework: str
    steps: list
    backward: Outcome = None
    ns: dict = None


def _quiet():
    # both frameworks warn (NaN from log(-1), misuse warnings, deprecations): a warning is not a result
    catcher = warnings.catch_warnings()
    catcher.__enter__()
    warnings.simplefilter("ignore")
    errstate = np.errstate(all="ignore")
    errstate.__enter__()
    return catcher, errstate


def _loud(handles):
    catcher, errstate = handles
    errstate.__exit__(None, None, None)
    catcher.__exit__(None, None, None)


def fresh_namespace(program, framework):
    ns = namespace(framework)
    ns.update({name: array.copy() for name, array in program.consts.items()})
    return ns


def exec_step(step, ns, framework, mapped=False):
    """Run one step in ``ns``; the Outcome holds the error or the snapshots of its outputs and extras."""
    before = {name: ns[name] for name in step.inputs if name in ns}
    handles = _quiet()
    try:
        exec(step.source(framework, mapped), ns)
        outcome = Outcome()
        for name in step.outputs + ((step.target,) if step.target else ()):
            value = ns[name]
            if is_tensor(framework, value):
                outcome.values[name] = snapshot(framework, value)
                same = [n for n, v in before.items() if v is value]
                outcome.identity[name] = same[0] if same else None
        for expr in step.extras:
            outcome.values[expr] = snapshot(framework, eval(expr, ns))
    except Exception as error:  # any exception is an outcome to compare
        outcome = Outcome(error=error)
    finally:
        _loud(handles)
    return outcome


def run_forward(program, framework, mapped=False):
    """Execute every step (stopping at the first error)."""
    ns = fresh_namespace(program, framework)
    steps = []
    for step in program.steps:
        outcome = exec_step(step, ns, framework, mapped)
        steps.append(outcome)
        if outcome.error is not None:
            break
    return Trace(framework, steps, None, ns)


def loss_terms(program, trace):
    """The pool names whose tensors require grad at the end (each tensor once), in program order."""
    ns, seen, names = trace.ns, set(), []
    for name in program.loss_weights:
        value = ns.get(name)
        if value is None or not is_tensor(trace.framework, value) or not value.requires_grad or id(value) in seen:
            continue
        seen.add(id(value))
        names.append(name)
    return names


def backward_code(program, terms):
    """The backward phase as code: a weighted sum of ``terms``, then backward (or two autograd.grad)."""
    total = " + ".join(f"(({n}) * M.tensor(w_{n})).sum()" for n in terms)
    lines = [f"loss = {total}"]
    if not program.second_order:
        lines.append("loss.backward()")
        return "\n".join(lines)
    leaves = ", ".join(program.leaves)
    lines += [
        f"grads = M.autograd.grad(loss, [{leaves}], create_graph=True, allow_unused=True)",
        "second = [(g * M.tensor(u)).sum() for g, u in zip(grads, grad_weights) if g is not None and g.requires_grad]",
        f"grads2 = M.autograd.grad(sum(second), [{leaves}], allow_unused=True) if second else "
        f"[None] * {len(program.leaves)}",
    ]
    return "\n".join(lines)


def run_backward(program, trace, terms):
    """Differentiate the weighted sum of ``terms``; the Outcome holds the leaves' gradients."""
    ns = trace.ns
    for name in terms:
        ns[f"w_{name}"] = program.loss_weights[name].copy()
    ns["grad_weights"] = [program.grad_weights[leaf].copy() for leaf in program.leaves] if program.second_order else []
    handles = _quiet()
    outcome = Outcome()
    try:
        exec(backward_code(program, terms), ns)
        leaves = [eval(leaf, ns) for leaf in program.leaves]
        if program.second_order:
            # whether a first-order gradient requires grad, and whether an unused second-order one is None or
            # zeros, are left to each engine: the values are compared
            for leaf, t, g, g2 in zip(program.leaves, leaves, ns["grads"], ns["grads2"]):
                outcome.values[f"grad({leaf})"] = None if g is None else snapshot(trace.framework, g)[:3] + (False,)
                if g2 is None:
                    outcome.values[f"grad2({leaf})"] = (np.zeros(tuple(t.shape)), snapshot(trace.framework, t)[1],
                                                         tuple(t.shape), False)
                else:
                    outcome.values[f"grad2({leaf})"] = snapshot(trace.framework, g2)
        else:
            for leaf, t in zip(program.leaves, leaves):
                outcome.values[f"{leaf}.grad"] = None if t.grad is None else snapshot(trace.framework, t.grad)
    except Exception as error:
        outcome = Outcome(error=error)
    finally:
        _loud(handles)
    trace.backward = outcome
    return outcome


# ---- comparing --------------------------------------------------------------------------------------

TOLERANCES = {  # (rtol, atol relative to the array's scale)
    np.dtype(np.float64): (1e-6, 1e-8),
    np.dtype(np.float32): (2e-3, 2e-4),
}


def close(ours, theirs, dtype, precision=None):
    """Equal NaN and infinity patterns, and finite values within the tolerance of ``precision`` (a dtype)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if dtype.kind not in "fc":
        return np.array_equal(ours, theirs)
    if not np.array_equal(np.isnan(ours), np.isnan(theirs)):
        return False
    inf = np.isinf(theirs) | np.isinf(ours)
    if not np.array_equal(ours[inf], theirs[inf]):
        return False
    finite = ~(np.isnan(theirs) | inf)
    if not finite.any():
        return True
    rtol, atol = TOLERANCES.get(precision or dtype, (1e-6, 1e-8))
    a, b = ours[finite].astype(np.float64), theirs[finite].astype(np.float64)
    scale = max(1.0, float(np.max(np.abs(b))))
    return bool(np.all(np.abs(a - b) <= atol * scale + rtol * np.abs(b)))


def compare_values(where, ours, theirs, precision=None):
    """The first difference between two snapshots (or None), described."""
    if (ours is None) != (theirs is None):
        return f"{where}: PyTorch gives {'None' if theirs is None else 'a tensor'}, " \
               f"microgradnp {'None' if ours is None else 'a tensor'}"
    if ours is None:
        return None
    (a, a_dtype, a_shape, a_rg), (b, b_dtype, b_shape, b_rg) = ours, theirs
    if a_shape != b_shape:
        return f"{where}: shape {a_shape}, PyTorch {b_shape}"
    if a_dtype != b_dtype:
        return f"{where}: dtype {a_dtype}, PyTorch {b_dtype}"
    if a_rg != b_rg:
        return f"{where}: requires_grad {a_rg}, PyTorch {b_rg}"
    if not close(a, b, a_dtype, precision if a_dtype.kind == "f" else None):
        return f"{where}: values differ\n  microgradnp: {_short(a)}\n  PyTorch:     {_short(b)}"
    return None


def _short(array):
    return np.array2string(np.asarray(array), precision=6, threshold=40, separator=", ")


def describe_error(error):
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]


def compare_outcomes(where, ours, theirs, precision=None):
    """Error parity, then the snapshots, then object identity; None when they agree."""
    if theirs.error is not None:
        if ours.error is None:
            return f"{where}: PyTorch raises ({describe_error(theirs.error)}), microgradnp does not"
        if not str(ours.error).strip():
            return f"{where}: microgradnp raises {type(ours.error).__name__} with an empty message"
        return None
    if ours.error is not None:
        return f"{where}: microgradnp raises ({describe_error(ours.error)}), PyTorch does not"
    for name, snap in theirs.values.items():
        problem = compare_values(f"{where}: {name}", ours.values.get(name), snap, precision)
        if problem:
            return problem
    for name, same in theirs.identity.items():
        # (PyTorch returns some empty inputs themselves where it would compute: that is not compared)
        if ours.identity.get(name) != same and theirs.values[name][0].size:
            return (f"{where}: {name} is {'the input ' + same if same else 'a new tensor'} in PyTorch, "
                    f"{'the input ' + ours.identity[name] if ours.identity.get(name) else 'a new tensor'} "
                    f"in microgradnp")
    return None


def precision(program):
    """float32 when any float32 tensor takes part: a float64 result computed through one is only that precise."""
    for array in program.consts.values():
        if array.dtype == np.float32:
            return np.dtype(np.float32)
    if any("float32" in str(s.code) or ".float()" in str(s.code) for s in program.steps):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def compare_forward(program, ours, theirs):
    for i, (step, a, b) in enumerate(zip(program.steps, ours.steps, theirs.steps)):
        problem = compare_outcomes(f"step {i} ({step.op})", a, b, precision(program))
        if problem:
            return problem
        if b.error is not None:
            return None
    return None


def is_version_error(error):
    return error is not None and "modified by an inplace operation" in str(error)


# ---- rendering --------------------------------------------------------------------------------------

_HEADERS = {
    "mg": ("import numpy as np\nimport microgradnp as mg\nfrom microgradnp import nn\n"
           "import microgradnp.nn.functional as F\n"),
    "torch": "import numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n",
}


def _literal(array):
    dtype = array.dtype
    if array.ndim == 0:
        return f"np.array({array.item()!r}, dtype=np.{dtype})"
    if array.size == 0:
        return f"np.zeros({array.shape}, dtype=np.{dtype})"
    text = repr(array.tolist()).replace("nan", "np.nan").replace("inf", "np.inf")
    return f"np.array({text}, dtype=np.{dtype})"


def render(program, framework, terms=None, mapped=False):
    """The program as a standalone script for ``framework`` (``mg`` or ``torch``)."""
    module = "mg" if framework == "mg" else "torch"
    lines = [_HEADERS[framework]]
    used = set()
    body = [s.source(framework, mapped) for s in program.steps]
    text = "\n".join(body)
    if terms is not None:
        text += "\n" + backward_code(program, terms)
    for name, array in program.consts.items():
        if re.search(rf"\b{name}\b", text):
            used.add(name)
            lines.append(f"{name} = {_literal(array)}")
    if terms is not None:
        for name in terms:
            lines.append(f"w_{name} = {_literal(program.loss_weights[name])}")
        if program.second_order:
            lines.append("grad_weights = [" + ", ".join(_literal(program.grad_weights[leaf])
                                                        for leaf in program.leaves) + "]")
    lines.append(text)
    if terms is not None:
        if program.second_order:
            lines.append("print(grads, grads2)")
        else:
            lines.append("print(" + ", ".join(f"{leaf}.grad" for leaf in program.leaves) + ")")
    return re.sub(r"\bM\.", module + ".", "\n".join(lines))


def check(program):
    """Replay ``program`` in both frameworks; a description of the first disagreement, or None."""
    theirs = run_forward(program, "torch")
    ours = run_forward(program, "mg")
    problem = compare_forward(program, ours, theirs)
    if problem or any(o.error is not None for o in theirs.steps) or any(o.error is not None for o in ours.steps):
        return problem, None
    terms = loss_terms(program, theirs)   # (each step compared requires_grad already)
    if not terms or program.forward_only:
        return None, terms
    theirs_bw = run_backward(program, theirs, terms)
    ours_bw = run_backward(program, ours, terms)
    mapped = False
    if is_version_error(theirs_bw.error) and any(s.target and s.mode == "record" for s in program.steps):
        # D3: an in-place op while recording rebinds the tensor in microgradnp, so the values saved for
        # backward stay intact; PyTorch refuses. Compare with PyTorch running those ops on a clone.
        mapped = True
        theirs = run_forward(program, "torch", mapped=True)
        if any(o.error is not None for o in theirs.steps):
            return f"fuzzer: the mapped PyTorch program fails forward: {theirs.steps[-1].error!r}", terms
        theirs_bw = run_backward(program, theirs, terms)
    problem = compare_outcomes("backward" + (" (in-place ops mapped to clones, D3)" if mapped else ""),
                               ours_bw, theirs_bw, precision(program))
    return problem, terms


def report(program, problem, terms):
    """The message of a failing example: the disagreement and both programs."""
    parts = [problem, "", "--- microgradnp ---", render(program, "mg", terms), "",
             "--- PyTorch ---", render(program, "torch", terms)]
    return "\n".join(parts)


def count_elements(shape):
    return math.prod(shape)
