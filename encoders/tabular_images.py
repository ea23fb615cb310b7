"""TINTOlib's five simple image methods: ``bargraph``, ``distmatrix``, ``combination``,
``featurewrap`` and ``bie``.

Papers, as TINTOlib's README cites them (TINTOlib itself: Liu et al., "TINTOlib: A Python
library for transforming tabular data into synthetic images for deep neural networks",
SoftwareX 32, 2025, doi 10.1016/j.softx.2025.102444): BarGraph, DistanceMatrix and
Combination come from A. Sharma and D. Kumar's "Non-image data classification with
convolutional neural networks" (arXiv 2020; code github.com/anuraganands/Non-image-data-
classification-with-CNN); FeatureWrap from the Springer chapter doi
10.1007/978-3-319-70139-4_87 (ICONIP 2017); BIE, the binary image encoding, from IEEE
document 10278393 (2023). We follow what TINTOlib 1.3.1 draws, read from its barGraph.py,
distanceMatrix.py, combination.py, featureWrap.py and bie.py (the reference tests compare
pixel for pixel).

Defaults are TINTOlib's (pixel_width=1, gap=0; bins=10 on an 8 x 8 grid; precision=32):
the point of these encoders is to benchmark the methods as published and shipped.

Common to all five:

- values: min-max scaled with the training rows' min and max (TINTOlib's default
  ``MinMaxScaler``), by scikit-learn's own formula ``v = x * scale + offset`` with
  ``scale = 1 / (max - min)`` (1 for a constant feature) and ``offset = -min * scale``, so
  training rows get bit for bit the values TINTOlib draws; missing values are left out of
  min and max. Then clipped to [0, 1] (TINTOlib does not clip: see the differences).
- the method draws a small *native* image (F x F, F x 32, 8 x 8 ...) per row; that image is
  scaled to ``size`` x ``size`` pixels by nearest neighbour (``grid.grid_index_map``), each
  native pixel a block. A native image larger than ``size`` is a ConfigError at fit (a
  downscale would silently drop features).
- ``order`` (as-is, importance or a list) chooses the drawn features and their order; the
  default, as-is, is TINTOlib's.
- rendering is a gather (``GatherEncoder``): the per-row uint8 table holds only the native
  pixels the output shows, computed by the same IEEE operations in the same order in numpy
  and torch, so both give identical pixels.
- missing values (NaN or ``missing_value``; TINTOlib refuses them) are drawn per ``missing``,
  in native pixels, as something no real value draws (``marker``) or as nothing (``blank``);
  each method's drawing is given below.

The methods (k drawn features, v their scaled values):

``bargraph`` (BarGraph(pixel_width=1, gap=0)): a square native image of side
``S = pixel_width * k + (k + 1) * gap``; bar i fills the columns
``gap + i * (gap + pixel_width)`` onward (``pixel_width`` wide) from row ``pixel_width``
down, ``floor(v_i * H)`` rows long, ``H = S - 2 * pixel_width``; bars 255, background 0.
Bars hang from the top, as TINTOlib's arrays do (row 0 is the top). Missing: ``marker``, the
bar's whole height lit on every other row (a broken bar, never a real one); ``blank``, no bar.
It needs ``H >= 1`` (ConfigError at fit otherwise).

``distmatrix`` (DistanceMatrix()): k x k, pixel (i, j) = ``floor(255 * (d_ij - min d) /
(max d - min d))`` with the *signed* difference ``d_ij = v_i - v_j`` and min and max over the
row's own matrix (TINTOlib normalises each image by itself; the matrix is antisymmetric, so
the diagonal is 127 and (i, j) + (j, i) = 255 or 254). ``min d`` is computed as
``min v - max v``, which is exactly the matrix's minimum in IEEE arithmetic. Missing: the
missing feature's row and column show a checkerboard (255 where i + j is even) with
``marker``, 0 with ``blank``; min and max use the present values only.

``combination`` (Combination()): TINTOlib stacks three k x k planes as the R, G, B channels
of one image; our images are one grey channel (``channels=3`` replicates it, like every
encoder here), so we tile the planes in a 2k x 2k native image: top left the distance
matrix (as distmatrix), top right the bar graph with pixel_width=1, gap=0 (bars of
``floor(v_i * (k - 2))`` rows, none when k < 3, as in TINTOlib), bottom left the value plane
(row i all ``floor(255 * (v_i - min v) / (max v - min v))``), bottom right 0. Missing: as
distmatrix and bargraph in their quadrants, and the value plane's row alternates 255/0
along the row (``marker``) or is 0 (``blank``).

``featurewrap`` (FeatureWrap(size=(8, 8), bins=10)): each value falls in one of ``bins``
uniform bins (a value on an edge goes up, as ``KBinsDiscretizer(strategy="uniform")`` does),
TINTOlib's own bins of the training rows: it scales the scaled values once more with a
MinMaxScaler and bins them between their min and max, which is [0, 1] up to rounding; we fit
both on the training rows, so training rows get its bins bit for bit (a value exactly on an
edge can fall either side of it by that rounding). The one-hot codes of all features, k * bins
bits in a row, are padded with zeros and read 8 bits at a time (first bit the most
significant) into the bytes of a ``grid`` x ``grid`` image, row by row. ``grid`` is TINTOlib's
``size`` (renamed: ``size`` is our output side); None is 8 (TINTOlib's (8, 8)), or the
smallest square that holds the bits when k * bins > 512 (where TINTOlib raises). Missing:
all ``bins`` bits of the feature set (``marker``: a one-hot code no value has) or none
(``blank``).

``bie`` (BIE(precision=32)): k x precision, row i the IEEE-754 bits of v_i as a float32
(precision=32, rounded to nearest) or float64, sign bit first; 1 bits 255, 0 bits 0.
Missing: the row reads 1010... (``marker``: its sign bit is set, which no value in [0, 1]
has) or all 0 (``blank``, the bits of 0.0).

Known differences from TINTOlib 1.3.1 (each pinned by tests/test_simple_image_methods.py):

- TINTOlib does not clip test values to [0, 1] (``MinMaxScaler(clip=False)``): its bar graph
  then draws bars into the bottom padding, or for a value below -1/H a bar from the top
  padding down to the far end of the image (negative slice ends); its BIE encodes the
  out-of-range value (a sign bit for negatives). We clip, so a test row beyond the training
  range saturates.
- the same clip also acts on training rows: scikit-learn's ``x * scale + offset`` can land
  a hair outside [0, 1] (wine: one training maximum scales to 1.0000000000000004). TINTOlib
  draws that value, we draw 1.0; only BIE's float64 bits show it (a last bit).
- FeatureWrap refits its own MinMaxScaler and KBinsDiscretizer on the rows given to
  ``transform``: a test row's bins depend on the other test rows in the batch (and the
  training rows' bins on each other, a leak). We fit them once, on the training rows, which
  is what TINTOlib does when it transforms the training rows themselves. Categorical (string)
  columns, one-hot coded by TINTOlib, do not exist here: our tables are numbers.
- distmatrix and combination: a row whose values are all equal makes TINTOlib divide 0 by 0
  (NaN, cast to uint8: 0 on x86, undefined in C); we draw mid-grey 127 (every difference is
  0, the diagonal's grey) in the distance plane and 0 in the value plane.
- combination is one grey channel with the three planes side by side, not an RGB image (see
  above); each quadrant equals TINTOlib's channel pixel for pixel.
- TINTOlib's ``zoom`` is our ``size`` (nearest neighbour to any size, not just integer
  multiples). FeatureWrap's PNGs are written by matplotlib's grey colormap, which writes 24
  of the 256 byte values one level lower (33 -> 32, 37 -> 36, ...): our images hold the bytes
  themselves (the reference test compares through that colormap). BIE's PNG (matplotlib too,
  vmax=1) holds only 0 and 255, like ours.
"""
from __future__ import annotations

import math

import numpy as np

from benchmarks.core.errors import ConfigError
from benchmarks.core.params import NONE, Param, integer, one_of

from .base import GatherEncoder, ImageEncoder
from .grid import grid_index_map, train_range
from .registry import register_encoder


# ----------------------------------------------------------------------------- numpy / torch


class _Numpy:
    """The few operations spelled differently in numpy and torch (same IEEE results);
    ``c``: the fitted constants (numpy arrays here, device tensors in ``_Torch``)."""

    def __init__(self, consts: dict):
        self.c = consts
        self.where = np.where
        self.floor = np.floor

    @staticmethod
    def isnan(V):
        return np.isnan(V)

    @staticmethod
    def clip01(V):
        return np.clip(V, 0.0, 1.0)

    @staticmethod
    def amin(a):
        return a.min(axis=1)

    @staticmethod
    def amax(a):
        return a.max(axis=1)

    @staticmethod
    def u8(a):
        return a.astype(np.uint8)

    @staticmethod
    def i64(a):
        return a.astype(np.int64)

    @staticmethod
    def cat(parts):
        return np.concatenate(parts, axis=1)

    @staticmethod
    def stack2(a, b):
        return np.stack([a, b], axis=2)

    @staticmethod
    def zeros(shape, dtype):
        return np.zeros(shape, dtype=np.uint8 if dtype == "u8" else bool)

    @staticmethod
    def bits(V, precision):
        """IEEE bit patterns of V as float32 (rounded to nearest) or float64: int64 >= 0
        for 32 bits (the sign bit is bit 31 either way)."""
        if precision == 32:
            return V.astype(np.float32).view(np.uint32).astype(np.int64)
        return np.ascontiguousarray(V).view(np.int64)


class _Torch(_Numpy):
    def __init__(self, consts: dict, torch, device):
        self.c = consts
        self.t = torch
        self.device = device
        self.where = torch.where
        self.floor = torch.floor

    def isnan(self, V):
        return self.t.isnan(V)

    @staticmethod
    def clip01(V):
        return V.clamp(0.0, 1.0)

    @staticmethod
    def amin(a):
        return a.amin(dim=1)

    @staticmethod
    def amax(a):
        return a.amax(dim=1)

    def u8(self, a):
        return a.to(self.t.uint8)

    def i64(self, a):
        return a.to(self.t.int64)

    def cat(self, parts):
        return self.t.cat(parts, dim=1)

    def stack2(self, a, b):
        return self.t.stack([a, b], dim=2)

    def zeros(self, shape, dtype):
        return self.t.zeros(shape, dtype=self.t.uint8 if dtype == "u8" else self.t.bool, device=self.device)

    def bits(self, V, precision):
        if precision == 32:
            return V.to(self.t.float32).contiguous().view(self.t.int32).to(self.t.int64) & 0xFFFFFFFF
        return V.contiguous().view(self.t.int64)


# ----------------------------------------------------------------------------- base


class SimpleImageEncoder(GatherEncoder):
    """Base: min-max scaled values -> a small native image per row -> nearest neighbour.

    A subclass gives ``_native_map(k)`` ((h, w) int: the table column each native pixel
    shows; the number of columns), ``_derived(cols)`` (constants for computing the columns
    ``cols``) and ``_columns(ns, V, miss, d)`` (those columns for scaled values V, numpy or
    torch through ``ns``, constants ``d``).
    """

    NAME = ""

    @classmethod
    def param_owner(cls) -> str:
        return cls.NAME

    # ----------------------------------------------------------------- fitting
    def _fit(self, X: np.ndarray, missing: np.ndarray) -> None:
        lo, hi = train_range(X, missing)
        # scikit-learn's MinMaxScaler, operation for operation (a zero range counts as 1),
        # so training rows get exactly the values TINTOlib draws
        span = hi - lo
        scale = 1.0 / np.where(span == 0, 1.0, span)
        self.data_min_, self.data_max_ = lo, hi
        self.scale_ = scale
        self.offset_ = 0.0 - lo * scale
        k = len(self.order_)
        native, width = self._native_map(k)
        h, w = native.shape
        if h > self.size or w > self.size:
            raise ConfigError(f"{self.NAME}: its {h}x{w} native image ({k} features) does not fit "
                              f"{self.size}x{self.size} pixels; raise size or draw fewer features (order=[...])")
        self.native_map_ = native
        self.native_columns_ = width
        index = native.ravel()[grid_index_map((h, w), self.size)]
        used, inverse = np.unique(index, return_inverse=True)
        self._used = used  # only the native pixels the output shows are computed
        self._set_index_map(inverse.reshape(self.size, self.size))

    def _native_map(self, k: int) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _derived(self, cols: np.ndarray) -> dict:
        return {"cols": cols}

    def _columns(self, ns, V, miss, d):
        raise NotImplementedError

    # ----------------------------------------------------------------- transform
    def _consts(self, cols: np.ndarray) -> dict:
        return {"order": self.order_, "scale": self.scale_[self.order_],
                "offset": self.offset_[self.order_], **self._derived(cols)}

    def _compute(self, ns, X):
        c = ns.c
        V = X[:, c["order"]]
        miss = ns.isnan(V)
        if self.missing_value is not None:
            miss = miss | (V == self.missing_value)
        V = V * c["scale"]  # MinMaxScaler.transform: X *= scale_; X += min_
        V = V + c["offset"]
        V = ns.clip01(V)
        V = ns.where(miss, 0.0, V)
        return self._columns(ns, V, miss, c)

    def _table(self, X: np.ndarray) -> np.ndarray:
        ns = self.__dict__.get("_np_ns")
        if ns is None:
            ns = self._np_ns = _Numpy(self._consts(self._used))
        return self._compute(ns, X)

    def _table_torch(self, X, torch):
        def build(dev):
            consts = {k: torch.as_tensor(v, device=dev) if isinstance(v, np.ndarray) else v
                      for k, v in self._consts(self._used).items()}
            return _Torch(consts, torch, dev)

        return self._compute(self._device_cache(X.device, build), X)

    def native_images(self, X) -> np.ndarray:
        """(n, h, w) uint8: the native images before scaling to ``size`` (what TINTOlib's
        PNGs show at zoom=1)."""
        self._check_fitted()
        X = self._as_table(X)
        ns = _Numpy(self._consts(np.arange(self.native_columns_)))
        return self._compute(ns, X)[:, self.native_map_]

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_np_ns", None)  # a cache, rebuilt from the fitted attributes
        return state


_COMMON = {k: ImageEncoder.PARAMS[k] for k in ("size", "channels", "order", "missing", "missing_value",
                                               "dtype", "importances", "random_state", "n_jobs")}


# ----------------------------------------------------------------------------- pieces


def _bar_map(k: int, pixel_width: int, gap: int) -> tuple[np.ndarray, int]:
    """Native bar graph (S, S): bar i's level l is column i * H + l, background k * H."""
    side = pixel_width * k + (k + 1) * gap
    top = pixel_width  # TINTOlib's top and bottom padding
    height = max(side - 2 * top, 0)
    native = np.full((side, side), k * height, dtype=np.intp)
    level = np.arange(height)
    for i in range(k):
        x0 = gap + i * (gap + pixel_width)
        native[top : top + height, x0 : x0 + pixel_width] = (i * height + level)[:, None]
    return native, height


def _bars(ns, V, miss, height: int, marker: bool):
    """(n, k * H) uint8: level l of bar i lit iff floor(v_i * H) > l (TINTOlib's bar of
    floor(v * H) rows); a missing value lights every other level (marker) or none."""
    n, k = V.shape
    levels = ns.c["levels"][None, None, :]
    lit = ns.floor(V * float(height))[:, :, None] > levels
    if marker:
        lit = ns.where(miss[:, :, None], levels % 2 == 0, lit)
    else:
        lit = lit & ~miss[:, :, None]
    return ns.u8(lit).reshape(n, k * height) * 255


def _present_range(ns, V, miss):
    inf = float("inf")
    return ns.amin(ns.where(miss, inf, V)), ns.amax(ns.where(miss, -inf, V))


def _distances(ns, V, miss, I, J, checker, marker: bool):
    """Grey levels of cells (I, J) of each row's signed-difference matrix, normalised by the
    row's own min and max as TINTOlib does: floor(255 * (d - min d) / (max d - min d))."""
    vmin, vmax = _present_range(ns, V, miss)
    lo = vmin - vmax  # the matrix's minimum, exactly: rounding is monotone and odd
    span = (vmax - vmin) - lo
    flat = ~(span > 0)  # all present values equal (or none): mid-grey, not 0 / 0
    lo = ns.where(flat, -1.0, lo)
    span = ns.where(flat, 2.0, span)
    d = V[:, I] - V[:, J]
    # clip: a no-op for present values, keeps the cast defined for missing ones (overwritten)
    grey = ns.u8(ns.floor(ns.clip01((d - lo[:, None]) / span[:, None]) * 255.0))
    bad = miss[:, I] | miss[:, J]
    return ns.where(bad, checker[None, :] if marker else 0, grey)


def _value_plane(ns, V, miss, marker: bool):
    """(n, 2k): each feature's floor(255 * (v - min v) / (max v - min v)) twice (even and
    odd native columns; a missing value reads 255 / 0 with marker, 0 / 0 with blank)."""
    vmin, vmax = _present_range(ns, V, miss)
    span = vmax - vmin
    flat = ~(span > 0)
    vmin = ns.where(flat, 0.0, vmin)
    span = ns.where(flat, 1.0, span)
    grey = ns.u8(ns.floor(ns.clip01((V - vmin[:, None]) / span[:, None]) * 255.0))
    grey = ns.where(flat[:, None] | miss, 0, grey)
    even = ns.where(miss, 255, grey) if marker else grey
    n, k = V.shape
    return ns.stack2(even, grey).reshape(n, 2 * k)


def _checker(I, J):
    return (((I + J) % 2 == 0) * 255).astype(np.uint8)


# ----------------------------------------------------------------------------- the methods


class BarGraphEncoder(SimpleImageEncoder):
    """TINTOlib's BarGraph: one bar per feature, as long as its scaled value."""

    NAME = "bargraph"
    PARAMS = {
        "pixel_width": Param(1, integer(1, 64).named("an integer from 1 to 64"),
                             "width of each bar, in native pixels (TINTOlib's default 1)"),
        "gap": Param(0, integer(0, 64).named("an integer from 0 to 64"),
                     "background between bars and at both sides, in native pixels (TINTOlib's default 0)"),
        **_COMMON,
    }

    def _native_map(self, k):
        pw, gap = int(self.pixel_width), int(self.gap)
        native, height = _bar_map(k, pw, gap)
        if height < 1:
            side = native.shape[0]
            raise ConfigError(f"bargraph: {k} bars with pixel_width={pw}, gap={gap} make a {side}x{side} "
                              f"image with no room for bars ({pw} px padding at top and bottom); "
                              "draw more features or raise gap")
        self._height = height
        return native, k * height + 1

    def _derived(self, cols):
        return {"cols": cols, "levels": np.arange(self._height)}

    def _columns(self, ns, V, miss, d):
        bars = _bars(ns, V, miss, self._height, self.missing == "marker")
        table = ns.cat([bars, ns.zeros((V.shape[0], 1), "u8")])  # last column: background
        return table[:, d["cols"]]


class DistanceMatrixEncoder(SimpleImageEncoder):
    """TINTOlib's DistanceMatrix: the row's pairwise differences v_i - v_j, normalised."""

    NAME = "distmatrix"
    PARAMS = dict(_COMMON)

    def _native_map(self, k):
        return np.arange(k * k).reshape(k, k), k * k

    def _derived(self, cols):
        k = len(self.order_)
        I, J = cols // k, cols % k  # only the cells the output shows: k may be large
        return {"I": I, "J": J, "checker": _checker(I, J)}

    def _columns(self, ns, V, miss, d):
        return _distances(ns, V, miss, d["I"], d["J"], d["checker"], self.missing == "marker")


class CombinationEncoder(SimpleImageEncoder):
    """TINTOlib's Combination: distance matrix, bar graph and value plane, tiled 2 x 2."""

    NAME = "combination"
    PARAMS = dict(_COMMON)

    def _native_map(self, k):
        bars, height = _bar_map(k, 1, 0)  # TINTOlib fixes pixel_width=1, gap=0
        self._height = height
        n_dist, n_bars = k * k, k * height
        background = n_dist + n_bars + 2 * k
        native = np.full((2 * k, 2 * k), background, dtype=np.intp)
        native[:k, :k] = np.arange(n_dist).reshape(k, k)
        native[:k, k:] = np.where(bars == n_bars, background, n_dist + bars)
        rows, cols = np.indices((k, k))
        native[k:, :k] = n_dist + n_bars + 2 * rows + cols % 2
        return native, background + 1

    def _derived(self, cols):
        k = len(self.order_)
        nd = int(np.searchsorted(cols, k * k))  # cols are sorted: the distance cells first
        I, J = cols[:nd] // k, cols[:nd] % k
        return {"I": I, "J": J, "checker": _checker(I, J), "rest": cols[nd:] - k * k,
                "levels": np.arange(self._height)}

    def _columns(self, ns, V, miss, d):
        marker = self.missing == "marker"
        dist = _distances(ns, V, miss, d["I"], d["J"], d["checker"], marker)
        n = V.shape[0]
        rest = ns.cat([_bars(ns, V, miss, self._height, marker), _value_plane(ns, V, miss, marker),
                       ns.zeros((n, 1), "u8")])
        return ns.cat([dist, rest[:, d["rest"]]])


class FeatureWrapEncoder(SimpleImageEncoder):
    """TINTOlib's FeatureWrap: one-hot bin codes of all features, read as bytes into a grid."""

    NAME = "featurewrap"
    PARAMS = {
        "bins": Param(10, integer(2, 256).named("an integer from 2 to 256"),
                      "uniform bins per feature (TINTOlib's default 10)"),
        "grid": Param(None, (integer(1, 256) | NONE).named("an integer from 1 to 256 or None"),
                      "native grid side, TINTOlib's size (None: 8, or the smallest square holding the bits)"),
        **_COMMON,
    }

    def _native_map(self, k):
        bits = k * int(self.bins)
        fit_side = math.ceil(math.sqrt(math.ceil(bits / 8)))
        side = max(8, fit_side) if self.grid is None else int(self.grid)
        if side * side * 8 < bits:
            raise ConfigError(f"featurewrap: grid={side} holds {side * side * 8} bits, fewer than the "
                              f"{k} features x {self.bins} bins = {bits}; use grid={fit_side} or more, "
                              "or fewer bins")
        self._side = side
        return np.arange(side * side).reshape(side, side), side * side

    def _fit(self, X, missing):
        super()._fit(X, missing)
        # TINTOlib's transform of the training rows, frozen: its second MinMaxScaler and its
        # KBinsDiscretizer fitted on the (once scaled) training values, so that training rows
        # get its bins bit for bit (the second scaling moves values by rounding: a value on a
        # bin edge in exact arithmetic can fall either side)
        order = self.order_
        ok = ~missing[:, order] & np.isfinite(X[:, order])
        V = X[:, order] * self.scale_[order] + self.offset_[order]
        lo, hi = self._present_min_max(V, ok)
        span = hi - lo
        self.scale2_ = 1.0 / np.where(span == 0, 1.0, span)
        self.offset2_ = 0.0 - lo * self.scale2_
        lo2, hi2 = self._present_min_max(V * self.scale2_ + self.offset2_, ok)
        edges = np.linspace(lo2, hi2, int(self.bins) + 1, axis=1)[:, 1:-1]
        edges[~(hi2 > lo2)] = np.inf  # constant in training: KBinsDiscretizer's single bin 0
        self.bin_edges_ = edges

    @staticmethod
    def _present_min_max(V, ok):
        big = np.finfo(np.float64).max
        lo = np.where(ok, V, big).min(axis=0)
        hi = np.where(ok, V, -big).max(axis=0)
        empty = ~ok.any(axis=0)
        lo[empty], hi[empty] = 0.0, 0.0
        return lo, hi

    def _derived(self, cols):
        return {"cols": cols, "scale2": self.scale2_, "offset2": self.offset2_,
                "edges": self.bin_edges_, "bin_ids": np.arange(int(self.bins)),
                "weights": (1 << np.arange(7, -1, -1)).astype(np.int64)}

    def _columns(self, ns, V, miss, d):
        n, k = V.shape
        V = V * d["scale2"]
        V = V + d["offset2"]
        # a value on an edge goes to the upper bin: KBinsDiscretizer's searchsorted(side="right");
        # beyond the training range a value saturates in the first or last bin
        b = ns.i64(V[:, :, None] >= d["edges"][None, :, :]).sum(-1)
        onehot = b[:, :, None] == d["bin_ids"][None, None, :]
        if self.missing == "marker":
            onehot = onehot | miss[:, :, None]
        else:
            onehot = onehot & ~miss[:, :, None]
        nbytes = self._side * self._side
        bits = ns.cat([onehot.reshape(n, -1), ns.zeros((n, nbytes * 8 - onehot.shape[1] * onehot.shape[2]), "bool")])
        value = (ns.i64(bits.reshape(n, nbytes, 8)) * d["weights"]).sum(-1)
        return ns.u8(value)[:, d["cols"]]


class BIEEncoder(SimpleImageEncoder):
    """TINTOlib's BIE: the IEEE-754 bits of each scaled value, one row per feature."""

    NAME = "bie"
    PARAMS = {
        "precision": Param(32, one_of(32, 64).named("32 or 64"), "bits per value: float32 or float64 (TINTOlib's default 32)"),
        **_COMMON,
    }

    def _native_map(self, k):
        p = int(self.precision)
        return np.arange(k * p).reshape(k, p), k * p

    def _derived(self, cols):
        p = int(self.precision)
        return {"cols": cols, "shifts": np.arange(p - 1, -1, -1, dtype=np.int64),
                "pattern": np.arange(p) % 2 == 0}

    def _columns(self, ns, V, miss, d):
        n, k = V.shape
        bit = (ns.bits(V, int(self.precision))[:, :, None] >> d["shifts"][None, None, :]) & 1
        bit = bit == 1
        if self.missing == "marker":
            bit = ns.where(miss[:, :, None], d["pattern"][None, None, :], bit)
        else:
            bit = bit & ~miss[:, :, None]
        return (ns.u8(bit) * 255).reshape(n, -1)[:, d["cols"]]


register_encoder("bargraph", description="TINTOlib BarGraph: a bar per feature, length its min-max scaled value")(BarGraphEncoder)
register_encoder("distmatrix", description="TINTOlib DistanceMatrix: the row's normalised pairwise differences")(DistanceMatrixEncoder)
register_encoder("combination", description="TINTOlib Combination: distance matrix, bars and values tiled")(CombinationEncoder)
register_encoder("featurewrap", description="TINTOlib FeatureWrap: one-hot bins of all features as bytes in a grid")(FeatureWrapEncoder)
register_encoder("bie", description="TINTOlib BIE: the IEEE-754 bits of each scaled value")(BIEEncoder)
