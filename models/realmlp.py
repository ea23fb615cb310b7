"""RealMLP (Holzmüller, Grinsztajn and Steinwart, "Better by Default: Strong Pre-Tuned MLPs
and Boosted Trees on Tabular Data", NeurIPS 2024) from ``pytabkit``: an MLP with tuned
defaults (robust scaling and smooth clipping, periodic numerical embeddings, a front scale
layer, parametric activations, label smoothing, a multi-cycle schedule, best epoch on the
validation split).

Defaults are ``RealMLP_TD_Classifier``'s ("tuned defaults"), left to pytabkit: every one of
its constructor arguments can be set by a suite (an unknown name is a one-line error). The
harness's validation split is pytabkit's validation set (its best epoch). The data's
categorical columns are passed as pytabkit's ``cat_indicator`` (one-hot up to
``max_one_hot_cat_size``, embedded above). The search space is pytabkit's ``default`` HPO
space (the paper's RealMLP-HPO space), its categorical choices drawn without their sampling
probabilities, which an Optuna categorical cannot express.

Event weights: pytabkit's estimators take none, so RealMLP trains unweighted (every event
counts 1, no class balancing) and its info says so; it is scored with the weights like
every model. Its own training runs in pytabkit (PyTorch Lightning), not on the project's
engine, so it has no epoch callback: a search of RealMLP cannot prune.
"""
from __future__ import annotations

import warnings

import numpy as np

from benchmarks.core.errors import ConfigError, DataError

from .base import (
    MAX_BATCH, MAX_EPOCHS, MAX_LAYERS, MAX_MEMBERS, MAX_THREADS, MAX_WIDTH, NAMES, NONE, SEED, TEXT, Param, Rule,
    categorical_columns, count_classes, integer,
)
from .registry import register_model
from .tabular import LibraryModel

WIDTHS = Rule(f"a list of at most {MAX_LAYERS} integers from 1 to {MAX_WIDTH}",
              lambda v: isinstance(v, (list, tuple)) and 0 < len(v) <= MAX_LAYERS
              and all(integer(1, MAX_WIDTH).ok(x) for x in v), ("x", [0], [MAX_WIDTH + 1]))
HIDDEN = {"256x3": [256] * 3, "64x5": [64] * 5, "512x1": [512]}  # the HPO space's three shapes


class RealMLP(LibraryModel):
    """pytabkit's ``RealMLP_TD_Classifier``; any of its arguments is an extra parameter."""

    model_name = "realmlp"
    PARAMS = {
        "n_threads": Param(None, integer(1, MAX_THREADS) | NONE, "CPU threads (None: pytabkit's choice)"),
        "random_state": Param(0, SEED, "seed"),
        "feature_names": Param(None, NAMES | NONE, "names of the columns (to find the categorical ones)"),
        "categorical_features": Param(None, NAMES | NONE, "names of the columns RealMLP treats as categories"),
        "device": Param("cpu", TEXT, "'cuda' or 'cuda:N' trains on the GPU, anything else on the CPU"),
    }
    _LIBRARY_OWN = ("n_threads", "random_state")
    EXTRA_RULES = {"n_epochs": integer(1, MAX_EPOCHS), "stop_epoch": integer(1, MAX_EPOCHS) | NONE,
                   "batch_size": integer(1, MAX_BATCH), "predict_batch_size": integer(1, MAX_BATCH),
                   "n_hidden_layers": integer(1, MAX_LAYERS), "hidden_width": integer(1, MAX_WIDTH),
                   "hidden_sizes": WIDTHS | TEXT | NONE, "embedding_size": integer(1, MAX_WIDTH),
                   "plr_hidden_1": integer(1, MAX_WIDTH), "plr_hidden_2": integer(1, MAX_WIDTH),
                   "n_ens": integer(1, MAX_MEMBERS), "n_cv": integer(1, MAX_MEMBERS), "n_refit": integer(0, MAX_MEMBERS),
                   "n_repeats": integer(1, MAX_MEMBERS)}

    @staticmethod
    def _library():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit's deprecation notice, at pytabkit's import
            from pytabkit import RealMLP_TD_Classifier

        return RealMLP_TD_Classifier

    def check_params(self) -> None:
        super().check_params()
        categorical_columns(self.model_name, self.feature_names, self.categorical_features)

    def _device(self) -> str:
        device = str(self.device)
        if not device.startswith("cuda"):
            return "cpu"
        return device if ":" in device else "cuda:0"

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise DataError(f"realmlp: X must be a 2-D table, got shape {X.shape}")
        self.n_classes_ = count_classes(self.model_name, None, y)
        self.n_features_ = X.shape[1]
        cats = categorical_columns(self.model_name, self.feature_names, self.categorical_features, X.shape[1])
        cat_indicator = [j in cats for j in range(X.shape[1])] if cats else None
        self.model_ = self._library()(**{"verbosity": 0, "device": self._device(), **self._library_params()})
        kwargs = {"cat_indicator": cat_indicator} if cat_indicator else {}
        if X_val is not None and y_val is not None:
            kwargs.update(X_val=np.asarray(X_val, dtype=np.float64), y_val=np.asarray(y_val))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Lightning's and torch.jit's advice on every fit
            self._fit_library(self.model_, X, np.asarray(y), **kwargs)
        self.classes_ = np.asarray(self.model_.classes_).astype(int)
        self.info_ = {"device": self._device(), "threads": self.n_threads,
                      "event_weights": "not used (pytabkit's RealMLP takes none)" if sample_weight is not None
                      else "none", "categorical": sum(cat_indicator or [])}
        return self

    def predict_proba(self, X) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise ConfigError("realmlp: call fit before predict_proba")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_:
            raise DataError(f"realmlp: fitted on {self.n_features_} features, got shape {X.shape}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._full_width(np.asarray(self.model_.predict_proba(X), dtype=np.float64))


def search_space(trial) -> dict:
    """pytabkit's ``default`` RealMLP HPO space (``RealMLPParamSampler``), classification."""
    return {
        "num_emb_type": trial.suggest_categorical("num_emb_type", ["none", "pbld", "pl", "plr"]),
        "add_front_scale": trial.suggest_categorical("add_front_scale", [True, False]),
        "lr": trial.suggest_float("lr", 2e-2, 3e-1, log=True),
        "p_drop": trial.suggest_categorical("p_drop", [0.0, 0.15, 0.3]),
        "wd": trial.suggest_categorical("wd", [0.0, 2e-2]),
        "plr_sigma": trial.suggest_float("plr_sigma", 0.05, 0.5, log=True),
        "act": trial.suggest_categorical("act", ["relu", "selu", "mish"]),
        "hidden_sizes": HIDDEN[trial.suggest_categorical("hidden_sizes", list(HIDDEN))],
        "ls_eps": trial.suggest_categorical("ls_eps", [0.0, 0.1]),
    }


@register_model("realmlp", backend="realmlp", family="dnn", accepts_device=True, threads_param="n_threads",
                search_space=search_space, data_facts=("feature_names", "categorical_features"))
def realmlp(**kw) -> RealMLP:
    """RealMLP (pytabkit, tuned defaults), categorical columns declared; trains without event weights."""
    return RealMLP(**kw)
