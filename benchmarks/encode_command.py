"""The ``encode`` command: example SuperTML images of real events, for a person to look at."""
from __future__ import annotations

from pathlib import Path

from datasets import load_dataset, make_splits
from encoders import create_encoder
from encoders.examples import pick_examples, write_examples


def encode_examples(dataset: str, encoder: str, out: Path, size: int = 224, n: int = 16,
                    data: str | None = None, target: str | None = None, seed: int = 0,
                    **encoder_options) -> list[Path]:
    """Fit the encoder on the training split, draw `n` validation events (classes in turn)."""
    options = {}
    if data is not None:
        options["data"] = data
    if target is not None:
        options["target"] = target
    ds = load_dataset(dataset, **options)
    splits = make_splits(ds, seed)
    enc = create_encoder(encoder, size=size, missing_value=ds.missing_value, **encoder_options)
    enc.fit(splits.train.X, splits.train.y, sample_weight=splits.train.weights, feature_names=splits.feature_names)
    val = splits.val
    order = pick_examples(val.y, n)
    images = enc.transform(val.X[order])
    return write_examples(images, val.y[order], Path(out), class_names=list(ds.class_names), n=len(order))
