"""Which stored records a report looks at, and reading their predictions by name.

Predictions are only ever read through ``store.load_predictions`` with explicit keys:
a blind report never names a private array, so it never reads one.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from benchmarks import store
from benchmarks.core.scoring import PRIVATE, Metric, SplitArrays, get_metric

from .tables import finite

NO_CONTROL = "none"  # the control value the runner stores for real (uncontrolled) fits
NOT_TESTS = ("train", "val")


def group_records(records: Iterable[dict], dataset: str, control: str = NO_CONTROL) -> dict[str, list[dict]]:
    """Records of one dataset and control, by model label, in suite order."""
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r["dataset"] == dataset and r.get("control", NO_CONTROL) == control:
            out[r["model"]].append(r)
    return dict(out)


def first_seed(recs: Sequence[dict]) -> dict:
    """The record of the smallest seed: the one single-seed figures are computed on."""
    return min(recs, key=lambda r: r["seed"])


def by_seed(recs: Iterable[dict]) -> dict[int, dict]:
    return {r["seed"]: r for r in recs}


def visible_tests(info: Mapping, blind: bool) -> list[str]:
    """The dataset's test splits in stored order; the private one left out when blind."""
    return [n for n in info["splits"] if n not in NOT_TESTS and not (blind and n == PRIVATE)]


def best_tabular(groups: Mapping[str, list[dict]], metric: Metric) -> str | None:
    """The reference model: the tabular model with the best *validation* score."""
    best, best_val = None, -np.inf
    for label, recs in groups.items():
        if recs[0].get("family", "tabular") != "tabular":
            continue
        vals = finite(r["metrics"].get(metric.validation_key) for r in recs)
        if vals and np.mean(vals) > best_val:
            best, best_val = label, float(np.mean(vals))
    return best


def load_splits(run_dir: Path, record: dict, splits: Sequence[str]) -> dict[str, SplitArrays] | None:
    """The named splits' stored labels, probabilities and weights; None when unreadable."""
    keys = [k for split in splits for k in SplitArrays.keys(split)]
    arrays = store.load_predictions(run_dir, record, keys)
    if arrays is None:
        return None
    return {split: SplitArrays.from_npz(arrays, split) for split in splits}


def unreadable_predictions(run_dir: Path, records: Iterable[dict], infos: Mapping[str, Mapping],
                           blind: bool) -> tuple[str, ...]:
    """The prediction files a report needs but cannot read (missing, torn, corrupt).

    Only the arrays the report may show are read, so a blind report still never opens a
    private one.
    """
    bad = []
    for rec in records:
        info = infos.get(rec["dataset"])
        if info is None or not rec.get("predictions"):
            continue
        keys = [k for split in ("val", *visible_tests(info, blind)) for k in SplitArrays.keys(split)]
        if store.load_predictions(run_dir, rec, keys) is None:
            bad.append(rec["predictions"])
    return tuple(bad)


def dataset_metric(info: dict):
    """The metric object a dataset of a stored run was scored with (its options included)."""
    return get_metric(info["metric"], **(info.get("metric_options") or {}))
