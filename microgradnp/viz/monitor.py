"""``mg.viz.Monitor``: watch a network train, and say which layer went wrong, at which step, and what to try.

    with mg.viz.Monitor(model) as monitor:      # hooks live only inside the block
        for x, y in batches:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    print(monitor)                              # the findings
    monitor.plot("figures")                     # PNG and SVG figures; monitor.report("run.html") one page

How it sees a step without touching the loop: a forward pre-hook on the model starts a step (a forward
under ``no_grad`` does not count); forward hooks on the leaf modules record their outputs; a tensor hook
on each parameter records its gradient during ``backward`` and, on recorded steps, keeps a copy of its
values; at the next step's forward (or ``Monitor.step``, or on exit) the values are compared with that
copy: the difference is the change the optimizer made. The loss is the output of ``backward``, seen
through ``autograd.engine.backward_listeners``. The model is duck-typed: it needs ``named_modules()``,
``named_parameters()`` and the modules' ``register_forward_hook`` / ``register_forward_pre_hook``.

Steps are numbered from 1; with ``every=k`` steps 1, 1 + k, 1 + 2k... are recorded (the loss is read at
every step: one float). On other steps every hook returns at once.
"""
import math

from .. import grad_mode
from ..autograd import engine
from ..tensor import Tensor
from . import monitor_findings, monitor_records
from .monitor_findings import MonitorThresholds


class Monitor:
    """Record per-module activation statistics, per-parameter gradient and update statistics and the loss
    of a training loop, and turn them into findings, figures and an HTML report.

    ``model``: the network (a ``nn.Module`` or anything with the same hook methods). ``every``: record one
    step in ``every``. ``thresholds``: a ``MonitorThresholds``. ``histogram_steps``: the steps whose
    outputs and gradients are kept for histograms (default: the first and the last recorded step).
    """

    def __init__(self, model, every=1, thresholds=None, histogram_steps=None):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"Monitor: every must be a positive integer, got {every!r}")
        for method in ("named_modules", "named_parameters", "register_forward_hook", "register_forward_pre_hook"):
            if not callable(getattr(model, method, None)):
                raise TypeError(f"Monitor: the model needs a {method}() method (an nn.Module has it); got "
                                f"{type(model).__name__}")
        self.model = model
        self.every = every
        self.thresholds = MonitorThresholds() if thresholds is None else thresholds
        self.histogram_steps = None if histogram_steps is None else set(histogram_steps)
        self.records = []        # StepRecord per recorded step
        self.losses = {}         # step -> loss, every step
        self.samples = {}        # step -> {"outputs": {module: values}, "grads": {param: values}}
        self.order = []          # module names in the order they ran
        self.param_order = [name for name, _ in model.named_parameters()]
        self.weights = [name for name, p in model.named_parameters() if len(getattr(p, "shape", ())) >= 2]
        self.last_loss = None    # the loss tensor of the last recorded step, for the graph drawing
        self._step = 0
        self._recording = False
        self._explicit = False
        self._current = None
        self._snapshots = {}     # parameter name -> (its values after backward, the step)
        self._handles = []
        self._attached = False

    # ---- attaching ---------------------------------------------------------------------------------
    def attach(self):
        """Register the hooks and the backward listener (``with monitor:`` does this); returns self."""
        if self._attached:
            return self
        model = self.model
        self._handles.append(model.register_forward_pre_hook(self._begin))
        params = dict(model.named_parameters())
        for name, module in model.named_modules():
            if any(True for _ in _children(module)):
                continue  # a container: its last child's output is its own
            self._handles.append(module.register_forward_hook(self._output_hook(name or "model")))
        for name, param in params.items():
            if getattr(param, "requires_grad", False):
                self._handles.append(param.register_hook(self._grad_hook(name, param)))
        engine.backward_listeners.append(self._on_backward)
        self._attached = True
        return self

    def detach(self):
        """Remove every hook and the listener, and finish the last step's update ratios."""
        if not self._attached:
            return
        self._finish_updates()
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._on_backward in engine.backward_listeners:
            engine.backward_listeners.remove(self._on_backward)
        self._attached = False

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc_info):
        self.detach()

    # ---- the step ----------------------------------------------------------------------------------
    def step(self, loss=None):
        """Mark the end of a step (call it after ``optimizer.step()``), with its loss if given.

        Once called, steps are counted by these calls instead of by the model's forwards, so a step may
        run the model several times.
        """
        if not self._explicit and self._step > 1:
            self._merge_into_first_step()
        if loss is not None:
            value = float(loss.item() if isinstance(loss, Tensor) else loss)
            self.losses[max(self._step, 1)] = value
            if self._recording:
                self._record().loss = value
        self._explicit = True
        self._finish_updates()
        self._next_step()

    def _merge_into_first_step(self):
        # the first call of step(): the forwards before it, counted as steps, were one step
        merged = monitor_records.StepRecord(1)
        for record in self.records:
            merged.loss = record.loss if record.loss is not None else merged.loss
            merged.modules.update(record.modules)
            merged.params.update(record.params)
        self.records = [merged] if self.records else []
        self._current = merged if self.records else None
        last = [v for _, v in sorted(self.losses.items())]
        self.losses = {1: last[-1]} if last else {}
        self.samples = {1: self.samples[max(self.samples)]} if self.samples else {}
        self._snapshots = {name: (values, 1) for name, (values, _) in self._snapshots.items()}
        self._step, self._recording = 1, True

    def _next_step(self):
        self._step += 1
        self._recording = (self._step - 1) % self.every == 0
        self._current = None

    def _begin(self, module, args):
        if self._explicit or not grad_mode.is_grad_enabled():
            return None
        if self._snapshots:
            self._finish_updates()
        self._next_step()
        return None

    def _record(self):
        if self._current is None:
            if self._step == 0:
                self._next_step()
            self._current = monitor_records.StepRecord(self._step)
            self.records.append(self._current)
        return self._current

    def _keep_sample(self, step):
        if self.histogram_steps is not None:
            return step in self.histogram_steps
        return True  # the first recorded step is kept, and the latest replaces the one before it

    def _sample_slot(self):
        step = self._step
        slot = self.samples.get(step)
        if slot is None:
            if self.histogram_steps is None:
                first = self.records[0].step if self.records else step
                for old in [s for s in self.samples if s not in (first, step)]:
                    del self.samples[old]
            slot = self.samples[step] = {"outputs": {}, "grads": {}}
        return slot

    def _output_hook(self, name):
        def hook(module, args, output):
            if not self._recording:
                return None
            if not isinstance(output, Tensor):
                output = next((o for o in output if isinstance(o, Tensor)), None) if isinstance(
                    output, (tuple, list)) else None
                if output is None:
                    return None
            a = output._array
            if a.dtype.kind != "f":
                return None
            if name not in self.order:
                self.order.append(name)
            self._record().modules[name] = monitor_records.module_record(
                type(module).__name__, a, self.thresholds.saturation)
            if self._keep_sample(self._step):
                self._sample_slot()["outputs"][name] = monitor_records.sample(a)
            return None
        return hook

    def _grad_hook(self, name, param):
        def hook(grad):
            if not self._recording:
                return None
            g, p = grad._array, param._array
            self._record().params[name] = monitor_records.param_record(g, p)
            self._snapshots[name] = (p.copy(), self._step)
            if self._keep_sample(self._step):
                self._sample_slot()["grads"][name] = monitor_records.sample(g)
            return None
        return hook

    def _on_backward(self, outputs):
        if len(outputs) != 1 or outputs[0]._array.size != 1:
            return
        loss = outputs[0]
        if self._step == 0:
            self._next_step()
        value = float(loss._array)
        self.losses[self._step] = value
        if self._recording:
            self._record().loss = value
            self.last_loss = loss

    def _finish_updates(self):
        if not self._snapshots:
            return
        params = dict(self.model.named_parameters())
        by_step = {r.step: r for r in self.records[-2:]}
        for name, (before, step) in self._snapshots.items():
            record = by_step.get(step)
            if record is not None and name in record.params and name in params:
                record.params[name].update_data = monitor_records.update_ratio(before, params[name]._array)
        self._snapshots = {}

    # ---- results -----------------------------------------------------------------------------------
    @property
    def findings(self):
        """The list of ``Finding``s of the steps recorded so far (computed when asked)."""
        return monitor_findings.find(self.records, self.losses, self.order, self.param_order, self.thresholds,
                                     self.weights)

    def findings_text(self):
        """The findings, one per line, or a line saying that none was found."""
        findings = self.findings
        steps = max(self.losses) if self.losses else self._step
        if not findings:
            return f"Monitor: no problem found in {steps} steps ({len(self.records)} recorded)."
        lines = [f"Monitor: {len(findings)} finding{'s' if len(findings) > 1 else ''} in {steps} steps "
                 f"({len(self.records)} recorded):"]
        lines += [f"  - {f}" for f in findings]
        return "\n".join(lines)

    def __str__(self):
        return self.findings_text()

    def __repr__(self):
        return (f"<Monitor of {type(self.model).__name__}: every={self.every}, {len(self.records)} steps recorded"
                f"{', attached' if self._attached else ''}>")

    def series(self, kind, name):
        """(steps, values) of one recorded statistic over the recorded steps: ``kind`` is a field of
        ``ModuleRecord`` (``"mean"``, ``"dead"``...) for a module name, or of ``ParamRecord``
        (``"grad_norm"``, ``"update_data"``...) for a parameter name."""
        steps, values = [], []
        for r in self.records:
            item = r.modules.get(name) if name in r.modules else r.params.get(name)
            value = None if item is None else getattr(item, kind, None)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                steps.append(r.step)
                values.append(value)
        return steps, values

    def plot(self, folder, formats=("png", "svg")):
        """Write the figures into ``folder`` (PNG and SVG); returns the paths. Needs matplotlib."""
        from .monitor_figures import write_figures
        return write_figures(self, folder, formats)

    def report(self, path):
        """Write one self-contained HTML page: the findings, the figures and the last step's graph."""
        from .monitor_figures import write_report
        return write_report(self, path)

    def _repr_html_(self):
        from .monitor_figures import html_body
        return html_body(self, graph=False)


def _children(module):
    children = getattr(module, "children", None)
    return children() if callable(children) else ()
