"""TINTO images: features placed by a PCA (or t-SNE) of the features, optionally blurred.

Paper: M. Castillo-Cara, R. Talla-Chumpitaz, R. García-Castro and L. Orozco-Barbosa,
"TINTO: Converting Tidy Data into image for classification with 2-Dimensional Convolutional
Neural Networks", SoftwareX 22, 101391 (2023). Reference implementation: TINTOlib 1.3.1's
``TINTO`` (its default ``submatrix=True`` drawing).

What it does, fitted on the training rows only:

1. the features are points: the rows of the feature-by-sample matrix V.T (V: the training
   table min-max scaled to [0, 1], TINTOlib's MinMaxScaler), embedded in 2-D by
   ``embedding`` = ``pca`` (TINTOlib's default) or ``tsne`` (TINTOlib's recipe: the points
   repeated 16 times, scikit-learn's TSNE with perplexity 50 and the euclidean metric, seeded
   with ``random_state``, each feature at the mean of its 16 copies);
2. the points are centred on their mean and put in a square of side 2R, R the largest
   distance from the centre rounded up to an integer (TINTOlib's ``__square``); feature j
   goes to (row, column) = rint(|x_j + R| / 2R * (cells - 1)), rint(|y_j - R| / 2R *
   (cells - 1)) (half to even, numpy's and TINTOlib's rounding; the images' axes as
   TINTOlib draws them);
3. without ``blur`` a ``PlacementEncoder`` draws it (a cell shows the mean of its features'
   scaled values, empty cells 0, nearest-neighbour upscaling to ``size``);
4. with ``blur`` every feature also paints the cells around it (TINTOlib's filter): rings of
   radius r = distance * s for s = steps .. 1, from the outside in, each cell within r of
   the feature's cell (squared distance <= r^2) weighted min(amplification / (pi r^2), 1),
   the feature's own cell weighted 1; the filter is clipped at the grid's edge. A cell's
   value is, over the features reaching it (in feature order), with contributions w * v:
   ``collisions="mean"``: their sum divided by how many are positive (TINTOlib's
   ``option="mean"``: a zero or missing value adds nothing and is not counted);
   ``collisions="max"``: their maximum (TINTOlib's ``option="maximum"``). Each cell's
   contributions are a fixed list of (feature, weight) pairs found at fit, so transform is
   the same elementwise loop in numpy and torch (identical pixels on any device).

Our defaults: TINTOlib's (``grid`` 20 cells per side, at most ``size``; ``embedding`` pca;
``blur`` off; amplification pi, distance 2, steps 4). Blur's transform makes one pass over
the table per feature reaching the busiest cell (the rings span 2 * distance * steps + 1
cells): ~4,500 rows/s at 30 features, ~180 rows/s at 1,000 features on one core.

Known differences from TINTOlib (each pinned by tests/test_deepinsight_tinto.py):

- Without blur, features sharing a cell: TINTOlib keeps the last feature's value (each one
  overwrites the cell); ours is their mean (or max) like every ``PlacementEncoder``.
- TINTOlib's ``option`` (mean | maximum) is our ``collisions`` (mean | max), one option for
  blurred and plain images.
- At most ``MAX_EMBED_ROWS`` (2000) training rows, a seeded sample, are the features'
  coordinates for the embedding (TINTOlib uses every row). Min and max use every row.
- Missing values (``missing_value`` or NaN) are 0 in the embedded matrix and contribute
  nothing to a cell; a cell reached only by missing values shows the missing drawing
  (marker or blank). TINTOlib refuses missing values.
- A test value outside the training range saturates at 0 or 1 (TINTOlib does not clip).
- t-SNE's perplexity 50 is clipped below the number of points (16 per feature), so tables
  of 3 or fewer features still embed (TINTOlib fails).
- TINTOlib's images are floats (npy) or PNGs through a colour map (``binary``: inverted);
  ours are uint8 rint(255 * value), a high value bright.
- TINTOlib's ``submatrix=False`` drawing (an older per-pixel blur) is not implemented.
- Fewer than 2 features or 2 training rows: every feature at the square's centre.
"""
from __future__ import annotations

import math

import numpy as np

from benchmarks.core.params import BOOL, Param, integer, real
from benchmarks.core.weights import missing_mask

from .base import unknown
from .deepinsight import embedding_rows
from .grid import PlacementEncoder
from .registry import register_encoder

EMBEDDINGS = ("pca", "tsne")
TSNE_COPIES = 16  # TINTOlib's times=4: the points doubled four times
TSNE_PERPLEXITY = 50.0
GRID = 20  # TINTOlib's pixels


def embed_features(points: np.ndarray, embedding: str, random_state) -> np.ndarray:
    """(F, 2): each row of `points` (one per feature) in 2-D, as TINTOlib computes it."""
    f = points.shape[0]
    if embedding == "pca":
        from sklearn.decomposition import PCA

        # fit, then transform (not fit_transform): TINTOlib's floats, to the last bit
        return PCA(n_components=2, random_state=random_state).fit(points).transform(points)
    from sklearn.manifold import TSNE

    copies = np.tile(points, (TSNE_COPIES, 1))  # TINTOlib's repeated doubling, same order
    perplexity = min(TSNE_PERPLEXITY, TSNE_COPIES * f - 1.0)
    emb = TSNE(n_components=2, random_state=random_state, perplexity=perplexity).fit_transform(copies)
    return emb.reshape(TSNE_COPIES, f, 2).mean(axis=0)


def square_cells(coords: np.ndarray, cells: int) -> np.ndarray:
    """(F, 2) int: the points centred in a square of integer half-side R, scaled to the grid."""
    centred = coords - np.mean(coords, axis=0)
    radius = math.ceil(max((centred[:, 0] ** 2 + centred[:, 1] ** 2) ** 0.5))
    radius = max(radius, 1)  # all points at the centre: TINTOlib divides by zero
    corner = centred - np.array([-radius, radius], dtype=np.float64)
    return np.rint(np.abs(corner / (2 * radius) * (cells - 1))).astype(np.int64)


def blur_filter(distance: int, steps: int, amplification: float) -> np.ndarray:
    """(2 * distance * steps + 1,) * 2: each cell's weight around a feature (TINTOlib's rings)."""
    centre = distance * steps
    yy, xx = np.indices((2 * centre + 1,) * 2)
    d2 = (centre - yy) ** 2 + (centre - xx) ** 2
    weights = np.zeros(d2.shape)
    for step in reversed(range(steps)):  # outer rings first: inner ones overwrite them
        r = int(distance * (step + 1))
        weights[d2 <= r**2] = min(amplification * 1 / (np.pi * r**2), 1)
    weights[centre, centre] = 1.0
    return weights


def blur_contributions(positions: np.ndarray, grid_shape: tuple[int, int], weights: np.ndarray):
    """(cell, feature, weight) of every blurred contribution, feature by feature (the sum's order)."""
    rows, cols = grid_shape
    centre = weights.shape[0] // 2
    dy, dx = np.nonzero(weights > 0)
    w = weights[dy, dx]
    r = positions[:, :1] + (dy - centre)[None, :]  # (F, filter cells)
    c = positions[:, 1:] + (dx - centre)[None, :]
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    feature = np.broadcast_to(np.arange(len(positions))[:, None], r.shape)
    return (r * cols + c)[inside], feature[inside], np.broadcast_to(w, r.shape)[inside]


class TintoEncoder(PlacementEncoder):
    """TINTO (Castillo-Cara et al. 2023): features placed by a PCA of them, optionally blurred."""

    PARAMS = {
        "embedding": Param("pca", unknown(*EMBEDDINGS), "pca (TINTOlib's default) or tsne"),
        "blur": Param(False, BOOL, "features also paint the cells around them (TINTOlib's blur)"),
        "amplification": Param(np.pi, real(0, low_open=True), "blur: ring weight amplification / (pi r^2)"),
        "distance": Param(2, integer(1, 64), "blur: cells between rings"),
        "steps": Param(4, integer(1, 64), "blur: number of rings"),
        "grid": PlacementEncoder.PARAMS["grid"].but(doc=f"grid cells per side (None: {GRID}, at most size)"),
        "collisions": PlacementEncoder.PARAMS["collisions"].but(
            doc="features sharing a cell: mean or max (with blur: TINTOlib's option mean or maximum)"),
        "random_state": PlacementEncoder.PARAMS["random_state"].but(
            doc="seed of the embedding and of its row sample"),
    }

    @classmethod
    def param_owner(cls) -> str:
        return "tinto"

    def _default_grid(self, n_features: int) -> tuple[int, int]:
        side = min(GRID, self.size)
        return side, side

    def _place(self, V: np.ndarray, missing: np.ndarray) -> np.ndarray:
        points = np.ascontiguousarray(embedding_rows(V, self.random_state).T)  # (F, rows)
        f, n = points.shape
        if f < 2 or n < 2:  # nothing to embed
            self.embedding_ = np.zeros((f, 2))
        else:
            self.embedding_ = embed_features(points, self.embedding, self.random_state)
        return square_cells(self.embedding_, self.grid_shape_[0])

    # ----------------------------------------------------------------- blur tables
    def _build_tables(self, cell: np.ndarray) -> None:
        if not self.blur:
            self.weights_ = None
            return super()._build_tables(cell)
        cols = self.grid_shape_[1]
        positions = np.stack([cell // cols, cell % cols], axis=1)
        self.filter_ = blur_filter(self.distance, self.steps, self.amplification)
        where, feature, weight = blur_contributions(positions, self.grid_shape_, self.filter_)
        # the base lays out one table column per reached cell, its contributions in the given
        # (feature) order, padded with index len(where); map them to features and weights
        super()._build_tables(where)
        f = len(cell)
        self.weights_ = np.append(weight, 0.0)[self.members_]
        self.members_ = np.append(feature, f)[self.members_]  # f: the appended zero column

    def _table(self, X: np.ndarray) -> np.ndarray:
        if not self.blur:
            return super()._table(X)
        miss = missing_mask(X, self.missing_value)
        V = self._scale(X, miss)
        n = V.shape[0]
        Vp = np.concatenate([V, np.zeros((n, 1))], axis=1)
        present = np.concatenate([~miss, np.zeros((n, 1), bool)], axis=1)
        acc = np.zeros((n, self._n_cells))
        cnt = np.zeros((n, self._n_cells))
        seen = np.zeros((n, self._n_cells))
        for j in range(self.members_.shape[1]):  # fixed order: the torch path does the same
            idx = self.members_[:, j]
            part = Vp[:, idx] * self.weights_[:, j]
            if self.collisions == "mean":
                acc += part
                cnt += part > 0
            else:
                np.maximum(acc, part, out=acc)
            seen += present[:, idx]
        value = acc / np.maximum(cnt, 1.0) if self.collisions == "mean" else acc
        grey = np.rint(value * 255.0).astype(np.uint8)
        return self._assemble(grey, seen == 0, np.zeros((n, self._width), dtype=np.uint8))

    def _torch_consts(self, torch, dev) -> dict:
        c = super()._torch_consts(torch, dev)
        if self.blur:
            c["weights"] = torch.as_tensor(self.weights_, device=dev)
        return c

    def _table_torch(self, X, torch):
        if not self.blur:
            return super()._table_torch(X, torch)
        c, Vp, present = self._scaled_torch(X, torch)
        n = Vp.shape[0]
        acc = Vp.new_zeros((n, self._n_cells))
        cnt = Vp.new_zeros((n, self._n_cells))
        seen = Vp.new_zeros((n, self._n_cells))
        for j in range(self.members_.shape[1]):
            idx = c["members"][:, j]
            part = Vp[:, idx] * c["weights"][:, j]
            if self.collisions == "mean":
                acc = acc + part
                cnt = cnt + (part > 0).to(torch.float64)
            else:
                acc = torch.maximum(acc, part)
            seen = seen + present[:, idx]
        value = acc / cnt.clamp(min=1.0) if self.collisions == "mean" else acc
        grey = torch.round(value * 255.0).to(torch.uint8)
        table = torch.zeros((n, self._width), dtype=torch.uint8, device=X.device)
        return self._assemble(grey, seen == 0, table)


register_encoder("tinto", description="TINTO: features placed by a PCA/t-SNE of them, optional blur")(TintoEncoder)
