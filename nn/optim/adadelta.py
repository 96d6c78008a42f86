"""Adadelta: step sizes from running averages of squared gradients and of squared updates."""
import numpy as np

from .optimizer import Optimizer, check_hyper
from .scaled_add import add_scaled_, plus_scaled


class Adadelta(Optimizer):
    """PyTorch's Adadelta, step for step (defaults lr=1.0, rho=0.9, eps=1e-6).

    v = rho v + (1 - rho) g^2; delta = sqrt(u + eps) / sqrt(v + eps) * g; u = rho u + (1 - rho) delta^2;
    p -= lr * delta. ``v`` and ``u`` are the state's ``square_avg`` and ``acc_delta``.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        check_hyper("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho} (must be in [0.0, 1.0])")
        check_hyper("epsilon value", eps)
        check_hyper("weight_decay value", weight_decay)
        # foreach, capturable and differentiable choose among PyTorch's kernels; the numbers are the same
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      capturable=capturable, maximize=maximize, differentiable=differentiable))

    def _update(self, param, grad, group, state):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            state["acc_delta"] = np.zeros_like(param)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = plus_scaled(grad, param, group["weight_decay"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        dtype = param.dtype.type
        square_avg *= dtype(rho)
        square_avg += dtype(1 - rho) * grad * grad
        std = np.sqrt(square_avg + dtype(eps))
        delta = np.sqrt(acc_delta + dtype(eps))
        delta /= std
        delta *= grad
        acc_delta *= dtype(rho)
        acc_delta += dtype(1 - rho) * delta * delta
        add_scaled_(param, delta, -group["lr"])
