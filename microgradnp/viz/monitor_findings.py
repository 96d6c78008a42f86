"""What ``mg.viz.Monitor`` concludes from its records: ``Finding`` objects, each naming a layer or parameter,
the steps, the numbers and what to try; ``MonitorThresholds`` holds every limit they use.
"""
import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MonitorThresholds:
    """The limits behind ``Monitor``'s findings; pass ``Monitor(model, thresholds=MonitorThresholds(...))``.

    ``saturation`` (0.97): a Tanh output with |y| above it is saturated (its derivative 1 - y^2 is below
    0.06); a Sigmoid output s is saturated when |2s - 1| is above it (s < 0.015 or s > 0.985).
    ``saturated_fraction`` (0.3): a hidden Tanh or Sigmoid layer is reported when more than this fraction
    of its outputs is saturated at half or more of the recorded steps (the output layer is not: a
    confident classifier saturates its output on purpose).
    ``dead_fraction`` (0.5): a ReLU-family layer is reported when more than this fraction of its units
    gives no positive output for any sample of the batch, from some step to the last recorded one; an
    output ReLU is reported when all its units are dead.
    ``update_high`` (-1.0): a parameter whose update-to-data ratio, log10(std(change) / std(param)), is
    above this at half or more of its recorded steps (or at a step before a NaN) learns too fast: healthy
    training sits near -3.
    ``exploding_output`` (1e4): a layer whose output reaches this magnitude is reported.
    ``vanishing_ratio`` (1e-4) and ``exploding_ratio`` (1e4): the first weight matrix's gradient norm
    divided by the largest one among the weight matrices at the same step is vanishing below the first;
    divided by the last weight matrix's, exploding above the second.
    ``plateau_steps`` (500) and ``plateau_tolerance`` (1e-3): the loss has not decreased when no step in
    the last ``plateau_steps`` steps brought it below its best by this fraction of the best.
    """

    saturation: float = 0.97
    saturated_fraction: float = 0.3
    dead_fraction: float = 0.5
    update_high: float = -1.0
    exploding_output: float = 1e4
    vanishing_ratio: float = 1e-4
    exploding_ratio: float = 1e4
    plateau_steps: int = 500
    plateau_tolerance: float = 1e-3

    def __post_init__(self):
        if not 0 < self.saturation < 1:
            raise ValueError(f"MonitorThresholds: saturation must be in (0, 1), got {self.saturation}")
        for name in ("saturated_fraction", "dead_fraction"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"MonitorThresholds: {name} must be in (0, 1], got {getattr(self, name)}")
        if not 0 < self.vanishing_ratio < 1 < self.exploding_ratio:
            raise ValueError("MonitorThresholds: need 0 < vanishing_ratio < 1 < exploding_ratio")
        if self.plateau_steps < 1:
            raise ValueError(f"MonitorThresholds: plateau_steps must be at least 1, got {self.plateau_steps}")


@dataclass
class Finding:
    """One problem the monitor found.

    ``kind``: one of ``nonfinite``, ``loss_nonfinite``, ``grad_nonfinite``, ``exploding_output``,
    ``update_too_large``, ``dead_output``, ``dead_units``, ``saturated``, ``vanishing_gradient``,
    ``exploding_gradient``, ``loss_plateau``. ``where``: the layer or parameter name (``"loss"`` for the
    loss). ``numbers``: the values the text quotes, by name.
    """

    kind: str
    where: str
    first_step: int
    last_step: int
    text: str
    advice: str
    numbers: dict = field(default_factory=dict)

    def __str__(self):
        steps = (f"step {self.first_step}" if self.first_step == self.last_step
                 else f"steps {self.first_step}-{self.last_step}")
        return f"{steps}: {self.text} — {self.advice}"


def _fmt(x):
    return f"{x:.2g}" if abs(x) < 1e4 else f"{x:.1e}"


def _label(name, records):
    kind = next((r.modules[name].kind for r in records if name in r.modules), "")
    return f"`{name}` ({kind})" if kind else f"`{name}`"


def find(records, losses, order, param_order, thresholds, weights=None):
    """The findings of a run: ``records`` (``StepRecord``s), ``losses`` ({step: loss}), the modules in the
    order they ran, the parameters in the model's order, and which of them are weight matrices (the
    update and gradient-ratio findings look at those only: a bias of a few entries has a noisy spread)."""
    weights = [n for n in param_order if weights is None or n in weights]
    findings = []
    nonfinite = _nonfinite(records, losses, order, param_order, thresholds)
    findings += nonfinite
    if not nonfinite:
        findings += _exploding_outputs(records, order, thresholds)
    findings += _update_too_large(records, weights, thresholds, nonfinite)
    findings += _dead(records, order, thresholds)
    findings += _saturated(records, order, thresholds)
    findings += _gradient_ratio(records, weights, thresholds)
    if not nonfinite:
        findings += _plateau(losses, thresholds)
    return findings


def _largest_update(records, before):
    """(log10 ratio, parameter, step) of the largest finite update-to-data ratio before step ``before``."""
    best = None
    for r in records:
        if r.step >= before:
            break
        for name, p in r.params.items():
            if p.update_data is not None and math.isfinite(p.update_data):
                if best is None or p.update_data > best[0]:
                    best = (p.update_data, name, r.step)
    return best


def _context(records, step, thresholds, include_step):
    """(text, advice or None, numbers): the largest output just before ``step`` (at it, when
    ``include_step``) and the largest update-to-data ratio before it, when above ``update_high``."""
    text, numbers, advice = "", {}, None
    earlier = [r for r in records if r.step < step or (include_step and r.step == step)]
    if earlier:
        before = earlier[-1]
        peak = max(((mr.absmax, n) for n, mr in before.modules.items() if math.isfinite(mr.absmax)),
                   default=None)
        if peak is not None:
            numbers.update(largest_output=peak[0], largest_output_layer=peak[1], largest_output_step=before.step)
            text += f", after the outputs of {_label(peak[1], records)} reached {_fmt(peak[0])} at step {before.step}"
    update = _largest_update(records, step)
    if update is not None and update[0] > thresholds.update_high:
        numbers.update(update_data=update[0], parameter=update[1], update_step=update[2])
        text += (f"; the update-to-data ratio of `{update[1]}` was 10^{update[0]:.1f} at step {update[2]} "
                 f"(healthy training sits near 10^-3)")
        advice = ("the learning rate is far too large: lower it (10x and more) until that ratio is near 10^-3, or "
                  "clip the gradients (nn.utils.clip_grad_norm_)")
    return text, advice, numbers


def _nonfinite(records, losses, order, param_order, thresholds):
    module_step = next(((r.step, name) for r in records for name in order
                        if name in r.modules and (r.modules[name].nan or r.modules[name].inf)), None)
    loss_step = next((s for s, v in sorted(losses.items()) if v is not None and not math.isfinite(v)), None)
    grad_step = next(((r.step, name) for r in records for name in param_order
                      if name in r.params and r.params[name].grad_nan), None)
    bad_steps = [r.step for r in records if any(m.nan or m.inf for m in r.modules.values())]
    bad_steps += [s for s, v in losses.items() if v is not None and not math.isfinite(v)]
    last = max(bad_steps) if bad_steps else None
    if module_step is not None and (loss_step is None or module_step[0] <= loss_step):
        step, name = module_step
        m = next(r.modules[name] for r in records if r.step == step)
        what = "NaN" if m.nan else "Inf"
        context, advice, numbers = _context(records, step, thresholds, include_step=False)
        numbers.update(nan=m.nan, inf=m.inf)
        text = f"{what} first appears in the output of {_label(name, records)}" + context
        advice = advice or ("look for a log or sqrt of a non-positive value, a division by zero or an overflowing "
                            "exp in this layer's forward (mg.autograd.detect_anomaly() names the op), or NaN in "
                            "the inputs")
        return [Finding("nonfinite", name, step, last, text, advice, numbers)]
    if loss_step is not None:
        value = losses[loss_step]
        context, advice, numbers = _context(records, loss_step, thresholds, include_step=True)
        numbers["loss"] = value
        text = (f"the loss is {value} while every layer's output is finite: it computes log(0) or 0/0" + context)
        on_logits = ("use a loss on logits (nn.BCEWithLogitsLoss / nn.CrossEntropyLoss) instead of log() of a "
                     "sigmoid or softmax output")
        advice = f"{advice}; and {on_logits}" if advice else on_logits
        return [Finding("loss_nonfinite", "loss", loss_step, last, text, advice, numbers)]
    if grad_step is not None:
        step, name = grad_step
        text = (f"the gradient of `{name}` holds NaN or Inf while the loss and every output are finite: the "
                f"backward pass divides by zero (sqrt or pow at 0, norm of a zero vector)")
        advice = "run the step under mg.autograd.detect_anomaly() to name the op, and add an eps where it divides"
        return [Finding("grad_nonfinite", name, step, step, text, advice, {})]
    return []


def _exploding_outputs(records, order, thresholds):
    found = []
    for name in order:
        steps = [(r.step, r.modules[name].absmax) for r in records
                 if name in r.modules and r.modules[name].absmax > thresholds.exploding_output]
        if steps:
            peak = max(v for _, v in steps)
            found.append(Finding(
                "exploding_output", name, steps[0][0], steps[-1][0],
                f"the output of {_label(name, records)} reaches {_fmt(peak)} in magnitude",
                "lower the learning rate, normalise the inputs, or add normalisation (nn.LayerNorm / BatchNorm)",
                {"absmax": peak}))
    return found


def _update_too_large(records, param_order, thresholds, nonfinite):
    nan_step = nonfinite[0].first_step if nonfinite else None
    flagged = []
    for name in param_order:
        ratios = [(r.step, r.params[name].update_data) for r in records if name in r.params
                  and r.params[name].update_data is not None and math.isfinite(r.params[name].update_data)
                  and (nan_step is None or r.step < nan_step)]
        if not ratios:
            continue
        high = [(s, v) for s, v in ratios if v > thresholds.update_high]
        if high and (nan_step is not None or len(high) * 2 >= len(ratios)):
            flagged.append((max(v for _, v in high), name, high))
    if not flagged:
        return []
    peak, name, high = max(flagged)
    others = [n for _, n, _ in flagged if n != name]
    text = (f"the update-to-data ratio of `{name}` reaches 10^{peak:.1f} (healthy training sits near 10^-3): "
            f"each step changes it by {10 ** peak:.0%} of its spread")
    if others:
        text += f"; also above 10^{thresholds.update_high:g}: " + ", ".join(f"`{n}`" for n in others)
    return [Finding("update_too_large", name, high[0][0], high[-1][0], text,
                    "the learning rate is too large: lower it until the ratio is near 10^-3",
                    {"update_data": peak, "parameters": [n for _, n, _ in flagged]})]


def _dead(records, order, thresholds):
    found = []
    if not records:
        return found
    output = order[-1] if order else None
    for name in order:
        series = [(r.step, r.modules[name].dead) for r in records
                  if name in r.modules and r.modules[name].dead is not None]
        if not series or series[-1][0] != records[-1].step:
            continue
        run = []
        for step, dead in reversed(series):
            if (dead < 1.0) if name == output else (dead <= thresholds.dead_fraction):
                break
            run.append((step, dead))
        if not run:
            continue
        first, dead = run[-1][0], run[0][1]
        kind = series and next(r.modules[name].kind for r in records if name in r.modules)
        if name == output:
            found.append(Finding(
                "dead_output", name, first, records[-1].step,
                f"the output {kind} (`{name}`) has been dead for every sample since step {first}: its gradient is "
                f"zero, so nothing upstream learns",
                "remove the ReLU on the output (a regression output is linear) or use a loss on logits",
                {"dead": dead}))
        else:
            found.append(Finding(
                "dead_units", name, first, records[-1].step,
                f"{dead:.0%} of the units of {_label(name, records)} have given no positive output for any sample "
                f"since step {first}: they pass no gradient",
                "lower the learning rate, use a Kaiming init, or a LeakyReLU", {"dead": dead}))
    return found


def _saturated(records, order, thresholds):
    found = []
    for name in order[:-1]:
        series = [(r.step, r.modules[name].saturated) for r in records
                  if name in r.modules and r.modules[name].saturated is not None]
        high = [(s, v) for s, v in series if v > thresholds.saturated_fraction]
        if series and len(high) * 2 >= len(series):
            peak = max(v for _, v in high)
            kind = records[-1].modules.get(name) or next(r.modules[name] for r in records if name in r.modules)
            found.append(Finding(
                "saturated", name, high[0][0], high[-1][0],
                f"{peak:.0%} of the {kind.kind.lower()} units in `{name}` are saturated (|y| beyond "
                f"{thresholds.saturation:g} of their range): their derivative is nearly zero",
                "scale the initial weights down (nn.init.xavier_uniform_), normalise the inputs, or lower the "
                "learning rate", {"saturated": peak}))
    return found


def _gradient_ratio(records, weights, thresholds):
    weights = [n for n in weights if any(n in r.params for r in records)]
    if len(weights) < 2:
        return []
    first = weights[0]
    last = weights[-1]
    low, high = [], []  # (step, the first weight's gradient norm / the largest's or the last's, that one's name)
    for r in records:
        norms = [(r.params[n].grad_norm, n) for n in weights if n in r.params]
        if first not in r.params or not all(math.isfinite(v) for v, _ in norms):
            continue
        top, top_name = max(norms)
        if top > 0 and r.params[first].grad_norm / top < thresholds.vanishing_ratio:
            low.append((r.step, r.params[first].grad_norm / top, top_name))
        end = r.params[last].grad_norm if last in r.params else 0
        if end > 0 and r.params[first].grad_norm / end > thresholds.exploding_ratio:
            high.append((r.step, r.params[first].grad_norm / end, last))
    if low:
        step, ratio, top = min(low, key=lambda t: t[1])
        return [Finding(
            "vanishing_gradient", first, low[0][0], low[-1][0],
            f"the gradient norm of `{first}` is {ratio:.0e} of `{top}`'s (step {step}): vanishing, the first "
            f"layers hardly learn",
            "use ReLU-family activations or fewer layers, an init that keeps the scale (Xavier / Kaiming), "
            "normalisation layers or residual connections", {"ratio": ratio, "largest": top, "step": step})]
    if high:
        step, ratio, top = max(high, key=lambda t: t[1])
        return [Finding(
            "exploding_gradient", first, high[0][0], high[-1][0],
            f"the gradient norm of `{first}` is {ratio:.0e} times `{top}`'s (step {step}): exploding",
            "scale the initial weights down, add normalisation, or clip the gradients",
            {"ratio": ratio, "largest": top, "step": step})]
    return []


def _plateau(losses, thresholds):
    steps = sorted(s for s, v in losses.items() if v is not None)
    if len(steps) <= thresholds.plateau_steps:
        return []
    best, best_step = None, steps[0]
    for s in steps:
        v = losses[s]
        if best is None or v < best - thresholds.plateau_tolerance * abs(best):
            best, best_step = v, s
    stalled = steps[-1] - best_step
    if stalled < thresholds.plateau_steps:
        return []
    return [Finding(
        "loss_plateau", "loss", best_step, steps[-1],
        f"the loss has not decreased for {stalled} steps (best {best:.4g} at step {best_step})",
        "check that gradients reach the parameters (dead or saturated layers above), then the learning rate "
        "(too small, or too large and bouncing)", {"best": best, "steps": stalled})]
