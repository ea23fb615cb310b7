"""The FCNN baseline: a 4-hidden-layer ReLU network, as in Strong's HiggsML studies.

torch is imported inside ``fit``/``predict_proba`` only, so registering this model needs no torch.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks.core.device import resolve_device
from benchmarks.core.errors import ConfigError, MissingBackendError

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


class FCNN:
    """Fully connected ReLU classifier with a softmax over the classes.

    ``layers`` hidden layers of width ``hidden``; optional batch norm and dropout (off by
    default, as in the baseline). Trained with AdamW + one-cycle on a class-balanced
    weighted cross-entropy (see ``models.torch_utils``), early stopping on the validation
    loss with the best epoch's weights restored. ``standardise`` fits a mean/std on the
    training X so the model is sound whether or not the harness standardised already.
    """

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
        if int(layers) < 1 or int(hidden) < 1:
            raise ConfigError(f"fcnn: layers and hidden must be >= 1, got layers={layers}, hidden={hidden}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"fcnn: dropout must be in [0, 1), got {dropout}")

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in (
            "hidden", "layers", "dropout", "batchnorm", "lr", "weight_decay", "batch_size",
            "max_epochs", "patience", "class_balance", "standardise", "amp", "eval_batch_size",
            "n_classes", "device", "random_state", "progress", "num_threads")}

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
        torch = _torch()
        from . import torch_utils as tu

        X = _check_X(X, "X")
        y = np.asarray(y, dtype=np.int64)
        has_val = X_val is not None and y_val is not None
        if has_val:
            X_val = _check_X(X_val, "X_val")
            y_val = np.asarray(y_val, dtype=np.int64)
        top = max(int(y.max()), int(y_val.max()) if has_val else 0)
        self.n_classes_ = int(self.n_classes or top + 1)
        self.classes_ = np.arange(self.n_classes_)
        self.n_features_ = X.shape[1]

        if self.standardise:
            self.mean_ = X.mean(axis=0)
            std = X.std(axis=0)
            self.std_ = np.where(std > 0, std, 1.0)
        else:
            self.mean_ = self.std_ = None

        self.device_ = resolve_device(self.device)
        threads = tu.choose_threads(self.num_threads)
        self.threads_ = threads
        with tu.torch_threads(threads):
            gen = tu.seed_everything(self.random_state)
            net = self._build(self.n_features_, self.n_classes_).to(self.device_)
            dev = self.device_
            # The whole table fits on the device (HiggsML: 250k x 30 floats = 30 MB): one
            # pinned transfer, then batches are device-side gathers with no per-batch copies.
            Xt = tu.to_device(self._scale(X), dev)
            yt = tu.to_device(y, dev)
            wt = tu.to_device(tu.loss_weights(y, sample_weight, self.n_classes_, self.class_balance), dev, torch.float32)
            if has_val:
                Xv = tu.to_device(self._scale(X_val), dev)
                yv = tu.to_device(y_val, dev)
                wv = tu.to_device(tu.loss_weights(y_val, w_val, self.n_classes_, self.class_balance), dev, torch.float32)

            steps = tu.n_train_batches(len(y), int(self.batch_size))
            opt, sched = tu.adamw_onecycle(
                [{"params": list(net.parameters()), "lr": float(self.lr)}],
                weight_decay=float(self.weight_decay), total_steps=steps * int(self.max_epochs))

            def train_one_epoch() -> float:
                net.train()
                total = torch.zeros((), device=dev)
                count = 0
                for idx in tu.batch_indices(len(y), int(self.batch_size), True, gen):
                    idx = idx.to(dev, non_blocking=True)
                    with tu.autocast(dev, self.amp):
                        logits = net(Xt[idx])
                    loss = tu.weighted_ce(logits, yt[idx], wt[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
                    # Accumulate on the device: a .item() per batch would sync the GPU each step.
                    total += loss.detach() * len(idx)
                    count += len(idx)
                return float(total) / max(count, 1)

            def evaluate() -> tuple[float, np.ndarray]:
                logits = self._logits(net, Xv)
                ce = torch.nn.functional.cross_entropy(logits, yv, reduction="none")
                val_loss = float((ce * wv).sum() / wv.sum())
                return val_loss, torch.softmax(logits, 1).double().cpu().numpy()

            self.history_: list[dict] = []
            stopper = tu.EarlyStopping(patience=int(self.patience))
            tu.run_epochs(net, n_epochs=int(self.max_epochs), train_one_epoch=train_one_epoch,
                          evaluate=evaluate if has_val else None, stopper=stopper,
                          history=self.history_, epoch_callback=epoch_callback if has_val else None,
                          progress=self.progress, desc="fcnn")
            stopper.restore(net)
        self.net_ = net.eval()
        self.best_epoch_ = stopper.best_epoch
        self.info_ = {
            "device": self.device_,
            "precision": tu.precision_name(self.device_, self.amp),
            "batch_size": int(self.batch_size),
            "threads": threads,
            "architecture": f"{self.layers}x{self.hidden} ReLU"
                            + (" +batchnorm" if self.batchnorm else "")
                            + (f" +dropout {self.dropout}" if self.dropout else ""),
            "parameters": int(sum(p.numel() for p in net.parameters())),
            "epochs_run": len(self.history_),
            "best_epoch": self.best_epoch_,
            "standardise": bool(self.standardise),
            "class_balance": bool(self.class_balance),
        }
        return self

    def _logits(self, net, Xt):
        """Logits (float32) in large batches, no autograd."""
        torch = _torch()
        from . import torch_utils as tu

        net.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, Xt.shape[0], int(self.eval_batch_size)):
                with tu.autocast(self.device_, self.amp):
                    out.append(net(Xt[start:start + int(self.eval_batch_size)]).float())
        return torch.cat(out) if out else torch.zeros((0, self.n_classes_), device=Xt.device)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "net_"):
            raise ConfigError("fcnn: call fit before predict_proba")
        torch = _torch()
        from . import torch_utils as tu

        X = _check_X(X, "X")
        if X.shape[1] != self.n_features_:
            raise ConfigError(f"fcnn: fitted on {self.n_features_} features, got {X.shape[1]}")
        with tu.torch_threads(self.threads_):
            logits = self._logits(self.net_, tu.to_device(self._scale(X), self.device_))
            return torch.softmax(logits, 1).double().cpu().numpy()


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


@register_model("fcnn", backend="torch", accepts_device=True, search_space=search_space)
def fcnn(**kw) -> FCNN:
    """4-hidden-layer ReLU FCNN (100 wide), weighted loss, early stopping."""
    return FCNN(**kw)
