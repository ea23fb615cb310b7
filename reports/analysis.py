"""The analysis step: a stored run turned into plain data that renderers only format.

``analyse_run`` reads results.json, manifest.json and (through ``records.load_splits``,
named arrays only) the prediction files, and computes every figure a report shows:
tables, bootstrap intervals, paired comparisons, chance intervals, audits, timings.
Nothing here writes a file or formats Markdown.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from benchmarks import store
from benchmarks.core.scoring import Column, Metric

from .audit import AuditTable, audit_table
from .chance import ControlTable, control_table
from .ladder import LadderTable, ladder_table
from .leaderboard import Leaderboard, run_leaderboard
from .records import dataset_metric, first_seed, group_records, unreadable_predictions, visible_tests
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
    groups: Mapping[str, list[dict]]  # model label -> its records, in suite order
    first_seed: Mapping[str, dict]  # model label -> the record single-seed figures use
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


@dataclass(frozen=True)
class RunAnalysis:
    suite: str
    blind: bool  # private figures hidden (a blind suite not rendered with --unblind)
    manifest: Mapping[str, Any]
    datasets: tuple[DatasetAnalysis, ...] = field(default_factory=tuple)
    missing_fits: tuple[tuple, ...] = ()  # planned (dataset, model, seed, control) with no record
    in_progress: bool = False  # a process holds the run's lock: it is still being written
    unreadable: tuple[str, ...] = ()  # prediction files that are missing or corrupt
    leaderboard: Leaderboard | None = None  # across datasets, for runs with two or more


def missing_fits(results: Mapping, manifest: Mapping) -> tuple[tuple, ...]:
    """The fits the manifest planned that results.json does not hold."""
    done = {(r["dataset"], r["model"], r["seed"], r["control"]) for r in results.get("records", [])}
    planned = [tuple(f) for f in manifest.get("fits") or [] if isinstance(f, (list, tuple)) and len(f) == 4]
    return tuple(f for f in planned if f not in done)


def headline_column(metric: Metric, blind: bool) -> Column:
    """The metric's first summary figure (AMS public, accuracy, ...), never a private one."""
    return next(c for c in metric.summary_columns(blind) if not (blind and c.private))


def analyse_dataset(run_dir: Path, results: Mapping, info: Mapping, blind: bool) -> DatasetAnalysis:
    name, metric = info["name"], dataset_metric(info)
    tests = tuple(visible_tests(info, blind))
    groups = group_records(results.get("records", []), name)
    base = DatasetAnalysis(name, info, metric, tests, groups, {k: first_seed(v) for k, v in groups.items()})
    if not groups:
        return base
    headline = headline_column(metric, blind)
    return replace(
        base,
        main=main_table(groups, info, metric, visible_tests(info, False), blind),
        selection=selection_rows(groups, metric, ("val", *tests)),
        headline=headline,
        supertml=supertml_rows(groups, headline, metric),
        control=control_table(run_dir, results["records"], name, groups, metric, tests[0]),
        tuning=tuning_rows(results.get("tuning") or {}, name),
        statistics=statistics(run_dir, groups, metric, tests, info),
        audit=audit_table(run_dir, groups, metric, tests),
        timing=timing_rows(groups),
        ladder=ladder_table(run_dir, groups, metric, tests, info),
    )


def analyse_run(run_dir: Path, results: Mapping, manifest: Mapping, unblind: bool = False) -> RunAnalysis:
    """Every dataset of a stored run, analysed; private figures left out when the run is blind."""
    blind = bool(results.get("blind")) and not unblind
    infos = results.get("datasets") or {}
    datasets = tuple(analyse_dataset(Path(run_dir), results, info, blind) for info in infos.values())
    return RunAnalysis(results.get("suite", "?"), blind, manifest, datasets,
                       missing_fits=missing_fits(results, manifest), in_progress=store.is_locked(run_dir),
                       unreadable=unreadable_predictions(Path(run_dir), results.get("records", []), infos, blind),
                       leaderboard=run_leaderboard(Path(run_dir), results, blind))
