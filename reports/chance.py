"""The shuffled-label control set against the metric's chance model, seed by seed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from benchmarks.core.scoring import Metric
from benchmarks.run_record import Record
from benchmarks.store import StoredRun

from .records import by_seed, group_records
from .summaries import Values, flagged

SHUFFLED = "shuffled"  # the control whose fits must land at chance


@dataclass(frozen=True)
class ChanceInterval:
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class ControlRow:
    label: str
    real: Values  # the real model's figure per seed
    shuffled: Values
    chance: tuple[ChanceInterval, ...]  # per seed whose predictions could be read
    verdict: str  # the metric's summary of the per-seed verdicts; "–" when none was possible
    real_flagged: bool = False  # a figure resting on too few events (Metric.unreliable)
    shuffled_flagged: bool = False


@dataclass(frozen=True)
class ControlTable:
    split: str  # the test split every figure is on
    n_events: int | None
    rows: tuple[ControlRow, ...]


def _judge(run: StoredRun, metric: Metric, split: str, rec: Record, real: Record | None):
    """(chance interval, verdict, events) of one shuffled fit; None without its predictions."""
    arrays = run.splits(rec)
    if arrays is None:
        return None
    mean, low, high = metric.chance(arrays[split], rec.metrics, seed=rec.seed)
    key = metric.test_key(split)
    real_value = None if real is None else real.metrics.get(key)
    verdict = metric.control_verdict(rec.metrics.get(key), low, high, real_value)
    return ChanceInterval(mean, low, high), verdict, len(arrays[split].y)


def control_table(run: StoredRun, dataset: str, groups: Mapping[str, list[Record]],
                  metric: Metric, split: str) -> ControlTable | None:
    """Shuffled-label fits next to the real ones and chance, on test split `split`."""
    shuffled = group_records(run.records, dataset, SHUFFLED)
    if not shuffled:
        return None
    key = metric.test_key(split)
    rows, events = [], []
    for label, recs in shuffled.items():
        real = by_seed(groups.get(label, []))
        judged = [j for j in (_judge(run, metric, split, r, real.get(r.seed)) for r in recs) if j]
        events += [n for _, _, n in judged]
        verdict = metric.control_summary([v for _, v, _ in judged]) if judged else "–"
        rows.append(ControlRow(label, tuple(r.metrics.get(key) for r in real.values()),
                               tuple(r.metrics.get(key) for r in recs), tuple(c for c, _, _ in judged), verdict,
                               flagged(metric, list(real.values()), key), flagged(metric, recs, key)))
    return ControlTable(split, events[0] if events else None, tuple(rows))
