"""Medians, spreads and side-by-side ratios of one workload's repeats."""
import statistics

BASELINE = "numpy"


class Summary:
    """The results of one workload: ``runs[implementation]`` is a list of per-repeat result dicts.

    Repeats are interleaved between implementations, so repeat ``r`` of every implementation ran at
    nearly the same time; a ratio is taken within each repeat and the median of those is reported.
    """

    def __init__(self, workload, runs, skipped):
        self.workload = workload
        self.runs = runs
        self.skipped = skipped

    def values(self, implementation, metric):
        """Every repeat's value of ``metric``, or [] when the implementation did not run."""
        return [run["metrics"][metric] for run in self.runs.get(implementation, [])]

    def median(self, implementation, metric):
        """The median over repeats, or None."""
        values = self.values(implementation, metric)
        return statistics.median(values) if values else None

    def ratios(self, implementation, metric, other=BASELINE):
        """Per-repeat ratios to ``other``'s value (the baseline's by default) in the same repeat."""
        mine = self.values(implementation, metric)
        base = self.values(other, metric)
        return [a / b for a, b in zip(mine, base) if b]

    def ratio(self, implementation, metric):
        """The median of the per-repeat ratios to the baseline, or None."""
        ratios = self.ratios(implementation, metric)
        return statistics.median(ratios) if ratios else None

    def check_differences(self):
        """``{implementation: max relative difference}`` of the check values (losses, outputs, gradients)
        against the baseline's, over the keys both report and every repeat."""
        base_runs = self.runs.get(BASELINE, [])
        differences = {}
        for implementation, runs in self.runs.items():
            if implementation == BASELINE:
                continue
            worst = None
            for run, base in zip(runs, base_runs):
                for key, value in run["check"].items():
                    if key not in base["check"]:
                        continue
                    reference = base["check"][key]
                    difference = abs(value - reference) / max(abs(reference), 1e-300)
                    worst = difference if worst is None else max(worst, difference)
            if worst is not None:
                differences[implementation] = worst
        return differences
