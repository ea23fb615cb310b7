"""Seeded, stratified splits with per-split weight renormalisation (by the dataset's own policy)."""
from __future__ import annotations

import numpy as np

from benchmarks.core.errors import ConfigError
from benchmarks.core.weights import renormalise

from .base import Dataset, Part, Splits
from .policies import Assignment, Repeat, stratified


def _subsample(a: Assignment, y: np.ndarray, max_events: int, seed: int) -> Assignment:
    """Every part cut to at most `max_events` events (stratified, seeded), for quick runs."""
    def cut(idx: np.ndarray, salt: int) -> np.ndarray:
        if len(idx) <= max_events:
            return idx
        return stratified(idx, y, max_events / len(idx), seed + 100 + salt)[1]

    tests = tuple((name, cut(idx, 2 + k)) for k, (name, idx) in enumerate(a.tests))
    note = f"Subsampled to at most {max_events} events per split (--max-events)."
    return Assignment(cut(a.train, 0), cut(a.val, 1), tests, (*a.notes, note))


def make_splits(
    ds: Dataset,
    seed: int,
    val_fraction: float = 0.2,
    repeat: Repeat | None = None,
    max_events: int | None = None,
    search: str | None = None,
) -> Splits:
    """Split a dataset by its own policy; every model in a run gets the identical Splits for a seed.

    ``repeat`` says which outer fold this seed is (default: the first fold of 5). With
    ``search`` (a scope, ``"fold"`` or ``"once"``): the train/validation parts a
    hyper-parameter search may use (no test part), which the policy keeps apart from the
    test events of this fold (``fold``) or of every fold (``once``). `max_events`
    subsamples every part (stratified, seeded). Each part's weights are renormalised per
    class to the dataset's ``weight_totals`` when it has them.
    """
    if max_events is not None and max_events < 1:
        raise ConfigError(f"max_events must be at least 1, got {max_events}")
    seed = int(seed)
    repeat = repeat if repeat is not None else Repeat()
    if search is not None:
        a = ds.split_policy.search(ds, seed, val_fraction, repeat, search)
    else:
        a = ds.split_policy.assign(ds, seed, val_fraction, repeat)
    sizes = [len(a.train), len(a.val), *(len(idx) for _, idx in a.tests)]
    if max_events is not None and max(sizes) > max_events:
        a = _subsample(a, ds.y, max_events, seed)
    ids = ds.ids if ds.ids is not None else np.arange(ds.n_events)
    weights = ds.weights if ds.weights is not None else np.ones(ds.n_events)

    def part(name: str, idx: np.ndarray) -> Part:
        w = weights[idx]
        if ds.weight_totals:
            w = renormalise(ds.y[idx], w, ds.weight_totals)
        return Part(name, ds.X[idx], ds.y[idx], w, ids[idx])

    return Splits(
        seed=seed,
        train=part("train", a.train),
        val=part("val", a.val),
        tests=tuple(part(name, idx) for name, idx in a.tests),
        feature_names=ds.feature_names,
        notes=a.notes,
        weighted=ds.weights is not None,
        missing_value=ds.missing_value,
        categorical=ds.categorical,
        augmentation=None if ds.symmetries is None else ds.symmetries.in_feature_space(
            ds.feature_names, None, None, ds.missing_value),
    )
