"""Misuse warnings: softmax into binary cross-entropy, probabilities into cross-entropy, a ReLU before a loss,
a sigmoid before BCEWithLogitsLoss, modules in plain lists, float64 data into a float32 model."""
import warnings

import numpy as np
import pytest

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn


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


# ---- a sigmoid before BCEWithLogitsLoss ----------------------------------------------------------------------

def test_bce_with_logits_on_a_sigmoid_output_warns_and_says_to_drop_it():
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    x, y = mg.randn(6, 2), mg.ones(6, 1)
    with pytest.warns(nn.MisuseWarning, match=r"straight out of a sigmoid.*applies a sigmoid itself.*applied twice"
                                              r".*never become confident.*gradients shrink.*Drop the final "
                                              r"Sigmoid.*nn\.BCELoss"):
        nn.BCEWithLogitsLoss()(model(x), y)
    with pytest.warns(nn.MisuseWarning, match="sigmoid"):  # still the sigmoid's output after a reshape
        F.binary_cross_entropy_with_logits(model(x).reshape(6), y.reshape(6))
    with pytest.warns(nn.MisuseWarning, match="sigmoid"):  # the primitive itself, no layer
        F.binary_cross_entropy_with_logits(mg.sigmoid(mg.randn(6, 1, requires_grad=True)), y)


def test_bce_with_logits_on_logits_does_not_warn():
    model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1))  # a sigmoid inside is fine
    _no_warnings(lambda: nn.BCEWithLogitsLoss()(model(mg.randn(6, 2)), mg.ones(6, 1)))
    _no_warnings(lambda: nn.BCELoss()(nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())(mg.randn(6, 2)), mg.ones(6, 1)))


# ---- modules and parameters kept in plain containers ---------------------------------------------------------

class _ListNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]  # the mistake: a plain list
        self.out = nn.Linear(1, 1)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.out(x)


def test_modules_in_a_plain_list_warn_once_when_the_optimizer_is_built():
    model = _ListNet()

    def build_optimizer():
        return nn.optim.SGD(model.parameters(), lr=0.1)  # the tutorial's line, where the warning points

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizer = build_optimizer()
    line = build_optimizer.__code__.co_firstlineno + 1
    assert [(w.category, w.filename, w.lineno) for w in caught] == [(nn.MisuseWarning, __file__, line)]
    message = str(caught[0].message)
    assert "_ListNet.layers is a plain Python list" in message
    assert "3 modules in it (2 Linear, ReLU) are not registered" in message
    assert "misses 4 parameter tensors (13 values)" in message and "never trains them" in message
    assert "state_dict() skip them" in message and "nn.ModuleList" in message
    assert len(optimizer.param_groups[0]["params"]) == 2  # the warning changes nothing: only self.out is seen
    # once per module: later traversals (model.zero_grad() every step, a second optimizer) stay quiet
    _no_warnings(lambda: (model.zero_grad(), nn.optim.Adam(model.parameters()), list(model.named_parameters())))


def test_modules_and_parameters_in_tuples_dicts_and_sub_modules_are_named():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = {"a": nn.Linear(2, 2), "b": nn.Linear(2, 2)}
            self.weights = [nn.Parameter(mg.randn(2, 2)), nn.Parameter(mg.randn(2))]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([Block()])
            self.norms = (nn.BatchNorm1d(2, affine=False),)  # buffers only: eval() would miss it

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(Net().parameters())
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 3 and all(w.category is nn.MisuseWarning for w in caught)
    heads, weights, norms = messages
    assert heads.startswith("Block.heads (in Net's sub-module 'blocks.0') is a plain Python dict")
    assert "add_module(key, module)" in heads and "misses 4 parameter tensors (12 values)" in heads
    assert weights.startswith("Block.weights (in Net's sub-module 'blocks.0') is a plain Python list, so the 2 "
                              "nn.Parameters in it (6 values) are not registered")
    assert "register_parameter" in weights and "self.w0 = nn.Parameter" in weights
    assert norms.startswith("Net.norms is a plain Python tuple") and "model.eval() leaves them training" in norms


def test_containers_of_registered_frozen_or_stateless_modules_do_not_warn():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 1)])
            self.same_layers = list(self.layers)  # registered through the ModuleList
            self.pair = (self.layers[0].weight, self.layers[0].bias)  # registered parameters
            self.activations = {"relu": nn.ReLU(), "tanh": nn.Tanh()}  # nothing to train or switch
            self.teacher = [nn.Linear(2, 1).requires_grad_(False)]  # frozen, kept out of the model on purpose
            self.shapes, self.names = [(2, 3), (3, 1)], {"a": 1}

    _no_warnings(lambda: nn.optim.SGD(Net().parameters(), lr=0.1))
    _no_warnings(lambda: nn.optim.SGD(nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3)).parameters(), lr=0.1))


# ---- float64 data into a float32 model -----------------------------------------------------------------------

def test_float64_input_into_a_float32_linear_warns_once_per_layer_and_still_computes_in_float64():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    x = np.random.default_rng(0).normal(size=(5, 2))  # float64, NumPy's default

    def forward():
        return model(mg.tensor(x))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = forward()
    # each float32 layer that sees float64 says so once, at the user's line; the result is as before
    line = forward.__code__.co_firstlineno + 1
    assert [(w.category, w.filename, w.lineno) for w in caught] == [(nn.MisuseWarning, __file__, line)] * 2
    message = str(caught[0].message)
    assert message.startswith("nn.Linear: the input is float64 but the layer's weight is float32")
    assert "NumPy's default" in message and "slower" in message
    assert "x.float()" in message and "mg.tensor(x, dtype=mg.float32)" in message and "np.float32" in message
    w0, b0, w1, b1 = (p.numpy().astype(np.float64) for p in model.parameters())
    assert out.dtype == np.float64
    assert np.allclose(out.numpy(), np.maximum(x @ w0.T + b0, 0) @ w1.T + b1)
    _no_warnings(lambda: model(mg.tensor(x)))  # once per layer, not on every call
    with pytest.warns(nn.MisuseWarning, match="input is float64"):  # another layer: its own warning
        nn.Linear(2, 1)(x)


def test_functional_linear_warns_once_per_weight():
    weight = mg.randn(3, 2)
    x = np.ones((4, 2))
    with pytest.warns(nn.MisuseWarning, match=r"^linear: the input is float64 but the layer's weight is float32"):
        assert F.linear(x, weight).dtype == np.float64
    _no_warnings(lambda: F.linear(x, weight))


def test_matching_dtypes_do_not_warn():
    _no_warnings(lambda: nn.Linear(2, 1)(mg.randn(3, 2)))  # float32 data, float32 model
    _no_warnings(lambda: nn.Linear(2, 1)(mg.tensor(np.ones((3, 2)), dtype=mg.float32)))
    _no_warnings(lambda: nn.Linear(2, 1, dtype=mg.float64)(np.ones((3, 2))))  # a float64 model on float64 data
    _no_warnings(lambda: nn.Linear(2, 1).double()(np.ones((3, 2))))
    _no_warnings(lambda: F.linear(mg.randn(3, 2), mg.randn(1, 2)))


def test_new_warnings_are_silenced_by_the_documented_filter():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=nn.MisuseWarning)
        nn.optim.SGD(_ListNet().parameters(), lr=0.1)
        nn.Linear(2, 1)(np.ones((3, 2)))
        nn.BCEWithLogitsLoss()(nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())(mg.randn(3, 2)), mg.ones(3, 1))
    assert caught == []
