"""``mg.viz.Monitor``: watch a network train, and say which layer went wrong, at which step, and what to try.

    with mg.viz.Monitor(model) as monitor:      # hooks live only inside the block
        for x, y in batches:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    print(monitor)                              # the findings
    monitor.plot("figures")                     # PNG and SVG figures; monitor.report("run.html") one page

How it sees a step without touching the loop: each ``backward`` (seen through
``autograd.engine.backward_listeners``, which also gives the loss) ends a step. Only for a recorded step
are hooks registered: forward hooks on the leaf modules for its forward, and a tensor hook on each
parameter for its backward, which records the gradient and keeps a copy of the values; at the next
``backward`` (or ``Monitor.step``, or on exit) the values are compared with that copy: the difference
is the change the optimizer made. On other steps nothing but the listener is registered, so the modules
keep their fast call path. The model is duck-typed: it needs ``named_modules()``, ``named_parameters()``,
the modules' ``register_forward_hook`` and the parameters' ``register_hook``.

Steps are numbered from 1; with ``every=k`` steps 1, 1 + k, 1 + 2k... are recorded (the loss is read at
every step: one float).
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
        for method in ("named_modules", "named_parameters", "register_forward_hook"):
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
        self._step = 0           # automatic steps: the number of backward calls seen
        self._explicit = False
        self._snapshots = {}     # parameter name -> (its values after backward, the step)
        self._module_handles = []
        self._param_handles = []
        self._attached = False

    # ---- attaching ---------------------------------------------------------------------------------
    def attach(self):
        """Start watching (``with monitor:`` does this); returns self."""
        if self._attached:
            return self
        engine.backward_listeners.append(self._on_backward)
        self._attached = True
        self._set_module_hooks(self._is_recorded(self._step + 1))
        return self

    def detach(self):
        """Stop watching: remove every hook and the listener, and finish the last step's update ratios."""
        if not self._attached:
            return
        self._finish_updates()
        self._set_module_hooks(False)
        self._set_param_hooks(False)
        if self._on_backward in engine.backward_listeners:
            engine.backward_listeners.remove(self._on_backward)
        self._attached = False

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc_info):
        self.detach()

    def _is_recorded(self, step):
        return (step - 1) % self.every == 0

    def _set_module_hooks(self, live):
        # forward hooks on the leaf modules, registered only for the forward of a recorded step: on other
        # steps no hook is live, so the modules keep their fast call path
        if live and not self._module_handles:
            for name, module in self.model.named_modules():
                if not any(True for _ in _children(module)):  # a container's output is its last child's
                    self._module_handles.append(module.register_forward_hook(self._output_hook(name or "model")))
        elif not live and self._module_handles:
            for handle in self._module_handles:
                handle.remove()
            self._module_handles = []

    def _set_param_hooks(self, live):
        if live and not self._param_handles:
            for name, param in self.model.named_parameters():
                if getattr(param, "requires_grad", False):
                    self._param_handles.append(param.register_hook(self._grad_hook(name, param)))
        elif not live and self._param_handles:
            for handle in self._param_handles:
                handle.remove()
            self._param_handles = []

    # ---- the step ----------------------------------------------------------------------------------
    def step(self, loss=None):
        """Mark the end of a step (call it after ``optimizer.step()``), with its loss if given.

        Once called, steps are counted by these calls instead of by ``backward`` calls, so a step may run
        the model and ``backward`` several times.
        """
        if not self._explicit and self._step > 1:
            self._merge_into_first_step()
        if self._step == 0:
            self._step = 1
        if loss is not None:
            value = float(loss.item() if isinstance(loss, Tensor) else loss)
            self.losses[self._step] = value
            if self._is_recorded(self._step):
                self._record(self._step).loss = value
        self._explicit = True
        self._finish_updates()
        self._step += 1
        if self._attached:
            recorded = self._is_recorded(self._step)
            self._set_module_hooks(recorded)
            self._set_param_hooks(recorded)

    def _merge_into_first_step(self):
        # the first call of step(): the backward calls before it, counted as steps, were one step
        merged = monitor_records.StepRecord(1)
        for record in self.records:
            merged.loss = record.loss if record.loss is not None else merged.loss
            merged.modules.update(record.modules)
            merged.params.update(record.params)
        self.records = [merged] if self.records else []
        last = [v for _, v in sorted(self.losses.items())]
        self.losses = {1: last[-1]} if last else {}
        self.samples = {1: self.samples[max(self.samples)]} if self.samples else {}
        self._snapshots = {name: (values, 1) for name, (values, _) in self._snapshots.items()}
        self._step = 1

    def _on_backward(self, outputs):
        # automatic steps: each backward ends the step whose forward just ran; in explicit mode step() does
        if not self._explicit:
            self._finish_updates()  # the optimizer has run since the last backward
            self._step += 1
        step = self._step
        recorded = self._is_recorded(step)
        if len(outputs) == 1 and outputs[0]._array.size == 1:
            value = float(outputs[0]._array)
            self.losses[step] = value
            if recorded:
                self._record(step).loss = value
                self.last_loss = outputs[0]
        self._set_param_hooks(recorded)  # they fire during this backward
        if not self._explicit:
            self._set_module_hooks(self._is_recorded(step + 1))  # for the next step's forward

    def _record(self, step):
        if not self.records or self.records[-1].step != step:
            self.records.append(monitor_records.StepRecord(step))
        return self.records[-1]

    def _keep_sample(self, step):
        if self.histogram_steps is not None:
            return step in self.histogram_steps
        return True  # the first recorded step is kept, and the latest replaces the one before it

    def _sample_slot(self, step):
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
            if not grad_mode.is_grad_enabled():
                return None  # an evaluation under no_grad is not the training step
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
            step = self._step if self._explicit else self._step + 1  # its backward has not run yet
            self._record(step).modules[name] = monitor_records.module_record(
                type(module).__name__, a, self.thresholds.saturation)
            if self._keep_sample(step):
                self._sample_slot(step)["outputs"][name] = monitor_records.sample(a)
            return None
        return hook

    def _grad_hook(self, name, param):
        def hook(grad):
            step = self._step
            g, p = grad._array, param._array
            self._record(step).params[name] = monitor_records.param_record(g, p)
            # copied in the parameter's own layout (a large Linear weight is Fortran-ordered): the subtraction
            # at the next step then runs in memory order, several times faster than across layouts
            self._snapshots[name] = (p.copy(order="K"), step)
            if self._keep_sample(step):
                self._sample_slot(step)["grads"][name] = monitor_records.sample(g)
            return None
        return hook

    def _finish_updates(self):
        if not self._snapshots:
            return
        params = dict(self.model.named_parameters())
        by_step = {r.step: r for r in self.records[-2:]}
        for name, (before, step) in self._snapshots.items():
            record = by_step.get(step)
            if record is not None and name in record.params and name in params:
                entry = record.params[name]
                entry.update_data = monitor_records.update_ratio(before, params[name]._array, entry.param_std)
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
