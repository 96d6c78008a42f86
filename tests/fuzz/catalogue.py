"""The ops the fuzzer draws: one generator per op, each adding a step (or a few) to a Builder.

A generator picks its inputs from the pool (or makes new leaves), draws arguments that fit them, and
calls ``b.op`` / ``b.op_tuple`` / ``b.inplace``, which run the step in PyTorch and keep it. Code is
written once for both frameworks (``M`` is ``mg`` or ``torch``); a dict gives one text per framework.

``OPS`` maps each name to (generator, smooth): the smooth ones are twice differentiable wherever they
are drawn, and make up the second-order programs. To add an op, write a generator and add a row.
"""
import numpy as np
from hypothesis import strategies as st

from .program import Step

# ---- helpers ----------------------------------------------------------------------------------------


def _dims_arg(b, ndim):
    """A dim argument for a reduction: None, one dim, or a tuple of distinct dims."""
    kind = b.integer(0, 4)
    if kind == 0 or ndim == 0 and kind > 2:
        return None
    if kind <= 2 or ndim < 2:
        return b.dim(ndim)
    count = b.integer(1, ndim)
    dims = sorted(b.draw(st.permutations(range(ndim)))[:count])
    return tuple(d - ndim if b.flag(0.3) else d for d in dims)


def _operand(b, a, allow_scalar=True):
    """The second operand of a binary op with ``a``: a scalar, a pool tensor or a new leaf that broadcasts."""
    t = b.tensor(a)
    if allow_scalar and b.flag(0.2):
        return repr(b.scalar()), None
    shape = b.broadcastable(tuple(t.shape))
    options = b.names(lambda u: u.dtype.is_floating_point and tuple(u.shape) == shape)
    if options and b.flag(0.5):
        name = b.choice(options)
    else:
        name = b.leaf(shape, dtype=b.dtype() if b.flag(0.3) else str(t.dtype).split(".")[-1])
    return name, name


# ---- elementwise ------------------------------------------------------------------------------------

UNARY = {  # name: (expression, smooth)
    "neg": ("-{x}", True),
    "exp": ("M.exp({x})", True),
    "log": ("M.log({x})", False),
    "log_pos": ("M.log({x} * {x} + 0.5)", True),
    "log1p": ("M.log1p({x})", False),
    "sqrt": ("M.sqrt({x})", False),
    "sin": ("M.sin({x})", True),
    "cos": ("{x}.cos()", True),
    "tan": ("M.tan({x})", False),
    "tanh": ("M.tanh({x})", True),
    "sigmoid": ("M.sigmoid({x})", True),
    "relu": ("F.relu({x})", False),
    "abs": ("M.abs({x})", False),
    "erf": ("M.erf({x})", True),
    "square": ("M.square({x})", True),
    "rsqrt": ("M.rsqrt({x})", False),
    "sign": ("M.sign({x})", False),
    "gelu": ("F.gelu({x})", True),
    "gelu_tanh": ("F.gelu({x}, approximate='tanh')", True),
    "elu": ("F.elu({x}, alpha=0.5)", False),
    "leaky_relu": ("F.leaky_relu({x}, 0.2)", False),
    "softplus": ("F.softplus({x}, beta=2.0, threshold=3.0)", False),
    "softplus_smooth": ("F.softplus({x})", True),
    "sigmoid_method": ("{x}.sigmoid()", True),
    "sinh": ("M.sinh({x})", True),
    "cosh": ("{x}.cosh()", True),
    "asinh": ("M.asinh({x})", True),
    "atan": ("M.atan({x})", True),
    "exp2": ("M.exp2({x})", True),
    "log2_pos": ("M.log2({x} * {x} + 0.5)", True),
    "log10_pos": ("{x}.mul({x}).add(0.5).log10()", True),
    "reciprocal_pos": ("M.reciprocal({x} * {x} + 0.5)", True),
    "floor": ("M.floor({x})", False),
    "silu": ("F.silu({x})", True),
    "mish": ("F.mish({x})", True),
    "logsigmoid": ("F.logsigmoid({x})", True),
    "hardtanh": ("F.hardtanh({x}, -0.5, 0.5)", False),
}


PERIODIC = ("sin", "cos", "tan")


def unary(name):
    expr, _ = UNARY[name]

    def gen(b):
        x = b.floating()
        if x is None:
            return
        t = b.tensor(x)
        if name in PERIODIC and t.numel() and float(t.detach().abs().max()) > 100:
            return  # sin(1e13) depends on the last bit of its argument: rounding noise, not a bug
        b.op(name, expr.format(x=x), (x,))
    return gen


BINARY = {
    "add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}", "div": "{a} / {b}",
    "radd": "{b} + {a}", "rsub": "{b} - {a}", "rmul": "{b} * {a}", "rdiv": "{b} / {a}",
    "maximum": "M.maximum({a}, {b})", "minimum": "M.minimum({a}, {b})",
}


def binary(name):
    expr = BINARY[name]

    def gen(b):
        a = b.floating()
        if a is None:
            return
        tensor_only = name in ("maximum", "minimum")
        other, other_name = _operand(b, a, allow_scalar=not tensor_only)
        if name.startswith("r") and other_name is None:
            return b.op(name, expr.format(a=a, b=other), (a,))
        b.op(name, expr.format(a=a, b=other), (a,) + ((other_name,) if other_name else ()),
             {"scalar": None if other_name else float(other)})
    return gen


def gen_pow(b):
    a = b.floating()
    if a is None:
        return
    kind = b.integer(0, 3) if not b.smooth else 0
    if kind == 0:
        exponent = b.choice([2, 3, 2.0] if b.smooth else [2, 3, 0.5, 0, -1, 1.5, 0.0])
        b.op("pow", f"{a} ** {exponent!r}", (a,), {"exponent": exponent})
    elif kind == 1:
        other, other_name = _operand(b, a, allow_scalar=False)
        b.op("pow", f"M.pow({a}, {other})", (a, other_name), {"exponent": other_name})
    elif kind == 2:
        base = b.choice([2.0, 0.5, 1.0, 0.0])
        b.op("rpow", f"{base!r} ** {a}", (a,), {"base": base})
    else:
        other, other_name = _operand(b, a, allow_scalar=False)
        b.op("pow", f"{a} ** {other}", (a, other_name), {"exponent": other_name})


def gen_compare(b):
    a = b.floating()
    if a is None:
        return
    op = b.choice([">", "<", ">=", "<=", "==", "!="])
    other, other_name = _operand(b, a)
    b.op("compare", f"{a} {op} {other}", (a,) + ((other_name,) if other_name else ()))


def _mask_for(b, shape):
    """A bool tensor expression (a pool tensor or a constant) that mostly broadcasts with ``shape``; its inputs
    and its shape."""
    options = b.names(lambda u: str(u.dtype) == "torch.bool")
    options = [n for n in options if _broadcasts(tuple(b.tensor(n).shape), shape)]
    if options and b.flag(0.5):
        name = b.choice(options)
        return name, (name,), tuple(b.tensor(name).shape)
    mask = b.rng.random(b.broadcastable(shape) if b.flag(0.3) else shape) > 0.5
    return f"M.tensor({b.const(mask)})", (), mask.shape


def _broadcasts(small, big):
    try:
        return np.broadcast_shapes(small, big) == tuple(big)
    except ValueError:
        return False


def gen_where(b):
    a = b.floating()
    if a is None:
        return
    shape = tuple(b.tensor(a).shape)
    mask, mask_inputs, _ = _mask_for(b, shape)
    kind = b.integer(0, 4)
    if kind == 0 and not b.smooth:
        b.op("where", f"M.where({mask}, {b.scalar()!r}, {b.scalar()!r})", mask_inputs, {"scalars": 2})
        return
    other, other_name = _operand(b, a, allow_scalar=not b.smooth)
    first, second = (a, other) if kind % 2 else (other, a)
    inputs = mask_inputs + (a,) + ((other_name,) if other_name else ())
    b.op("where", f"M.where({mask}, {first}, {second})", inputs, {"scalars": 0 if other_name else 1})


def gen_masked_fill(b):
    a = b.floating()
    if a is None:
        return
    shape = tuple(b.tensor(a).shape)
    mask, mask_inputs, mask_shape = _mask_for(b, shape)
    b.op("masked_fill", f"{a}.masked_fill({mask}, {b.scalar()!r})", (a,) + mask_inputs,
         {"mask_shape": mask_shape, "shape": shape})


def gen_clamp(b):
    a = b.floating()
    if a is None:
        return
    kind = b.integer(0, 4)
    low, high = sorted([b.scalar(), b.scalar()])
    if kind == 0:
        b.op("clamp", f"{a}.clamp(min={low!r})", (a,))
    elif kind == 1:
        b.op("clamp", f"M.clamp({a}, max={high!r})", (a,))
    elif kind == 2:
        b.op("clamp", f"{a}.clamp({low!r}, {high!r})", (a,))
    else:
        other, other_name = _operand(b, a, allow_scalar=False)
        b.op("clamp", f"M.clamp({a}, min={other})", (a, other_name), {"tensor_bounds": True})


# ---- reductions -------------------------------------------------------------------------------------

def reduction(name):
    def gen(b):
        x = b.floating()
        if x is None:
            return
        t = b.tensor(x)
        if name in ("amax", "amin") and _computed_tie(t):
            return
        dim = _dims_arg(b, t.ndim)
        keep = b.flag(0.4) and dim is not None   # PyTorch's overloads take keepdim only with a dim
        keep_arg = "keepdim=True" if keep else ""
        if name in ("sum", "mean", "amax", "amin"):
            if dim is None and name in ("amax", "amin"):
                dim = b.dim(t.ndim)
            args = ", ".join(a for a in (f"dim={dim}" if dim is not None else "", keep_arg) if a)
            b.op(name, f"{x}.{name}({args})", (x,), {"dim": dim, "keepdim": keep})
        elif name == "logsumexp":
            dim = b.dim(t.ndim) if dim is None else dim
            b.op(name, f"M.logsumexp({x}, dim={dim}{', keepdim=True' if keep else ''})", (x,),
                 {"dim": dim, "keepdim": keep})
        elif name in ("var", "std"):
            if name == "std" and _near_constant(t, dim):
                return  # std's gradient divides by it: on equal values rounding decides between 0 and a tiny std
            correction = b.choice([None, 0, 1] if not b.smooth else [0, 1])
            options = [a for a in (f"dim={dim}" if dim is not None else "",
                                   "" if correction is None else f"correction={correction}", keep_arg) if a]
            if correction is not None and dim is not None and b.flag(0.3):
                options = [o.replace(f"correction={correction}", f"unbiased={bool(correction)}") for o in options]
            b.op(name, f"{x}.{name}({', '.join(options)})", (x,),
                 {"dim": dim, "keepdim": keep, "correction": 1 if correction is None else correction})
    return gen


def _computed_tie(t):
    """Whether ``t`` was computed (not a leaf of constants) and its largest or smallest value is shared, up to
    rounding, by several elements: which of them is the maximum is then rounding noise (PyTorch's vectorised
    and scalar loops can round one element of a tie differently), and so is where the gradient goes."""
    if t.grad_fn is None or t.numel() < 2:
        return False
    x = t.detach().double().flatten()
    x = x[~x.isnan()]
    if x.numel() < 2:
        return False
    for extreme in (x.max(), x.min()):
        if int(((x - extreme).abs() <= 1e-6 * (extreme.abs() + 1)).sum()) >= 2:
            return True
    return False


def gen_max_all(b):
    x = b.floating()
    if x is not None and not _computed_tie(b.tensor(x)):
        b.op("max_all", f"{x}.{b.choice(['max', 'min'])}()", (x,))


def gen_max_dim(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    if _computed_tie(t):
        return
    which = b.choice(["max", "min"])
    dim = b.dim(t.ndim)
    keep = b.flag(0.4)
    b.op_tuple("max_dim", f"{x}.{which}(dim={dim}{', keepdim=True' if keep else ''})", (x,),
               {"dim": dim, "which": which})


def gen_argmax(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    if _computed_tie(t):
        return
    which = b.choice(["argmax", "argmin"])
    if b.flag(0.3):
        b.op("argmax", f"{x}.{which}()", (x,), {"dim": None})
    else:
        dim = b.dim(t.ndim)
        b.op("argmax", f"{x}.{which}(dim={dim}{', keepdim=True' if b.flag(0.3) else ''})", (x,), {"dim": dim})


def along_dim(name):
    """cumsum, cumprod, flip, roll, tril and triu: one input and a dim (or two, for the triangles)."""
    def gen(b):
        x = b.floating()
        if x is None:
            return
        t = b.tensor(x)
        if name in ("tril", "triu"):
            if t.ndim < 2:
                return
            b.op(name, f"M.{name}({x}, diagonal={b.choice([-1, 0, 1])})", (x,))
            return
        if t.ndim == 0:
            return
        dim = b.dim(t.ndim)
        if name == "roll" and not t.numel() and not -t.ndim <= dim < t.ndim:
            return  # PyTorch's roll returns an empty input before it checks dims; microgradnp checks them
        call = {"cumsum": f"M.cumsum({x}, dim={dim})", "cumprod": f"{x}.cumprod(dim={dim})",
                "flip": f"M.flip({x}, dims=({dim},))",
                "roll": f"M.roll({x}, shifts={b.choice([-1, 1, 2])}, dims={dim})"}
        b.op(name, call[name], (x,), {"dim": dim})
    return gen


# ---- shapes -----------------------------------------------------------------------------------------

def _factor_shape(b, n):
    """A shape with ``n`` elements, maybe with one -1."""
    if n == 0:
        shape = [b.choice([0, 2]), 0] if b.flag(0.5) else [0]
        return tuple(shape)
    sides = []
    rest = n
    while rest > 1 and len(sides) < 3:
        divisors = [d for d in range(2, rest + 1) if rest % d == 0]
        d = b.choice(divisors)
        sides.append(d)
        rest //= d
    if rest > 1:
        sides.append(rest)
    if b.flag(0.3):
        sides.insert(b.integer(0, len(sides)), 1)
    if sides and b.flag(0.4):
        sides[b.integer(0, len(sides) - 1)] = -1
    return tuple(sides)


def gen_reshape(b, method="reshape"):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    n = t.numel()
    shape = _factor_shape(b, n)
    if not b.smooth and b.flag(0.05):
        shape = (n + 1,)
    if b.flag(0.2):
        shape = tuple(t.shape)  # a reshape that changes nothing
    spelled = ", ".join(map(str, shape)) if shape and b.flag(0.5) else repr(tuple(shape))
    b.op(method, f"{x}.{method}({spelled})", (x,), {"shape": shape, "input_shape": tuple(t.shape)})


def gen_view(b):
    gen_reshape(b, "view")


def gen_transpose(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    kind = b.integer(0, 2)
    if kind == 0:
        d0, d1 = b.dim(t.ndim), b.dim(t.ndim)
        b.op("transpose", f"{x}.transpose({d0}, {d1})", (x,))
    elif kind == 1 and t.ndim >= 2:
        b.op("mT", f"{x}.mT", (x,))
    else:
        perm = list(b.draw(st.permutations(range(t.ndim))))
        perm = [p - t.ndim if b.flag(0.2) else p for p in perm]
        b.op("permute", f"{x}.permute({', '.join(map(str, perm))}{',' if len(perm) == 1 else ''})"
             if perm else f"{x}.permute(())", (x,))


def gen_squeeze(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    kind = b.integer(0, 3)
    if kind == 0:
        b.op("squeeze", f"{x}.squeeze()", (x,), {"dim": None, "input_shape": tuple(t.shape)})
    elif kind == 1 and t.ndim >= 2:
        d0, d1 = b.dim(t.ndim, bad=0), b.dim(t.ndim, bad=0)
        if d0 % t.ndim != d1 % t.ndim:
            b.op("squeeze", f"{x}.squeeze(({d0}, {d1}))", (x,), {"dim": (d0, d1), "input_shape": tuple(t.shape)})
    else:
        d = b.dim(t.ndim)
        b.op("squeeze", f"M.squeeze({x}, {d})", (x,), {"dim": d, "input_shape": tuple(t.shape)})


def gen_unsqueeze(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    d = b.dim(t.ndim + 1)
    b.op("unsqueeze", f"{x}.unsqueeze({d})", (x,))


def gen_expand(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    sizes = [b.choice([2, 3]) if n == 1 and b.flag(0.6) else (-1 if b.flag(0.3) else n) for n in t.shape]
    lead = b.integer(0, 2 if t.ndim < 3 else 0)
    sizes = [b.choice([1, 2, 3, -1] if not b.smooth else [1, 2]) for _ in range(lead)] + sizes
    if not b.smooth and b.flag(0.05) and sizes:
        sizes[-1] = 5
    method = b.choice(["expand", "broadcast_to"])
    if method == "broadcast_to":
        sizes = [n if n != -1 else (t.shape[i - lead] if i >= lead else 1) for i, n in enumerate(sizes)]
        b.op("broadcast_to", f"M.broadcast_to({x}, {tuple(sizes)!r})", (x,),
             {"sizes": tuple(sizes), "input_shape": tuple(t.shape)})
    else:
        b.op("expand", f"{x}.expand({tuple(sizes)!r})", (x,), {"sizes": tuple(sizes), "input_shape": tuple(t.shape)})


def gen_flatten(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    kind = b.integer(0, 2)
    if kind == 0:
        b.op("flatten", f"{x}.flatten()", (x,), {"start": 0, "end": -1, "ndim": t.ndim})
    else:
        start, end = b.dim(t.ndim), b.dim(t.ndim)
        b.op("flatten", f"M.flatten({x}, {start}, {end})", (x,), {"start": start, "end": end, "ndim": t.ndim})


def gen_cat(b, stack=False):
    x = b.floating(min_ndim=0 if stack else 1)
    if x is None:
        return
    t = b.tensor(x)
    shape = list(t.shape)
    dim = b.dim(t.ndim + (1 if stack else 0))
    count = b.integer(1, 3)
    names = [x]
    for _ in range(count):
        other = list(shape)
        if not stack and other:
            other[dim % len(other)] = b.choice([0, 1, 2]) if not b.smooth else b.choice([1, 2])
        if not b.smooth and b.flag(0.05) and other:
            other[0] += 1
        options = b.names(lambda u, o=tuple(other): u.dtype.is_floating_point and tuple(u.shape) == o)
        names.append(b.choice(options) if options and b.flag(0.5) else b.leaf(tuple(other), dtype=str(t.dtype)[6:]))
    fn = "stack" if stack else "cat"
    b.op(fn, f"M.{fn}([{', '.join(names)}], dim={dim})", tuple(names), {"dim": dim})


def gen_stack(b):
    gen_cat(b, stack=True)


def gen_split(b):
    x = b.floating(min_ndim=1)
    if x is None:
        return
    t = b.tensor(x)
    dim = b.dim(t.ndim, bad=0)
    n = t.shape[dim]
    kind = b.integer(0, 2)
    if kind == 0:
        size = b.integer(0 if not b.smooth else 1, 3)
        b.op_tuple("split", f"{x}.split({size}, dim={dim})", (x,), {"dim": dim, "size": size, "length": n})
    elif kind == 1:
        cuts = sorted(b.integer(0, n) for _ in range(b.integer(0, 2)))
        sizes = [hi - lo for lo, hi in zip([0] + cuts, cuts + [n])]
        if not b.smooth and b.flag(0.1):
            sizes = [-1, n + 1]
        b.op_tuple("split", f"M.split({x}, {sizes!r}, dim={dim})", (x,), {"dim": dim, "sizes": sizes, "length": n})
    else:
        chunks = b.integer(1, 4)
        b.op_tuple("chunk", f"{x}.chunk({chunks}, dim={dim})", (x,), {"dim": dim, "chunks": chunks, "length": n})


def _basic_index(b, shape):
    """A basic index for ``shape``: ints, slices, None and Ellipsis (as code)."""
    parts, dims = [], list(shape)
    used_ellipsis = False
    i = 0
    while i < len(dims) and len(parts) < 4:
        kind = b.integer(0, 5)
        n = dims[i]
        if kind == 0 and n > 0:
            parts.append(str(b.integer(-n, n - 1)))
        elif kind == 1:
            lo, hi = b.integer(-n - 1, n), b.integer(-n - 1, n + 1)
            step = b.choice([1, 1, 2, 3])
            parts.append(f"{lo}:{hi}" + (f":{step}" if step != 1 else ""))
        elif kind == 2:
            parts.append("None")
            continue
        elif kind == 3 and not used_ellipsis:
            parts.append("...")
            used_ellipsis = True
            break
        else:
            parts.append(":")
        i += 1
    if not b.smooth and b.flag(0.04):
        parts.append(str(dims[-1] if dims else 0))  # out of range, or too many indices
    return ", ".join(parts) if parts else "..."


def gen_getitem(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    shape = tuple(t.shape)
    kind = b.integer(0, 4)
    if kind <= 1 or t.ndim == 0:
        index = _basic_index(b, shape)
        b.op("getitem", f"{x}[{index}]", (x,), {"index": index, "advanced": False})
        return
    if kind == 2:  # a boolean mask over leading dims
        lead = b.integer(1, t.ndim)
        mask = b.rng.random(shape[:lead]) > 0.5
        options = [n for n in b.names(lambda u: str(u.dtype) == "torch.bool") if tuple(b.tensor(n).shape) ==
                   shape[:lead]]
        if options and b.flag(0.5):
            name = b.choice(options)
            b.op("getitem", f"{x}[{name}]", (x, name), {"index": "mask", "advanced": True})
        else:
            b.op("getitem", f"{x}[M.tensor({b.const(mask)})]", (x,), {"index": "mask", "advanced": True})
        return
    # integer arrays (lists or int64 tensors) at one or two positions, other positions basic
    parts, positions = [], []
    for i, n in enumerate(shape[:3]):
        choice = b.integer(0, 3)
        if choice == 0 and n > 0:
            values = [b.integer(-n, n - 1) for _ in range(b.integer(1, 3))]
            parts.append(repr(values) if b.flag(0.5) else b.int_const(values))
            positions.append(i)
        elif choice == 1 and n > 0:
            parts.append(str(b.integer(-n, n - 1)))
            positions.append(i)
        else:
            parts.append(":")
    if not any(p.startswith("[") or p.startswith("M.tensor") for p in parts):
        n = shape[0]
        if n == 0:
            return
        parts[0] = repr([b.integer(-n, n - 1) for _ in range(b.integer(1, 3))])
        positions = sorted(set(positions) | {0})
    index = ", ".join(parts)
    b.op("getitem", f"{x}[{index}]", (x,), {"index": index, "advanced": True, "positions": tuple(positions),
                                            "parts": tuple(parts)})


def gen_gather(b):
    x = b.floating(min_ndim=1)
    if x is None:
        return
    t = b.tensor(x)
    dim = b.dim(t.ndim)
    shape = [b.integer(0, n) if n else 0 for n in t.shape]
    d = dim % t.ndim if -t.ndim <= dim < t.ndim else 0
    shape[d] = b.integer(1, 3)
    n = t.shape[d]
    low = -n if b.flag(0.1) else 0
    index = b.rng.integers(low, max(n, 1), shape) if n else np.zeros(shape, np.int64)
    if not b.smooth and b.flag(0.05):
        index = index + n
    c = b.int_const(index)
    if b.flag(0.2):
        b.op("take_along_dim", f"M.take_along_dim({x}, {c}, {dim})", (x,), {"dim": dim, "index": index})
    else:
        b.op("gather", f"M.gather({x}, {dim}, {c})", (x,), {"dim": dim, "index": index})


def gen_pad(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    pairs = b.integer(0, min(t.ndim, 2))
    pad = tuple(b.integer(0, 2) for _ in range(2 * pairs))
    value = b.choice([0.0, 1.5])
    b.op("pad", {"mg": f"M.pad({x}, {pad!r}, value={value!r})", "torch": f"F.pad({x}, {pad!r}, value={value!r})"},
         (x,), {"pad": pad, "ndim": t.ndim})


def gen_identity_like(b):
    x = b.floating()
    if x is None:
        return
    kind = b.choice(["clone", "detach", "to", "double", "float"] if not b.smooth else ["clone", "double"])
    if kind == "clone":
        b.op("clone", f"{x}.clone()", (x,))
    elif kind == "detach":
        b.op("detach", f"{x}.detach()", (x,))
    elif kind == "to":
        b.op("to", f"{x}.to(M.{b.dtype()})", (x,))
    else:
        b.op("to", f"{x}.{kind}()", (x,))


# ---- linear algebra ---------------------------------------------------------------------------------

def gen_matmul(b):
    a = b.floating(min_ndim=1)
    if a is None:
        return
    t = b.tensor(a)
    k = t.shape[-1]
    kind = b.integer(0, 3)
    on_the_left = t.ndim >= 2 and b.flag(0.3)   # other @ a: other's last dim meets a's second to last
    if on_the_left:
        k = t.shape[-2]
    j = b.integer(0 if not b.smooth else 1, 3)
    if kind == 0:
        shape = (k,)
    elif on_the_left:
        shape = (j, k) if kind == 1 else tuple(t.shape[:-2])[-1:] + (j, k)
    else:
        shape = (k, j) if kind == 1 else tuple(t.shape[:-2])[-1:] + (k, j)
    if not b.smooth and b.flag(0.03):
        shape = shape[:-1] + (shape[-1] + 1,) if on_the_left else (k + 1,) + shape[1:]
    options = b.names(lambda u: u.dtype == t.dtype and tuple(u.shape) == shape)
    other = b.choice(options) if options and b.flag(0.4) else b.leaf(shape, dtype=str(t.dtype)[6:])
    first, second = (other, a) if on_the_left else (a, other)
    spelled = b.choice(["{} @ {}", "M.matmul({}, {})"])
    b.op("matmul", spelled.format(first, second), (a, other))


def gen_linear(b):
    x = b.floating(min_ndim=1)
    if x is None:
        return
    t = b.tensor(x)
    in_features = t.shape[-1]
    out_features = b.integer(1, 3)
    dtype = str(t.dtype)[6:]
    w = b.leaf((out_features, in_features), dtype=dtype)
    if b.flag(0.6):
        bias = b.leaf((out_features,), dtype=dtype)
        b.op("linear", f"F.linear({x}, {w}, {bias})", (x, w, bias), {"in_features": in_features, "ndim": t.ndim})
    else:
        b.op("linear", f"F.linear({x}, {w})", (x, w), {"in_features": in_features, "ndim": t.ndim})


def gen_dot(b):
    a = b.floating(min_ndim=1, pred=lambda u: u.ndim == 1)
    if a is None:
        return
    t = b.tensor(a)
    other = b.leaf((t.shape[0] if b.smooth or b.flag(0.9) else t.shape[0] + 1,), dtype=str(t.dtype)[6:])
    fn = b.choice(["dot", "outer"])
    if fn == "outer":
        other = b.leaf((b.integer(1, 3),), dtype=str(t.dtype)[6:])
    b.op(fn, f"M.{fn}({a}, {other})", (a, other))


# ---- softmax ----------------------------------------------------------------------------------------

def softmax_like(name):
    def gen(b):
        x = b.floating()
        if x is None:
            return
        t = b.tensor(x)
        dim = b.dim(t.ndim)
        spelled = b.choice([f"M.{name}({x}, dim={dim})", f"F.{name}({x}, dim={dim})", f"{x}.{name}({dim})"])
        b.op(name, spelled, (x,), {"dim": dim})
    return gen


# ---- losses -----------------------------------------------------------------------------------------

REDUCTIONS = ("mean", "sum", "none")


def regression_loss(name):
    def gen(b):
        x = b.floating()
        if x is None:
            return
        t = b.tensor(x)
        shape = tuple(t.shape)
        options = [n for n in b.names(lambda u: u.dtype == t.dtype and tuple(u.shape) == shape) if n != x]
        if options and b.flag(0.4):
            target, inputs = b.choice(options), (x,)
            inputs = (x, target)
        else:
            target, inputs = b.like(x), (x,)
        reduction = b.choice(REDUCTIONS)
        extra = f", delta={b.choice([0.5, 1.0, 2.0])}" if name == "huber_loss" and b.flag(0.5) else ""
        b.op(name, f"F.{name}({x}, {target}, reduction={reduction!r}{extra})", inputs, {"reduction": reduction})
    return gen


def gen_bce(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    reduction = b.choice(REDUCTIONS)
    target = b.like(x, profile="unit")
    weight = ""
    if b.flag(0.3) and t.ndim:
        weight = ", weight=" + f"M.tensor({b.const(b.rng.uniform(0.5, 2, t.shape[-1:]).astype(str(t.dtype)[6:]))})"
    prob = f"M.sigmoid({x})" if b.flag(0.9) else x
    p = b.ns["M"].sigmoid(t.detach()) if prob != x else t.detach()
    if bool(((p * (1 - p)) < 1e-4).any()) and bool(((p >= 0) & (p <= 1)).all()):
        return  # saturated: the gradient 1 / (p (1 - p)) magnifies the last bit of p (ill-conditioned, not a bug)
    b.op("binary_cross_entropy", f"F.binary_cross_entropy({prob}, {target}{weight}, reduction={reduction!r})", (x,),
         {"reduction": reduction, "ndim": t.ndim})


def gen_bce_logits(b):
    x = b.floating()
    if x is None:
        return
    t = b.tensor(x)
    reduction = b.choice(REDUCTIONS)
    target = b.like(x, profile="unit")
    extra = ""
    dtype = str(t.dtype)[6:]
    if b.flag(0.3) and t.ndim:
        extra += f", weight=M.tensor({b.const(b.rng.uniform(0.5, 2, t.shape[-1:]).astype(dtype))})"
    if b.flag(0.3) and t.ndim:
        extra += f", pos_weight=M.tensor({b.const(b.rng.uniform(0.5, 2, t.shape[-1:]).astype(dtype))})"
    b.op("binary_cross_entropy_with_logits",
         f"F.binary_cross_entropy_with_logits({x}, {target}{extra}, reduction={reduction!r})", (x,),
         {"reduction": reduction})


def _class_loss(b, name):
    x = b.floating(min_ndim=1, pred=lambda u: u.ndim <= 3)
    if x is None:
        return
    t = b.tensor(x)
    shape = tuple(t.shape)
    class_dim = 0 if t.ndim == 1 else 1
    classes = shape[class_dim]
    rest = shape[:class_dim] + shape[class_dim + 1:]
    reduction = b.choice(REDUCTIONS)
    dtype = str(t.dtype)[6:]
    args = [x]
    params = {"reduction": reduction, "classes": classes}
    probabilities = name == "cross_entropy" and b.flag(0.25)
    if probabilities:
        p = b.rng.random(shape) + 0.1
        p = p / p.sum(axis=class_dim, keepdims=True) if p.size else p
        args.append(f"M.tensor({b.const(p.astype(dtype))})")
        params["target"] = None
    else:
        target = b.rng.integers(0, max(classes, 1), rest) if classes else np.zeros(rest, np.int64)
        if b.flag(0.3) and target.size:
            ignore = b.choice([-100, 0, 1])
            target[b.rng.random(rest) < 0.4] = ignore
            if ignore != -100 or b.flag(0.5):
                params["ignore_index"] = ignore
        if not b.smooth and b.flag(0.04) and target.size:
            target.flat[0] = classes
        args.append(b.int_const(target))
        params["target"] = target
    if b.flag(0.3):
        args.append(f"weight=M.tensor({b.const(b.rng.uniform(0.5, 2, classes).astype(dtype))})")
    if "ignore_index" in params or (probabilities and b.flag(0.2)):
        params["ignore_index"] = params.get("ignore_index", 1)
        args.append(f"ignore_index={params['ignore_index']}")
    if name == "cross_entropy" and b.flag(0.25):
        args.append(f"label_smoothing={b.choice([0.1, 0.5])}")
    args.append(f"reduction={reduction!r}")
    params["probabilities"] = probabilities
    b.op(name, f"F.{name}({', '.join(args)})", (x,), params)


def gen_cross_entropy(b):
    _class_loss(b, "cross_entropy")


def gen_nll(b):
    _class_loss(b, "nll_loss")


# ---- layers -----------------------------------------------------------------------------------------

def _set_params(b, module, dtype, arrays):
    """Code that copies ``arrays`` (name -> ndarray) into the module's parameters and buffers."""
    lines = [f"{module}.{attr}.copy_(M.tensor({b.const(a.astype(dtype))}))" for attr, a in arrays.items()]
    return "with M.no_grad():\n" + "\n".join("    " + line for line in lines) if lines else ""


def _layer(b, op, x, ctor, arrays, dtype, params, inputs, leaves=(), extras=(), eval_mode=False):
    m = b.module_name()
    out = b.name()
    lines = [f"{m} = {ctor}", _set_params(b, m, dtype, arrays), f"{m}.eval()" if eval_mode else "",
             f"{out} = {m}({x})"]
    step = Step(op, "\n".join(line for line in lines if line), inputs, (out,), params,
                new_leaves=tuple(f"{m}.{p}" for p in leaves), extras=tuple(f"{m}.{e}" for e in extras))
    b.emit(step)


def _near_constant(t, dim):
    """Whether ``t``'s values over ``dim`` (all of them for None) are equal up to rounding."""
    if t.numel() == 0 or t.ndim == 0:
        return t.ndim == 0
    dims = tuple(range(t.ndim)) if dim is None else dim if isinstance(dim, tuple) else (dim,)
    if not all(-t.ndim <= d < t.ndim for d in dims) or len(set(d % t.ndim for d in dims)) < len(dims):
        return False  # (a dim out of range, drawn on purpose: PyTorch's error is what is compared)
    x = t.detach().double()
    return bool((x.var(dim=dims, correction=0) < 1e-6 * (x.abs().amax(dim=dims) + 1) ** 2).any())


def _ill_conditioned(t, dims):
    """Whether normalising ``t`` over ``dims`` leaves float32 rounding noise to decide the gradient: a tiny
    spread, or two elements (normalised, they are -1 and 1 whatever the input: the Jacobian is about 0, and
    its computed value is cancellation noise that a large upstream gradient can blow up)."""
    if str(t.dtype) != "torch.float32" or t.numel() == 0:
        return False
    if int(np.prod([t.shape[d] for d in dims])) == 2:
        return True
    x = t.detach().double()
    spread = x.var(dim=dims, correction=0)
    size = x.abs().amax(dim=dims) + 1
    return bool((spread < 1e-3 * size * size).any())


def gen_Linear(b):
    x = b.floating(min_ndim=1)
    if x is None:
        return
    t = b.tensor(x)
    dtype = str(t.dtype)[6:]
    k, n = t.shape[-1], b.integer(1, 3)
    bias = b.flag(0.7)
    arrays = {"weight": b.rng.uniform(-1, 1, (n, k))}
    if bias:
        arrays["bias"] = b.rng.uniform(-1, 1, n)
    _layer(b, "Linear", x, f"nn.Linear({k}, {n}, bias={bias}, dtype=M.{dtype})", arrays, dtype,
           {"in_features": k, "ndim": t.ndim}, (x,), leaves=tuple(arrays))


def gen_LayerNorm(b):
    x = b.floating(min_ndim=1)
    if x is None:
        return
    t = b.tensor(x)
    dtype = str(t.dtype)[6:]
    count = b.integer(1, min(2, t.ndim))
    shape = tuple(t.shape[t.ndim - count:])
    if _ill_conditioned(t, tuple(range(t.ndim - count, t.ndim))):
        return
    affine = b.flag(0.7)
    arrays = {"weight": b.rng.uniform(0.5, 1.5, shape), "bias": b.rng.uniform(-1, 1, shape)} if affine else {}
    _layer(b, "LayerNorm", x, f"nn.LayerNorm({shape!r}, elementwise_affine={affine}, dtype=M.{dtype})", arrays,
           dtype, {"normalized_shape": shape}, (x,), leaves=tuple(arrays))


def gen_BatchNorm1d(b):
    x = b.floating(min_ndim=2, pred=lambda u: u.ndim <= 3 and u.shape[1] > 0)
    if x is None:
        return
    t = b.tensor(x)
    dtype = str(t.dtype)[6:]
    c = t.shape[1]
    training = b.flag(0.6) and (t.numel() // c > 1 or b.flag(0.2))
    if training and _ill_conditioned(t, (0,) + tuple(range(2, t.ndim))):
        return
    momentum = b.choice([0.1, 0.5, None])
    arrays = {"weight": b.rng.uniform(0.5, 1.5, c), "bias": b.rng.uniform(-1, 1, c),
              "running_mean": b.rng.uniform(-1, 1, c), "running_var": b.rng.uniform(0.5, 2, c)}
    _layer(b, "BatchNorm1d", x, f"nn.BatchNorm1d({c}, momentum={momentum}, dtype=M.{dtype})", arrays, dtype,
           {"training": training, "count": t.numel() // max(c, 1)}, (x,), leaves=("weight", "bias"),
           extras=("running_mean", "running_var"), eval_mode=not training)


def gen_Embedding(b):
    dtype = b.dtype()
    rows, dim = b.integer(1, 5), b.integer(1, 3)
    ints = b.names(lambda u: str(u.dtype) == "torch.int64" and u.ndim <= 2)
    if ints and b.flag(0.3):   # indices computed by the program (argmax, one_hot)
        index_name = b.choice(ints)
        t = b.tensor(index_name)
        rows = max(rows, int(t.max()) + 1 if t.numel() else 1)
        index, inputs = index_name, (index_name,)
    else:
        shape = b.shape(max_dims=2)
        array = b.rng.integers(0, rows, shape)
        if not b.smooth and b.flag(0.04) and array.size:
            array.flat[0] = rows
        index, inputs = b.int_const(array), ()
    padding = b.choice([None, None, 0, rows - 1])
    arrays = {"weight": b.rng.uniform(-1, 1, (rows, dim))}
    pad = "" if padding is None else f", padding_idx={padding}"
    _layer(b, "Embedding", index, f"nn.Embedding({rows}, {dim}{pad}, dtype=M.{dtype})", arrays, dtype,
           {"padding_idx": padding}, inputs, leaves=("weight",))


def gen_dropout(b):
    x = b.floating()
    if x is None:
        return
    if b.flag(0.5):
        p = b.choice([0.3, 0.5])
        m = b.module_name()
        out = b.name()
        b.emit(Step("Dropout", f"{m} = nn.Dropout({p})\n{m}.eval()\n{out} = {m}({x})", (x,), (out,)))
    else:
        p, training = b.choice([(0.0, True), (1.0, True), (0.5, False)])
        b.op("dropout", f"F.dropout({x}, p={p}, training={training})", (x,), {"p": p})


def gen_one_hot(b):
    classes = b.integer(1, 4)
    index = b.rng.integers(0, classes, b.shape(max_dims=2))
    num_classes = classes if b.flag(0.7) else -1
    b.op("one_hot", f"F.one_hot({b.int_const(index)}, {num_classes})", (),
         {"size": index.size, "num_classes": num_classes})


# ---- in-place ---------------------------------------------------------------------------------------

def gen_inplace(b):
    options = [n for n in b.names(lambda u: u.dtype.is_floating_point) if b.writable(n)]
    if not options:
        return
    mode = "no_grad" if b.flag(0.5) else "record"
    if mode == "record" and not b.flag(0.1):  # a leaf that requires grad refuses in-place ops while recording
        options = [n for n in options if not b.pool[n].leaf] or options
    target = b.choice(options)
    t = b.tensor(target)
    kind = b.choice(["add_", "sub_", "mul_", "div_", "iadd", "clamp_", "fill_", "zero_", "copy_", "setitem"])
    if kind in ("clamp_", "fill_", "zero_"):
        code = {"clamp_": f"{target}.clamp_(min={b.scalar()!r})", "fill_": f"{target}.fill_({b.scalar()!r})",
                "zero_": f"{target}.zero_()"}[kind]
        b.inplace(kind, code, target, (target,), {}, mode)
        return
    if kind == "setitem":
        index = _basic_index(b, tuple(t.shape)) if b.flag(0.7) or t.ndim == 0 else None
        if index is None:
            mask = b.rng.random(tuple(t.shape)) > 0.5
            index = f"M.tensor({b.const(mask)})"
        try:
            selection = tuple(t[eval(f"np.index_exp[{index}]", {"np": np, "M": b.ns["M"], **b.ns})].shape)
        except Exception:
            selection = tuple(t.shape)
        if b.flag(0.3):
            value, inputs = repr(b.scalar()), (target,)
        else:
            shape = b.broadcastable(selection)
            if b.flag(0.15):
                shape = (1,) + shape
            value = b.leaf(shape, dtype=str(t.dtype)[6:], requires_grad=b.flag(0.6))
            inputs = (target, value)
        b.inplace("setitem", f"{target}[{index}] = {value}", target, inputs,
                  {"index": index, "selection": selection}, mode)
        return
    other, other_name = _operand(b, target)
    inputs = (target,) + ((other_name,) if other_name else ())
    if kind == "iadd":
        code = f"{target} += {other}"
    elif kind == "sub_" and b.flag(0.5):
        code = f"{target}.sub_({other}, alpha=2.0)"
    else:
        code = f"{target}.{kind}({other})"
    b.inplace(kind, code, target, inputs, {}, mode)


# ---- the table --------------------------------------------------------------------------------------

OPS = {}   # name -> (generator, smooth)
for _name, (_expr, _smooth) in UNARY.items():
    OPS[_name] = (unary(_name), _smooth)
for _name in BINARY:
    OPS[_name] = (binary(_name), _name not in ("maximum", "minimum"))
for _name in ("sum", "mean", "amax", "amin", "logsumexp", "var", "std"):
    OPS[_name] = (reduction(_name), _name in ("sum", "mean", "logsumexp", "var"))
for _name in ("softmax", "log_softmax"):
    OPS[_name] = (softmax_like(_name), True)
for _name in ("cumsum", "cumprod", "flip", "roll", "tril", "triu"):
    OPS[_name] = (along_dim(_name), True)
for _name in ("mse_loss", "l1_loss", "huber_loss"):
    OPS[_name] = (regression_loss(_name), _name == "mse_loss")
OPS.update({
    "pow": (gen_pow, True), "compare": (gen_compare, False), "where": (gen_where, True),
    "masked_fill": (gen_masked_fill, True), "clamp": (gen_clamp, False),
    "max_all": (gen_max_all, False), "max_dim": (gen_max_dim, False), "argmax": (gen_argmax, False),
    "reshape": (gen_reshape, True), "view": (gen_view, True), "transpose": (gen_transpose, True),
    "squeeze": (gen_squeeze, True), "unsqueeze": (gen_unsqueeze, True), "expand": (gen_expand, True),
    "flatten": (gen_flatten, True), "cat": (gen_cat, True), "stack": (gen_stack, True),
    "split": (gen_split, True), "getitem": (gen_getitem, True), "gather": (gen_gather, True),
    "pad": (gen_pad, True), "identity_like": (gen_identity_like, True),
    "matmul": (gen_matmul, True), "linear": (gen_linear, True), "dot": (gen_dot, True),
    "binary_cross_entropy": (gen_bce, False), "binary_cross_entropy_with_logits": (gen_bce_logits, False),
    "cross_entropy": (gen_cross_entropy, True), "nll_loss": (gen_nll, True),
    "Linear": (gen_Linear, True), "LayerNorm": (gen_LayerNorm, True), "BatchNorm1d": (gen_BatchNorm1d, True),
    "Embedding": (gen_Embedding, True), "dropout": (gen_dropout, True), "one_hot": (gen_one_hot, False),
    "inplace": (gen_inplace, False),
})

ALL_OPS = sorted(OPS)
SMOOTH_OPS = sorted(name for name, (_, smooth) in OPS.items() if smooth)
LAYER_OPS = ["Linear", "LayerNorm", "BatchNorm1d", "Embedding", "dropout", "cross_entropy", "nll_loss",
             "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "huber_loss",
             "softmax", "log_softmax", "linear", "matmul", "inplace", "relu", "gelu", "sigmoid", "tanh"]

# what the main test draws from: every op, with the in-place and indexing ops, which interact with the
# most machinery (versions, rebinding, index_put), several times over
WEIGHTED_OPS = ALL_OPS + ["inplace"] * 8 + ["getitem", "where", "matmul", "cat", "reshape"] * 2
