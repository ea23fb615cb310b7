"""DeepInsight and TINTO: their placement rules, TINTO's blur, and both checked against the
reference implementations (pyDeepInsight 0.2.3, TINTOlib 1.3.1) on bundled tables.

The references are fed the table min-max scaled with our arithmetic ((x - min) / (max - min),
what the encoders fit on), so the embeddings see the same floats and positions can be
compared exactly; images are compared as rint(255 * reference) against our uint8 pixels."""
from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import pytest

from benchmarks.core.errors import ConfigError
from encoders import create_encoder
from encoders.deepinsight import (MAX_EMBED_ROWS, DeepInsightEncoder, bin_coordinates,
                                  bounding_rotation, embedding_rows)
from encoders.tinto import TintoEncoder, blur_filter, square_cells

sklearn_only = pytest.mark.sklearn


def scaled(X):
    lo, hi = X.min(axis=0), X.max(axis=0)
    return (X - lo) / np.where(hi > lo, hi - lo, 1.0)


def wine(n=150):
    from sklearn.datasets import load_wine

    return load_wine().data[:n]


def cancer(n=150):
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer().data[:n]


def cells(enc, X):
    """(n, rows, cols) one pixel per grid cell (size must be a multiple of the grid)."""
    img = enc.transform(X)[:, 0].astype(np.int64)
    step = enc.size // enc.grid_shape_[0]
    return img[:, ::step, ::step]


# ----------------------------------------------------------------------------- deepinsight


@sklearn_only
def test_deepinsight_default_grid_and_clipped_perplexity():
    X = wine(60)
    enc = DeepInsightEncoder(size=56).fit(X)
    assert enc.grid_shape_ == (16, 16)  # 4 * ceil(sqrt(13))
    assert enc.perplexity_ == 5.0
    small = DeepInsightEncoder(size=12).fit(X)
    assert small.grid_shape_ == (12, 12)  # capped by size
    few = DeepInsightEncoder(size=56).fit(X[:, :4])  # t-SNE needs perplexity < 4 points
    assert few.perplexity_ == 3.0 and few.grid_shape_ == (8, 8)


@sklearn_only
def test_bounding_rotation_minimum_aligns_a_tilted_rectangle_the_reference_does_not():
    rng = np.random.default_rng(0)
    pts = rng.random((40, 2)) * [4.0, 1.0]
    pts[:4] = [[0, 0], [4, 0], [4, 1], [0, 1]]  # the rectangle's corners
    a = np.deg2rad(30)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])  # +30 degrees
    tilted = np.dot(turn, pts.T).T

    def box(R):
        p = np.dot(R, tilted.T).T
        return np.sort(p.max(axis=0) - p.min(axis=0))

    assert np.allclose(box(bounding_rotation(tilted, "minimum")), [1.0, 4.0])  # back to 4 x 1
    # pyDeepInsight's rule turns the 30-degree edges by +30 more: a 60-degree tilt, as large
    ref = bounding_rotation(tilted, "reference")
    assert np.allclose(ref, turn) and np.allclose(box(ref), box(np.eye(2)))
    assert box(ref).prod() > 11
    # collinear points have no hull: no rotation
    assert np.array_equal(bounding_rotation(np.array([[0.0, 0], [1, 1], [2, 2]])), np.eye(2))


@sklearn_only
def test_minimum_rotation_gives_the_smaller_rectangle_on_a_real_layout():
    X = wine()
    ref = DeepInsightEncoder(size=60, grid=20, random_state=0).fit(X)
    fixed = DeepInsightEncoder(size=60, grid=20, random_state=0, rotation="minimum").fit(X)
    assert np.array_equal(ref.embedding_, fixed.embedding_)

    def area(enc):
        e = enc.coordinates_.max(axis=0) - enc.coordinates_.min(axis=0)
        return e.prod()

    assert area(fixed) < area(ref)


@sklearn_only
def test_bin_coordinates_floor_with_the_maximum_in_the_last_cell():
    coords = np.array([[0.0, 5.0], [1.0, 5.0], [0.49, 5.0], [0.5, 5.0], [0.74999, 5.0]])
    # x scaled to [0, 4]: 0 -> 0, 1 -> 4 -> last cell 3, .49 -> 1.96 -> 1, .5 -> 2, .74999 -> 2
    # y has no extent: cell 0
    assert bin_coordinates(coords, (4, 6)).tolist() == [[0, 0], [3, 0], [1, 0], [2, 0], [2, 0]]


@sklearn_only
def test_embedding_uses_a_seeded_sample_of_at_most_2000_rows():
    V = np.random.default_rng(1).random((MAX_EMBED_ROWS + 500, 6))
    a, b = embedding_rows(V, 3), embedding_rows(V, 3)
    assert a.shape == (MAX_EMBED_ROWS, 6) and np.array_equal(a, b)
    assert not np.array_equal(a, embedding_rows(V, 4))
    assert embedding_rows(V[:100], 3) is not None and np.array_equal(embedding_rows(V[:100], 3), V[:100])
    idx = np.flatnonzero((V[:, None, :] == a[None, :, :]).all(axis=2).any(axis=1))
    assert np.all(np.diff(idx) > 0) and len(idx) == MAX_EMBED_ROWS  # table order kept


@sklearn_only
@pytest.mark.parametrize("name", ["deepinsight", "tinto"])
def test_degenerate_tables_still_fit(name):
    X = wine(30)
    for f in (1, 2, 3):
        for emb in ("pca", "tsne"):
            enc = create_encoder(name, size=40, embedding=emb).fit(X[:, :f])
            assert enc.transform(X[:, :f]).shape == (30, 1, 40, 40)
    one_row = create_encoder(name, size=40, embedding="pca").fit(X[:1])
    assert (one_row.positions_ == one_row.positions_[0]).all()


@sklearn_only
@pytest.mark.parametrize("name, options, word", [
    ("deepinsight", {"embedding": "umap"}, "embedding"),
    ("deepinsight", {"perplexity": 0}, "perplexity"),
    ("deepinsight", {"metric": "jaccard"}, "metric"),
    ("deepinsight", {"rotation": "mbr"}, "rotation"),
    ("tinto", {"embedding": "kpca"}, "embedding"),
    ("tinto", {"blur": "yes"}, "blur"),
    ("tinto", {"distance": 0}, "distance"),
    ("tinto", {"steps": 0}, "steps"),
    ("tinto", {"amplification": 0.0}, "amplification"),
    ("tinto", {"collisions": "maximum"}, "collisions"),
])
def test_bad_options(name, options, word):
    with pytest.raises(ConfigError, match=word) as err:
        create_encoder(name, **options)
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- tinto


@sklearn_only
def test_tinto_default_grid_is_tintolibs_20_capped_by_size():
    X = wine(40)
    assert TintoEncoder(size=60).fit(X).grid_shape_ == (20, 20)
    assert TintoEncoder(size=16).fit(X).grid_shape_ == (16, 16)


@sklearn_only
def test_square_cells_rule():
    # centre (1, 0); largest distance 1 -> R = 1: x -> (x - 1 + 1) / 2 * 4, y -> |y - 1| / 2 * 4
    coords = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.5], [1.0, -0.5], [1.25, 0.0], [0.75, 0.0]])
    assert square_cells(coords, 5).tolist() == [[0, 2], [4, 2], [2, 1], [2, 3], [2, 2], [2, 2]]
    # rint is half to even: x = 1.25 gives 2.5 -> 2, x = 0.75 gives 1.5 -> 2


@sklearn_only
def test_blur_filter_rings():
    f = blur_filter(2, 4, np.pi)
    assert f.shape == (17, 17) and f[8, 8] == 1.0
    row = f[8, 8:]  # distances 0..8 along a row: radii 2, 4, 6, 8 weigh 1/4, 1/16, 1/36, 1/64
    assert np.allclose(row, [1, 1 / 4, 1 / 4, 1 / 16, 1 / 16, 1 / 36, 1 / 36, 1 / 64, 1 / 64])
    assert f[0, 0] == 0.0 and f[8 - 5, 8 - 6] == 1 / 64 and f[8 - 6, 8 - 6] == 0.0  # 61 <= 64 < 72
    assert np.array_equal(f, f.T) and np.array_equal(f, f[::-1])
    assert blur_filter(1, 1, 10.0)[0, 1] == 1.0  # intensity is capped at 1


class _Fixed(TintoEncoder):
    """TINTO's drawing with hand-placed features, to check the blur arithmetic."""

    def _place(self, V, missing):
        return np.array([[1, 1], [1, 2], [3, 3]])[: V.shape[1]]


@sklearn_only
def test_blur_mean_counts_positive_contributions_and_max():
    # distance 1, steps 1: the feature's cell weighs 1, its 4 neighbours amplification / pi
    X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.5], [0.5, 1.0, 1.0]])
    kw = dict(size=10, grid=5, blur=True, distance=1, steps=1, amplification=np.pi / 2, missing="blank")
    img = cells(_Fixed(**kw).fit(X), X)
    # cell (1, 1): f0 * 1 + f1 * .5; cell (1, 2): f0 * .5 + f1 * 1; cell (0, 1): f0 * .5 only
    # row 2 (f0 = 1, f1 = 0): (1, 1) -> 1 / 1 (f1 adds 0 and is not counted), (1, 2) -> .5 / 1
    assert img[2, 1, 1] == 255 and img[2, 1, 2] == 128 and img[2, 0, 1] == 128
    # row 3 (f0 = .5, f1 = 1): (1, 1) -> (.5 + .5) / 2, (1, 2) -> (.25 + 1) / 2
    assert img[3, 1, 1] == 128 and img[3, 1, 2] == 159
    assert img[1, 3, 3] == 255 and img[1, 2, 3] == 128 and img[1, 2, 4] == 0  # f2 alone; its diagonal is empty
    assert (img[0] == 0).all()
    hi = cells(_Fixed(**{**kw, "collisions": "max"}).fit(X), X)
    assert hi[3, 1, 1] == 128 and hi[3, 1, 2] == 255 and hi[2, 1, 2] == 128


@sklearn_only
def test_blur_missing_values_contribute_nothing():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [-999.0, 0.5, -999.0]])
    kw = dict(size=10, grid=5, blur=True, distance=1, steps=1, amplification=np.pi / 2)
    img = _Fixed(**kw).fit(X).transform(X[2:])[0, 0]
    # f0 missing: cell (1, 1) shows f1's .5 * .5 alone; f2 missing alone: its cells show the marker
    assert (img[2:4, 2:4] == 64).all()
    assert img[6, 6:8].tolist() == [255, 0] and img[4, 6:8].tolist() == [255, 0]
    blank = _Fixed(**kw, missing="blank").fit(X).transform(X[2:])[0, 0]
    assert (blank[6:8, 6:8] == 0).all()


@pytest.mark.torch
@pytest.mark.parametrize("collisions", ["mean", "max"])
@pytest.mark.parametrize("missing", ["marker", "blank"])
def test_tinto_blur_torch_equals_numpy(collisions, missing):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((120, 14))
    X[rng.random(X.shape) < 0.1] = -999.0
    for size in (60, 224):
        enc = TintoEncoder(size=size, blur=True, collisions=collisions, missing=missing).fit(X[:100])
        a = enc.transform(X[100:])
        b = enc.transform_torch(torch.as_tensor(X[100:])).numpy()
        assert np.array_equal(a, b)
        assert enc.members_.shape[1] > 1  # cells are reached by several features


@sklearn_only
def test_tinto_blur_is_pure_and_fitted_on_train_only():
    X = wine(150)
    enc = TintoEncoder(size=60, blur=True).fit(X[:100])
    batch = enc.transform(X[100:])
    alone = np.concatenate([enc.transform(X[i : i + 1]) for i in range(100, 150)])
    assert np.array_equal(batch, alone)
    plain = TintoEncoder(size=60).fit(X[:100])
    assert np.array_equal(plain.positions_, enc.positions_)
    # blur only adds light around the features; their own cells keep at least their value
    b, p = cells(enc, X[100:]), cells(plain, X[100:])
    assert (b > 0).sum() > 3 * (p > 0).sum()


# ----------------------------------------------------------------------------- references


def _pydeepinsight():
    pytest.importorskip("pyDeepInsight")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyDeepInsight import ImageTransformer
    return ImageTransformer


def _extractor(embedding, seed, perplexity):
    from sklearn.decomposition import PCA, KernelPCA
    from sklearn.manifold import TSNE

    return {"pca": PCA(n_components=2, random_state=seed),
            "kpca": KernelPCA(n_components=2, kernel="rbf", random_state=seed),
            "tsne": TSNE(n_components=2, perplexity=perplexity, metric="cosine", random_state=seed)}[embedding]


@pytest.mark.reference
@pytest.mark.parametrize("table, embedding", [
    (wine, "pca"), (wine, "kpca"), (wine, "tsne"), (cancer, "pca"), (cancer, "kpca")])
def test_deepinsight_matches_pydeepinsight(table, embedding):
    ImageTransformer = _pydeepinsight()
    X = table()
    enc = DeepInsightEncoder(embedding=embedding, grid=20, size=60, missing="blank", random_state=3).fit(X)
    V = scaled(X)
    ref = ImageTransformer(feature_extractor=_extractor(embedding, 3, enc.perplexity_), pixels=20).fit(V)
    assert np.array_equal(ref.coords(), enc.positions_)
    grey = np.rint(255 * ref.transform(V, img_format="scalar"))
    assert np.abs(grey - cells(enc, X)).max() <= 1
    if (table, embedding) == (cancer, "kpca"):  # two features share a cell: both take the mean
        assert len(np.unique(enc.positions_, axis=0)) < X.shape[1]


def _tintolib_images(method, X, V):
    import pandas as pd

    df = pd.DataFrame(V, columns=[f"f{i}" for i in range(V.shape[1])])
    df["y"] = 0
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="tintolib-") as tmp:
        warnings.simplefilter("ignore")
        method.fit_transform(df, tmp)
        return np.stack([np.load(os.path.join(tmp, "00", f"{i:06d}.npy")) for i in range(len(X))])


@pytest.mark.reference
@pytest.mark.parametrize("embedding, algorithm", [("pca", "PCA"), ("tsne", "t-SNE")])
def test_deepinsight_matches_tintolib(embedding, algorithm):
    """TINTOlib's DeepInsight: the same layout and images; its t-SNE perplexity is image_dim."""
    pytest.importorskip("TINTOlib")
    from TINTOlib.deepInsight import DeepInsight

    X = wine()
    enc = DeepInsightEncoder(embedding=embedding, grid=10, perplexity=10, size=60, missing="blank",
                             random_state=3).fit(X)
    ref = DeepInsight(image_dim=10, transformer=None, algorithm_rd=algorithm, format="npy", random_seed=3)
    imgs = _tintolib_images(ref, X, scaled(X))
    assert np.array_equal(ref._features_positions, enc.positions_)
    assert np.abs(np.rint(255 * imgs) - cells(enc, X)).max() <= 1


@pytest.mark.reference
def test_deepinsight_row_sample_is_what_the_reference_sees():
    """More than MAX_EMBED_ROWS training rows: the layout is pyDeepInsight's on the seeded sample."""
    ImageTransformer = _pydeepinsight()
    from benchmarks.perf_encode import correlated_table

    X, _ = correlated_table(MAX_EMBED_ROWS + 400, 12, seed=2)
    enc = DeepInsightEncoder(embedding="pca", grid=20, size=60, random_state=7).fit(X)
    sample = embedding_rows(scaled(X), 7)
    ref = ImageTransformer(feature_extractor=_extractor("pca", 7, 5), pixels=20).fit(sample)
    assert np.array_equal(ref.coords(), enc.positions_)


def _tinto(**kw):
    pytest.importorskip("TINTOlib")
    from TINTOlib.tinto import TINTO

    return TINTO(transformer=None, format="npy", random_seed=3, **kw)


@pytest.mark.reference
@pytest.mark.parametrize("table, embedding, blur, collisions", [
    (wine, "pca", False, "mean"),
    (cancer, "pca", True, "mean"),  # 5 features share cells: blurred, TINTOlib sums them too
    (cancer, "pca", True, "max"),
    (wine, "tsne", True, "mean"),
])
def test_tinto_matches_tintolib(table, embedding, blur, collisions):
    X = table()
    enc = TintoEncoder(embedding=embedding, blur=blur, collisions=collisions, size=60, missing="blank",
                       random_state=3).fit(X)
    ref = _tinto(algorithm={"pca": "PCA", "tsne": "t-SNE"}[embedding], blur=blur,
                 option={"mean": "mean", "max": "maximum"}[collisions])
    imgs = _tintolib_images(ref, X, scaled(X))
    assert np.array_equal(ref.pos_pixel_caract.astype(int), enc.positions_)
    assert np.abs(np.rint(255 * imgs) - cells(enc, X)).max() <= 1
    if table is cancer:
        assert len(np.unique(enc.positions_, axis=0)) < X.shape[1]


@pytest.mark.reference
def test_tinto_without_blur_averages_where_tintolib_keeps_the_last_feature():
    """The one known difference in TINTO's images: features sharing a cell without blur."""
    X = cancer()
    enc = TintoEncoder(size=60, missing="blank", random_state=3).fit(X)
    ref = _tinto(algorithm="PCA", blur=False)
    V = scaled(X)
    imgs = np.rint(255 * _tintolib_images(ref, X, V))
    ours = cells(enc, X)
    pos = enc.positions_
    shared = np.zeros(enc.grid_shape_, bool)
    uniq, count = np.unique(pos, axis=0, return_counts=True)
    shared[tuple(uniq[count > 1].T)] = True
    assert shared.any()
    assert np.array_equal(imgs[:, ~shared], ours[:, ~shared])  # every other cell is the same
    for r, c in uniq[count > 1]:
        members = np.flatnonzero((pos == [r, c]).all(axis=1))
        assert np.array_equal(imgs[:, r, c], np.rint(255 * V[:, members[-1]]))  # the last one
        assert np.abs(ours[:, r, c] - np.rint(255 * V[:, members].mean(axis=1))).max() <= 1
        assert (imgs[:, r, c] != ours[:, r, c]).any()
