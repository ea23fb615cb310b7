"""Blind mode, section by section: no private figure is shown and no private array is read.

The run is made by the harness on the synthetic ``higgsml-toy`` data (public and private
test splits, like HiggsML), so no shared data file is needed. Every stored private figure
is then replaced by a sentinel value that cannot occur by accident, so a private figure
that reached a report would be seen.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import reports
from benchmarks import store
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite
from reports.analysis import analyse_run
from reports.plots import make_plots
from reports.sections import SECTIONS, SectionContext

pytestmark = pytest.mark.sklearn

PRIVATE_AMS, PRIVATE_AUC = 777.777, 77.7777  # shown as "777.777" and "77.778"
SENTINELS = ("777.777", "77.778")


@pytest.fixture(scope="module")
def blind_run(tmp_path_factory) -> Path:
    """Two random forests, two seeds, shuffled-label control, a short search and importance, blind.

    The two models also stand for two rungs of a technique ladder, so that its section renders."""
    raw = {"name": "toy-blind", "blind": True,
           "datasets": [{"name": "higgsml-toy", "options": {"n_events": 2000, "seed": 0}, "repeats": 2,
                         "preprocess": {"missing": "impute", "standardise": True}}],
           "models": [{"name": "random-forest", "params": {"n_estimators": 10}, "search": {"trials": 2}},
                      {"name": "random-forest", "label": "rf-images", "params": {"n_estimators": 10, "max_depth": 3}}]}
    out = tmp_path_factory.mktemp("blind") / "run"
    run_suite(parse_suite(raw), out, RunOptions(progress=False, control="shuffled", importance=2), log=lambda s: None)
    results = store.read_json(out / store.RESULTS)
    for rec in results["records"]:
        experiment = 0 if rec["model"] == "random-forest" else 1
        rec["facts"] = {"ladder": "strong-2020", "experiment": experiment, "rung": f"rung {experiment}",
                        "position": experiment, "sizing": "2-core"}
        for key in rec["metrics"]:
            if "private" in key:
                rec["metrics"][key] = PRIVATE_AMS
        rec["metrics"]["auc"] = PRIVATE_AUC  # public and private together
        if rec["model"] == "rf-images":  # stands for a SuperTML model, so that its section renders too
            rec["family"] = "supertml"
            rec["info"] = {"encoder": "pixels", "encoder_options": {"layout": "bars"}, "image_size": "32x32",
                           "backbone": "resnet10t", "pretrained": False, "training": "single", "precision": "fp32",
                           "epochs_run": 2}
    store.write_json(out / store.RESULTS, results)
    return out


@pytest.fixture
def read_keys(monkeypatch) -> list[list[str] | None]:
    """Every ``keys`` argument reports pass to ``store._load_npz`` (where prediction files are opened)."""
    calls: list[list[str] | None] = []
    original = store._load_npz

    def spy(path, keys):
        calls.append(None if keys is None else list(keys))
        return original(path, keys)

    monkeypatch.setattr(store, "_load_npz", spy)
    return calls


def _sections(run: Path, unblind: bool) -> dict[str, str]:
    analysis = analyse_run(store.open_run(run, unblind=unblind))
    plots = make_plots(analysis, run)
    (data,) = analysis.datasets
    ctx = SectionContext(analysis, data, tuple(plots[data.name]))
    return {s.name: s.render(ctx) for s in SECTIONS}


def test_blind_sections_show_and_read_nothing_private(blind_run, tmp_path, read_keys):
    run = shutil.copytree(blind_run, tmp_path / "run")
    sections = _sections(run, unblind=False)
    assert all(sections.values()), [name for name, text in sections.items() if not text]  # none vacuous
    for name, text in sections.items():
        for sentinel in SENTINELS:
            assert sentinel not in text, (name, sentinel)
    assert read_keys and all(keys is not None for keys in read_keys)  # always named arrays, never the whole file
    assert not [k for keys in read_keys for k in keys if k.startswith("private")]
    assert "| blinded |" in sections["results"] and "AUC public" in sections["results"]
    assert "| private |" not in sections["statistics"] and "| public |" in sections["statistics"]
    assert "honest public" in sections["audit"]
    assert "private" not in sections["audit"].split("\n\n")[2]  # the audit table: no private or combined column
    assert "combined" not in sections["audit"].split("\n\n")[2]
    assert "hidden in blind mode" in sections["audit"]
    assert "blind: private part not used" in sections["plots"]


def test_unblind_sections_show_private_figures(blind_run, tmp_path, read_keys):
    """The same checks can fail: with --unblind the sentinels and private reads are there."""
    run = shutil.copytree(blind_run, tmp_path / "run")
    sections = _sections(run, unblind=True)
    assert "777.777" in sections["results"] and "77.778" in sections["results"]
    assert "| private |" in sections["statistics"] and "honest private" in sections["audit"]
    assert any(k.startswith("private") for keys in read_keys for k in keys)


def test_blind_report_needs_no_private_array(blind_run, tmp_path):
    """Removing every private array from the prediction files changes nothing in a blind report."""
    run = shutil.copytree(blind_run, tmp_path / "run")
    before = reports.write_report(store.open_run(run)).read_text()
    for path in (run / store.PREDICTIONS).glob("*.npz"):
        with np.load(path) as npz:
            kept = {k: npz[k] for k in npz.files if not k.startswith("private")}
        store.write_npz(path, **kept)
    assert reports.write_report(store.open_run(run)).read_text() == before  # read afresh: the stripped files
    assert "Blind mode" in before and not any(s in before for s in SENTINELS)
    assert "blinded" in reports.console_summary(store.open_run(run))
    assert "777.777" in reports.console_summary(store.open_run(run, unblind=True))
