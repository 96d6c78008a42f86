"""The argument checks and misuse warnings of the losses, run on every call before the loss math.

Argument checks raise: each error names the loss and the shapes involved. Misuse warnings flag the
mistakes that from-scratch networks keep making (a softmax into binary cross-entropy, probabilities into
cross-entropy, a ReLU right before a loss, a sigmoid before ``BCEWithLogitsLoss``). Each check is cheap (a
look at the input's graph node, or a test on one row before the whole array) so it can run on every
training step. The layers' and modules' misuse warnings live here too, so that every warning goes through
``warn``: float64 data into a float32 ``Linear`` (``warn_if_float64_input``, reached only when the output's
dtype is not the weight's) and modules kept in a plain list (``Module``'s check, once per module). Each
warning is a ``MisuseWarning`` (a ``UserWarning``), silenced like any other:
``warnings.filterwarnings("ignore", category=nn.MisuseWarning)``.
"""
import os
import sys
import warnings
import weakref

import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, capture_state, replayable

REDUCTIONS = ("mean", "sum", "none")


# ---- arguments every loss takes ---------------------------------------------------------------------------

def check_reduction(reduction, loss):
    """Raise unless ``reduction`` is 'mean', 'sum' or 'none'."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def reduce(loss, reduction):
    """Apply the reduction to per-element losses (the mean of none is NaN, as in PyTorch)."""
    if reduction == "mean":
        if not array_of(loss).size:  # NaN as a constant factor: 0 / 0 would warn, here and in the backward pass
            return mg.sum(loss) * np.nan
        return mg.mean(loss)
    if reduction == "sum":
        return mg.sum(loss)
    return loss


def floating_input(input, loss):
    """``input`` as a floating-point Tensor (ndarrays are wrapped), or a TypeError naming the loss."""
    if not isinstance(input, mg.Tensor):
        input = mg.Tensor(np.asarray(input))
    if array_of(input).dtype.kind != "f":
        raise TypeError(f"{loss}: input must be a floating point tensor (predictions), got dtype {input.dtype} "
                        f"and shape {tuple(input.shape)}")
    return input


def matching_target(input, target, loss):
    """``target`` as a Tensor of the input's dtype and exactly the input's shape.

    Broadcasting (N, 1) predictions against (N,) targets would compare every prediction with every target
    and give a wrong loss without any error, so different shapes are refused.
    """
    if not isinstance(target, mg.Tensor):
        target = mg.Tensor(np.asarray(target))
    if array_of(target).shape != array_of(input).shape:
        try:
            combined = f" (broadcasting would make them {np.broadcast_shapes(input.shape, target.shape)}, "\
                       f"a different loss)"
        except ValueError:
            combined = ""
        hint = f", e.g. target.reshape{tuple(input.shape)}" if input.numel() == target.numel() else ""
        raise ValueError(f"{loss}: input shape {tuple(input.shape)} and target shape {tuple(target.shape)} "
                         f"differ{combined}; "
                         f"make them the same{hint}")
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    return target


def as_constant(value, dtype, loss, what, shape=None):
    """An optional weight argument as an ndarray of ``dtype`` (or a Tensor, if it requires grad)."""
    if value is None:
        return None
    if isinstance(value, mg.Tensor):
        if value.requires_grad:
            return value.to(dtype)
        value = array_of(value)
    array = np.asarray(value, dtype=dtype)
    if shape is not None and array.shape != shape:
        raise ValueError(f"{loss}: {what} must have shape {shape}, got {tuple(array.shape)}")
    return array


def broadcast_weight(weight, input, loss, what):
    """An optional elementwise weight (``what`` names the argument) that must broadcast to the input's shape."""
    weight = as_constant(weight, input.dtype, loss, what)
    if weight is not None and np.broadcast_shapes(np.shape(weight), input.shape) != input.shape:
        raise ValueError(f"{loss}: {what} of shape {np.shape(weight)} does not broadcast to the input's shape "
                         f"{tuple(input.shape)}")
    return weight


# ---- arguments of the class-score losses (cross-entropy, NLL) ---------------------------------------------

def class_scores(input, reduction, loss, advice):
    """The checks cross_entropy and nll_loss share: returns the input tensor, its class dim and class count."""
    check_reduction(reduction, loss)
    input = floating_input(input, loss)
    class_dim = _class_dim(input, loss)
    warn_if_relu_output(input, loss)
    _warn_if_probabilities(input, class_dim, loss, advice)
    return input, class_dim, input.shape[class_dim]


def _class_dim(input, loss):
    ndim = array_of(input).ndim
    if ndim == 0:
        raise ValueError(f"{loss}: input must have a class dimension, got a 0-d tensor")
    return 0 if ndim == 1 else 1


def class_weight(weight, input, classes, class_dim, loss):
    """The optional per-class ``weight``, of shape (classes,), reshaped to broadcast along ``class_dim``."""
    weight = as_constant(weight, input.dtype, loss, "weight", shape=(classes,))
    if weight is None:
        return None
    shape = [1] * input.ndim
    shape[class_dim] = classes
    return weight.reshape(shape) if isinstance(weight, np.ndarray) else mg.reshape(weight, tuple(shape))


_UNSIGNED = {np.dtype(t): np.dtype(t.replace("i", "u")) for t in ("i8", "i4", "u8", "u4")}


def _as_unsigned(index):
    # seen as unsigned, a negative index is huge: one reduce checks both ends of the range
    return index.view(_UNSIGNED.get(index.dtype) or index.dtype.str.replace("i", "u"))


def index_target(input, target, class_dim, ignore_index, loss):
    """(index, valid): the class-index target as an integer ndarray of the right shape, every value in range,
    and the mask of targets not equal to ``ignore_index`` (None when every target counts).

    While a compiled step is captured the range check and the mask are recorded (``_replayed_index_target``).
    """
    shape = tuple(input.shape)
    classes = shape[class_dim]
    expected = shape[:class_dim] + shape[class_dim + 1:]
    index = array_of(target) if isinstance(target, mg.Tensor) else np.asarray(target)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{loss}: class-index targets must be integers, got dtype {index.dtype} and shape "
                        f"{tuple(index.shape)} (use target.long()); probability targets must have the input's shape "
                        f"{tuple(input.shape)}")
    if index.shape != expected:
        raise ValueError(f"{loss}: input of shape {shape} ({classes} classes along dim {class_dim}) needs a "
                         f"target of class indices of shape {expected}, got {tuple(index.shape)}")
    if capture_state.active is not None:  # the targets change from call to call
        return _replayed_index_target(index, classes, ignore_index, loss)
    if (index.size and not 0 <= ignore_index < classes
            and np.maximum.reduce(_as_unsigned(index), axis=None) < classes):
        return index, None  # the usual case: every target valid and in range
    return index, _counted_targets(index, classes, ignore_index, loss)


def _counted_targets(index, classes, ignore_index, loss):
    """The mask of the targets not equal to ``ignore_index``, or an IndexError naming the first target out of
    [0, classes)."""
    valid = np.asarray(index != ignore_index)
    out_of_range = valid & ((index < 0) | (index >= classes))
    if out_of_range.any():
        bad = index[out_of_range]
        raise IndexError(f"{loss}: target class indices must be in [0, {classes}) (or ignore_index={ignore_index}),"
                         f" got {int(bad.flat[0])} ({int(out_of_range.sum())} bad of {index.size}; target "
                         f"values range from {int(index.min())} to {int(index.max())})")
    return valid


def _replayed_index_target(index, classes, ignore_index, loss):
    """``index_target``'s range check and mask while a compiled step is captured: recorded, so that every
    replay checks that call's targets (and raises the eager IndexError) and recomputes the mask. Whether
    there is a mask depends on ``ignore_index`` and the shape only (with targets out of range eager raises)."""
    if index.size and not 0 <= ignore_index < classes:
        replayable(_check_targets, index, classes, ignore_index, loss)
        return index, None
    return index, replayable(_counted_targets, index, classes, ignore_index, loss)


def _check_targets(index, classes, ignore_index, loss):
    """``_counted_targets``' IndexError for a target out of [0, classes), checked first with one reduce as
    ``index_target`` checks it (the mask itself is not needed: ``ignore_index`` is out of that range)."""
    if np.maximum.reduce(_as_unsigned(index), axis=None) >= classes:
        _counted_targets(index, classes, ignore_index, loss)


# ---- misuse warnings ----------------------------------------------------------------------------------------

# the nn package (this file is in nn/functional): warnings are attributed to the first frame outside it
_NN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # (nn_demo.py is not in nn/)

# ops that only move elements around: a ReLU output passed through them is still a ReLU output
_PASS_THROUGH = frozenset({"reshape", "transpose", "getitem", "astype", "broadcast_to"})


class MisuseWarning(UserWarning):
    """A layer or loss was used in a way that trains badly or not at all (the message says what to use)."""


def warn(message):
    """Issue a ``MisuseWarning`` attributed to the first line of user code outside ``nn``."""
    warnings.warn(message, MisuseWarning, stacklevel=_user_stacklevel())


def _user_stacklevel():
    frame, level = sys._getframe(2), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_NN_DIR):
        frame, level = frame.f_back, level + 1
    return level


def _source_op(t):
    """The name of the op that made ``t``, looking through reshapes and casts (None for a leaf or no graph)."""
    node = t.grad_fn if isinstance(t, mg.Tensor) else None
    while node is not None and node.fn.name in _PASS_THROUGH:
        edge = node.edges[0]
        node = None if edge is None or isinstance(edge, mg.Tensor) else edge
    return None if node is None else node.fn.name


def comes_from_relu(t):
    """True when ``t`` is (a reshaped view of) the output of a ReLU, judged from its graph node."""
    return _source_op(t) == "relu"


def comes_from_sigmoid(t):
    """True when ``t`` is (a reshaped view of) the output of a sigmoid (``nn.Sigmoid``, ``mg.sigmoid``)."""
    return _source_op(t) == "sigmoid"


def warn_if_relu_output(input, loss):
    """Flag a loss fed directly by a ReLU, e.g. a ``Sequential`` whose last layer is ``nn.ReLU()`` (seed 004)."""
    if comes_from_relu(input):
        warn(f"{loss}: its input comes straight out of a ReLU (for example a Sequential whose last layer is "
             f"nn.ReLU()). Outputs the ReLU clips to 0 get no gradient and stay stuck there (dying ReLU), and "
             f"negative targets can never be reached. Drop the final ReLU (end with nn.Linear, or nn.Identity) "
             f"for regression; for classification feed the raw scores to nn.CrossEntropyLoss or "
             f"nn.BCEWithLogitsLoss (or end with nn.Sigmoid before nn.BCELoss).")


def warn_if_sigmoid_output(input, loss):
    """Flag logits losses fed by a sigmoid, e.g. a model ending in ``nn.Sigmoid()`` before ``BCEWithLogitsLoss``.

    Like the ReLU check it reads the graph, so it sees nothing when no graph was recorded (under
    ``no_grad``, or when nothing in the model requires grad).
    """
    if comes_from_sigmoid(input):
        warn(f"{loss}: its input comes straight out of a sigmoid (for example a model whose last layer is "
             f"nn.Sigmoid()), but this loss expects raw scores (logits) and applies a sigmoid itself, so the "
             f"sigmoid is applied twice. Every probability it scores is squeezed into (0.5, 0.73): the model can "
             f"never become confident (nor predict the 0 class), and the gradients shrink (each sigmoid scales "
             f"them by at most 1/4). Drop the final Sigmoid and pass the raw scores, or keep it and use "
             f"nn.BCELoss instead.")


def warn_if_softmax_rows(input, loss):
    """Flag binary cross-entropy on (N, C) rows that each sum to 1: a softmax over exclusive classes (seed 003)."""
    # the [0, 1] range itself is checked by the binary_cross_entropy op, which computes 1 - p anyway
    if array_of(input).ndim == 2 and looks_like_probabilities(array_of(input), 1):
        warn(f"{loss}: each row of the input (shape {tuple(input.shape)}) sums to 1, so it looks like a softmax over "
             f"{input.shape[1]} classes. Binary cross-entropy scores every column as an independent yes/no "
             f"probability, which is wrong for mutually exclusive classes. Feed the raw scores (logits, no "
             f"softmax) to nn.CrossEntropyLoss with class-index targets instead; for independent labels use a "
             f"sigmoid per column, or nn.BCEWithLogitsLoss on the logits.")


def _warn_if_probabilities(input, class_dim, loss, advice):
    if looks_like_probabilities(array_of(input), class_dim):
        warn(f"{loss}: the input (shape {tuple(input.shape)}) looks like probabilities (every value in [0, 1] and each "
             f"slice along dim {class_dim} sums to 1), but {advice}")


def looks_like_probabilities(array, dim, atol=1e-3):
    """True when every value is in [0, 1] and every slice along ``dim`` (of length >= 2) sums to 1."""
    if array.ndim == 0 or array.size == 0 or array.shape[dim] < 2 or array.dtype.kind != "f":
        return False
    # one value first: a probability is in [0, 1], and logits often have one outside it (NaN fails too);
    # this runs on every loss call, and reading one value is far cheaper than summing the first row below
    if not 0.0 <= array.item(0) <= 1.0:
        return False
    # one slice first: logits almost never pass it, so the full check rarely runs
    if array.ndim == 2 and dim == 1:  # (N, C) scores, the usual case: the first row without building an index
        first = array[0]
    else:
        index = [0] * array.ndim
        index[dim] = slice(None)
        first = array[tuple(index)]
    if abs(float(np.add.reduce(first)) - 1.0) > atol or np.minimum.reduce(first) < 0 or np.maximum.reduce(first) > 1:
        return False
    if array.min() < 0 or array.max() > 1:
        return False
    return bool(np.all(np.abs(array.sum(axis=dim) - 1.0) <= atol))


# ---- layers -------------------------------------------------------------------------------------------------

_float64_warned = {}  # id(weight) -> weak reference to it: the layers already warned about a float64 input


def warn_if_float64_input(input, weight, layer):
    """Flag float64 data fed to a layer whose ``weight`` is float32, once per weight (that is, per layer).

    Called by ``nn.Linear`` and ``F.linear`` only when the output's dtype is not the weight's, so the
    everyday step pays one dtype comparison. The result stays correct (computed in float64); the warning
    says that it is slower and usually not meant. Every message is the same, so Python's default filter
    shows it once per line of user code even when several layers see float64.
    """
    dtype = getattr(input, "dtype", None)
    if dtype is None:
        dtype = np.asarray(input).dtype
    if dtype != np.float64 or getattr(weight, "dtype", None) != np.float32:
        return
    key = id(weight)
    known = _float64_warned.get(key)
    if known is not None and known() is weight:
        return
    _float64_warned[key] = weakref.ref(weight, lambda ref, key=key: _float64_warned.get(key) is ref
                                       and _float64_warned.pop(key))
    warn(f"{layer}: the input is float64 but the layer's weight is float32. float64 is NumPy's default "
         f"(np.array of Python floats, np.random, np.loadtxt), and mg.tensor(array) keeps an array's dtype, as "
         f"torch.from_numpy does. It makes this layer and every one after it compute in float64: the result is "
         f"right, but slower (twice the bytes to move) and usually not what was meant. Convert the data to "
         f"float32 once: x.float(), mg.tensor(x, dtype=mg.float32), or np.float32 arrays (x.astype(np.float32)) "
         f"before wrapping them; or, for a float64 model, call model.double().")
