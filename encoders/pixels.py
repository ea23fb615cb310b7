"""Pixel images (Strong's third SuperTML attempt): each feature a region of one intensity.

Intensity = round(255 * sigmoid((x - mean) / std)), mean and std fitted on the training
split ignoring missing values, computed with IEEE-exact operations and a lookup table so
numpy and torch on any device give identical pixels (see the lookup table below).
Layouts: ``blocks`` (square cells on a near-square grid) and ``bars`` (one full-length bar
per feature, vertical or horizontal). Missing values: ``marker`` (alternating
0/255 one-pixel stripes, unlike any real value), ``blank`` (0) or an intensity 0..255.

Speed: a pixel -> table-column index map is built at fit; transform computes the
(n, features) intensity table and gathers it into images, in two steps that exploit the
map's repeated rows (gather each distinct row once, then copy whole rows).
"""
from __future__ import annotations

import numpy as np

from benchmarks.core.limits import MAX_IMAGE_SIZE
from benchmarks.core.params import NONE, Param, integer, one_of
from benchmarks.core.weights import missing_mask

from .base import GatherEncoder, ImageEncoder, unknown
from .layout import bar_map, block_map
from .registry import register_encoder

LAYOUTS = ("blocks", "bars")
ORIENTATIONS = ("vertical", "horizontal")

# Intensity lookup. t = (z - Z_LO) * BINS_PER_Z, z the standardised value, indexes a table
# of LUT_BINS bins over [Z_LO, -Z_LO) (sigmoid * 255 is within 0.09 of 0 or 255 outside);
# a bin is narrower than the gap between two rounding points (min 4/255 at z = 0), so it
# holds at most one; _LEVEL[b] is the intensity at the bin's left edge and the level goes up
# by one where t passes _STEP[b] (the rounding point, +inf if none). Only IEEE-exact
# operations (multiply, add, clamp, truncate, compare, gather) follow, so numpy and torch on
# any device give identical pixels, equal to round(255 * sigmoid(z)) up to float rounding.
Z_LO = -8.0
LUT_BINS = 4096
BINS_PER_Z = LUT_BINS / (-2 * Z_LO)
_edges = Z_LO + np.arange(LUT_BINS) / BINS_PER_Z
_points = np.log((np.arange(255) + 0.5) / (255 - np.arange(255) - 0.5))  # 255*sigmoid = i+0.5
_LEVEL = np.searchsorted(_points, _edges, side="right").astype(np.uint8)
_next = np.searchsorted(_points, _edges, side="right")
_STEP = np.full(LUT_BINS + 1, np.inf)  # entry LUT_BINS: the missing-value bin, never steps
_inside = (_next < 255) & (np.append(_edges[1:], np.inf) > _points[np.minimum(_next, 254)])
_STEP[:LUT_BINS][_inside] = (_points[_next[_inside]] - Z_LO) * BINS_PER_Z
del _edges, _next, _inside


def level_lut(missing_level: int) -> np.ndarray:
    """(LUT_BINS + 1,) uint8: intensity at each bin's left edge, then the missing level."""
    return np.append(_LEVEL, np.uint8(missing_level))


def bin_coordinate(V: np.ndarray, scale: np.ndarray, shift: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """t = V * scale + shift clipped to the table (missing: LUT_BINS), float64, in place."""
    t = V * scale
    t += shift
    np.clip(t, 0.0, LUT_BINS - 1.0, out=t)
    np.copyto(t, float(LUT_BINS), where=miss)
    return t


def intensity(z: np.ndarray) -> np.ndarray:
    """round(255 * sigmoid(z)) as uint8 via the lookup table (z: standardised values)."""
    z = np.asarray(z, dtype=np.float64)
    t = bin_coordinate(z, np.float64(BINS_PER_Z), np.float64(-Z_LO * BINS_PER_Z), np.isnan(z))
    b = t.astype(np.intp)
    return _LEVEL.take(np.minimum(b, LUT_BINS - 1)) + (t >= _STEP.take(b))


class PixelEncoder(GatherEncoder):
    """Each feature a block or bar of intensity sigmoid(standardised value) * 255."""

    _common = ImageEncoder.PARAMS
    PARAMS = {
        "layout": Param("blocks", unknown(*LAYOUTS), "blocks (square cells on a near-square grid) or bars"),
        "size": _common["size"],
        "channels": _common["channels"],
        "order": _common["order"],
        "missing": _common["missing"].but(
            rule=(one_of("marker", "blank") | integer(0, 255)).says(
                "{owner}: unknown missing={value!r}; use 'marker', 'blank' or an intensity 0..255"),
            doc="marker (0/255 stripes), blank (0) or an intensity 0..255"),
        "missing_value": _common["missing_value"],
        "dtype": _common["dtype"],
        "gap": Param(None, (integer(0, MAX_IMAGE_SIZE) | NONE).named(f"an integer from 0 to {MAX_IMAGE_SIZE} or None"),
                     "background pixels between regions (None: 1 if a region is at least 4 px wide)"),
        "orientation": Param("vertical", unknown(*ORIENTATIONS), "bars' direction, vertical or horizontal"),
        "importances": _common["importances"],
        "random_state": _common["random_state"],
        "n_jobs": _common["n_jobs"],
    }
    del _common

    @classmethod
    def param_owner(cls) -> str:
        return "pixels"

    # ----------------------------------------------------------------- fitting
    def _fit(self, X: np.ndarray, missing: np.ndarray) -> None:
        ok = ~missing & np.isfinite(X)
        count = ok.sum(axis=0)
        vals = np.where(ok, X, 0.0)
        mean = vals.sum(axis=0) / np.maximum(count, 1)
        var = (np.where(ok, X - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count, 1)
        std = np.sqrt(var)
        self.mean_ = mean
        self.std_ = np.where(std > 0, std, 1.0)  # constant (or all-missing) feature: z = x - mean
        k = len(self.order_)
        if self.layout == "blocks":
            fmap = block_map(k, self.size, self.gap)
        else:
            fmap = bar_map(k, self.size, self.gap, self.orientation)
        self.feature_map_ = fmap  # (H, W): drawn-feature position, -1 for background
        col = np.where(fmap < 0, k, fmap)  # table column k is the background (always 0)
        if self.missing == "marker":
            # two copies of the table: column k + parity * (k + 1); missing values read 255
            # in the even copy and 0 in the odd one, so they show as 1-px stripes. Stripes
            # run along a bar (a 1-px bar still shows them) and down a block (so a block row
            # stays one distinct image row: half the gather work of a checkerboard)
            yy, xx = np.indices(fmap.shape)
            vertical_bars = self.layout == "bars" and self.orientation == "vertical"
            col = col + ((yy if vertical_bars else xx) % 2) * (k + 1)
            self._width = 2 * (k + 1)
        else:
            self._width = k + 1
        self._set_index_map(col)
        self._identity = np.array_equal(self.order_, np.arange(self.n_features_in_))
        self._tables()

    # ----------------------------------------------------------------- transform
    def _tables(self) -> None:
        """Per drawn feature: t = V * scale + shift; level tables for the table columns."""
        order = self.order_
        self._scale = BINS_PER_Z / self.std_[order]
        self._shift = (-Z_LO - self.mean_[order] / self.std_[order]) * BINS_PER_Z
        if self.missing == "marker":
            self._luts = (level_lut(255), level_lut(0))  # even / odd stripes
        else:
            self._luts = (level_lut(0 if self.missing == "blank" else int(self.missing)),)

    def _table(self, X: np.ndarray) -> np.ndarray:
        """(n, table width) uint8: each drawn feature's intensity, background, marker copy."""
        V = X if self._identity else X[:, self.order_]
        miss = missing_mask(V, self.missing_value)
        t = bin_coordinate(V, self._scale, self._shift, miss)
        b = t.astype(np.intp)
        step = t >= _STEP.take(b)
        n, k = V.shape
        table = np.zeros((n, self._width), dtype=np.uint8)
        for copy, lut in enumerate(self._luts):
            cols = table[:, copy * (k + 1) : copy * (k + 1) + k]
            np.add(lut.take(b), step, out=cols, casting="unsafe")
        return table

    table = _table  # public: the (n, width) intensity table itself

    def _table_torch(self, X, torch):
        c = self._device_cache(X.device, lambda dev: {
            "order": torch.as_tensor(self.order_, device=dev),
            "scale": torch.as_tensor(self._scale, device=dev),
            "shift": torch.as_tensor(self._shift, device=dev),
            "step": torch.as_tensor(_STEP, device=dev),
            "luts": [torch.as_tensor(lut, device=dev) for lut in self._luts],
        })
        V = X[:, c["order"]]
        miss = torch.isnan(V)
        if self.missing_value is not None:
            miss |= V == self.missing_value
        t = V * c["scale"]  # the same IEEE operations as bin_coordinate, in the same order
        t = t + c["shift"]
        t = t.clamp(0.0, LUT_BINS - 1.0)
        t = torch.where(miss, torch.full_like(t, float(LUT_BINS)), t)
        b = t.long()
        step = (t >= c["step"][b]).to(torch.uint8)
        n, k = V.shape
        table = torch.zeros((n, self._width), dtype=torch.uint8, device=X.device)
        for copy, lut in enumerate(c["luts"]):
            table[:, copy * (k + 1) : copy * (k + 1) + k] = lut[b] + step
        return table


register_encoder("pixels", description="Pixel blocks/bars of intensity sigmoid(standardised value)")(PixelEncoder)
