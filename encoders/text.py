"""SuperTML text images: each feature's value printed as decimal text in its own cell.

Two layouts: ``equal`` (SuperTML_EF, one font size, a grid of cells) and ``variable``
(SuperTML_VF, font size and cell area grow with feature importance; see
``layout.variable_text_layout`` for the packing). White text on black.

Numbers are printed with a fixed number of decimals (default 3) in fixed character slots,
right-aligned, so decimal points line up from event to event. Each feature gets the slots
its training values need: a sign slot if any training value is negative, as many integer
digits as its largest training magnitude. Values outside that range at transform time are
clipped to the largest magnitude the slots hold (9999.999), and negative values of a
feature that was never negative in training print as 0.000; -0.0 prints as -0.000, as
Python's formatting does. Missing values (NaN or `missing_value`) are drawn as `marker`
("NA"), left blank, or printed as the sentinel number (missing="value").

Two renderers produce the same pixels:
- fast (default): a glyph atlas per font size, rendered once with Pillow, and images
  composed for a whole batch by gathering glyph tiles by digit code (numpy, or torch on
  any device); no per-event Python loop.
- pillow (``backend="pillow"`` or ``render_reference``): one Pillow image per event,
  ``ImageDraw.text`` per character at the same integer positions and fixed pitch, with
  strings from Python's own float formatting. It is the baseline that the fast path is
  tested against (pixel-exact) and timed against.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.core.errors import ConfigError
from benchmarks.core.limits import MAX_IMAGE_SIZE
from benchmarks.core.params import NONE, Param, Rule, integer, one_of
from benchmarks.core.weights import missing_mask

from .base import ImageEncoder, unknown
from .font import draw_glyph, find_font, glyph_atlas, glyph_metrics, glyph_pair_rows, load_font
from .layout import TextBox, equal_text_layout, variable_text_layout
from .registry import register_encoder

DIGITS = "0123456789"
MINUS, POINT, BLANK = 10, 11, 12
BASE_CHARSET = DIGITS + "-. "
LAYOUTS = ("equal", "variable")
BACKENDS = ("fast", "pillow")
MAX_DECIMALS = 3  # decimals="auto" tries 3, 2, 1, 0


_SPLIT = 134217729.0  # 2**27 + 1: Dekker's splitter for float64


def round_scaled(a, scale: float, xp):
    """round(a * scale) of the exact product, ties to even: what Python's f"{a:.{d}f}"
    prints (scale = 10**d, a >= 0).

    rint(fl(a * scale)) alone goes wrong when the float product lands exactly on a .5 tie
    that the exact product is not on (1.4650000000000001 * 100 -> 146.5 -> 146, Python
    prints 1.47), common when data carry one decimal more than printed. There the exact
    product's rounding error (Dekker's two-product, exact in IEEE arithmetic; scale is
    below 2**27 so it needs no split) decides. xp is numpy or torch: same operations.
    """
    p = a * scale
    r = xp.round(p) if xp is not np else np.rint(p)
    with np.errstate(invalid="ignore"):  # inf - inf: not a tie
        tie = xp.abs(p - r) == 0.5
    if xp is np:
        if not tie.any():
            return r
        idx = np.nonzero(tie)
        a, p = a[idx], p[idx]
    c = _SPLIT * a
    hi = c - (c - a)
    err = (hi * scale - p) + (a - hi) * scale  # a * scale - p, exactly
    if xp is np:
        r[idx] = np.where(err > 0, p + 0.5, np.where(err < 0, p - 0.5, r[idx]))
        return r
    fixed = xp.where(err > 0, p + 0.5, xp.where(err < 0, p - 0.5, r))
    return xp.where(tie, fixed, r)


def _marker_ok(v: Any) -> bool:
    return isinstance(v, str) and bool(v) and v.isprintable() and " " not in v and len(v) <= 4


def _grid_ok(v: Any) -> bool:
    return v in ("auto", "square") or (isinstance(v, (tuple, list)) and len(v) == 2
                                      and all(isinstance(n, (int, np.integer)) and n > 0 for n in v))


class TextEncoder(ImageEncoder):
    """SuperTML: each feature's value as text in its own cell (see the module docstring)."""

    _common = ImageEncoder.PARAMS
    PARAMS = {
        "layout": Param("equal", unknown(*LAYOUTS),
                        "equal (SuperTML_EF) or variable (SuperTML_VF, needs importances: y at fit or importances=)"),
        "size": _common["size"],
        "decimals": Param(3, (integer(0, 6) | one_of("auto")).named("0..6 or 'auto'"),
                          "digits after the decimal point, or 'auto' (the most, up to 3, that fit)"),
        "channels": _common["channels"],
        "order": _common["order"].but(default=None),
        "missing": _common["missing"].but(
            rule=one_of("marker", "blank", "value").says("{owner}: unknown missing={value!r}; use marker, blank, value"),
            doc="marker (the marker text), blank, or value (the sentinel printed as a number)"),
        "missing_value": _common["missing_value"],
        "marker": Param("NA", Rule("1-4 printable characters", _marker_ok, ("", "a b", "12345")),
                        "the text drawn for missing values with missing='marker'"),
        "dtype": _common["dtype"],
        "font_path": Param(None, doc="a TrueType font (None: DejaVu Sans Mono, see font.find_font)"),
        "min_font": Param(5, integer(1, MAX_IMAGE_SIZE).named(f"an integer from 1 to {MAX_IMAGE_SIZE}"),
                          "smallest font size (px) a layout may use; below it fit raises ConfigError"),
        "grid": Param("auto", Rule("'auto', 'square' or (rows, cols)", _grid_ok, ("round", (0, 2))),
                      "equal layout's grid: auto (largest font), square, or (rows, cols)"),
        "int_digits": Param(None, (integer(1, 12) | NONE).named("1..12"),
                            "integer digit slots for every feature (None: from the training range)"),
        "max_int_digits": Param(7, integer(1, 12).named("1..12"), "cap on the fitted integer digits (larger values clip)"),
        "backend": Param("fast", unknown(*BACKENDS), "fast, or pillow (the per-event reference renderer)"),
        "importances": _common["importances"],
        "random_state": _common["random_state"],
        "n_jobs": _common["n_jobs"],
    }
    del _common

    @classmethod
    def param_owner(cls) -> str:
        return "text"

    def check_params(self) -> None:
        super().check_params()
        if self.missing == "value" and self.missing_value is None:
            raise ConfigError("text: missing='value' prints missing_value, which is None")
        find_font(self.font_path)  # a bad font_path fails here, at construction

    def _needs_importances(self) -> bool:
        return self.layout == "variable"

    def _default_order(self) -> str:
        return "importance" if self.layout == "variable" else "as-is"

    # ----------------------------------------------------------------- fitting
    def _fit(self, X: np.ndarray, missing: np.ndarray) -> None:
        self.font_ = find_font(self.font_path)
        extra = "".join(dict.fromkeys(c for c in self.marker if c not in BASE_CHARSET))
        self.charset_ = BASE_CHARSET + extra
        self._marker_codes = np.array([self.charset_.index(c) for c in self.marker], dtype=np.uint8)
        cols = X[:, self.order_]
        miss = missing[:, self.order_]
        if self.missing == "value":  # the sentinel is a value like any other here
            cols = np.where(np.isnan(cols), self.missing_value, cols)
            miss = np.zeros_like(miss)
        present = np.where(miss, 0.0, cols)
        present = np.where(np.isfinite(present), present, 0.0)
        self.signed_ = (np.where(miss, 0.0, cols) < 0).any(axis=0)
        maxabs = np.abs(present).max(axis=0)

        candidates = range(MAX_DECIMALS, -1, -1) if self.decimals == "auto" else [int(self.decimals)]
        error = None
        for d in candidates:
            self.decimals_ = d
            self.int_digits_ = self._int_digits(maxabs, d)
            self.nchars_ = self.signed_.astype(int) + self.int_digits_ + (d > 0) + d
            if self.missing == "marker":
                self.nchars_ = np.maximum(self.nchars_, len(self.marker))
            try:
                self.boxes_ = self._layout()
                break
            except ConfigError as exc:
                error = exc
        else:
            raise error
        scale = 10 ** self.decimals_
        self._qmax = (10 ** (self.int_digits_ + self.decimals_) - 1).astype(np.float64)
        self._scale = float(scale)
        self._slots = int(self.nchars_.max() + self.nchars_.max() % 2)  # even: pairs of slots

    def _int_digits(self, maxabs: np.ndarray, d: int) -> np.ndarray:
        if self.int_digits is not None:
            return np.full(maxabs.shape, int(self.int_digits), dtype=np.int64)
        ipart = np.floor(np.rint(maxabs * 10.0 ** d) / 10.0 ** d)
        digits = np.ones(maxabs.shape, dtype=np.int64)
        for i in range(1, self.max_int_digits):
            digits += ipart >= 10.0 ** i
        return digits

    def _metrics(self, size: int) -> tuple[int, int]:
        m = glyph_metrics(self.font_, size, self.charset_)
        return m.pitch, m.height

    def _layout(self) -> list[TextBox]:
        feats = [int(f) for f in self.order_]
        nch = [int(n) for n in self.nchars_]
        if self.layout == "equal":
            grid = tuple(self.grid) if isinstance(self.grid, (tuple, list)) else self.grid
            return equal_text_layout(feats, nch, self.size, self._metrics, self.min_font, grid)
        imp = self.importances_[self.order_]
        top = imp.max()
        weights = np.sqrt(imp / top) if top > 0 else np.ones(len(feats))
        return variable_text_layout(feats, nch, weights, self.size, self._metrics, self.min_font)

    # ----------------------------------------------------------------- codes
    def codes(self, X: np.ndarray) -> np.ndarray:
        """Glyph codes (n, K, slots) for the K drawn features, right-aligned (uint8).

        Indices into ``charset_``: '0'-'9' -> 0-9, '-' -> 10, '.' -> 11, ' ' -> 12, then
        the marker's other characters.
        """
        V = X[:, self.order_]
        miss = missing_mask(V, self.missing_value)
        if self.missing == "value":
            V = np.where(np.isnan(V), self.missing_value, V)
            miss[:] = False
        V = np.where(miss, 0.0, V)
        sign = np.signbit(V)
        neg = sign & self.signed_
        q = round_scaled(np.abs(V), self._scale, np)
        np.minimum(q, self._qmax, out=q)
        q[sign & ~self.signed_] = 0.0  # never-negative features: negatives clip to 0
        q = q.astype(np.int64)
        return self._digits(q, neg, miss, np)

    def _digits(self, q, neg, miss, xp):
        """Shared by numpy and torch (xp): integer q = round(|v| * 10^d) -> slot codes."""
        d, slots = self.decimals_, self._slots
        n, k = q.shape
        is_torch = xp is not np
        if is_torch:
            codes = xp.full((n, k, slots), BLANK, dtype=xp.uint8, device=q.device)
        else:
            codes = np.full((n, k, slots), BLANK, dtype=np.uint8)
        ipart = q // 10 ** d
        nd = xp.ones_like(ipart) if is_torch else np.ones_like(ipart)
        for i in range(1, int(self.int_digits_.max())):
            nd += ipart >= 10 ** i
        for r in range(slots):  # r-th slot from the right
            col = slots - 1 - r
            if r < d:
                codes[:, :, col] = (q // 10 ** r) % 10
            elif r == d and d > 0:
                codes[:, :, col] = POINT
            else:
                i = r - d - (d > 0)  # integer digit index from the right
                digit = (ipart // 10 ** i) % 10
                val = xp.where(nd > i, digit, xp.where((nd == i) & neg, MINUS, BLANK))
                codes[:, :, col] = val
        if self.missing == "marker":
            m = len(self.marker)
            mark = self._marker_codes
            if is_torch:
                mark = xp.as_tensor(mark, device=q.device)
            fill = codes[:, :, slots - m :]
            fill[miss] = mark
            codes[:, :, : slots - m][miss] = BLANK
        elif self.missing == "blank":
            codes[miss] = BLANK
        return codes

    # ----------------------------------------------------------------- rendering
    def _prepare(self, X: np.ndarray):
        """Per box, the codes of pairs of character slots: (n, nch / 2) indices into the
        box's pair atlas (an odd-length text gets one blank slot in front, not drawn)."""
        if self.backend == "pillow":
            return X
        codes = self.codes(X)
        g = len(self.charset_)
        pair_codes = codes[:, :, 0::2].astype(np.intp)
        pair_codes *= g
        pair_codes += codes[:, :, 1::2]
        half = self._slots // 2
        return [pair_codes[:, j, half - (b.nch + 1) // 2 :] for j, b in enumerate(self.boxes_)]

    def _render(self, prep, lo: int, hi: int, out: np.ndarray) -> None:
        if self.backend == "pillow":
            out[...] = render_reference(self, prep[lo:hi])
            return
        out.fill(0)
        n = hi - lo
        for b, pairs in zip(self.boxes_, prep):
            rows = glyph_pair_rows(self.font_, b.font_size, self.charset_)  # (h, g*g, 2p)
            # (h, n, pairs * 2p): row r of every event's text is contiguous, so the copy into
            # the image moves whole text rows rather than single glyph rows
            tiles = np.take(rows, pairs[lo:hi], axis=1, mode="clip").reshape(b.height, n, -1)
            skip = (b.nch % 2) * b.pitch  # the padding slot is not drawn
            out[:, b.y : b.y + b.height, b.x : b.x + b.width] = tiles[:, :, skip:].transpose(1, 0, 2)

    def _encode_torch(self, X, torch):
        if self.backend == "pillow":
            raise ConfigError("text: backend='pillow' has no torch path; use backend='fast'")
        cache = self._device_cache(X.device, lambda dev: self._torch_tables(dev, torch))
        V = X[:, cache["order"]]
        miss = torch.isnan(V)
        if self.missing_value is not None:
            miss |= V == self.missing_value
        if self.missing == "value":
            V = torch.where(torch.isnan(V), torch.full_like(V, self.missing_value), V)
            miss = torch.zeros_like(miss)
        V = torch.where(miss, torch.zeros_like(V), V)
        sign = torch.signbit(V)
        neg = sign & cache["signed"]
        q = round_scaled(V.abs(), self._scale, torch)
        q = torch.minimum(q, cache["qmax"])
        q = torch.where(sign & ~cache["signed"], torch.zeros_like(q), q).to(torch.int64)
        codes = self._digits(q, neg, miss, torch).long()
        n = X.shape[0]
        out = torch.zeros((n, self.size, self.size), dtype=torch.uint8, device=X.device)
        for j, b in enumerate(self.boxes_):
            tiles = cache["atlas"][b.font_size][codes[:, j, self._slots - b.nch :]]
            out[:, b.y : b.y + b.height, b.x : b.x + b.width] = (
                tiles.permute(0, 2, 1, 3).reshape(n, b.height, b.width)
            )
        return out

    def _torch_tables(self, device, torch) -> dict[str, Any]:
        sizes = sorted({b.font_size for b in self.boxes_})
        return {
            "order": torch.as_tensor(self.order_, device=device),
            "signed": torch.as_tensor(self.signed_, device=device),
            "qmax": torch.as_tensor(self._qmax, device=device),
            "atlas": {s: torch.as_tensor(np.array(glyph_atlas(self.font_, s, self.charset_)),
                                         device=device) for s in sizes},
        }

    def texts(self, x: np.ndarray) -> dict[int, str]:
        """The strings drawn for one event (Python float formatting): feature -> text,
        right-aligned in the feature's slots, in drawing order."""
        return {b.feature: self._format(float(x[b.feature]), j).rjust(b.nch)
                for j, b in enumerate(self.boxes_)}

    def _format(self, v: float, j: int) -> str:
        """One value as text, by Python's formatting: the reference the fast path matches."""
        d = self.decimals_
        if math.isnan(v) or (self.missing_value is not None and v == self.missing_value):
            if self.missing != "value":
                return self.marker if self.missing == "marker" else ""
            v = float(self.missing_value)
        signed = bool(self.signed_[j])
        neg = math.copysign(1.0, v) < 0
        if neg and not signed:
            return f"{0.0:.{d}f}"
        m = int(self.int_digits_[j])
        s = f"{abs(v):.{d}f}"
        if not math.isfinite(v) or len(s.split(".")[0]) > m:
            s = "9" * m + ("." + "9" * d if d else "")
        return ("-" if neg else "") + s


def render_reference(encoder: TextEncoder, X: np.ndarray) -> np.ndarray:
    """The per-event Pillow renderer: (n, H, W) uint8, one ImageDraw per event.

    Draws each character with ``ImageDraw.text`` at the tile positions of the fitted
    layout (fixed pitch), the strings coming from Python's float formatting.
    """
    encoder._check_fitted()
    X = encoder._as_table(X)
    size = encoder.size
    fonts = {b.font_size: load_font(encoder.font_, b.font_size) for b in encoder.boxes_}
    metrics = {s: glyph_metrics(encoder.font_, s, encoder.charset_) for s in fonts}
    out = np.empty((X.shape[0], size, size), dtype=np.uint8)
    for i, x in enumerate(X):
        img = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(img)
        for b, text in zip(encoder.boxes_, encoder.texts(x).values()):
            m, font = metrics[b.font_size], fonts[b.font_size]
            for k, ch in enumerate(text):
                if ch != " ":
                    draw_glyph(draw, b.x + k * b.pitch, b.y, ch, font, m)
        out[i] = np.asarray(img)
    return out


register_encoder("text", description="SuperTML: feature values printed as text (layouts equal/variable)")(TextEncoder)
