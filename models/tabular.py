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

from benchmarks.core.params import check_value

from .base import (
    MAX_LAYERS, MAX_MEMBERS, MAX_ROUNDS, MAX_ROWS, MAX_WIDTH, NONE, SEED, TEXT, THREADS, Estimator, Param, Rule,
    count_classes, integer, one_of, real,
)
from .registry import register_model


RATIO = real(0.0, 1.0, low_open=True)  # a fraction of the rows or columns
JOBS = THREADS


class LibraryModel(Estimator):
    """One library classifier behind the project's interface.

    Named constructor parameters are the wrapper's own, declared in its ``PARAMS``. Any other
    keyword argument goes to the library unchanged (an "extra"): kept as given in
    ``extra_params``, reported by ``get_params``, settable by ``set_params``, kept by
    ``clone``; a name the library does not know is a one-line ConfigError (in
    ``check_params``, hence before training, and in ``set_params``). Extras' values are
    the library's to check (a bad one is a one-line ConfigError when ``fit`` starts), except
    those that size work, which ``EXTRA_RULES`` bounds like a declared parameter: the
    library would accept 1e12 epochs and run until killed.
    """

    EXTRA = "extra"  # the generated __init__ takes **extra and keeps it in extra_params
    _LIBRARY_OWN: tuple[str, ...] = ()  # the wrapper's parameters that go to the library as they are
    EXTRA_RULES: dict[str, Rule] = {}  # the library's own arguments that size work, and their bounds

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
        for name, rule in self.EXTRA_RULES.items():
            if name in self.extra_params:
                check_value(self.model_name, name, self.extra_params[name], rule)

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
    PARAMS = {
        "n_estimators": Param(300, integer(1, MAX_ROUNDS), "trees"),
        "max_depth": Param(None, integer(1, MAX_LAYERS) | NONE, "deepest a tree grows (None: until the leaves are pure)"),
        "min_samples_leaf": Param(2, integer(1, MAX_ROWS) | real(0.0, 1.0, low_open=True, high_open=True),
                                  "fewest rows (or fraction of rows) in a leaf"),
        "max_features": Param("sqrt", one_of("sqrt", "log2") | integer(1, MAX_WIDTH) | RATIO | NONE,
                              "features tried per split"),
        "n_jobs": Param(-1, JOBS, "threads (-1: all)"),
        "random_state": Param(0, SEED, "seed of the bootstrap and the feature draws"),
    }
    _LIBRARY_OWN = tuple(PARAMS)

    @staticmethod
    def _library():
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
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
    PARAMS = {
        "n_estimators": Param(1000, integer(1, MAX_ROUNDS), "most boosting rounds"),
        "learning_rate": Param(0.05, real(0.0, low_open=True), "shrinkage per round"),
        "max_depth": Param(6, integer(0, MAX_LAYERS), "deepest a tree grows (0: no limit)"),
        "subsample": Param(0.9, RATIO, "fraction of the rows per tree"),
        "colsample_bytree": Param(0.8, RATIO, "fraction of the features per tree"),
        "min_child_weight": Param(1.0, real(0.0), "least hessian weight in a child"),
        "reg_lambda": Param(1.0, real(0.0), "L2 penalty on leaf weights"),
        "early_stopping_rounds": Param(50, integer(1, MAX_ROUNDS) | NONE, "rounds without a better validation loss before stopping"),
        "n_jobs": Param(-1, JOBS, "threads (-1: all)"),
        "random_state": Param(0, SEED, "seed"),
        "device": Param("cpu", TEXT, "'cuda' trains on the GPU, anything else on the CPU"),
    }
    _LIBRARY_OWN = tuple(k for k in PARAMS if k != "device")
    EXTRA_RULES = {"max_bin": integer(2, MAX_WIDTH), "num_parallel_tree": integer(1, MAX_MEMBERS),
                   "max_leaves": integer(0, MAX_ROWS)}

    @staticmethod
    def _library():
        import xgboost as xgb

        return xgb.XGBClassifier

    @staticmethod
    def _library_errors() -> tuple:
        import xgboost as xgb

        return (xgb.core.XGBoostError,)

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
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
    PARAMS = {
        "n_estimators": Param(1000, integer(1, MAX_ROUNDS), "most boosting rounds"),
        "learning_rate": Param(0.05, real(0.0, low_open=True), "shrinkage per round"),
        "num_leaves": Param(63, integer(2, 131_072), "most leaves per tree (LightGBM's own limit)"),
        "subsample": Param(0.9, RATIO, "fraction of the rows per bagging"),
        "subsample_freq": Param(1, integer(0, MAX_ROUNDS), "bagging every this many rounds (0: never)"),
        "colsample_bytree": Param(0.8, RATIO, "fraction of the features per tree"),
        "min_child_samples": Param(20, integer(0, MAX_ROWS), "fewest rows in a leaf"),
        "reg_lambda": Param(1.0, real(0.0), "L2 penalty on leaf weights"),
        "early_stopping_rounds": Param(50, integer(1, MAX_ROUNDS) | NONE, "rounds without a better validation loss before stopping"),
        "n_jobs": Param(-1, JOBS, "threads (-1: all)"),
        "random_state": Param(0, SEED, "seed"),
    }
    _LIBRARY_OWN = tuple(k for k in PARAMS if k != "early_stopping_rounds")
    EXTRA_RULES = {"max_depth": integer(-1, MAX_LAYERS), "subsample_for_bin": integer(1, MAX_ROWS)}

    @staticmethod
    def _library():
        import lightgbm as lgb

        return lgb.LGBMClassifier

    @staticmethod
    def _library_errors() -> tuple:
        import lightgbm as lgb

        return (lgb.basic.LightGBMError,)

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
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
