"""The ``encode`` command: example SuperTML images of real events, for a person to look at."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets import load_dataset, make_splits
from benchmarks.core.errors import ConfigError
from benchmarks.core.files import atomic_write, staged_directory
from encoders import create_encoder, list_encoders
from encoders.examples import to_uint8, contact_sheet, pick_examples, write_examples


def _load(dataset: str, data: str | None, target: str | None, seed: int):
    options = {}
    if data is not None:
        options["data"] = data
    if target is not None:
        options["target"] = target
    ds = load_dataset(dataset, **options)
    return ds, make_splits(ds, seed)


def encode_examples(dataset: str, encoder: str, out: Path, size: int = 224, n: int = 16,
                    data: str | None = None, target: str | None = None, seed: int = 0,
                    **encoder_options) -> list[Path]:
    """Fit the encoder on the training split, draw `n` validation events (classes in turn).
    ``out`` gets every file or none (a full disk or an interrupt leaves it as it was)."""
    if encoder == "all":
        if encoder_options:
            raise ConfigError(f"encoder options ({', '.join(encoder_options)}) apply to one encoder, not to all")
        return encode_gallery(dataset, out, size, n, data, target, seed)
    ds, splits = _load(dataset, data, target, seed)
    enc = create_encoder(encoder, size=size, missing_value=ds.missing_value, **encoder_options)
    enc.fit(splits.train.X, splits.train.y, sample_weight=splits.train.weights, feature_names=splits.feature_names)
    val = splits.val
    order = pick_examples(val.y, n)
    images = enc.transform(val.X[order])
    with staged_directory(out) as stage:
        paths = write_examples(images, val.y[order], stage, class_names=list(ds.class_names), n=len(order))
    return [Path(out) / p.relative_to(stage) for p in paths]


def encode_gallery(dataset: str, out: Path, size: int = 224, n: int = 4,
                   data: str | None = None, target: str | None = None, seed: int = 0) -> list[Path]:
    """Every registered encoder (its defaults), each fitted on the same training split, drawing
    the same `n` validation events: one row per encoder in ``gallery.png``, and each
    encoder's examples in a folder of its own."""
    ds, splits = _load(dataset, data, target, seed)
    val = splits.val
    order = pick_examples(val.y, n)
    names = [str(c) for c in ds.class_names]
    paths, tiles, captions = [], [], []
    with staged_directory(out) as stage:
        for name in list_encoders():
            enc = create_encoder(name, size=size, missing_value=ds.missing_value)
            enc.fit(splits.train.X, splits.train.y, sample_weight=splits.train.weights,
                    feature_names=splits.feature_names)
            images = enc.transform(val.X[order])
            paths += write_examples(images, val.y[order], stage / name, class_names=names, n=len(order))
            tiles.append(to_uint8(images))
            captions += [f"{name}: {names[int(c)] if int(c) < len(names) else c}" for c in val.y[order]]
        sheet = contact_sheet(np.concatenate(tiles), captions, cols=len(order))
        paths.append(atomic_write(stage / "gallery.png", lambda fh: sheet.save(fh, format="PNG")))
    return [Path(out) / p.relative_to(stage) for p in paths]
