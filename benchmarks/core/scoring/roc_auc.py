"""Event-weighted ROC AUC: for binary tables without a physics metric."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..errors import DataError
from .. import metrics
from .base import Column, Metric, SplitArrays, register_metric


@register_metric
class RocAuc(Metric):
    name = "roc-auc"
    title = "ROC AUC"
    description = "area under the (event-weighted) ROC curve of the positive class (binary tables)"
    digits = 4
    binary_only = True
    validation_key = "roc_auc_val"
    objective_title = "validation ROC AUC"
    table_note = "Area under the ROC curve of class 1 on the held-out test split (event-weighted where the table has weights); mean ± std over seeds."
    interval_title = "ROC AUC"
    control_note = ("Shuffled-label control: each model retrained on labels permuted within the training and "
                    "validation splits, evaluated on the true test labels. Chance = the AUC of the model's own "
                    "scores permuted over the test events (0.5 on average); a shuffled result above the interval "
                    "points to a leak or a bug.")
    chance_title = "chance (scores permuted over events) [95%]"

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
