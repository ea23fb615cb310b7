"""TabM (Gorishniy, Kotelnikov and Babenko, "TabM: Advancing Tabular Deep Learning with
Parameter-Efficient Ensembling", ICLR 2025): k MLPs that share most of their weights
(BatchEnsemble-style adapters), trained at once, their probabilities averaged; here with
the piecewise-linear embeddings of the numeric features (TabM-dagger in the paper), from the
``tabm`` and ``rtdl_num_embeddings`` packages, trained on the project's engine
(``models.engine``: early stopping on the validation loss, class-balanced event weights,
device, bf16 on CUDA, timing and the search's pruning callback, as the DNN).

What the paper does, and so this model (defaults from the TabM README's suggested starting
point, the rest from the paper's tuning configs, ``exp/tabm-piecewiselinear/*/0-tuning.toml``):

* numeric columns: a quantile transformation to a normal distribution fitted on the
  training rows with a little noise (N(0, 1e-5)) to break ties, ``n_quantiles`` =
  max(min(n // 30, 1000), 10) (the paper's "noisy-quantile" policy); columns constant in
  the training rows are left out (they carry nothing, and the embedding's bins need two
  values); then piecewise-linear embeddings (bins at ``n_bins`` training quantiles, size
  ``d_embedding``, version B, no activation);
* categorical columns (the data's ``categorical_features``): one-hot, by the package
  (values never seen in training share one extra category);
* k = 32 members, 2 blocks of width 512 with embeddings (the README: depth 3, reduced to 2
  with embeddings), dropout 0.1; AdamW at a constant learning rate 2e-3, weight decay
  3e-4, batch 256, gradient norm clipped at 1, patience 16 epochs, training batches shared
  by the members;
* prediction: the mean of the members' probabilities; early stopping watches that mean's
  validation loss (the paper watches its validation score).

torch is imported inside ``fit``/``predict_proba`` only, so registering this model needs no torch.
"""
from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np

from benchmarks.core.errors import ConfigError, MissingBackendError

from .base import (
    BOOL, MAX_BATCH, MAX_EPOCHS, MAX_LAYERS, MAX_MEMBERS, MAX_WIDTH, NAMES, NONE, Param, categorical_columns,
    integer, one_of, real,
)
from .registry import register_model
from .torch_estimator import TorchEstimator


class TabM(TorchEstimator):
    """TabM with piecewise-linear embeddings (``embeddings=False``: plain TabM, 3 blocks by
    default); ``n_blocks=None`` takes the package's choice (2 with embeddings, else 3)."""

    model_name = "tabm"
    BACKEND: ClassVar[tuple[str, ...]] = ("torch", "tabm", "rtdl_num_embeddings")
    PARAMS = {
        "k": Param(32, integer(1, MAX_MEMBERS), "ensemble members"),
        "arch_type": Param("tabm", one_of("tabm", "tabm-mini", "tabm-packed"), "TabM's variant"),
        "n_blocks": Param(None, integer(1, MAX_LAYERS) | NONE, "MLP blocks (None: 2 with embeddings, else 3)"),
        "d_block": Param(512, integer(1, MAX_WIDTH), "width of each block"),
        "dropout": Param(0.1, real(0.0, 1.0, high_open=True), "dropout in each block"),
        "embeddings": Param(True, BOOL, "piecewise-linear embeddings of the numeric features"),
        "n_bins": Param(48, integer(2, MAX_WIDTH), "bins of the piecewise-linear embeddings"),
        "d_embedding": Param(16, integer(1, MAX_WIDTH), "size of each numeric feature's embedding"),
        "lr": Param(2e-3, real(0.0, low_open=True), "AdamW learning rate (constant)"),
        "weight_decay": Param(3e-4, real(0.0), "AdamW weight decay"),
        "batch_size": Param(256, integer(1, MAX_BATCH), "training batch size"),
        "max_epochs": Param(1000, integer(1, MAX_EPOCHS), "most epochs (the paper: no limit; the patience ends the fit)"),
        "patience": Param(16, integer(0, MAX_EPOCHS) | NONE, "epochs without a better validation loss before stopping (None: never)"),
        "clip_norm": Param(1.0, real(0.0, low_open=True) | NONE, "clip the gradients' norm to this (None: never)"),
        "class_balance": Param(True, BOOL, "weight each class to the same total in the loss"),
        "feature_names": Param(None, NAMES | NONE, "names of the columns (to find the categorical ones)"),
        "categorical_features": Param(None, NAMES | NONE, "names of the columns to one-hot encode"),
        "amp": Param(True, BOOL, "bf16 autocast on CUDA"),
        "eval_batch_size": Param(8192, integer(1, MAX_BATCH), "rows per evaluation batch (times k member rows)"),
    }

    @classmethod
    def _torch(cls):
        torch = super()._torch()
        try:
            import rtdl_num_embeddings  # noqa: F401
            import tabm  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MissingBackendError("the tabm model needs tabm and rtdl_num_embeddings; install them with: "
                                      "pip install '.[tabm]'") from exc
        return torch

    def check_params(self) -> None:
        super().check_params()
        categorical_columns(self.model_name, self.feature_names, self.categorical_features)


    # ------------------------------------------------------------------ the model's table

    def _fit_table(self, X: np.ndarray) -> None:
        """Fit the columns' treatment on the training rows (see the module docstring)."""
        from sklearn.preprocessing import QuantileTransformer

        self.cat_columns_ = categorical_columns(self.model_name, self.feature_names, self.categorical_features,
                                                X.shape[1])
        numeric = [j for j in range(X.shape[1]) if j not in self.cat_columns_]
        varying = [j for j in numeric if np.ptp(X[:, j]) > 0]
        self.num_columns_, self.constant_columns_ = varying, len(numeric) - len(varying)
        self.categories_ = [np.unique(X[:, j]) for j in self.cat_columns_]
        if not self.num_columns_ and not self.cat_columns_:
            raise ConfigError("tabm: no feature varies in the training rows")
        self.quantiles_ = None
        if self.num_columns_:
            Xn = X[:, self.num_columns_]
            noise = np.random.default_rng(0 if self.random_state is None else int(self.random_state))
            self.quantiles_ = QuantileTransformer(n_quantiles=max(min(len(Xn) // 30, 1000), 10),
                                                  output_distribution="normal", subsample=10**9,
                                                  random_state=0).fit(Xn + noise.normal(0.0, 1e-5, Xn.shape))

    def _table(self, X: np.ndarray) -> np.ndarray:
        """Transformed numeric columns, then each categorical column's code (training values
        0..c-1 in sorted order; an unseen value c)."""
        parts = []
        if self.num_columns_:
            parts.append(self.quantiles_.transform(X[:, self.num_columns_]))
        for j, values in zip(self.cat_columns_, self.categories_):
            pos = np.searchsorted(values, X[:, j]).clip(0, len(values) - 1)
            parts.append(np.where(values[pos] == X[:, j], pos, len(values))[:, None].astype(np.float64))
        return np.hstack(parts).astype(np.float32)

    # ------------------------------------------------------------------ fit / predict

    def _trainer(self):
        from .ensemble import EnsembleTrainer
        from .tabm_net import ConstantAdamW, mean_member_loss

        return EnsembleTrainer(schedule=ConstantAdamW(float(self.weight_decay)), batch_size=int(self.batch_size),
                               eval_batch_size=max(1, int(self.eval_batch_size) // int(self.k)),
                               patience=None if self.patience is None else int(self.patience),
                               device=self.device_, amp=self.amp, threads=self.threads_, progress=self.progress,
                               loss=mean_member_loss, weighting="uniform",
                               clip_norm=None if self.clip_norm is None else float(self.clip_norm))

    def _split(self, table: np.ndarray, y: np.ndarray, w: np.ndarray | None):
        from .engine import Split, TensorRows, loss_weights
        from .torch_utils import to_device

        rows = TensorRows(to_device(table, self.device_))
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
    ) -> "TabM":
        self._torch()
        from .engine import Stage
        from .tabm_net import TabMNet, quantile_bins

        X, y, X_val, y_val = self._fit_inputs(X, y, X_val, y_val)
        if len(X) < 3:
            raise ConfigError(f"tabm: needs at least 3 training rows, got {len(X)}")
        has_val = X_val is not None
        self._fit_setup(X, y, y_val)
        self._fit_table(X)
        train_table = self._table(X)
        n_num = len(self.num_columns_)
        bins = quantile_bins(train_table[:, :n_num], int(self.n_bins)) if self.embeddings and n_num else None
        self.trainer_ = trainer = self._trainer()
        with trainer.session(self.random_state) as gen:
            net = TabMNet(n_num, [len(v) + 1 for v in self.categories_], self.n_classes_, k=int(self.k),
                          n_blocks=self._n_blocks(), d_block=int(self.d_block), dropout=float(self.dropout),
                          arch_type=self.arch_type, bins=bins, d_embedding=int(self.d_embedding)).to(self.device_)
            train = self._split(train_table, y, sample_weight)
            val = self._split(self._table(X_val), y_val, w_val) if has_val else None
            stage = Stage([{"params": list(net.parameters()), "lr": float(self.lr)}], int(self.max_epochs), desc="tabm")
            self.history_: list[dict] = []
            result = trainer.fit(net, [stage], train, val, generator=gen,
                                 epoch_callback=epoch_callback if has_val else None, history=self.history_)
        self.net_ = net.eval()
        self.best_epoch_ = result.best_epoch
        self.info_ = self._describe(net, bins)
        return self

    def _n_blocks(self) -> int:
        if self.n_blocks is not None:
            return int(self.n_blocks)
        return 2 if self.embeddings and self.num_columns_ else 3

    def _describe(self, net, bins) -> dict:
        emb = f" +PLE({max(len(b) - 1 for b in bins)} bins, d={self.d_embedding})" if bins else ""
        return {
            "device": self.device_,
            "precision": self.trainer_.precision,
            "batch_size": int(self.batch_size),
            "threads": self.threads_,
            "architecture": f"{self.arch_type} k={self.k} {self._n_blocks()}x{self.d_block}"
                            + (f" dropout {self.dropout}" if self.dropout else "") + emb
                            + (f" +one-hot {len(self.cat_columns_)} categorical" if self.cat_columns_ else ""),
            "parameters": int(sum(p.numel() for p in net.parameters())),
            "epochs_run": len(self.history_),
            "best_epoch": self.best_epoch_,
            "constant_columns_left_out": self.constant_columns_,
            "class_balance": bool(self.class_balance),
        }

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = self._predict_input(X)
        from .engine import TensorRows
        from .torch_utils import to_device

        if len(X) == 0:
            return np.zeros((0, self.n_classes_))
        rows = TensorRows(to_device(self._table(X), self.device_))
        return self.trainer_.predict_proba(self.net_, rows)


def search_space(trial) -> dict:
    """The TabM paper's space for TabM with piecewise-linear embeddings
    (``exp/tabm-piecewiselinear/*/0-tuning.toml``); "?" distributions are zero half the time."""
    return {
        "lr": trial.suggest_float("lr", 1e-4, 5e-3, log=True),
        "weight_decay": (trial.suggest_float("weight_decay", 1e-4, 0.1, log=True)
                         if trial.suggest_categorical("use_weight_decay", [False, True]) else 0.0),
        "n_blocks": trial.suggest_int("n_blocks", 1, 4),
        "d_block": trial.suggest_int("d_block", 64, 1024, step=16),
        "dropout": (trial.suggest_float("dropout", 0.0, 0.5)
                    if trial.suggest_categorical("use_dropout", [False, True]) else 0.0),
        "d_embedding": trial.suggest_int("d_embedding", 8, 32, step=4),
        "n_bins": trial.suggest_int("n_bins", 2, 128),
    }


@register_model("tabm", backend="tabm", accepts_device=True, threads_param="num_threads", search_space=search_space,
                family="dnn", data_facts=("feature_names", "categorical_features"))
def tabm_model(**kw) -> TabM:
    """TabM (k=32 MLP ensemble, piecewise-linear embeddings), the paper's defaults, early stopping."""
    return TabM(**kw)
