"""The printed report: one table per workload, the loss agreement, and the issue's targets."""
from .summary import BASELINE


def _number(value, digits):
    return "-" if value is None else f"{value:,.{digits}f}"


def _spread(values, digits):
    if len(values) < 2:
        return ""
    return f"{min(values):,.{digits}f}..{max(values):,.{digits}f}"


def workload_rows(module, summary):
    """[(metric label, implementation, median, spread, ratio text)] for one workload."""
    rows = []
    for name, metric in module.METRICS.items():
        label = f"{metric.label} ({metric.unit})"
        for implementation in summary.runs:
            values = summary.values(implementation, name)
            if not values:
                continue
            ratio_text = ""
            if metric.ratio and BASELINE in summary.runs:
                ratios = summary.ratios(implementation, name)
                if ratios:
                    ratio_text = f"{summary.ratio(implementation, name):.2f}x"
                    if len(ratios) > 1 and implementation != BASELINE:
                        ratio_text += f" ({min(ratios):.2f}..{max(ratios):.2f})"
            rows.append((label, implementation, _number(summary.median(implementation, name), metric.digits),
                         _spread(values, metric.digits), ratio_text))
            label = ""
    return rows


def _agreement(summary):
    differences = summary.check_differences()
    if not differences:
        return ""
    checked = ", ".join(sorted({k for runs in summary.runs.values() for run in runs for k in run["check"]}))
    parts = ", ".join(f"{name} {value:.1e}" for name, value in differences.items())
    return f"max relative difference from {BASELINE} ({checked}): {parts}"


HEADER = ("metric", "implementation", "median", "min..max", f"vs {BASELINE} (min..max)")


def text_table(module, summary, repeats):
    """The workload's table as aligned plain text."""
    rows = workload_rows(module, summary)
    widths = [max(len(str(row[i])) for row in rows + [HEADER]) for i in range(len(HEADER))]
    fresh = ", a fresh process each" if module.FRESH_PROCESS else ""
    lines = [f"{summary.workload}: {module.TITLE}   [{repeats} repeat{'s' if repeats > 1 else ''}{fresh}]"]
    for row in [HEADER] + rows:
        cells = [str(row[0]).ljust(widths[0]), str(row[1]).ljust(widths[1])]
        cells += [str(cell).rjust(width) for cell, width in zip(row[2:], widths[2:])]
        lines.append("  " + "  ".join(cells).rstrip())
    agreement = _agreement(summary)
    if agreement:
        lines.append("  " + agreement)
    for implementation, reason in summary.skipped.items():
        lines.append(f"  {implementation} skipped: {reason}")
    for implementation, runs in summary.runs.items():
        for run in runs:
            if "samples_mib" in run:
                lines.append(f"  {implementation} RSS every 1000 steps (MiB): {run['samples_mib']}")
    return "\n".join(lines)


def markdown_table(modules, summaries):
    """All workloads in one Markdown table (for docs/benchmarks.md)."""
    lines = ["| workload | metric | implementation | median | min..max | vs NumPy |",
             "|---|---|---|---:|---:|---:|"]
    for name, summary in summaries.items():
        workload = name
        for label, implementation, median, spread, ratio in workload_rows(modules[name], summary):
            lines.append(f"| {workload} | {label} | {implementation} | {median} | {spread} | {ratio} |")
            workload = ""
    return "\n".join(lines)


def targets_table(modules, summaries, markdown=False):
    """The issue's targets with what was measured; plain text or Markdown."""
    rows = []
    for name, summary in summaries.items():
        rows.extend(modules[name].targets(summary))
    if not rows:
        return ""
    if markdown:
        lines = ["| target | measured | met |", "|---|---:|---|"]
        lines += [f"| {target} | {measured} | {'yes' if met else '**no**'} |" for target, measured, met in rows]
        return "\n".join(lines)
    width = max(len(target) for target, _, _ in rows)
    lines = ["targets (microgradnp):"]
    lines += [f"  {target.ljust(width)}  {measured:>14}  {'met' if met else 'MISSED'}"
              for target, measured, met in rows]
    return "\n".join(lines)
