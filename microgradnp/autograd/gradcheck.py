"""Compare analytic gradients with central finite differences."""
import numpy as np

from .. import grad_mode


def _as_tuple(x):
    return x if isinstance(x, (tuple, list)) else (x,)


def numerical_jacobian(fn, inputs, eps=1e-6):
    """d(flattened output)/d(flattened input) for each input, by central differences in float64."""
    from ..tensor import Tensor

    jacobians = []
    with grad_mode.no_grad():
        for t in inputs:
            if not (isinstance(t, Tensor) and t.requires_grad):
                jacobians.append(None)
                continue
            flat = t.data.reshape(-1)
            columns = []
            for k in range(flat.size):
                saved = flat[k]
                flat[k] = saved + eps
                plus = np.array(fn(*inputs).data, dtype=np.float64).reshape(-1)
                flat[k] = saved - eps
                minus = np.array(fn(*inputs).data, dtype=np.float64).reshape(-1)
                flat[k] = saved
                columns.append((plus - minus) / (2 * eps))
            jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((0, 0)))
    return jacobians


def analytic_jacobian(fn, inputs):
    """The same Jacobians, one backward pass per output element."""
    from ..tensor import Tensor
    from .engine import grad

    differentiable = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    out = fn(*inputs)
    rows = {id(t): [] for t in differentiable}
    for k in range(out.data.size):
        seed = np.zeros(out.shape, dtype=out.dtype)
        seed.reshape(-1)[k] = 1
        grads = grad(out, differentiable, grad_outputs=[Tensor(seed)], retain_graph=True, allow_unused=True)
        for t, g in zip(differentiable, grads):
            rows[id(t)].append(np.zeros(t.data.size) if g is None else g.data.reshape(-1).astype(np.float64))
    return [np.stack(rows[id(t)], axis=0) if id(t) in rows else None for t in inputs]


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """True when ``fn``'s analytic gradients match central differences; otherwise raise with a table.

    ``inputs`` should be float64 tensors; those with ``requires_grad=True`` are checked.
    """
    inputs = _as_tuple(inputs)
    numeric = numerical_jacobian(fn, inputs, eps)
    analytic = analytic_jacobian(fn, inputs)
    for i, (num, ana) in enumerate(zip(numeric, analytic)):
        if num is None:
            continue
        bad = ~np.isclose(ana, num, atol=atol, rtol=rtol)
        if bad.any():
            if not raise_exception:
                return False
            order = np.argsort(-np.abs(ana - num)[bad])
            where = np.argwhere(bad)[order][:10]
            lines = [f"gradcheck: gradient of input {i} (shape {inputs[i].shape}) does not match finite "
                     f"differences at {int(bad.sum())} of {bad.size} Jacobian entries (worst first):",
                     f"{'output':>8} {'input':>8} {'analytic':>14} {'numeric':>14} {'difference':>12}"]
            for out_k, in_k in where:
                a, n = ana[out_k, in_k], num[out_k, in_k]
                lines.append(f"{out_k:>8} {in_k:>8} {a:>14.6g} {n:>14.6g} {a - n:>12.3g}")
            raise GradcheckError("\n".join(lines))
    return True


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytic and numerical gradients disagree."""
