import numpy as np
import pytest

from benchmarks.core.errors import ConfigError, DataError
from benchmarks.core.weights import renormalise
from datasets import Dataset, load_dataset, make_splits
from datasets.higgsml import SAMPLE_FILE_SPLITS, split_policy
from datasets.preprocess import PreprocessConfig, fit_preprocessor, preprocess_splits

pytestmark = pytest.mark.sklearn


def _weighted_binary(n=2000, seed=0, groups=None):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    X = rng.normal(size=(n, 3)) + y[:, None]
    w = np.where(y == 1, rng.uniform(0.001, 0.003, n), rng.uniform(1, 5, n))
    return Dataset("toy", X, y, ("a", "b", "c"), ("b", "s"), weights=w, ids=np.arange(100000, 100000 + n),
                   groups=groups, weight_totals={1: 691.988607711987, 0: 410999.847321811}, metric="ams",
                   split_policy=SAMPLE_FILE_SPLITS if groups is None else split_policy(groups))


def test_renormalise_per_class_totals():
    y = np.array([0, 0, 1, 1, 1])
    w = np.array([1.0, 3.0, 0.1, 0.2, 0.7])
    out = renormalise(y, w, {0: 8.0, 1: 2.0})
    assert out[y == 0].sum() == pytest.approx(8.0)
    assert out[y == 1].sum() == pytest.approx(2.0)
    # Shape within a class is kept.
    assert out[1] / out[0] == pytest.approx(3.0)
    assert w[0] == 1.0  # input untouched


def test_carved_splits_are_disjoint_and_renormalised():
    ds = _weighted_binary()
    s = make_splits(ds, seed=3)
    assert [p.name for p in s.parts] == ["train", "val", "public", "private"]
    ids = np.concatenate([p.ids for p in s.parts])
    assert len(ids) == len(np.unique(ids)) == ds.n_events
    for p in s.parts:
        assert p.weights[p.y == 1].sum() == pytest.approx(691.988607711987)
        assert p.weights[p.y == 0].sum() == pytest.approx(410999.847321811)
    assert any("halves of the outer fold" in n for n in s.notes)


def test_kaggle_groups_map_to_public_private():
    n = 2000
    groups = np.array(["t", "t", "b", "v", "u"] * (n // 5))
    ds = _weighted_binary(n, groups=groups)
    s = make_splits(ds, seed=0)
    assert set(s.test("public").ids) == set(ds.ids[groups == "b"])
    assert set(s.test("private").ids) == set(ds.ids[groups == "v"])
    train_val = np.concatenate([s.train.ids, s.val.ids])
    assert set(train_val) == set(ds.ids[groups == "t"])  # u is unused
    assert len(s.val) == pytest.approx(0.2 * (groups == "t").sum(), abs=2)


def test_splits_are_seeded_and_stratified():
    ds = load_dataset("iris")
    a, b, c = make_splits(ds, 1), make_splits(ds, 1), make_splits(ds, 2)
    assert np.array_equal(a.train.ids, b.train.ids)
    assert not np.array_equal(a.train.ids, c.train.ids)
    assert np.bincount(a.test("test").y).tolist() == [10, 10, 10]


def test_max_events_subsamples_every_part():
    s = make_splits(_weighted_binary(4000), seed=0, max_events=100)
    assert all(len(p) <= 100 for p in s.parts)
    assert s.test("public").weights[s.test("public").y == 1].sum() == pytest.approx(691.988607711987)


def test_standardisation_fitted_on_train_only():
    ds = _weighted_binary()
    s = make_splits(ds, 0)
    out = preprocess_splits(PreprocessConfig(standardise=True), s)
    assert np.allclose(out.train.X.mean(0), 0, atol=1e-9)
    assert np.allclose(out.train.X.std(0), 1, atol=1e-9)
    # The test part is transformed with the train statistics, not its own.
    expected = (s.test("public").X - s.train.X.mean(0)) / s.train.X.std(0)
    assert np.allclose(out.test("public").X, expected)


def test_missing_value_modes():
    X = np.array([[1.0, -999.0], [3.0, 2.0], [5.0, 4.0], [-999.0, 6.0]])
    names = ("a", "b")
    keep, _ = fit_preprocessor(PreprocessConfig(missing="keep", standardise=True), X, names, -999.0)
    out = keep.transform(X)
    assert out[0, 1] == -999.0 and out[3, 0] == -999.0  # sentinel untouched, ignored by the stats
    assert out[:3, 0].mean() == pytest.approx(0.0)
    nan, _ = fit_preprocessor(PreprocessConfig(missing="nan"), X, names, -999.0)
    assert np.isnan(nan.transform(X)[0, 1])
    imp, _ = fit_preprocessor(PreprocessConfig(missing="impute"), X, names, -999.0)
    assert imp.transform(X)[0, 1] == pytest.approx(4.0)  # median of 2, 4, 6


def test_bad_preprocess_options():
    with pytest.raises(ConfigError, match="missing"):
        PreprocessConfig(missing="drop")
    with pytest.raises(ConfigError, match="unknown preprocess"):
        PreprocessConfig.from_dict({"standardize": True})


def test_dataset_validation_messages():
    with pytest.raises(DataError, match="NaN"):
        Dataset("x", np.array([[1.0], [np.nan]]), np.array([0, 1]), ("f",), ("a", "b"))
    with pytest.raises(DataError, match="labels"):
        Dataset("x", np.ones((2, 1)), np.array([0]), ("f",), ("a", "b"))
    with pytest.raises(DataError, match="stratified"):
        make_splits(Dataset("x", np.ones((3, 1)), np.array([0, 1, 1]), ("f",), ("a", "b")), 0)


def test_orientation_drops_features_it_makes_constant():
    from datasets import load_dataset

    ds = load_dataset("higgsml-toy", n_events=2000)
    s = make_splits(ds, 0)
    out = preprocess_splits(PreprocessConfig(orientation=True, cartesian=True, standardise=True), s)
    assert "PRI_lep_phi" not in out.feature_names and "PRI_lep_py" not in out.feature_names
    assert "PRI_tau_px" in out.feature_names
    assert all(p.X.shape[1] == len(out.feature_names) for p in out.parts)
    assert (np.ptp(out.train.X, axis=0) > 0).all()


def test_balance_classes_equal_totals_shape_kept():
    from benchmarks.core.weights import balance_classes

    y = np.array([0, 0, 0, 1])
    w = np.array([1.0, 2.0, 3.0, 0.001])
    out = balance_classes(y, w)
    assert out[y == 0].sum() == pytest.approx(2.0) and out[y == 1].sum() == pytest.approx(2.0)
    assert out[1] / out[0] == pytest.approx(2.0)
    with pytest.raises(DataError, match="zero total weight"):
        balance_classes(y, np.array([1.0, 1.0, 1.0, 0.0]))
