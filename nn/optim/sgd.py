"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
import numpy as np

from microgradnp.autograd.graph import array_of, grad_of, increment_version

from .optimizer import Optimizer, check_hyper, grad_shape_error
from .scaled_add import ShapeMismatch, add_scaled_, axpy_of, plus_scaled


class SGD(Optimizer):
    """PyTorch's SGD, step for step.

    g = grad + weight_decay * p; with momentum: buf = g (first step), then buf = momentum * buf +
    (1 - dampening) * g; the step uses g + momentum * buf (nesterov) or buf; p -= lr * step, one fused
    multiply-add per element when SciPy is installed (see ``scaled_add``), as PyTorch computes it.
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
        alpha = float(group["lr"] if group.get("maximize", False) else -group["lr"])
        updated = []
        try:
            for p in group["params"]:
                grad = grad_of(p)
                if grad is None:
                    continue
                # p += -lr * grad, fused as PyTorch fuses it; .grad itself does not change
                try:
                    add_scaled_(array_of(p), array_of(grad), alpha)
                except ShapeMismatch:  # a .grad assigned by hand (checked there: the shapes are compared anyway)
                    raise grad_shape_error(self, p, array_of(grad)) from None
                updated.append(p)
        finally:
            # as in Optimizer._step_group: a graph that saved the old values must refuse to backward
            increment_version(updated)

    def _replay_step(self):
        """Plain SGD for a compiled step's replay: ``add_scaled_``'s decisions taken once per parameter.

        Each step calls the same BLAS ``axpy`` on the same flat views as ``add_scaled_`` (so the same bits);
        whatever the checks made at capture no longer hold (another array, a momentum set since, a
        ``.grad`` of another layout) goes the ordinary way.
        """
        plan = []
        for group in self.param_groups:
            items = []
            for p in group["params"]:
                data = array_of(p)
                axpy = axpy_of(data)
                # the last gradient array seen and its flat view: a compiled step's .grad is the same buffer
                # at every call, so its checks and its view are made once
                items.append([p, data, None if axpy is None else data.ravel(order="K"), axpy, None, None])
            plan.append((group, items))

        def step_groups():
            for group, items in plan:
                if group["momentum"] != 0 or group["weight_decay"] != 0:
                    self._step_group(group)
                    continue
                alpha = float(group["lr"] if group.get("maximize", False) else -group["lr"])
                updated = []
                try:
                    for item in items:
                        p, data, flat, axpy, seen, seen_flat = item
                        grad = grad_of(p)
                        if grad is None:
                            continue
                        g = array_of(grad)
                        if g is not seen and (axpy is not None and g.dtype is data.dtype and g.shape == data.shape
                                              and g.base is None and g.flags.c_contiguous):
                            item[4], item[5] = seen, seen_flat = g, g.ravel(order="K")
                        if g is seen and array_of(p) is data:
                            result = axpy(seen_flat, flat, flat.size, alpha)
                            if result is not flat:  # as in add_scaled_
                                flat[...] = result
                        else:
                            try:
                                add_scaled_(array_of(p), array_of(grad), alpha)
                            except ShapeMismatch:
                                raise grad_shape_error(self, p, array_of(grad)) from None
                        updated.append(p)
                finally:
                    increment_version(updated)

        return step_groups

    def _update(self, param, grad, group, state):
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        # every "x + alpha * y" as PyTorch's x.add(y, alpha=alpha): fused where SciPy's BLAS can (scaled_add)
        if weight_decay != 0:
            grad = plus_scaled(grad, param, weight_decay)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                add_scaled_(buf, grad, 1 - group["dampening"])
            grad = plus_scaled(grad, buf, momentum) if group["nesterov"] else buf
        add_scaled_(param, grad, -group["lr"])
