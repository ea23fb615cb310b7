"""DeepInsight images: features placed where a 2-D embedding of the features puts them.

Paper: A. Sharma, E. Vans, D. Shigemizu, K. A. Boroevich and T. Tsunoda, "DeepInsight: A
methodology to transform a non-image data to an image for convolution neural network
architecture", Scientific Reports 9, 11399 (2019). Reference implementation: pyDeepInsight
0.2.3 (``ImageTransformer``, discretization ``bin``), also TINTOlib 1.3.1's ``DeepInsight``.

What it does, fitted on the training rows only:

1. the features are points: the rows of the feature-by-sample matrix V.T (V: the training
   table min-max scaled to [0, 1], as the paper and both references scale it), embedded in
   2-D by ``embedding`` = ``tsne`` (the paper's default; scikit-learn's TSNE with ``metric``
   (cosine, pyDeepInsight's) and ``perplexity``, seeded with ``random_state``), ``pca`` or
   ``kpca`` (KernelPCA, rbf kernel);
2. the points are rotated by the convex hull's bounding rectangle (the paper: the minimum-area
   rectangle, turned axis-aligned). ``rotation="reference"`` (default) is pyDeepInsight's
   and TINTOlib's code exactly: each hull edge's angle a (mod 90 degrees) is tried as a
   turn by +a and the turn giving the smallest axis-aligned box is kept. That turns the
   edge to 2a rather than 0, so the box is in general not the minimum rectangle (on
   one t-SNE layout of load_wine, box area 15284 against 14970, 2% larger; PCA 0.2%).
   ``rotation="minimum"`` turns by -a over every edge: the true minimum rectangle,
   axis-aligned, as the paper describes;
3. each rotated coordinate is scaled to [0, cells] along its axis and floored, the maximum
   moved into the last cell (pyDeepInsight's ``coordinate_binning``): feature j goes to
   (row, column) = (bin of its first coordinate, bin of its second), the references' order.

Then ``PlacementEncoder`` draws it: a cell shows the mean of its features' scaled values
(pyDeepInsight's and TINTOlib's rule), empty cells 0, the grid scaled up to ``size`` by
nearest neighbour.

Our defaults and why:

- ``grid`` (cells per side): ``4 * ceil(sqrt(F))`` capped by ``size`` (F = 30 HiggsML
  features: 24 x 24). pyDeepInsight defaults to ``pixels=224`` (one pixel per cell at our
  224 px), so a feature is a single pixel the CNN stem's stride can step over; the
  ``PlacementEncoder`` default ``ceil(sqrt(F))`` leaves as many cells as features, which
  scattered embedding points (clusters and empty space) crowd into collisions. Sixteen cells
  per feature keeps collisions rare and each feature a block of ``size / grid`` pixels.
- ``perplexity`` 5 (pyDeepInsight's examples and the paper's code); t-SNE needs it below the
  number of points, so with F <= 5 features it is clipped to F - 1 (``perplexity_``).
- ``metric`` cosine (pyDeepInsight's and TINTOlib's t-SNE).
- ``rotation`` reference: the layouts are those pyDeepInsight's users get (and the
  reference tests can demand equality); ``minimum`` is one option away.

Known differences from the references (each pinned by tests/test_deepinsight_tinto.py):

- ``rotation="minimum"`` (not the default) fixes the references' rotation (point 2).
- At most ``MAX_EMBED_ROWS`` (2000) training rows, a sample seeded with ``random_state``,
  are the features' coordinates for the embedding (t-SNE's pairwise distances over 200k
  HiggsML rows would dominate fit); the references use every row. Min and max still come
  from every training row.
- Missing values (``missing_value`` or NaN) are 0 in the embedded matrix (the references
  refuse missing values) and are left out of a cell's mean (marker or blank, as every
  ``PlacementEncoder``).
- A test value outside the training range saturates at 0 or 1 (the references' MinMaxScaler
  does not clip).
- The references give float images; ours are uint8 ``rint(255 * value)``: within one grey
  level of 255 times the reference image (the mean's summation order may differ by an ulp).
- TINTOlib's DeepInsight uses ``perplexity = image_dim`` for t-SNE; ours is its own option
  (set ``perplexity=grid`` to match TINTOlib).
- Degenerate tables: fewer than 2 features or 2 training rows give every feature cell (0, 0)
  (the references fail); collinear points (no hull) are not rotated; an axis of zero extent
  scales to cell 0 (the references divide by zero).
"""
from __future__ import annotations

import numpy as np

from benchmarks.core.params import Param, real

from .base import unknown
from .grid import PlacementEncoder
from .registry import register_encoder

EMBEDDINGS = ("tsne", "pca", "kpca")
METRICS = ("cosine", "euclidean")
ROTATIONS = ("reference", "minimum")
MAX_EMBED_ROWS = 2000  # training rows whose values are the features' coordinates


def embedding_rows(V: np.ndarray, random_state, limit: int = MAX_EMBED_ROWS) -> np.ndarray:
    """V itself, or a seeded sample of `limit` of its rows (kept in table order)."""
    if V.shape[0] <= limit:
        return V
    idx = np.sort(np.random.default_rng(random_state).choice(V.shape[0], limit, replace=False))
    return V[idx]


def embed_features(points: np.ndarray, embedding: str, perplexity: float, metric: str,
                   random_state) -> np.ndarray:
    """(F, 2): each row of `points` (one per feature) embedded in 2-D, as pyDeepInsight does."""
    if embedding == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=random_state).fit_transform(points)
    if embedding == "kpca":
        from sklearn.decomposition import KernelPCA

        return KernelPCA(n_components=2, kernel="rbf", random_state=random_state).fit_transform(points)
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, perplexity=perplexity, metric=metric,
                random_state=random_state).fit_transform(points)


def bounding_rotation(points: np.ndarray, rotation: str = "reference") -> np.ndarray:
    """(2, 2): the rotation R (applied as R @ p) that lays the points' bounding rectangle flat.

    The minimum-area bounding rectangle of a convex polygon has a side on one of its edges,
    so only the hull's edge angles (modulo 90 degrees) are tried, keeping the smallest
    axis-aligned box. ``minimum``: every edge, each turned by minus its angle (the edge
    becomes horizontal: the true minimum rectangle, axis-aligned). ``reference``:
    pyDeepInsight's and TINTOlib's code, which turns by plus the angle (the edge goes to
    twice its angle, so the box kept is the smallest of those, in general not the minimum
    rectangle) and skips the edge from the last hull vertex back to the first. Collinear or
    too few points have no hull: no rotation.
    """
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = points[ConvexHull(points).vertices]
    except (QhullError, ValueError):
        return np.eye(2)
    ends = hull if rotation == "reference" else np.vstack([hull, hull[:1]])
    step = ends[1:] - ends[:-1]
    angles = np.unique(np.abs(np.mod(np.arctan2(step[:, 1], step[:, 0]), np.pi / 2)))
    cos, sin = np.cos(angles), np.sin(angles)
    if rotation == "reference":
        rotations = np.stack([cos, -sin, sin, cos], axis=1).reshape(-1, 2, 2)
    else:
        rotations = np.stack([cos, sin, -sin, cos], axis=1).reshape(-1, 2, 2)
    turned = np.dot(rotations, hull.T)  # (angles, 2, hull points)
    extent = turned.max(axis=2) - turned.min(axis=2)
    return rotations[np.argmin(extent[:, 0] * extent[:, 1])]


def bin_coordinates(coords: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(F, 2) int: each axis scaled to [0, cells] and floored, the maximum into the last cell."""
    lo = coords.min(axis=0)
    span = coords.max(axis=0) - lo
    flat = span <= 0  # every point at one coordinate: cell 0 (the references divide by zero)
    unit = (coords - lo) / np.where(flat, 1.0, span)
    cells = np.asarray(shape)
    binned = np.floor(np.multiply(unit, cells)).astype(np.int64)
    return np.minimum(binned, cells - 1)


class DeepInsightEncoder(PlacementEncoder):
    """DeepInsight (Sharma et al. 2019): features where a 2-D embedding of them puts them."""

    PARAMS = {
        "embedding": Param("tsne", unknown(*EMBEDDINGS), "tsne (the paper's), pca or kpca (rbf KernelPCA)"),
        "perplexity": Param(5.0, real(0, low_open=True), "t-SNE perplexity (clipped below the number of features)"),
        "metric": Param("cosine", unknown(*METRICS), "t-SNE distance between features: cosine or euclidean"),
        "rotation": Param("reference", unknown(*ROTATIONS),
                          "reference (pyDeepInsight's rotation) or minimum (the true minimum bounding rectangle)"),
        "grid": PlacementEncoder.PARAMS["grid"].but(
            doc="grid cells per side (None: 4 * ceil(sqrt(features)), at most size)"),
        "random_state": PlacementEncoder.PARAMS["random_state"].but(
            doc="seed of the embedding and of its row sample"),
    }

    @classmethod
    def param_owner(cls) -> str:
        return "deepinsight"

    def _default_grid(self, n_features: int) -> tuple[int, int]:
        side = min(self.size, max(2, 4 * int(np.ceil(np.sqrt(n_features)))))
        return side, side

    def _place(self, V: np.ndarray, missing: np.ndarray) -> np.ndarray:
        points = np.ascontiguousarray(embedding_rows(V, self.random_state).T)  # (F, rows)
        f, n = points.shape
        self.perplexity_ = float(min(self.perplexity, max(f - 1, 1)))
        if f < 2 or n < 2:  # nothing to embed
            self.embedding_ = np.zeros((f, 2))
            return np.zeros((f, 2), dtype=np.int64)
        self.embedding_ = embed_features(points, self.embedding, self.perplexity_, self.metric,
                                         self.random_state)
        self.rotation_ = bounding_rotation(self.embedding_, self.rotation)
        self.coordinates_ = np.dot(self.rotation_, self.embedding_.T).T  # the references' product
        return bin_coordinates(self.coordinates_, self.grid_shape_)


register_encoder("deepinsight", description="DeepInsight: features placed by a t-SNE/PCA embedding of them")(DeepInsightEncoder)
