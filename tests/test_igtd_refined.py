"""IGTD and REFINED: their objectives (brute force, swap deltas against full recomputation),
their searches, their options, and the reference comparison (TINTOlib 1.3.1) on sklearn's
bundled wine and breast-cancer tables."""
from __future__ import annotations

import itertools
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from benchmarks.core.errors import ConfigError
from benchmarks.perf_encode import correlated_table
from encoders import create_encoder
from encoders.igtd import (RankSwaps, feature_distances, feature_ranking, igtd_error, igtd_search,
                           igtd_swap_deltas, near_square_grid, pixel_ranking)
from encoders.refined import (assign_to_cells, cell_map, rank_spread, refined_cost, refined_hill_climb,
                              refined_swap_deltas)

pytestmark = pytest.mark.sklearn


def scaled(X):
    lo, hi = X.min(axis=0), X.max(axis=0)
    return (X - lo) / np.where(hi > lo, hi - lo, 1.0)


def bundled(name, n=150):
    """A seeded subset of sklearn's bundled wine / breast-cancer table (no download)."""
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(X))[:n]
    return X[idx], y[idx]


# ----------------------------------------------------------------------------- IGTD objective


def brute_igtd_error(R, T, a, error):
    total = 0.0
    for p in range(len(a)):
        for q in range(p):
            d = R[a[p], a[q]] - T[p, q]
            total += d * d if error == "squared" else abs(d)
    return total


def ranks(f=9, grid=(3, 3), seed=0):
    X, _ = correlated_table(80, f, seed)
    return feature_ranking(scaled(X)), pixel_ranking(grid, f)


@pytest.mark.parametrize("error", ["squared", "abs"])
def test_igtd_error_is_the_sum_over_cell_pairs(error):
    R, T = ranks(7, (3, 3))
    a = np.random.default_rng(1).permutation(7)
    assert igtd_error(R, T, a, error) == brute_igtd_error(R, T, a, error)
    assert igtd_error(R, T, np.arange(7), error) > 0


def test_rank_matrices():
    T = pixel_ranking((2, 3), 5)  # cells (0,0) (0,1) (0,2) (1,0) (1,1): 10 pairs
    assert np.array_equal(T, T.T) and (np.diag(T) == 0).all()
    # distance 1: 5 pairs (ranks 1..5 -> 3), sqrt 2: 3 pairs (7), 2: 1 pair (9), sqrt 5: 1 (10)
    assert T[1, 0] == 3 and T[4, 0] == 7 and T[2, 0] == 9 and T[3, 2] == 10
    M = pixel_ranking((2, 3), 5, "manhattan")
    assert M[4, 0] == M[2, 0] == 7.5 and M[3, 2] == 10  # distance 2: 4 pairs (ranks 6..9), 3: 1 pair
    R = feature_ranking(np.array([[0, 0, 1.0], [1, 1, 0], [0.5, 0.4, 0.2]]))
    assert R[1, 0] == 1 and {R[2, 0], R[2, 1]} == {2, 3}  # f0, f1 alike; f2 unlike both


@pytest.mark.parametrize("error", ["squared", "abs"])
def test_swap_deltas_equal_full_recomputation(error):
    R, T = ranks(9, (3, 3), seed=2)
    a = np.random.default_rng(3).permutation(9)
    base = igtd_error(R, T, a, error)
    for i in range(9):
        delta = igtd_swap_deltas(R, T, a, i, error)
        assert delta[i] == np.inf
        for j in set(range(9)) - {i}:
            b = a.copy()
            b[[i, j]] = b[[j, i]]
            assert delta[j] == igtd_error(R, T, b, error) - base  # ranks are halves: exact


@pytest.mark.parametrize("error", ["squared", "abs"])
def test_search_state_stays_exact_through_swaps(error):
    R, T = ranks(12, (3, 4), seed=4)
    state = RankSwaps(R, T, error)
    a = np.arange(12)
    for i, j in np.random.default_rng(5).integers(0, 12, size=(25, 2)):
        if i == j:
            continue
        state.swap(i, j)
        a[[i, j]] = a[[j, i]]
    assert state.total() == igtd_error(R, T, a, error)
    assert np.array_equal(state.deltas(3), igtd_swap_deltas(R, T, a, 3, error))


@pytest.mark.parametrize("seed", range(5))
def test_search_finds_the_brute_force_optimum_on_4_features(seed):
    V = np.random.default_rng(seed).random((40, 4))
    V[:, 2] = 0.7 * V[:, 0] + 0.3 * V[:, 2]
    R, T = feature_ranking(V), pixel_ranking((2, 2), 4)
    best = min(igtd_error(R, T, p) for p in itertools.permutations(range(4)))
    result = igtd_search(R, T, seed=1)
    assert igtd_error(R, T, result.assignment) == best
    assert (np.diff(result.history) <= 0).all()


# ----------------------------------------------------------------------------- IGTD encoder


def test_igtd_layout_one_feature_per_cell_and_lower_error():
    X, y = correlated_table(300, 30, 0)
    enc = create_encoder("igtd", size=60).fit(X, y)
    assert enc.grid_shape_ == (5, 6) == near_square_grid(30)
    layout = enc.layout_image()
    assert sorted(layout.ravel()) == list(range(30))  # every feature once, no empty cell
    R = feature_ranking(enc._scale(X, np.zeros(X.shape, bool)))
    T = pixel_ranking((5, 6), 30)
    assert enc.objective_ == igtd_error(R, T, enc.assignment_) == enc.objective_history_.min()
    assert enc.objective_ < 0.8 * enc.initial_objective_
    assert enc.n_iter_ == len(enc.objective_history_) - 1 and enc.fit_seconds_ > 0
    assert np.array_equal(layout.ravel(), enc.assignment_)


def test_igtd_default_grids():
    assert near_square_grid(13) == (4, 4) and near_square_grid(10) == (3, 4)
    assert near_square_grid(1) == (1, 1) and near_square_grid(1000) == (32, 32)
    X, y = correlated_table(100, 10, 1)
    enc = create_encoder("igtd", size=24).fit(X, y)
    assert enc.grid_shape_ == (3, 4) and set(enc.layout_image()[2, 2:]) == {-1}  # the last 2 cells empty


def test_igtd_stopping_rules():
    X, y = correlated_table(200, 40, 2)
    short = create_encoder("igtd", size=56, max_step=3).fit(X, y)
    assert short.n_iter_ == 3 and short.stopped_by_ == "max_step"
    gain = create_encoder("igtd", size=56, min_gain=1.0, val_step=5).fit(X, y)
    assert gain.stopped_by_ == "min_gain" and gain.n_iter_ == 7  # checked from step val_step + 1 on
    budget = create_encoder("igtd", size=56, max_step=10**6, time_budget=1e-9).fit(X, y)
    assert budget.stopped_by_ == "time_budget" and budget.n_iter_ == 0
    assert budget.assignment_.tolist() == list(range(40))


@pytest.mark.parametrize("options", [{"error": "abs"}, {"feature_distance": "spearman"},
                                     {"feature_distance": "euclidean", "pixel_distance": "manhattan"}])
def test_igtd_options(options):
    X, y = correlated_table(200, 16, 3)
    enc = create_encoder("igtd", size=32, **options).fit(X, y)
    assert enc.objective_ < enc.initial_objective_ and sorted(enc.assignment_) == list(range(16))


def test_feature_distances():
    from scipy.stats import spearmanr

    V = scaled(correlated_table(100, 6, 4)[0])
    assert np.array_equal(feature_distances(V, "spearman"), np.around(1 - spearmanr(V).correlation, 10))
    e = feature_distances(V, "euclidean")
    d = np.sqrt(((V[:, :, None] - V[:, None, :]) ** 2).sum(axis=0))
    assert np.allclose(e, d / d.max(), atol=1e-10)
    # a constant feature correlates 0 with everything (the reference's NaN stalls its search)
    V[:, 2] = 0.0
    dist = feature_distances(V, "pearson")
    assert np.isfinite(dist).all() and np.allclose(dist[2, [0, 1, 3, 4, 5]], 1.0)


def test_igtd_missing_values_count_as_the_scaled_minimum():
    X, y = correlated_table(200, 12, 5)
    hole = np.random.default_rng(0).random(X.shape) < 0.1
    Xm = np.where(hole, -999.0, X)
    filled = np.where(hole, np.where(hole, np.inf, X).min(axis=0), X)
    a = create_encoder("igtd", size=32).fit(Xm, y).assignment_
    assert np.array_equal(a, create_encoder("igtd", size=32).fit(filled, y).assignment_)


def test_igtd_and_refined_refuse_a_grid_smaller_than_the_features():
    X, y = correlated_table(50, 12, 6)
    for name in ("igtd", "refined"):
        with pytest.raises(ConfigError, match=f"{name}: a 3x3 grid has 9 cells for 12 features"):
            create_encoder(name, size=30, grid=3).fit(X, y)
    for bad in ({"error": "cube"}, {"time_budget": 0}, {"max_step": 0}, {"feature_distance": "set"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            create_encoder("igtd", **bad)
    with pytest.raises(ConfigError, match="iterations"):
        create_encoder("refined", iterations=-1)


# ----------------------------------------------------------------------------- REFINED objective


def brute_sum_of_squares(D, pos):
    total = 0.0
    for i in range(len(pos)):
        for j in range(i):
            total += (math.dist(pos[i], pos[j]) - D[i, j]) ** 2
    return total


def refined_problem(f=20, side=5, seed=0):
    X, _ = correlated_table(60, f, seed)
    V = scaled(X)
    D = np.sqrt(((V[:, :, None] - V[:, None, :]) ** 2).sum(axis=0))
    cells = np.random.default_rng(seed).permutation(side * side)[:f]
    return D, np.stack([cells // side, cells % side], axis=1)


def test_refined_cost_is_the_normalised_l2_distance():
    D, pos = refined_problem(8, 3)
    norm = sum(D[i, j] ** 2 for i in range(8) for j in range(i))
    assert refined_cost(D, pos) == pytest.approx(math.sqrt(brute_sum_of_squares(D, pos) / norm), rel=1e-12)
    assert refined_cost(np.zeros((3, 3)), np.array([[0, 0], [0, 1], [1, 1]])) == pytest.approx(
        math.sqrt(1 + 1 + 2))  # all distances 0: not normalised


def test_refined_swap_deltas_equal_full_recomputation():
    D, pos = refined_problem(18, 5, seed=1)  # 7 empty cells: feature-empty and empty-empty swaps too
    cmap = cell_map(pos, (5, 5))
    cells = np.array(list(itertools.product(range(5), repeat=2)))
    a, b = np.array([(p, q) for p in range(25) for q in range(25) if p != q]).T
    delta = refined_swap_deltas(D, pos, cmap, cells[a], cells[b])
    base = brute_sum_of_squares(D, pos)
    for k in range(0, len(a), 7):
        m = cmap.copy()
        (r1, c1), (r2, c2) = cells[a[k]], cells[b[k]]
        m[r1, c1], m[r2, c2] = m[r2, c2], m[r1, c1]
        after = np.array([np.argwhere(m == f)[0] for f in range(18)])
        assert delta[k] == pytest.approx(brute_sum_of_squares(D, after) - base, abs=1e-9)
    both_empty = (cmap.ravel()[a] < 0) & (cmap.ravel()[b] < 0)
    assert both_empty.any() and (delta[both_empty] == 0).all()


def test_assign_to_cells():
    # features at distinct cell centres keep them; two wanting one cell: the nearer wins
    centres = (np.array([[0, 0], [1, 2], [2, 1]]) + 0.5) / 3
    assert assign_to_cells(centres, 3).tolist() == [[0, 0], [1, 2], [2, 1]]
    xy = np.array([[0.5, 0.5], [0.45, 0.5], [0.9, 0.9]])
    pos = assign_to_cells(xy, 3)
    assert pos[0].tolist() == [1, 1] and pos[1].tolist() != [1, 1] and pos[2].tolist() == [2, 2]
    assert pos[1].tolist() == [0, 1]  # its nearest free centre: (1/6, 1/2) at 0.28, (1/2, 1/6) at 0.34
    spread = rank_spread(np.array([[3.0, -1], [1, 2], [2, 0]]))
    assert spread.tolist() == [[2 / 3, 0], [0, 2 / 3], [1 / 3, 1 / 3]]


def test_refined_hill_climb_ends_in_a_local_optimum():
    """Stopped for want of a swap: no single swap with a neighbour lowers the cost."""
    D, pos = refined_problem(14, 4, seed=2)
    result = refined_hill_climb(D, pos, (4, 4), iterations=50)
    assert result.stopped_by == "no_swap" and result.history[-1] < result.history[0]
    final = brute_sum_of_squares(D, result.positions)
    cmap = cell_map(result.positions, (4, 4))
    for r, c, dr, dc in itertools.product(range(4), range(4), (-1, 0, 1), (-1, 0, 1)):
        if (dr, dc) != (0, 0) and 0 <= r + dr < 4 and 0 <= c + dc < 4:
            d = refined_swap_deltas(D, result.positions, cmap, np.array([[r, c]]), np.array([[r + dr, c + dc]]))
            assert d[0] >= -1e-9 * final


def test_refined_encoder_attributes_and_budget():
    X, y = correlated_table(200, 20, 7)
    enc = create_encoder("refined", size=40).fit(X, y)
    assert enc.grid_shape_ == (5, 5) and sorted(v for v in enc.layout_image().ravel() if v >= 0) == list(range(20))
    assert enc.objective_ == enc.objective_history_[-1] < enc.initial_objective_
    assert enc.n_iter_ >= 1 and enc.fit_seconds_ > 0 and enc.stopped_by_ in ("iterations", "no_swap")
    none = create_encoder("refined", size=40, iterations=0).fit(X, y)
    assert np.array_equal(none.positions_, none.initial_positions_) and none.n_iter_ == 0
    assert np.array_equal(none.initial_positions_, enc.initial_positions_)
    budget = create_encoder("refined", size=40, time_budget=1e-9).fit(X, y)
    assert budget.stopped_by_ == "time_budget" and np.array_equal(budget.positions_, budget.initial_positions_)


# ----------------------------------------------------------------------------- reference: IGTD


def tintolib_igtd(X, y, folder, **options):
    """TINTOlib's IGTD fitted on X and its npy images of X, in row order (255 - value: it
    draws high values black)."""
    import pandas as pd
    from sklearn.preprocessing import MinMaxScaler
    from TINTOlib.igtd import IGTD

    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(target=y)
    ref = IGTD(problem="classification", transformer=MinMaxScaler(), format="npy", random_seed=1, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(df)
        ref.transform(df, str(folder))
    files = sorted(Path(folder).glob("*/*.npy"), key=lambda p: int(p.stem))
    return ref, np.stack([np.load(p) for p in files])


def cells_of(img, grid):
    """(n, rows, cols): one pixel per grid cell of our (n, 1, S, S) images, S a multiple of both."""
    rows, cols = grid
    s = img.shape[-1]
    return img[:, 0][:, (np.arange(rows) * s) // rows][:, :, (np.arange(cols) * s) // cols]


OURS_TO_TINTO = {"feature_distance": "fea_dist_method", "pixel_distance": "image_dist_method", "error": "error"}
TINTO_NAMES = {"pearson": "Pearson", "spearman": "Spearman", "euclidean": "Euclidean",
               "manhattan": "Manhattan", "squared": "squared", "abs": "abs"}


@pytest.mark.reference
@pytest.mark.parametrize("name, options", [
    ("wine", {}), ("breast_cancer", {}), ("wine", {"error": "abs"}),
    ("wine", {"feature_distance": "spearman", "pixel_distance": "manhattan"}),
    ("breast_cancer", {"feature_distance": "euclidean"}),
])
def test_igtd_matches_tintolib(name, options, tmp_path):
    """The same scaled training rows, grid and seed: the same assignment (the algorithm is
    deterministic given the seed), the same error history, and the same images within one
    grey level (theirs inverted, black = high)."""
    pytest.importorskip("TINTOlib")
    X, y = bundled(name)
    ours = create_encoder("igtd", size=60, random_state=1, **options).fit(X, y)
    ref, images = tintolib_igtd(X, y, tmp_path, scale=list(ours.grid_shape_),
                                **{OURS_TO_TINTO[k]: TINTO_NAMES[v] for k, v in options.items()})
    theirs = ref.index[ref.min_id]
    assert np.array_equal(theirs, ours.assignment_)
    assert len(ref.index) - 1 == ours.n_iter_
    R = feature_ranking(scaled(X), options.get("feature_distance", "pearson"))
    T = pixel_ranking(ours.grid_shape_, X.shape[1], options.get("pixel_distance", "euclidean"))
    assert igtd_error(R, T, theirs, options.get("error", "squared")) == ours.objective_
    ours_img = cells_of(ours.transform(X), ours.grid_shape_).astype(float)
    assert images.shape == ours_img.shape
    assert np.abs((255.0 - images) - ours_img).max() <= 1.0
    # documented: TINTOlib's feature-position table holds the inverse permutation
    mapping = ref._features_mapping
    cols = ours.grid_shape_[1]
    assert np.array_equal(mapping["row"].to_numpy() * cols + mapping["column"].to_numpy(), theirs)


@pytest.mark.reference
def test_igtd_constant_feature_stalls_tintolib_not_ours(tmp_path):
    """Documented difference: a constant feature makes TINTOlib's ranks NaN and its search
    never swaps; ours gives it correlation 0 and searches as usual."""
    pytest.importorskip("TINTOlib")
    X, y = bundled("wine")
    X[:, 3] = 1.0
    ours = create_encoder("igtd", size=60, random_state=1).fit(X, y)
    ref, _ = tintolib_igtd(X, y, tmp_path, scale=list(ours.grid_shape_))
    assert ref.index[ref.min_id].tolist() == list(range(13))
    assert ours.objective_ < 0.8 * ours.initial_objective_


# ----------------------------------------------------------------------------- reference: REFINED


def tintolib_refined_layout(Xs, seed=1, iterations=5):
    """TINTOlib's REFINED layout computed by its own helpers (MDS as it calls it,
    Toolbox.two_d_eq, Toolbox.Assign_features_to_pixels, paraHill's centroid evaluation and
    swaps), driven in one process by a transcription of utils/mpiHill_UF.py's master loop
    (which needs MPI). Returns (initial map, final map, distances)."""
    from sklearn.manifold import MDS
    from sklearn.metrics.pairwise import euclidean_distances
    from TINTOlib.utils import Toolbox, paraHill

    f = Xs.shape[1]
    nn = math.ceil(np.sqrt(f))
    D = euclidean_distances(Xs.T)
    D = np.maximum(D, D.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xy = MDS(n_components=2, random_state=seed).fit_transform(Xs.T)
    img = Toolbox.Assign_features_to_pixels(Toolbox.two_d_eq(xy, f), nn)
    m = np.char.strip(img.astype(str), "F").astype(int)
    init = m.copy()
    for _ in range(iterations):
        for a, b in itertools.product(range(3), repeat=2):
            xs = [a + 3 * i for i in range(nn // 3 + 1) if a + 3 * i < nn]
            ys = [b + 3 * i for i in range(nn // 3 + 1) if b + 3 * i < nn]
            swaps = paraHill.evaluate_centroids_in_list(list(itertools.product(xs, ys)), D, m)
            m = paraHill.execute_dict_swap(swaps, m)
    return init, m, D


@pytest.fixture
def parahill_scalar_cost(monkeypatch):
    """paraHill.universial_corr returns a 1-element array, and numpy 2 refuses float() of
    one (evaluate_swap calls it); its value as a float, nothing else changed."""
    pytest.importorskip("TINTOlib")
    from TINTOlib.utils import paraHill

    original = paraHill.universial_corr
    monkeypatch.setattr(paraHill, "universial_corr", lambda d, m: float(np.asarray(original(d, m)).ravel()[0]))
    return paraHill


@pytest.mark.reference
@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_refined_matches_tintolib_helpers(name, parahill_scalar_cost):
    """The same scaled training rows and seed: the same initial map (MDS + snapping), the
    same final map after 5 hill-climbing iterations, the same cost (by their
    universial_corr), and the same images within one grey level (REFINED_Im_Gen's rule)."""
    import inspect

    from sklearn.manifold import MDS

    defaults = {k: v.default for k, v in inspect.signature(MDS).parameters.items()}
    if defaults["n_init"] != 1 or defaults.get("init", "random") not in ("random", "warn"):
        pytest.skip("this scikit-learn's MDS defaults (which TINTOlib takes) are not our n_init=1, random start")
    X, y = bundled(name)
    Xs = scaled(X)
    init, final, D = tintolib_refined_layout(Xs)
    ours = create_encoder("refined", size=60, random_state=1).fit(X, y)
    assert np.array_equal(cell_map(ours.initial_positions_, ours.grid_shape_), init)
    assert np.array_equal(ours.layout_image(), final)
    assert ours.objective_ == pytest.approx(parahill_scalar_cost.universial_corr(D, final), rel=1e-12)
    # Toolbox.REFINED_Im_Gen puts each scaled value at its feature's cell, zeros elsewhere;
    # under numpy 2 it fails (it stores a 1-element array into one element), so the same here
    ref_img = np.where(final >= 0, Xs[:, np.maximum(final, 0)], 0.0)
    ours_img = cells_of(ours.transform(X), ours.grid_shape_).astype(float)
    assert np.abs(255.0 * ref_img - ours_img).max() <= 0.5 + 1e-9


@pytest.mark.reference
@pytest.mark.skipif(shutil.which("mpirun") is not None, reason="MPI present: TINTOlib's REFINED can start")
def test_tintolib_refined_needs_mpi(tmp_path, monkeypatch):
    """Why the comparison above drives TINTOlib's helpers itself: its REFINED.fit runs its
    hill climbing as `mpirun ... mpiHill_UF.py` (mpi4py, at least 2 processes)."""
    pytest.importorskip("TINTOlib")
    import pandas as pd
    from TINTOlib.refined import REFINED

    monkeypatch.chdir(tmp_path)  # it writes its pickles to the working directory
    X, y = bundled("wine", 60)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(13)]).assign(target=y)
    with warnings.catch_warnings(), pytest.raises(FileNotFoundError, match="mpirun"):
        warnings.simplefilter("ignore")
        REFINED(problem="classification", n_processors=2, format="npy", random_seed=1).fit(df)
