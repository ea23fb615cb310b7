"""Fonts and glyph atlases for the SuperTML text encoder.

A glyph is drawn once per font size into a tile of a fixed ``pitch`` x ``height``; the
fast text path composes images from these tiles and the Pillow reference draws the same
characters at the same integer positions, so both agree pixel for pixel.
"""
from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from benchmarks.core.errors import ConfigError

# Preference order: a monospace font keeps a fixed-width number in fixed character slots.
_FONT_FILES = ("DejaVuSansMono.ttf", "DejaVuSans.ttf")
DEFAULT_FONT = "default"  # Pillow's built-in font (the last resort)


def find_font(font_path: str | os.PathLike | None = None) -> str:
    """Path of the TrueType font to use, or ``"default"`` for Pillow's built-in font.

    Order: `font_path` if given; DejaVu Sans Mono (then DejaVu Sans) bundled with
    matplotlib; the same under /usr/share/fonts; else Pillow's built-in font, with a warning.
    """
    if font_path is not None:
        path = Path(font_path)
        if not path.is_file():
            raise ConfigError(f"font_path {str(font_path)!r} is not a file")
        return str(path)
    candidates: list[Path] = []
    try:
        import matplotlib

        ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        candidates += [ttf / name for name in _FONT_FILES]
    except ImportError:  # matplotlib is a core dependency, but stay usable without it
        pass
    for name in _FONT_FILES:
        for root in ("/usr/share/fonts", "/usr/local/share/fonts"):
            if os.path.isdir(root):
                candidates += sorted(Path(root).rglob(name))
    for path in candidates:
        if path.is_file():
            return str(path)
    warnings.warn(
        "DejaVu Sans Mono not found (matplotlib fonts, /usr/share/fonts): falling back to "
        "Pillow's built-in font; text images will differ from runs that have DejaVu.",
        stacklevel=2,
    )
    return DEFAULT_FONT


@functools.lru_cache(maxsize=512)
def load_font(path: str, size: int):
    """A Pillow font at `size` pixels (cached; fonts are immutable)."""
    if path == DEFAULT_FONT:
        try:
            return ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1: one bitmap size only
            return ImageFont.load_default()
    try:
        # BASIC layout: one glyph at a time is all we draw, and it needs no libraqm.
        return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        raise ConfigError(f"cannot read font {path!r}: {exc}") from None


@dataclass(frozen=True)
class GlyphMetrics:
    """Where a font size's glyphs go: every glyph drawn at (x + ox, y + oy) has all its ink
    inside the ``pitch`` x ``height`` tile whose top-left corner is (x, y)."""

    size: int
    pitch: int
    height: int
    ox: int
    oy: int


@functools.lru_cache(maxsize=4096)
def glyph_metrics(path: str, size: int, charset: str) -> GlyphMetrics:
    """Tile geometry for `charset` at `size`: the union of the glyphs' ink boxes.

    The pitch is at least the font's advance (so text looks normally spaced) and at least
    the widest ink box (so neighbouring tiles never overlap and pasting equals drawing).
    """
    font = load_font(path, size)
    boxes = [font.getbbox(ch) for ch in charset if ch != " "]
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[2] for b in boxes)
    y1 = max(b[3] for b in boxes)
    ox, oy = -min(0, x0), -y0
    advance = int(round(font.getlength("0")))
    pitch = max(advance, x1 + ox, 1)
    return GlyphMetrics(size, pitch, max(y1 + oy, 1), ox, oy)


def draw_glyph(draw: ImageDraw.ImageDraw, x: int, y: int, ch: str, font, m: GlyphMetrics) -> None:
    """Draw one character into the tile at (x, y): the one call both paths share."""
    draw.text((x + m.ox, y + m.oy), ch, fill=255, font=font)


@functools.lru_cache(maxsize=512)
def _atlas(path: str, size: int, charset: str) -> np.ndarray:
    m = glyph_metrics(path, size, charset)
    font = load_font(path, size)
    tiles = np.zeros((len(charset), m.height, m.pitch), dtype=np.uint8)
    for i, ch in enumerate(charset):
        if ch == " ":
            continue
        img = Image.new("L", (m.pitch, m.height), 0)
        draw_glyph(ImageDraw.Draw(img), 0, 0, ch, font, m)
        tiles[i] = np.asarray(img)
    tiles.setflags(write=False)
    return tiles


def glyph_atlas(path: str, size: int, charset: str) -> np.ndarray:
    """(len(charset), height, pitch) uint8 bitmaps, white on black; ' ' is blank."""
    return _atlas(path, size, charset)


@functools.lru_cache(maxsize=128)
def glyph_pair_rows(path: str, size: int, charset: str) -> np.ndarray:
    """Two-character tiles as (height, glyphs**2, 2 * pitch), index a * glyphs + b.

    Gathering pairs halves the number of (small) copies per text row; tiles never overlap,
    so side by side equals drawing both.
    """
    atlas = _atlas(path, size, charset)
    g, h, p = atlas.shape
    pairs = np.empty((h, g, g, 2 * p), dtype=np.uint8)
    pairs[..., :p] = atlas.transpose(1, 0, 2)[:, :, None, :]
    pairs[..., p:] = atlas.transpose(1, 0, 2)[:, None, :, :]
    pairs = pairs.reshape(h, g * g, 2 * p)
    pairs.setflags(write=False)
    return pairs
