"""``inference_mode``: PyTorch's name for a no-grad region, as a context manager and a decorator."""
import pytest

import microgradnp as mg


def test_inference_mode_records_nothing_and_restores_the_mode():
    w = mg.ones(2, requires_grad=True)
    with mg.inference_mode():
        assert mg.is_inference_mode_enabled() and not mg.is_grad_enabled()
        y = w * 2
    assert not y.requires_grad and y.grad_fn is None
    assert mg.is_grad_enabled() and not mg.is_inference_mode_enabled()


def test_inference_mode_false_leaves_grad_mode_as_it_is():
    w = mg.ones(2, requires_grad=True)
    with mg.inference_mode(False):
        assert (w * 2).requires_grad and not mg.is_inference_mode_enabled()
    with mg.no_grad(), mg.inference_mode(False):
        assert not (w * 2).requires_grad


@pytest.mark.parametrize("decorate", [lambda f: mg.inference_mode()(f), lambda f: mg.inference_mode(f)],
                         ids=["called", "bare"])
def test_inference_mode_as_a_decorator(decorate):
    w = mg.ones(2, requires_grad=True)

    @decorate
    def evaluate(x):
        """Docstring kept."""
        return (x * w).sum()

    assert not evaluate(mg.ones(2)).requires_grad and evaluate.__doc__ == "Docstring kept."
    assert (w * 2).requires_grad


def test_inference_mode_matches_torch():
    torch = pytest.importorskip("torch")
    for framework in (torch, mg):
        w = framework.ones(2, requires_grad=True)
        with framework.inference_mode():
            inside = (w * 2).requires_grad, framework.is_inference_mode_enabled()
        with framework.inference_mode(False):
            off = (w * 2).requires_grad, framework.is_inference_mode_enabled()
        assert (inside, off) == ((False, True), (True, False)), framework.__name__
