"""The report's structure: the section registry, the plain data renderers get, the metric
objects' verdicts and audit columns, and what ``reports`` may import."""
from __future__ import annotations

import dataclasses
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reports
from benchmarks import store
from benchmarks.core import audit
from benchmarks.core.scoring import get_metric
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite
from reports.analysis import analyse_run
from reports.plots import make_plots
from reports.sections import SECTIONS, SectionContext, render_dataset
from reports.tables import fmt_mean_std

pytestmark = pytest.mark.sklearn

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> Path:
    raw = {"name": "iris-sections", "datasets": [{"name": "iris", "repeats": 2}],
           "models": [{"name": "random-forest", "params": {"n_estimators": 10}}]}
    out = tmp_path_factory.mktemp("iris") / "run"
    return run_suite(parse_suite(raw), out, RunOptions(progress=False, tune=False, control="shuffled"),
                     log=lambda s: None).run_dir


def test_every_section_is_one_function_of_the_context():
    names = [s.name for s in SECTIONS]
    assert len(set(names)) == len(names)
    for section in SECTIONS:
        params = list(inspect.signature(section.render).parameters)
        assert params == ["ctx"], section.name


def test_report_follows_the_registry_order(iris_run, tmp_path):
    run = shutil.copytree(iris_run, tmp_path / "run")
    md = reports.write_report(store.open_run(run)).read_text()
    headings = ["## Dataset: iris", "### Results", "### Shuffled-label control", "### Statistics", "### Timing",
                "### Plots"]
    positions = [md.index(h) for h in headings]
    assert positions == sorted(positions)
    # Accuracy has no audit, and no SuperTML model or search ran.
    body = md.split("## Dataset", 1)[1]  # the header quotes the command line, test file names included
    assert "audit" not in body.lower() and "### SuperTML" not in body and "Optuna" not in body


def test_renderers_read_no_file(iris_run, tmp_path, monkeypatch):
    """Sections format the analysed data; every prediction was read by the analysis step."""
    analysis = analyse_run(store.open_run(iris_run))

    def no_reads(*args, **kwargs):
        raise AssertionError("a renderer read a prediction file")

    monkeypatch.setattr(store, "_load_npz", no_reads)
    monkeypatch.setattr(np, "load", no_reads)
    parts = render_dataset(SectionContext(analysis, analysis.datasets[0]))
    assert len(parts) == 5  # dataset, results, control, statistics, timing (no plots were made)


def test_rerendered_plots_are_identical(iris_run, tmp_path):
    """The same stored run gives the same PNG bytes, the timing plot's jittered seed dots included."""
    run = shutil.copytree(iris_run, tmp_path / "run")
    analysis = analyse_run(store.open_run(run))
    first = {p.path: (run / p.path).read_bytes() for p in make_plots(analysis, run)["iris"]}
    np.random.seed(None)  # whatever the global generator holds, the plots do not depend on it
    second = {p.path: (run / p.path).read_bytes() for p in make_plots(analysis, run)["iris"]}
    assert "plots/iris_timing.png" in first and first == second


def test_dataset_without_records_says_so(iris_run):
    run = store.open_run(iris_run)
    run = dataclasses.replace(run, records=tuple(r for r in run.records if r.dataset != "iris"))
    analysis = analyse_run(run)
    parts = render_dataset(SectionContext(analysis, analysis.datasets[0]))
    assert parts[0].startswith("## Dataset: iris") and parts[1:] == ["_No results recorded for this dataset._"]


def test_control_verdicts_over_seeds():
    accuracy, ams = get_metric("accuracy"), get_metric("ams")
    assert accuracy.control_summary([(True, "yes"), (True, "yes")]) == "yes"
    assert accuracy.control_summary([(True, "yes"), (False, "**no**"), (False, "**no**")]) == "**no in 2 of 3 seeds**"
    just_above = ams.control_verdict(1.15, 1.0, 1.1, 3.0)
    leak = ams.control_verdict(1.5, 1.0, 1.1, 3.0)
    assert ams.control_summary([just_above]) == just_above[1]
    summary = ams.control_summary([(True, "yes"), leak, (True, "yes")])
    assert summary == f"{leak[1]} in 1 of 3 seeds; yes in 2 of 3 seeds"  # failures first


def test_audit_rows_name_their_columns():
    rng = np.random.default_rng(0)
    parts = [audit.ScoredPart(name, rng.uniform(size=500), rng.integers(0, 2, 500), rng.uniform(1, 2, 500))
             for name in ("public", "private")]
    rows = audit.audit_table(parts, 0.5, n_subsamples=5)
    assert [r["column"] for r in rows] == ["honest", "max over cuts (optimistic)", "combined",
                                          "subsample max (chance)", "subsample max (chance)", "fixed cut"]
    assert [r.get("split") for r in rows if r["kind"] == "chance"] == ["public", "private"]
    assert rows[3]["cells"] == {"public": rows[3]["values"]["max"]}
    assert rows[0]["cells"] == {k: v for k, v in rows[0]["values"].items() if k != "cut"}
    alone = audit.audit_table(parts[:1], 0.5, n_subsamples=5)
    assert alone[2]["kind"] == "inflated" and alone[2]["cells"] == {}  # nothing to combine


def test_fmt_mean_std():
    assert fmt_mean_std([1.0, 2.0, None, float("nan")]) == "1.500 ± 0.707"
    assert fmt_mean_std([0.5], 1, pct=True) == "50.0%"
    assert fmt_mean_std([None]) == "–"


def test_reports_import_no_model_data_or_encoder_code():
    code = ("import sys, reports, reports.analysis, reports.plots, reports.sections; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'datasets', 'models', 'encoders'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- technique ladder


def _as_rungs(run: Path, rungs: dict[str, int], **dataset_changes) -> Path:
    """Mark the records of the models in ``rungs`` (label -> experiment) as rungs of Strong's
    ladder with a DNN's info, optionally renaming the dataset's stored facts; writes results.json."""
    results = store.read_json(run / store.RESULTS)
    for rec in results["records"]:
        if rec["model"] in rungs:
            exp = rungs[rec["model"]]
            rec["facts"] = {"ladder": "strong-2020", "experiment": exp, "rung": f"rung {exp}",
                            "position": exp, "sizing": "2-core"}
            rec["info"] = {**rec.get("info", {}), "precision": "fp32", "parameters": 1000 + exp,
                           "embeddings": {"PRI_jet_num": 3} if exp >= 4 else {}}
    for info in results["datasets"].values():
        info.update(dataset_changes)
    if "name" in dataset_changes:  # a renamed dataset is stored under its new name
        results["datasets"] = {info["name"]: info for info in results["datasets"].values()}
        for rec in results["records"]:
            rec["dataset"] = dataset_changes["name"]
    store.write_json(run / store.RESULTS, results)
    return run


def _ladder_parts(run: Path) -> tuple[str, list]:
    analysis = analyse_run(store.open_run(run, unblind=True))
    (data,) = analysis.datasets
    plots = make_plots(analysis, run)[data.name]
    ctx = SectionContext(analysis, data, tuple(plots))
    section = next(s for s in SECTIONS if s.name == "ladder").render(ctx)
    return section, [p for p in plots if "_ladder_" in p.path]


@pytest.fixture(scope="module")
def iris_two_models(tmp_path_factory) -> Path:
    raw = {"name": "iris-ladder", "datasets": [{"name": "iris", "repeats": 2}],
           "models": [{"name": "random-forest", "label": "a", "params": {"n_estimators": 5}},
                      {"name": "random-forest", "label": "b", "params": {"n_estimators": 5, "max_depth": 2}}]}
    out = tmp_path_factory.mktemp("iris-ladder") / "run"
    return run_suite(parse_suite(raw), out, RunOptions(progress=False, tune=False), log=lambda s: None).run_dir


@pytest.fixture(scope="module")
def toy_two_models(tmp_path_factory) -> Path:
    raw = {"name": "toy-ladder", "datasets": [{"name": "higgsml-toy", "options": {"n_events": 2000, "seed": 0},
                                               "repeats": 1, "preprocess": {"missing": "impute"}}],
           "models": [{"name": "random-forest", "label": "a", "params": {"n_estimators": 5}},
                      {"name": "random-forest", "label": "b", "params": {"n_estimators": 5, "max_depth": 3}}]}
    out = tmp_path_factory.mktemp("toy-ladder") / "run"
    return run_suite(parse_suite(raw), out, RunOptions(progress=False, tune=False), log=lambda s: None).run_dir


def test_one_rung_is_no_ladder(iris_two_models, tmp_path):
    """The default suite's final DNN is one rung per dataset: no ladder section, no ladder plot."""
    run = _as_rungs(shutil.copytree(iris_two_models, tmp_path / "run"), {"a": 28})
    section, plots = _ladder_parts(run)
    assert section == "" and plots == []
    assert "Technique ladder" not in reports.write_report(store.open_run(run)).read_text()


def test_two_rungs_off_higgsml_have_no_paper_figures(iris_two_models, tmp_path):
    run = _as_rungs(shutil.copytree(iris_two_models, tmp_path / "run"), {"a": 0, "b": 4})
    section, plots = _ladder_parts(run)
    assert "### Technique ladder" in section and "| precision |" in section and "| fp32 |" in section
    assert "paper:" not in section and "3.381" not in section and "3.637" not in section  # rungs 0 and 4's paper AMS
    assert "test test" not in section and "events of the test split" in section
    # iris declares no categorical column: the embedding shows without a claim about how iris was fed
    assert "1,000 |" in section and "1,004 (PRI_jet_num: embedding 3)" in section
    assert len(plots) == 2 and not any("paper" in p.caption for p in plots)


def test_higgsml_ams_ladder_has_the_paper_figures(toy_two_models, tmp_path):
    run = shutil.copytree(toy_two_models, tmp_path / "run")
    assert store.open_run(run).datasets["higgsml-toy"]["categorical"] == ["PRI_jet_num"]  # the run records the data's fact
    toy_section, _ = _ladder_parts(_as_rungs(run, {"a": 0, "b": 4}))
    assert "paper:" not in toy_section  # synthetic events: the paper's figures are not beside them
    assert "1,000 (PRI_jet_num as a number)" in toy_section and "1,004 (PRI_jet_num: embedding 3)" in toy_section
    section, plots = _ladder_parts(_as_rungs(run, {"a": 0, "b": 4}, name="higgsml", synthetic=False))
    assert "| paper: private AMS |" in section and "3.381 ± 0.046" in section and "3.637 ± 0.016" in section
    assert any("the paper's private AMS beside" in p.caption for p in plots)


def test_published_figures_only_for_the_runs_real_tables():
    from reports.markdown import literature_section

    iris = literature_section(["iris", "breast-cancer"])
    assert "93.33%" in iris and "HiggsML" not in iris and "97.30%" not in iris
    assert "3.979" in literature_section(["higgsml"]) and "AMS 3.40" in literature_section(["higgsml"])
    assert literature_section(["higgsml-toy", "digits"]) == ""  # synthetic events are not the paper's data
