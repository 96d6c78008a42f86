"""Gradient clipping, in place on the parameters' ``.grad``."""
import math

import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, replayable


def _parameters(parameters):
    return (parameters,) if isinstance(parameters, mg.Tensor) else tuple(parameters)


def _grads(parameters):
    """The ``.grad`` arrays, read when called: inside ``mg.compile`` each replay finds that call's gradients."""
    return [array_of(p.grad) for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d tensor). Gradients are multiplied by
    max_norm / (total_norm + 1e-6) when that is below 1, as in PyTorch. Inside a step compiled with
    ``mg.compile`` it is one step of the replay.
    """
    total = replayable(_clip_norm, _parameters(parameters), max_norm, norm_type, error_if_nonfinite)
    return mg.tensor(0.0) if total is None else mg.from_numpy(total)


def _clip_norm(parameters, max_norm, norm_type, error_if_nonfinite):
    """``clip_grad_norm_`` on the arrays: the total norm (a 0-d array of the gradients' dtype), or None."""
    grads = _grads(parameters)
    if not grads:
        return None
    norm_type = float(norm_type)
    if norm_type == math.inf:
        norms = [np.max(np.abs(g)) if g.size else 0.0 for g in grads]
        total = float(np.max(norms))
    else:
        # order="K": the elements in memory order, so a Fortran-order gradient (see nn.Linear) is not copied
        norms = [np.linalg.norm(g.ravel(order="K"), norm_type) for g in grads]
        total = float(np.linalg.norm(np.asarray(norms, dtype=np.float64), norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, so "
                           f"they cannot be clipped; set error_if_nonfinite=False to clip anyway (find where the "
                           f"NaN/Inf came from with mg.autograd.detect_anomaly())")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return np.asarray(total, dtype=grads[0].dtype)


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value] (one replay step inside ``mg.compile``)."""
    replayable(_clip_value, _parameters(parameters), float(clip_value))


def _clip_value(parameters, clip_value):
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
