"""One Markdown report across runs (CPU vs GPU machine, two code versions, ...).

Rows align on (dataset, model label, control, params): records whose params differ are
different rows, so a comparison never mixes settings. The first run holding a row is its
reference; deltas (metrics) and ratios (timings) are against it.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from benchmarks import store
from benchmarks.core.errors import BenchmarkError, ConfigError
from benchmarks.core.naming import safe_name
from benchmarks.core.scoring import Column
from benchmarks.run_record import Record, thaw
from benchmarks.store import StoredRun

from .escape import code, plain
from .html import report_page, run_images
from .leaderboard import Leaderboard, build_leaderboard, run_cells
from .leaderboard_plots import leaderboard_plots
from .leaderboard_section import leaderboard_section
from .records import NO_CONTROL, dataset_metric
from .tables import finite, fmt_mean_std, seconds, table

Key = tuple[str, str, str, str]  # dataset, model label, control, params as canonical JSON

TIMINGS = (("train_s", "train s"), ("predict_per_1k_s", "predict s / 1k"))
DATASET_FACTS = ("source", "n_events", "n_features", "preprocess", "seeds")


def params_key(params: Mapping | None) -> str:
    return json.dumps(thaw(params or {}), sort_keys=True, default=str)


def record_row_key(rec: Record) -> Key:
    return rec.dataset, rec.model, rec.control, params_key(rec.params)


def distinct_runs(run_dirs: Sequence[Path]) -> list[Path]:
    """The run directories, refused when two are the same run (a run ranked against itself
    would show every model tying with itself, as if that were a finding)."""
    seen: dict[Path, Path] = {}
    for p in map(Path, run_dirs):
        same = seen.setdefault(p.resolve(), p)
        if same is not p:
            raise ConfigError(f"{same} and {p} are the same run; compare needs different runs")
    return [Path(p) for p in run_dirs]


def run_labels(run_dirs: Sequence[Path]) -> list[str]:
    """Directory names of distinct runs, lengthened with parent folders until they are unique."""
    paths = [Path(p).resolve() for p in run_dirs]
    for depth in range(1, max(len(p.parts) for p in paths) + 1):
        labels = ["/".join(p.parts[-depth:]) for p in paths]
        if len(set(labels)) == len(labels):
            return labels
    return [str(p) for p in paths]


def _mean(values) -> float | None:
    vals = finite(values)
    return float(np.mean(vals)) if vals else None


def _delta(value: float | None, ref: float | None, column: Column) -> str:
    if value is None or ref is None:
        return "–"
    d = (value - ref) * (100.0 if column.percent else 1.0)
    text = f"{d:+.{column.digits}f}"
    if float(text) == 0:  # "+0.000" and "-0.000" both mean no visible change
        text = text[1:]
    return text + (" pp" if column.percent else "")


def _ratio(value: float | None, ref: float | None) -> str:
    if value is None or ref is None or ref <= 0:
        return "–"
    return f"×{value / ref:.2f}"


def _run_header(labels: list[str], runs: list[StoredRun], run_dirs: Sequence[Path]) -> str:
    rows = []
    for label, run, path in zip(labels, runs, run_dirs):
        manifest = run.manifest
        rows.append([label, code(path), run.suite, manifest.get("device", "?"),
                     manifest.get("gpu") or "none", f"{manifest.get('cpu', '?')} ({manifest.get('cpu_count', '?')} cores)",
                     manifest.get("git_commit") or "unknown", manifest.get("started", "?"),
                     "yes" if run.blind_run else "no"])
    return "## Runs\n\n" + table(["run", "path", "suite", "device", "GPU", "CPU", "git commit", "started", "blind"],
                                 rows, ["l"] * 9)


def _dataset_notes(name: str, labels: list[str], runs: list[StoredRun]) -> list[str]:
    """Warn when the 'same' dataset differs between runs: deltas would mix data and code changes."""
    notes = []
    infos = [(lab, run.datasets.get(name)) for lab, run in zip(labels, runs)]
    infos = [(lab, info) for lab, info in infos if info]
    for fact in DATASET_FACTS:
        values = [(lab, thaw(info.get(fact))) for lab, info in infos]
        if len({json.dumps(v, sort_keys=True, default=str) for _, v in values}) > 1:
            detail = plain("; ".join(f"{lab}: {v}" for lab, v in values))
            notes.append(f"> **Note:** `{fact}` of {code(name)} differs between runs ({detail}); "
                         "differences below mix data and code/machine effects.")
    return notes


def _row_table(key: Key, labels: list[str], groups: list[list[Record]], metric_cols: list[Column],
               has_dataset: list[bool]) -> str:
    ref_i = next(i for i, g in enumerate(groups) if g)
    ref = groups[ref_i]
    headers = ["run", "seeds", "device"]
    for column in metric_cols:
        headers += [column.title, f"Δ {column.title}"]
    for _, title in TIMINGS:
        headers += [title, "ratio"]
    rows = []
    for label, recs, has in zip(labels, groups, has_dataset):
        if not recs:
            if has:  # the run has the dataset but not this model/settings: say so
                rows.append([label, "absent"] + [""] * (len(headers) - 2))
            continue
        row = [label, ",".join(str(r.seed) for r in recs),
               ", ".join(sorted({str(r.device) for r in recs}))]
        for column in metric_cols:
            vals = [column.get(r.metrics) for r in recs]
            row.append(fmt_mean_std(vals, column.digits, column.percent))
            row.append("ref" if recs is ref else _delta(_mean(vals), _mean(column.get(r.metrics) for r in ref), column))
        for tkey, _ in TIMINGS:
            vals = [(r.timing or {}).get(tkey) for r in recs]
            row.append(seconds(vals))
            row.append("ref" if recs is ref else _ratio(_mean(vals), _mean((r.timing or {}).get(tkey) for r in ref)))
        rows.append(row)
    dataset, model, control, params = key
    title = f"### {plain(dataset)} / {plain(model)} (control {plain(control)})"
    return f"{title}\n\nparams: {code(params)}; reference: {plain(labels[ref_i])}\n\n{table(headers, rows)}"


def summary_columns(metric_of: Mapping[str, Mapping], dataset: str, hide_private: bool) -> list[Column]:
    """The dataset's metric's summary figures, private ones left out when hidden."""
    if dataset not in metric_of:
        raise BenchmarkError(f"records of dataset {dataset!r} but no facts about it in any results.json")
    return [c for c in dataset_metric(metric_of[dataset]).summary_columns(hide_private)
            if not (hide_private and c.private)]


def comparison_leaderboard(runs: Sequence[StoredRun], labels: list[str]) -> Leaderboard | None:
    """One leaderboard whose entrants are every model of every run ("label @ run"), ranked on
    the datasets every entrant has a score on."""
    cells = []
    for run, label in zip(runs, labels):
        cells += run_cells(run, entrant=lambda m, label=label: f"{m} @ {label}")
    return build_leaderboard(cells)


def _aligned_records(runs: Sequence[StoredRun]) -> tuple[dict[Key, list[list[Record]]], dict[str, Mapping]]:
    """Row key -> per-run record lists, in first-seen order (suite order of the first run
    holding it); and each dataset's metric facts from the first run that has them."""
    by_key: dict[Key, list[list[Record]]] = {}
    for i, run in enumerate(runs):
        for rec in run.records:
            by_key.setdefault(record_row_key(rec), [[] for _ in runs])[i].append(rec)
    metric_of: dict[str, Mapping] = {}
    for run in runs:
        for name, info in run.datasets.items():
            metric_of.setdefault(name, info)
    return by_key, metric_of


def compare_runs(run_dirs: Sequence[Path], unblind: bool = False, plots_dir: Path | None = None,
                 plot_prefix: str = "") -> str:
    """Markdown comparing the records of several run directories (see module docstring).

    With ``plots_dir`` the leaderboard's plots are written under ``plots_dir/plots`` (file
    names starting with ``plot_prefix``) and linked relative to ``plots_dir``.
    """
    if len(run_dirs) < 2:
        raise ConfigError("compare needs at least two run directories")
    run_dirs = distinct_runs(run_dirs)
    runs = [store.open_run(p) for p in run_dirs]  # BenchmarkError for anything not a run
    labels = run_labels(run_dirs)
    hide_private = not unblind and any(run.blind_run for run in runs)
    runs = [run.view(blind=hide_private) for run in runs]  # one rule for every run's private figures

    by_key, metric_of = _aligned_records(runs)

    parts = [f"# Comparison of {len(runs)} runs", "",
             "Rows align on dataset, model label, control and parameters; the reference of each "
             "row is the first run holding it. Metrics: mean ± std over seeds, Δ = difference of "
             "means vs the reference; timings: mean over seeds, ratio vs the reference.",
             "", _run_header(labels, runs, run_dirs)]
    if hide_private:
        parts += ["", "> **Blind**: at least one run is blind, so private-test AMS and the AUC that "
                      "includes the private part are hidden for all runs (AUC on the public part "
                      "shown). Use `--unblind` once every choice is final."]
    board = comparison_leaderboard(runs, labels)
    board_plots = leaderboard_plots(board, plots_dir, plot_prefix) if plots_dir is not None else []
    if board is not None:
        parts += ["", leaderboard_section(board, board_plots)]
    by_dataset: dict[str, list[Key]] = defaultdict(list)
    lonely: list[tuple[Key, str]] = []
    for key, groups in by_key.items():
        present = [lab for lab, g in zip(labels, groups) if g]
        if len(present) > 1:
            by_dataset[key[0]].append(key)
        else:
            lonely.append((key, present[0]))
    for dataset, keys in by_dataset.items():
        cols = summary_columns(metric_of, dataset, hide_private)
        parts += ["", f"## Dataset: {plain(dataset)}"]
        notes = _dataset_notes(dataset, labels, runs)
        if notes:
            parts += [""] + notes
        has_dataset = [dataset in run.datasets for run in runs]
        for key in keys:
            parts += ["", _row_table(key, labels, by_key[key], cols, has_dataset)]
    if not by_dataset:
        parts += ["", "_No dataset/model/settings row is present in more than one run._"]
    if lonely:
        rows = [[d, m, c, code(p), run] for (d, m, c, p), run in lonely]
        parts += ["", "## Not comparable", "",
                  "Present in one run only (a different model label, control or parameters, "
                  "e.g. tuned parameters that differ between runs):", "",
                  table(["dataset", "model", "control", "params", "run"], rows, ["l"] * 5)]
    return "\n".join(parts) + "\n"


def comparison_page(path: Path) -> Path | None:
    """Where the HTML page of the comparison at `path` goes: beside it, suffix ``.html``
    (none when `path` is itself named ``.html``, which the page would overwrite)."""
    return None if path.suffix.lower() == ".html" else path.with_suffix(".html")


def write_comparison(run_dirs: Sequence[Path], out: Path | None = None, unblind: bool = False,
                     html: bool = True) -> Path:
    """Write compare_runs' Markdown atomically to `out` (default ./comparison.md), the leaderboard's
    plots under ``plots/`` beside it, and with ``html`` the same Markdown as one page (plots
    embedded) at :func:`comparison_page`; returns the Markdown's path."""
    path = Path(out) if out is not None else Path.cwd() / "comparison.md"
    text = compare_runs(run_dirs, unblind=unblind, plots_dir=path.parent, plot_prefix=f"{safe_name(path.stem)}_")
    store.write_text(path, text)
    page = comparison_page(path)
    if html and page is not None:
        store.write_text(page, report_page(text, run_images(path.parent)))
    return path
