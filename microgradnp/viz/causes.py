"""Why an op passed no gradient to one of its inputs, in words.

``describe_block(node, index, grad)`` looks at the op and the values it saved and returns a ``Cause``:
a short ``kind`` a program can test ('relu_off', 'clipped', 'masked', 'zero_factor', 'integer',
'zero_derivative') and a sentence for a person.
"""
from dataclasses import dataclass

import numpy as np

from .gradients import is_node


@dataclass(frozen=True)
class Cause:
    """Why a gradient became zero: ``kind`` for programs, ``text`` for people."""

    kind: str
    text: str


def where_text(node):
    """'file.py:12' for a node created while recording, '' otherwise."""
    trace = node.info("trace")
    if not trace:
        return ""
    filename, lineno = trace[0], trace[1]
    return f"{filename.replace(chr(92), '/').rsplit('/', 1)[-1]}:{lineno}"


def op_text(node):
    """The op's name with where it was created, e.g. 'relu (train.py:31)'."""
    where = where_text(node)
    return f"{node.name} ({where})" if where else node.name


def _count(n):
    return f"{n} value" if n == 1 else f"{n} values"


def _relu(node, index, grad):
    x = np.asarray(node.args[0])
    on = x > 0
    if not on.any():
        return Cause("relu_off", f"the ReLU mask is all off: all {x.size} of its inputs are <= 0 "
                                 f"(largest {x.max():.4g}), so it passes no gradient back (a dead ReLU)")
    return Cause("zero_derivative", f"the ReLU is on for {int(on.sum())} of {_count(x.size)}, but the gradient "
                                    f"arriving there is zero")


def _clip(node, index, grad):
    x = np.asarray(node.args[0])
    low, high = node.kwargs.get("min"), node.kwargs.get("max")
    inside = np.ones(x.shape, dtype=bool)
    if low is not None:
        inside &= x >= low
    if high is not None:
        inside &= x <= high
    if not inside.any():
        return Cause("clipped", f"all {_count(x.size)} lie outside [{low}, {high}], where clamp has derivative 0")
    return None


def _maximum(node, index, grad):
    a, b = (np.asarray(v) for v in node.args)
    mine, other = (a, b) if index == 0 else (b, a)
    loses = mine < other if node.name == "maximum" else mine > other
    if np.broadcast_to(loses, np.broadcast_shapes(a.shape, b.shape)).all():
        return Cause("masked", f"input {index} never wins the {node.name}: the other input is "
                               f"{'larger' if node.name == 'maximum' else 'smaller'} everywhere")
    return None


def _where(node, index, grad):
    condition = np.asarray(node.args[0], dtype=bool)
    picked = condition if index == 1 else ~condition
    if not picked.any():
        return Cause("masked", f"the condition of where never selects input {index} "
                               f"({'all False' if index == 1 else 'all True'})")
    return None


def _mul(node, index, grad):
    other = np.asarray(node.args[1 - index])
    if not np.any(other):
        what = "the constant 0" if other.ndim == 0 else f"0 everywhere (shape {tuple(other.shape)})"
        return Cause("zero_factor", f"the other factor of mul is {what}")
    if grad is not None and not np.any((other != 0) & (np.asarray(grad) != 0)):
        return Cause("zero_factor", "the other factor of mul is 0 wherever the incoming gradient is not")
    return None


def _integer(node, index, grad):
    dtype = np.asarray(node.args[index]).dtype
    if not np.issubdtype(dtype, np.integer):
        return None
    edge = node.edges[index]
    made = ""
    if is_node(edge):
        cast = "an integer cast " if edge.name == "astype" else ""
        made = f" made by {cast}{op_text(edge)}"
    return Cause("integer", f"input {index} is an integer tensor ({dtype}){made}: a gradient passing through "
                            f"integers is truncated to whole numbers, so anything smaller than 1 becomes 0; "
                            f"keep the tensor floating point on the path to the loss")


_RULES = {"relu": _relu, "clip": _clip, "maximum": _maximum, "minimum": _maximum, "where": _where, "mul": _mul}


def describe_block(node, index, grad=None):
    """The Cause of ``node`` passing an all-zero gradient to input ``index`` while receiving ``grad``.

    ``grad`` (the gradient of the op's output, or None when unknown) sharpens some verdicts.
    """
    cause = _integer(node, index, grad)
    if cause is None and node.name in _RULES:
        cause = _RULES[node.name](node, index, grad)
    if cause is None:
        cause = Cause("zero_derivative", f"the derivative of {node.name} with respect to input {index} is 0 "
                                         f"wherever the incoming gradient is not")
    return cause
