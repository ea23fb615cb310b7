"""What the torch models (FCNN, DNN, SuperTML) share: their common parameters, the torch
import guard, the input checks and the opening of ``fit``.

torch is imported inside methods only, so registering these models needs no torch.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from benchmarks.core.device import resolve_device
from benchmarks.core.errors import ConfigError, MissingBackendError

from .base import BOOL, MAX_CLASSES, NONE, SEED, THREADS, Estimator, Param, check_device, count_classes, integer


class TorchEstimator(Estimator):
    """A model trained by ``models.engine`` on ``device``; its own ``PARAMS`` come first, these
    five last. ``fit`` opens with ``_fit_inputs`` (tables checked, validation split kept
    only when both X_val and y_val are given) and ``_fit_setup`` (classes, device, threads)."""

    PARAMS = {
        "n_classes": Param(None, integer(2, MAX_CLASSES) | NONE, "number of classes (None: one more than the largest label)"),
        "device": Param("auto", doc="'auto', 'cpu', 'cuda' or 'cuda:N'"),
        "random_state": Param(0, SEED, "seed of initialisation and shuffling"),
        "progress": Param(True, BOOL, "show a progress bar"),
        "num_threads": Param(None, THREADS, "torch CPU threads (None or <= 0: all physical cores)"),
    }
    BACKEND: ClassVar[tuple[str, ...]] = ("torch",)

    def check_params(self) -> None:
        super().check_params()
        check_device(self.model_name, self.device)

    @classmethod
    def _torch(cls):
        """torch, or a one-line MissingBackendError saying how to install it."""
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MissingBackendError(
                f"the {cls.model_name} model needs torch; install it with: pip install '.[torch]'") from exc
        return torch

    def _check_X(self, X: Any, what: str) -> np.ndarray:
        """A 2-D float64 table of finite numbers."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ConfigError(f"{self.model_name}: {what} must be a 2-D table, got shape {X.shape}")
        if np.isnan(X).any():
            raise ConfigError(f"{self.model_name} cannot take NaN; use missing='impute'")
        if not np.isfinite(X).all():
            raise ConfigError(f"{self.model_name}: {what} holds infinite values")
        return X

    def _fit_inputs(self, X, y, X_val, y_val):
        """The checked tables and int64 labels; X_val, y_val are None unless both are given."""
        X, y = self._check_X(X, "X"), np.asarray(y, dtype=np.int64)
        if X_val is None or y_val is None:
            return X, y, None, None
        return X, y, self._check_X(X_val, "X_val"), np.asarray(y_val, dtype=np.int64)

    def _fit_setup(self, X: np.ndarray, y: np.ndarray, y_val: np.ndarray | None) -> None:
        """Classes, features, device and threads of this fit."""
        from .torch_utils import choose_threads

        self.n_classes_ = count_classes(self.model_name, self.n_classes, y, y_val)
        self.classes_ = np.arange(self.n_classes_)
        self.n_features_ = X.shape[1]
        self.device_ = resolve_device(self.device)
        self.threads_ = choose_threads(self.num_threads)

    def _predict_input(self, X: Any) -> np.ndarray:
        """A checked table of the fitted width (for models fitted on ``net_``)."""
        if not hasattr(self, "net_"):
            raise ConfigError(f"{self.model_name}: call fit before predict_proba")
        X = self._check_X(X, "X")
        if X.shape[1] != self.n_features_:
            raise ConfigError(f"{self.model_name}: fitted on {self.n_features_} features, got {X.shape[1]}")
        return X
