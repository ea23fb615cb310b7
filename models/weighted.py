"""A weighted ensemble of fitted configurations: what a suite's ``tuned+ensemble`` entry
trains (the members and weights greedy ensemble selection chose on a search's validation
predictions, ``benchmarks.core.selection``).

Each member is fitted exactly as the harness fits a tuned model (same data, same early
stopping on the validation split, same seed); the ensemble's probabilities are the
weighted mean of the members'. Not registered: the pipeline builds it from a registered
model's members.
"""
from __future__ import annotations

import numpy as np

from benchmarks.core.errors import ConfigError

from .base import ANY, Estimator, FitFacts, Param, fit_facts


class WeightedEnsemble(Estimator):
    """``members`` (unfitted estimators of one model), their ``weights`` (positive, summing
    to 1) and, for the record, the search ``trials`` they came from."""

    model_name = "ensemble"
    PARAMS = {
        "members": Param((), ANY, "the member estimators"),
        "weights": Param((), ANY, "one positive weight per member, summing to 1"),
        "trials": Param((), ANY, "the search trial each member's configuration came from"),
    }

    def check_params(self) -> None:
        super().check_params()
        members, weights = list(self.members), np.asarray(self.weights, dtype=np.float64)
        if not members or weights.shape != (len(members),):
            raise ConfigError(f"ensemble: needs one weight per member, got {len(weights)} for {len(members)}")
        if not (np.isfinite(weights).all() and (weights > 0).all() and abs(weights.sum() - 1.0) < 1e-9):
            raise ConfigError(f"ensemble: weights must be positive and sum to 1, got {weights.tolist()}")
        for m in members:
            check = getattr(m, "check_params", None)
            if check is not None:
                check()

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        for m in self.members:  # a search's pruning (epoch_callback) does not apply to a refit
            m.fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val, w_val=w_val)
        self.classes_ = np.asarray(self.members[0].classes_)
        self.weights_ = np.asarray(self.weights, dtype=np.float64)
        facts = [fit_facts(m) for m in self.members]
        self.device_ = facts[0].device
        self.encoder_ = next((f.encoder for f in facts if f.encoder is not None), None)
        first = dict(facts[0].info)
        self.info_ = {
            "device": self.device_,
            **({"threads": first["threads"]} if "threads" in first else {}),
            "members": [{"trial": t, "weight": float(w), "info": f.info}
                        for t, w, f in zip(self._trials(), self.weights_, facts)],
        }
        return self

    def _trials(self) -> list:
        trials = list(self.trials or ())
        return trials + [None] * (len(self.members) - len(trials))

    def predict_proba(self, X) -> np.ndarray:
        if not hasattr(self, "weights_"):
            raise ConfigError("ensemble: call fit before predict_proba")
        total = None
        for w, m in zip(self.weights_, self.members):
            p = w * np.asarray(m.predict_proba(X), dtype=np.float64)
            total = p if total is None else total + p
        return total

    def fit_facts(self) -> FitFacts:
        return FitFacts(info=dict(self.info_ or {}), device=self.device_ or "cpu", encoder=self.encoder_)
