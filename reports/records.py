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
from benchmarks.core import stats
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


def _best_validation(groups: Mapping[str, list[dict]], metric: Metric, tabular_only: bool) -> str | None:
    """The model with the best mean *validation* score (in the metric's direction), first in
    suite order on a tie; None when no model (of the kind asked for) has one."""
    best, best_val = None, -np.inf
    for label, recs in groups.items():
        if tabular_only and recs[0].get("family", "tabular") != "tabular":
            continue
        vals = finite(r["metrics"].get(metric.validation_key) for r in recs)
        if vals and metric.sign * float(np.mean(vals)) > best_val:
            best, best_val = label, metric.sign * float(np.mean(vals))
    return best


def best_tabular(groups: Mapping[str, list[dict]], metric: Metric) -> str | None:
    """The tabular model with the best *validation* score (lowest for a lower-is-better metric)."""
    return _best_validation(groups, metric, tabular_only=True)


def reference_model(groups: Mapping[str, list[dict]], metric: Metric) -> tuple[str | None, bool]:
    """(the reference of paired comparisons, whether it is a tabular model).

    The tabular model with the best validation score; in a run without one, the best model
    by validation score whatever its kind; None with fewer than two models (nothing to compare).
    """
    if len(groups) < 2:
        return None, False
    tabular = best_tabular(groups, metric)
    if tabular is not None:
        return tabular, True
    return _best_validation(groups, metric, tabular_only=False), False


PAIRED_T_TEST = "paired t-test over seeds"
CORRECTED_T_TEST = "corrected resampled t-test (Nadeau & Bengio 2003)"
SHORT_NAMES = {PAIRED_T_TEST: "paired t-test", CORRECTED_T_TEST: "corrected resampled t-test"}  # table cells


def resampling_ratio(info: Mapping | None, split: str | None = None) -> float | None:
    """n_test / n_train of the dataset's resampling, when its seeds are resamples of one table
    (folds of repeated K-fold) whose training sets overlap; None for fixed test sets and for
    runs that predate the ``resampling`` description. With ``split``: that test part's own
    size over n_train where the run recorded it (a figure of one half of the fold rests on
    that half), else the whole fold's (the more cautious correction)."""
    facts = (info or {}).get("resampling") or {}
    ratio = (facts.get("test_train_ratios") or {}).get(split, facts.get("test_train_ratio"))
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not (np.isfinite(ratio) and ratio > 0):
        return None
    return float(ratio)


def seed_test(values_a: Sequence[float], values_b: Sequence[float], ratio: float | None) -> tuple[float | None, str]:
    """(two-sided p-value of A vs B over seeds, the test's name).

    Seeds that resample one table share most of their training events, so their figures are
    correlated and the plain paired t-test's p-values come out too small: with a test/train
    ratio the corrected resampled t-test is used, the plain one only for independent test sets.
    """
    if ratio is None:
        return stats.paired_seed_test(values_a, values_b), PAIRED_T_TEST
    out = stats.corrected_resampled_ttest(values_a, values_b, ratio)
    return (None if out is None else out["p_value"]), CORRECTED_T_TEST


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
