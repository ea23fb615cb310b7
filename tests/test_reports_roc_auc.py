"""A report for a metric that is neither AMS nor accuracy: ROC AUC on a binary table.

The run directory is written by hand (results.json, manifest.json, predictions) with the
store's own writers and the metric's own scoring, as the runner would write it.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import reports
from benchmarks import store
from benchmarks.core.scoring import SplitArrays, get_metric
from benchmarks.run_record import Record
from reports.compare import compare_runs

pytestmark = pytest.mark.sklearn

METRIC = get_metric("roc-auc")
N_VAL, N_TEST = 120, 200
SEEDS = (0, 1)


def _proba(y: np.ndarray, skill: float, rng: np.random.Generator) -> np.ndarray:
    """Scores that separate the classes by `skill` (0: pure noise; large: perfectly)."""
    s = 1.0 / (1.0 + np.exp(-(skill * (2 * y - 1) + rng.normal(size=len(y)))))
    return np.column_stack([1 - s, s]).astype(np.float32)


def _record(writer: store.RunWriter, label: str, family: str, seed: int, control: str, skill: float) -> None:
    rng = np.random.default_rng([seed, *map(ord, label), int(10 * skill), control == "none"])
    parts = {name: SimpleNamespace(name=name, y=np.random.default_rng([seed, n]).integers(0, 2, n),
                                   weights=np.ones(n)) for name, n in (("val", N_VAL), ("test", N_TEST))}
    proba = {name: _proba(p.y, skill, rng) for name, p in parts.items()}
    metrics = METRIC.score(proba["val"], parts["val"], [(parts["test"], proba["test"])], 2)
    record = {"dataset": "tiny", "model": label, "registry_name": "hand-made", "family": family, "seed": seed,
              "control": control, "params": {}, "metrics": metrics, "device": "cpu", "info": {},
              "timing": {"train_s": 0.5 + seed, "val_predict_s": 0.01, "predict_s": 0.02,
                         "predict_per_1k_s": 0.1, "n_train": 300, "n_test": N_TEST}}
    arrays = {f"{name}_{k}": v for name, p in parts.items()
              for k, v in (("proba", proba[name]), ("y", p.y), ("w", p.weights))}
    writer.add_record(Record.from_json(record), arrays)


@pytest.fixture(scope="module")
def auc_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("auc") / "run"
    run.mkdir()
    writer = store.RunWriter.start(run, "tiny-auc", False, {"command": "hand-made", "device": "cpu"}, {})
    counts = {"train": 300, "val": N_VAL, "test": N_TEST}
    writer.describe("tiny", {
        "name": "tiny", "source": "hand-made binary table", "synthetic": False, "metric": "roc-auc",
        "task": "binary", "n_events": sum(counts.values()), "n_features": 3, "features": ["a", "b", "c"],
        "class_names": ["neg", "pos"], "weight_totals": {}, "notes": [], "preprocess": {"standardise": True},
        "seeds": list(SEEDS), "splits": {name: {"events": n} for name, n in counts.items()}})
    for seed in SEEDS:
        # "leaky" learns the labels even when they are shuffled: its control must be flagged.
        for label, family, skill, shuffled_skill in (("good", "tabular", 2.0, 0.0), ("weak", "tabular", 0.5, 0.0),
                                                     ("leaky", "supertml", 1.0, 3.0)):
            _record(writer, label, family, seed, "none", skill)
            _record(writer, label, family, seed, "shuffled", shuffled_skill)
    return run


def _rows(md: str, heading: str) -> dict[str, list[str]]:
    block = md.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines() if line.startswith("| ")]
    return {r[0] + ("/" + r[1] if heading == "### Statistics" else ""): r for r in rows[1:]}


def test_roc_auc_report(auc_run, tmp_path):
    run = shutil.copytree(auc_run, tmp_path / "run")
    stored = store.open_run(run)
    md = reports.write_report(stored).read_text()
    recs = {(r.model, r.control, r.seed): r for r in stored.records}
    assert "metric: ROC AUC" in md and "test ROC AUC" in md
    good = [recs["good", "none", s].metrics["roc_auc"] for s in SEEDS]
    assert _rows(md, "### Results")["good"][2] == f"{np.mean(good):.4f} ± {np.std(good, ddof=1):.4f}"
    # The interval is the metric's bootstrap on the first seed's stored predictions.
    rec = recs["weak", "none", 0]
    arrays = SplitArrays.from_npz(store._load_npz(run / rec.predictions, SplitArrays.keys("test")), "test")
    low, high = METRIC.interval(arrays, rec.metrics, 1000, 0)
    stats_row = _rows(md, "### Statistics")["weak/test"]
    assert stats_row[2] == f"{rec.metrics['roc_auc']:.4f} [{low:.4f}, {high:.4f}]"
    assert "vs good" in md and stats_row[3].startswith("-")  # the weak model is worse than the reference
    control = _rows(md, "### Shuffled-label control")
    assert METRIC.text.chance_title in md
    assert control["leaky"][4] == "**no in 2 of 2 seeds**"
    assert control["good"][4] == "yes"
    assert "audit" not in md.lower()  # ROC AUC has no audit
    assert "_cut.png" not in md and "tiny_roc.png" in md  # no threshold curve; the ROC plot is there
    assert (run / "plots" / "tiny_roc.png").stat().st_size > 0
    assert "| leaky |" in md.split("### SuperTML models", 1)[1]


def test_roc_auc_console_and_compare(auc_run, tmp_path):
    other = shutil.copytree(auc_run, tmp_path / "other")
    summary = reports.console_summary(store.open_run(auc_run))
    assert "ROC AUC" in summary and "good" in summary
    md = compare_runs([auc_run, other])
    assert "| ROC AUC | Δ ROC AUC |" in md and "| 0.0000 |" in md


def test_roc_auc_intervals_on_a_small_imbalanced_split():
    """5 positives in 30 events: a plain bootstrap draws resamples without a positive (AUC
    undefined, the report would stop); the metric resamples within each class instead."""
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(5, dtype=int), np.zeros(25, dtype=int)]
    assert any(len(np.unique(y[rng.integers(0, 30, 30)])) < 2 for _ in range(1000))
    s_a, s_b = rng.uniform(size=30) + 0.4 * y, rng.uniform(size=30)
    a = SplitArrays(y, np.column_stack([1 - s_a, s_a]), np.ones(30))
    b = SplitArrays(y, np.column_stack([1 - s_b, s_b]), np.ones(30))
    low, high = METRIC.interval(a, {}, 1000, 0)
    assert low < METRIC.value(a, {}) < high
    c = METRIC.paired(a, {}, b, {}, 1000, 0)
    assert c["diff"] == pytest.approx(METRIC.value(a, {}) - METRIC.value(b, {}))
    assert c["ci_low"] < c["diff"] < c["ci_high"] and 0 < c["p_value"] <= 1
