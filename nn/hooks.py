"""Module hooks: ``RemovableHandle`` and the call of a module that has hooks, as PyTorch runs them.

``Module.__call__`` comes here only while some module has a hook; otherwise it calls ``forward`` directly.
"""
import warnings
import weakref
from collections import OrderedDict

import microgradnp as mg

# the instance attributes that hold a module's hooks, keyed by handle id (PyTorch's names)
FORWARD_PRE = "_forward_pre_hooks"
FORWARD = "_forward_hooks"
BACKWARD = "_backward_hooks"
BACKWARD_PRE = "_backward_pre_hooks"
HOOK_TABLES = (FORWARD_PRE, FORWARD, BACKWARD, BACKWARD_PRE)
# ids of the hooks registered with_kwargs=True or always_call=True
FORWARD_PRE_WITH_KWARGS = "_forward_pre_hooks_with_kwargs"
FORWARD_WITH_KWARGS = "_forward_hooks_with_kwargs"
FORWARD_ALWAYS_CALLED = "_forward_hooks_always_called"
FLAG_TABLES = (FORWARD_PRE_WITH_KWARGS, FORWARD_WITH_KWARGS, FORWARD_ALWAYS_CALLED)


class RemovableHandle:
    """What registering a hook returns: ``remove()`` unregisters it; also a context manager that removes it
    on exit (``with model.register_forward_hook(f): model(x)``)."""

    next_id = 0

    def __init__(self, hooks_dict, *, extra_dict=None, on_remove=None):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extra = [] if extra_dict is None else [extra_dict] if isinstance(extra_dict, dict) else extra_dict
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extra)
        self._on_remove = on_remove

    def remove(self):
        """Unregister the hook (again is harmless)."""
        hooks_dict = self.hooks_dict_ref()
        if hooks_dict is not None and self.id in hooks_dict:
            del hooks_dict[self.id]
        for ref in self.extra_dict_ref:
            extra = ref()
            if extra is not None and self.id in extra:
                del extra[self.id]
        if self._on_remove is not None:
            self._on_remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


def table(module, name):
    """The hook table ``name`` of ``module``, made if missing (a module unpickled from an older version)."""
    d = module.__dict__
    found = d.get(name)
    if found is None:
        found = d[name] = OrderedDict()
    return found


def call_with_hooks(module, args, kwargs, forward_call):
    """Run ``forward_call(args, kwargs)`` with ``module``'s hooks, in PyTorch's order: forward pre-hooks (each
    may replace the arguments), the backward hooks' input side, forward, forward hooks (each may replace
    the output), the backward hooks' output side. If anything raises, the ``always_call`` forward hooks not
    yet run are run (their own errors only warned about) and the error goes on."""
    d = module.__dict__
    pre, forward = d.get(FORWARD_PRE), d.get(FORWARD)
    backward, backward_pre = d.get(BACKWARD), d.get(BACKWARD_PRE)
    result = None
    called = set()
    try:
        if pre:
            with_kwargs = d.get(FORWARD_PRE_WITH_KWARGS) or ()
            for hook_id, hook in list(pre.items()):
                if hook_id in with_kwargs:
                    new = hook(module, args, kwargs)
                    if new is not None:
                        if not (isinstance(new, tuple) and len(new) == 2):
                            raise RuntimeError(f"forward pre-hook must return None or a tuple of (new_args, "
                                               f"new_kwargs), but got {new}.")
                        args, kwargs = new
                else:
                    new = hook(module, args)
                    if new is not None:
                        args = new if isinstance(new, tuple) else (new,)
        tie = None
        if backward or backward_pre:
            tie = BackwardHook(module, list((backward or {}).values()), list((backward_pre or {}).values()))
            args = tie.setup_input(args)
        result = forward_call(args, kwargs)
        if forward:
            with_kwargs = d.get(FORWARD_WITH_KWARGS) or ()
            always = d.get(FORWARD_ALWAYS_CALLED) or ()
            for hook_id, hook in list(forward.items()):
                if hook_id in always:
                    called.add(hook_id)
                new = hook(module, args, kwargs, result) if hook_id in with_kwargs else hook(module, args, result)
                if new is not None:
                    result = new
        if tie is not None:
            result = tie.setup_output(result)
        return result
    except Exception:
        with_kwargs = d.get(FORWARD_WITH_KWARGS) or ()
        for hook_id in list(d.get(FORWARD_ALWAYS_CALLED) or ()):
            hook = (forward or {}).get(hook_id)
            if hook is None or hook_id in called:
                continue
            try:
                new = hook(module, args, kwargs, result) if hook_id in with_kwargs else hook(module, args, result)
                if new is not None:
                    result = new
            except Exception as e:
                warnings.warn(f"forward hook with ``always_call=True`` raised an exception that was silenced as "
                              f"another error was raised in forward: {e}", stacklevel=3)
        raise


def _tie(tensors, on_grads):
    """Copies of ``tensors`` joined in one node: once per backward, ``on_grads`` gets all their gradients
    together (a list of tensors) and may return replacements (None where unchanged)."""
    shapes = [t.shape for t in tensors]
    dtypes = [t.dtype for t in tensors]
    sizes = [t.numel() for t in tensors]
    joined = mg.cat([t.reshape(-1) for t in tensors])  # mixed dtypes are promoted here and cast back below

    def split(whole):
        pieces, start = [], 0
        for shape, dtype, size in zip(shapes, dtypes, sizes):
            piece = whole[start:start + size].reshape(shape)
            pieces.append(piece if piece.dtype == dtype else piece.to(dtype))
            start += size
        return pieces

    def hook(g):
        new = on_grads(split(g))
        if new is None:
            return None
        return mg.cat([(mg.zeros(shape, dtype=g.dtype) if piece is None else piece).reshape(-1).to(g.dtype)
                       for shape, piece in zip(shapes, new)])

    joined.register_hook(hook)
    return split(joined)


class BackwardHook:
    """One call's full backward hooks: the module's tensor inputs and outputs pass through joined copies,
    whose gradients the hooks see (and may replace) once per backward pass."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.n_inputs, self.input_index, self.zero_inputs = 0, None, []
        self.grad_outputs = None

    def setup_input(self, args):
        """``args`` with each tensor that requires grad replaced by a copy joined to the others."""
        self.n_inputs = len(args)
        index = [i for i, a in enumerate(args) if isinstance(a, mg.Tensor) and a.requires_grad]
        if not index or not mg.is_grad_enabled():
            return args
        self.input_index = index
        # as in PyTorch, the other tensor inputs get zeros in grad_input (non-tensors get None)
        self.zero_inputs = [(i, a.shape, a.dtype) for i, a in enumerate(args)
                            if isinstance(a, mg.Tensor) and not a.requires_grad]
        args = list(args)
        for i, t in zip(index, _tie([args[i] for i in index], self._grad_inputs)):
            args[i] = t
        return tuple(args)

    def setup_output(self, result):
        """``result`` with its tensors that require grad joined, so that the output gradients are seen."""
        single = isinstance(result, mg.Tensor)
        if not single and not isinstance(result, tuple):
            warnings.warn(f"For backward hooks to be called, module output should be a Tensor or a tuple of Tensors "
                          f"but received {type(result)}", stacklevel=3)
            return result
        outputs = [result] if single else list(result)
        index = [i for i, t in enumerate(outputs) if isinstance(t, mg.Tensor) and t.requires_grad]
        if not index:
            return result
        n_outputs = len(outputs)

        def grad_outputs(pieces):
            grads = [None] * n_outputs
            for i, g in zip(index, pieces):
                grads[i] = g
            grads = tuple(grads)
            changed = False
            for hook in self.pre_hooks:
                new = hook(self.module, grads)
                if new is not None:
                    new = new if isinstance(new, tuple) else (new,)
                    if len(new) != n_outputs:
                        raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got "
                                           f"{len(new)}, but expected {n_outputs}")
                    grads, changed = new, True
            self.grad_outputs = grads
            if self.input_index is None:  # nothing upstream will be reached: call the hooks now
                no_grads = (None,) * self.n_inputs
                for hook in self.hooks:
                    new = hook(self.module, no_grads, grads)
                    if new is not None and not (isinstance(new, tuple) and all(g is None for g in new)):
                        raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                           "return None or None for all gradients.")
            return [grads[i] for i in index] if changed else None

        for i, t in zip(index, _tie([outputs[i] for i in index], grad_outputs)):
            outputs[i] = t
        return outputs[0] if single else tuple(outputs)

    def _grad_inputs(self, pieces):
        grads = [None] * self.n_inputs
        for i, shape, dtype in self.zero_inputs:
            grads[i] = mg.zeros(shape, dtype=dtype)
        for i, g in zip(self.input_index, pieces):
            grads[i] = g
        grads = tuple(grads)
        changed = False
        for hook in self.hooks:
            new = hook(self.module, grads, self.grad_outputs)
            if new is not None:
                new = new if isinstance(new, tuple) else (new,)
                if len(new) != len(grads):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(new)}, but "
                                       f"expected {len(grads)}")
                grads, changed = new, True
        return [grads[i] for i in self.input_index] if changed else None
