"""Custom ops: subclass ``Function`` with ``forward(ctx, *args)`` and ``backward(ctx, *grads)``."""
import numpy as np

from .. import grad_mode
from ..tensor import Tensor
from .primitive import Primitive


class FunctionCtx:
    """The ``ctx`` passed to a Function's forward and backward: save what backward needs here."""

    def __init__(self):
        self.saved_tensors = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        """Keep tensors (inputs or outputs) for ``backward``; read them back as ``ctx.saved_tensors``."""
        self.saved_tensors = tensors


def _run_forward(*raw, function, ctx, originals):
    with grad_mode.no_grad():
        out = function.forward(ctx, *originals)
    if isinstance(out, tuple):
        raise TypeError(f"{function.__name__}.forward returned a tuple; custom Functions return one tensor")
    return out._array if isinstance(out, Tensor) else np.asarray(out)


def _run_backward(xp, g, ans, edges, *args, function, ctx, originals):
    raw_mode = not isinstance(g, Tensor)
    grads = function.backward(ctx, Tensor._from_op(np.asarray(g), None) if raw_mode else g)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(args):
        raise RuntimeError(f"{function.__name__}.backward returned {len(grads)} gradient(s) but forward took "
                           f"{len(args)} input(s); return None for inputs that need no gradient")
    out = []
    for i, (grad, arg) in enumerate(zip(grads, args)):
        if grad is None:
            out.append(None)
            continue
        value = grad._array if isinstance(grad, Tensor) else np.asarray(grad)
        if np.shape(value) != np.shape(arg) and not _sums_back_to(np.shape(value), np.shape(arg)):
            raise RuntimeError(f"{function.__name__}.backward returned a gradient of shape {np.shape(value)} "
                               f"for input {i} of shape {np.shape(arg)}")
        if raw_mode:
            out.append(value)
        else:
            out.append(grad if isinstance(grad, Tensor) else Tensor._from_op(value, None))
    return tuple(out)


def _sums_back_to(grad_shape, input_shape):
    # a gradient may have the broadcast shape of its input (the engine sums it back), nothing else
    try:
        return np.broadcast_shapes(grad_shape, input_shape) == grad_shape
    except ValueError:
        return False


class Function:
    """Base class for a custom differentiable op, used as ``MyFn.apply(*inputs)``.

    ``forward`` runs without recording; ``backward`` receives the gradient of the output and returns one
    gradient per input (None where an input needs none). With ``create_graph=True`` backward's own
    Tensor ops are recorded, so higher-order gradients work when backward is written with Tensor ops.
    """

    @staticmethod
    def forward(ctx, *args):
        """Compute the output from the inputs (override this)."""
        raise NotImplementedError("subclasses of Function must implement forward(ctx, *args)")

    @staticmethod
    def backward(ctx, grad_output):
        """Return one gradient per input of forward (override this)."""
        raise NotImplementedError("subclasses of Function must implement backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args):
        """Run the op on ``args`` and record it for backward."""
        prim = cls.__dict__.get("_primitive")
        if prim is None:
            prim = Primitive(cls.__name__, _run_forward, cls.__doc__, joint_vjp=_run_backward)
            cls._primitive = prim
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        return prim(*args, function=cls, ctx=ctx, originals=args)
