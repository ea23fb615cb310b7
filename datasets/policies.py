"""Split policies: how a dataset's events are assigned to train / validation / test parts.

That assignment is the dataset's own business: it carries a policy
(``Dataset.split_policy``) with ``assign(ds, seed, val_fraction, test_fraction) ->
Assignment``. The generic ones live here: one held-out ``test`` part (ordinary tables),
and test parts carved out of the events (a physics sample file without predefined test
rows). A dataset with predefined membership (HiggsML's KaggleSet letters) brings its own
policy from its loader. A policy sees the dataset only through ``n_events``, ``y`` and
``groups``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from benchmarks.core.errors import ConfigError, DataError


@dataclass(frozen=True, eq=False)
class Assignment:
    """Row indices of each part, as a split policy assigns them (before any subsampling)."""

    train: np.ndarray
    val: np.ndarray
    tests: tuple[tuple[str, np.ndarray], ...]
    notes: tuple[str, ...] = ()


def stratified(idx: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split `idx` into (rest, taken) with `fraction` taken, stratified on y[idx]."""
    if not 0 < fraction < 1:
        raise ConfigError(f"split fraction must be in (0, 1), got {fraction}")
    try:
        rest, taken = train_test_split(idx, test_size=fraction, random_state=seed, stratify=y[idx])
    except ValueError as exc:  # too few events of a class for a stratified split
        raise DataError(f"cannot make a stratified split of {len(idx)} events: {exc}") from None
    return np.sort(rest), np.sort(taken)


@dataclass(frozen=True)
class HeldOutTest:
    """Ordinary tables: one stratified ``test`` part, then train/validation from the rest."""

    default_repeats: int = 1

    def assign(self, ds, seed: int, val_fraction: float, test_fraction: float) -> Assignment:
        rest, test_idx = stratified(np.arange(ds.n_events), ds.y, test_fraction, seed)
        train_idx, val_idx = stratified(rest, ds.y, val_fraction / (1 - test_fraction), seed + 2)
        return Assignment(train_idx, val_idx, (("test", test_idx),))


@dataclass(frozen=True)
class CarvedTests:
    """Two test parts (``names``, half of ``test_fraction`` each) carved out of the events.

    For a sample file without predefined test rows. ``pool_group`` restricts the events
    used to those of one predefined group (``Dataset.groups``); ``note`` is shown in the
    report, formatted with ``share`` (each test part's fraction) and ``seed``. Small carved
    test parts are noisy, so such datasets repeat over 5 seeds by default.
    """

    names: tuple[str, str] = ("public", "private")
    pool_group: str | None = None
    note: str = ("{first} and {second} test splits ({share:.0%} each) were carved out of the events, "
                 "stratified, seed {seed}.")
    default_repeats: int = 5

    def assign(self, ds, seed: int, val_fraction: float, test_fraction: float) -> Assignment:
        pool = np.arange(ds.n_events)
        if self.pool_group is not None and ds.groups is not None:
            pool = np.flatnonzero(ds.groups == self.pool_group)
        rest, test_idx = stratified(pool, ds.y, test_fraction, seed)
        first_idx, second_idx = stratified(test_idx, ds.y, 0.5, seed + 1)
        train_idx, val_idx = stratified(rest, ds.y, val_fraction / (1 - test_fraction), seed + 2)
        note = self.note.format(first=self.names[0], second=self.names[1], share=test_fraction / 2, seed=seed)
        return Assignment(train_idx, val_idx, ((self.names[0], first_idx), (self.names[1], second_idx)), (note,))


