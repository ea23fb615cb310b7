"""The FCNN baseline: a 4-hidden-layer ReLU network, as in Strong's HiggsML studies.

torch is imported inside ``fit``/``predict_proba`` only, so registering this model needs no torch.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks.core.device import resolve_device
from benchmarks.core.errors import ConfigError, MissingBackendError

from .base import BOOL, NONE, SEED, Estimator, check_device, count_classes, integer, real
from .registry import register_model


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingBackendError("the fcnn model needs torch; install it with: pip install '.[torch]'") from exc
    return torch


def _check_X(X: np.ndarray, what: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ConfigError(f"fcnn: {what} must be a 2-D table, got shape {X.shape}")
    if np.isnan(X).any():
        raise ConfigError("fcnn cannot take NaN; use missing='impute'")
    if not np.isfinite(X).all():
        raise ConfigError(f"fcnn: {what} holds infinite values")
    return X


class FCNN(Estimator):
    """Fully connected ReLU classifier with a softmax over the classes.

    ``layers`` hidden layers of width ``hidden``; optional batch norm and dropout (off by
    default, as in the baseline). Trained with AdamW + one-cycle on a class-balanced
    weighted cross-entropy (``models.engine``), early stopping on the validation
    loss with the best epoch's weights restored. ``standardise`` fits a mean/std on the
    training X so the model is sound whether or not the harness standardised already.
    ``patience=None`` never stops early (the best epoch's weights are still restored).
    """

    model_name = "fcnn"
    RULES = {
        "hidden": integer(1), "layers": integer(1), "dropout": real(0.0, 1.0, high_open=True),
        "batchnorm": BOOL, "lr": real(0.0, low_open=True), "weight_decay": real(0.0),
        "batch_size": integer(1), "max_epochs": integer(1), "patience": integer(0) | NONE,
        "class_balance": BOOL, "standardise": BOOL, "amp": BOOL, "eval_batch_size": integer(1),
        "n_classes": integer(2) | NONE, "random_state": SEED, "progress": BOOL, "num_threads": integer() | NONE,
    }

    def __init__(
        self,
        hidden: int = 100,
        layers: int = 4,
        dropout: float = 0.0,
        batchnorm: bool = False,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        max_epochs: int = 50,
        patience: int = 5,
        class_balance: bool = True,
        standardise: bool = True,
        amp: bool = True,
        eval_batch_size: int = 16384,
        n_classes: int | None = None,
        device: str = "auto",
        random_state: int | None = 0,
        progress: bool = True,
        num_threads: int | None = None,
    ):
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.class_balance = class_balance
        self.standardise = standardise
        self.amp = amp
        self.eval_batch_size = eval_batch_size
        self.n_classes = n_classes
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self.num_threads = num_threads

    def check_params(self) -> None:
        super().check_params()
        if self.batchnorm and self.batch_size < 2:
            raise ConfigError(f"fcnn: batch_size must be >= 2 with batchnorm, got {self.batch_size!r}")
        check_device("fcnn", self.device)

    # ------------------------------------------------------------------ network

    def _build(self, n_features: int, n_classes: int):
        nn = _torch().nn
        mods: list = []
        width_in = n_features
        for _ in range(int(self.layers)):
            mods.append(nn.Linear(width_in, int(self.hidden)))
            if self.batchnorm:
                mods.append(nn.BatchNorm1d(int(self.hidden)))
            mods.append(nn.ReLU())
            if self.dropout:
                mods.append(nn.Dropout(float(self.dropout)))
            width_in = int(self.hidden)
        mods.append(nn.Linear(width_in, n_classes))
        return nn.Sequential(*mods)

    def _scale(self, X: np.ndarray) -> np.ndarray:
        if self.mean_ is not None:
            X = (X - self.mean_) / self.std_
        return X.astype(np.float32)

    # ------------------------------------------------------------------ fit / predict

    def _trainer(self, device: str, threads: int):
        from .engine import OneCycle, Trainer

        patience = None if self.patience is None else int(self.patience)
        return Trainer(schedule=OneCycle(weight_decay=float(self.weight_decay)), batch_size=int(self.batch_size),
                       eval_batch_size=int(self.eval_batch_size), patience=patience, device=device,
                       amp=self.amp, threads=threads, progress=self.progress)

    def _split(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None):
        from .engine import Split, TensorRows, loss_weights
        from .torch_utils import to_device

        # The whole table fits on the device (HiggsML: 250k x 30 floats = 30 MB): one
        # pinned transfer, then batches are device-side gathers with no per-batch copies.
        rows = TensorRows(to_device(self._scale(X), self.device_))
        return Split.of(rows, y, loss_weights(y, w, self.n_classes_, self.class_balance), self.device_)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        w_val: np.ndarray | None = None,
        epoch_callback: Callable[[int, np.ndarray], Any] | None = None,
    ) -> "FCNN":
        self.check_params()
        _torch()
        from .engine import Stage
        from .torch_utils import choose_threads

        X, y = _check_X(X, "X"), np.asarray(y, dtype=np.int64)
        has_val = X_val is not None and y_val is not None
        if has_val:
            X_val, y_val = _check_X(X_val, "X_val"), np.asarray(y_val, dtype=np.int64)
        self.n_classes_ = count_classes("fcnn", self.n_classes, y, y_val if has_val else None)
        self.classes_ = np.arange(self.n_classes_)
        self.n_features_ = X.shape[1]
        self._fit_scaler(X)
        self.device_ = resolve_device(self.device)
        self.threads_ = choose_threads(self.num_threads)
        self.trainer_ = trainer = self._trainer(self.device_, self.threads_)
        with trainer.session(self.random_state) as gen:
            net = self._build(self.n_features_, self.n_classes_).to(self.device_)
            train = self._split(X, y, sample_weight)
            val = self._split(X_val, y_val, w_val) if has_val else None
            stage = Stage([{"params": list(net.parameters()), "lr": float(self.lr)}], int(self.max_epochs), desc="fcnn")
            self.history_: list[dict] = []
            result = trainer.fit(net, [stage], train, val, generator=gen,
                                 epoch_callback=epoch_callback if has_val else None, history=self.history_)
        self.net_ = net.eval()
        self.best_epoch_ = result.best_epoch
        self.info_ = self._describe(net)
        return self

    def _fit_scaler(self, X: np.ndarray) -> None:
        if self.standardise:
            self.mean_ = X.mean(axis=0)
            std = X.std(axis=0)
            self.std_ = np.where(std > 0, std, 1.0)
        else:
            self.mean_ = self.std_ = None

    def _describe(self, net) -> dict:
        return {
            "device": self.device_,
            "precision": self.trainer_.precision,
            "batch_size": int(self.batch_size),
            "threads": self.threads_,
            "architecture": f"{self.layers}x{self.hidden} ReLU"
                            + (" +batchnorm" if self.batchnorm else "")
                            + (f" +dropout {self.dropout}" if self.dropout else ""),
            "parameters": int(sum(p.numel() for p in net.parameters())),
            "epochs_run": len(self.history_),
            "best_epoch": self.best_epoch_,
            "standardise": bool(self.standardise),
            "class_balance": bool(self.class_balance),
        }

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "net_"):
            raise ConfigError("fcnn: call fit before predict_proba")
        from .engine import TensorRows
        from .torch_utils import to_device

        X = _check_X(X, "X")
        if X.shape[1] != self.n_features_:
            raise ConfigError(f"fcnn: fitted on {self.n_features_} features, got {X.shape[1]}")
        if len(X) == 0:
            return np.zeros((0, self.n_classes_))
        rows = TensorRows(to_device(self._scale(X), self.device_))
        return self.trainer_.predict_proba(self.net_, rows)


def search_space(trial) -> dict:
    """Optuna space around the 4x100 baseline: width, depth, regularisation, optimiser."""
    return {
        "hidden": trial.suggest_categorical("hidden", [64, 100, 200, 300]),
        "layers": trial.suggest_int("layers", 2, 6),
        "dropout": trial.suggest_float("dropout", 0.0, 0.3),
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512, 1024]),
    }


@register_model("fcnn", backend="torch", accepts_device=True, threads_param="num_threads", search_space=search_space)
def fcnn(**kw) -> FCNN:
    """4-hidden-layer ReLU FCNN (100 wide), weighted loss, early stopping."""
    return FCNN(**kw)
