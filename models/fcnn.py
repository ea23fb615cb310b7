"""The FCNN baseline: a 4-hidden-layer ReLU network, as in Strong's HiggsML studies.

torch is imported inside ``fit``/``predict_proba`` only, so registering this model needs no torch.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks.core.errors import ConfigError

from .base import BOOL, MAX_BATCH, MAX_EPOCHS, MAX_LAYERS, MAX_WIDTH, NONE, Param, integer, real
from .registry import register_model
from .torch_estimator import TorchEstimator


class FCNN(TorchEstimator):
    """Fully connected ReLU classifier with a softmax over the classes.

    ``layers`` hidden layers of width ``hidden``; optional batch norm and dropout (off by
    default, as in the baseline). Trained with AdamW + one-cycle on a class-balanced
    weighted cross-entropy (``models.engine``), early stopping on the validation
    loss with the best epoch's weights restored. ``standardise`` fits a mean/std on the
    training X so the model is sound whether or not the harness standardised already.
    ``patience=None`` never stops early (the best epoch's weights are still restored).
    """

    model_name = "fcnn"
    PARAMS = {
        "hidden": Param(100, integer(1, MAX_WIDTH), "width of each hidden layer"),
        "layers": Param(4, integer(1, MAX_LAYERS), "number of hidden layers"),
        "dropout": Param(0.0, real(0.0, 1.0, high_open=True), "dropout after each hidden layer (0: none)"),
        "batchnorm": Param(False, BOOL, "batch norm after each hidden linear layer"),
        "lr": Param(1e-3, real(0.0, low_open=True), "peak learning rate of the one-cycle schedule"),
        "weight_decay": Param(1e-4, real(0.0), "AdamW weight decay"),
        "batch_size": Param(256, integer(1, MAX_BATCH), "training batch size"),
        "max_epochs": Param(50, integer(1, MAX_EPOCHS), "most epochs to train"),
        "patience": Param(5, integer(0, MAX_EPOCHS) | NONE, "epochs without a better validation loss before stopping (None: never)"),
        "class_balance": Param(True, BOOL, "weight each class to the same total in the loss"),
        "standardise": Param(True, BOOL, "scale X by its training mean and std"),
        "amp": Param(True, BOOL, "bf16 autocast on CUDA"),
        "eval_batch_size": Param(16384, integer(1, MAX_BATCH), "rows per evaluation batch"),
    }

    def check_params(self) -> None:
        super().check_params()
        if self.batchnorm and self.batch_size < 2:
            raise ConfigError(f"fcnn: batch_size must be >= 2 with batchnorm, got {self.batch_size!r}")

    # ------------------------------------------------------------------ network

    def _build(self, n_features: int, n_classes: int):
        nn = self._torch().nn
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
        self._torch()
        from .engine import Stage

        X, y, X_val, y_val = self._fit_inputs(X, y, X_val, y_val)
        has_val = X_val is not None
        self._fit_setup(X, y, y_val)
        self._fit_scaler(X)
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
        X = self._predict_input(X)
        from .engine import TensorRows
        from .torch_utils import to_device

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
