"""Loss modules: each stores its options and calls the function of the same name in ``nn.functional``."""
from .. import functional as F
from ..functional.loss_checks import check_reduction
from ..module import Module


class _Loss(Module):
    """Base of the losses: holds ``reduction`` ('mean' | 'sum' | 'none')."""

    def __init__(self, reduction="mean"):
        super().__init__()
        check_reduction(reduction, type(self).__name__)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with an optional per-class ``weight`` (kept as a buffer, so it is saved in the state dict)."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error: mean((input - target) ** 2)."""

    def forward(self, input, target):
        """The loss of ``input`` against ``target`` (same shape)."""
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: mean(|input - target|)."""

    def forward(self, input, target):
        """The loss of ``input`` against ``target`` (same shape)."""
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Quadratic for errors below ``delta``, linear above (robust to outliers)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, input, target):
        """The loss of ``input`` against ``target`` (same shape)."""
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities (e.g. after ``Sigmoid``), with each log clamped at -100.

    Prefer ``BCEWithLogitsLoss`` on raw scores: it is exact where the sigmoid saturates.
    """

    def forward(self, input, target):
        """The loss of probabilities ``input`` against 0/1 (or soft) ``target`` of the same shape."""
        # the buffer read directly: a buffer is found by Module.__getattr__, a Python call on every step
        return F.binary_cross_entropy(input, target, weight=self._buffers["weight"], reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid + binary cross-entropy in one stable formula; ``pos_weight`` scales the positive class."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        """The loss of logits ``input`` against 0/1 (or soft) ``target`` of the same shape."""
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax + negative log-likelihood on raw scores (logits), with class-index or probability targets."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        """The loss of logits ``input`` (N, C) against class indices (N,) or probabilities (N, C)."""
        # the buffer read directly: a buffer is found by Module.__getattr__, a Python call on every step
        return F.cross_entropy(input, target, weight=self._buffers["weight"], ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (e.g. after ``LogSoftmax``) at the target classes."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        """The loss of log-probabilities ``input`` (N, C) against class indices (N,)."""
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)
