"""SuperTML image encoders: shapes, exactness against the Pillow reference, layouts, options."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from benchmarks.core.errors import ConfigError, DataError
from benchmarks.perf_encode import higgs_like
from encoders import (
    NotFittedError, PixelEncoder, TextEncoder, create_encoder, list_encoders, render_reference,
    write_examples,
)
from encoders.base import fit_importances
from encoders.pixels import intensity
from encoders.text import round_scaled

pytestmark = pytest.mark.sklearn

LAYOUTS = [("text", "equal"), ("text", "variable"), ("pixels", "blocks"), ("pixels", "bars")]


@pytest.fixture(scope="module")
def higgs():
    X, y = higgs_like(400, seed=3)
    return X[:300], y[:300], X[300:], y[300:]


def small_table(n=200, f=8, seed=0):
    """f features with mixed signs and magnitudes, some missing; y depends on feature 0."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, f)) * np.geomspace(0.5, 300, f)
    X[rng.random((n, f)) < 0.1] = -999.0
    y = (X[:, 0] > 0).astype(int)
    return X, y


def fitted(name, layout, X, y, **kw):
    return create_encoder(name, layout=layout, **kw).fit(X, y)


# ----------------------------------------------------------------------------- basics


def test_registry_creates_both_encoders():
    assert {"text", "pixels"} <= set(list_encoders())
    assert isinstance(create_encoder("text", layout="variable", size=56), TextEncoder)
    assert isinstance(create_encoder("pixels", layout="bars"), PixelEncoder)
    with pytest.raises(ConfigError, match="unknown encoder"):
        create_encoder("txet")


@pytest.mark.parametrize("name,layout", LAYOUTS)
@pytest.mark.parametrize("size", [56, 224])
def test_shapes_dtypes_channels(name, layout, size):
    X, y = small_table()
    one = fitted(name, layout, X, y, size=size)
    img = one.transform(X[:5])
    assert img.shape == (5, 1, size, size) and img.dtype == np.uint8
    assert img.max() > 0  # something is drawn
    three = fitted(name, layout, X, y, size=size, channels=3).transform(X[:5])
    assert three.shape == (5, 3, size, size)
    for c in range(3):
        np.testing.assert_array_equal(three[:, c], img[:, 0])
    flt = fitted(name, layout, X, y, size=size, dtype="float32").transform(X[:5])
    assert flt.dtype == np.float32 and 0.0 <= flt.min() and flt.max() <= 1.0
    np.testing.assert_array_equal(flt, img.astype(np.float32) / 255)


@pytest.mark.parametrize("name,layout", LAYOUTS)
def test_deterministic_and_pure(name, layout):
    X, y = small_table()
    a = fitted(name, layout, X, y, size=56)
    b = fitted(name, layout, X, y, size=56)
    first = a.transform(X[:20])
    np.testing.assert_array_equal(first, b.transform(X[:20]))
    a.transform(X[100:])  # transforming other data changes nothing
    np.testing.assert_array_equal(first, a.transform(X[:20]))
    # events are independent: a batch equals its events one by one
    np.testing.assert_array_equal(first[7], a.transform(X[7:8])[0])
    # the threaded path and an `out=` buffer give the same images
    buf = np.empty_like(first)
    assert a.transform(X[:20], out=buf) is buf
    np.testing.assert_array_equal(buf, first)
    many = np.repeat(X[:20], 120, axis=0)  # > 2 blocks of events
    a.n_jobs = 2
    np.testing.assert_array_equal(a.transform(many), np.repeat(first, 120, axis=0))


def test_pickle_round_trip():
    X, y = small_table()
    enc = fitted("text", "variable", X, y, size=56)
    clone = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(clone.transform(X[:10]), enc.transform(X[:10]))


# ----------------------------------------------------------------------------- pixels


def test_pixel_intensity_is_rounded_sigmoid_and_monotone():
    z = np.concatenate([np.linspace(-12, 12, 20001), [-np.inf, np.inf, 0.0]])
    got = intensity(z).astype(int)
    want = np.rint(255 / (1 + np.exp(-z)))
    assert np.abs(got - want).max() == 0
    assert (np.diff(got[:20001]) >= 0).all() and got[0] == 0 and got[20000] == 255


@pytest.mark.parametrize("layout", ["blocks", "bars"])
def test_pixels_monotone_in_value_and_fitted_on_train(layout):
    rng = np.random.default_rng(1)
    X = rng.normal(10.0, 2.0, size=(500, 5))
    enc = PixelEncoder(layout=layout, size=56).fit(X)
    np.testing.assert_allclose(enc.mean_, X.mean(axis=0))
    np.testing.assert_allclose(enc.std_, X.std(axis=0))
    probe = np.repeat(X[:1], 50, axis=0)
    probe[:, 2] = np.linspace(0, 20, 50)
    img = enc.transform(probe)[:, 0]
    region = enc.feature_map_ == 2
    levels = img[:, region]
    assert (levels == levels[:, :1]).all()  # one intensity per feature region
    assert (np.diff(levels[:, 0].astype(int)) >= 0).all() and levels[0, 0] < 20 < 235 < levels[-1, 0]
    z = (probe[:, 2] - enc.mean_[2]) / enc.std_[2]
    np.testing.assert_array_equal(levels[:, 0], np.rint(255 / (1 + np.exp(-z))))
    others = ~region & (enc.feature_map_ >= 0)
    assert (img[:, others] == img[:1, others]).all()  # other features unchanged
    assert (img[:, enc.feature_map_ < 0] == 0).all()  # background stays black


def test_pixel_statistics_ignore_missing():
    X = np.array([[1.0], [3.0], [-999.0], [np.nan]])
    enc = PixelEncoder(size=16).fit(X)
    assert enc.mean_[0] == 2.0 and enc.std_[0] == 1.0


@pytest.mark.parametrize(
    "layout,orientation", [("blocks", "vertical"), ("bars", "vertical"), ("bars", "horizontal")]
)
def test_pixel_missing_values(layout, orientation):
    X, _ = small_table(f=6)
    X[X == -999.0] = 1.0
    probe = X[:3].copy()
    probe[0, 1] = -999.0
    probe[1, 1] = np.nan
    kw = dict(layout=layout, orientation=orientation, size=56)
    enc = PixelEncoder(**kw).fit(X)
    region = enc.feature_map_ == 1
    marker = enc.transform(probe)[:, 0]
    for i in (0, 1):  # -999 and NaN alike: 1-px stripes of 0 and 255
        values = marker[i][region]
        assert set(np.unique(values)) == {0, 255}
        rows = marker[i][np.ix_(region.any(axis=1), region.any(axis=0))]
        assert (rows[:, :-1] != rows[:, 1:]).all() or (rows[:-1] != rows[1:]).all()
    assert len(np.unique(marker[2][region])) == 1  # present value: plain
    blank = PixelEncoder(missing="blank", **kw).fit(X).transform(probe)[:, 0]
    assert (blank[0][region] == 0).all() and (blank[1][region] == 0).all()
    grey = PixelEncoder(missing=77, **kw).fit(X).transform(probe)[:, 0]
    assert (grey[0][region] == 77).all()
    np.testing.assert_array_equal(grey[2], blank[2])  # only missing cells differ


# ----------------------------------------------------------------------------- text


def test_round_scaled_matches_python_formatting():
    rng = np.random.default_rng(0)
    for d in range(4):
        # one decimal more than printed: every other value sits near a .5 tie
        a = np.round(np.abs(rng.standard_normal(20000)) * 10.0 ** rng.integers(0, 4, 20000), d + 1)
        a = np.concatenate([a, [0.0, 0.5, 1.5, 2.5, 0.125, 1.465, 2.675, 1e-9]])
        want = np.array([float(f"{v:.{d}f}".replace(".", "")) for v in a])
        np.testing.assert_array_equal(round_scaled(a, float(10**d), np), want)


def test_text_codes_spell_python_formatting():
    X, y = small_table(n=2000, f=8, seed=5)
    enc = TextEncoder(size=224, decimals=3).fit(X[:1000], y[:1000])
    test = X[1000:].copy()
    test[0, 3] = 1e9  # beyond the fitted digits: clipped
    test[1, 2] = -0.0
    test[2, 4] = np.nan
    test[3, 5] = np.inf
    charset = np.array(list(enc.charset_))
    codes = enc.codes(test)
    for i in range(len(test)):
        spelled = {b.feature: "".join(charset[codes[i, j, enc._slots - b.nch:]])
                   for j, b in enumerate(enc.boxes_)}
        assert spelled == enc.texts(test[i])
    texts = enc.texts(test[0])
    assert texts[3].strip() == "9" * int(enc.int_digits_[3]) + ".999"
    assert enc.texts(test[2])[4].strip() == "NA"


def test_text_formatting_examples():
    X = np.array([[-3.0, 0.5, 12.0], [2.0, 99.4, -999.0]])
    enc = TextEncoder(size=224, decimals=2).fit(X)
    # slots: sign + 1 digit (-3.00); 2 digits (99.40); 2 digits (12.00), right-aligned
    assert list(enc.nchars_) == [5, 5, 5]
    def texts(row):
        return list(enc.texts(np.array(row)).values())

    assert texts([3.14159, 7.125, 5.0]) == [" 3.14", " 7.12", " 5.00"]
    assert texts([-2.5, -1.0, -999.0]) == ["-2.50", " 0.00", "   NA"]
    assert texts([-20.0, 123.456, 8.0]) == ["-9.99", "99.99", " 8.00"]
    value = TextEncoder(size=224, decimals=1, missing="value").fit(X)
    assert value.texts(np.array([1.0, 2.0, -999.0]))[2] == "-999.0"
    assert value.texts(np.array([1.0, 2.0, np.nan]))[2] == "-999.0"


@pytest.mark.parametrize("layout", ["equal", "variable"])
@pytest.mark.parametrize("size", [56, 224])
def test_fast_text_equals_pillow_reference(layout, size, higgs):
    """The fast path must reproduce the per-event Pillow renderer exactly (tolerance 0)."""
    if size == 56:
        X, y = small_table(n=300, f=8, seed=2)
        train, test = X[:200], X[200:230]
        y = y[:200]
    else:
        train, y, test, _ = higgs
        test = test[:12]
    test = test.copy()
    test[0, :3] = [np.nan, -0.0, 1e12]
    enc = create_encoder("text", layout=layout, size=size).fit(train, y)
    assert enc.decimals_ == 3
    fast = enc.transform(test)[:, 0]
    ref = render_reference(enc, test)
    np.testing.assert_array_equal(fast, ref)
    pillow = create_encoder("text", layout=layout, size=size, backend="pillow").fit(train, y)
    np.testing.assert_array_equal(pillow.transform(test[:3])[:, 0], ref[:3])


@pytest.mark.parametrize("layout", ["equal", "variable"])
@pytest.mark.parametrize("size", [56, 100, 224])
def test_text_boxes_inside_image_and_disjoint(layout, size, higgs):
    train, y, _, _ = higgs
    enc = TextEncoder(layout=layout, size=size, decimals="auto").fit(train, y)
    canvas = np.zeros((size, size), dtype=int)
    for b in enc.boxes_:
        assert b.y >= 0 and b.x >= 0 and b.y + b.height <= size and b.x + b.width <= size
        assert b.font_size >= enc.min_font
        canvas[b.y : b.y + b.height, b.x : b.x + b.width] += 1
    assert canvas.max() == 1
    assert sorted(b.feature for b in enc.boxes_) == list(range(train.shape[1]))


def test_variable_layout_gives_bigger_cells_to_important_features():
    X, y = small_table(n=300, f=8)
    imp = np.array([0.02, 0.4, 0.05, 0.03, 0.2, 0.1, 0.15, 0.05])
    enc = TextEncoder(layout="variable", size=224, importances=imp).fit(X)
    fonts = {b.feature: b.font_size for b in enc.boxes_}
    area = {b.feature: b.width * b.height for b in enc.boxes_}
    ranked = np.argsort(-imp, kind="stable")
    assert [fonts[f] for f in ranked] == sorted(fonts.values(), reverse=True)
    assert fonts[1] > fonts[4] > fonts[0]
    assert area[1] > 2 * area[0]
    equal = TextEncoder(layout="equal", size=224).fit(X)
    assert len({b.font_size for b in equal.boxes_}) == 1


def test_equal_layout_grids(higgs):
    train, y, test, _ = higgs
    auto = TextEncoder(size=224).fit(train)
    square = TextEncoder(size=224, grid="square").fit(train)
    fixed = TextEncoder(size=224, grid=(10, 3)).fit(train)
    assert len({b.y for b in square.boxes_}) == 5 and len({b.x + b.width for b in square.boxes_}) == 6
    assert len({b.y for b in fixed.boxes_}) == 10
    assert auto.boxes_[0].font_size >= max(fixed.boxes_[0].font_size, square.boxes_[0].font_size)
    np.testing.assert_array_equal(square.transform(test[:3])[:, 0], render_reference(square, test[:3]))
    with pytest.raises(ConfigError, match="fewer than 30 cells"):
        TextEncoder(grid=(4, 4)).fit(train)


def test_importances_fitted_on_train_only():
    rng = np.random.default_rng(0)
    X1 = rng.standard_normal((400, 6))
    X2 = rng.standard_normal((400, 6))
    y1 = (X1[:, 0] > 0).astype(int)  # feature 0 decides in one training set
    y2 = (X2[:, 4] > 0).astype(int)  # feature 4 in the other
    a = TextEncoder(layout="variable", size=224).fit(X1, y1)
    b = TextEncoder(layout="variable", size=224).fit(X2, y2)
    assert np.argmax(a.importances_) == 0 and np.argmax(b.importances_) == 4
    assert a.order_[0] == 0 and b.order_[0] == 4
    big = max(a.boxes_, key=lambda box: box.font_size)
    assert big.feature == 0
    before = (a.importances_.copy(), list(a.boxes_))
    a.transform(X2)
    np.testing.assert_array_equal(a.importances_, before[0])
    assert a.boxes_ == before[1]
    pixels = PixelEncoder(order="importance", size=56).fit(X2, y2)
    assert pixels.order_[0] == 4


def test_importance_weights_are_balanced_per_class():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((400, 5))
    y = (X[:, 3] > np.median(X[:, 3])).astype(int)  # two classes of 200 events
    w = np.where(y == 1, 1e-3, 2.0)  # HiggsML-like: signal weights ~1000x lighter
    np.testing.assert_allclose(fit_importances(X, y, w), fit_importances(X, y, np.ones(400)))
    assert np.argmax(fit_importances(X, y, w)) == 3


def test_order_options():
    X, y = small_table(f=5)
    names = ["a", "b", "c", "d", "e"]
    enc = PixelEncoder(order=["c", "a"], size=56).fit(X, feature_names=names)
    assert list(enc.order_) == [2, 0] and enc.feature_map_.max() == 1
    assert list(TextEncoder(order=[4, 1], size=56).fit(X).order_) == [4, 1]
    with pytest.raises(ConfigError, match="unknown feature"):
        PixelEncoder(order=["zz"]).fit(X, feature_names=names)
    with pytest.raises(ConfigError, match="outside"):
        PixelEncoder(order=[7]).fit(X)
    with pytest.raises(ConfigError, match="needs labels|need labels"):
        PixelEncoder(order="importance").fit(X)


@pytest.mark.parametrize("layout", ["equal", "variable"])
def test_text_missing_values(layout):
    X, y = small_table(n=200, f=6)
    probe = X[:2].copy()
    probe[:, 2] = [-999.0, 7.0]
    kw = dict(layout=layout, size=224, importances=np.arange(1, 7, dtype=float))
    marker = TextEncoder(**kw).fit(X)
    box = next(b for b in marker.boxes_ if b.feature == 2)
    cell = (slice(None), 0, slice(box.y, box.y + box.height), slice(box.x, box.x + box.width))
    img = marker.transform(probe)
    assert marker.texts(probe[0])[2].strip() == "NA" and img[cell][0].max() > 0
    assert not np.array_equal(img[cell][0], img[cell][1])
    blank = TextEncoder(missing="blank", **kw).fit(X)
    b2 = next(b for b in blank.boxes_ if b.feature == 2)
    assert blank.transform(probe)[0, 0, b2.y : b2.y + b2.height, b2.x : b2.x + b2.width].max() == 0
    value = TextEncoder(missing="value", **kw).fit(X)
    assert value.texts(probe[0])[2].strip() == "-999.000"
    np.testing.assert_array_equal(value.transform(probe)[:, 0], render_reference(value, probe))


def test_decimals_auto_fits_small_images(higgs):
    train, y, test, _ = higgs
    with pytest.raises(ConfigError, match="do not fit a 56x56"):
        TextEncoder(layout="equal", size=56, decimals=3).fit(train, y)
    enc = TextEncoder(layout="equal", size=56, decimals="auto").fit(train, y)
    assert 0 <= enc.decimals_ < 3
    np.testing.assert_array_equal(enc.transform(test[:10])[:, 0], render_reference(enc, test[:10]))
    assert TextEncoder(layout="equal", size=224, decimals="auto").fit(train, y).decimals_ == 3


def test_font_fallback_warns_and_still_matches_reference(monkeypatch):
    import encoders.font as font

    monkeypatch.setattr(font, "_FONT_FILES", ("NoSuchFont-Regular.ttf",))
    with pytest.warns(UserWarning, match="built-in font"):
        assert font.find_font() == font.DEFAULT_FONT
    X, y = small_table(n=100, f=4)
    with pytest.warns(UserWarning):
        enc = TextEncoder(size=112).fit(X)
    np.testing.assert_array_equal(enc.transform(X[:5])[:, 0], render_reference(enc, X[:5]))
    with pytest.raises(ConfigError, match="not a file"):
        TextEncoder(font_path="/no/such/font.ttf")


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name,options,match",
    [
        ("text", {"layout": "diagonal"}, "unknown layout"),
        ("pixels", {"layout": "spiral"}, "unknown layout"),
        ("text", {"order": "random"}, "unknown order"),
        ("pixels", {"missing": "zebra"}, "unknown missing"),
        ("pixels", {"missing": 300}, "unknown missing"),
        ("text", {"missing": 5}, "unknown missing"),
        ("text", {"channels": 2}, "channels"),
        ("text", {"decimals": -1}, "decimals"),
        ("text", {"backend": "cairo"}, "unknown backend"),
        ("pixels", {"size": 4}, "size"),
        ("pixels", {"dtype": "float16"}, "dtype"),
        ("pixels", {"order": [1, 1]}, "twice"),
    ],
)
def test_bad_options_raise_config_error(name, options, match):
    with pytest.raises(ConfigError, match=match):
        create_encoder(name, **options)


def test_too_small_images_raise_config_error(higgs):
    train, y, _, _ = higgs
    with pytest.raises(ConfigError, match="too small"):
        PixelEncoder(layout="blocks", size=8, gap=1).fit(train)
    with pytest.raises(ConfigError, match="bars"):
        PixelEncoder(layout="bars", size=40, gap=1).fit(train)
    with pytest.raises(ConfigError, match="do not fit"):
        TextEncoder(layout="variable", size=32).fit(train, y)


def test_transform_errors():
    X, y = small_table()
    failed = TextEncoder(size=8, decimals=3)
    with pytest.raises(ConfigError):
        failed.fit(X)
    with pytest.raises(NotFittedError):  # a failed fit leaves the encoder unfitted
        failed.transform(X)
    with pytest.raises(NotFittedError, match="not fitted"):
        PixelEncoder().transform(X)
    assert issubclass(NotFittedError, ConfigError)
    enc = PixelEncoder(size=56).fit(X)
    with pytest.raises(DataError, match="fitted on 8 features"):
        enc.transform(X[:, :5])
    with pytest.raises(ConfigError, match="need labels|needs labels"):
        TextEncoder(layout="variable").fit(X)


# ----------------------------------------------------------------------------- torch


@pytest.mark.parametrize("name,layout", LAYOUTS)
@pytest.mark.torch
def test_transform_torch_equals_transform(name, layout, higgs):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    train, y, test, _ = higgs
    test = test.copy()
    test[0, :4] = [np.nan, -0.0, 1e12, -1e12]
    for kw in ({}, {"channels": 3, "dtype": "float32"}):
        enc = create_encoder(name, layout=layout, size=56, decimals="auto", **kw) if name == "text" \
            else create_encoder(name, layout=layout, size=56, **kw)
        enc.fit(train, y)
        want = enc.transform(test)
        got = enc.transform_torch(torch.as_tensor(test))
        assert got.dtype == (torch.uint8 if "dtype" not in kw else torch.float32)
        np.testing.assert_array_equal(got.numpy(), want)
        got32 = enc.transform_torch(torch.as_tensor(test, dtype=torch.float32))
        np.testing.assert_array_equal(got32.numpy(), enc.transform(test.astype(np.float32)))


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.torch
@pytest.mark.skipif(not _cuda_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name,layout", LAYOUTS)
def test_transform_torch_on_cuda_equals_transform(name, layout, higgs):
    import torch

    train, y, test, _ = higgs
    test = test.copy()
    test[0, :4] = [np.nan, -0.0, 1e12, -1e12]
    for size in (56, 224):
        extra = {"decimals": "auto"} if name == "text" else {}
        enc = create_encoder(name, layout=layout, size=size, **extra).fit(train, y)
        got = enc.transform_torch(torch.as_tensor(test, device="cuda"))
        assert got.device.type == "cuda"
        np.testing.assert_array_equal(got.cpu().numpy(), enc.transform(test))


# ----------------------------------------------------------------------------- examples


def test_write_examples_writes_readable_pngs(tmp_path):
    X, y = small_table(n=40)
    images = TextEncoder(size=56, layout="equal", decimals=1, channels=3).fit(X, y).transform(X)
    paths = write_examples(images, y, tmp_path / "ex", class_names=["background", "signal"], n=6)
    assert len(paths) == 7 and paths[-1].name == "contact_sheet.png"
    labels = [p.stem.split("_", 2)[2] for p in paths[:-1]]
    assert labels.count("signal") == 3 and labels.count("background") == 3
    for p in paths[:-1]:
        with Image.open(p) as im:
            assert im.size == (56, 56) and im.mode == "L"
            im.load()
    with Image.open(paths[-1]) as sheet:
        assert sheet.size[0] > 3 * 56 and sheet.mode == "RGB"
    with Image.open(paths[0]) as im:  # the PNG holds the encoder's pixels
        idx = int(np.flatnonzero(y == (1 if "signal" in paths[0].name else 0))[0])
        np.testing.assert_array_equal(np.asarray(im), images[idx, 0])
    with pytest.raises(DataError):
        write_examples(images[:0], y[:0], tmp_path)
