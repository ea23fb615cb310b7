"""The leaderboard across datasets: plain data computed from stored records and predictions.

Every model of a run (in ``compare``: every model of every run, "label @ run") is an
entrant. On each dataset an entrant's score is its headline test figure (the one the
SuperTML table shows: test accuracy, ROC AUC; for HiggsML the private AMS, the public one
while the run is blind), mean over seeds. Datasets on which some entrant has no score are
left out of the ranking and named. From the score table, oriented once so that higher is
better on every dataset (a lower-is-better metric's figures are negated; the board shows
the real figures), come the mean ranks with Friedman's test and Nemenyi's critical
difference, the normalised score and the Elo rating (``benchmarks.core.stats``); from the
predictions, a win/tie/loss matrix with a paired test per dataset; from the timings, time
to result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from benchmarks.core import stats
from benchmarks.core.errors import DataError
from benchmarks.core.scoring import Column, Metric

from benchmarks.run_record import Record
from benchmarks.store import StoredRun

from .records import SHORT_NAMES, by_seed, dataset_metric, group_records, resampling_ratio, seed_test
from .tables import finite

ALPHA = 0.05
MIN_SEEDS = 3  # fewer seeds give no usable t-test; the paired bootstrap on test events decides then


@dataclass(frozen=True)
class Cell:
    """One entrant on one dataset: its records (one per seed) and how the dataset is scored."""

    dataset: str
    entrant: str
    records: tuple[Record, ...]
    run: StoredRun
    metric: Metric
    column: Column  # the headline test figure that is ranked
    split: str  # the visible test split that figure is computed on (paired bootstraps use it)
    search_s: float = 0.0  # the run's search seconds for this model and dataset (older records lack tune_s)
    resampling_ratio: float | None = None  # n_test / n_train when seeds are folds of one table (records.resampling_ratio)
    note: str = ""  # why the dataset is ranked by this figure (MetricText.leaderboard_note)

    @property
    def score(self) -> float | None:
        vals = finite(self.column.get(r.metrics) for r in self.records)
        return float(np.mean(vals)) if vals else None

    def seconds(self) -> float | None:
        """Time to one result: the whole search (if any) + training + validation and test inference,
        mean over seeds."""
        totals = []
        for r in self.records:
            t = r.timing or {}
            tune = t.get("tune_s", self.search_s if r.tuned else 0.0) or 0.0
            parts = [t.get(k) for k in ("train_s", "val_predict_s", "predict_s")]
            if any(p is None for p in parts):
                continue
            totals.append(float(tune) + sum(float(p) for p in parts))
        return float(np.mean(totals)) if totals else None


@dataclass(frozen=True)
class Outcome:
    """Row entrant against column entrant on one dataset."""

    result: str  # "win", "tie", "loss" or "n/a"
    test: str  # how it was decided


@dataclass(frozen=True)
class Leaderboard:
    entrants: tuple[str, ...]  # best mean rank first
    datasets: tuple[str, ...]  # the ranked datasets (every entrant scored)
    figures: tuple[str, ...]  # per ranked dataset: the figure ranked
    scores: np.ndarray  # (datasets, entrants), mean over seeds, the real figures (not oriented)
    ranks: np.ndarray
    mean_rank: np.ndarray
    normalised: np.ndarray  # per entrant: mean over datasets
    elo: np.ndarray
    friedman: dict | None  # None with fewer than 2 ranked datasets
    cd: float | None
    cliques: tuple[tuple[int, ...], ...]
    outcomes: Mapping[tuple[str, str, str], Outcome]  # (dataset, row, column) -> outcome
    seconds: np.ndarray  # (datasets, entrants): time to one result, NaN where not recorded
    fmt: Mapping[str, Callable]  # dataset -> its metric's formatter
    directions: tuple[str, ...] = ()  # per ranked dataset: its metric's direction ("maximize", "minimize")
    left_out: tuple[str, ...] = ()  # "dataset: why"
    notes: tuple[str, ...] = field(default=())

    def tally(self, row: str, col: str) -> tuple[int, int, int, int]:
        """(wins, ties, losses, untested) of `row` against `col` over the ranked datasets."""
        results = [self.outcomes[(d, row, col)].result for d in self.datasets]
        return tuple(results.count(r) for r in ("win", "tie", "loss", "n/a"))  # type: ignore[return-value]

    def time_per_result(self) -> np.ndarray:
        """Per entrant: mean over datasets of the time to one result (NaN if never recorded)."""
        with np.errstate(all="ignore"):
            return np.array([np.nanmean(c) if np.isfinite(c).any() else np.nan for c in self.seconds.T])

    def time_vs_fastest(self) -> np.ndarray:
        """Per entrant: geometric mean over datasets of its time / the fastest entrant's there."""
        with np.errstate(all="ignore"):
            rel = self.seconds / np.nanmin(np.where(self.seconds > 0, self.seconds, np.nan), axis=1, keepdims=True)
            logs = np.log(np.where(rel > 0, rel, np.nan))
            return np.array([np.exp(np.nanmean(c)) if np.isfinite(c).any() else np.nan for c in logs.T])


# ----------------------------------------------------------------------------- cells


def headline(metric: Metric, blind: bool) -> Column:
    """The figure ranked (``Metric.leaderboard_column``): never a private one while blind."""
    return metric.leaderboard_column(blind)


def run_cells(run: StoredRun, entrant: Callable[[str], str] = str) -> list[Cell]:
    """Every (dataset, model) of a stored run with records (control "none")."""
    cells = []
    for name, info in run.datasets.items():
        metric = dataset_metric(info)
        column = headline(metric, run.blind)
        tests = run.visible_tests(name)
        split = next((t for t in tests if metric.test_key(t) == column.key), tests[0] if tests else "test")
        for label, recs in group_records(run.records, name).items():
            search = (run.tuning.get(f"{name}/{label}") or {}).get("search_s") or 0.0
            cells.append(Cell(name, entrant(label), tuple(recs), run, metric, column, split, float(search),
                              resampling_ratio(info, split), metric.text.leaderboard_note(run.blind)))
    return cells


# ----------------------------------------------------------------------------- paired outcomes


def _decide(diff: float, significant: bool | None, test: str, sign: float) -> Outcome:
    """`diff` = A - B in the metric's own units; `sign` (Metric.sign) makes a lower figure the
    win for a lower-is-better metric."""
    if significant is None or not np.isfinite(diff):
        return Outcome("n/a", test)
    if not significant or diff == 0:
        return Outcome("tie", test)
    return Outcome("win" if sign * diff > 0 else "loss", test)


def _ratio(a: Cell, b: Cell) -> float | None:
    """The resampling ratio of a pair: the larger (more cautious) correction when the runs differ."""
    ratios = [r for r in (a.resampling_ratio, b.resampling_ratio) if r is not None]
    return max(ratios) if ratios else None


def paired_outcome(a: Cell, b: Cell, n_boot: int = 1000) -> Outcome:
    """Whether `a` beats, ties or loses to `b` on their dataset, by a paired test at 5%.

    With at least 3 common seeds: a t-test over seeds of the ranked figure, the corrected
    resampled one (Nadeau & Bengio 2003) when the seeds are folds of one table, else the
    plain paired one. With fewer: the metric's paired bootstrap on the first common seed's
    test events (both models scored the identical events), a win or loss when its verdict is
    "different". Without either (different seeds or events, e.g. runs on different data in
    ``compare``): "n/a". Wins follow the metric's direction.
    """
    ra, rb = by_seed(a.records), by_seed(b.records)
    common = sorted(set(ra) & set(rb))
    pairs = [(a.column.get(ra[s].metrics), b.column.get(rb[s].metrics)) for s in common]
    pairs = [(x, y) for x, y in pairs if finite([x]) and finite([y])]
    if len(pairs) >= MIN_SEEDS:
        xs, ys = zip(*pairs)
        p, name = seed_test(xs, ys, _ratio(a, b))
        return _decide(float(np.mean(xs) - np.mean(ys)), None if p is None else p < ALPHA,
                       f"{SHORT_NAMES[name]} over {len(pairs)} seeds", a.metric.sign)
    if not common:
        return Outcome("n/a", "no common seed")
    seed = common[0]
    arrays_a = a.run.splits(ra[seed])
    arrays_b = b.run.splits(rb[seed])
    if arrays_a is None or arrays_b is None:
        return Outcome("n/a", "predictions unreadable")
    try:
        c = a.metric.paired(arrays_a[a.split], ra[seed].metrics, arrays_b[b.split], rb[seed].metrics,
                            n_boot, seed)
    except DataError:
        return Outcome("n/a", "not scored on the same test events")
    return _decide(float(c["diff"]), c["verdict"] == "different", f"paired bootstrap, seed {seed}", a.metric.sign)


# ----------------------------------------------------------------------------- the board


def _score_table(cells: Sequence[Cell]) -> tuple[list[str], list[str], dict, list[str]]:
    """(entrants, ranked datasets, (dataset, entrant) -> cell, left-out notes)."""
    entrants = list(dict.fromkeys(c.entrant for c in cells))
    by_key = {(c.dataset, c.entrant): c for c in cells}
    datasets, left_out = [], []
    for d in dict.fromkeys(c.dataset for c in cells):
        lacking = [e for e in entrants if (d, e) not in by_key or by_key[(d, e)].score is None]
        if lacking:
            left_out.append(f"{d}: no score for {', '.join(lacking)}")
        else:
            datasets.append(d)
    return entrants, datasets, by_key, left_out


def _outcomes(entrants: Sequence[str], datasets: Sequence[str], by_key: Mapping) -> dict:
    out = {}
    for d in datasets:
        for i, a in enumerate(entrants):
            for b in entrants[i + 1:]:
                o = paired_outcome(by_key[(d, a)], by_key[(d, b)])
                flip = {"win": "loss", "loss": "win"}.get(o.result, o.result)
                out[(d, a, b)], out[(d, b, a)] = o, Outcome(flip, o.test)
    return out


def build_leaderboard(cells: Sequence[Cell]) -> Leaderboard | None:
    """The leaderboard of these cells; None with fewer than 2 entrants or no dataset that
    scores them all."""
    entrants, datasets, by_key, left_out = _score_table(cells)
    if len(entrants) < 2 or not datasets:
        return None
    scores = np.array([[by_key[(d, e)].score for e in entrants] for d in datasets], dtype=np.float64)
    # core.stats ranks higher-is-better tables: orient every dataset once, here, by its metric.
    signs = np.array([[by_key[(d, entrants[0])].metric.sign] for d in datasets])
    oriented = signs * scores
    ranks = stats.rank_rows(oriented)
    order = np.argsort(ranks.mean(axis=0), kind="stable")
    entrants = [entrants[i] for i in order]
    scores, oriented, ranks = scores[:, order], oriented[:, order], ranks[:, order]
    mean_rank = ranks.mean(axis=0)
    friedman = cd = None
    cliques: tuple = ()
    if len(datasets) >= 2:
        friedman = stats.friedman_test(ranks)
        cd = stats.critical_difference(len(entrants), len(datasets), ALPHA)
        cliques = tuple(stats.cd_cliques(mean_rank, cd))
    seconds = np.array([[by_key[(d, e)].seconds() or np.nan for e in entrants] for d in datasets])
    first = {d: by_key[(d, entrants[0])] for d in datasets}
    return Leaderboard(
        entrants=tuple(entrants), datasets=tuple(datasets),
        figures=tuple(first[d].column.title for d in datasets), scores=scores, ranks=ranks,
        mean_rank=mean_rank, normalised=stats.normalised_scores(oriented).mean(axis=0),
        elo=stats.elo_ratings(stats.pairwise_wins(oriented)), friedman=friedman, cd=cd, cliques=cliques,
        outcomes=_outcomes(entrants, datasets, by_key), seconds=seconds,
        fmt={d: first[d].metric.fmt for d in datasets}, left_out=tuple(left_out),
        notes=tuple(dict.fromkeys(first[d].note for d in datasets if first[d].note)),
        directions=tuple(first[d].metric.direction for d in datasets))


def run_leaderboard(run: StoredRun) -> Leaderboard | None:
    """A run's leaderboard: only for runs with records on two or more datasets."""
    cells = run_cells(run)
    if len({c.dataset for c in cells}) < 2:
        return None
    return build_leaderboard(cells)
