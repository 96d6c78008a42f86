"""``einsum``: a sum of products over labelled axes, whose gradient for each operand is again an einsum.

The primitive takes an explicit equation in its plainest form (``"ab,bc->ac"``): no ellipsis, no label
twice in one operand or in the output, every output label in some operand, and each label of one size
everywhere. ``functions.einsum`` brings PyTorch's full notation to that form first (it names the
ellipsis dims, broadcasts dims of size 1 and takes diagonals for repeated labels, all with
differentiable ops), so the VJP below never has to undo a diagonal or a broadcast.
"""
import numpy as np

from ..autograd.primitive import primitive


def _einsum(*operands, subscripts):
    """Sum of products of ``operands`` over the labels of ``subscripts`` (explicit, in the plain form above)."""
    # optimize: pairs of operands go through tensordot (BLAS) and longer chains in a good order
    out = np.einsum(subscripts, *operands, optimize=len(operands) > 1)
    if len(operands) == 1 and np.may_share_memory(out, operands[0]):
        out = out.copy()  # a permutation comes back as a view; the op's output owns its memory
    return out


def _einsum_vjp(xp, g, ans, edges, *operands, subscripts):
    # d out / d operand k: the einsum of the output's gradient with every other operand, onto operand k's
    # labels. A label that only operand k has was summed away in the forward pass: every element along it
    # had the same share, so the gradient is broadcast along it.
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    grads = []
    for k, (x, edge) in enumerate(zip(operands, edges)):
        if edge is None:
            grads.append(None)
            continue
        others = terms[:k] + terms[k + 1:]
        seen = set(output).union(*others)
        kept = "".join(label for label in terms[k] if label in seen)
        grad = xp.einsum(g, *operands[:k], *operands[k + 1:], subscripts=",".join([output] + others) + "->" + kept)
        if kept != terms[k]:
            shape = tuple(n if label in seen else 1 for label, n in zip(terms[k], x.shape))
            grad = xp.broadcast_to(xp.reshape(grad, shape=shape), shape=tuple(x.shape))
        grads.append(grad)
    return tuple(grads)


einsum = primitive("einsum", _einsum, joint_vjp=_einsum_vjp)
