"""REFINED: REpresentation of Features as Images with NEighborhood Dependencies (Bazgir,
Zhang, Dhruba, Rahman, Ghosh and Pal, "Representation of features as images with
neighborhood dependencies for compatibility with convolutional neural networks", Nature
Communications 11, 4391, 2020).

Every feature gets its own cell of a square grid (side ceil(sqrt(F))) so that distances
between cells follow distances between features:

1. feature distances D: euclidean between the features' columns of training rows (each
   feature min-max scaled);
2. metric MDS (scikit-learn's, seeded, 2 components) of the features; each MDS coordinate
   is replaced by its rank / F (an even spread over [0, 1));
3. snapping (``assign_to_cells``): in rounds, every unplaced feature picks its nearest free
   cell centre; a cell picked by several features takes the nearest, the others try again;
4. hill climbing (``refined_hill_climb``): an iteration has 9 phases, one per offset
   (a, b) in {0, 1, 2}^2; in a phase every cell (r, c) with r = a, c = b (mod 3) tries
   swapping its content (a feature or nothing) with each of its 8 neighbours, all evaluated
   on the map as the phase began, and takes the best swap if it lowers the cost (the
   centres are 3 apart, so the swaps of a phase touch disjoint cells and are made together).

Cost (``refined_cost``, the reference's): sqrt(sum_{i<j} (P_ij - D_ij)^2 / sum_{i<j} D_ij^2),
P_ij the euclidean distance between the cells of features i and j in cell units. All the
candidate swaps of a phase are evaluated in one numpy computation (``refined_swap_deltas``:
the change of the sum of squares, O(F) per candidate), never the full O(F^2) cost.

Defaults are TINTOlib 1.3.1's (hcIterations=5, MDS with scikit-learn's defaults, seeded),
and the same rows, grid and seed give the reference's layout (tests/test_igtd_refined.py
pins it, against a single-process driver of TINTOlib's own helper functions).

Known differences from TINTOlib 1.3.1's REFINED:

- one process: the reference needs MPI (``mpirun``, ``mpi4py``, at least 2 processes) and
  recomputes the full cost for each candidate swap; we evaluate all candidates of a phase
  at once. Near-ties between candidates could in principle break differently, since the
  reference compares differences of the normalised cost and we compare differences of the
  sum of squares (the same order in exact arithmetic);
- the hill climbing stops early when an iteration made no swap (the later ones would
  repeat it exactly), or when ``time_budget`` seconds have passed since fit began (a hard
  stop between phases; MDS and snapping always run). ``stopped_by_`` says which;
- MDS: ``n_init=1`` and a random start, explicitly (the reference takes the installed
  scikit-learn's defaults, which are these in 1.8-1.9; before 1.8 ``n_init`` was 4);
- missing values are 0 (the scaled minimum) in the distances; the reference refuses them.
  If all feature distances are 0, the cost is not normalised (its denominator would be 0);
- ``random_state`` defaults to 0, the project's common seed (the reference's is 1);
- images: grey rint(255 * value) of each feature min-max scaled on the training rows, empty
  cells 0; the reference's arrays hold the scaled values unrounded (and its PNGs a viridis
  colour map).
"""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from itertools import product

import numpy as np

from benchmarks.core.errors import ConfigError
from benchmarks.core.params import MAX_ROUNDS, Param, integer, real

from .grid import PlacementEncoder
from .registry import register_encoder

# the 9 swap directions in the reference's order (its directions 1..9); 4 is "stay"
DIRECTIONS = np.array(list(product((-1, 0, 1), repeat=2)))
_STAY = 4


# ----------------------------------------------------------------------------- objective


def _pair_distances(positions: np.ndarray) -> np.ndarray:
    p = np.asarray(positions, dtype=np.float64)
    return np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(axis=-1))


def refined_cost(feature_dist: np.ndarray, positions: np.ndarray) -> float:
    """REFINED's cost: sqrt(sum_{i<j} (|pos_i - pos_j| - D_ij)^2 / sum_{i<j} D_ij^2)."""
    D = np.asarray(feature_dist, dtype=np.float64)
    upper = np.triu_indices(D.shape[0], k=1)
    diff = _pair_distances(positions)[upper] - D[upper]
    norm = float((D[upper] ** 2).sum())
    return float(np.sqrt((diff * diff).sum() / (norm if norm > 0 else 1.0)))


def cell_map(positions: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
    """(rows, cols) int: the feature in each cell, -1 for an empty cell."""
    m = np.full(grid_shape, -1, dtype=np.int64)
    m[positions[:, 0], positions[:, 1]] = np.arange(len(positions))
    return m


def refined_swap_deltas(feature_dist: np.ndarray, positions: np.ndarray, cmap: np.ndarray,
                        cells_a: np.ndarray, cells_b: np.ndarray) -> np.ndarray:
    """(B,): change of sum_{i<j} (P_ij - D_ij)^2 when the contents of cell a[k] and cell b[k]
    (a feature or nothing) swap, each pair alone, for B pairs of cells (B, 2) at once.

    Feature u moving from a to b changes its pairs with every k outside {u, v} (v the
    feature in b); the pair (u, v) keeps its distance.
    """
    D = np.asarray(feature_dist, dtype=np.float64)
    pos = np.asarray(positions, dtype=np.float64)
    a = np.asarray(cells_a, dtype=np.int64)
    b = np.asarray(cells_b, dtype=np.int64)
    u, v = cmap[a[:, 0], a[:, 1]], cmap[b[:, 0], b[:, 1]]
    da = np.sqrt(((a[:, None, :] - pos[None]) ** 2).sum(axis=-1))  # (B, F) from cell a
    db = np.sqrt(((b[:, None, :] - pos[None]) ** 2).sum(axis=-1))
    has_u, has_v = (u >= 0)[:, None], (v >= 0)[:, None]
    Du, Dv = D[np.maximum(u, 0)], D[np.maximum(v, 0)]
    # (db - Du)^2 - (da - Du)^2 = (db - da)(db + da - 2 Du), and the same for v the other way
    step, reach = db - da, db + da
    change = step * (np.where(has_u, reach - 2.0 * Du, 0.0) - np.where(has_v, reach - 2.0 * Dv, 0.0))
    rows = np.arange(len(a))
    change[rows[u >= 0], u[u >= 0]] = 0.0  # a feature's pair with itself, and the pair (u, v)
    change[rows[v >= 0], v[v >= 0]] = 0.0
    return change.sum(axis=1)


# ----------------------------------------------------------------------------- layout steps


def mds_coordinates(V: np.ndarray, seed: int | None, max_iter: int = 300) -> np.ndarray:
    """(F, 2): metric MDS of the features (columns of V, euclidean), one random start."""
    import warnings

    from sklearn.manifold import MDS

    options = {"n_components": 2, "n_init": 1, "max_iter": max_iter, "random_state": seed}
    if "init" in inspect.signature(MDS).parameters:  # scikit-learn >= 1.8 warns unless told
        options["init"] = "random"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return MDS(**options).fit_transform(np.ascontiguousarray(V.T))


def rank_spread(xy: np.ndarray) -> np.ndarray:
    """Each coordinate replaced by its rank / n (the reference's ``two_d_eq``)."""
    n = xy.shape[0]
    out = np.empty(xy.shape, dtype=np.float64)
    for axis in range(xy.shape[1]):
        out[np.argsort(xy[:, axis]), axis] = np.arange(n) / n
    return out


def assign_to_cells(xy: np.ndarray, side: int) -> np.ndarray:
    """(F, 2) cells of a side x side grid, one feature each, from coordinates in [0, 1).

    Rounds: each unplaced feature picks its nearest free cell centre ((r + 1/2) / side,
    (c + 1/2) / side; distance ties in numpy's argsort order, as the reference); a cell
    picked by several takes the nearest of them (ties: the lower feature index).
    """
    from sklearn.metrics import pairwise_distances

    f = xy.shape[0]
    cells = np.array(list(product(range(side), repeat=2)), dtype=np.float64)
    centres = cells / side + 0.5 / side
    dist = pairwise_distances(centres, xy, metric="euclidean")  # (cells, F)
    order = np.argsort(dist, axis=0)  # each feature's cells, nearest first
    free = np.ones(len(cells), dtype=bool)
    cell_of = np.full(f, -1, dtype=np.int64)
    while (todo := np.flatnonzero(cell_of < 0)).size:
        first = np.argmax(free[order[:, todo]], axis=0)
        pick = order[first, todo]
        # per picked cell the nearest feature: sort by (cell, distance, feature)
        rank = np.lexsort((todo, dist[pick, todo], pick))
        cell_sorted = pick[rank]
        winner = np.r_[True, cell_sorted[1:] != cell_sorted[:-1]]
        cell_of[todo[rank[winner]]] = cell_sorted[winner]
        free[cell_sorted[winner]] = False
    return np.stack([cell_of // side, cell_of % side], axis=1)


@dataclass
class ClimbResult:
    positions: np.ndarray
    history: np.ndarray  # cost before the first iteration and after each
    n_iter: int
    stopped_by: str  # "iterations", "no_swap" or "time_budget"


def refined_hill_climb(feature_dist: np.ndarray, positions: np.ndarray, grid_shape: tuple[int, int],
                       iterations: int = 5, deadline: float = np.inf) -> ClimbResult:
    """REFINED's hill climbing (see the module docstring); `deadline`: a perf_counter time."""
    D = np.asarray(feature_dist, dtype=np.float64)
    pos = np.array(positions, dtype=np.int64)
    rows, cols = grid_shape
    cmap = cell_map(pos, grid_shape)
    history = [refined_cost(D, pos)]
    stopped, done = "iterations", 0
    for _ in range(iterations):
        swapped = False
        for a, b in product(range(3), repeat=2):
            if time.perf_counter() >= deadline:
                stopped = "time_budget"
                break
            centres = np.array(list(product(range(a, rows, 3), range(b, cols, 3))), dtype=np.int64).reshape(-1, 2)
            if not len(centres):
                continue
            other = centres[:, None, :] + DIRECTIONS[None]  # (C, 9, 2)
            inside = ((other >= 0) & (other < (rows, cols))).all(axis=-1)
            inside[:, _STAY] = False
            delta = np.full(inside.shape, np.inf)
            delta[:, _STAY] = 0.0
            ci, di = np.nonzero(inside)
            delta[ci, di] = refined_swap_deltas(D, pos, cmap, centres[ci], other[ci, di])
            best = np.argmin(delta, axis=1)  # first of equal bests, as the reference's nanmin
            go = best != _STAY
            if not go.any():
                continue
            src, dst = centres[go], other[go, best[go]]
            u, v = cmap[src[:, 0], src[:, 1]], cmap[dst[:, 0], dst[:, 1]]
            if ((u >= 0) | (v >= 0)).any():
                swapped = True
            cmap[src[:, 0], src[:, 1]], cmap[dst[:, 0], dst[:, 1]] = v, u
            pos[u[u >= 0]] = dst[u >= 0]
            pos[v[v >= 0]] = src[v >= 0]
        if stopped == "time_budget":
            break
        done += 1
        history.append(refined_cost(D, pos))
        if not swapped:
            stopped = "no_swap"
            break
    return ClimbResult(pos, np.asarray(history), done, stopped)


# ----------------------------------------------------------------------------- encoder


class REFINEDEncoder(PlacementEncoder):
    """REFINED: one feature per cell, MDS snapped to a grid, then hill climbing."""

    PARAMS = {
        "iterations": Param(5, integer(0, MAX_ROUNDS).named(f"an integer from 0 to {MAX_ROUNDS}"),
                            "hill-climbing iterations (each: 9 phases of neighbour swaps)"),
        "time_budget": Param(60.0, real(0.0, low_open=True).named("a number of seconds > 0"),
                             "hard stop of the hill climbing, in seconds since fit began"),
    }

    @classmethod
    def param_owner(cls) -> str:
        return "refined"

    def _place(self, V: np.ndarray, missing: np.ndarray) -> np.ndarray:
        from sklearn.metrics.pairwise import euclidean_distances

        start = time.perf_counter()
        rows, cols = self.grid_shape_
        f = V.shape[1]
        if rows * cols < f:
            raise ConfigError(f"refined: a {rows}x{cols} grid has {rows * cols} cells for {f} features "
                              "(one feature per cell); raise grid or leave it None")
        D = euclidean_distances(V.T)
        D = np.maximum(D, D.T)  # exactly symmetric, as the reference
        if f >= 2 and D.max() > 0:
            xy = rank_spread(mds_coordinates(V, self.random_state))
        else:  # one feature, or all alike: nothing for MDS to spread (it would divide by 0)
            xy = rank_spread(np.zeros((f, 2)))
        init = assign_to_cells(xy, rows)
        self.initial_positions_ = init
        result = refined_hill_climb(D, init, self.grid_shape_, self.iterations, start + self.time_budget)
        self.objective_ = refined_cost(D, result.positions)
        self.objective_history_ = result.history
        self.initial_objective_ = float(result.history[0])
        self.n_iter_ = result.n_iter
        self.stopped_by_ = result.stopped_by
        self.fit_seconds_ = time.perf_counter() - start
        return result.positions


register_encoder("refined", description="REFINED (Bazgir et al. 2020): MDS snapped to a grid, "
                 "then hill climbing")(REFINEDEncoder)
