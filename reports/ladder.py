"""A technique ladder (Strong 2020): each rung against the one before and the baseline.

A model belongs to a ladder when its records carry ``facts`` (the model registry's
``report_facts``: ladder, experiment, rung, position); a dataset has a ladder when two or
more of its models are rungs (one rung, e.g. the final DNN as a suite's deep baseline, is
no ladder). Each rung's figure on every visible test split (mean ± std over seeds), the
paired bootstrap of its difference with the previous rung and with the baseline (the first
seed's test events, the metric's own paired test), its train / validation / test times and
their ratio to the baseline's, how it fed the dataset's categorical columns and in which
precision it trained, and, on HiggsML AMS only, the paper's figures for the same experiment
(``literature.LUMIN_LADDER``: full data, their machines), which say nothing about another
dataset or metric.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from benchmarks.core.scoring import Metric
from benchmarks.run_record import Record
from benchmarks.store import StoredRun

from .literature import LUMIN_LADDER, PaperRung
from .records import by_seed
from .summaries import Values, flagged, seed_values, timing_values
from .uncertainty import N_BOOT


@dataclass(frozen=True)
class LadderRow:
    label: str
    experiment: int
    rung: str
    values: Mapping[str, Values]  # test split -> the figure per seed
    flagged: Mapping[str, bool]
    vs_previous: Mapping[str, dict | None]  # test split -> the paired comparison with the rung before
    vs_baseline: Mapping[str, dict | None]
    train_s: Values
    val_s: Values
    test_s: Values
    time_ratio: float | None  # mean training time / the baseline's
    paper: PaperRung | None
    parameters: int | None  # trainable parameters at run time (all members)
    inputs: str = ""  # how the dataset's categorical columns reached the network, e.g. "PRI_jet_num: embedding 3"
    precision: str | None = None  # what the fits ran in (info["precision"]), e.g. "fp32"


@dataclass(frozen=True)
class LadderTable:
    name: str  # which ladder (e.g. "strong-2020")
    sizing: str  # "paper" or "2-core"
    tests: tuple[str, ...]
    rows: tuple[LadderRow, ...]


def ladder_groups(groups: Mapping[str, list[Record]]) -> list[tuple[str, dict]]:
    """(label, facts) of the models that are rungs of a ladder, in ladder order."""
    rungs = [(label, recs[0].facts) for label, recs in groups.items()
             if isinstance(recs[0].facts, Mapping) and "experiment" in recs[0].facts]
    return sorted(rungs, key=lambda item: item[1].get("position", 0))


def _paired(run: StoredRun, metric: Metric, recs: Sequence[Record], other: Sequence[Record] | None,
            tests: Sequence[str]) -> dict[str, dict | None]:
    """The metric's paired bootstrap of `recs` against `other` on the first seed both have."""
    out: dict[str, dict | None] = {split: None for split in tests}
    if not other:
        return out
    theirs = by_seed(other)
    rec = next((r for r in sorted(recs, key=lambda r: r.seed) if r.seed in theirs), None)
    if rec is None:
        return out
    mine, ref = run.splits(rec), run.splits(theirs[rec.seed])
    if mine is None or ref is None:
        return out
    for split in tests:
        out[split] = metric.paired(mine[split], rec.metrics, ref[split], theirs[rec.seed].metrics,
                                   N_BOOT, rec.seed)
    return out


def paper_applies(info: Mapping, metric: Metric) -> bool:
    """The paper's figures are HiggsML AMS on the real ATLAS events: beside nothing else."""
    return info.get("name") == "higgsml" and metric.name == "ams" and not info.get("synthetic")


def categorical_inputs(info: Mapping, run_info: Mapping) -> str:
    """Each categorical column of the dataset as the model took it: embedded (with its size)
    or fed as a number; a column the model embedded that the run did not record as categorical
    is named too (runs stored before the dataset's categorical columns were recorded)."""
    embedded = run_info.get("embeddings")
    if not isinstance(embedded, Mapping):
        return ""
    declared = list(info.get("categorical") or [])
    names = declared + [c for c in embedded if c not in declared]
    return "; ".join(f"{c}: embedding {embedded[c]}" if c in embedded else f"{c} as a number" for c in names)


def _precision(recs: Sequence[Record]) -> str | None:
    seen = sorted({str(r.info["precision"]) for r in recs if isinstance(r.info, Mapping)
                   and r.info.get("precision")})
    return "/".join(seen) if seen else None


def _mean(values: Values) -> float | None:
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def ladder_table(run: StoredRun, groups: Mapping[str, list[Record]], metric: Metric,
                 tests: Sequence[str], info: Mapping | None = None) -> LadderTable | None:
    """The ladder's rows, or None when fewer than two models of the dataset are rungs."""
    rungs = ladder_groups(groups)
    if len(rungs) < 2:
        return None
    info = info or {}
    with_paper = paper_applies(info, metric)
    baseline = groups[rungs[0][0]]
    base_train = _mean(timing_values(baseline, "train_s"))
    rows, previous = [], None
    for label, facts in rungs:
        recs = groups[label]
        columns = {split: next(c for c in metric.summary_columns(False) if c.key == metric.test_key(split))
                   for split in tests}
        train = timing_values(recs, "train_s")
        mean_train = _mean(train)
        rows.append(LadderRow(
            label, int(facts["experiment"]), str(facts.get("rung", "")),
            {split: seed_values(recs, c) for split, c in columns.items()},
            {split: flagged(metric, recs, c.key) for split, c in columns.items()},
            _paired(run, metric, recs, previous, tests),
            _paired(run, metric, recs, None if recs is baseline else baseline, tests),
            train, timing_values(recs, "val_predict_s"), timing_values(recs, "predict_s"),
            None if not base_train or mean_train is None else mean_train / base_train,
            LUMIN_LADDER.get(int(facts["experiment"])) if with_paper and facts.get("ladder") == "strong-2020" else None,
            (recs[0].info or {}).get("parameters"),
            categorical_inputs(info, recs[0].info or {}), _precision(recs)))
        previous = recs
    first = rungs[0][1]
    return LadderTable(str(first.get("ladder", "")), str(first.get("sizing", "")), tuple(tests), tuple(rows))
