"""``Optimizer``: parameter groups, per-parameter state, and the update loop shared by every optimizer.

Updates work on the raw ndarrays in place, in each parameter's own dtype, with no graph recorded.
"""
import copy
import functools
import math
from itertools import chain

import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, capture_state, clear_grads, grad_of, increment_version, replayable


class _Required:
    """Marks a hyper-parameter that has no default and must be given."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: holds ``param_groups`` (a list of dicts with ``params`` and per-group options) and
    ``state`` (a dict from parameter to its optimizer state).

    Subclasses implement ``_update(param, grad, group, state)``; one that can update a whole group faster
    overrides ``_step_group(group)``, or ``step`` entirely. An override that writes into ``p.numpy()`` tells
    autograd afterwards with ``mg.autograd.graph.increment_version``, as ``_step_group`` does.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}
        self.param_groups = []
        self._opt_called = False
        if isinstance(params, mg.Tensor):
            raise TypeError(f"{type(self).__name__}: params should be an iterable of tensors or dicts, got a single "
                            f"Tensor (wrap it in a list, or pass model.parameters())")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list (did model.parameters() find "
                             f"no nn.Parameter? a generator can be consumed only once)")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            # a custom step() still tells the lr schedulers that the optimizer has stepped
            custom_step = cls.__dict__["step"]

            @functools.wraps(custom_step)
            def step(self, *args, **kwargs):
                self._opt_called = True
                return custom_step(self, *args, **kwargs)

            cls.step = step

    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (missing options take the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, mg.Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs; use a list instead")
        params = list(params)
        for p in params:
            if not isinstance(p, mg.Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor (shape {tuple(p.shape)}); "
                                 f"optimize the leaf parameters it was computed from")
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"{type(self).__name__}: can only optimize floating point tensors, got {p.dtype}")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("some parameters appear more than once (in one group or in more than one group)")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of all optimized parameters (to None by default, or to zeros in place)."""
        if capture_state.active is not None:  # inside a compiled step's capture: recorded as one replay step
            replayable(self._zero_grad, set_to_none)
        else:
            self._zero_grad(set_to_none)

    def _zero_grad(self, set_to_none):
        # the clearing itself: called eagerly, or by a compiled step's replay
        for group in self.param_groups:
            if set_to_none:
                clear_grads(group["params"])
                continue
            for p in group["params"]:
                grad = grad_of(p)
                if grad is not None:
                    array_of(grad)[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` (re-evaluating the loss) is called first."""
        loss = None
        if closure is not None:
            with mg.enable_grad():
                loss = closure()
        if capture_state.active is None:
            self._step_groups()
        else:  # a compiled step replays the whole update as one call (the lr is read from the groups each time)
            replayable(self._step_groups, specialize=self._replay_step)
        self._opt_called = True
        return loss

    def _replay_step(self):
        """A faster ``_step_groups`` for a compiled step's replay, made at capture, or None (replay the plain one)."""
        return None

    def _step_groups(self):
        for group in self.param_groups:
            self._step_group(group)

    def _step_group(self, group):
        """Update the parameters of one group that have a gradient, each through ``_update``."""
        update, states = self._update, self.state  # looked up once, not once per parameter
        maximize = group.get("maximize", False)
        updated = []
        try:
            for p in group["params"]:
                grad = grad_of(p)
                if grad is None:
                    continue
                grad = array_of(grad)
                if grad.shape != array_of(p).shape:
                    raise grad_shape_error(self, p, grad)
                if maximize:
                    grad = -grad
                state = states.get(p)
                if state is None:
                    state = states[p] = {}
                update(array_of(p), grad, group, state)
                updated.append(p)
        finally:
            # the data changed in place: a graph that saved the old values must refuse to backward. One call
            # for the whole group, made even when a parameter raises: those before it have changed already
            increment_version(updated)

    def _update(self, param, grad, group, state):
        """Change ``param`` (an ndarray) in place from ``grad``, the group's options and ``state``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update or override step")

    # ---- state ----------------------------------------------------------------------------------------
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` as PyTorch lays it out.

        Parameters are numbered in group order; state arrays are returned as tensors (save with ``mg.save``).
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, values in self.state.items():
            if id(p) in index_of:
                state[index_of[id(p)]] = {k: mg.Tensor(v) if isinstance(v, np.ndarray) else v
                                          for k, v in values.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state saved by ``state_dict`` (copies are taken; shapes are checked)."""
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(group['params'])} "
                                 f"parameters, the saved group has {len(saved['params'])}")
        param_of = {int(old): p for old, p in zip(chain.from_iterable(g["params"] for g in saved_groups),
                                                  chain.from_iterable(g["params"] for g in self.param_groups))}
        new_state = {}
        for key, values in state_dict["state"].items():
            p = param_of.get(int(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter {key}, which no group lists")
            new_state[p] = {k: _restore(v, p, key, k, name) for k, v in values.items()}
        self.state = new_state
        self.param_groups = [dict(copy.deepcopy({k: v for k, v in saved.items() if k != "params"}),
                                  params=group["params"])
                             for group, saved in zip(self.param_groups, saved_groups)]

    def __repr__(self):
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"


def _restore(value, param, index, key, name):
    if isinstance(value, mg.Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0 and key == "step":
        return int(value)
    if not isinstance(value, np.ndarray):
        return value
    if value.shape != param.shape:
        raise ValueError(f"{name}.load_state_dict: state {key!r} of parameter {index} has shape {tuple(value.shape)}, "
                         f"the parameter has shape {tuple(param.shape)}")
    dtype = param.dtype if np.issubdtype(value.dtype, np.floating) else value.dtype
    return np.array(value, dtype=dtype, copy=True)


def lerp_(start, end, weight):
    """start += weight * (end - start) in place, evaluated as PyTorch's ``lerp_`` does for each weight."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def check_hyper(name, value, low=0.0, high=math.inf):
    """Raise a ValueError naming the optimizer option unless low <= value < high."""
    if not low <= value < high:
        bounds = f">= {low}" if high == math.inf else f"in [{low}, {high})"
        raise ValueError(f"Invalid {name}: {value} (must be {bounds})")


def grad_shape_error(optimizer, param, grad):
    """The error for a ``.grad`` of another shape than its parameter's (one assigned by hand)."""
    return ValueError(f"{type(optimizer).__name__}.step(): a parameter of shape {tuple(param.shape)} has a gradient "
                     f"of shape {tuple(grad.shape)}; a .grad assigned by hand must have its parameter's shape")
