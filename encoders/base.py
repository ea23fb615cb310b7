"""What every image encoder shares: options, fitting (order, importances), output format.

Subclasses implement ``_fit(X, missing)`` (layout and statistics, train split only),
``_prepare(X)`` (numpy: per-event codes for a block of events), ``_render(prep, lo, hi,
out)`` (codes -> uint8 (n, H, W) pixels) and ``_encode_torch(X)`` (torch: float64 tensor
-> uint8 (n, H, W) on X's device). The base class adds channel
replication, the float option, chunking (so working sets stay in cache) and validation.

Options are declared once, in ``PARAMS`` (``benchmarks.core.params``): the keyword-only
``__init__`` is generated from it and checks every option before any work, so a bad one is
a one-line ConfigError at construction.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.core.errors import ConfigError, DataError, MissingBackendError
from benchmarks.core.limits import MAX_IMAGE_SIZE
from benchmarks.core.params import MAX_THREADS, NONE, SEED, Declared, Param, Rule, integer, one_of
from benchmarks.core.weights import balance_classes, missing_mask

ORDERS = ("as-is", "importance")
DTYPES = ("uint8", "float32")
_CHUNK_BYTES = 1 << 20  # output bytes drawn per step: the working set stays in cache
_PREP_EVENTS = 1024  # events whose codes are computed per step: their temporaries stay in L2


class NotFittedError(ConfigError):
    """transform called before fit."""


def import_torch():
    try:
        import torch
    except ImportError:  # torch is optional
        raise MissingBackendError(
            "transform_torch needs torch; install it with: pip install '.[torch]'"
        ) from None
    return torch


def fit_importances(
    X: np.ndarray,
    y: np.ndarray | None,
    sample_weight: np.ndarray | None = None,
    missing_value: float | None = -999.0,
    random_state: int = 0,
    n_estimators: int = 32,
    max_depth: int = 6,
    max_events: int = 10_000,
) -> np.ndarray:
    """Impurity importances of a small seeded random forest (sums to 1), with sample
    weights balanced per class.

    Fitted on at most `max_events` events (seeded subsample): the importances only rank
    features for the layout, and this keeps fit to a second or two on HiggsML.
    """
    if y is None:
        raise ConfigError(
            "feature importances need labels: call fit(X, y) or pass importances=[...]"
        )
    from sklearn.ensemble import RandomForestClassifier

    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise DataError(f"{y.shape[0] if y.ndim else 0} labels for {X.shape[0]} events")
    fill = 0.0 if missing_value is None else missing_value
    Xf = np.where(np.isnan(X), fill, X)
    w = None
    if sample_weight is not None:
        # every class gets the same total weight: raw HiggsML weights (signal ~1000x lighter)
        # would make the forest, and so the layout, ignore signal
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != y.shape:
            raise DataError(f"{w.shape[0] if w.ndim else 0} sample weights for {y.shape[0]} events")
        w = balance_classes(y, w)
    if X.shape[0] > max_events:
        idx = np.sort(np.random.default_rng(random_state).choice(X.shape[0], max_events, replace=False))
        Xf, y = Xf[idx], y[idx]
        w = None if w is None else w[idx]
    rf = RandomForestClassifier(
        n_estimators=n_estimators, max_depth=max_depth, random_state=random_state, n_jobs=1
    )
    rf.fit(Xf, y, sample_weight=w)
    imp = np.asarray(rf.feature_importances_, dtype=np.float64)
    total = imp.sum()
    return imp / total if total > 0 else np.full(X.shape[1], 1.0 / X.shape[1])


def unknown(*choices: str) -> Rule:
    """One of ``choices``, refused as "unknown <name> <value>; use <choices>"."""
    return one_of(*choices).says("{owner}: unknown {name} {value!r}; use " + ", ".join(choices))


def _missing_value_ok(v: Any) -> bool:
    number = isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
    return v is None or (number and not np.isnan(v))


FEATURE_LIST = Rule("a list of features", lambda v: isinstance(v, (list, tuple)), (5,))


class ImageEncoder(Declared):
    """Base class: a float table (n, F) -> images (n, C, H, W), fitted on train only.

    ``n_jobs`` threads transform (numpy releases the GIL); 1 by default so data-loader
    workers and torch threads are not oversubscribed. Subclasses take the common options
    (``PARAMS`` below) by name from ``ImageEncoder.PARAMS``.
    """

    KEYWORD_ONLY = True
    PARAMS = {
        "size": Param(224, integer(8, MAX_IMAGE_SIZE).named(f"an integer from 8 to {MAX_IMAGE_SIZE}"),
                      "image side in pixels (square images)"),
        "channels": Param(1, one_of(1, 3).named("1 or 3"), "1, or 3 (channel 0 replicated, for ImageNet backbones)"),
        "order": Param("as-is", (one_of(*ORDERS) | FEATURE_LIST | NONE).says(
            "{owner}: unknown order {value!r}; use " + ", ".join(ORDERS) + " or a list of features"),
            "as-is, importance, or a list of feature indices or names (only those, in that order)"),
        "missing": Param("marker", one_of("marker", "blank").says("{owner}: unknown missing={value!r}; use marker, blank"),
                         "how missing values are drawn"),
        "missing_value": Param(-999.0, Rule("a number (NaN is always missing) or None", _missing_value_ok, ("NA",)),
                               "the missing-value sentinel (HiggsML: -999.0); None: only NaN"),
        "dtype": Param("uint8", one_of(*DTYPES).named(f"one of {', '.join(DTYPES)}"), "uint8 (0..255) or float32 (0..1)"),
        "importances": Param(None, doc="per-feature importances instead of fitting a random forest"),
        "random_state": Param(0, SEED, "seed of the importance forest"),
        "n_jobs": Param(1, integer(1, MAX_THREADS).named(f"an integer from 1 to {MAX_THREADS}"), "threads for transform"),
    }

    def _after_init(self) -> None:
        self.check_params()  # a bad option fails at construction, before any work

    # ----------------------------------------------------------------- options
    def check_params(self) -> None:
        super().check_params()
        order = self.order
        if isinstance(order, (list, tuple)):
            items = list(order)
            if not items:
                raise ConfigError(f"{self.param_owner()}: order is an empty list")
            if len(set(items)) != len(items):
                raise ConfigError(f"{self.param_owner()}: order lists a feature twice: {items}")

    def _default_order(self) -> str:
        return "as-is"

    # ----------------------------------------------------------------- fitting
    def fit(self, X, y=None, sample_weight=None, feature_names=None) -> "ImageEncoder":
        """Fit layout and statistics on the training split (X: (n, F) floats)."""
        self.fitted_ = False  # until the layout is complete: a failed fit leaves no half state
        X = self._as_table(X, fitting=True)
        n, f = X.shape
        if n == 0:
            raise DataError(f"{type(self).__name__}: cannot fit on an empty table")
        if feature_names is not None:
            feature_names = tuple(str(s) for s in feature_names)
            if len(feature_names) != f:
                raise DataError(f"{len(feature_names)} feature names for {f} features")
        self.n_features_in_ = f
        self.feature_names_in_ = feature_names
        order = self.order if self.order is not None else self._default_order()
        self.importances_ = self._resolve_importances(X, y, sample_weight, order)
        self.order_ = self._resolve_order(order)
        self._torch_cache: dict[str, Any] = {}
        self._fit(X, missing_mask(X, self.missing_value))
        self.fitted_ = True
        return self

    def _needs_importances(self) -> bool:
        return False

    def _resolve_importances(self, X, y, sample_weight, order) -> np.ndarray | None:
        f = X.shape[1]
        if self.importances is not None:
            imp = np.asarray(self.importances, dtype=np.float64)
            if imp.shape != (f,) or not np.isfinite(imp).all() or (imp < 0).any():
                raise ConfigError(f"importances must be {f} finite non-negative numbers")
            return imp / imp.sum() if imp.sum() > 0 else np.full(f, 1.0 / f)
        if order == "importance" or self._needs_importances():
            return fit_importances(X, y, sample_weight, self.missing_value, self.random_state)
        return None

    def _resolve_order(self, order) -> np.ndarray:
        f = self.n_features_in_
        if order == "as-is":
            return np.arange(f)
        if order == "importance":
            # stable sort: ties keep the table's order, so the layout is deterministic
            return np.argsort(-self.importances_, kind="stable")
        names = self.feature_names_in_
        idx = []
        for item in order:
            if isinstance(item, str):
                if names is None or item not in names:
                    raise ConfigError(f"order names unknown feature {item!r}")
                idx.append(names.index(item))
            else:
                if not 0 <= int(item) < f:
                    raise ConfigError(f"order index {item} is outside 0..{f - 1}")
                idx.append(int(item))
        return np.asarray(idx, dtype=np.int64)

    def _fit(self, X: np.ndarray, missing: np.ndarray) -> None:
        raise NotImplementedError

    # ----------------------------------------------------------------- transform
    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(X_train, y_train) first")

    def _as_table(self, X, fitting: bool = False) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise DataError(f"{type(self).__name__}: expected a 2-D table, got shape {X.shape}")
        if not fitting and X.shape[1] != self.n_features_in_:
            raise DataError(
                f"{type(self).__name__} was fitted on {self.n_features_in_} features, got {X.shape[1]}"
            )
        if not np.issubdtype(X.dtype, np.number):
            raise DataError(f"{type(self).__name__}: features must be numbers, got {X.dtype}")
        return X.astype(np.float64, copy=False)

    def transform(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Images (n, C, H, W): uint8 0..255, or float32 0..1 with dtype="float32".

        `out`, if given, is filled and returned (reusing a batch buffer saves allocating
        and page-faulting fresh memory on every call).
        """
        self._check_fitted()
        X = self._as_table(X)
        n = X.shape[0]
        c, h, w = self.image_shape
        dtype = np.uint8 if self.dtype == "uint8" else np.float32
        if out is None:
            out = np.empty((n, c, h, w), dtype=dtype)
        elif out.shape != (n, c, h, w) or out.dtype != dtype or not out.flags.c_contiguous:
            raise DataError(
                f"out must be a C-contiguous {np.dtype(dtype).name} array of shape {(n, c, h, w)}"
            )
        jobs = max(1, min(int(self.n_jobs), -(-n // _PREP_EVENTS)))
        if jobs == 1:
            self._transform_range(X, out, 0, n)
        else:  # numpy releases the GIL in its ufuncs and gathers, so threads scale
            from concurrent.futures import ThreadPoolExecutor

            step = -(-n // (jobs * _PREP_EVENTS)) * _PREP_EVENTS
            with ThreadPoolExecutor(jobs) as pool:
                done = [pool.submit(self._transform_range, X, out, lo, min(n, lo + step))
                        for lo in range(0, n, step)]
                for f in done:
                    f.result()
        return out

    def _transform_range(self, X: np.ndarray, out: np.ndarray, start: int, stop: int) -> None:
        c, h, w = out.shape[1:]
        direct = c == 1 and out.dtype == np.uint8  # draw straight into the output
        chunk = max(16, _CHUNK_BYTES // (h * w))
        buf = None if direct else np.empty((min(chunk, max(stop - start, 1)), h, w), dtype=np.uint8)
        for block in range(start, stop, _PREP_EVENTS):
            m = min(stop - block, _PREP_EVENTS)
            prep = self._prepare(X[block : block + m])
            for lo in range(0, m, chunk):
                hi = min(m, lo + chunk)
                a, b = block + lo, block + hi
                img = out[a:b, 0] if direct else buf[: hi - lo]
                self._render(prep, lo, hi, img)
                if direct:
                    continue
                for ch in range(c):
                    if out.dtype == np.uint8:
                        out[a:b, ch] = img
                    else:  # division (not a multiply by 1/255) matches torch bit for bit
                        np.divide(img, np.float32(255), out=out[a:b, ch], dtype=np.float32)

    def fit_transform(self, X, y=None, sample_weight=None, feature_names=None) -> np.ndarray:
        return self.fit(X, y, sample_weight, feature_names).transform(X)

    def _prepare(self, X: np.ndarray) -> Any:
        """Per-event lookup codes for a block of events (cheap, small: no pixels yet)."""
        raise NotImplementedError

    def _render(self, prep: Any, lo: int, hi: int, out: np.ndarray) -> None:
        """Draw events lo:hi of a prepared block into `out` (hi - lo, H, W) uint8."""
        raise NotImplementedError

    def transform_torch(self, X):
        """Like transform, for a torch tensor on any device; the images stay on that device."""
        torch = import_torch()
        self._check_fitted()
        if not isinstance(X, torch.Tensor):
            X = torch.as_tensor(np.asarray(X))
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise DataError(
                f"{type(self).__name__} was fitted on {self.n_features_in_} features, "
                f"got a tensor of shape {tuple(X.shape)}"
            )
        img = self._encode_torch(X.to(torch.float64), torch)
        if self.channels > 1:
            img = img.unsqueeze(1).expand(-1, self.channels, -1, -1).contiguous()
        else:
            img = img.unsqueeze(1)
        if self.dtype == "float32":
            img = img.to(torch.float32) / 255
        return img

    def _encode_torch(self, X, torch):
        raise NotImplementedError

    def _device_cache(self, device, build) -> dict:
        """Lookup tables as tensors on `device`, built once per device."""
        key = str(device)
        cache = self._torch_cache.get(key)
        if cache is None:
            cache = self._torch_cache[key] = build(device)
        return cache

    def __getstate__(self) -> dict:
        # device tensors are a cache: never pickle them (DataLoader workers, checkpoints)
        state = dict(self.__dict__)
        if "_torch_cache" in state:
            state["_torch_cache"] = {}
        return state

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in self.PARAMS}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class GatherEncoder(ImageEncoder):
    """An image as a gather of a small per-event table: pixel (y, x) shows table column
    ``index_map_[y, x]``.

    Subclasses build the map at fit (``_set_index_map``) and give the table, uint8 (n, width),
    both ways: ``_table(X)`` (numpy) and ``_table_torch(X, torch)`` (same IEEE operations in
    the same order, so both give identical pixels). The gather exploits the map's repeated rows:
    each distinct image row is gathered once, then whole rows are copied into place.
    """

    def _set_index_map(self, index_map: np.ndarray) -> None:
        self.index_map_ = np.ascontiguousarray(index_map, dtype=np.intp)
        rows, row_id = np.unique(self.index_map_, axis=0, return_inverse=True)
        self._rows = np.ascontiguousarray(rows.ravel())
        self._row_id = np.asarray(row_id, dtype=np.intp).ravel()
        self._n_rows = rows.shape[0]

    def _table(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _table_torch(self, X, torch):
        raise NotImplementedError

    def _prepare(self, X: np.ndarray) -> np.ndarray:
        return self._table(X)

    def _render(self, table: np.ndarray, lo: int, hi: int, out: np.ndarray) -> None:
        table = table[lo:hi]
        n = hi - lo
        # mode="clip" lets numpy write straight into `out` (indices are valid by construction)
        rows = np.take(table, self._rows, axis=1, mode="clip").reshape(n, self._n_rows, self.index_map_.shape[1])
        np.take(rows, self._row_id, axis=1, out=out, mode="clip")

    def _encode_torch(self, X, torch):
        table = self._table_torch(X, torch)
        key = ("index_map", str(X.device))  # its own entry: subclasses cache their tables too
        index = self._torch_cache.get(key)
        if index is None:
            index = self._torch_cache[key] = torch.as_tensor(self.index_map_.ravel(), device=X.device)
        h, w = self.index_map_.shape
        return table[:, index].reshape(X.shape[0], h, w)
