"""Arrays that the layers and losses derive from a step's values with NumPy and feed to ops: masks, and the
straight-through floor of a norm or a variance.

Eagerly each is plain NumPy. While a compiled step is captured (``mg.compile``) each goes through
``graph.replayable``, so that the replay recomputes it from every call's values: an array computed once at
capture would be a constant of the replay, stale as soon as the inputs change.
"""
import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, capture_state, replayable


def mask(compare, tensor, value):
    """``compare(tensor's values, value)``, a boolean array for ``mg.where`` (``compare`` a NumPy comparison
    such as ``np.greater``), recomputed at every replay of a compiled step.

    A Tensor comparison (``input > 0``) gives the same values, but a compiled step refuses ops that read it:
    it is no recorded op.
    """
    data = array_of(tensor) if isinstance(tensor, mg.Tensor) else np.asarray(tensor)
    if capture_state.active is None:
        return compare(data, value)
    return replayable(_compared, compare, data, value)


def _compared(compare, data, value):
    # an array even for 0-d data (a comparison of 0-d arrays gives a NumPy bool), as a replay step must give
    return np.asarray(compare(data, value))


def floor_straight_through(x, low):
    """``x`` with its values below ``low`` raised to ``low``, the gradient flowing as if unclamped.

    Eagerly: ``x`` itself when no value is below ``low``, else ``where(below, x - x.detach() + low, x)``
    (``x - x.detach()`` is exactly 0, with x's gradient), as PyTorch clamps a norm or a variance under no_grad.
    A compiled step records one form for both cases (see ``_captured_floor``).
    """
    if capture_state.active is not None:
        return _captured_floor(x, low)
    below = array_of(x) < low
    if not below.any():
        return x
    return mg.where(below, x - x.detach() + low, x)


def _captured_floor(x, low):
    """``floor_straight_through`` as one recorded form, equal to the eager result bit for bit in both cases.

    The clamped branch is ``x * sign - x.detach() * sign + low`` with ``sign`` recomputed at every replay: 1
    when some value is below ``low`` (the eager ``where`` form, a multiply by 1 changes no bit), -1 when none
    is. In that case the branch is never picked, and the zero gradient it sends back to ``x`` is -0.0 instead
    of 0.0: adding -0.0 changes no gradient, not even a -0.0 one, so ``x`` gets exactly what the eager ``x``
    gets when no value is clamped.
    """
    data = array_of(x)
    below = replayable(_compared, np.less, data, low)
    sign = replayable(_branch_sign, below, data.dtype)
    return mg.where(below, x * sign - x.detach() * sign + low, x)


def _branch_sign(below, dtype):
    # 1 where the eager floor takes its where form (some value below the floor), else -1 (see _captured_floor)
    return np.array(1 if below.any() else -1, dtype=dtype)
