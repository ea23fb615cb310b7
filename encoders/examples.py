"""Example images for people: a few encoded events as PNGs and one labelled contact sheet."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.core.errors import DataError

from .font import find_font, load_font

_TILE = 160  # contact-sheet tiles are scaled (nearest neighbour) to at least this size
_STRIP = 18  # label strip height under each tile


def _to_uint8(images: np.ndarray) -> np.ndarray:
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


def _pick(labels: np.ndarray, n: int) -> np.ndarray:
    """Up to n event indices, round-robin over classes (in order of appearance)."""
    classes = list(dict.fromkeys(labels.tolist()))
    queues = [np.flatnonzero(labels == c).tolist() for c in classes]
    picked: list[int] = []
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return np.asarray(picked, dtype=np.int64)


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
    pixels = _to_uint8(images)
    total = pixels.shape[0]
    if total == 0:
        raise DataError("no images to write")
    labels = np.zeros(total, dtype=np.int64) if labels is None else np.asarray(labels)
    if labels.shape != (total,):
        raise DataError(f"{labels.shape[0] if labels.ndim else 0} labels for {total} images")
    if n < 1:
        raise DataError(f"n must be at least 1, got {n}")

    def name(label) -> str:
        integer = np.issubdtype(type(label), np.integer)
        if class_names is not None and integer and 0 <= label < len(class_names):
            return str(class_names[label])
        return str(label)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    idx = _pick(labels, n)
    paths = []
    for k, i in enumerate(idx):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name(labels[i]))
        path = out / f"example_{k:02d}_{safe}.png"
        Image.fromarray(pixels[i].squeeze(-1) if pixels.shape[-1] == 1 else pixels[i]).save(path)
        paths.append(path)

    h, w = pixels.shape[1:3]
    scale = max(1, math.ceil(_TILE / max(h, w)))
    th, tw = h * scale, w * scale
    cols = math.ceil(math.sqrt(len(idx)))
    rows = math.ceil(len(idx) / cols)
    pad = 4
    sheet = Image.new("RGB", (cols * (tw + pad) + pad, rows * (th + _STRIP + pad) + pad), (128, 128, 128))
    draw = ImageDraw.Draw(sheet)
    font = load_font(find_font(), 12)
    for k, i in enumerate(idx):
        r, c = divmod(k, cols)
        x, y = pad + c * (tw + pad), pad + r * (th + _STRIP + pad)
        tile = Image.fromarray(pixels[i].squeeze(-1) if pixels.shape[-1] == 1 else pixels[i])
        sheet.paste(tile.convert("RGB").resize((tw, th), Image.NEAREST), (x, y))
        draw.rectangle([x, y + th, x + tw - 1, y + th + _STRIP - 1], fill=(255, 255, 255))
        draw.text((x + 3, y + th + 2), f"#{int(i)}: {name(labels[i])}", fill=(0, 0, 0), font=font)
    sheet_path = out / "contact_sheet.png"
    sheet.save(sheet_path)
    paths.append(sheet_path)
    return paths
