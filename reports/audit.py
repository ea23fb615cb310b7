"""The metric's audit (its known pitfalls next to the honest figure), as table columns over seeds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from benchmarks.core.scoring import Metric
from benchmarks.run_record import Record
from benchmarks.store import StoredRun

from .summaries import Values


@dataclass(frozen=True)
class AuditRow:
    label: str
    seeds: int
    cells: dict[str, Values]  # column title -> figure per seed


@dataclass(frozen=True)
class AuditLegend:
    column: str  # the short title the table's columns start with
    label: str
    explanation: str


@dataclass(frozen=True)
class AuditTable:
    title: str
    columns: tuple[str, ...]
    rows: tuple[AuditRow, ...]
    legend: tuple[AuditLegend, ...]


def _seed_cells(rows: Sequence[Mapping]) -> dict[str, float]:
    return {f"{row['column']} {suffix}": value for row in rows for suffix, value in row["cells"].items()}


def _legend(rows: Sequence[Mapping], legend: dict[str, AuditLegend]) -> None:
    """First row of each kind that shows a figure explains that kind's columns."""
    for row in rows:
        if row["cells"]:
            legend.setdefault(row["kind"], AuditLegend(row["column"], row["label"], row["explanation"]))


def audit_table(run: StoredRun, groups: Mapping[str, list[Record]], metric: Metric,
                tests: Sequence[str]) -> AuditTable | None:
    """Mean over seeds of every audit figure per model; None when the metric has no audit."""
    rows, legend = [], {}
    for label, recs in groups.items():
        per_seed = []
        for rec in recs:
            arrays = run.splits(rec)
            if arrays is None:
                continue
            audit_rows = metric.audit([(t, arrays[t]) for t in tests], rec.metrics, seed=rec.seed)
            if audit_rows is None:
                return None
            _legend(audit_rows, legend)
            per_seed.append(_seed_cells(audit_rows))
        if per_seed:
            columns = dict.fromkeys(c for cells in per_seed for c in cells)
            rows.append(AuditRow(label, len(per_seed), {c: tuple(s.get(c) for s in per_seed) for c in columns}))
    if not rows:
        return None
    columns = tuple(dict.fromkeys(c for row in rows for c in row.cells))
    return AuditTable(metric.text.audit_title, columns, tuple(rows), tuple(legend.values()))
