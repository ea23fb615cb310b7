"""What every registered image method promises, checked on each of them alike: fitted on the
training rows only, a pure batch transform, numpy and torch pixels identical, options checked,
and usable by the CNN model, ``encode`` and ``perf encode``. (Each method's own paper
behaviour and its reference comparison live in its own test file.)"""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from benchmarks.core.errors import ConfigError
from benchmarks.perf_encode import correlated_table, layout_fit_times
from encoders import ENCODERS, create_encoder
from encoders.grid import PlacementEncoder, grid_index_map

pytestmark = pytest.mark.sklearn

NAMES = ENCODERS.names()
# the image methods this project promises (issue 19); each must be registered
PROMISED = ("text", "pixels", "deepinsight", "igtd", "refined", "tinto",
            "bargraph", "distmatrix", "combination", "featurewrap", "bie")


def table(n=240, f=12, seed=0, missing=True):
    X, y = correlated_table(n, f, seed)
    if missing:
        X[np.random.default_rng(seed).random(X.shape) < 0.05] = -999.0
    return X, y


def fit(name, X, y, **kw):
    return create_encoder(name, size=56, **kw).fit(X, y)


def test_every_promised_method_is_registered():
    assert set(PROMISED) <= set(NAMES), sorted(set(PROMISED) - set(NAMES))


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_and_channels(name):
    X, y = table()
    one = fit(name, X[:200], y[:200])
    img = one.transform(X[200:])
    assert img.shape == (40, 1, 56, 56) and img.dtype == np.uint8
    three = fit(name, X[:200], y[:200], channels=3, dtype="float32")
    f = three.transform(X[200:])
    assert f.shape == (40, 3, 56, 56) and f.dtype == np.float32
    assert np.array_equal(f[:, 0], img[:, 0] / np.float32(255)) and np.array_equal(f[:, 2], f[:, 0])
    assert img.std() > 0, f"{name}: every image is one flat grey"


@pytest.mark.parametrize("name", NAMES)
def test_fitted_on_train_only_and_pure(name):
    """The test rows never move what was learned: transform of a row is the same alone, in
    any batch, before and after other rows were transformed; refitting on the same training
    rows gives the same images."""
    X, y = table(seed=1)
    train, test = X[:200], X[200:]
    enc = fit(name, train, y[:200])
    batch = enc.transform(test)
    alone = np.concatenate([enc.transform(test[i : i + 1]) for i in range(len(test))])
    assert np.array_equal(batch, alone)
    assert np.array_equal(enc.transform(test[::-1]), batch[::-1])
    assert np.array_equal(fit(name, train, y[:200]).transform(test), batch)
    # training on other rows may change the layout, but rendering the same rows twice never does
    assert np.array_equal(enc.transform(test), batch)


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip(name):
    X, y = table(seed=2)
    enc = fit(name, X[:200], y[:200])
    again = pickle.loads(pickle.dumps(enc))
    assert np.array_equal(again.transform(X[200:]), enc.transform(X[200:]))


@pytest.mark.parametrize("name", NAMES)
def test_bad_option_is_one_line_config_error(name):
    with pytest.raises(ConfigError) as err:
        create_encoder(name, size=3)
    assert "\n" not in str(err.value) and "size" in str(err.value)
    with pytest.raises(ConfigError, match="unexpected keyword"):
        create_encoder(name, no_such_option=1)


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [56, 224])
def test_transform_torch_equals_transform(name, size):
    torch = pytest.importorskip("torch")
    X, y = table(seed=3)
    for options in ({}, {"channels": 3, "dtype": "float32"}):
        enc = create_encoder(name, size=size, **options).fit(X[:200], y[:200])
        a = enc.transform(X[200:])
        b = enc.transform_torch(torch.as_tensor(X[200:])).numpy()
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{name} {options}: numpy and torch differ"


@pytest.mark.torch
@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("text", "pixels")])
def test_every_method_trains_a_cnn_by_model_name(name):
    """image-<encoder>-<backbone> for every encoder, and supertml-... its alias."""
    pytest.importorskip("timm")
    from models import create_model

    X, y = table(n=96, f=6, seed=4, missing=False)
    model = create_model(f"image-{name}-resnet10t", image_size=32, epochs=1, batch_size=32,
                         pretrained=False, random_state=0)
    model.fit(X[:64], y[:64], X_val=X[64:], y_val=y[64:])
    proba = model.predict_proba(X[64:])
    assert proba.shape == (32, 2) and np.allclose(proba.sum(axis=1), 1)
    alias = create_model(f"supertml-{name}-resnet10t")
    assert type(alias) is type(model) and alias.encoder == model.encoder == name


# ----------------------------------------------------------------------------- placement base


class _Diagonal(PlacementEncoder):
    """Feature j at (j mod rows, j mod cols): collisions once features outnumber the diagonal."""

    def _place(self, V, missing):
        f = V.shape[1]
        rows, cols = self.grid_shape_
        return np.stack([np.arange(f) % rows, np.arange(f) % cols], axis=1)


def test_grid_index_map_is_nearest_neighbour():
    m = grid_index_map((3, 4), 12)
    assert m.shape == (12, 12)
    assert (m[:4, :3] == 0).all() and (m[:4, 3:6] == 1).all() and (m[8:, 9:] == 11).all()


def test_placement_values_collisions_and_missing():
    X = np.array([[0.0, 10.0, 5.0], [1.0, 20.0, -999.0], [0.5, 15.0, 2.5]])
    # features 0 and 2 share cell (0, 0), feature 1 has (1, 1); cells 4x4 px at size 8
    enc = _Diagonal(size=8, grid=2, missing="blank").fit(X)
    img = enc.transform(X)[:, 0]
    # scaled: f0 (0, 1, .5), f1 (0, 1, .5), f2 (1, missing, 0): training min 2.5, max 5
    assert list(img[:, 0, 0]) == [128, 255, 64]  # mean(0, 1), f0 alone (f2 missing), mean(.5, 0)
    assert list(img[:, 4, 4]) == [0, 255, 128]
    assert (img[:, :4, 4:] == 0).all() and (img[:, 4:, :4] == 0).all()  # empty cells
    assert (img[:, :4, :4] == img[:, :1, :1]).all()  # a cell is one block
    hi = _Diagonal(size=8, grid=2, collisions="max").fit(X)
    assert hi.transform(X)[:, 0, 0, 0].tolist() == [255, 255, 128]
    marker = _Diagonal(size=8, grid=2, missing="marker").fit(X)
    both = marker.transform(np.array([[-999.0, 15.0, -999.0]]))[0, 0]
    assert both[0, :4].tolist() == [255, 0, 255, 0] and both[4, 4] == 128  # all missing: stripes
    # a test value beyond the training range saturates; it never moves the scale
    out = enc.transform(np.array([[9.0, -50.0, 0.0]]))[0, 0]
    assert out[0, 0] == 128 and out[4, 4] == 0


def test_grid_larger_than_image_is_config_error():
    with pytest.raises(ConfigError, match="does not fit"):
        _Diagonal(size=8, grid=9).fit(np.zeros((3, 5)))


# ----------------------------------------------------------------------------- perf encode


def test_layout_fit_times_reports_each_layout_method():
    lines: list[str] = []
    names = tuple(n for n in ("deepinsight", "igtd", "refined", "tinto") if n in NAMES)
    if not names:
        pytest.fail("no layout-learning encoder registered")
    rows = layout_fit_times(names, n_features=(10,), n_rows=200, out=lines.append)
    assert [r["encoder"] for r in rows] == list(names)
    assert all(r["fit_s"] > 0 and r["features"] == 10 for r in rows)
    assert any(line.startswith(names[0]) for line in lines)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.torch
@pytest.mark.skipif(not _cuda_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_transform_torch_on_cuda_equals_transform(name):
    """The same pixels on the GPU as numpy gives, at both image sizes, missing values included."""
    import torch

    X, y = table(seed=5)
    X[200, :3] = [np.nan, 1e12, -1e12]
    for size in (56, 224):
        enc = create_encoder(name, size=size).fit(X[:200], y[:200])
        got = enc.transform_torch(torch.as_tensor(X[200:], device="cuda"))
        assert got.device.type == "cuda"
        np.testing.assert_array_equal(got.cpu().numpy(), enc.transform(X[200:]), err_msg=name)
