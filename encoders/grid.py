"""Pixel-placement images: every feature is given one cell of a small grid, and a row's image
shows each feature's scaled value at its cell (DeepInsight, IGTD, REFINED, TINTO without blur).

What the methods differ in is only where features go: a subclass fits ``_place(V, missing)``
on the training rows (V: features min-max scaled to [0, 1], as the papers and TINTOlib scale
them) and returns each feature's (row, column) on a ``grid_shape_`` grid. This base does the
rest the same way for all of them:

- values: v = clip((x - min) / (max - min), 0, 1), min and max from the training rows
  ignoring missing values (a test row outside the training range saturates, it never moves
  the scale);
- collisions (several features in one cell): ``mean`` of their values (DeepInsight's and
  TINTOlib's rule) or ``max``; missing values are left out, a cell whose features are all
  missing shows the missing drawing (``marker``: 0/255 one-pixel stripes; ``blank``: 0);
- grey level = rint(255 * value), empty cells 0;
- the grid is scaled up to ``size`` pixels by nearest neighbour (each cell a block).

Rendering is a gather (``GatherEncoder``): the per-event table holds one column per occupied
cell, computed with a fixed order of IEEE operations, so numpy and torch on any device give
identical pixels.
"""
from __future__ import annotations

import numpy as np

from benchmarks.core.errors import ConfigError
from benchmarks.core.params import NONE, Param, integer
from benchmarks.core.weights import missing_mask

from .base import GatherEncoder, ImageEncoder, unknown

COLLISIONS = ("mean", "max")


def train_range(X: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature minimum and maximum over the present, finite training values (an
    all-missing feature: 0 and 1)."""
    ok = ~missing & np.isfinite(X)
    big = np.finfo(np.float64).max
    lo = np.where(ok, X, big).min(axis=0)
    hi = np.where(ok, X, -big).max(axis=0)
    empty = ~ok.any(axis=0)
    lo[empty], hi[empty] = 0.0, 1.0
    return lo, hi


def grid_index_map(grid_shape: tuple[int, int], size: int) -> np.ndarray:
    """(size, size): the grid cell (row-major index) each pixel shows, nearest neighbour."""
    rows, cols = grid_shape
    ry = (np.arange(size) * rows) // size
    cx = (np.arange(size) * cols) // size
    return ry[:, None] * cols + cx[None, :]


class PlacementEncoder(GatherEncoder):
    """Base class: features placed on a grid by ``_place``; see the module docstring."""

    _common = ImageEncoder.PARAMS
    PARAMS = {
        "size": _common["size"],
        "grid": Param(None, (integer(2, 1024) | NONE).named("an integer from 2 to 1024 or None"),
                      "grid cells per side (None: the method's default for the table)"),
        "channels": _common["channels"],
        "collisions": Param("mean", unknown(*COLLISIONS), "features sharing a cell: mean (the papers) or max"),
        "missing": _common["missing"],
        "missing_value": _common["missing_value"],
        "dtype": _common["dtype"],
        "random_state": _common["random_state"],
        "n_jobs": _common["n_jobs"],
    }
    del _common
    # the layout decides where features go: no order, no importance forest
    order = None
    importances = None

    def _default_grid(self, n_features: int) -> tuple[int, int]:
        side = int(np.ceil(np.sqrt(n_features)))
        return max(side, 2), max(side, 2)

    def _grid(self, n_features: int) -> tuple[int, int]:
        if self.grid is None:
            shape = self._default_grid(n_features)
        else:
            shape = (int(self.grid), int(self.grid))
        if shape[0] > self.size or shape[1] > self.size:
            raise ConfigError(f"{self.param_owner()}: a {shape[0]}x{shape[1]} grid does not fit "
                              f"{self.size}x{self.size} pixels; raise size or lower grid")
        return shape

    def _place(self, V: np.ndarray, missing: np.ndarray) -> np.ndarray:
        """(F, 2) int (row, column) of each feature on ``self.grid_shape_``; train rows only."""
        raise NotImplementedError

    # ----------------------------------------------------------------- fitting
    def _fit(self, X: np.ndarray, missing: np.ndarray) -> None:
        lo, hi = train_range(X, missing)
        span = hi - lo
        self.min_ = lo
        self.range_ = np.where(span > 0, span, 1.0)  # a constant feature scales to 0
        V = self._scale(X, missing)
        self.grid_shape_ = self._grid(X.shape[1])
        pos = np.asarray(self._place(V, missing), dtype=np.int64)
        rows, cols = self.grid_shape_
        if pos.shape != (X.shape[1], 2) or (pos < 0).any() or (pos[:, 0] >= rows).any() or (pos[:, 1] >= cols).any():
            raise AssertionError(f"{type(self).__name__}._place gave positions outside the {rows}x{cols} grid")
        self.positions_ = pos
        self._build_tables(pos[:, 0] * cols + pos[:, 1])

    def _scale(self, X: np.ndarray, missing: np.ndarray) -> np.ndarray:
        """Min-max scaled values in [0, 1], missing values 0 (numpy; mirrored in torch)."""
        V = (X - self.min_) / self.range_
        np.clip(V, 0.0, 1.0, out=V)
        V[missing | np.isnan(V)] = 0.0
        return V

    def _build_tables(self, cell: np.ndarray) -> None:
        """Occupied cells -> table columns; ``members_`` lists each column's features."""
        occupied, inverse = np.unique(cell, return_inverse=True)
        k = len(occupied)
        depth = int(np.bincount(inverse).max())
        f = len(cell)
        # (k, depth) feature indices per occupied cell, padded with f (a column of zeros
        # appended to the scaled table, never missing), in feature order
        members = np.full((k, depth), f, dtype=np.intp)
        fill = np.zeros(k, dtype=np.intp)
        for j, c in enumerate(inverse):
            members[c, fill[c]] = j
            fill[c] += 1
        self.members_ = members
        self.cell_count_ = fill
        n_cells = self.grid_shape_[0] * self.grid_shape_[1]
        column = np.full(n_cells, k, dtype=np.intp)  # column k: an empty cell (0)
        column[occupied] = np.arange(k)
        index = column[grid_index_map(self.grid_shape_, self.size)]
        if self.missing == "marker":
            # two copies of the table (even/odd pixel columns): an all-missing cell reads 255
            # in one and 0 in the other, so it shows as 1-px stripes unlike any real value
            xx = np.arange(self.size)[None, :]
            index = index + (xx % 2) * (k + 1)
            self._width = 2 * (k + 1)
        else:
            self._width = k + 1
        self._n_cells = k
        self._set_index_map(index)

    # ----------------------------------------------------------------- transform
    def _table(self, X: np.ndarray) -> np.ndarray:
        miss = missing_mask(X, self.missing_value)
        V = self._scale(X, miss)
        n, f = V.shape
        Vp = np.concatenate([V, np.zeros((n, 1))], axis=1)
        present = np.concatenate([~miss, np.zeros((n, 1), bool)], axis=1)
        acc = np.zeros((n, self._n_cells))
        cnt = np.zeros((n, self._n_cells))
        for j in range(self.members_.shape[1]):  # fixed order: the torch path adds the same way
            idx = self.members_[:, j]
            if self.collisions == "mean":
                acc += Vp[:, idx]
            else:
                np.maximum(acc, Vp[:, idx], out=acc)
            cnt += present[:, idx]
        value = acc / np.maximum(cnt, 1.0) if self.collisions == "mean" else acc
        grey = np.rint(value * 255.0).astype(np.uint8)
        return self._assemble(grey, cnt == 0, np.zeros((n, self._width), dtype=np.uint8))

    def _assemble(self, grey, all_missing, table):
        """Fill `table` (zeros, numpy or torch): the grey levels, then the marker copy.

        An all-missing cell's grey level is 0 (nothing was added), so the odd copy already
        shows it as 0 and the even copy gets 255.
        """
        k = self._n_cells
        table[:, :k] = grey
        if self.missing == "marker":
            table[:, k + 1 : 2 * k + 1] = grey
            table[:, :k][all_missing] = 255
        return table

    def _torch_consts(self, torch, dev) -> dict:
        return {"min": torch.as_tensor(self.min_, device=dev),
                "range": torch.as_tensor(self.range_, device=dev),
                "members": torch.as_tensor(self.members_, device=dev)}

    def _scaled_torch(self, X, torch):
        """(constants, Vp, present): ``_scale`` in torch with the padding column appended."""
        c = self._device_cache(X.device, lambda dev: self._torch_consts(torch, dev))
        miss = torch.isnan(X)
        if self.missing_value is not None:
            miss |= X == self.missing_value
        V = ((X - c["min"]) / c["range"]).clamp(0.0, 1.0)
        V = torch.where(miss | torch.isnan(V), torch.zeros_like(V), V)
        n = V.shape[0]
        Vp = torch.cat([V, V.new_zeros((n, 1))], dim=1)
        present = torch.cat([~miss, miss.new_zeros((n, 1))], dim=1).to(torch.float64)
        return c, Vp, present

    def _table_torch(self, X, torch):
        c, Vp, present = self._scaled_torch(X, torch)
        n = Vp.shape[0]
        acc = Vp.new_zeros((n, self._n_cells))
        cnt = Vp.new_zeros((n, self._n_cells))
        for j in range(self.members_.shape[1]):
            idx = c["members"][:, j]
            acc = acc + Vp[:, idx] if self.collisions == "mean" else torch.maximum(acc, Vp[:, idx])
            cnt = cnt + present[:, idx]
        value = acc / cnt.clamp(min=1.0) if self.collisions == "mean" else acc
        grey = torch.round(value * 255.0).to(torch.uint8)
        table = torch.zeros((n, self._width), dtype=torch.uint8, device=X.device)
        return self._assemble(grey, cnt == 0, table)

    def layout_image(self) -> np.ndarray:
        """(rows, cols) int: the feature in each cell (-1 empty, -2 several), for pictures and tests."""
        rows, cols = self.grid_shape_
        img = np.full(rows * cols, -1, dtype=np.int64)
        cell = self.positions_[:, 0] * cols + self.positions_[:, 1]
        for j, c in enumerate(cell):
            img[c] = j if img[c] == -1 else -2
        return img.reshape(rows, cols)
