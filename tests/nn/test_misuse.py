"""Misuse warnings: softmax into binary cross-entropy, probabilities into cross-entropy, a ReLU before a loss."""
import warnings

import numpy as np
import pytest

import microgradnp as mg
import nn
import nn.functional as F


def _no_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    assert [str(w.message) for w in caught] == []


def test_misuse_warning_is_a_user_warning():
    assert issubclass(nn.MisuseWarning, UserWarning)


def test_bce_on_softmax_rows_warns_and_says_to_use_cross_entropy():
    # seed 003: softmax outputs fed to the binary cross-entropy formula
    probs = mg.softmax(mg.randn(4, 3), dim=1)
    with pytest.warns(nn.MisuseWarning, match="softmax over 3 classes.*CrossEntropyLoss"):
        nn.BCELoss()(probs, mg.tensor(np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]))


def test_bce_on_independent_sigmoids_does_not_warn():
    _no_warnings(lambda: nn.BCELoss()(mg.sigmoid(mg.randn(4, 1)), mg.ones(4, 1)))
    _no_warnings(lambda: nn.BCELoss()(mg.sigmoid(mg.randn(4, 3)), mg.ones(4, 3)))


def test_cross_entropy_on_probabilities_warns_and_says_to_pass_logits():
    probs = nn.Softmax(dim=1)(mg.randn(5, 4))
    with pytest.warns(nn.MisuseWarning, match="looks like probabilities.*logits.*remove the Softmax"):
        nn.CrossEntropyLoss()(probs, mg.tensor([0, 1, 2, 3, 0]))


def test_cross_entropy_on_logits_does_not_warn():
    _no_warnings(lambda: nn.CrossEntropyLoss()(mg.randn(5, 4), mg.tensor([0, 1, 2, 3, 0])))


def test_nll_on_probabilities_warns_and_points_to_log_softmax():
    probs = mg.softmax(mg.randn(3, 4), dim=1)
    with pytest.warns(nn.MisuseWarning, match="log-probabilities.*LogSoftmax"):
        F.nll_loss(probs, mg.tensor([0, 1, 2]))


def test_sequential_ending_in_relu_before_a_loss_is_flagged():
    # seed 004: the output layer is a ReLU, so stuck outputs never recover
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1), nn.ReLU())
    x, y = mg.randn(6, 2), mg.randn(6, 1)
    with pytest.warns(nn.MisuseWarning, match="ReLU.*dying ReLU.*Drop the final ReLU"):
        nn.MSELoss()(model(x), y)
    with pytest.warns(nn.MisuseWarning, match="ReLU"):
        nn.L1Loss()(model(x).reshape(6), y.reshape(6))  # still a ReLU output after a reshape
    with pytest.warns(nn.MisuseWarning, match="ReLU"):
        nn.CrossEntropyLoss()(nn.Sequential(nn.Linear(2, 3), nn.ReLU())(x), mg.tensor([0, 1, 2, 0, 1, 2]))


def test_relu_inside_the_network_is_not_flagged():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    _no_warnings(lambda: nn.MSELoss()(model(mg.randn(6, 2)), mg.randn(6, 1)))


def test_warnings_point_at_the_users_line():
    model = nn.Sequential(nn.Linear(2, 1), nn.ReLU())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.MSELoss()(model(mg.randn(3, 2)), mg.zeros(3, 1))
    assert len(caught) == 1 and caught[0].filename == __file__


def test_every_warning_points_at_the_users_line_through_modules_and_functions():
    # the checks live two folders down (nn/functional): every frame inside nn is skipped, not just that folder's
    probs = mg.softmax(mg.randn(4, 3), dim=1)
    calls = [lambda: nn.BCELoss()(probs, mg.ones(4, 3)),
             lambda: nn.CrossEntropyLoss()(probs, mg.tensor([0, 1, 2, 0])),
             lambda: F.nll_loss(probs, mg.tensor([0, 1, 2, 0]))]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert [(w.category, w.filename, w.lineno) for w in caught] == \
               [(nn.MisuseWarning, __file__, call.__code__.co_firstlineno)]


def test_misuse_warnings_are_silenced_by_standard_filters():
    model = nn.Sequential(nn.Linear(2, 1), nn.ReLU())
    probs = mg.softmax(mg.randn(4, 3), dim=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=nn.MisuseWarning)
        nn.MSELoss()(model(mg.randn(3, 2)), mg.zeros(3, 1))
        nn.CrossEntropyLoss()(probs, mg.tensor([0, 1, 2, 0]))
        nn.BCELoss()(probs, mg.ones(4, 3))
    assert caught == []
