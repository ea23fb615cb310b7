"""Bootstrap intervals of each model's figure and paired comparisons with a reference model.

Single-seed figures use each model's first seed; the comparison over seeds pairs the
stored figures of every seed both models have.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from benchmarks.core import stats
from benchmarks.core.scoring import Metric

from .records import best_tabular, by_seed, first_seed, load_splits

N_BOOT = 1000


@dataclass(frozen=True)
class SeedTest:
    p_value: float
    seeds: int


@dataclass(frozen=True)
class StatRow:
    label: str
    split: str
    value: float
    low: float
    high: float
    is_reference: bool
    comparison: dict | None  # the metric's paired bootstrap: diff, ci_low, ci_high, p_value, significant
    over_seeds: SeedTest | None


@dataclass(frozen=True)
class Statistics:
    reference: str | None  # the tabular model with the best validation score
    n_boot: int
    rows: tuple[StatRow, ...]


def _over_seeds(recs: Sequence[dict], ref_recs: Mapping[int, dict], key: str) -> SeedTest | None:
    pairs = [(r["metrics"].get(key), ref_recs[r["seed"]]["metrics"].get(key)) for r in recs if r["seed"] in ref_recs]
    if len(pairs) < 2:
        return None
    p = stats.paired_seed_test([a for a, _ in pairs], [b for _, b in pairs])
    return None if p is None else SeedTest(p, len(pairs))


def _model_rows(run_dir: Path, metric: Metric, label: str, recs: Sequence[dict], tests: Sequence[str],
                ref: str | None, ref_recs: Mapping[int, dict], ref_arrays: dict) -> list[StatRow]:
    rec = first_seed(recs)
    arrays = load_splits(run_dir, rec, tests)
    if arrays is None:
        return []
    ref_rec = ref_recs.get(rec["seed"])
    if label != ref and ref_rec is not None and rec["seed"] not in ref_arrays:
        ref_arrays[rec["seed"]] = load_splits(run_dir, ref_rec, tests)
    theirs = ref_arrays.get(rec["seed"]) if label != ref and ref_rec is not None else None
    rows = []
    for split in tests:
        low, high = metric.interval(arrays[split], rec["metrics"], N_BOOT, rec["seed"])
        comparison = seeds = None
        if theirs is not None:
            comparison = metric.paired(arrays[split], rec["metrics"], theirs[split], ref_rec["metrics"],
                                       N_BOOT, rec["seed"])
            seeds = _over_seeds(recs, ref_recs, metric.test_key(split))
        rows.append(StatRow(label, split, rec["metrics"][metric.test_key(split)], low, high, label == ref,
                            comparison, seeds))
    return rows


def statistics(run_dir: Path, groups: Mapping[str, list[dict]], metric: Metric, tests: Sequence[str]) -> Statistics:
    """Every model's interval on each visible test split, and its comparison with the reference."""
    ref = best_tabular(groups, metric)
    ref_recs = by_seed(groups.get(ref, [])) if ref else {}
    ref_arrays: dict[int, dict | None] = {}  # the reference's predictions, read once per seed
    rows = [row for label, recs in groups.items()
            for row in _model_rows(run_dir, metric, label, recs, tests, ref, ref_recs, ref_arrays)]
    return Statistics(ref, N_BOOT, tuple(rows))
