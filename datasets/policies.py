"""Split policies: how a dataset's events are assigned to train / validation / test parts.

That assignment is the dataset's own business: it carries a policy
(``Dataset.split_policy``) with ``assign(ds, seed, val_fraction, repeat) -> Assignment``
and ``search(ds, seed, val_fraction, repeat, scope)``. The generic ones live here: outer
folds of repeated stratified K-fold with one ``test`` part (ordinary tables) or two
(a physics sample file without predefined test rows). A dataset with predefined
membership (HiggsML's KaggleSet letters) brings its own policy from its loader. A policy
sees the dataset only through ``n_events``, ``y`` and ``groups``.

Why folds: test parts drawn independently per seed overlap (by 20-40% of their events),
so the spread over seeds and a t-test over seeds understate the variability. Within one
repetition of K-fold every event is a test event exactly once, so the test parts of its
repeats are disjoint; the training parts still overlap, which the corrected resampled
t-test (Nadeau and Bengio 2003) accounts for.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from benchmarks.core.errors import ConfigError, DataError

SCOPES = ("fold", "once")  # a search inside each outer fold's training part, or one per dataset


@dataclass(frozen=True, eq=False)
class Assignment:
    """Row indices of each part, as a split policy assigns them (before any subsampling)."""

    train: np.ndarray
    val: np.ndarray
    tests: tuple[tuple[str, np.ndarray], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Repeat:
    """Which outer fold one repeat (one seed of a run) is.

    Repeat ``index`` (0, 1, ... in seed order) is fold ``index % folds`` of repetition
    ``index // folds``; each repetition shuffles the events anew (seeded by ``base_seed`` and
    the repetition). With ``search_pool`` a fixed share of the events is set aside for
    searches and feature rankings that run once per dataset: it always trains and is never
    a test event, and the folds partition the other events.
    """

    index: int = 0
    folds: int = 5
    base_seed: int = 0
    search_pool: bool = False

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ConfigError(f"folds must be at least 2, got {self.folds}")
        if self.index < 0:
            raise ConfigError(f"a repeat's index must be >= 0, got {self.index}")

    @property
    def repetition(self) -> int:
        return self.index // self.folds

    @property
    def fold(self) -> int:
        return self.index % self.folds


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
FOLD_SEED = 7_919  # mixed with the base seed and the repetition: each repetition's shuffle


def _search_pool(pool: np.ndarray, y: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(the events test parts may come from, the events once-per-dataset searches use)."""
    return stratified(pool, y, fraction, SEARCH_SEED)


def outer_fold(events: np.ndarray, y: np.ndarray, repeat: Repeat) -> np.ndarray:
    """The test events of ``repeat``: its fold of a stratified K-fold of ``events``, shuffled
    once per repetition. The folds of one repetition partition ``events``."""
    counts = np.bincount(y[events])
    smallest = int(counts[counts > 0].min()) if len(events) else 0
    if smallest < repeat.folds:
        raise DataError(f"cannot make {repeat.folds} stratified folds of {len(events)} events: the smallest class "
                        f"has {smallest}; lower folds (or test_fraction)")
    seed = (FOLD_SEED * (repeat.base_seed + 1) + repeat.repetition) % 2**32
    folds = StratifiedKFold(repeat.folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(folds.split(np.zeros(len(events)), y[events])):
        if k == repeat.fold:
            return np.sort(events[test])
    raise AssertionError("unreachable: fold index below folds")


def _folded(events: np.ndarray, y: np.ndarray, repeat: Repeat, share: float, val_fraction: float,
            seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) of one outer fold; validation is `val_fraction` of `events`,
    drawn (seeded) from the fold's training part."""
    free = _search_pool(events, y, share)[0] if repeat.search_pool else events
    test_idx = outer_fold(free, y, repeat)
    rest = np.setdiff1d(events, test_idx, assume_unique=True)
    val_share = val_fraction * len(events) / len(rest)
    if not 0 < val_share < 1:
        raise ConfigError(f"val_fraction {val_fraction} does not fit beside a test fold of {len(test_idx)} "
                          f"of {len(events)} events; lower it")
    train_idx, val_idx = stratified(rest, y, val_share, seed + 2)
    return train_idx, val_idx, test_idx


def _fold_notes(repeat: Repeat, share: float) -> tuple[str, ...]:
    where = (f"the {1 - share:.0%} of the events outside the fixed search pool" if repeat.search_pool
             else "the events")
    return (f"Outer folds: repeated stratified {repeat.folds}-fold over {where}; this seed is fold "
            f"{repeat.fold + 1} of repetition {repeat.repetition + 1}, so within a repetition every such event "
            "is a test event exactly once.",)


SEARCH_NOTES = {
    "fold": ("Searches are nested: each runs inside its outer fold's training part (train/validation of that "
             "seed), never on a fold's test events."),
    "once": ("Searches run once per dataset on a fixed {share:.0%} of the events (the same for every seed) that "
             "are never a test event: every fold's test part comes from the other events."),
}


def _search_assignment(a: Assignment, pool: np.ndarray | None, y: np.ndarray, val_fraction: float, share: float,
                       scope: str) -> Assignment:
    if scope not in SCOPES:
        raise ConfigError(f"search scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if scope == "fold":
        return Assignment(a.train, a.val, (), (SEARCH_NOTES["fold"],))
    if pool is None:
        raise ConfigError("a search with scope 'once' needs the dataset's search pool (Repeat.search_pool)")
    train_idx, val_idx = stratified(pool, y, val_fraction, SEARCH_SEED + 1)
    return Assignment(train_idx, val_idx, (), (SEARCH_NOTES["once"].format(share=share),))


@dataclass(frozen=True)
class HeldOutTest:
    """Ordinary tables: one stratified ``test`` part, the repeat's outer fold; train and
    validation from the other folds."""

    default_repeats: int = 1
    search_fraction: float = 0.5
    folded: bool = True  # repeats are outer folds (the report's statistics read this)

    def assign(self, ds, seed: int, val_fraction: float, repeat: Repeat) -> Assignment:
        events = np.arange(ds.n_events)
        train_idx, val_idx, test_idx = _folded(events, ds.y, repeat, self.search_fraction, val_fraction, seed)
        return Assignment(train_idx, val_idx, (("test", test_idx),), _fold_notes(repeat, self.search_fraction))

    def search(self, ds, seed: int, val_fraction: float, repeat: Repeat, scope: str) -> Assignment:
        """The train/validation parts of a hyper-parameter search: the repeat's own training
        part (``fold``) or the fixed search pool (``once``)."""
        pool = _search_pool(np.arange(ds.n_events), ds.y, self.search_fraction)[1] if repeat.search_pool else None
        a = self.assign(ds, seed, val_fraction, repeat) if scope == "fold" else None
        return _search_assignment(a, pool, ds.y, val_fraction, self.search_fraction, scope)


@dataclass(frozen=True)
class CarvedTests:
    """Two test parts (``names``, half of the repeat's outer fold each).

    For a sample file without predefined test rows. ``pool_group`` restricts the events
    used to those of one predefined group (``Dataset.groups``); ``note`` is shown in the
    report, formatted with ``share`` (each test part's fraction of the events) and ``seed``.
    Small test parts are noisy, so such datasets repeat over 5 seeds by default: with 5
    folds, one whole repetition.
    """

    names: tuple[str, str] = ("public", "private")
    pool_group: str | None = None
    note: str = ("{first} and {second} test splits ({share:.0%} each) are the two halves of the outer fold, "
                 "stratified, seed {seed}.")
    default_repeats: int = 5
    search_fraction: float = 0.5
    folded: bool = True

    def _events(self, ds) -> np.ndarray:
        if self.pool_group is not None and ds.groups is not None:
            return np.flatnonzero(ds.groups == self.pool_group)
        return np.arange(ds.n_events)

    def assign(self, ds, seed: int, val_fraction: float, repeat: Repeat) -> Assignment:
        events = self._events(ds)
        train_idx, val_idx, test_idx = _folded(events, ds.y, repeat, self.search_fraction, val_fraction, seed)
        first_idx, second_idx = stratified(test_idx, ds.y, 0.5, seed + 1)
        note = self.note.format(first=self.names[0], second=self.names[1],
                                share=len(test_idx) / len(events) / 2, seed=seed)
        return Assignment(train_idx, val_idx, ((self.names[0], first_idx), (self.names[1], second_idx)),
                          (*_fold_notes(repeat, self.search_fraction), note))

    def search(self, ds, seed: int, val_fraction: float, repeat: Repeat, scope: str) -> Assignment:
        """The train/validation parts of a hyper-parameter search (as ``HeldOutTest.search``)."""
        pool = _search_pool(self._events(ds), ds.y, self.search_fraction)[1] if repeat.search_pool else None
        a = self.assign(ds, seed, val_fraction, repeat) if scope == "fold" else None
        return _search_assignment(a, pool, ds.y, val_fraction, self.search_fraction, scope)
