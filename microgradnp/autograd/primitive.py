"""Primitives: the one place in microgradnp where a derivative is written.

A primitive is a NumPy forward function plus a vector-Jacobian product (VJP) for each input, declared
together by ``primitive()``, e.g.::

    exp = primitive("exp", np.exp, "e ** x.",
                    vjp=lambda xp, g, ans, x: g * ans,
                    reads=("ans",), elementwise=True, public=True, method=True, numpy=np.exp)

A VJP is ``vjp(xp, g, ans, *inputs, **kwargs)``: ``g`` is the gradient of the output, ``ans`` the output,
``inputs`` the op's inputs and ``xp`` the namespace it computes with. In an ordinary backward pass
``xp`` holds the NumPy forwards and everything is an ndarray; under ``create_graph=True`` it holds the
primitives themselves and everything is a Tensor, so the same VJP records a differentiable graph and
higher-order gradients come for free (``namespaces.py``). The engine sums each gradient back to its
input's shape and casts it to its dtype, so a VJP may return a broadcast gradient.

The declaration is the only registry: ``mg.<name>`` (``public``), ``Tensor.<name>`` (``method``),
``np.<ufunc>(tensor)`` (``numpy``) and the table of primitives in the API docs are derived from it, and
the test suite gradchecks every primitive in ``PRIMITIVES``.
"""
import inspect

import numpy as np

from .apply import NO_KWARGS, apply, check_call
from .hot_path import apply1, apply2, apply3
from .out_argument import write_out

PRIMITIVES = {}
"""Every primitive declared with ``primitive()``, by name; the test suite gradchecks each one."""


_NAMED = object()  # the first input was not given by position (mg.matmul(input=a, other=b))

class Primitive:
    """A NumPy forward function and its VJP rules, applied to Tensors by calling it.

    Built by ``primitive()`` (which also registers it); a Primitive built directly takes the same
    arguments and is not registered, as for a custom op of one's own.
    """

    __slots__ = ("name", "forward", "doc", "vjps", "joint_vjp", "saves_out", "reads_inputs", "keeps", "elementwise",
                 "grads_in_input_shapes", "exact_on_one_array", "ufunc_inputs", "public", "aliases", "method",
                 "numpy", "view")

    returns_saved = False  # see SavingPrimitive

    def __init__(self, name, forward, doc=None, *, vjp=None, joint_vjp=None, reads=None, elementwise=False,
                 grads_in_input_shapes=False, view=False, public=False, aliases=(), method=False, numpy=()):
        self.name = name
        self.forward = forward
        self.doc = doc or forward.__doc__
        self.vjps = None if vjp is None else (tuple(vjp) if isinstance(vjp, (tuple, list)) else (vjp,))
        self.joint_vjp = joint_vjp
        self.saves_out, self.reads_inputs, self.keeps = _reads_rule(name, reads, self.vjps, joint_vjp)
        self.elementwise = elementwise
        self.grads_in_input_shapes = grads_in_input_shapes
        self.exact_on_one_array = elementwise or grads_in_input_shapes  # see apply.exact_grads
        # a ufunc takes its inputs, then output arrays: more arguments would be written into
        self.ufunc_inputs = forward.nin if isinstance(forward, np.ufunc) else None
        self.public = public
        self.aliases = tuple(aliases)
        self.method = method
        self.numpy = numpy if isinstance(numpy, (tuple, list)) else (numpy,)
        self.view = view

    def defvjp(self, *vjps):
        """Attach one VJP per input (None for an input that is never differentiable)."""
        self.vjps = vjps
        return self

    def defjoint(self, vjp):
        """Attach one VJP that returns the gradients of all inputs at once (see ``primitive``)."""
        self.joint_vjp = vjp
        return self

    def __call__(self, x=_NAMED, *more, **kwargs):
        # the first input named: one and two inputs, the everyday calls, skip building an argument tuple
        if not kwargs:
            if not more:
                return apply1(self, x)
            if len(more) == 1:
                return apply2(self, x, more[0])
        elif "input" in kwargs or "other" in kwargs:  # PyTorch's names: mg.matmul(input=a, other=b)
            return self(*_named_inputs(self, x, more, kwargs), **kwargs)
        elif "out" in kwargs:  # (only calls with keywords get here: the plain calls above are untouched)
            return write_out(self, (x,) + more, kwargs)
        if self.ufunc_inputs is not None:  # the check off the everyday paths above, which call with less
            check_call(self, self.ufunc_inputs, 1 + len(more), kwargs)
        if not kwargs and len(more) == 2:
            return apply3(self, x, more[0], more[1])
        return apply(self, (x,) + more, kwargs or NO_KWARGS)

    def __repr__(self):
        return f"<primitive {self.name}>"


def _named_inputs(prim, x, more, kwargs):
    # the inputs given as PyTorch names them (input=, other=) after those given by position; the names are
    # taken out of kwargs, which keeps the rest (out=...)
    inputs = [] if x is _NAMED else [x, *more]
    for position, name in enumerate(("input", "other")):
        if name in kwargs:
            if len(inputs) != position:
                raise TypeError(f"{prim.name}() got multiple values for argument {name!r}")
            inputs.append(kwargs.pop(name))
    return inputs


class UnaryPrimitive(Primitive):
    """An elementwise primitive of one input (exp, tanh, relu...): calling it is ``apply1`` itself.

    Every activation goes through this call, and ``Primitive.__call__`` first sorts out how many inputs
    and keywords it got. A second input, or a keyword, is an error here; a ufunc such as ``np.tanh``
    would take it as its output array and overwrite it.
    """

    __slots__ = ()
    __call__ = apply1


class ViewPrimitive(Primitive):
    """A primitive whose output may be a view of its first input's array (reshape, transpose, basic
    indexing...): the two tensors then share memory, and a write through either must move both
    versions (``tensor.share_memory``). Its calls take the general path, which checks for that.
    """

    __slots__ = ()

    def __call__(self, *inputs, **kwargs):
        return apply(self, inputs, kwargs)


class SavingPrimitive(Primitive):
    """A primitive whose forward returns ``(output, saved)``: ``saved`` is an intermediate result its VJP
    would otherwise recompute (the softmax of a cross-entropy), handed to the VJP in place of ``ans``.

    Only an ordinary backward pass gets it: under ``create_graph=True`` the VJP receives None and must
    recompute from its inputs, so that the gradient it returns is itself differentiable.
    """

    __slots__ = ()
    returns_saved = True

    def __call__(self, *inputs, **kwargs):
        # apply1, apply2 and apply3 expect one array from the forward: every call takes the general path
        return apply(self, inputs, kwargs)


def primitive(name, forward, doc=None, *, vjp=None, joint_vjp=None, reads=None, returns_saved=False,
              elementwise=False, grads_in_input_shapes=False, view=False, public=False, aliases=(), method=False,
              numpy=()):
    """Declare and register a primitive: its NumPy ``forward``, its VJPs, and where it appears.

    name: the op's name (its node's name in graphs; ``mg.<name>`` when ``public``).
    forward: a NumPy callable on arrays (a ufunc is used as it is: no Python frame).
    doc: one line for the API docs (default: ``forward``'s docstring).
    vjp: one VJP ``vjp(xp, g, ans, x)``, or a tuple with one per input (None for an input that is never
        differentiable). joint_vjp instead: one ``vjp(xp, g, ans, edges, *inputs)`` returning a tuple of
        every input's gradient, computing only those where ``edges[i] is not None`` (None elsewhere).
    reads: what the VJPs read, by the names of their arguments: ``"ans"`` (the output) and input names.
        A tuple applies to every input's VJP, e.g. ``("ans",)`` for exp, ``()`` for add (only shapes); a
        dict says it per input, e.g. ``{"a": ("b",), "b": ("a",)}`` for a product. Default: every input.
        The graph keeps what is read, and an input changed in place after the op raises in backward
        only if a VJP that runs reads it.
    returns_saved: the forward returns ``(output, saved)`` and the VJPs get ``saved`` as ``ans`` (see
        ``SavingPrimitive``).
    elementwise: works element by element (a function so marked takes one input). On one array and
        perhaps Python numbers its VJPs return the gradient in that array's shape and dtype, so the
        engine does not check them; the test suite checks this of every primitive so marked.
    grads_in_input_shapes: the VJPs return each input's gradient in that input's shape, and in its dtype
        whenever the array inputs share one dtype (``linear``); such calls are not checked either.
    view: the forward may return a view of its first input's array rather than a copy (``reshape``): the
        output then shares that input's memory and version counter (see ``ViewPrimitive``).
    public: ``mg.<name>`` is this primitive (and ``mg.<alias>`` for each of ``aliases``).
    method: ``Tensor.<name>`` calls it with the tensor as first input (``x.exp()``).
    numpy: the NumPy ufuncs that run it when called on a Tensor (``np.exp(t)``).
    """
    cls = (SavingPrimitive if returns_saved
           else ViewPrimitive if view
           else UnaryPrimitive if elementwise and (not isinstance(forward, np.ufunc) or forward.nin == 1)
           else Primitive)
    prim = cls(name, forward, doc, vjp=vjp, joint_vjp=joint_vjp, reads=reads, elementwise=elementwise,
               grads_in_input_shapes=grads_in_input_shapes, view=view, public=public, aliases=aliases,
               method=method, numpy=numpy)
    if name in PRIMITIVES:
        raise ValueError(f"primitive(): a primitive named {name!r} is already declared")
    PRIMITIVES[name] = prim
    return prim


def public_primitives():
    """``{public name: primitive}`` for every primitive declared public, aliases included."""
    names = {}
    for prim in PRIMITIVES.values():
        if prim.public:
            for name in (prim.name,) + prim.aliases:
                names[name] = prim
    return names


# ----------------------------------------------------------------------------------------------------
# ``reads``, turned into what apply needs on every call.

def _reads_rule(name, reads, vjps, joint_vjp):
    """(saves_out, reads_inputs, keeps) from a declaration's ``reads``.

    reads_inputs is True (every input is kept and version-checked), False (none is), or per input the
    indices of the inputs its VJP reads; then keeps[mask] says which inputs to keep when the inputs in
    the bit mask have edges.
    """
    if reads is None:
        return False, True, None
    per_input = reads if isinstance(reads, dict) else None
    names = _input_names(name, vjps, joint_vjp, len(per_input) if per_input else None)
    read_names = set().union(*per_input.values()) if per_input else set(reads)
    unknown = read_names - set(names) - {"ans"}
    if unknown or (per_input and list(per_input) != names):
        raise ValueError(f"primitive {name!r}: reads names {sorted(unknown or per_input)}, but its VJPs take "
                         f"'ans' and the inputs {names}")
    saves_out = "ans" in read_names
    rules = [per_input[n] if per_input else reads for n in names]
    indices = tuple(tuple(names.index(n) for n in rule if n != "ans") for rule in rules)
    if not any(indices):
        return saves_out, False, None
    if all(set(rule) == set(range(len(names))) for rule in indices):
        return saves_out, True, None
    return saves_out, indices, _keep_table(indices)


def _input_names(name, vjps, joint_vjp, count):
    # the names of the inputs, as the VJPs call them: the parameters after (xp, g, ans[, edges])
    if joint_vjp is not None:
        function, skip = joint_vjp, 4
    elif vjps:
        function, skip = next(v for v in vjps if v is not None), 3
        count = len(vjps) if count is None else count
    else:
        raise ValueError(f"primitive {name!r}: reads needs the VJPs, to know the inputs' names")
    params = list(inspect.signature(function).parameters.values())[skip:]
    names = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    return names if count is None else names[:count]


def _keep_table(reads):
    # an input is kept when it has no edge (drawings show constants and inputs without gradient) or
    # when a VJP that will run (one whose input has an edge) reads its value
    table = []
    for mask in range(1 << len(reads)):
        read = {j for i, needs in enumerate(reads) if mask >> i & 1 for j in needs}
        table.append(tuple(not mask >> i & 1 or i in read for i in range(len(reads))))
    return tuple(table)
