"""The CLI end to end on the `smoke` suite, and the `higgsml` suite's tabular models on the
real 10k-event excerpt in ../shared/data when present."""
import json

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.suite import load_suite
from models import backend_available, model_info

pytestmark = pytest.mark.sklearn


def _need_backends(suite):
    for m in suite.models:
        backend = model_info(m.name).backend
        if not backend_available(backend):
            pytest.skip(f"suite needs {backend}")


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.xgboost
@pytest.mark.lightgbm
@pytest.mark.catboost
@pytest.mark.tabm
@pytest.mark.realmlp
def test_smoke_suite_end_to_end(tmp_path, capsys):
    suite = load_suite("smoke")
    _need_backends(suite)
    out = tmp_path / "smoke"
    assert main(["run", "--suite", "smoke", "--out", str(out), "--quiet", "--device", "cpu"]) == 0
    results = json.loads((out / "results.json").read_text())
    labels = {m.label for m in suite.models}
    for ds in ("higgsml-toy", "iris"):
        got = {r["model"] for r in results["records"] if r["dataset"] == ds}
        assert got == labels, f"{ds}: missing {labels - got}"
    toy = [r for r in results["records"] if r["dataset"] == "higgsml-toy"]
    for r in toy:
        for key in ("ams_public", "ams_private", "ams_val", "cut", "auc"):
            assert np.isfinite(r["metrics"][key]), (r["model"], key)
    # Tabular models learn the synthetic signal; so does at least one CNN.
    assert max(r["metrics"]["auc"] for r in toy if r["family"] == "tabular") > 0.75
    assert max(r["metrics"]["auc"] for r in toy if r["family"] == "supertml") > 0.6
    assert "smoke/random-forest" not in results["tuning"]  # keys are dataset/model/seed (nested searches)
    assert results["tuning"]["higgsml-toy/random-forest/seed 0"]["trials"] >= 3
    # One search serves the tuned and the tuned+ensemble entries; the ensemble came from its trials.
    catboost = results["tuning"]["higgsml-toy/catboost/seed 0"]
    assert catboost["trials"] == 3 and 1 <= len(catboost["ensemble"]["members"]) <= 3
    entries = {r["model"]: r for r in toy if r["model"].startswith("catboost")}
    assert entries["catboost (tuned+ensemble)"]["params"]["ensemble"] == catboost["ensemble"]["members"]
    assert entries["catboost (default)"]["timing"]["tune_s"] == 0 < entries["catboost (tuned)"]["timing"]["tune_s"]
    report = (out / "report.md").read_text()
    for heading in ("### Results", "### SuperTML models", "### AMS audit", "### Statistics", "### Timing",
                    "### Hyper-parameter search (Optuna)", "Synthetic data", "NOT produced by this run"):
        assert heading in report, heading
    assert "supertml-text-VF" in capsys.readouterr().out


def test_higgsml_suite_tabular_models_on_shared_sample(tmp_path, shared_higgs_path):
    suite = load_suite("higgsml")
    tabular = [m.label for m in suite.models if model_info(m.name).family == "tabular"
               and backend_available(model_info(m.name).backend) and m.entry in (None, "default")]
    out = tmp_path / "higgs"
    rc = main(["run", "--suite", "higgsml", "--data", str(shared_higgs_path), "--models", ",".join(tabular),
               "--seeds", "2", "--no-tune", "--out", str(out), "--quiet", "--device", "cpu"])
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    info = results["datasets"]["higgsml"]
    assert info["n_events"] == 9998 and not info["synthetic"]
    assert any("halves of the outer fold" in n for n in info["notes"])
    assert info["resampling"]["scheme"] == "folds" and info["resampling"]["folds"] == 5
    # Every split is renormalised to the full-data totals.
    for part in info["splits"].values():
        assert part["weight_s"] == pytest.approx(691.988607711987)
        assert part["weight_b"] == pytest.approx(410999.847321811)
    recs = results["records"]
    assert {r["model"] for r in recs} == set(tabular) and len(recs) == 2 * len(tabular)
    for r in recs:
        assert r["metrics"]["auc"] > 0.8, r["model"]
        assert 0.5 < r["metrics"]["ams_public"] < 6 and 0.5 < r["metrics"]["ams_private"] < 6
    report = (out / "report.md").read_text()
    assert "blinded" in report and "Blind mode" in report
    # The report hides private AMS in blind mode but the stored results keep it for --unblind.
    assert main(["report", str(out), "--unblind"]) == 0
    assert "blinded" not in (out / "report.md").read_text()
