"""Seeded, stratified splits with per-split weight renormalisation."""
from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from benchmarks.core.errors import ConfigError, DataError
from benchmarks.core.weights import renormalise

from .base import Dataset, Part, Splits


def _stratified(idx: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """Split `idx` into (rest, taken) with `fraction` taken, stratified on y[idx]."""
    if not 0 < fraction < 1:
        raise ConfigError(f"split fraction must be in (0, 1), got {fraction}")
    try:
        rest, taken = train_test_split(
            idx, test_size=fraction, random_state=seed, stratify=y[idx]
        )
    except ValueError as exc:  # too few events of a class for a stratified split
        raise DataError(f"cannot make a stratified split of {len(idx)} events: {exc}") from None
    return np.sort(rest), np.sort(taken)


def make_splits(
    ds: Dataset,
    seed: int,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    max_events: int | None = None,
) -> Splits:
    """Split a dataset; every model in a run gets the identical Splits for a seed.

    HiggsML with KaggleSet letters: t -> train (+ stratified validation), b -> public,
    v -> private, u -> unused. HiggsML without b/v rows: public and private test splits
    (test_fraction/2 each) are carved out of the training events. Other tables get one
    stratified ``test`` split. `max_events` subsamples every part (stratified, seeded),
    for quick runs.
    """
    if max_events is not None and max_events < 1:
        raise ConfigError(f"max_events must be at least 1, got {max_events}")
    n = ds.n_events
    y = ds.y
    ids = ds.ids if ds.ids is not None else np.arange(n)
    weights = ds.weights if ds.weights is not None else np.ones(n)
    notes: list[str] = []
    rng_seed = int(seed)

    groups = ds.groups
    if groups is not None and np.isin(groups, ["b", "v"]).any():
        train_pool = np.flatnonzero(groups == "t")
        train_idx, val_idx = _stratified(train_pool, y, val_fraction, rng_seed)
        tests = [("public", np.flatnonzero(groups == "b")), ("private", np.flatnonzero(groups == "v"))]
        tests = [(name, idx) for name, idx in tests if len(idx)]
        notes.append(
            "Splits: KaggleSet t -> train/validation "
            f"({1 - val_fraction:.0%}/{val_fraction:.0%}, stratified, seed {seed}); "
            "b -> public test; v -> private test; u unused."
        )
    elif ds.metric == "ams":
        pool = np.arange(n) if groups is None else np.flatnonzero(groups == "t")
        rest, test_idx = _stratified(pool, y, test_fraction, rng_seed)
        public_idx, private_idx = _stratified(test_idx, y, 0.5, rng_seed + 1)
        train_idx, val_idx = _stratified(rest, y, val_fraction / (1 - test_fraction), rng_seed + 2)
        tests = [("public", public_idx), ("private", private_idx)]
        notes.append(
            "This file has no public (b) or private (v) test rows: public and private test "
            f"splits ({test_fraction / 2:.0%} each) were carved out of its events, stratified, "
            f"seed {seed}. AMS on splits this small is noisy; compare means over repeats."
        )
    else:
        rest, test_idx = _stratified(np.arange(n), y, test_fraction, rng_seed)
        train_idx, val_idx = _stratified(rest, y, val_fraction / (1 - test_fraction), rng_seed + 2)
        tests = [("test", test_idx)]

    def subsample(idx: np.ndarray, salt: int) -> np.ndarray:
        if max_events is None or len(idx) <= max_events:
            return idx
        _, taken = _stratified(idx, y, max_events / len(idx), rng_seed + 100 + salt)
        return taken

    if max_events is not None and max(len(train_idx), len(val_idx), *(len(i) for _, i in tests)) > max_events:
        train_idx = subsample(train_idx, 0)
        val_idx = subsample(val_idx, 1)
        tests = [(name, subsample(idx, 2 + k)) for k, (name, idx) in enumerate(tests)]
        notes.append(f"Subsampled to at most {max_events} events per split (--max-events).")

    def part(name: str, idx: np.ndarray) -> Part:
        w = weights[idx]
        if ds.weight_totals:
            w = renormalise(y[idx], w, ds.weight_totals)
        return Part(name, ds.X[idx], y[idx], w, ids[idx])

    return Splits(
        seed=seed,
        train=part("train", train_idx),
        val=part("val", val_idx),
        tests=tuple(part(name, idx) for name, idx in tests),
        feature_names=ds.feature_names,
        notes=tuple(notes),
        weighted=ds.weights is not None,
    )
