"""The short table printed on the console at the end of a run."""
from __future__ import annotations

from benchmarks.store import StoredRun

from .escape import one_line
from .records import dataset_metric, group_records
from .summaries import flagged
from .tables import fmt_mean_std, seconds

WIDTH = 16  # characters per figure column


def console_summary(run: StoredRun) -> str:
    blind = run.blind
    lines = []
    for name, info in run.datasets.items():
        groups = group_records(run.records, name)
        metric = dataset_metric(info)
        columns = metric.summary_columns(blind)
        lines.append(f"\n{one_line(name)} ({'synthetic, ' if info.get('synthetic') else ''}{len(info['seeds'])} seed(s))")
        lines.append(f"  {'model':28s}" + "".join(f" {c.title:>{WIDTH}s}" for c in columns) + f" {'train s':>8s}")
        for label, recs in groups.items():
            # The console is a glance: percentages to a tenth.
            cells = ["blinded" if blind and c.private else
                     fmt_mean_std([c.get(r.metrics) for r in recs], 1 if c.percent else c.digits, c.percent)
                     + ("†" if flagged(metric, recs, c.key) else "") for c in columns]
            lines.append(f"  {one_line(label):28s}" + "".join(f" {cell:>{WIDTH}s}" for cell in cells)
                         + f" {seconds([r.timing.get('train_s') for r in recs]):>8s}")
    return "\n".join(lines)
