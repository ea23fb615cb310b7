"""IGTD: Image Generator for Tabular Data (Zhu, Brettin, Xia, Partin, Shukla, Yoo, Evrard,
Doroshow and Stevens, "Converting tabular data into images for deep learning with
convolutional neural networks", Scientific Reports 11, 11325, 2021).

Every feature gets its own cell of a small grid (one feature per cell, the first F cells in
row-major order), so that features that are alike sit close together. "Alike" and "close"
are both compared as ranks: R[a, b] is the rank of the distance between features a and b
among all feature pairs (Pearson correlation distance 1 - r by default; Spearman, or
euclidean between the scaled columns), T[p, q] the rank of the distance between cells p and
q among all cell pairs (euclidean by default, or manhattan). The error of an assignment
(``assignment[p]``: the feature in cell p) is the sum over cell pairs p < q of
(R[assignment[p], assignment[q]] - T[p, q])^2 (``error="squared"``, default) or of its
absolute value (``error="abs"``): ``igtd_error``.

The search starts from the identity (feature k in cell k) and swaps: at each step it takes
the cell that was considered least recently (ties drawn with a seeded
``numpy.random.RandomState``), computes the error change of swapping its feature with the
feature of every other cell at once (``igtd_swap_deltas``: O(F) per candidate, one numpy
computation for all F of them, never the full O(F^2) error), and makes the best swap if its
relative error change is at most ``switch_t``. It stops after ``max_step`` steps, when the
error has not improved by a relative ``min_gain`` over the last ``val_step`` steps, or when
``time_budget`` seconds have passed; the best assignment seen is kept.

Defaults are TINTOlib 1.3.1's (fea_dist_method='Pearson', image_dist_method='Euclidean',
error='squared', max_step=1000, val_step=50, switch_t=0, min_gain=1e-5) so that our layout
is the reference's: given the same scaled rows, grid and seed the same assignment comes out
(tests/test_igtd_refined.py pins it). The default grid is the smallest near-square grid with
at least F cells (``ceil(sqrt(F))`` columns): IGTD wants one feature per cell, and a bigger
grid only adds empty cells.

Known differences from TINTOlib 1.3.1's IGTD:

- speed: the candidate swaps of a step are one vectorised computation (for the squared
  error two matrix-vector products), not a Python loop over candidates; ranks are multiples
  of 1/2, so every sum is exact in float64 (up to about 2,000 features) and the decisions
  are the reference's, bit for bit;
- ``time_budget`` (seconds, a hard stop; the reference has none). Where it binds, the
  layout depends on the machine's speed: ``stopped_by_`` says what ended the search;
- a constant feature has correlation 0 with every other one (distance 1); the reference's
  NaN correlation turns all its ranks into NaN. Missing values are 0 (the scaled minimum)
  when the distances are computed (the reference refuses missing values);
- an error of 0 stops the search (the reference goes on without swaps until ``val_step``);
- only the pearson, spearman and euclidean feature distances (the reference also has set,
  Wasserstein, Jensen-Shannon, geodesic and tropical);
- the default grid depends on F (the reference's default is a fixed 6 x 6) and
  ``random_state`` defaults to 0, the project's common seed (the reference's is 1);
- images: each feature min-max scaled on the training rows, grey rint(255 * value), empty
  cells 0 (the PlacementEncoder rules). The reference draws the inverse (255 - value, black
  is high, empty cells white), scaled by the minimum and maximum of the whole batch being
  transformed, so a row's image depends on the other rows of its batch;
- the reference's ``features_positions.csv`` gives feature k the position of cell
  ``index[k]`` (the inverse permutation); its images place features correctly, as ours do.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from benchmarks.core.errors import ConfigError
from benchmarks.core.params import MAX_ROUNDS, Param, integer, real

from .base import unknown
from .grid import PlacementEncoder
from .registry import register_encoder

FEATURE_DISTANCES = ("pearson", "spearman", "euclidean")
PIXEL_DISTANCES = ("euclidean", "manhattan")
ERRORS = ("squared", "abs")


# ----------------------------------------------------------------------------- rank matrices


def near_square_grid(n: int) -> tuple[int, int]:
    """(rows, cols): the smallest near-square grid with at least n cells, cols = ceil(sqrt(n))."""
    cols = max(1, int(np.ceil(np.sqrt(n))))
    return max(1, -(-n // cols)), cols


def _rank_lower(dist: np.ndarray) -> np.ndarray:
    """Symmetric (n, n): the rank (ties averaged, from 1) of each pair's distance among all
    pairs a > b; zero diagonal."""
    from scipy.stats import rankdata

    n = dist.shape[0]
    low = np.tril_indices(n, k=-1)
    ranking = np.zeros((n, n))
    ranking[low] = rankdata(dist[low])
    return ranking + ranking.T


def feature_distances(V: np.ndarray, method: str = "pearson") -> np.ndarray:
    """(F, F) distances between the columns of V (rows x features, scaled to [0, 1]).

    pearson / spearman: 1 - correlation (a constant feature correlates 0 with everything);
    euclidean: the distance between columns divided by the largest one. Rounded to 10
    decimals as in the reference, so that near-equal distances tie the same way.
    """
    f = V.shape[1]
    if method in ("pearson", "spearman"):
        if method == "spearman":
            from scipy.stats import rankdata

            V = rankdata(V, axis=0)  # Spearman's rho: Pearson's r of the ranks
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.atleast_2d(np.corrcoef(V.T)) if f > 1 else np.ones((1, 1))
        corr = np.where(np.isfinite(corr), corr, 0.0)
        dist = 1.0 - corr
    elif method == "euclidean":
        from scipy.spatial.distance import pdist, squareform

        d = squareform(pdist(V.T, metric="euclidean"))  # exact differences, as the reference
        top = d.max()
        # the reference's steps: similarity (max - d) / max, then distance 1 - similarity
        dist = 1.0 - (top - d) / top if top > 0 else np.zeros_like(d)
    else:
        raise ConfigError(f"igtd: unknown feature_distance {method!r}; use " + ", ".join(FEATURE_DISTANCES))
    return np.around(dist, decimals=10)


def feature_ranking(V: np.ndarray, method: str = "pearson") -> np.ndarray:
    """(F, F) rank matrix of the feature-feature distances (``feature_distances``)."""
    return _rank_lower(feature_distances(V, method))


def cell_coordinates(grid_shape: tuple[int, int], n: int) -> np.ndarray:
    """(n, 2) (row, col) of the first n cells of the grid, row-major."""
    k = np.arange(n)
    return np.stack([k // grid_shape[1], k % grid_shape[1]], axis=1)


def pixel_ranking(grid_shape: tuple[int, int], n: int, method: str = "euclidean") -> np.ndarray:
    """(n, n) rank matrix of the distances between the first n cells of the grid."""
    xy = cell_coordinates(grid_shape, n).astype(np.float64)
    dr = xy[:, None, 0] - xy[None, :, 0]
    dc = xy[:, None, 1] - xy[None, :, 1]
    if method == "euclidean":
        dist = np.sqrt(np.square(dr) + np.square(dc))
    elif method == "manhattan":
        dist = np.abs(dr) + np.abs(dc)
    else:
        raise ConfigError(f"igtd: unknown pixel_distance {method!r}; use " + ", ".join(PIXEL_DISTANCES))
    return _rank_lower(dist)


# ----------------------------------------------------------------------------- objective


def _loss(x: np.ndarray, error: str) -> np.ndarray:
    return x * x if error == "squared" else np.abs(x)


def igtd_error(feature_rank: np.ndarray, pixel_rank: np.ndarray, assignment: np.ndarray,
               error: str = "squared") -> float:
    """IGTD's error: sum over cell pairs p > q of loss(R[a[p], a[q]] - T[p, q]).

    `assignment[p]` is the feature in cell p (a permutation of the F features over the first
    F cells); loss is the square (``error="squared"``) or the absolute value (``"abs"``).
    """
    a = np.asarray(assignment, dtype=np.intp)
    S = np.asarray(feature_rank, dtype=np.float64)[np.ix_(a, a)]
    low = np.tril_indices(len(a), k=-1)
    return float(_loss(S[low] - np.asarray(pixel_rank, dtype=np.float64)[low], error).sum())


class RankSwaps:
    """The search state: S = R permuted by the current assignment (S[p, q] = R[a[p], a[q]]),
    the cells' ranks T, and per row p its error E[p] = sum_q loss(S[p, q] - T[p, q]).

    ``deltas(i)`` is the error change of swapping cell i's feature with every other cell's;
    ``swap(i, j)`` does one, updating E in O(F).
    """

    def __init__(self, feature_rank: np.ndarray, pixel_rank: np.ndarray, error: str = "squared"):
        self.S = np.array(feature_rank, dtype=np.float64)  # a copy: swapped in place
        self.T = np.ascontiguousarray(pixel_rank, dtype=np.float64)
        self.error = error
        self.E = _loss(self.S - self.T, error).sum(axis=1)
        if error == "squared":  # row sums of squares: permuted, never recomputed
            self.sS = (self.S * self.S).sum(axis=1)
            self.sT = (self.T * self.T).sum(axis=1)

    def total(self) -> float:
        return float(self.E.sum() / 2.0)

    def deltas(self, i: int) -> np.ndarray:
        """(F,): error change of swapping the features of cells i and j, for every j (inf at i).

        After the swap the pairs (i, k) compare S[j, k] with T[i, k] and the pairs (j, k)
        S[i, k] with T[j, k], k outside {i, j}; the pair (i, j) keeps its distance. So
        delta[j] = A[j] + B[j] - E[i] - E[j] with A[j] = sum_k loss(S[j, k] - T[i, k]) and
        B[j] = sum_k loss(S[i, k] - T[j, k]), corrected for the terms k in {i, j}.
        """
        S, T, err = self.S, self.T, self.error
        s, t = S[i], T[i]
        if err == "squared":  # (x - y)^2 expanded: two matrix-vector products
            A = self.sS - 2.0 * (S @ t) + t @ t
            B = s @ s - 2.0 * (T @ s) + self.sT
        else:
            A = np.abs(S - t).sum(axis=1)
            B = np.abs(T - s).sum(axis=1)
        delta = A + B - 2.0 * _loss(s, err) - 2.0 * _loss(t, err) - self.E[i] - self.E + 2.0 * _loss(s - t, err)
        delta[i] = np.inf
        return delta

    def swap(self, i: int, j: int) -> None:
        S, T, err = self.S, self.T, self.error
        si, sj = S[i].copy(), S[j].copy()  # S is symmetric: row i is column i
        ti, tj = T[:, i], T[:, j]
        self.E += _loss(sj - ti, err) + _loss(si - tj, err) - _loss(si - ti, err) - _loss(sj - tj, err)
        S[[i, j]] = S[[j, i]]
        S[:, [i, j]] = S[:, [j, i]]
        self.E[i] = _loss(S[i] - T[i], err).sum()
        self.E[j] = _loss(S[j] - T[j], err).sum()
        if err == "squared":
            self.sS[[i, j]] = self.sS[[j, i]]


def igtd_swap_deltas(feature_rank, pixel_rank, assignment, i: int, error: str = "squared") -> np.ndarray:
    """(F,): the change of ``igtd_error`` when the features of cell i and of each cell j swap
    (inf at j = i), from scratch (the search keeps its state in ``RankSwaps`` instead)."""
    a = np.asarray(assignment, dtype=np.intp)
    R = np.asarray(feature_rank, dtype=np.float64)[np.ix_(a, a)]
    return RankSwaps(R, pixel_rank, error).deltas(int(i))


@dataclass
class SearchResult:
    assignment: np.ndarray  # feature in each cell, the best seen
    history: np.ndarray  # error before the first step and after each step
    n_steps: int
    stopped_by: str  # "max_step", "min_gain", "zero_error" or "time_budget"


def igtd_search(feature_rank: np.ndarray, pixel_rank: np.ndarray, error: str = "squared",
                max_step: int = 1000, val_step: int = 50, switch_t: float = 0.0,
                min_gain: float = 1e-5, seed: int | None = 1, time_budget: float = np.inf,
                start: float | None = None) -> SearchResult:
    """IGTD's swap search from the identity assignment (see the module docstring).

    `start` (a ``time.perf_counter()`` reading) is when the budget began; default now.
    """
    start = time.perf_counter() if start is None else start
    rng = np.random.RandomState(None if seed is None else int(seed) % 2**32)
    n = feature_rank.shape[0]
    state = RankSwaps(feature_rank, pixel_rank, error)
    index = np.arange(n)
    last_seen = -np.ones(n)  # the step at which each cell was last considered
    history = [state.total()]
    best, best_index = history[0], index.copy()
    pre = history[0]
    stopped, steps = "max_step", 0
    for s in range(max_step):
        if pre <= 0:
            stopped = "zero_error"
            break
        if time.perf_counter() - start >= time_budget:
            stopped = "time_budget"
            break
        oldest = np.flatnonzero(last_seen == last_seen.min())
        i = int(oldest[rng.permutation(len(oldest))[0]])  # the reference's draw, same stream
        delta = state.deltas(i)
        j = int(np.argmin(delta))
        if delta[j] / pre <= switch_t:
            state.swap(i, j)
            index[[i, j]] = index[[j, i]]
            err = pre + float(delta[j])
            last_seen[i] = last_seen[j] = s
        else:
            err = pre
            last_seen[i] = s
        history.append(err)
        steps = s + 1
        if err < best:  # strict: the first assignment reaching the minimum, as the reference
            best, best_index = err, index.copy()
        if s > val_step:
            base = history[-val_step - 1]
            gains = (base - np.asarray(history[-val_step:])) / base
            if not (gains >= min_gain).any():
                stopped = "min_gain"
                break
        pre = err
    return SearchResult(best_index, np.asarray(history), steps, stopped)


# ----------------------------------------------------------------------------- encoder


class IGTDEncoder(PlacementEncoder):
    """IGTD: one feature per cell, placed by swaps that match feature ranks to cell ranks."""

    PARAMS = {
        "feature_distance": Param("pearson", unknown(*FEATURE_DISTANCES),
                                  "feature-feature distance: pearson (1 - r), spearman or euclidean"),
        "pixel_distance": Param("euclidean", unknown(*PIXEL_DISTANCES), "cell-cell distance: euclidean or manhattan"),
        "error": Param("squared", unknown(*ERRORS), "loss of a rank difference: squared or abs"),
        "max_step": Param(1000, integer(1, MAX_ROUNDS).named(f"an integer from 1 to {MAX_ROUNDS}"), "most swap steps"),
        "val_step": Param(50, integer(1, MAX_ROUNDS).named(f"an integer from 1 to {MAX_ROUNDS}"), "steps over which the gain is checked"),
        "switch_t": Param(0.0, real(), "swap if the relative error change is at most this"),
        "min_gain": Param(1e-5, real(0.0), "stop if no step of the last val_step gained this much (relative)"),
        "time_budget": Param(60.0, real(0.0, low_open=True).named("a number of seconds > 0"),
                             "hard stop of the search, in seconds"),
    }

    @classmethod
    def param_owner(cls) -> str:
        return "igtd"

    def _default_grid(self, n_features: int) -> tuple[int, int]:
        return near_square_grid(n_features)

    def _place(self, V: np.ndarray, missing: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        rows, cols = self.grid_shape_
        f = V.shape[1]
        if rows * cols < f:
            raise ConfigError(f"igtd: a {rows}x{cols} grid has {rows * cols} cells for {f} features "
                              "(one feature per cell); raise grid or leave it None")
        R = feature_ranking(V, self.feature_distance)
        T = pixel_ranking(self.grid_shape_, f, self.pixel_distance)
        result = igtd_search(R, T, self.error, self.max_step, self.val_step, self.switch_t,
                             self.min_gain, self.random_state, self.time_budget, start)
        self.assignment_ = result.assignment
        self.objective_ = igtd_error(R, T, result.assignment, self.error)
        self.objective_history_ = result.history
        self.initial_objective_ = float(result.history[0])
        self.n_iter_ = result.n_steps
        self.stopped_by_ = result.stopped_by
        positions = np.empty((f, 2), dtype=np.int64)
        positions[result.assignment] = cell_coordinates(self.grid_shape_, f)
        self.fit_seconds_ = time.perf_counter() - start
        return positions


register_encoder("igtd", description="IGTD (Zhu et al. 2021): one feature per cell, "
                 "feature-distance ranks matched to pixel-distance ranks")(IGTDEncoder)
