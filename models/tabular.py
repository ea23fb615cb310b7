"""Tabular baselines: random forest (scikit-learn), XGBoost and LightGBM (the BDTs).

Defaults are the field's usual starting points for HiggsML-sized problems; every one is a
plain constructor parameter, so a suite's TOML can set any of them.
"""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from benchmarks.core.errors import ConfigError
from benchmarks.core.weights import balance_classes

from .registry import register_model


def _n_classes(y: np.ndarray) -> int:
    return int(np.max(y)) + 1


class _Base:
    """Shared parameter handling (scikit-learn style: parameters stored as given)."""

    def __init__(self, **params: Any):
        self.params = params

    @staticmethod
    def _check_extra(name: str, extra: dict, estimator_cls) -> None:
        """Reject parameters the library does not know now, not deep inside a run."""
        known = set(estimator_cls().get_params())
        unknown = sorted(set(extra) - known)
        if unknown:
            raise ConfigError(f"{name}: unknown parameter(s) {', '.join(unknown)}")

    def get_params(self) -> dict:
        return dict(self.params)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        proba = np.asarray(self.model_.predict_proba(X), dtype=np.float64)
        if proba.shape[1] < self.n_classes_:  # a class absent from training
            full = np.zeros((proba.shape[0], self.n_classes_))
            full[:, self.classes_] = proba
            proba = full
        return proba


class RandomForest(_Base):
    def __init__(self, n_estimators=300, max_depth=None, min_samples_leaf=2, max_features="sqrt",
                 n_jobs=-1, random_state=0, **extra):
        super().__init__(n_estimators=n_estimators, max_depth=max_depth,
                         min_samples_leaf=min_samples_leaf, max_features=max_features,
                         n_jobs=n_jobs, random_state=random_state, **extra)
        from sklearn.ensemble import RandomForestClassifier

        self._check_extra("random-forest", extra, RandomForestClassifier)
        try:  # scikit-learn checks types and ranges only at fit; check them now
            RandomForestClassifier(**self.params)._validate_params()
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"random-forest: {exc}") from None
        except AttributeError:  # an older scikit-learn without _validate_params
            pass

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        from sklearn.ensemble import RandomForestClassifier

        self.n_classes_ = _n_classes(y)
        self.model_ = RandomForestClassifier(**self.params)
        self.model_.fit(X, y, sample_weight=_balanced(y, sample_weight))
        self.classes_ = self.model_.classes_.astype(int)
        self.info_ = {"threads": self.params["n_jobs"]}
        return self


class XGBoost(_Base):
    def __init__(self, n_estimators=1000, learning_rate=0.05, max_depth=6, subsample=0.9,
                 colsample_bytree=0.8, min_child_weight=1.0, reg_lambda=1.0,
                 early_stopping_rounds=50, n_jobs=-1, random_state=0, device="cpu", **extra):
        super().__init__(n_estimators=n_estimators, learning_rate=learning_rate,
                         max_depth=max_depth, subsample=subsample,
                         colsample_bytree=colsample_bytree, min_child_weight=min_child_weight,
                         reg_lambda=reg_lambda, early_stopping_rounds=early_stopping_rounds,
                         n_jobs=n_jobs, random_state=random_state, **extra)
        self.device = "cuda" if device == "cuda" else "cpu"
        import xgboost as xgb

        self._check_extra("xgboost", extra, xgb.XGBClassifier)

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        import xgboost as xgb

        self.n_classes_ = _n_classes(y)
        params = dict(self.params)
        if X_val is None:
            params.pop("early_stopping_rounds")
        self.model_ = xgb.XGBClassifier(tree_method="hist", device=self.device, **params)
        eval_set = None if X_val is None else [(X_val, y_val)]
        eval_w = None if X_val is None else [_balanced(y_val, w_val)]
        self.model_.fit(X, y, sample_weight=_balanced(y, sample_weight), eval_set=eval_set,
                        sample_weight_eval_set=eval_w, verbose=False)
        self.classes_ = np.arange(self.n_classes_)
        self.best_epoch_ = getattr(self.model_, "best_iteration", None)
        self.info_ = {"device": self.device, "best_iteration": self.best_epoch_}
        return self


class LightGBM(_Base):
    def __init__(self, n_estimators=1000, learning_rate=0.05, num_leaves=63, subsample=0.9,
                 subsample_freq=1, colsample_bytree=0.8, min_child_samples=20, reg_lambda=1.0,
                 early_stopping_rounds=50, n_jobs=-1, random_state=0, **extra):
        super().__init__(n_estimators=n_estimators, learning_rate=learning_rate,
                         num_leaves=num_leaves, subsample=subsample, subsample_freq=subsample_freq,
                         colsample_bytree=colsample_bytree, min_child_samples=min_child_samples,
                         reg_lambda=reg_lambda, n_jobs=n_jobs, random_state=random_state, **extra)
        self.early_stopping_rounds = early_stopping_rounds
        import lightgbm as lgb

        self._check_extra("lightgbm", extra, lgb.LGBMClassifier)

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        import lightgbm as lgb

        self.n_classes_ = _n_classes(y)
        self.model_ = lgb.LGBMClassifier(verbose=-1, **self.params)
        kwargs: dict[str, Any] = {}
        if X_val is not None:
            # lightgbm >= 4.7 names the validation data eval_X/eval_y; older ones eval_set.
            new_api = "eval_X" in inspect.signature(self.model_.fit).parameters
            data = {"eval_X": (X_val,), "eval_y": (y_val,)} if new_api else {"eval_set": [(X_val, y_val)]}
            kwargs = {
                **data,
                "eval_sample_weight": [_balanced(y_val, w_val)],
                "callbacks": [lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
            }
        self.model_.fit(X, y, sample_weight=_balanced(y, sample_weight), **kwargs)
        self.classes_ = self.model_.classes_.astype(int)
        self.best_epoch_ = getattr(self.model_, "best_iteration_", None)
        self.info_ = {"best_iteration": self.best_epoch_}
        return self


def _balanced(y: np.ndarray, w: np.ndarray | None) -> np.ndarray | None:
    return None if w is None else balance_classes(y, w)


def _rf_space(trial) -> dict:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 600, step=100),
        "max_depth": trial.suggest_categorical("max_depth", [None, 8, 16, 32]),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 20, log=True),
        "max_features": trial.suggest_categorical("max_features", ["sqrt", "log2", 0.5]),
    }


def _xgb_space(trial) -> dict:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_depth": trial.suggest_int("max_depth", 3, 10),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.1, 20, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10, log=True),
    }


def _lgbm_space(trial) -> dict:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 15, 255, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10, log=True),
    }


@register_model("random-forest", backend="sklearn", search_space=_rf_space)
def random_forest(**kw) -> RandomForest:
    """Random forest (scikit-learn), class-balanced event weights."""
    return RandomForest(**kw)


@register_model("xgboost", backend="xgboost", accepts_device=True, search_space=_xgb_space)
def xgboost(**kw) -> XGBoost:
    """XGBoost BDT (hist), early stopping on the validation split."""
    return XGBoost(**kw)


@register_model("lightgbm", backend="lightgbm", search_space=_lgbm_space)
def lightgbm(**kw) -> LightGBM:
    """LightGBM BDT, early stopping on the validation split."""
    return LightGBM(**kw)
