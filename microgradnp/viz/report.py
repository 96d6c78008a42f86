"""The readable result of ``explain_zero_grad``: ``str(report)`` for people, fields for programs."""
from dataclasses import dataclass

import numpy as np

from .causes import op_text
from .cuts import CUT_RANK

MAX_CUTS_SHOWN = 8


@dataclass(frozen=True)
class Blocker:
    """Op ``node`` sent an all-zero gradient to input ``index`` because of ``cause``; ``path`` is from the loss."""

    node: object
    index: int
    cause: object
    path: list

    def where(self):
        """'relu (train.py:31) in net/2' or, for a cancellation at the parameter itself, 'the parameter'."""
        if self.node is None:
            return "the parameter"
        scope = "/".join(map(str, self.node.info("scope") or ()))
        return op_text(self.node) + (f" in {scope}" if scope else "")


def _path_text(path):
    names = [op_text(n) for n in path]
    if len(names) > 8:
        names = names[:3] + ["..."] + names[-4:]
    return " <- ".join(names)


_HEADLINES = {
    "no_grad_required": ("{name} does not require grad (requires_grad=False), so backward never computes a "
                         "gradient for it: create it with requires_grad=True, or call .requires_grad_() on it."),
    "loss_has_no_graph": ("The loss does not require grad: no graph was recorded behind it, so nothing gets a "
                          "gradient. Everything it was computed from carries no gradient: it was computed inside "
                          "no_grad(), from detach()ed tensors, or through an argmax or a comparison (which have "
                          "no gradient)."),
    "freed": ("{name} is connected to the loss, but backward() already freed the values needed to find where its "
              "gradient became zero: call explain_zero_grad before loss.backward(), or use "
              "loss.backward(retain_graph=True)."),
}


class ZeroGradReport:
    """Why a gradient is zero or None.

    ``status``: 'blocked' (reachable, zeroed by the ops in ``blockers``), 'unreachable' (the graph was cut:
    see ``cuts``), 'nonzero' (nothing to explain), 'no_grad_required', 'loss_has_no_graph' or 'freed'.
    ``kinds``: the short cause names ('relu_off', 'integer', 'detached', 'comparison'...).
    """

    def __init__(self, param_name, names, shape=None):
        self.param_name = param_name
        self.shape = shape
        self.names = names
        self.status = None
        self.reachable = None
        self.freed = False
        self.grad = None
        self.blockers = []
        self.cuts = []

    def finish(self, status, reachable, freed=False):
        """Set the verdict and return the report."""
        self.status, self.reachable, self.freed = status, reachable, freed
        return self

    @property
    def kinds(self):
        """The cause kinds: of every blocker, or of the likeliest cuts when the graph was cut."""
        if self.blockers:
            return sorted({b.cause.kind for b in self.blockers})
        if self.cuts:
            best = min(CUT_RANK[c.kind] for c in self.cuts)
            return sorted({c.kind for c in self.cuts if CUT_RANK[c.kind] == best})
        return []

    def __str__(self):
        name = self.param_name
        shape = "" if self.shape is None else f" (shape {tuple(self.shape)})"
        lines = [f"Why is the gradient of {name}{shape} zero or None?"]
        if self.status in _HEADLINES:
            lines.append("  " + _HEADLINES[self.status].format(name=name))
        elif self.status == "nonzero":
            g = np.asarray(self.grad) if self.grad is not None else None
            if g is None:
                lines.append(f"  {name} is the loss itself: its gradient is 1.")
            else:
                zeros = int(g.size - np.count_nonzero(g))
                lines.append(f"  It is not zero: |grad| = {float(np.linalg.norm(g)):.4g}"
                             + (f" ({zeros} of {g.size} entries are 0)." if zeros else "."))
        elif self.status == "unreachable":
            lines.append(f"  {name} is not connected to the loss: no recorded op leads from the loss to it, so "
                         f"its gradient is None (or stays 0). The graph was cut where a tensor without a gradient "
                         f"entered it; likeliest first:")
            for i, cut in enumerate(self.cuts[:MAX_CUTS_SHOWN], 1):
                lines.append(f"    {i}. {cut}")
            if len(self.cuts) > MAX_CUTS_SHOWN:
                lines.append(f"    ... and {len(self.cuts) - MAX_CUTS_SHOWN} more")
            if not self.cuts:
                lines.append(f"    (none: {name} is simply not used to compute the loss)")
        else:
            count = len(self.blockers)
            lines.append(f"  d(loss)/d({name}) is 0 everywhere. It became zero at "
                         f"{count} place{'s' if count != 1 else ''}, the first on each path from the loss:")
            for i, blocker in enumerate(self.blockers, 1):
                lines.append(f"    {i}. {blocker.where()}: {blocker.cause.text}")
                if blocker.path:
                    lines.append(f"       path from the loss: {_path_text(blocker.path)}")
        return "\n".join(lines)

    def __repr__(self):
        return f"<ZeroGradReport {self.status} for {self.param_name}: {', '.join(self.kinds) or '-'}>"
