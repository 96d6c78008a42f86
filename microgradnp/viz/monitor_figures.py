"""``Monitor``'s pictures (matplotlib, imported only here and only when asked) and its HTML report."""
import base64
import html
import io
import math
import os
import warnings

import numpy as np

FIGURES = ("loss", "activations", "gradients", "update_ratio", "dead_saturated")
"""The figures ``Monitor.plot`` writes, in this order, as ``<name>.png`` and ``<name>.svg``."""


def pyplot():
    """matplotlib.pyplot on the Agg backend, or an ImportError that says how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("Monitor's figures need matplotlib: pip install matplotlib") from None
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _finite(values):
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def loss_figure(monitor, plt):
    fig, ax = plt.subplots(figsize=(6, 3.2))
    steps = sorted(monitor.losses)
    values = np.array([monitor.losses[s] for s in steps], dtype=np.float64)
    ok = np.isfinite(values)
    ax.plot(np.array(steps)[ok], values[ok], color="#1f77b4", lw=1.2)
    if ok.any() and (values[ok] > 0).all():
        ax.set_yscale("log")
    if not ok.all():
        first = steps[int(np.argmin(ok))]
        ax.axvline(first, color="#d62728", ls="--", lw=1)
        ax.text(first, 0.95, f" loss not finite from step {first}", color="#d62728", va="top",
                transform=ax.get_xaxis_transform())
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _histograms(monitor, plt, key, title):
    steps = sorted(monitor.samples)
    names = []
    for step in steps:
        names += [n for n in monitor.samples[step][key] if n not in names]
    if key == "grads":
        names = [n for n in monitor.param_order if n in names]
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(max(4, 2.4 * len(names)), 2.8), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    kinds = {}
    for r in monitor.records:
        kinds.update({n: m.kind for n, m in r.modules.items()})
    for ax, name in zip(axes[0], names):
        for i, step in enumerate(steps):
            values = monitor.samples[step][key].get(name)
            values = None if values is None else _finite(values)
            if values is None or not values.size:
                continue
            # each step's histogram scaled to its own peak: a wide early one stays visible beside a narrow
            # late spike, which at a shared scale would flatten it to the axis
            counts, edges = np.histogram(values, bins=50)
            ax.stairs(counts / max(counts.max(), 1), edges, color=colors[i % len(colors)], label=f"step {step}")
        label = f"{name} ({kinds[name]})" if name in kinds else name
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    if not names:
        axes[0][0].text(0.5, 0.5, "nothing recorded", ha="center", transform=axes[0][0].transAxes)
    else:
        axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{title} (each step's histogram scaled to its own peak)", fontsize=10)
    fig.tight_layout()
    return fig


def update_figure(monitor, plt):
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name in monitor.param_order:
        steps, values = monitor.series("update_data", name)
        pairs = [(s, v) for s, v in zip(steps, values) if math.isfinite(v)]
        if pairs:
            ax.plot(*zip(*pairs), lw=1.2, label=name, ls="-" if name in monitor.weights else ":")
    ax.axhline(-3, color="k", ls="--", lw=1)
    ax.text(0.01, -3, " healthy: about 10^-3", va="bottom", transform=ax.get_yaxis_transform(), fontsize=8)
    ax.set_xlabel("step")
    ax.set_ylabel("log10(std(update) / std(param))")
    ax.set_title("Update-to-data ratio per parameter")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def dead_saturated_figure(monitor, plt):
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name in monitor.order:
        for kind, style, word in (("dead", "-", "dead"), ("saturated", "--", "saturated")):
            steps, values = monitor.series(kind, name)
            if steps:
                ax.plot(steps, values, ls=style, lw=1.2, label=f"{name}: {word}")
    if not ax.get_legend_handles_labels()[0]:
        ax.text(0.5, 0.5, "no ReLU, Tanh or Sigmoid layer", ha="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize=7, loc="best")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("step")
    ax.set_ylabel("fraction")
    ax.set_title("Dead units (ReLU) and saturated outputs (Tanh, Sigmoid)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def figures(monitor):
    """{name: matplotlib Figure} for the names in ``FIGURES``; the caller closes them."""
    plt = pyplot()
    return {
        "loss": loss_figure(monitor, plt),
        "activations": _histograms(monitor, plt, "outputs", "Layer outputs"),
        "gradients": _histograms(monitor, plt, "grads", "Parameter gradients"),
        "update_ratio": update_figure(monitor, plt),
        "dead_saturated": dead_saturated_figure(monitor, plt),
    }


def write_figures(monitor, folder, formats=("png", "svg")):
    """Write every figure into ``folder`` in each format; returns the paths."""
    plt = pyplot()
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, fig in figures(monitor).items():
        for fmt in formats:
            path = os.path.join(folder, f"{name}.{fmt}")
            fig.savefig(path, dpi=100)
            paths.append(path)
        plt.close(fig)
    return paths


def _png_base64(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _findings_html(monitor):
    findings = monitor.findings
    if not findings:
        return f"<p>{html.escape(monitor.findings_text())}</p>"
    items = "".join(f"<li>{html.escape(str(f))}</li>" for f in findings)
    return f"<p>{html.escape(monitor.findings_text().splitlines()[0])}</p><ul>{items}</ul>"


def _graph_svg(monitor):
    from .draw import draw_graph
    if monitor.last_loss is None:
        return "<p>(no loss recorded: no graph)</p>"
    try:
        with warnings.catch_warnings():  # drawn after backward on purpose: the structure, not the values
            warnings.simplefilter("ignore")
            svg = draw_graph(monitor.last_loss, params=monitor.model).pipe(format="svg")
    except Exception as e:  # no renderer: the report still has everything else
        return f"<p>(graph not drawn: {html.escape(str(e))})</p>"
    svg = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    return svg[svg.find("<svg"):]


def html_body(monitor, graph=True):
    """The findings and the figures (PNG, base64 inline) as an HTML fragment; the graph too if ``graph``."""
    parts = ["<div class='microgradnp-monitor'>", "<h3>Findings</h3>", _findings_html(monitor)]
    try:
        plt = pyplot()
    except ImportError as e:
        parts.append(f"<p>({html.escape(str(e))})</p>")
    else:
        for name, fig in figures(monitor).items():
            parts.append(f"<img alt='{name}' src='data:image/png;base64,{_png_base64(fig)}'/>")
            plt.close(fig)
    if graph:
        step = monitor.records[-1].step if monitor.records else None
        parts += [f"<h3>Graph of the last recorded step ({step})</h3>", _graph_svg(monitor)]
    parts.append("</div>")
    return "\n".join(parts)


def write_report(monitor, path):
    """One self-contained HTML page: findings, figures and the last recorded step's graph; returns ``path``."""
    page = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>microgradnp Monitor report</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}img{max-width:100%}</style>"
            "</head><body><h2>microgradnp Monitor report</h2>\n" + html_body(monitor, graph=True)
            + "\n</body></html>\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path
