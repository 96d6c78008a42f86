"""Classification losses: binary cross-entropy (on probabilities or logits), cross-entropy and NLL.

All are written with stable composites (log_softmax, log1p(exp(-|x|))), so logits of +-1000 give finite
losses and gradients without NumPy warnings.
"""
import numpy as np

import microgradnp as mg

from ..misuse import looks_like_probabilities, warn, warn_if_relu_output
from .loss_checks import as_constant, check_reduction, floating_input, matching_target, reduce

def _warn_if_softmax_rows(input, loss):  # noqa: A002
    # the [0, 1] range itself is checked by the binary_cross_entropy op, which computes 1 - p anyway
    if input.data.ndim == 2 and looks_like_probabilities(input.data, 1):
        warn(f"{loss}: each row of the input (shape {input.shape}) sums to 1, so it looks like a softmax over "
             f"{input.shape[1]} classes. Binary cross-entropy scores every column as an independent yes/no "
             f"probability, which is wrong for mutually exclusive classes. Feed the raw scores (logits, no "
             f"softmax) to nn.CrossEntropyLoss with class-index targets instead; for independent labels use a "
             f"sigmoid per column, or nn.BCEWithLogitsLoss on the logits.")


def _broadcast_weight(weight, input, loss, what):  # noqa: A002
    weight = as_constant(weight, input.dtype, loss, what)
    if weight is not None and np.broadcast_shapes(np.shape(weight), input.shape) != input.shape:
        raise ValueError(f"{loss}: {what} of shape {np.shape(weight)} does not broadcast to the input's shape "
                         f"{input.shape}")
    return weight


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002 - PyTorch's names
    """-(target * log(input) + (1 - target) * log(1 - input)) on probabilities, each log clamped at -100."""
    loss_name = "binary_cross_entropy"
    check_reduction(reduction, loss_name)
    input = floating_input(input, loss_name)
    warn_if_relu_output(input, loss_name)
    _warn_if_softmax_rows(input, loss_name)
    target = matching_target(input, target, loss_name)
    if weight is not None:
        weight = _broadcast_weight(weight, input, loss_name, "weight")
    return mg.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):  # noqa: A002
    """Binary cross-entropy of sigmoid(input), computed stably from the logits.

    max(x, 0) - x * y + log(1 + exp(-|x|)); with ``pos_weight`` the positive term is scaled:
    (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus(-x).
    """
    loss_name = "binary_cross_entropy_with_logits"
    check_reduction(reduction, loss_name)
    input = floating_input(input, loss_name)
    warn_if_relu_output(input, loss_name)
    target = matching_target(input, target, loss_name)
    weight = _broadcast_weight(weight, input, loss_name, "weight")
    pos_weight = _broadcast_weight(pos_weight, input, loss_name, "pos_weight")
    log_term = mg.log1p(mg.exp(-mg.abs(input)))
    if pos_weight is None:
        loss = mg.maximum(input, 0.0) - input * target + log_term
    else:
        softplus_neg = log_term + mg.maximum(-input, 0.0)
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * softplus_neg
    if weight is not None:
        loss = loss * weight
    return reduce(loss, reduction)


# ---- cross-entropy and NLL ------------------------------------------------------------------------------

def _class_dim(input, loss):  # noqa: A002
    ndim = input.data.ndim
    if ndim == 0:
        raise ValueError(f"{loss}: input must have a class dimension, got a 0-d tensor")
    return 0 if ndim == 1 else 1


def _class_weight(weight, input, classes, class_dim, loss):  # noqa: A002
    weight = as_constant(weight, input.dtype, loss, "weight", shape=(classes,))
    if weight is None:
        return None
    shape = [1] * input.ndim
    shape[class_dim] = classes
    return weight.reshape(shape) if isinstance(weight, np.ndarray) else mg.reshape(weight, tuple(shape))


_UNSIGNED = {np.dtype(t): np.dtype(t.replace("i", "u")) for t in ("i8", "i4", "u8", "u4")}


def _index_target(input, target, class_dim, ignore_index, loss):  # noqa: A002
    """(index, valid): the class-index target as an integer ndarray of the right shape, every value in range,
    and the mask of targets not equal to ``ignore_index`` (None when every target counts)."""
    shape = input.data.shape
    classes = shape[class_dim]
    expected = shape[:class_dim] + shape[class_dim + 1:]
    index = target.data if isinstance(target, mg.Tensor) else np.asarray(target)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{loss}: class-index targets must be integers, got dtype {index.dtype} and shape "
                        f"{index.shape} (use target.long()); probability targets must have the input's shape "
                        f"{input.shape}")
    if index.shape != expected:
        raise ValueError(f"{loss}: input of shape {input.shape} ({classes} classes along dim {class_dim}) needs a "
                         f"target of class indices of shape {expected}, got {index.shape}")
    # seen as unsigned, a negative index is huge: one reduce checks both ends of the range
    unsigned = index.view(_UNSIGNED.get(index.dtype) or index.dtype.str.replace("i", "u"))
    if index.size and not 0 <= ignore_index < classes and np.maximum.reduce(unsigned, axis=None) < classes:
        return index, None  # the usual case: every target valid and in range
    valid = index != ignore_index
    out_of_range = valid & ((index < 0) | (index >= classes))
    if out_of_range.any():
        bad = index[out_of_range]
        raise IndexError(f"{loss}: target class indices must be in [0, {classes}) (or ignore_index={ignore_index}),"
                         f" got {int(bad.flat[0])} ({int(out_of_range.sum())} bad of {index.size}; target "
                         f"values range from {int(index.min())} to {int(index.max())})")
    return index, valid


def _nll_from_log_probs(log_probs, index, valid, weight, class_dim, reduction, label_smoothing=0.0):
    """Negative log-likelihood of the target classes (and PyTorch's label-smoothing term)."""
    classes = log_probs.shape[class_dim]
    if valid is None:
        valid = np.ones(index.shape, dtype=bool)
    # a one-hot mask carrying each sample's class weight selects -log p[target] with one multiply
    classes_shape = [1] * log_probs.ndim
    classes_shape[class_dim] = classes
    picked = np.expand_dims(index, class_dim) == np.arange(classes).reshape(classes_shape)
    picked &= np.expand_dims(valid, class_dim)
    dtype = log_probs.dtype
    if weight is None:
        per_sample_weight = valid.astype(dtype)
        mask = picked.astype(dtype)
    else:
        weight_data = weight.data if isinstance(weight, mg.Tensor) else weight
        mask = picked * weight_data
        per_sample_weight = mask.sum(axis=class_dim)
    loss = -mg.sum(log_probs * mask, dim=class_dim)
    if label_smoothing > 0:
        smooth = -mg.sum(log_probs if weight is None else log_probs * weight, dim=class_dim) * valid.astype(dtype)
    if reduction == "none":
        total = loss
        if label_smoothing > 0:
            total = (1 - label_smoothing) * loss + smooth * (label_smoothing / classes)
        return total
    total_weight = float(per_sample_weight.sum())
    if reduction == "sum":
        divisor = 1.0
    else:
        # every target ignored (or zero weight): the mean is NaN, as in PyTorch, without a 0/0 warning
        divisor = total_weight if total_weight else np.nan
    result = mg.sum(loss) / divisor
    if label_smoothing > 0:
        result = (1 - label_smoothing) * result + mg.sum(smooth) / divisor * (label_smoothing / classes)
    return result


def _class_scores(input, reduction, loss, advice):  # noqa: A002
    """The checks cross_entropy and nll_loss share: returns the input tensor, its class dim and class count."""
    check_reduction(reduction, loss)
    input = floating_input(input, loss)
    class_dim = _class_dim(input, loss)
    warn_if_relu_output(input, loss)
    _warn_if_probabilities(input, class_dim, loss, advice)
    return input, class_dim, input.shape[class_dim]


def _warn_if_probabilities(input, class_dim, loss, advice):  # noqa: A002
    if looks_like_probabilities(input.data, class_dim):
        warn(f"{loss}: the input (shape {input.shape}) looks like probabilities (every value in [0, 1] and each "
             f"slice along dim {class_dim} sums to 1), but {advice}")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",  # noqa: A002
                  label_smoothing=0.0):
    """Cross-entropy of raw scores (logits) against class indices or class probabilities.

    The class dimension is 1 (0 for a single unbatched sample). Computed as log_softmax + NLL, so any
    logit magnitude is safe. ``weight`` rescales each class, targets equal to ``ignore_index`` are skipped,
    and ``label_smoothing`` mixes the target with the uniform distribution, all as in PyTorch.
    """
    loss_name = "cross_entropy"
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{loss_name}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    input, class_dim, classes = _class_scores(
        input, reduction, loss_name,
        "cross_entropy applies log_softmax itself and expects raw scores (logits). Softmax applied twice "
        "squashes the predictions and stalls learning: remove the Softmax before the loss (or use nn.NLLLoss "
        "on the output of nn.LogSoftmax).")
    target_dtype = target.dtype if isinstance(target, mg.Tensor) else np.asarray(target).dtype
    if target_dtype.kind == "f" and np.shape(target) == input.shape:
        weight = _class_weight(weight, input, classes, class_dim, loss_name)
        log_probs = mg.log_softmax(input, dim=class_dim)
        return _soft_target_cross_entropy(log_probs, target, weight, class_dim, reduction, label_smoothing)
    index, valid = _index_target(input, target, class_dim, ignore_index, loss_name)
    if weight is None and label_smoothing == 0 and input.ndim == 2 and valid is None:
        return mg.cross_entropy(input, index, reduction)  # the everyday case: one fused op
    weight = _class_weight(weight, input, classes, class_dim, loss_name)
    log_probs = mg.log_softmax(input, dim=class_dim)
    return _nll_from_log_probs(log_probs, index, valid, weight, class_dim, reduction, label_smoothing)


def _soft_target_cross_entropy(log_probs, target, weight, class_dim, reduction, label_smoothing):
    target = matching_target(log_probs, target, "cross_entropy")
    classes = log_probs.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = log_probs * target
    if weight is not None:
        terms = terms * weight
    loss = -mg.sum(terms, dim=class_dim)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return mg.sum(loss)
    count = log_probs.numel() // classes if classes else 0
    return mg.sum(loss) / count if count else mg.sum(loss) * np.nan


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    """Negative log-likelihood: -input[target] (input holds log-probabilities, e.g. from log_softmax)."""
    loss_name = "nll_loss"
    input, class_dim, classes = _class_scores(
        input, reduction, loss_name,
        "nll_loss expects log-probabilities: use nn.LogSoftmax instead of nn.Softmax before it, or feed the "
        "raw scores to nn.CrossEntropyLoss.")
    weight = _class_weight(weight, input, classes, class_dim, loss_name)
    index, valid = _index_target(input, target, class_dim, ignore_index, loss_name)
    return _nll_from_log_probs(input, index, valid, weight, class_dim, reduction)
