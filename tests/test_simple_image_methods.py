"""TINTOlib's five simple image methods (encoders/tabular_images.py): what each draws, its
options and missing values, and the reference comparisons with TINTOlib 1.3.1.

Reference tests fit TINTOlib's class and ours on the same training rows of a bundled table
(scikit-learn's iris, 4 features, and wine, 13) and compare the native-size images (ours:
``native_images``; TINTOlib's: its PNGs at zoom=1, read back in its CSV's order; these five
classes write PNG only). Every difference the module docstring lists is pinned here: test
rows beyond the training range (TINTOlib does not clip), FeatureWrap's refit on each batch,
an all-equal row (TINTOlib's 0 / 0), matplotlib's grey colormap in FeatureWrap's PNGs, and
Combination's RGB planes against our grey tiles. Also TINTOlib's SuperTML against our
``text`` encoder, with its hard-coded "arial.ttf" pointed at DejaVu Sans Mono.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from benchmarks.core.errors import ConfigError
from encoders import create_encoder

SIMPLE = ("bargraph", "distmatrix", "combination", "featurewrap", "bie")
sk = pytest.mark.sklearn


def _bundled(name):
    from sklearn.datasets import load_iris, load_wine

    return {"iris": load_iris, "wine": load_wine}[name](return_X_y=True)


def _split(name):
    """Even rows train, odd rows test (a fixed split: no test row chooses anything)."""
    X, y = _bundled(name)
    return X[::2], y[::2], X[1::2], y[1::2]


def _tintolib(name):
    pytest.importorskip("TINTOlib")
    from TINTOlib.barGraph import BarGraph
    from TINTOlib.bie import BIE
    from TINTOlib.combination import Combination
    from TINTOlib.distanceMatrix import DistanceMatrix
    from TINTOlib.featureWrap import FeatureWrap

    return {"bargraph": BarGraph, "distmatrix": DistanceMatrix, "combination": Combination,
            "featurewrap": FeatureWrap, "bie": BIE}[name]


def _frame(X, y):
    import pandas as pd

    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["y"] = np.asarray(y, dtype=np.int64)
    return df


def _read(folder) -> np.ndarray:
    """TINTOlib's images in row order (its CSV lists them so); grey from channel 0."""
    import pandas as pd
    from PIL import Image

    routes = pd.read_csv(Path(folder) / "classification.csv")["images"]
    imgs = np.stack([np.asarray(Image.open(Path(folder) / r)) for r in routes])
    return imgs


def reference(model, X_train, y_train, X, y, folder) -> np.ndarray:
    """Fit a TINTOlib model on the training rows, images of rows X (uint8 arrays)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KBinsDiscretizer's and NaN-cast warnings
        model.fit(_frame(X_train, y_train))
        model.transform(_frame(X, y), str(folder))
    return _read(folder)


def ours(name, X_train, X, **kw):
    return create_encoder(name, size=224, **kw).fit(X_train).native_images(X)


def grey(ref):
    """Channel 0 of an RGB(A) PNG; matplotlib's and PIL's grey PNGs have R = G = B."""
    if ref.ndim == 4:
        assert (ref[..., :3] == ref[..., :1]).all()
        return ref[..., 0]
    return ref


def planes(native, k):
    """Our combination tiles -> TINTOlib's (distance, bars, values) RGB planes."""
    assert (native[:, k:, k:] == 0).all()  # the fourth tile is empty
    return np.stack([native[:, :k, :k], native[:, :k, k:], native[:, k:, :k]], axis=-1)


def in_range(X_train, X):
    return ((X >= X_train.min(0)) & (X <= X_train.max(0))).all(axis=1)


# ----------------------------------------------------------------------------- reference


@pytest.mark.reference
@pytest.mark.parametrize("table", ["iris", "wine"])
@pytest.mark.parametrize("name, options", [
    ("bargraph", {}), ("bargraph", {"pixel_width": 2, "gap": 1}), ("distmatrix", {}),
    ("combination", {}), ("bie", {}), ("bie", {"precision": 64}),
])
def test_same_native_images_as_tintolib(name, options, table, tmp_path):
    """Training rows and the test rows inside the training range: pixel for pixel."""
    Xtr, ytr, Xte, yte = _split(table)
    keep = in_range(Xtr, Xte)
    assert keep.sum() >= 20
    X = np.concatenate([Xtr, Xte[keep]])
    y = np.concatenate([ytr, yte[keep]])
    ref = reference(_tintolib(name)(**options), Xtr, ytr, X, y, tmp_path)
    got = ours(name, Xtr, X, **options)
    if name == "combination":
        got = planes(got, X.shape[1])
    else:
        ref = grey(ref)
    assert ref.shape == got.shape
    if name == "bie" and options.get("precision") == 64:
        # scikit-learn's x * scale + offset can land a hair outside [0, 1] (wine: one
        # training maximum scales to 1.0000000000000004); TINTOlib encodes it, we clip to
        # 1.0, and float64 shows the last bit (float32 rounds it away)
        from sklearn.preprocessing import MinMaxScaler

        scaled = MinMaxScaler().fit(Xtr).transform(X)
        outside = (scaled < 0) | (scaled > 1)
        assert outside.sum() == {"iris": 0, "wine": 1}[table]
        for n, f in np.argwhere(outside):
            u = int(np.array(scaled[n, f]).view(np.uint64))
            assert ref[n, f].tolist() == [255 * ((u >> (63 - b)) & 1) for b in range(64)]
            assert got[n, f].tolist() == [255 * ((0x3FF0000000000000 >> (63 - b)) & 1) for b in range(64)]
        ref, got = ref[~outside], got[~outside]
    assert np.array_equal(ref, got)


def _matplotlib_grey(values: np.ndarray) -> np.ndarray:
    """What matplotlib.image.imsave(cmap="gray", vmin=0, vmax=255) writes for byte values."""
    import matplotlib
    from matplotlib.colors import Normalize

    rgba = matplotlib.colormaps["gray"](Normalize(0, 255)(values), bytes=True)
    return rgba[..., 0]


@pytest.mark.reference
@pytest.mark.parametrize("table", ["iris", "wine"])
def test_featurewrap_training_rows_as_tintolib_through_matplotlibs_grey(table, tmp_path):
    """On the training rows (where TINTOlib's per-batch refit is the identity), TINTOlib's
    PNG is our bytes through matplotlib's grey colormap, which writes 24 of the 256 levels
    one lower: pinned exactly."""
    Xtr, ytr, _, _ = _split(table)
    ref = grey(reference(_tintolib("featurewrap")(), Xtr, ytr, Xtr, ytr, tmp_path))
    got = ours("featurewrap", Xtr, Xtr)
    assert ref.shape == got.shape == (len(Xtr), 8, 8)
    assert np.array_equal(ref, _matplotlib_grey(got))
    levels = np.arange(256)
    lower = levels[_matplotlib_grey(levels) != levels]
    assert (_matplotlib_grey(lower) == lower - 1).all()
    assert lower.tolist() == [33, 37, 41, 45, 49, 53, 57, 61, 66, 74, 82, 90, 98, 106, 114, 122,
                              132, 148, 164, 180, 196, 212, 228, 244]
    assert np.isin(got, lower).any()  # the table exercises the lowered levels


@pytest.mark.reference
def test_featurewrap_tintolib_bins_each_batch_by_itself(tmp_path):
    """TINTOlib refits its scaler and bins on every transform batch: the same test row gets
    another image beside other rows. Ours depends on the row alone, and a test row equals
    TINTOlib's image of it in a batch with the training rows (where the refit is the identity)."""
    Xtr, ytr, Xte, yte = _split("iris")
    keep = in_range(Xtr, Xte)
    Xin, yin = Xte[keep][:10], yte[keep][:10]
    cls = _tintolib("featurewrap")
    alone_batch = grey(reference(cls(), Xtr, ytr, Xin, yin, tmp_path / "a"))
    with_train = grey(reference(cls(), Xtr, ytr, np.concatenate([Xtr, Xin]), np.concatenate([ytr, yin]),
                                tmp_path / "b"))[len(Xtr):]
    assert not np.array_equal(alone_batch, with_train)  # the batch changed TINTOlib's images
    got = ours("featurewrap", Xtr, Xin)
    assert np.array_equal(_matplotlib_grey(got), with_train)
    assert not np.array_equal(_matplotlib_grey(got), alone_batch)


def _extreme_rows(Xtr):
    """Beyond the training range: feature 0 scaled 1.6, the others -0.9."""
    lo, hi = Xtr.min(0), Xtr.max(0)
    row = lo - 0.9 * (hi - lo)
    row[0] = lo[0] + 1.6 * (hi[0] - lo[0])
    return row[None, :]


@pytest.mark.reference
def test_out_of_range_bargraph_tintolib_does_not_clip(tmp_path):
    """TINTOlib draws scaled 1.6 into the bottom padding and -0.9 (a negative slice end) as a
    full bar; we clip to [0, 1]: a full bar and no bar."""
    Xtr, ytr, _, _ = _split("iris")
    row = _extreme_rows(Xtr)
    ref = grey(reference(_tintolib("bargraph")(), Xtr, ytr, row, [0], tmp_path))[0]
    got = ours("bargraph", Xtr, row)[0]
    # iris: 4 bars in a 4x4 image, bars from row 1, at most H = 2 rows
    assert got[:, 0].tolist() == [0, 255, 255, 0] and (got[:, 1:] == 0).all()
    assert ref[:, 0].tolist() == [0, 255, 255, 255]  # floor(1.6 * 2) = 3 rows
    assert (ref[:, 1:].T == [0, 255, 255, 0]).all()  # floor(-1.8) = -2: rows 1:-1, a full bar


@pytest.mark.reference
def test_out_of_range_bie_tintolib_encodes_unclipped(tmp_path):
    Xtr, ytr, _, _ = _split("iris")
    row = _extreme_rows(Xtr)
    ref = grey(reference(_tintolib("bie")(), Xtr, ytr, row, [0], tmp_path))[0]
    got = ours("bie", Xtr, row)[0]

    def bits(v):
        u = int(np.array(v, dtype=np.float32).view(np.uint32))
        return [255 * ((u >> (31 - b)) & 1) for b in range(32)]

    from sklearn.preprocessing import MinMaxScaler

    assert got[0].tolist() == bits(1.0) and (got[1:] == 0).all()  # 0.0: every bit 0
    scaled = MinMaxScaler().fit(Xtr).transform(row)[0]  # TINTOlib's values, unclipped
    assert scaled[0] > 1.5 and (scaled[1:] < -0.8).all()
    assert [r.tolist() for r in ref] == [bits(v) for v in scaled]
    assert (ref[1:, 0] == 255).all()  # negative: the sign bit


@pytest.mark.reference
@pytest.mark.parametrize("name", ["distmatrix", "combination"])
def test_all_equal_row_tintolib_divides_zero_by_zero(name, tmp_path):
    """A row at every training minimum scales to all zeros: TINTOlib's 0 / 0 is NaN, cast to
    0 (x86); we draw the distance plane mid-grey 127 and the value plane 0."""
    Xtr, ytr, _, _ = _split("wine")
    row = Xtr.min(0)[None, :]
    with np.errstate(invalid="ignore"):
        ref = reference(_tintolib(name)(), Xtr, ytr, row, [0], tmp_path)[0]
    got = ours(name, Xtr, row)[0]
    k = Xtr.shape[1]
    if name == "distmatrix":
        assert (ref == 0).all() and (got == 127).all()
    else:
        assert (ref == 0).all()  # NaN planes, and no bars for values of 0
        assert (got[:k, :k] == 127).all() and (got[:k, k:] == 0).all() and (got[k:] == 0).all()


# ----------------------------------------------------------------------------- SuperTML


def _dejavu_mono():
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSansMono.ttf"
    if not path.is_file():
        pytest.skip("matplotlib's DejaVu Sans Mono is missing")
    return str(path)


@pytest.mark.reference
def test_tintolib_supertml_needs_arial(tmp_path):
    """TINTOlib's SuperTML asks Pillow for "arial.ttf" by name, which this machine does not
    have (no Microsoft fonts): it fails before drawing anything."""
    pytest.importorskip("TINTOlib")
    from PIL import ImageFont
    from TINTOlib.supertml import SuperTML

    try:
        ImageFont.truetype("arial.ttf", 10)
        pytest.skip("this machine has an arial.ttf: SuperTML runs as published")
    except OSError:
        pass
    Xtr, ytr, _, _ = _split("iris")
    with pytest.raises(OSError, match="cannot open resource"):
        reference(SuperTML(), Xtr, ytr, Xtr[:2], ytr[:2], tmp_path)


@pytest.mark.reference
def test_tintolib_supertml_ef_against_our_text(monkeypatch, tmp_path):
    """SuperTML_EF with "arial.ttf" pointed at DejaVu Sans Mono (our text font), at our
    fitted font size and square grid, on the min-max scaled wine table (TINTOlib prints the
    scaled values; we print what we are given): the same strings in the same cells, the
    same glyph bitmaps (every cell's total ink equal), the same ink height; TINTOlib's ink
    sits 4 px lower and 1 px further right (it centres the string's bounding box and draws
    from its origin, we centre the glyph tiles' box) and is 1 px narrower (Pillow's layout
    advances DejaVu Sans Mono's 10.84 px per character at 18 px; our fixed slots are 11 px)."""
    pytest.importorskip("TINTOlib")
    from PIL import ImageFont
    from sklearn.preprocessing import MinMaxScaler
    from TINTOlib.supertml import SuperTML

    mono = _dejavu_mono()
    truetype = ImageFont.truetype
    monkeypatch.setattr(ImageFont, "truetype",
                        lambda font, size=10, *a, **k: truetype(mono if font == "arial.ttf" else font, size, *a, **k))
    X, y = _bundled("wine")
    V = MinMaxScaler().fit_transform(X)
    text = create_encoder("text", size=224, grid="square", font_path=mono, decimals=3).fit(V)
    font = text.boxes_[0].font_size
    assert font == 18 and {b.font_size for b in text.boxes_} == {18}
    ref = grey(reference(SuperTML(pixels=224, font_size=font), X, y, X, y, tmp_path))
    got = text.transform(V)[:, 0]
    rows, cols = 4, 4  # TINTOlib: ceil(sqrt(13)) columns; ours: grid="square", the same
    ch, cw = 224 // rows, 224 // cols
    offsets = set()
    for i in range(X.shape[1]):
        r, c = divmod(i, cols)
        a = ref[:, r * ch:(r + 1) * ch, c * cw:(c + 1) * cw].astype(np.int64)
        b = got[:, r * ch:(r + 1) * ch, c * cw:(c + 1) * cw].astype(np.int64)
        assert np.array_equal(a.sum(axis=(1, 2)), b.sum(axis=(1, 2)))  # same glyphs, same ink
        for n in range(len(X)):
            ya, xa = np.nonzero(a[n])
            yb, xb = np.nonzero(b[n])
            offsets.add((ya.min() - yb.min(), xa.min() - xb.min(),
                         np.ptp(ya) - np.ptp(yb), np.ptp(xa) - np.ptp(xb)))
    assert offsets == {(4, 1, 0, -1)}
    assert math.isclose(truetype(mono, 18).getlength("0"), 10.84375)


# ----------------------------------------------------------------------------- ours alone


def _fit(name, X, **kw):
    return create_encoder(name, size=224, **kw).fit(X)


@sk
def test_bargraph_draws_floor_of_scaled_value_times_height():
    X = np.array([[0.0] * 5, [1.0] * 5])
    x = np.array([[1.0, 0.5, 0.2, 0.99, 0.6]])
    img = _fit("bargraph", X).native_images(x)[0]  # 5x5, bars from row 1, H = 3
    assert img.shape == (5, 5)
    assert [int((img[:, i] == 255).sum()) for i in range(5)] == [3, 1, 0, 2, 1]
    assert (img[0] == 0).all() and (img[4] == 0).all()  # top and bottom padding
    wide = _fit("bargraph", X, pixel_width=2, gap=1).native_images(x)[0]
    side = 2 * 5 + 6 * 1
    assert wide.shape == (side, side)
    # bar 0 (value 1): columns 1-2, rows 2 .. 2 + floor(1 * 12) - 1; gaps empty
    assert (wide[2:14, 1:3] == 255).all() and (wide[:2] == 0).all() and (wide[14:] == 0).all()
    assert (wide[:, [0, 3, 6, 9, 12, 15]] == 0).all()


@sk
def test_distmatrix_is_normalised_signed_difference():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 4.0]])
    img = _fit("distmatrix", X).native_images(np.array([[0.5, 2.0, 1.0]]))[0]  # v = .5, 1, .25
    d = np.array([0.5, 1.0, 0.25])
    diff = d[:, None] - d[None, :]
    want = np.floor((diff - diff.min()) / (diff.max() - diff.min()) * 255)
    assert np.array_equal(img, want.astype(np.uint8))
    assert (np.diag(img) == 127).all() and img[1, 2] == 255 and img[2, 1] == 0


@sk
def test_combination_tiles_distance_bars_and_values():
    X = np.array([[0.0] * 4, [1.0] * 4])
    x = np.array([[1.0, 0.0, 0.5, 0.25]])
    enc = _fit("combination", X)
    img = enc.native_images(x)[0]
    assert img.shape == (8, 8)
    assert np.array_equal(img[:4, :4], _fit("distmatrix", X).native_images(x)[0])
    bars = img[:4, 4:]  # H = 2: floor(v * 2) rows from row 1
    assert [int((bars[:, i] == 255).sum()) for i in range(4)] == [2, 0, 1, 0]
    assert img[4:, :4].tolist() == [[255] * 4, [0] * 4, [127] * 4, [63] * 4]
    assert (img[4:, 4:] == 0).all()


@sk
def test_featurewrap_one_hot_bins_read_as_bytes():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    img = _fit("featurewrap", X).native_images(np.array([[0.0, 0.35, 1.0]]))[0]
    # bins 0, 3, 9 -> bits 0, 13, 29 of 30: bytes 0b10000000, 0b00000100, 0, 0b00000100
    assert img.shape == (8, 8)
    assert img.ravel()[:4].tolist() == [128, 4, 0, 4] and (img.ravel()[4:] == 0).all()
    # a value on a bin edge goes up, as KBinsDiscretizer does: 0.1 is bin 1
    edge = _fit("featurewrap", X, bins=10).native_images(np.array([[0.1, 0.3, 0.0]]))[0]
    # (the edge is linspace's 0.30000000000000004, so 0.3 stays in bin 2, as in TINTOlib)
    bits = np.unpackbits(edge.ravel())
    assert np.flatnonzero(bits).tolist() == [1, 12, 20]


@sk
def test_featurewrap_grid_grows_past_512_bits_and_checks_an_explicit_grid():
    X = np.random.default_rng(0).random((20, 60))
    assert _fit("featurewrap", X).native_images(X[:1]).shape == (1, 9, 9)  # 600 bits -> 75 bytes
    with pytest.raises(ConfigError, match="featurewrap: grid=8 holds 512 bits.*grid=9"):
        _fit("featurewrap", X, grid=8)
    assert _fit("featurewrap", X[:, :3], grid=2, bins=5).native_images(X[:1, :3]).shape == (1, 2, 2)


@sk
@pytest.mark.parametrize("precision", [32, 64])
def test_bie_rows_are_ieee_bits(precision):
    X = np.array([[0.0, 0.0], [4.0, 1.0]])
    x = np.array([[1.0, 0.3]])  # scaled 0.25, 0.3
    img = _fit("bie", X, precision=precision).native_images(x)[0]
    assert img.shape == (2, precision)
    dtype, udtype = (np.float32, np.uint32) if precision == 32 else (np.float64, np.uint64)
    for row, v in zip(img, (0.25, 0.3)):
        u = int(np.array(v, dtype=dtype).view(udtype))
        assert row.tolist() == [255 * ((u >> (precision - 1 - b)) & 1) for b in range(precision)]


@sk
def test_test_values_clip_and_scale_is_minmax_of_training_rows():
    Xtr = np.array([[0.0, 10.0], [2.0, 20.0], [1.0, 15.0], [0.5, 12.0]])
    enc = _fit("bie", Xtr)
    assert np.array_equal(enc.data_min_, [0.0, 10.0]) and np.array_equal(enc.data_max_, [2.0, 20.0])
    far = enc.native_images(np.array([[9.0, -100.0]]))[0]
    edge = enc.native_images(np.array([[2.0, 10.0]]))[0]
    assert np.array_equal(far, edge)  # 1 and 0, never beyond


@sk
def test_missing_marker_and_blank():
    X = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.5, 0.2, 0.9, 0.4]])
    x = np.array([[0.5, -999.0, np.nan, 1.0]])
    bars = _fit("bargraph", X).native_images(x)[0][:, :3]  # H = 2
    assert bars[:, 1].tolist() == [0, 255, 0, 0] and bars[:, 2].tolist() == [0, 255, 0, 0]  # every other level
    assert (_fit("bargraph", X, missing="blank").native_images(x)[0][:, 1:3] == 0).all()
    dm = _fit("distmatrix", X).native_images(x)[0]
    assert dm[1].tolist() == [0, 255, 0, 255] and dm[:, 2].tolist() == [255, 0, 255, 0]  # checkerboard
    assert dm[0, 3] == 0 and dm[3, 0] == 255  # present values normalised among themselves
    assert (_fit("distmatrix", X, missing="blank").native_images(x)[0][[1, 2]] == 0).all()
    comb = _fit("combination", X).native_images(x)[0]
    assert comb[5, :4].tolist() == [255, 0, 255, 0] and (comb[4, :4] == 0).all()
    fw = np.unpackbits(_fit("featurewrap", X).native_images(x)[0].ravel())
    assert np.flatnonzero(fw).tolist() == [5, *range(10, 30), 39]  # missing: all 10 bins set
    fwb = np.unpackbits(_fit("featurewrap", X, missing="blank").native_images(x)[0].ravel())
    assert np.flatnonzero(fwb).tolist() == [5, 39]
    bie = _fit("bie", X).native_images(x)[0]
    assert bie[1].tolist() == [255, 0] * 16 and bie[2].tolist() == [255, 0] * 16  # sign bit set
    assert (_fit("bie", X, missing="blank").native_images(x)[0][1:3] == 0).all()


@sk
def test_a_missing_training_value_is_left_out_of_min_and_max():
    X = np.array([[-999.0, 1.0, 0.0], [2.0, 3.0, 0.0], [4.0, np.nan, 1.0]])
    enc = _fit("distmatrix", X)
    assert enc.data_min_.tolist() == [2.0, 1.0, 0.0] and enc.data_max_.tolist() == [4.0, 3.0, 1.0]


@sk
def test_upscaled_image_is_nearest_neighbour_of_native():
    X = np.random.default_rng(1).random((30, 7))
    for name in SIMPLE:
        enc = create_encoder(name, size=70).fit(X)
        native = enc.native_images(X[:5])
        h, w = native.shape[1:]
        ry = np.arange(70) * h // 70
        cx = np.arange(70) * w // 70
        assert np.array_equal(enc.transform(X[:5])[:, 0], native[:, ry][:, :, cx]), name


@sk
@pytest.mark.parametrize("name, options, message", [
    ("bargraph", {"pixel_width": 0}, "bargraph: pixel_width must be an integer from 1 to 64, got 0"),
    ("bargraph", {"gap": -1}, "bargraph: gap must be an integer from 0 to 64, got -1"),
    ("featurewrap", {"bins": 1}, "featurewrap: bins must be an integer from 2 to 256, got 1"),
    ("featurewrap", {"grid": 0}, "featurewrap: grid must be an integer from 1 to 256 or None, got 0"),
    ("bie", {"precision": 16}, "bie: precision must be 32 or 64, got 16"),
    ("distmatrix", {"missing": "zero"}, "distmatrix: unknown missing='zero'; use marker, blank"),
])
def test_bad_options_are_one_line_config_errors(name, options, message):
    with pytest.raises(ConfigError) as err:
        create_encoder(name, **options)
    assert str(err.value) == message


@sk
def test_native_image_larger_than_size_or_bars_without_height_fail_at_fit():
    X = np.random.default_rng(2).random((10, 20))
    with pytest.raises(ConfigError, match=r"bie: its 20x64 native image \(20 features\) does not fit 56x56"):
        create_encoder("bie", size=56, precision=64).fit(X)
    with pytest.raises(ConfigError, match="combination: its 40x40 native image"):
        create_encoder("combination", size=32).fit(X)
    with pytest.raises(ConfigError, match="bargraph: 2 bars with pixel_width=1, gap=0 make a 2x2 image with no room"):
        create_encoder("bargraph", size=32).fit(X[:, :2])
    assert create_encoder("bargraph", size=32, gap=1).fit(X[:, :2]).native_images(X[:1, :2]).shape == (1, 5, 5)


@sk
def test_order_draws_the_listed_features():
    X = np.random.default_rng(3).random((30, 5))
    enc = create_encoder("bie", size=64, order=[3, 1]).fit(X)
    full = create_encoder("bie", size=64).fit(X).native_images(X[:4])
    assert np.array_equal(enc.native_images(X[:4]), full[:, [3, 1]])
