"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""
import numpy as np

from microgradnp.autograd.graph import array_of

from .optimizer import Optimizer, check_hyper


class Adagrad(Optimizer):
    """PyTorch's Adagrad, step for step (defaults lr=1e-2, eps=1e-10).

    sum += g^2; p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *,
                 maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("lr_decay value", lr_decay)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("initial_accumulator_value value", initial_accumulator_value)
        check_hyper("epsilon value", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))
        # as in PyTorch the accumulator exists from the start, so state_dict() has it before any step
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0, "sum": np.full_like(array_of(p), group["initial_accumulator_value"])}

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state_sum = state["sum"]
        state_sum += grad * grad
        param += -clr * grad / (np.sqrt(state_sum) + group["eps"])
