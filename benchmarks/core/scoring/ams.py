"""AMS (HiggsML): the cut is chosen on validation; public/private AMS at that cut."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from .. import audit, limits, metrics, stats
from .base import PRIVATE, Column, Metric, MetricText, SplitArrays, register_metric


RELIABLE_BACKGROUND = 10  # raw background events a selection needs before its AMS means anything


def _table_note(min_background: int) -> str:
    rule = f" among the cuts keeping at least {min_background} raw background events" if min_background else ""
    return (f"AMS at the cut chosen on the validation split (mean of the cuts giving the top 10% of "
            f"validation AMS values{rule}), b_reg = 10; mean ± std over seeds.")


@register_metric
class AMS(Metric):
    name = "ams"
    text = MetricText(
        title="AMS",
        description="Approximate Median Significance at a cut chosen on validation (HiggsML), b_reg = 10",
        objective_title="validation AMS at the chosen cut",
        table_note=_table_note(0),
        interval_title="AMS at the validation cut",
        interval_note=" and rescaled per class to the split totals",
        control_note=("Shuffled-label control: each model retrained on labels permuted within the training and "
                      "validation splits (weights kept with their events, shuffled labels independent of the true "
                      "ones), then scored exactly like the real model on the true test labels. Chance = AMS of "
                      "picking the same number of test events at random. A model selects a region of feature "
                      "space, not random events, and a region's AMS spreads more than a random pick's, so a value "
                      "just above the interval is not by itself a leak; one well above it, or close to the real "
                      "model's AMS, is."),
        chance_title="chance (random pick of as many events) [95%]",
        audit_title="AMS audit",
        audit_note=("The honest figure (cut chosen on validation, each test split on its own) next to the known "
                    "ways of fooling oneself on HiggsML. Only the **honest** columns are results; every other "
                    "column is labelled for what it is."),
        audit_blind_note=" Private-split figures, and the public+private combination, are hidden in blind mode.",
        reliability_note=(f"† rests on fewer than {RELIABLE_BACKGROUND} raw background events selected (in at "
                          "least one seed): once a cut keeps almost no background, a handful of signal events "
                          "gives any AMS at all. A small-number artefact, not a result."),
        ranking_note=("AMS datasets are ranked by the private AMS, the HiggsML challenge's final figure "
                      "(2.5x the public split's events)."),
        ranking_blind_note=("AMS datasets are ranked by the public AMS: the run is blind, so the private AMS (the "
                            "challenge's final figure) stays hidden until `--unblind`."),
    )
    binary_only = True
    needs_weights = True
    default_margin = 0.05
    validation_key = "ams_val"

    def __init__(self, min_background: int = 0, margin: float | None = None):
        super().__init__(margin)
        # The cut rule: averaging the top-10% validation cuts among those that keep at least
        # this many raw background events (0: all cuts, the rule of Strong's studies).
        self.min_background = limits.integer(min_background, "ams: min_background", 0, limits.MAX_EVENTS)
        if self.min_background:  # the table note names the cut rule
            self.text = replace(type(self).text, table_note=_table_note(self.min_background))

    def options(self) -> dict:
        rule = {"min_background": self.min_background} if self.min_background else {}
        return {**rule, **super().options()}

    def _cut(self, scores, y, w) -> float:
        return metrics.choose_cut(scores, y, w, min_background=self.min_background)

    def score(self, proba_val, val, tests, n_classes) -> dict:
        return metrics.higgs_metrics(proba_val[:, 1], val, [(part, proba[:, 1]) for part, proba in tests],
                                     min_background=self.min_background)

    def objective(self, proba_val, val) -> float:
        s = proba_val[:, 1]
        return metrics.ams_at_cut(s, val.y, val.weights, self._cut(s, val.y, val.weights))

    def test_key(self, split: str) -> str:
        return f"ams_{split}"

    def value(self, arrays: SplitArrays, state: Mapping[str, Any]) -> float:
        return metrics.ams_at_cut(arrays.proba, arrays.y, arrays.w, state["cut"])

    def result_columns(self, tests: Sequence[str], class_names: Sequence[str], blind: bool) -> list[Column]:
        # In blind mode the AUC too comes from the public split alone.
        auc = Column("auc_public", "AUC public") if blind else Column("auc", "AUC")
        cols = [Column(f"ams_{t}", f"AMS {t}", private=t == PRIVATE) for t in tests]
        return cols + [Column("ams_val", "AMS val"), Column("cut", "cut"), auc]

    def summary_tests(self) -> list[str]:
        return ["public", PRIVATE]

    def summary_columns(self, blind: bool) -> list[Column]:
        cols = super().summary_columns(blind)
        return cols + [Column("auc_public", "AUC public") if blind else Column("auc", "AUC")]

    def hidden_when_blind(self, key: str) -> bool:
        # The AUC of the concatenated test parts includes the private one (the report shows
        # auc_public instead while blind).
        return key == "auc" or super().hidden_when_blind(key)

    def leaderboard_column(self, blind: bool) -> Column:
        """The private AMS, the challenge's final figure on 2.5x the public events; the public
        AMS while the run is blind."""
        split = "public" if blind else PRIVATE
        return next(c for c in self.summary_columns(blind) if c.key == self.test_key(split))

    def interval(self, arrays, state, n_boot, seed, alpha=0.05):
        return stats.bootstrap_ams_ci(arrays.proba, arrays.y, arrays.w, state["cut"], n_boot=n_boot,
                                      alpha=alpha, seed=seed)

    def paired(self, a, state_a, b, state_b, n_boot, seed, alpha=0.05) -> dict:
        return stats.paired_ams_comparison(a.proba, state_a["cut"], b.proba, state_b["cut"], a.y, a.w,
                                           n_boot=n_boot, alpha=alpha, seed=seed, margin=self.margin)

    def chance(self, arrays, state, seed, n_draws=200, alpha=0.05):
        """AMS of picking as many test events at random as the model selects at its cut."""
        k = int((metrics.signal_scores(arrays.proba) >= state["cut"]).sum())
        if k == 0:
            return float("nan"), float("nan"), float("nan")
        return stats.random_selection_ams(arrays.y, arrays.w, k, n_draws=n_draws, seed=seed, alpha=alpha)

    def control_verdict(self, value, low, high, real):
        """Inside the random-pick interval, just above it (a region spreads more), or a likely leak."""
        if not np.isfinite(low):
            return True, "–"
        if value <= high:
            return True, "yes" if value >= low else "yes (below the random-pick interval)"
        halfway = None if real is None else high + 0.5 * (real - high)
        if value > high + (high - low) or (halfway is not None and value >= halfway):
            return False, "**no: well above chance; look for a leak**"
        return True, "yes (just above the random-pick interval)"

    def control_summary(self, verdicts):
        """The verdict when every seed agrees; else each verdict with its count, failures first."""
        counts = Counter(text for _, text in verdicts)
        if len(counts) == 1:
            return next(iter(counts))
        failing = {text for ok, text in verdicts if not ok}
        order = sorted(counts, key=lambda text: (text not in failing, -counts[text]))
        return "; ".join(f"{text} in {counts[text]} of {len(verdicts)} seeds" for text in order)

    def audit(self, tests, state, seed):
        parts = [audit.ScoredPart(name, metrics.signal_scores(a.proba), a.y, a.w) for name, a in tests]
        return audit.audit_table(parts, state["cut"], seed=seed)

    threshold_key = "cut"

    def selection_columns(self, split: str) -> list[Column]:
        private = split == PRIVATE
        return [Column(f"n_sig_{split}", "signal events", digits=1, private=private),
                Column(f"n_bkg_{split}", "background events", digits=1, private=private),
                Column(f"w_sig_{split}", "Σw signal (s)", digits=3, private=private),
                Column(f"w_bkg_{split}", "Σw background (b)", digits=1, private=private)]

    def unreliable(self, metrics, key: str) -> bool:
        split = key[len("ams_"):] if key.startswith("ams_") and not key.startswith("ams_max") else None
        n_bkg = None if split is None else metrics.get(f"n_bkg_{split}")
        return n_bkg is not None and n_bkg < RELIABLE_BACKGROUND

    def threshold_curve(self, arrays):
        if arrays.proba.ndim != 2 or arrays.proba.shape[1] != 2 or not np.dot(arrays.y == 1, arrays.w) > 0:
            return None
        s = arrays.proba[:, 1]
        cuts, values = metrics.ams_scan(s, arrays.y, arrays.w)
        reliable = metrics.background_counts(s, arrays.y, cuts) >= RELIABLE_BACKGROUND
        return cuts, values, self._cut(s, arrays.y, arrays.w), reliable

    def threshold_value(self, arrays, threshold):
        return metrics.ams_at_cut(metrics.signal_scores(arrays.proba), arrays.y, arrays.w, threshold)
