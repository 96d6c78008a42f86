"""What every example script shares: its command line, section banners, progress lines, the gradient
comparison table, and writing the graph (SVG) and plots (PNG) to the output folder.

The scripts import this module by name, which works because Python puts a script's own folder first
on ``sys.path``; the test suite adds ``examples/`` to the path for the same reason.
"""
import argparse
import os
import subprocess

import numpy as np

import microgradnp as mg


def description(doc):
    """The first paragraph of a script's docstring, as one line: what ``--help`` shows above the options."""
    return " ".join(doc.strip().split("\n\n")[0].split())


def parse_args(argv, doc, name, epochs, seed=0):
    """Parse ``--epochs``, ``--seed`` and ``--out`` (default ``out/<name>``) and create the output folder;
    ``--help`` shows the first paragraph of ``doc``, the script's docstring."""
    parser = argparse.ArgumentParser(description=description(doc))
    parser.add_argument("--epochs", type=int, default=epochs,
                        help=f"training epochs for the networks in this example (default {epochs})")
    parser.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")
    parser.add_argument("--out", default=os.path.join("out", name),
                        help=f"folder for the graph SVG and the plots (default out/{name})")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    os.makedirs(args.out, exist_ok=True)
    return args


def banner(title):
    """Print a section title that stands out in a terminal."""
    print()
    print("=" * 78)
    print(title)
    print("=" * 78)


class Progress:
    """Prints one line at every tenth of a loop (and at its end), so a long run shows it is alive."""

    def __init__(self, total, label="epoch", updates=10):
        self.total = total
        self.label = label
        self.every = max(1, total // updates)

    def __call__(self, step, **values):
        """Report ``step`` (1-based) with named values, when it falls on a reporting step."""
        if step % self.every and step != self.total:
            return
        shown = "  ".join(f"{key} {_fmt(value)}" for key, value in values.items())
        width = len(str(self.total))
        print(f"  {self.label} {step:>{width}}/{self.total}  {shown}", flush=True)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def compare_gradients(rows, rtol=1e-5, atol=1e-8):
    """Print hand-written gradients next to the ones microgradnp derives, one row per parameter.

    ``rows`` is a list of ``(name, hand_written, derived)``. A row matches when the two agree to
    ``rtol``/``atol``; otherwise the table says how far apart they are and whether the hand-written one
    is the derived one times a constant (a missing 1/N, a sign error) or something else entirely.
    Returns ``{name: matches}``.
    """
    print(f"  {'parameter':<18} {'shape':<10} {'max |hand - derived|':>21}  verdict")
    verdicts = {}
    for name, hand, derived in rows:
        hand = np.asarray(hand, dtype=np.float64)
        derived = np.asarray(derived, dtype=np.float64)
        if hand.shape != derived.shape:
            hand = np.broadcast_to(hand, derived.shape)
        matches = bool(np.allclose(hand, derived, rtol=rtol, atol=atol))
        verdicts[name] = matches
        worst = float(np.max(np.abs(hand - derived))) if hand.size else 0.0
        verdict = "match" if matches else "WRONG: " + describe_ratio(hand, derived)
        print(f"  {name:<18} {str(derived.shape):<10} {worst:>21.3g}  {verdict}")
    return verdicts


def describe_ratio(hand, derived):
    """Say how ``hand`` relates to ``derived``: a constant multiple, or a ratio that varies."""
    if hand.size == 1:
        return f"hand-written {hand.item():.4g}, derived {derived.item():.4g}"
    nonzero = np.abs(derived) > 1e-12
    stray = int((~nonzero & (np.abs(hand) > 1e-12)).sum())
    if not nonzero.any():
        return f"the derived gradient is 0, the hand-written one is not ({stray} entries)"
    ratio = hand[nonzero] / derived[nonzero]
    if stray:
        return (f"nonzero at {stray} entries where the derived gradient is 0; elsewhere hand / derived "
                f"ranges from {ratio.min():.3g} to {ratio.max():.3g}")
    if np.allclose(ratio, ratio[0], rtol=1e-4):
        return f"hand-written = {ratio[0]:.4g} x derived everywhere"
    return f"hand / derived ranges from {ratio.min():.3g} to {ratio.max():.3g}"


def write_graph(roots, out_dir, name, params=None, **draw_options):
    """Draw the graph behind ``roots`` with ``mg.viz`` and write ``<out_dir>/<name>.svg``.

    Call it before ``backward()`` frees the graph, so the drawing can show every intermediate gradient.
    ``draw_options`` go to ``mg.viz.draw_graph`` (``names=``, ``max_depth=``...).
    When SVG rendering is unavailable (no ``dot`` and no in-process Graphviz) the DOT source is written
    instead, and the message says how to render it. Returns the path written.
    """
    roots = roots if isinstance(roots, (list, tuple)) else [roots]
    graph = mg.viz.draw_graph(*roots, params=params, **draw_options)
    stem = os.path.join(out_dir, name)
    try:
        path = os.fspath(mg.viz.render(graph, stem + ".svg", format="svg"))
    except (mg.viz.RenderBackendMissing, OSError, subprocess.CalledProcessError) as error:
        path = stem + ".dot"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(graph.source)
        print(f"  SVG rendering is unavailable ({type(error).__name__}: {error}); wrote the DOT source to "
              f"{path} instead: reinstall microgradnp (its dependencies include the in-process renderer) or run "
              f"`dot -Tsvg {path} -o {stem}.svg`")
        return path
    findings = getattr(graph, "findings", None)
    print(f"  graph written to {path}" + (f" ({len(findings)} gradient finding(s) marked)" if findings else ""))
    return path


def pyplot():
    """matplotlib.pyplot with a file-only backend, or None (with a note) when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        print("  matplotlib is not installed, so no PNG plots were written "
              "(pip install 'microgradnp[examples]' to get them)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_curves(path, curves, title, ylabel="loss", logy=True):
    """Write a PNG of one line per ``{label: values}`` entry; returns the path, or None without matplotlib."""
    plt = pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, values in curves.items():
        values = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"  plot written to {path}")
    return path
