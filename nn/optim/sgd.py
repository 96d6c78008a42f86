"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
import numpy as np

from .optimizer import Optimizer, check_hyper


class SGD(Optimizer):
    """PyTorch's SGD, step for step.

    g = grad + weight_decay * p; with momentum: buf = g (first step), then buf = momentum * buf +
    (1 - dampening) * g; the step uses g + momentum * buf (nesterov) or buf; p -= lr * step.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("momentum value", momentum)
        check_hyper("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening, got momentum={momentum}"
                             f" and dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _step_group(self, group):
        """Plain SGD (no momentum, no weight decay) in one tight loop; anything else per parameter."""
        if group["momentum"] != 0 or group["weight_decay"] != 0:
            super()._step_group(group)
            return
        # plain SGD keeps no state, as in PyTorch: ``state`` stays empty
        lr = float(-group["lr"] if group.get("maximize", False) else group["lr"])
        scale = dtype = None
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            g = grad.data
            if g.dtype is not dtype:
                # lr as a 0-d array of the gradient's dtype, made once per dtype: a float32 gradient is
                # multiplied by it 40% faster than by a Python float, which NumPy converts on every call,
                # with the same result (the float is cast to that dtype too); a NumPy float64 lr cannot
                # make float32 updates go through float64
                dtype = g.dtype
                scale = np.array(lr, dtype)
            data = p.data
            data -= g * scale  # g * scale is a new array: .grad must not change, as PyTorch's does not
            # the data changed in place: a graph that saved the old values must refuse to backward
            p._version += 1

    def _update(self, param, grad, group, state):
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * grad
