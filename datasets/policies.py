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


SEARCH_SEED = 20261130  # the one, fixed split of the search pool: the same for every run and seed


def _search_pool(pool: np.ndarray, y: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(the events test parts may come from, the events hyper-parameter searches use)."""
    return stratified(pool, y, fraction, SEARCH_SEED)


def _carve_tests(free: np.ndarray, everything: np.ndarray, y: np.ndarray, test_fraction: float,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train/validation pool, test events): tests are `test_fraction` of all events, taken
    from `free` only; everything else (search pool included) trains."""
    share = test_fraction * len(everything) / len(free)
    if not 0 < share < 1:
        raise ConfigError(f"test_fraction {test_fraction} does not fit beside the search pool; lower it")
    test_idx = stratified(free, y, share, seed)[1]
    return np.setdiff1d(everything, test_idx, assume_unique=True), test_idx


@dataclass(frozen=True)
class HeldOutTest:
    """Ordinary tables: one stratified ``test`` part, then train/validation from the rest.

    Test parts change with the seed, so a hyper-parameter search tuned on one seed's
    validation part would see other seeds' test events. Instead a fixed ``search_fraction``
    of the events (stratified, the same for every seed) is the only data searches see, and
    no seed ever draws a test event from it; every seed still trains on it.
    """

    default_repeats: int = 1
    search_fraction: float = 0.5

    def assign(self, ds, seed: int, val_fraction: float, test_fraction: float) -> Assignment:
        everything = np.arange(ds.n_events)
        free, _ = _search_pool(everything, ds.y, self.search_fraction)
        rest, test_idx = _carve_tests(free, everything, ds.y, test_fraction, seed)
        train_idx, val_idx = stratified(rest, ds.y, val_fraction / (1 - test_fraction), seed + 2)
        return Assignment(train_idx, val_idx, (("test", test_idx),))

    def search(self, ds, seed: int, val_fraction: float) -> Assignment:
        """The train/validation parts of every hyper-parameter search (independent of `seed`)."""
        pool = _search_pool(np.arange(ds.n_events), ds.y, self.search_fraction)[1]
        train_idx, val_idx = stratified(pool, ds.y, val_fraction, SEARCH_SEED + 1)
        return Assignment(train_idx, val_idx, (), (SEARCH_NOTE.format(share=self.search_fraction),))


SEARCH_NOTE = ("Searches use a fixed {share:.0%} of the events (the same for every seed) that no seed ever "
               "uses as test events; every seed's test parts come from the other events.")


@dataclass(frozen=True)
class CarvedTests:
    """Two test parts (``names``, half of ``test_fraction`` each) carved out of the events.

    For a sample file without predefined test rows. ``pool_group`` restricts the events
    used to those of one predefined group (``Dataset.groups``); ``note`` is shown in the
    report, formatted with ``share`` (each test part's fraction) and ``seed``. Small carved
    test parts are noisy, so such datasets repeat over 5 seeds by default. As for
    ``HeldOutTest``, searches see only a fixed ``search_fraction`` of the events, from
    which no seed's test parts are ever drawn.
    """

    names: tuple[str, str] = ("public", "private")
    pool_group: str | None = None
    note: str = ("{first} and {second} test splits ({share:.0%} each) were carved out of the events, "
                 "stratified, seed {seed}.")
    default_repeats: int = 5
    search_fraction: float = 0.5

    def _events(self, ds) -> np.ndarray:
        if self.pool_group is not None and ds.groups is not None:
            return np.flatnonzero(ds.groups == self.pool_group)
        return np.arange(ds.n_events)

    def assign(self, ds, seed: int, val_fraction: float, test_fraction: float) -> Assignment:
        everything = self._events(ds)
        free, _ = _search_pool(everything, ds.y, self.search_fraction)
        rest, test_idx = _carve_tests(free, everything, ds.y, test_fraction, seed)
        first_idx, second_idx = stratified(test_idx, ds.y, 0.5, seed + 1)
        train_idx, val_idx = stratified(rest, ds.y, val_fraction / (1 - test_fraction), seed + 2)
        note = self.note.format(first=self.names[0], second=self.names[1], share=test_fraction / 2, seed=seed)
        return Assignment(train_idx, val_idx, ((self.names[0], first_idx), (self.names[1], second_idx)), (note,))

    def search(self, ds, seed: int, val_fraction: float) -> Assignment:
        """The train/validation parts of every hyper-parameter search (independent of `seed`)."""
        pool = _search_pool(self._events(ds), ds.y, self.search_fraction)[1]
        train_idx, val_idx = stratified(pool, ds.y, val_fraction, SEARCH_SEED + 1)
        return Assignment(train_idx, val_idx, (), (SEARCH_NOTE.format(share=self.search_fraction),))
