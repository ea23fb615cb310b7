"""Example images for people: a few encoded events as PNGs and one labelled contact sheet."""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.core.errors import DataError
from benchmarks.core.files import atomic_write
from benchmarks.core.naming import safe_name

from .font import find_font, load_font

_TILE = 160  # contact-sheet tiles are scaled (nearest neighbour) to at least this size
_STRIP = 18  # label strip height under each tile


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(n, H, W) or (n, C, H, W), uint8 or float in [0, 1] -> (n, H, W, C') uint8."""
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[1] not in (1, 3):
        raise DataError(f"images must be (n, H, W) or (n, 1|3, H, W), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(np.asarray(arr, dtype=np.float64) * 255), 0, 255).astype(np.uint8)
    if arr.shape[1] == 3 and all(np.array_equal(arr[:, 0], arr[:, c]) for c in (1, 2)):
        arr = arr[:, :1]  # replicated grey channels: save as greyscale
    return arr.transpose(0, 2, 3, 1)


def pick_examples(labels: np.ndarray, n: int) -> np.ndarray:
    """Up to n event indices, the classes taken in turn (first events of each), deterministic."""
    labels = np.asarray(labels)
    queues = [np.flatnonzero(labels == c).tolist() for c in np.unique(labels)]
    picked: list[int] = []
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return np.asarray(picked, dtype=np.int64)


def _save_png(image: Image.Image, path: Path) -> Path:
    return atomic_write(path, lambda fh: image.save(fh, format="PNG"))


def _class_name(label, class_names: Sequence[str] | None) -> str:
    integer = np.issubdtype(type(label), np.integer)
    if class_names is not None and integer and 0 <= label < len(class_names):
        return str(class_names[label])
    return str(label)


def contact_sheet(pixels: np.ndarray, captions: Sequence[str], cols: int | None = None) -> Image.Image:
    """One grid of (n, H, W, C) uint8 images, scaled up, each captioned underneath
    (`cols` per row; default a near-square grid)."""
    h, w = pixels.shape[1:3]
    scale = max(1, math.ceil(_TILE / max(h, w)))
    th, tw = h * scale, w * scale
    cols = cols or math.ceil(math.sqrt(len(pixels)))
    rows = math.ceil(len(pixels) / cols)
    pad = 4
    sheet = Image.new("RGB", (cols * (tw + pad) + pad, rows * (th + _STRIP + pad) + pad), (128, 128, 128))
    draw = ImageDraw.Draw(sheet)
    font = load_font(find_font(), 12)
    for k, (tile_pixels, caption) in enumerate(zip(pixels, captions)):
        r, c = divmod(k, cols)
        x, y = pad + c * (tw + pad), pad + r * (th + _STRIP + pad)
        tile = Image.fromarray(tile_pixels.squeeze(-1) if tile_pixels.shape[-1] == 1 else tile_pixels)
        sheet.paste(tile.convert("RGB").resize((tw, th), Image.NEAREST), (x, y))
        draw.rectangle([x, y + th, x + tw - 1, y + th + _STRIP - 1], fill=(255, 255, 255))
        draw.text((x + 3, y + th + 2), caption, fill=(0, 0, 0), font=font)
    return sheet


def encoder_sheet(encoder, X: np.ndarray, y: np.ndarray, class_names: Sequence[str], n: int = 8) -> bytes:
    """A contact sheet (PNG bytes) of `n` events of X (classes in turn) as a fitted `encoder`
    draws them.

    Call it after the encoder was fitted on the training split; X may be any split,
    since encoding is a pure function after fitting.
    """
    y = np.asarray(y)
    idx = pick_examples(y, n)
    if len(idx) == 0:
        raise DataError("example images need at least one event")
    pixels = to_uint8(encoder.transform(np.asarray(X)[idx]))
    sheet = contact_sheet(pixels, [f"#{int(i)}: {_class_name(y[i], class_names)}" for i in idx])
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def write_examples(
    images: np.ndarray,
    labels: Sequence | np.ndarray | None,
    out_dir: str | Path,
    class_names: Sequence[str] | None = None,
    n: int = 16,
) -> list[Path]:
    """Write up to `n` example images (classes taken in turn) and a contact sheet.

    Returns the paths written: ``example_00_<class>.png``, ... and last
    ``contact_sheet.png`` (a grid of the examples scaled up, each labelled with its index
    and class).
    """
    pixels = to_uint8(images)
    total = pixels.shape[0]
    if total == 0:
        raise DataError("no images to write")
    labels = np.zeros(total, dtype=np.int64) if labels is None else np.asarray(labels)
    if labels.shape != (total,):
        raise DataError(f"{labels.shape[0] if labels.ndim else 0} labels for {total} images")
    if n < 1:
        raise DataError(f"n must be at least 1, got {n}")

    out = Path(out_dir)
    idx = pick_examples(labels, n)
    captions = [f"#{int(i)}: {_class_name(labels[i], class_names)}" for i in idx]
    paths = []
    for k, i in enumerate(idx):
        path = out / f"example_{k:02d}_{safe_name(_class_name(labels[i], class_names), keep='-_')}.png"
        paths.append(_save_png(Image.fromarray(pixels[i].squeeze(-1) if pixels.shape[-1] == 1 else pixels[i]), path))
    sheet = contact_sheet(pixels[idx], captions)
    paths.append(_save_png(sheet, out / "contact_sheet.png"))
    return paths
