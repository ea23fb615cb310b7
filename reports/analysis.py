"""The analysis step: one stored run turned into plain data that plots draw and sections format.

``analyse_run`` takes a :class:`~benchmarks.store.StoredRun` (read once) and computes every
figure and curve a report shows: tables, bootstrap intervals, paired comparisons, chance
intervals, audits, timings, ROC and cut curves, the ladder and the leaderboard. Prediction
arrays come through ``StoredRun.splits``: each file is read once, and never a private array
while blind. Nothing here writes a file or formats Markdown.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from benchmarks.core.scoring import Column, Metric
from benchmarks.run_record import FitKey, Record
from benchmarks.store import StoredRun

from .audit import AuditTable, audit_table
from .chance import ControlTable, control_table
from .curves import CutCurve, RocCurves, cut_curves, roc_curves
from .ladder import LadderTable, ladder_table
from .leaderboard import Leaderboard, run_leaderboard
from .records import dataset_metric, first_seed, group_records, visible_tests
from .summaries import (MainTable, SelectionRow, SuperTMLRow, TimingRow, TuningRow, main_table, selection_rows,
                        supertml_rows, timing_rows, tuning_rows)
from .uncertainty import Statistics, statistics


@dataclass(frozen=True)
class DatasetAnalysis:
    """Everything a report shows about one dataset (control "none" unless said otherwise)."""

    name: str
    info: Mapping[str, Any]  # the dataset's facts as stored (source, sizes, splits, seeds, ...)
    metric: Metric
    tests: tuple[str, ...]  # test splits whose figures may be shown (no private one when blind)
    groups: Mapping[str, list[Record]]  # model label -> its records, in suite order
    first_seed: Mapping[str, Record]  # model label -> the record single-seed figures use
    main: MainTable | None = None
    selection: tuple[SelectionRow, ...] = ()  # what the chosen cut selects (metrics with a threshold)
    headline: Column | None = None  # the figure the SuperTML table shows
    supertml: tuple[SuperTMLRow, ...] = ()
    control: ControlTable | None = None
    tuning: tuple[TuningRow, ...] = ()
    statistics: Statistics | None = None
    audit: AuditTable | None = None
    timing: tuple[TimingRow, ...] = ()
    ladder: LadderTable | None = None
    roc: RocCurves | None = None  # first seeds, visible test parts
    cuts: Mapping[str, CutCurve] = field(default_factory=dict)  # first seeds, validation
    examples: Mapping[str, str] = field(default_factory=dict)  # model label -> its example sheet (run-relative)


@dataclass(frozen=True)
class RunAnalysis:
    suite: str
    blind: bool  # private figures hidden (a blind suite not rendered with --unblind)
    manifest: Mapping[str, Any]
    datasets: tuple[DatasetAnalysis, ...] = field(default_factory=tuple)
    missing_fits: tuple[FitKey, ...] = ()  # planned (dataset, model, seed, control) with no record
    in_progress: bool = False  # a process holds the run's lock: it is still being written
    unreadable: tuple[str, ...] = ()  # prediction files that are missing or corrupt
    leaderboard: Leaderboard | None = None  # across datasets, for runs with two or more


def headline_column(metric: Metric, blind: bool) -> Column:
    """The metric's first summary figure (AMS public, accuracy, ...), never a private one."""
    return next(c for c in metric.summary_columns(blind) if not (blind and c.private))


def analyse_dataset(run: StoredRun, name: str) -> DatasetAnalysis:
    info = run.datasets[name]
    metric, blind = dataset_metric(info), run.blind
    tests = tuple(run.visible_tests(name))
    groups = group_records(run.records, name)
    firsts = {k: first_seed(v) for k, v in groups.items()}
    base = DatasetAnalysis(name, info, metric, tests, groups, firsts)
    if not groups:
        return base
    headline = headline_column(metric, blind)
    return replace(
        base,
        main=main_table(groups, info, metric, visible_tests(info, False), blind),
        selection=selection_rows(groups, metric, ("val", *tests)),
        headline=headline,
        supertml=supertml_rows(groups, headline, metric),
        control=control_table(run, name, groups, metric, tests[0]),
        tuning=tuning_rows(run.tuning, name),
        statistics=statistics(run, groups, metric, tests, info),
        audit=audit_table(run, groups, metric, tests),
        timing=timing_rows(groups),
        ladder=ladder_table(run, groups, metric, tests, info),
        roc=roc_curves(run, firsts, tests),
        cuts=cut_curves(run, firsts, metric),
        examples={label: rel for label in firsts if (rel := run.example_image(name, label)) is not None},
    )


def analyse_run(run: StoredRun) -> RunAnalysis:
    """Every dataset of a stored run, analysed; private figures left out when the run is blind
    (``run.view(unblind=True)`` shows them)."""
    datasets = tuple(analyse_dataset(run, name) for name in run.datasets)
    return RunAnalysis(run.suite, run.blind, run.manifest, datasets, missing_fits=run.missing_fits(),
                       in_progress=run.in_progress, unreadable=run.unreadable(), leaderboard=run_leaderboard(run))
