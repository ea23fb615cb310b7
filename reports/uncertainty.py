"""Bootstrap intervals of each model's figure and paired comparisons with a reference model.

Single-seed figures use each model's first seed; the comparison over seeds pairs the
stored figures of every seed both models have.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from benchmarks.core.scoring import Metric
from benchmarks.run_record import Record
from benchmarks.store import StoredRun

from .records import (CORRECTED_T_TEST, PAIRED_T_TEST, by_seed, first_seed, reference_model,
                      resampling_ratio, seed_test)

N_BOOT = 1000


@dataclass(frozen=True)
class SeedTest:
    p_value: float | None  # None: too few seeds for a test
    seeds: int


@dataclass(frozen=True)
class StatRow:
    label: str
    split: str
    value: float
    low: float
    high: float
    is_reference: bool
    comparison: dict | None  # the metric's paired bootstrap: diff, verdict, ci_low, ci_high, p_value, margin, mdd
    over_seeds: SeedTest | None
    flagged: bool = False  # the figure rests on too few events (Metric.unreliable)


@dataclass(frozen=True)
class Statistics:
    reference: str | None  # the tabular model with the best validation score (see records.reference_model)
    n_boot: int
    rows: tuple[StatRow, ...]
    reference_is_tabular: bool = True  # False: no tabular model, the best of the others
    seed_test: str = ""  # the name of the test over seeds (plain or corrected resampled t-test)


MIN_SEEDS = 3  # a t-test over fewer seeds has one degree of freedom or none: not shown as a p-value


def _over_seeds(recs: Sequence[Record], ref_recs: Mapping[int, Record], key: str, ratio: float | None) -> SeedTest | None:
    pairs = [(r.metrics.get(key), ref_recs[r.seed].metrics.get(key)) for r in recs if r.seed in ref_recs]
    if len(pairs) < 2:
        return None
    if len(pairs) < MIN_SEEDS:
        return SeedTest(None, len(pairs))
    p, _ = seed_test([a for a, _ in pairs], [b for _, b in pairs], ratio)
    return None if p is None else SeedTest(p, len(pairs))


class _Reference:
    """The reference model's records by seed."""

    def __init__(self, recs: Sequence[Record]):
        self.records = by_seed(recs)

    def arrays(self, run: StoredRun, seed: int) -> dict | None:
        return run.splits(self.records[seed]) if seed in self.records else None


def _model_rows(run: StoredRun, metric: Metric, recs: Sequence[Record], tests: Sequence[str],
                reference: _Reference | None, is_reference: bool, ratios: Mapping[str, float | None]) -> list[StatRow]:
    """One model's rows: its first seed's interval per split; unless it is the reference,
    the paired comparison with the reference's record of the same seed."""
    rec = first_seed(recs)
    arrays = run.splits(rec)
    if arrays is None:
        return []
    theirs = None if reference is None or is_reference else reference.arrays(run, rec.seed)
    rows = []
    for split in tests:
        low, high = metric.interval(arrays[split], rec.metrics, N_BOOT, rec.seed)
        comparison = seeds = None
        if theirs is not None:
            comparison = metric.paired(arrays[split], rec.metrics, theirs[split],
                                       reference.records[rec.seed].metrics, N_BOOT, rec.seed)
            seeds = _over_seeds(recs, reference.records, metric.test_key(split), ratios[split])
        key = metric.test_key(split)
        rows.append(StatRow(rec.model, split, rec.metrics[key], low, high, is_reference, comparison, seeds,
                            metric.unreliable(rec.metrics, key)))
    return rows


def statistics(run: StoredRun, groups: Mapping[str, list[Record]], metric: Metric, tests: Sequence[str],
               info: Mapping | None = None) -> Statistics:
    """Every model's interval on each visible test split, and its comparison with the reference.

    ``info`` (the dataset's stored description) says how its seeds resample the data, which
    decides the test over seeds (``records.seed_test``).
    """
    ref, tabular = reference_model(groups, metric)
    reference = _Reference(groups[ref]) if ref else None
    ratio = resampling_ratio(info)
    ratios = {split: resampling_ratio(info, split) for split in tests}
    rows = [row for label, recs in groups.items()
            for row in _model_rows(run, metric, recs, tests, reference, label == ref, ratios)]
    return Statistics(ref, N_BOOT, tuple(rows), tabular, PAIRED_T_TEST if ratio is None else CORRECTED_T_TEST)
