"""`encode`: example SuperTML images of real events, for a person to look at."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets import load_dataset, make_splits


def encode_examples(dataset: str, encoder: str, out: Path, size: int = 224, n: int = 16,
                    data: str | None = None, target: str | None = None, seed: int = 0,
                    **encoder_options) -> list[Path]:
    """Fit the encoder on the training split, draw `n` validation events (classes interleaved)."""
    from encoders import create_encoder
    from encoders.examples import write_examples

    options = {}
    if data is not None:
        options["data"] = data
    if target is not None:
        options["target"] = target
    ds = load_dataset(dataset, **options)
    splits = make_splits(ds, seed)
    enc = create_encoder(encoder, size=size, **encoder_options)
    enc.fit(splits.train.X, splits.train.y, sample_weight=splits.train.weights, feature_names=splits.feature_names)
    val = splits.val
    # Round-robin over classes so every class shows up among the examples.
    per_class = [np.flatnonzero(val.y == c) for c in range(ds.n_classes)]
    order = [idx[k] for k in range(max(map(len, per_class))) for idx in per_class if k < len(idx)][:n]
    images = enc.transform(val.X[order])
    return write_examples(images, val.y[order], Path(out), class_names=list(ds.class_names), n=len(order))
