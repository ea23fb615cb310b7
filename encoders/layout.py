"""Where each feature goes in the image: grid, shelf packing and pixel index maps.

Pure geometry, no drawing. Text layouts place fixed-size text boxes (one per feature);
pixel layouts assign every pixel to a feature (or to the background).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from benchmarks.core.errors import ConfigError


@dataclass(frozen=True)
class TextBox:
    """One feature's text: `nch` character tiles of `pitch` x `height` from (y, x)."""

    feature: int
    y: int
    x: int
    font_size: int
    nch: int
    pitch: int
    height: int

    @property
    def width(self) -> int:
        return self.nch * self.pitch


def grid_shape(n: int, rows: int | None = None, cols: int | None = None) -> tuple[int, int]:
    """A near-square grid with at least `n` cells (cols >= rows)."""
    if rows is None and cols is None:
        cols = math.ceil(math.sqrt(n))
    if rows is None:
        rows = math.ceil(n / cols)
    if cols is None:
        cols = math.ceil(n / rows)
    return rows, cols


# --------------------------------------------------------------------------- text


Metrics = Callable[[int], tuple[int, int]]  # font size -> (pitch, height) of a glyph tile


def equal_text_layout(
    features: Sequence[int],
    nchars: Sequence[int],
    size: int,
    metrics: Metrics,
    min_font: int,
    grid: str | tuple[int, int] = "auto",
    pad: int = 1,
) -> list[TextBox]:
    """SuperTML_EF: one font size for all features, one grid cell each.

    The font is the largest that fits the longest text in a cell with `pad` pixels to
    spare. grid="auto" tries every column count and keeps the grid giving the largest font
    (long numbers favour wide cells: 30 HiggsML values of 8 characters at 224 px get 15 x 2
    cells and an 18 px font rather than 5 x 6 cells and a 6 px font);
    grid="square" is the near-square grid; a (rows, cols) pair fixes it. Every text is
    right-aligned in the box of the longest text, so decimal points line up, and that box is
    centred in its cell.
    """
    n = len(features)
    width = max(nchars)
    if grid == "auto":
        shapes = [grid_shape(n, cols=c) for c in range(1, n + 1)]
    elif grid == "square":
        shapes = [grid_shape(n)]
    else:
        rows, cols = grid
        if rows * cols < n:
            raise ConfigError(f"grid {rows}x{cols} has fewer than {n} cells")
        shapes = [(rows, cols)]
    best = None
    for rows, cols in shapes:
        ch, cw = size // rows, size // cols
        font = _largest_font(lambda s: width * metrics(s)[0] + pad <= cw and metrics(s)[1] + pad <= ch, size)
        if font >= min_font and (best is None or font > best[0]):
            best = (font, rows, cols)
    if best is None:
        raise ConfigError(
            f"text layout='equal': {n} features of up to {width} characters do not fit a "
            f"{size}x{size} image with a font of at least {min_font} px; use a larger size, "
            "fewer decimals (decimals=1 or decimals='auto'), fewer features or a smaller min_font"
        )
    font, rows, cols = best
    pitch, height = metrics(font)
    ch, cw = size // rows, size // cols
    oy, ox = (size - rows * ch) // 2, (size - cols * cw) // 2  # centre the grid
    box_w = width * pitch
    boxes = []
    for i, (feat, nch) in enumerate(zip(features, nchars)):
        r, c = divmod(i, cols)
        y = oy + r * ch + (ch - height) // 2
        x = ox + c * cw + (cw - box_w) // 2 + (width - nch) * pitch
        boxes.append(TextBox(int(feat), y, x, font, int(nch), pitch, height))
    return boxes


def variable_text_layout(
    features: Sequence[int],
    nchars: Sequence[int],
    weights: Sequence[float],
    size: int,
    metrics: Metrics,
    min_font: int,
) -> list[TextBox]:
    """SuperTML_VF: font size (and so cell area) grows with feature importance.

    Feature k gets font clip(floor(S * weights[k]), min_font, cap_k), weights being
    sqrt(importance / max importance) so a text box's area is roughly proportional to
    importance, and cap_k the largest font whose text fits the image width. Boxes are
    packed in the given order (most important first by default) into shelves: left to
    right, half a character (at least 2 px) apart, a new shelf (1 px below) when a row is full, each shelf
    as tall as its tallest box, each shelf centred horizontally and the stack centred
    vertically. S is the largest scale for which everything fits (binary search), so the
    layout is deterministic; once the top features reach their cap, S keeps growing the
    others, so the image is filled.
    """
    weights = np.asarray(weights, dtype=np.float64)
    nchars = [int(n) for n in nchars]
    caps = [_largest_font(lambda s, n=n: _box(n, s, metrics)[0] <= size, size) for n in nchars]

    def fonts_at(scale: int) -> list[int]:
        return [max(min_font, min(cap, int(math.floor(scale * w)))) for w, cap in zip(weights, caps)]

    if min(caps) < min_font or _pack(nchars, fonts_at(min_font), size, metrics) is None:
        raise ConfigError(
            f"text layout='variable': {len(features)} features do not fit a {size}x{size} "
            f"image with a font of at least {min_font} px; use a larger size, fewer decimals "
            "(decimals=1 or decimals='auto'), fewer features or a smaller min_font"
        )
    top = int(math.ceil(size / max(weights.min(), 1e-3)))
    scale = _largest_font(lambda s: _pack(nchars, fonts_at(s), size, metrics) is not None, top)
    scale = max(scale, min_font)
    fonts = fonts_at(scale)
    shelves = _pack(nchars, fonts, size, metrics)
    total_h = sum(h for h, _ in shelves)
    y = (size - total_h + 1) // 2  # the last shelf's 1 px spacing may hang over the edge
    boxes = []
    for shelf_h, items in shelves:
        last = items[-1][0]  # the row's width without the spacing after its last box
        row_w = sum(w for _, w, _ in items) - items[-1][1] + _box(nchars[last], fonts[last], metrics)[2]
        x = (size - row_w) // 2
        for k, w, h in items:
            pitch, height = metrics(fonts[k])
            y_k = y + (shelf_h - h) // 2
            boxes.append(TextBox(int(features[k]), y_k, x, fonts[k], nchars[k], pitch, height))
            x += w
        y += shelf_h
    # keep the features' order (not the shelves'): codes are computed in that order
    rank = {int(f): i for i, f in enumerate(features)}
    return sorted(boxes, key=lambda b: rank[b.feature])


def _box(nch: int, font: int, metrics: Metrics) -> tuple[int, int, int]:
    """(width with spacing, height with spacing, bare text width) of one text box."""
    pitch, height = metrics(font)
    return nch * pitch + max(2, pitch // 2), height + 1, nch * pitch


def _pack(nchars, fonts, size, metrics):
    """Next-fit shelf packing: [(shelf height, [(k, w, h), ...]), ...], None on overflow."""
    shelves: list[tuple[int, list]] = []
    row: list = []
    row_w = row_h = used_h = 0
    for k, (nch, font) in enumerate(zip(nchars, fonts)):
        w, h, bare = _box(nch, font, metrics)
        if bare > size:
            return None
        if row and row_w + bare > size:  # the last box of a row needs no spacing after it
            shelves.append((row_h, row))
            used_h += row_h
            row, row_w, row_h = [], 0, 0
        row.append((k, w, h))
        row_w += w
        row_h = max(row_h, h)
    shelves.append((row_h, row))
    used_h += row_h
    return shelves if used_h - 1 <= size else None  # the last shelf needs no spacing below


def _largest_font(fits: Callable[[int], bool], upper: int) -> int:
    """Largest s in 1..upper with fits(s) (fits is monotone in s); 0 if none."""
    lo, hi = 0, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


# --------------------------------------------------------------------------- pixels


def block_map(n: int, size: int, gap: int | None = None) -> np.ndarray:
    """(size, size) int map: square cells on a near-square grid, -1 for background.

    Cells are `gap` pixels apart (None: 1 when a cell is at least 4 px, else 0); the
    grid is centred.
    """
    rows, cols = grid_shape(n)
    cell = size // max(rows, cols)
    gap = (1 if cell >= 4 else 0) if gap is None else gap
    if cell - gap < 1:
        raise ConfigError(
            f"pixels layout='blocks': {n} features need a {rows}x{cols} grid; a {size}x{size} "
            f"image leaves {cell} px per cell, too small with gap={gap}"
        )
    m = np.full((size, size), -1, dtype=np.int64)
    oy, ox = (size - rows * cell) // 2, (size - cols * cell) // 2
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = oy + r * cell, ox + c * cell
        m[y : y + cell - gap, x : x + cell - gap] = i
    return m


def bar_map(n: int, size: int, gap: int | None = None, orientation: str = "vertical") -> np.ndarray:
    """(size, size) int map: one full-length bar per feature, -1 for background."""
    width = size // n
    gap = (1 if width >= 4 else 0) if gap is None else gap
    if width - gap < 1:
        raise ConfigError(
            f"pixels layout='bars': {n} features need bars of at least {1 + gap} px "
            f"(gap={gap}); a {size}x{size} image gives {width} px"
        )
    line = np.full(size, -1, dtype=np.int64)
    off = (size - n * width) // 2
    for i in range(n):
        line[off + i * width : off + (i + 1) * width - gap] = i
    m = np.broadcast_to(line, (size, size)).copy()
    return m if orientation == "vertical" else m.T.copy()
