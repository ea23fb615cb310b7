"""Which stored records a report looks at: grouped by model, the reference of comparisons,
the test over seeds. Their predictions are read through ``StoredRun.splits`` only (once per
file, and never a private array while blind)."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping, Sequence

import numpy as np

from benchmarks.core import stats
from benchmarks.core.scoring import Metric, get_metric
from benchmarks.run_record import NO_CONTROL, Record
from benchmarks.store import visible_tests  # noqa: F401 - the reports' one way to name visible tests

from .tables import finite



def group_records(records: Iterable[Record], dataset: str, control: str = NO_CONTROL) -> dict[str, list[Record]]:
    """Records of one dataset and control, by model label, in suite order."""
    out: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.dataset == dataset and r.control == control:
            out[r.model].append(r)
    return dict(out)


def first_seed(recs: Sequence[Record]) -> Record:
    """The record of the smallest seed: the one single-seed figures are computed on."""
    return min(recs, key=lambda r: r.seed)


def by_seed(recs: Iterable[Record]) -> dict[int, Record]:
    return {r.seed: r for r in recs}


def _best_validation(groups: Mapping[str, list[Record]], metric: Metric, tabular_only: bool) -> str | None:
    """The model with the best mean *validation* score (in the metric's direction), first in
    suite order on a tie; None when no model (of the kind asked for) has one."""
    best, best_val = None, -np.inf
    for label, recs in groups.items():
        if tabular_only and recs[0].family != "tabular":
            continue
        vals = finite(r.metrics.get(metric.validation_key) for r in recs)
        if vals and metric.sign * float(np.mean(vals)) > best_val:
            best, best_val = label, metric.sign * float(np.mean(vals))
    return best


def best_tabular(groups: Mapping[str, list[Record]], metric: Metric) -> str | None:
    """The tabular model with the best *validation* score (lowest for a lower-is-better metric)."""
    return _best_validation(groups, metric, tabular_only=True)


def reference_model(groups: Mapping[str, list[Record]], metric: Metric) -> tuple[str | None, bool]:
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


def dataset_metric(info: Mapping) -> Metric:
    """The metric object a dataset of a stored run was scored with (its options included)."""
    return get_metric(info["metric"], **(info.get("metric_options") or {}))
