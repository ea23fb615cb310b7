"""Tabular baselines: random forest (scikit-learn), XGBoost and LightGBM (the BDTs).

Defaults are the field's usual starting points for HiggsML-sized problems; every one is a
plain constructor parameter, so a suite's TOML can set any of them, and any other keyword
the library knows is passed to it unchanged.
"""
from __future__ import annotations

import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from benchmarks.core.errors import ConfigError, DataError
from benchmarks.core.weights import balance_classes

from .base import NONE, SEED, TEXT, Estimator, count_classes, integer, one_of, real
from .registry import register_model


RATIO = real(0.0, 1.0, low_open=True)  # a fraction of the rows or columns
JOBS = integer() | NONE


class LibraryModel(Estimator):
    """One library classifier behind the project's interface.

    Named constructor parameters are the wrapper's own, checked by its ``RULES``. Any other
    keyword argument goes to the library unchanged (an "extra"): kept as given in
    ``extra_params``, reported by ``get_params``, settable by ``set_params``, kept by
    ``clone``; a name the library does not know is a one-line ConfigError (in
    ``check_params``, hence before training, and in ``set_params``). Extras' values are
    the library's to check: a bad one is a one-line ConfigError when ``fit`` starts.
    """

    _LIBRARY_OWN: tuple[str, ...] = ()  # the wrapper's parameters that go to the library as they are

    def __init__(self, **extra: Any):
        self.extra_params = extra

    @staticmethod
    def _library():
        """The library's classifier class (imported only when needed)."""
        raise NotImplementedError

    def get_params(self, deep: bool = True) -> dict:
        return {**super().get_params(deep), **self.extra_params}

    def set_params(self, **params: Any) -> "LibraryModel":
        own = set(super().get_params(deep=False))
        extra = {k: v for k, v in params.items() if k not in own}
        self._check_extra_names(extra)
        super().set_params(**{k: v for k, v in params.items() if k in own})
        self.extra_params.update(extra)
        return self

    def _check_extra_names(self, extra: dict) -> None:
        unknown = sorted(set(extra) - set(self._library()().get_params()))
        if unknown:
            raise ConfigError(f"{self.model_name}: unknown parameter(s) {', '.join(unknown)}")

    def check_params(self) -> None:
        super().check_params()
        self._check_extra_names(self.extra_params)

    def _library_params(self) -> dict:
        """What the library's constructor gets: the wrapper's parameters and the extras."""
        own = super().get_params(deep=False)
        return {**{k: own[k] for k in self._LIBRARY_OWN}, **self.extra_params}

    def _fit_library(self, model, X, y, **kwargs) -> None:
        try:
            model.fit(X, y, **kwargs)
        except (ValueError, TypeError, *self._library_errors()) as exc:  # a bad extra's value, mostly
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # libraries add stack traces
            raise ConfigError(f"{self.model_name}: {first}") from None

    @staticmethod
    def _library_errors() -> tuple:
        return ()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self._full_width(np.asarray(self.model_.predict_proba(X), dtype=np.float64))

    def _full_width(self, proba: np.ndarray) -> np.ndarray:
        if proba.shape[1] < self.n_classes_:  # a class absent from training
            full = np.zeros((proba.shape[0], self.n_classes_))
            full[:, self.classes_] = proba
            proba = full
        return proba


class RandomForest(LibraryModel):
    """Random forest; ``predict_proba`` adds the trees' probabilities in tree order, so it is
    bit-reproducible for a given ``random_state`` whatever ``n_jobs`` (scikit-learn's own
    sum races across threads and moves probabilities by an ulp from run to run)."""

    model_name = "random-forest"
    RULES = {
        "n_estimators": integer(1), "max_depth": integer(1) | NONE,
        "min_samples_leaf": integer(1) | real(0.0, 1.0, low_open=True, high_open=True),
        "max_features": one_of("sqrt", "log2") | integer(1) | RATIO | NONE,
        "n_jobs": JOBS, "random_state": SEED,
    }
    _LIBRARY_OWN = tuple(RULES)

    def __init__(self, n_estimators=300, max_depth=None, min_samples_leaf=2, max_features="sqrt",
                 n_jobs=-1, random_state=0, **extra):
        super().__init__(**extra)
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_jobs = n_jobs
        self.random_state = random_state

    @staticmethod
    def _library():
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        self.check_params()
        self.n_classes_ = count_classes(self.model_name, None, y)
        self.model_ = self._library()(**self._library_params())
        self._fit_library(self.model_, X, y, sample_weight=_balanced(y, sample_weight))
        self.classes_ = self.model_.classes_.astype(int)
        self.info_ = {"threads": self.n_jobs}
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from joblib import effective_n_jobs

        X = np.asarray(X, dtype=np.float32)  # what scikit-learn's trees read
        if X.ndim != 2 or X.shape[1] != self.model_.n_features_in_:
            raise DataError(f"random-forest: fitted on {self.model_.n_features_in_} features, got shape {X.shape}")
        if np.isinf(X).any():
            raise DataError("random-forest: X holds infinite values (or values too large for float32)")
        k = max(1, min(effective_n_jobs(self.n_jobs), len(X)))
        edges = np.linspace(0, len(X), k + 1).astype(int)
        with ThreadPoolExecutor(k) as pool:  # the trees release the GIL
            sums = list(pool.map(self._tree_sum, [X[a:b] for a, b in zip(edges[:-1], edges[1:])]))
        proba = np.concatenate(sums)
        proba /= len(self.model_.estimators_)
        return self._full_width(proba)

    def _tree_sum(self, X: np.ndarray) -> np.ndarray:
        """The trees' probabilities summed in tree order: each row's sum is the same
        whichever thread computes it, and equal to scikit-learn's with n_jobs=1."""
        total = np.zeros((len(X), len(self.model_.classes_)))
        for tree in self.model_.estimators_:
            total += tree.predict_proba(X, check_input=False)
        return total


class XGBoost(LibraryModel):
    """XGBoost (hist); ``device="cuda"`` trains on the GPU, anything else on the CPU."""

    model_name = "xgboost"
    RULES = {
        "n_estimators": integer(1), "learning_rate": real(0.0, low_open=True), "max_depth": integer(0),
        "subsample": RATIO, "colsample_bytree": RATIO, "min_child_weight": real(0.0), "reg_lambda": real(0.0),
        "early_stopping_rounds": integer(1) | NONE, "n_jobs": JOBS, "random_state": SEED, "device": TEXT,
    }
    _LIBRARY_OWN = tuple(k for k in RULES if k != "device")

    def __init__(self, n_estimators=1000, learning_rate=0.05, max_depth=6, subsample=0.9,
                 colsample_bytree=0.8, min_child_weight=1.0, reg_lambda=1.0,
                 early_stopping_rounds=50, n_jobs=-1, random_state=0, device="cpu", **extra):
        super().__init__(**extra)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.device = device

    @staticmethod
    def _library():
        import xgboost as xgb

        return xgb.XGBClassifier

    @staticmethod
    def _library_errors() -> tuple:
        import xgboost as xgb

        return (xgb.core.XGBoostError,)

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        self.check_params()
        self.n_classes_ = count_classes(self.model_name, None, y)
        params = {"tree_method": "hist", **self._library_params()}
        if X_val is None:
            params.pop("early_stopping_rounds")
        device = "cuda" if self.device == "cuda" else "cpu"
        self.model_ = self._library()(device=device, **params)
        eval_set = None if X_val is None else [(X_val, y_val)]
        eval_w = None if X_val is None else [_balanced(y_val, w_val)]
        self._fit_library(self.model_, X, y, sample_weight=_balanced(y, sample_weight), eval_set=eval_set,
                          sample_weight_eval_set=eval_w, verbose=False)
        self.classes_ = np.arange(self.n_classes_)
        self.best_epoch_ = getattr(self.model_, "best_iteration", None)
        self.info_ = {"device": device, "best_iteration": self.best_epoch_}
        return self


class LightGBM(LibraryModel):
    """LightGBM; ``early_stopping_rounds=None`` trains all ``n_estimators`` rounds."""

    model_name = "lightgbm"
    RULES = {
        "n_estimators": integer(1), "learning_rate": real(0.0, low_open=True), "num_leaves": integer(2),
        "subsample": RATIO, "subsample_freq": integer(0), "colsample_bytree": RATIO,
        "min_child_samples": integer(0), "reg_lambda": real(0.0), "early_stopping_rounds": integer(1) | NONE,
        "n_jobs": JOBS, "random_state": SEED,
    }
    _LIBRARY_OWN = tuple(k for k in RULES if k != "early_stopping_rounds")

    def __init__(self, n_estimators=1000, learning_rate=0.05, num_leaves=63, subsample=0.9,
                 subsample_freq=1, colsample_bytree=0.8, min_child_samples=20, reg_lambda=1.0,
                 early_stopping_rounds=50, n_jobs=-1, random_state=0, **extra):
        super().__init__(**extra)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.n_jobs = n_jobs
        self.random_state = random_state

    @staticmethod
    def _library():
        import lightgbm as lgb

        return lgb.LGBMClassifier

    @staticmethod
    def _library_errors() -> tuple:
        import lightgbm as lgb

        return (lgb.basic.LightGBMError,)

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        self.check_params()
        self.n_classes_ = count_classes(self.model_name, None, y)
        self.model_ = self._library()(**{"verbose": -1, **self._library_params()})
        kwargs = {} if X_val is None else self._validation(self.model_, X_val, y_val, w_val)
        self._fit_library(self.model_, X, y, sample_weight=_balanced(y, sample_weight), **kwargs)
        self.classes_ = self.model_.classes_.astype(int)
        self.best_epoch_ = getattr(self.model_, "best_iteration_", None)
        self.info_ = {"best_iteration": self.best_epoch_}
        return self

    def _validation(self, model, X_val, y_val, w_val) -> dict:
        import lightgbm as lgb

        # lightgbm >= 4.7 names the validation data eval_X/eval_y; older ones eval_set.
        new_api = "eval_X" in inspect.signature(model.fit).parameters
        data = {"eval_X": (X_val,), "eval_y": (y_val,)} if new_api else {"eval_set": [(X_val, y_val)]}
        stop = [] if self.early_stopping_rounds is None else [
            lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        return {**data, "eval_sample_weight": [_balanced(y_val, w_val)], "callbacks": stop}


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


@register_model("random-forest", backend="sklearn", threads_param="n_jobs", search_space=_rf_space)
def random_forest(**kw) -> RandomForest:
    """Random forest (scikit-learn), class-balanced event weights."""
    return RandomForest(**kw)


@register_model("xgboost", backend="xgboost", accepts_device=True, threads_param="n_jobs", search_space=_xgb_space)
def xgboost(**kw) -> XGBoost:
    """XGBoost BDT (hist), early stopping on the validation split."""
    return XGBoost(**kw)


@register_model("lightgbm", backend="lightgbm", threads_param="n_jobs", search_space=_lgbm_space)
def lightgbm(**kw) -> LightGBM:
    """LightGBM BDT, early stopping on the validation split."""
    return LightGBM(**kw)
