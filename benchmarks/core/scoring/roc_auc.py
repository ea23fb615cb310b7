"""Event-weighted ROC AUC: for binary tables without a physics metric."""
from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from ..errors import DataError
from .. import metrics, stats
from .base import Column, Metric, MetricText, SplitArrays, register_metric


def stratified_resamples(y: np.ndarray, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap resamples that keep each class's count, so that every one holds both classes.

    AUC is undefined for a resample with one class only, which a plain bootstrap of a small
    or imbalanced split draws often; resampling within each class (the usual AUC bootstrap,
    e.g. pROC's default) never does.
    """
    rng = np.random.default_rng(seed)
    classes = [np.flatnonzero(y == c) for c in np.unique(y)]
    for _ in range(n_boot):
        yield np.concatenate([rng.choice(members, size=len(members)) for members in classes])


@register_metric
class RocAuc(Metric):
    name = "roc-auc"
    text = MetricText(
        title="ROC AUC",
        description="area under the (event-weighted) ROC curve of the positive class (binary tables)",
        objective_title="validation ROC AUC",
        table_note="Area under the ROC curve of class 1 on the held-out test split (event-weighted where the table has weights); mean ± std over seeds.",
        interval_title="ROC AUC",
        control_note=("Shuffled-label control: each model retrained on labels permuted within the training and "
                      "validation splits, evaluated on the true test labels. Chance = the AUC of the model's own "
                      "scores permuted over the test events (0.5 on average); a shuffled result above the interval "
                      "points to a leak or a bug."),
        chance_title="chance (scores permuted over events) [95%]",
    )
    digits = 4
    default_margin = 0.005
    binary_only = True
    validation_key = "roc_auc_val"

    def score(self, proba_val, val, tests, n_classes) -> dict:
        part, proba = tests[0]
        return {"roc_auc": self._auc(part.y, proba, part.weights), "roc_auc_val": self._auc(val.y, proba_val, val.weights),
                "n_test": int(len(part.y))}

    def objective(self, proba_val, val) -> float:
        return self._auc(val.y, proba_val, val.weights)

    def test_key(self, split: str) -> str:
        return "roc_auc"

    def value(self, arrays: SplitArrays, state: Mapping[str, Any]) -> float:
        return self._auc(arrays.y, arrays.proba, arrays.w)

    @staticmethod
    def _auc(y, proba, w) -> float:
        value = metrics.weighted_auc(y, proba, w)
        if value != value:  # NaN: one class only
            raise DataError("ROC AUC needs both classes in every split it scores")
        return value

    def result_columns(self, tests: Sequence[str], class_names: Sequence[str], blind: bool) -> list[Column]:
        return [Column("roc_auc", "test ROC AUC", digits=4), Column("roc_auc_val", "val ROC AUC", digits=4)]

    def interval(self, arrays, state, n_boot, seed, alpha=0.05):
        """Percentile interval over class-stratified resamples of the split's events."""
        values = [self.value(arrays.take(idx), state) for idx in stratified_resamples(arrays.y, n_boot, seed)]
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        return float(low), float(high)

    def paired(self, a, state_a, b, state_b, n_boot, seed, alpha=0.05) -> dict:
        """Paired bootstrap of AUC(A) - AUC(B) over the same class-stratified resamples."""
        if len(a.y) != len(b.y) or not np.array_equal(a.y, b.y):
            raise DataError("paired comparison needs both models scored on the same events")
        diffs = np.array([self.value(a.take(idx), state_a) - self.value(b.take(idx), state_b)
                          for idx in stratified_resamples(a.y, n_boot, seed)])
        value_a, value_b = self.value(a, state_a), self.value(b, state_b)
        out = stats._paired_summary(value_a - value_b, diffs, alpha, self.margin)  # the one p-value rule of every metric
        return {**out, "metric_a": value_a, "metric_b": value_b}
