"""Gradient clipping: the total norm over all parameters, and value clamping."""
import math

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn
from microgradnp.nn.utils import clip_grad_norm_, clip_grad_value_


def _params_with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(mg.zeros(len(g)))
        p.grad = mg.tensor(np.asarray(g, dtype=np.float32))
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_gradients_together():
    params = _params_with_grads([3.0, 0.0], [0.0, 4.0])  # joint norm 5
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.numpy(), [3 * scale, 0.0], rtol=1e-6)
    np.testing.assert_allclose(params[1].grad.numpy(), [0.0, 4 * scale], rtol=1e-6)


def test_clip_grad_norm_leaves_small_gradients_alone():
    params = _params_with_grads([0.3, 0.4])
    assert clip_grad_norm_(params, max_norm=1.0).item() == pytest.approx(0.5)
    np.testing.assert_allclose(params[0].grad.numpy(), [0.3, 0.4])


def test_clip_grad_norm_other_norms():
    assert clip_grad_norm_(_params_with_grads([1.0, -7.0], [2.0]), 100.0, norm_type=math.inf).item() == 7.0
    assert clip_grad_norm_(_params_with_grads([1.0, -7.0], [2.0]), 100.0, norm_type=1).item() == \
        pytest.approx(10.0)


def test_clip_grad_norm_nonfinite():
    params = _params_with_grads([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="nan"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clamps_elementwise():
    params = _params_with_grads([-3.0, 0.5, 2.0])
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.numpy(), [-1.0, 0.5, 1.0])


def test_parameters_without_grad_are_ignored():
    p = nn.Parameter(mg.zeros(2))
    assert clip_grad_norm_([p], 1.0).item() == 0.0
