"""Classification losses: binary cross-entropy (on probabilities or logits), cross-entropy and NLL, and the
Kullback-Leibler divergence, soft-margin and margin-ranking losses.

All are written with stable composites (log_softmax, log1p(exp(-|x|))), so logits of +-1000 give finite
losses and gradients without NumPy warnings. Their argument checks and misuse warnings are in ``loss_checks``.
"""
import warnings

import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, capture_state, replayable

from . import derived, loss_checks
from .loss_checks import (
    broadcast_weight,
    check_reduction,
    class_scores,
    class_weight,
    floating_input,
    index_target,
    matching_target,
    reduce,
    warn_if_relu_output,
    warn_if_sigmoid_output,
    warn_if_softmax_rows,
)
from .regression_loss import legacy_reduction


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(target * log(input) + (1 - target) * log(1 - input)) on probabilities, each log clamped at -100."""
    loss_name = "binary_cross_entropy"
    check_reduction(reduction, loss_name)
    input = floating_input(input, loss_name)
    warn_if_relu_output(input, loss_name)
    warn_if_softmax_rows(input, loss_name)
    target = matching_target(input, target, loss_name)
    if weight is not None:
        weight = broadcast_weight(weight, input, loss_name, "weight")
    return mg.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy of sigmoid(input), computed stably from the logits.

    max(x, 0) - x * y + log(1 + exp(-|x|)); with ``pos_weight`` the positive term is scaled:
    (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus(-x).
    """
    loss_name = "binary_cross_entropy_with_logits"
    check_reduction(reduction, loss_name)
    input = floating_input(input, loss_name)
    warn_if_relu_output(input, loss_name)
    warn_if_sigmoid_output(input, loss_name)
    target = matching_target(input, target, loss_name)
    weight = broadcast_weight(weight, input, loss_name, "weight")
    pos_weight = broadcast_weight(pos_weight, input, loss_name, "pos_weight")
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

def _nll_from_log_probs(log_probs, index, valid, weight, class_dim, reduction, label_smoothing=0.0,
                        loss_name="nll_loss"):
    """Negative log-likelihood of the target classes (and PyTorch's label-smoothing term).

    Every array computed from the targets (the masks, the mean's divisor) is one ``replayable`` call: a plain
    call eagerly, recomputed from each call's targets by a compiled step's replay.
    """
    classes = log_probs.shape[class_dim]
    if valid is None:
        valid = np.ones(index.shape, dtype=bool)
    dtype = log_probs.dtype
    weight_data = None if weight is None else array_of(weight) if isinstance(weight, mg.Tensor) else weight
    picked = replayable(_picked_classes, index, valid, classes, class_dim)
    mask = replayable(_target_weights, picked, weight_data, dtype)
    loss = -mg.sum(log_probs * mask, dim=class_dim)
    if label_smoothing > 0:
        counted_samples = replayable(_as_dtype, valid, dtype)
        smooth = -mg.sum(log_probs if weight is None else log_probs * weight, dim=class_dim) * counted_samples
    if reduction == "none":
        total = loss
        if label_smoothing > 0:
            total = (1 - label_smoothing) * loss + smooth * _uniform_share(label_smoothing, classes)
        return total
    divisor = 1.0
    if reduction == "mean":
        divisor = replayable(_total_weight, valid, mask, class_dim, dtype, weight is not None)
        if capture_state.active is not None:
            replayable(_check_mean_path, divisor, not divisor, loss_name)
        if not divisor:
            if label_smoothing == 0:
                return _mean_of_nothing(log_probs, picked)
            return _mean_of_nothing(log_probs, replayable(_counted_classes, valid, class_dim, picked.shape))
    result = mg.sum(loss) / divisor
    if label_smoothing > 0:
        smoothed = mg.sum(smooth) / divisor * _uniform_share(label_smoothing, classes)
        result = (1 - label_smoothing) * result + smoothed
    return result


def _picked_classes(index, valid, classes, class_dim):
    """The one-hot mask of each counted sample's target class along ``class_dim`` (all False for an ignored one)."""
    classes_shape = [1] * (np.ndim(index) + 1)
    classes_shape[class_dim] = classes
    picked = np.expand_dims(index, class_dim) == np.arange(classes).reshape(classes_shape)
    picked &= np.expand_dims(valid, class_dim)
    return picked


def _target_weights(picked, weight_data, dtype):
    """A one-hot mask carrying each sample's class weight: it selects -log p[target] with one multiply."""
    return picked.astype(dtype) if weight_data is None else picked * weight_data


def _as_dtype(valid, dtype):
    return np.asarray(valid).astype(dtype)


def _total_weight(valid, mask, class_dim, dtype, weighted):
    """The sum of the counted samples' weights (their number when no class is weighted): the mean's divisor,
    a 0-d array of the loss's dtype (dividing by it gives the bits of dividing by the same Python float)."""
    per_sample_weight = mask.sum(axis=class_dim) if weighted else np.asarray(valid).astype(dtype)
    return np.asarray(per_sample_weight.sum())


def _counted_classes(valid, class_dim, shape):
    # every class of each counted sample: what label smoothing reads
    return np.broadcast_to(np.expand_dims(valid, class_dim), shape)


def _check_mean_path(total_weight, none_counted_at_capture, loss_name):
    """At a compiled step's replay: raise unless the mean takes the path the capture took. A batch whose
    targets are all ignored (or weighted 0) has a NaN mean computed another way (``_mean_of_nothing``)."""
    if (not total_weight) != none_counted_at_capture:
        raise mg.CompileError(
            f"mg.compile: {loss_name}: the targets of this call are {'all' if not total_weight else 'not all'} "
            f"ignored (or weighted 0), those of the call the step was captured with were "
            f"{'all' if none_counted_at_capture else 'not all'}: the mean loss is computed another way then, which "
            f"the replay cannot follow. Run such a batch eagerly (the compiled step's step_fn).")


def _mean_of_nothing(log_probs, counted):
    """PyTorch's mean loss when the targets' weights sum to 0: every target ignored, or weighted 0.

    The loss is NaN, and the gradient is NaN (weight * g / 0) at the log-probabilities that the loss reads
    (``counted``: the targets' classes, and every class of the counted samples under label smoothing) and 0
    elsewhere. Every target ignored thus gives a zero gradient, as in PyTorch: an optimizer step on it
    changes nothing, instead of making every weight NaN. The NaN is a constant factor, not a 0 / 0, so that
    NumPy warns neither here nor in the backward pass.
    """
    return mg.sum(mg.where(counted, log_probs, 0.0)) * np.nan


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of raw scores (logits) against class indices or class probabilities.

    The class dimension is 1 (0 for a single unbatched sample). Computed as log_softmax + NLL, so any
    logit magnitude is safe. ``weight`` rescales each class, targets equal to ``ignore_index`` are skipped,
    and ``label_smoothing`` mixes the target with the uniform distribution, all as in PyTorch. A class index
    out of range raises an IndexError, inside a compiled step (``mg.compile``) at every replay too.
    """
    loss_name = "cross_entropy"
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{loss_name}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    input, class_dim, classes = class_scores(
        input, reduction, loss_name,
        "cross_entropy applies log_softmax itself and expects raw scores (logits). Softmax applied twice "
        "squashes the predictions and stalls learning: remove the Softmax before the loss (or use nn.NLLLoss "
        "on the output of nn.LogSoftmax).")
    target_dtype = target.dtype if isinstance(target, mg.Tensor) else np.asarray(target).dtype
    if target_dtype.kind == "f" and np.shape(target) == input.shape:
        if ignore_index >= 0:  # PyTorch refuses it too; a negative one (the default -100) selects nothing
            raise ValueError(f"{loss_name}: ignore_index={ignore_index} cannot apply to class probabilities (a "
                             f"float target of the input's shape); leave it at its default, or give class indices")
        weight = class_weight(weight, input, classes, class_dim, loss_name)
        log_probs = mg.log_softmax(input, dim=class_dim)
        return _soft_target_cross_entropy(log_probs, target, weight, class_dim, reduction, label_smoothing)
    index, valid = index_target(input, target, class_dim, ignore_index, loss_name)
    if weight is None and label_smoothing == 0 and input.ndim == 2 and valid is None:
        return mg.cross_entropy(input, index, reduction)  # the everyday case: one fused op
    weight = class_weight(weight, input, classes, class_dim, loss_name)
    log_probs = mg.log_softmax(input, dim=class_dim)
    return _nll_from_log_probs(log_probs, index, valid, weight, class_dim, reduction, label_smoothing, loss_name)


def _uniform_share(label_smoothing, classes):
    # each class's share of the smoothing mass; with no classes there is nothing to share it between
    return label_smoothing / classes if classes else 0.0


def _soft_target_cross_entropy(log_probs, target, weight, class_dim, reduction, label_smoothing):
    target = matching_target(log_probs, target, "cross_entropy")
    classes = log_probs.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + _uniform_share(label_smoothing, classes)
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


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood: -input[target] (input holds log-probabilities, e.g. from log_softmax).

    A class index out of range raises an IndexError, inside a compiled step (``mg.compile``) at every replay too.
    """
    loss_name = "nll_loss"
    input, class_dim, classes = class_scores(
        input, reduction, loss_name,
        "nll_loss expects log-probabilities: use nn.LogSoftmax instead of nn.Softmax before it, or feed the "
        "raw scores to nn.CrossEntropyLoss.")
    weight = class_weight(weight, input, classes, class_dim, loss_name)
    index, valid = index_target(input, target, class_dim, ignore_index, loss_name)
    return _nll_from_log_probs(input, index, valid, weight, class_dim, reduction, loss_name=loss_name)


# ---- distributions and margins --------------------------------------------------------------------------

_KL_MEAN_WARNING = (
    "reduction: 'mean' divides the total loss by both the batch size and the support size.'batchmean' divides "
    "only by the batch size, and aligns with the KL div math definition.'mean' will be changed to behave the same "
    "as 'batchmean' in the next major release.")


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence KL(target || exp(input)): ``input`` holds log-probabilities (log_softmax).

    Pointwise target * (log(target) - input), taken as 0 where target is 0; with ``log_target`` the target is
    given as log-probabilities too: exp(target) * (target - input). ``reduction='batchmean'`` divides the sum by
    the batch size, the mathematical KL divergence per sample; 'mean' divides by the number of elements, and
    warns (as PyTorch does) because that is rarely what is meant.
    """
    loss_name = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction, loss_name)
    elif reduction == "mean":
        warnings.warn(_KL_MEAN_WARNING, UserWarning, stacklevel=2)
    if reduction != "batchmean":
        check_reduction(reduction, loss_name)
    input = floating_input(input, loss_name)
    target = matching_target(input, target, loss_name)
    if log_target:
        loss = mg.exp(target) * (target - input)
    else:
        positive = derived.mask(np.not_equal, target, 0)
        safe = mg.where(positive, target, 1.0)  # log(0) is never taken: the term is 0 there
        loss = mg.where(positive, target * mg.log(safe), 0.0) - target * input
    if reduction == "batchmean":
        total = mg.sum(loss)
        return total / input.shape[0] if input.ndim else total
    return loss_checks.reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss log(1 + exp(-target * input)) for targets of 1 or -1, computed stably."""
    loss_name = "soft_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, loss_name)
    check_reduction(reduction, loss_name)
    input = floating_input(input, loss_name)
    target = matching_target(input, target, loss_name)
    margin = -input * target
    # softplus(m) = max(m, 0) + log(1 + exp(-|m|)): no overflow for any margin
    return loss_checks.reduce(mg.maximum(margin, 0.0) + mg.log1p(mg.exp(-mg.abs(margin))), reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin): target 1 asks for input1 ranked above input2, -1 below."""
    loss_name = "margin_ranking_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, loss_name)
    check_reduction(reduction, loss_name)
    input1 = floating_input(input1, loss_name)
    input2 = floating_input(input2, loss_name)
    if input2.shape != input1.shape:
        raise ValueError(f"{loss_name}: input1 shape {tuple(input1.shape)} and input2 shape "
                         f"{tuple(input2.shape)} differ; give "
                         f"both rankings the same shape")
    target = matching_target(input1, target, loss_name)
    return loss_checks.reduce(mg.clamp(-target * (input1 - input2) + margin, min=0.0), reduction)
