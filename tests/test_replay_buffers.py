"""A compiled step's buffers: shared by liveness, and the out= variants equal to the plain functions, bit for bit."""
import itertools

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import capture_tape, nn, replay_variants
from microgradnp import compile as mg_compile
from microgradnp.autograd.namespaces import NUMPY
from microgradnp.autograd.primitive import PRIMITIVES
from microgradnp.replay_buffers import BufferStep, plan_buffers

from training_steps import tutorial_step


def _same_bits(a, b):
    return a is None and b is None or (a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes())


# ---- plan_buffers: lifetimes ----------------------------------------------------------------------------

def _chain(length, shape=(4, 3)):
    """Names s1..sN, each step reading the previous one: s_k dies where s_{k+1} is made."""
    arrays = {f"s{k}": np.zeros(shape) for k in range(1, length + 1)}
    lines = [([f"s{k}"], [f"s{k - 1}"] if k > 1 else []) for k in range(1, length + 1)]
    return lines, arrays


def test_results_whose_lifetimes_do_not_overlap_share_buffers():
    lines, arrays = _chain(6)
    lines.append(([], ["s6"]))  # something reads the last one
    steps = {k: BufferStep((arrays[f"s{k + 1}"],), in_place=False) for k in range(6)}
    plan, allocated = plan_buffers(lines, steps, arrays, pinned=set(), escaping=set())
    buffers = [plan[k][0] for k in range(6)]
    assert all(b is not None for b in buffers)
    # not in place: a step's result and its dying input are both live at the step, so two buffers alternate
    assert len({id(b) for b in buffers}) == 2
    assert allocated == 2 * arrays["s1"].nbytes
    for before, after in zip(buffers, buffers[1:]):
        assert before is not after


def test_an_elementwise_step_writes_over_its_input_where_that_input_dies():
    lines, arrays = _chain(5)
    lines.append(([], ["s5"]))
    steps = {k: BufferStep((arrays[f"s{k + 1}"],), in_place=True) for k in range(5)}
    plan, allocated = plan_buffers(lines, steps, arrays, pinned=set(), escaping=set())
    assert len({id(plan[k][0]) for k in range(5)}) == 1
    assert allocated == arrays["s1"].nbytes


def test_a_view_keeps_its_buffer_alive_and_pinned_or_escaping_arrays_are_not_shared():
    base = np.zeros((4, 3))
    view = base.T  # s2, read at the end
    other, pinned_one, escaping_one = np.zeros((4, 3)), np.zeros((4, 3)), np.zeros((4, 3))
    arrays = {"s1": base, "s2": view, "s3": other, "s4": pinned_one, "s5": escaping_one}
    lines = [(["s1"], []), (["s2"], ["s1"]), (["s3"], []), (["s4"], ["s3"]), (["s5"], ["s4"]),
             ([], ["s2", "s4", "s5"])]
    steps = {0: BufferStep((base,), False), 2: BufferStep((other,), False), 3: BufferStep((pinned_one,), False),
             4: BufferStep((escaping_one,), False)}
    plan, _ = plan_buffers(lines, steps, arrays, pinned={"s4"}, escaping={"s5"})
    assert plan[0][0] is not plan[2][0]  # s1 lives on through its view s2
    assert plan[4] == (None,)  # leaves the replay: no buffer
    pinned_buffer = plan[3][0]
    assert pinned_buffer is not None and pinned_buffer is not plan[2][0] and pinned_buffer is not plan[0][0]


def test_a_pinned_array_never_takes_a_buffer_another_array_used():
    lines, arrays = _chain(3)
    lines.append(([], ["s3"]))
    steps = {k: BufferStep((arrays[f"s{k + 1}"],), in_place=True) for k in range(3)}
    plan, _ = plan_buffers(lines, steps, arrays, pinned={"s3"}, escaping=set())
    assert plan[2][0] is not plan[0][0] and plan[2][0] is not plan[1][0]


# ---- the out= variants against the plain functions ---------------------------------------------------------

_LINEAR = PRIMITIVES["linear"]
_RELU = PRIMITIVES["relu"]


def _linear_cases():
    rng = np.random.default_rng(0)
    for dtype, x_shape, (out_f, in_f), order, bias in itertools.product(
            (np.float32, np.float64), ((5, 7), (1, 7), (7,), (3, 5, 7), (2, 1, 4, 7)), ((6, 7), (1, 7), (60, 7)),
            ("C", "F"), (True, False)):
        x = rng.standard_normal(x_shape).astype(dtype)
        weight = np.asarray(rng.standard_normal((out_f, in_f)).astype(dtype), order=order)
        b = rng.standard_normal(out_f).astype(dtype) if bias else None
        yield x, weight, b


def _buffers_like(outputs):
    return tuple(None if o is None else np.full_like(o, np.nan) for o in outputs)


@pytest.mark.parametrize("case", list(_linear_cases()), ids=lambda c: f"{c[0].shape}-{c[1].shape}-{c[0].dtype}")
def test_the_linear_variants_equal_the_plain_linear_bit_for_bit(case):
    x, weight, bias = case
    plain = _LINEAR.forward(x, weight, bias)
    for buffers in ((None,), _buffers_like((plain,))):
        assert _same_bits(replay_variants._linear_into(buffers, x, weight, bias), plain)
        chosen = replay_variants._choose_linear((x, weight, bias), buffers)
        assert _same_bits(chosen(_buffers_like((plain,)) if buffers[0] is not None else buffers, x, weight, bias),
                          plain)
    g = np.random.default_rng(1).standard_normal(plain.shape).astype(plain.dtype)
    for edges in itertools.product((None, True), repeat=3):
        if bias is None and edges[2]:
            continue
        expected = _LINEAR.joint_vjp(NUMPY, g, plain, edges, x, weight, bias)
        for buffers in ((None, None, None), _buffers_like(expected)):
            got = replay_variants._linear_vjp_into(buffers, NUMPY, g, plain, edges, x, weight, bias)
            assert all(_same_bits(a, b) for a, b in zip(got, expected))


@pytest.mark.parametrize("shape", [(3,), (40, 50), (50, 40), (2, 3, 400)])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_relu_variants_equal_the_plain_relu_bit_for_bit(shape, order, dtype):
    x = np.asarray(np.random.default_rng(2).standard_normal(shape).astype(dtype), order=order)
    x.flat[::7] = 0.0
    x.flat[1::11] = -0.0
    x.flat[2::13] = np.nan
    plain = _RELU.forward(x)
    assert _same_bits(replay_variants._relu_into(_buffers_like((plain,)), x), plain)
    g = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    expected = _RELU.vjps[0](NUMPY, g, plain, x)
    buffers = (np.empty_like(expected), np.empty(expected.shape, bool))
    assert _same_bits(replay_variants._relu_vjp_into(buffers, NUMPY, g, plain, x), expected)


_MATMUL = PRIMITIVES["matmul"]


@pytest.mark.parametrize("a_shape, b_shape", [((5, 7), (7, 6)), ((64, 100), (100, 80)), ((5, 1), (1, 6)),
                                              ((3, 5, 7), (7, 6)), ((6, 25), (4, 25, 30)), ((7,), (7, 6)),
                                              ((5, 7), (7,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_matmul_variants_equal_the_plain_matmul_bit_for_bit(a_shape, b_shape, dtype):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(a_shape).astype(dtype), rng.standard_normal(b_shape).astype(dtype)
    plain = _MATMUL.forward(a, b)
    assert _same_bits(replay_variants._matmul_into(_buffers_like((plain,)), a, b), plain)
    g = rng.standard_normal(plain.shape).astype(dtype)
    for vjp, variant in ((_MATMUL.vjps[0], replay_variants._matmul_vjp_a_into),
                         (_MATMUL.vjps[1], replay_variants._matmul_vjp_b_into)):
        expected = vjp(NUMPY, g, plain, a, b)
        buffers = _buffers_like((expected,)) if a.ndim >= 2 and b.ndim >= 2 else (None,)  # (1-D: the plain rule)
        assert _same_bits(variant(buffers, NUMPY, g, plain, a, b), expected)


_WINDOW_SETTINGS = [  # kernel_size, dilation, padding, stride
    ((5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((3, 2), (2, 1), ((0, 0), (0, 0)), (2, 1)),
    ((1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((3,), (1,), ((0, 0),), (2,)),
]


@pytest.mark.parametrize("settings", _WINDOW_SETTINGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_unfold_and_fold_variants_equal_the_plain_ones_bit_for_bit(settings, dtype):
    kernel_size, dilation, padding, stride = settings
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3) + (11, 9)[:len(kernel_size)]).astype(dtype)
    unfold, fold = PRIMITIVES["unfold"], PRIMITIVES["fold"]
    columns = unfold.forward(x, kernel_size, dilation, padding, stride)
    assert _same_bits(replay_variants._unfold_into(_buffers_like((columns,)), x, kernel_size, dilation, padding,
                                                 stride), columns)
    g = rng.standard_normal(columns.shape).astype(dtype)
    image = unfold.vjps[0](NUMPY, g, columns, x, kernel_size, dilation, padding, stride)
    assert _same_bits(replay_variants._unfold_vjp_into(_buffers_like((image,)), NUMPY, g, columns, x, kernel_size,
                                                     dilation, padding, stride), image)
    size = tuple(x.shape[2:])
    folded = fold.forward(g, size, kernel_size, dilation, padding, stride)
    assert _same_bits(replay_variants._fold_into(_buffers_like((folded,)), g, size, kernel_size, dilation, padding,
                                               stride), folded)
    back = fold.vjps[0](NUMPY, x, folded, g, size, kernel_size, dilation, padding, stride)
    assert _same_bits(replay_variants._fold_vjp_into(_buffers_like((back,)), NUMPY, x, folded, g, size,
                                                   kernel_size, dilation, padding, stride), back)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_window_max_vjp_variant_equals_the_plain_one_with_ties_and_nan(dtype):
    window_max = PRIMITIVES["window_max"]
    rng = np.random.default_rng(7)
    x = np.maximum(rng.standard_normal((2, 3, 8, 6)), 0).astype(dtype)  # ties at 0 after a ReLU
    x[0, 0, 2, 3] = np.nan
    tiles, axes = x.reshape(2, 3, 4, 2, 3, 2), (3, 5)
    ans = window_max.forward(tiles, axes)
    g = rng.standard_normal(ans.shape).astype(dtype)
    expected = window_max.vjps[0](NUMPY, g, ans, tiles, axes)
    got = replay_variants._window_max_vjp_into(_buffers_like((expected,)), NUMPY, g, ans, tiles, axes)
    assert _same_bits(got, expected)


# ---- whole steps -----------------------------------------------------------------------------------------------

def _lstm_tagger():
    mg.manual_seed(0)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 8, 2)
            self.head = nn.Linear(8, 4)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out).reshape(-1, 4)  # a linear on a 3-D input: its gradients flatten the batch

    model = Tagger()
    return model, nn.CrossEntropyLoss(), nn.optim.SGD(model.parameters(), lr=0.1)


def _train(compiled, model, loss_fn, optimizer, batches):
    step = tutorial_step(model, loss_fn, optimizer)
    run = mg_compile(step, check=2) if compiled else step
    losses = [run(x, y).numpy().copy() for x, y in batches]
    return losses, [p.numpy().copy() for p in model.parameters()], run


def test_an_lstm_step_with_shared_buffers_replays_bit_for_bit_and_allocates_less_than_its_results(monkeypatch):
    rng = np.random.default_rng(4)
    batches = [(mg.tensor(rng.standard_normal((5, 3, 6)).astype(np.float32)), mg.tensor(rng.integers(0, 4, 15)))
               for _ in range(4)] * 3
    eager = _train(False, *_lstm_tagger(), batches)
    replayed = _train(True, *_lstm_tagger(), batches)
    assert replayed[2].captures == 1 and replayed[2].checked == 2
    for a, b in zip(eager[0] + eager[1], replayed[0] + replayed[1]):
        assert _same_bits(a, b)
    # captured again, watched: the outputs of every step that writes into a buffer, against what was allocated
    outputs = []
    build = capture_tape._Tape.build

    def watched_build(tape, result_name, buffers=True):
        outputs.extend(tape.ufuncs.values())
        outputs.extend(o for _, _, outs in tape.into.values() for o in outs if isinstance(o, np.ndarray))
        return build(tape, result_name, buffers)

    monkeypatch.setattr(capture_tape._Tape, "build", watched_build)
    replayed[2].cache.clear()
    replayed[2].last = None
    replayed[2](*batches[0])
    assert len(outputs) > 100
    assert 0 < replayed[2].buffer_bytes < 0.6 * sum(o.nbytes for o in outputs)  # (forward results live until backward)
