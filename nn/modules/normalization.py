"""Normalisation layers: ``BatchNorm1d``/``2d``/``3d`` (per channel, over the batch) and ``LayerNorm`` (per
sample)."""
import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, capture_state, increment_version, replayable

from .. import functional as F
from ..module import Module
from ..parameter import Parameter


class _BatchNorm(Module):
    """Batch normalisation over the batch (and the spatial dims) for each channel (dim 1).

    Training uses the batch statistics (biased variance) and updates ``running_mean`` and ``running_var``
    (unbiased variance) with ``momentum`` (``None``: a cumulative average), and ``num_batches_tracked``, in
    place as PyTorch does; eval mode uses the running statistics. ``weight`` starts at 1 and ``bias`` at 0
    when ``affine``. Inside a compiled step (``mg.compile``) each replay updates the buffers as an eager step
    would, and a replay in eval mode reads their current values.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None):
        super().__init__()
        dtype = dtype or mg.get_default_dtype()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(mg.ones(num_features, dtype=dtype))
            self.bias = Parameter(mg.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", mg.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", mg.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", mg.tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """Running mean back to 0, running variance to 1, batch count to 0."""
        if self.track_running_stats:
            self.running_mean.data = np.zeros_like(self.running_mean.numpy())
            self.running_var.data = np.ones_like(self.running_var.numpy())
            self.num_batches_tracked.data = np.zeros_like(self.num_batches_tracked.numpy())

    def forward(self, input):
        """Normalise ``input`` (see the class docstring for which statistics are used)."""
        if input.ndim not in self.input_dims or input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected an input of shape "
                             f"{self.expected.format(c=self.num_features)}, got {tuple(input.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            counter = array_of(self.num_batches_tracked)
            if capture_state.active is None:
                counter += 1  # in place, as the running statistics (see F.batch_norm)
                increment_version(self.num_batches_tracked)
                if self.momentum is None:
                    factor = 1.0 / float(counter)
            elif self.momentum is None:  # a compiled step counts at every replay, and the factor follows the count
                factor = replayable(_count_batch_for_average, self.num_batches_tracked, counter)
            else:
                replayable(_count_batch, self.num_batches_tracked, counter)
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


def _count_batch(buffer, counter):
    """``num_batches_tracked`` (``counter``, its 0-d array) + 1, in place: a step of a compiled step's replay."""
    counter += 1
    increment_version(buffer)


def _count_batch_for_average(buffer, counter):
    """``_count_batch``, then the factor of a cumulative average (momentum=None), 1 / count, as a 0-d array:
    a compiled step's replay computes it from each call's count and hands it to the statistics' update."""
    _count_batch(buffer, counter)
    return np.array(1.0 / float(counter))


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs over the batch (and length) for each channel;
    see ``_BatchNorm`` for the statistics it uses."""

    input_dims = (2, 3)
    expected = "(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images over the batch and the pixels of each channel, the
    normalisation of convolutional networks; the statistics are those of ``BatchNorm1d``."""

    input_dims = (4,)
    expected = "(N, {c}, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) volumes over the batch and the voxels of each channel."""

    input_dims = (5,)
    expected = "(N, {c}, D, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its last dims (``normalized_shape``), then scale by ``weight`` (1s) and
    shift by ``bias`` (0s) when ``elementwise_affine``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        super().__init__()
        dtype = dtype or mg.get_default_dtype()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(mg.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(mg.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        """Normalise ``input`` over its last ``len(normalized_shape)`` dims."""
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
