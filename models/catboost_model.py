"""CatBoost (Prokhorenkova et al., NeurIPS 2018): ordered boosting on oblivious trees, with
the data's categorical columns as CatBoost categoricals (ordered target statistics).

TabArena (Erickson et al., 2025) found it the strongest tree model at its defaults, so the
defaults here are the library's (1000 rounds, depth 6, L2 3, CatBoost's automatic learning
rate), with early stopping on the harness's validation split (the best round kept). The
search space is TabArena's (tabarena/models/catboost/hpo.py, the ``generate_configs_catboost``
space: Bernoulli bagging, plain boosting, 254 bins fixed; learning rate, depth, growth
policy, L2, row and column sampling, leaf iterations, one-hot size, model size penalty and
counter complexity searched).

Categorical columns are passed as integers made from the value's exact bits (a float64
viewed as int64): CatBoost hashes categories anyway, so any injective integer will do, it
needs no fitting, and it stays right whatever scaling preprocessing applied to the codes.
Event weights are class-balanced as for the other BDTs. ``device="cuda"`` trains on the GPU
(CatBoost's ``task_type="GPU"``); the per-level column sampling TabArena searches
(``colsample_bylevel``) exists only on the CPU, so a GPU fit leaves it out and says so in
its info.
"""
from __future__ import annotations

import inspect
import re

import numpy as np

from benchmarks.core.errors import ConfigError, DataError

from .base import (
    MAX_ROUNDS, MAX_WIDTH, NAMES, NONE, SEED, TEXT, THREADS, Param, categorical_columns, count_classes, integer,
    real,
)
from .registry import register_model
from .tabular import LibraryModel, _balanced


class CatBoost(LibraryModel):
    """CatBoost classifier; ``categorical_features`` (names in ``feature_names``) become
    CatBoost categoricals, ``early_stopping_rounds=None`` trains every round."""

    model_name = "catboost"
    PARAMS = {
        "iterations": Param(1000, integer(1, MAX_ROUNDS), "most boosting rounds"),
        "learning_rate": Param(None, real(0.0, low_open=True) | NONE, "shrinkage per round (None: CatBoost's automatic choice)"),
        "depth": Param(6, integer(1, 16), "depth of the (oblivious) trees"),
        "l2_leaf_reg": Param(3.0, real(0.0), "L2 penalty on leaf values"),
        "early_stopping_rounds": Param(50, integer(1, MAX_ROUNDS) | NONE, "rounds without a better validation loss before stopping"),
        "thread_count": Param(-1, THREADS, "threads (-1: all)"),
        "random_state": Param(0, SEED, "seed"),
        "feature_names": Param(None, NAMES | NONE, "names of the columns (to find the categorical ones)"),
        "categorical_features": Param(None, NAMES | NONE, "names of the columns CatBoost treats as categories"),
        "device": Param("cpu", TEXT, "'cuda' or 'cuda:N' trains on the GPU, anything else on the CPU"),
    }
    _LIBRARY_OWN = ("iterations", "learning_rate", "depth", "l2_leaf_reg", "thread_count", "random_state")
    # CatBoost's aliases of the declared counts would bypass their bounds.
    EXTRA_RULES = {**{alias: integer(1, MAX_ROUNDS) for alias in ("n_estimators", "num_boost_round", "num_trees", "od_wait")},
                   "border_count": integer(1, MAX_WIDTH), "max_leaves": integer(1, MAX_WIDTH)}

    @staticmethod
    def _library():
        from catboost import CatBoostClassifier

        return CatBoostClassifier

    @staticmethod
    def _library_errors() -> tuple:
        from catboost import CatBoostError

        return (CatBoostError,)

    def _check_extra_names(self, extra: dict) -> None:
        # CatBoost's get_params() lists only what was set; its constructor names them all.
        known = set(inspect.signature(self._library().__init__).parameters) - {"self"}
        unknown = sorted(set(extra) - known)
        if unknown:
            raise ConfigError(f"{self.model_name}: unknown parameter(s) {', '.join(unknown)}")

    def check_params(self) -> None:
        super().check_params()
        categorical_columns(self.model_name, self.feature_names, self.categorical_features)

    def _fit_library(self, model, X, y, **kwargs) -> None:
        try:
            super()._fit_library(model, X, y, **kwargs)
        except ConfigError as exc:  # CatBoost's messages open with its C++ source file and line
            raise ConfigError(re.sub(r"^catboost: \S+\.(?:cpp|h):\d+: ", "catboost: ", str(exc))) from None

    def _pool(self, X, y=None, w=None):
        import pandas as pd
        from catboost import Pool

        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise DataError(f"catboost: X must be a 2-D table, got shape {X.shape}")
        if X.shape[1] != self.n_features_:
            raise DataError(f"catboost: fitted on {self.n_features_} features, got {X.shape[1]}")
        if not self.cat_columns_:
            return Pool(X, y, weight=w)
        frame = pd.DataFrame(X)
        for j in self.cat_columns_:
            column = np.ascontiguousarray(X[:, j])
            if not np.isfinite(column).all():
                raise DataError(f"catboost: categorical column {j} holds NaN or infinite values")
            frame[j] = (column + 0.0).view(np.int64)  # + 0.0: -0.0 and 0.0 are one category
        return Pool(frame, y, weight=w, cat_features=self.cat_columns_)

    def _task(self) -> dict:
        device = str(self.device)
        if not device.startswith("cuda"):
            return {}
        index = device.split(":", 1)[1] if ":" in device else "0"
        return {"task_type": "GPU", "devices": index}

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        self.n_classes_ = count_classes(self.model_name, None, y)
        self.n_features_ = np.asarray(X).shape[1]
        self.cat_columns_ = categorical_columns(self.model_name, self.feature_names, self.categorical_features,
                                                self.n_features_)
        params = {k: v for k, v in self._library_params().items() if v is not None}
        task = self._task()
        dropped = []
        if task and "colsample_bylevel" in params:  # CPU-only in CatBoost (see the module docstring)
            dropped.append(f"colsample_bylevel={params.pop('colsample_bylevel')}")
        # Files and console chatter off: a fit leaves nothing behind in the working directory.
        self.model_ = self._library()(**{"verbose": False, "allow_writing_files": False, **task, **params})
        train = self._pool(X, y, _balanced(y, sample_weight))
        kwargs = {}
        if X_val is not None and y_val is not None:
            kwargs = {"eval_set": self._pool(X_val, y_val, _balanced(y_val, w_val)), "use_best_model": True,
                      "early_stopping_rounds": self.early_stopping_rounds}
        self._fit_library(self.model_, train, None, **kwargs)
        self.classes_ = np.asarray(self.model_.classes_).astype(int)
        self.best_epoch_ = self.model_.get_best_iteration() if kwargs else None
        self.info_ = {"device": "cuda" if task else "cpu", "best_iteration": self.best_epoch_,
                      "learning_rate": float(self.model_.learning_rate_),
                      "categorical": len(self.cat_columns_), "threads": self.thread_count,
                      **({"left_out_on_gpu": dropped} if dropped else {})}
        return self

    def predict_proba(self, X) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise ConfigError("catboost: call fit before predict_proba")
        return self._full_width(np.asarray(self.model_.predict_proba(self._pool(X)), dtype=np.float64))


def search_space(trial) -> dict:
    """TabArena's CatBoost space (see the module docstring)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 5e-3, 0.1, log=True),
        "bootstrap_type": "Bernoulli",
        "subsample": trial.suggest_float("subsample", 0.7, 1.0),
        "grow_policy": trial.suggest_categorical("grow_policy", ["SymmetricTree", "Depthwise"]),
        "depth": trial.suggest_int("depth", 4, 8),
        "colsample_bylevel": trial.suggest_float("colsample_bylevel", 0.85, 1.0),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1e-4, 5.0, log=True),
        "leaf_estimation_iterations": trial.suggest_int("leaf_estimation_iterations", 1, 20, log=True),
        "one_hot_max_size": trial.suggest_int("one_hot_max_size", 8, 100, log=True),
        "model_size_reg": trial.suggest_float("model_size_reg", 0.1, 1.5, log=True),
        "max_ctr_complexity": trial.suggest_int("max_ctr_complexity", 2, 5),
        "boosting_type": "Plain",
        "max_bin": 254,
    }


@register_model("catboost", backend="catboost", accepts_device=True, threads_param="thread_count",
                search_space=search_space, data_facts=("feature_names", "categorical_features"))
def catboost(**kw) -> CatBoost:
    """CatBoost (library defaults), the data's categorical columns as categoricals, early stopping."""
    return CatBoost(**kw)
