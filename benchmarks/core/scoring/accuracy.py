"""Accuracy on a held-out test split (Iris, Wine and other ordinary tables)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import metrics, stats
from .base import Column, Metric, MetricText, SplitArrays, register_metric


@register_metric
class Accuracy(Metric):
    name = "accuracy"
    text = MetricText(
        title="accuracy",
        description="fraction of test events classified correctly (unweighted)",
        objective_title="validation accuracy",
        table_note="Accuracy on the held-out test split; mean ± std over seeds.",
        interval_title="accuracy",
        control_note=("Shuffled-label control: each model retrained on labels permuted within the training and "
                      "validation splits, evaluated on the true test labels. The interval is what "
                      "label-independent guessing gives; a shuffled result outside it points to a leak or a bug, "
                      "one far below it to a small-sample fluke worth a second look."),
        chance_title="chance level [95% interval]",
    )
    percent = True
    digits = 2
    default_margin = 0.01  # one accuracy point
    validation_key = "accuracy_val"

    def score(self, proba_val, val, tests, n_classes) -> dict:
        part, proba = tests[0]
        out = metrics.classification_metrics(proba, part, n_classes)
        out["accuracy_val"] = metrics.accuracy(val.y, proba_val)
        return out

    def objective(self, proba_val, val) -> float:
        return metrics.accuracy(val.y, proba_val)

    def test_key(self, split: str) -> str:
        return "accuracy"

    def value(self, arrays: SplitArrays, state: Mapping[str, Any]) -> float:
        return metrics.accuracy(arrays.y, arrays.proba)

    def result_columns(self, tests: Sequence[str], class_names: Sequence[str], blind: bool) -> list[Column]:
        per_class = [Column("per_class_accuracy", f"acc({c})", True, 1, index=k) for k, c in enumerate(class_names)]
        return [Column("accuracy", "test accuracy", True, 2), Column("accuracy_val", "val accuracy", True, 2),
                *per_class]

    def interval(self, arrays, state, n_boot, seed, alpha=0.05):
        return stats.bootstrap_accuracy_ci(arrays.y, arrays.proba, n_boot=n_boot, alpha=alpha, seed=seed)

    def paired(self, a, state_a, b, state_b, n_boot, seed, alpha=0.05) -> dict:
        return stats.paired_accuracy_comparison(a.y, a.proba, b.proba, n_boot=n_boot, alpha=alpha, seed=seed,
                                                margin=self.margin)

    def chance(self, arrays, state, seed, n_draws=200, alpha=0.05):
        """Binomial interval of label-independent guessing, from the test labels' class counts."""
        n_classes = arrays.proba.shape[1]
        counts = [int((arrays.y == c).sum()) for c in range(n_classes)]
        low, high = stats.chance_interval_accuracy(len(arrays.y), n_classes, alpha, class_counts=counts)
        return 1.0 / n_classes, low, high
