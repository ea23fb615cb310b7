"""The full-scale rehearsal's plumbing: which runs it makes of a suite, how it projects them,
and one real child run. Its figures are printed, never asserted (README's performance table)."""
from __future__ import annotations

import pytest

from benchmarks import perf_scale
from benchmarks.perf_scale import Case, cases, measure, project, schedule


def _suite(*models: dict) -> dict:
    return {"name": "t", "datasets": [{"name": "higgsml"}], "models": list(models)}


@pytest.mark.torch
def test_cases_keep_tabular_models_fix_dnn_epochs_and_subsample_cnns_for_one_epoch():
    suite = _suite(
        {"name": "random-forest", "params": {"n_estimators": 50}, "search": {"trials": 3, "timeout_s": 60}},
        {"name": "fcnn", "params": {"hidden": 10, "max_epochs": 100, "patience": 10}},
        {"name": "dnn-lumin-28", "label": "final", "preprocess": {"missing": "keep", "cartesian": True}},
        {"name": "supertml-text-resnet34",
         "params": {"image_size": 224, "epochs": 10, "pretrained": "auto", "training": "two-stage", "head_epochs": 2}},
    )
    forest, fcnn, dnn, cnn = cases(suite, dnn_epochs=3, cnn_events=400)

    assert forest.entry["params"] == {"n_estimators": 50} and (forest.max_events, forest.epochs) == (None, None)
    assert (forest.trials, forest.search_timeout_s) == (3, 60)

    # epoch models run a fixed number of epochs that early stopping cannot cut
    assert fcnn.entry["params"]["max_epochs"] == 3 and fcnn.entry["params"]["patience"] >= 3
    assert (fcnn.epochs, fcnn.suite_epochs) == (3, 100)
    assert dnn.family == "dnn" and dnn.label == "final" and dnn.epochs == 3
    assert dnn.suite_epochs > 3 and dnn.entry["preprocess"] == {"missing": "keep", "cartesian": True}

    # CNNs: the suite's image size, one single-stage epoch from random weights (nothing downloaded)
    p = cnn.entry["params"]
    assert p["image_size"] == 224 and p["epochs"] == 1 and p["training"] == "single" and p["pretrained"] is False
    assert "head_epochs" not in p and (cnn.max_events, cnn.epochs, cnn.suite_epochs) == (400, 1, 12)
    # the suite itself is left as it was
    assert suite["models"][3]["params"]["pretrained"] == "auto"


def _timing(train_s, n_train, val_s, predict_s, n_test, n_val):
    return {"train_s": train_s, "n_train": n_train, "val_predict_s": val_s, "predict_s": predict_s,
            "n_test": n_test, "n_val": n_val}


@pytest.mark.sklearn
def test_projection_scales_epochs_events_and_caps_searches_by_their_budget():
    n = perf_scale.FULL_EVENTS
    tabular = Case({"name": "m"}, "tabular", None, None, None, trials=0)
    assert project(tabular, _timing(10.0, 200_000, 1.0, 2.0, 550_000, 50_000), n) == pytest.approx(13.0)

    dnn = Case({"name": "m"}, "dnn", None, 5, 15, trials=0)
    assert project(dnn, _timing(10.0, 200_000, 1.0, 2.0, 550_000, 50_000), n) == pytest.approx(30.0 + 3.0)

    # a CNN measured for 1 of 10 epochs on 500 events per split: training scales to 200,000
    # events and 10 epochs, inference to the 600,000 validation, public and private events
    cnn = Case({"name": "m"}, "supertml", 500, 1, 10, trials=0)
    got = project(cnn, _timing(100.0, 500, 10.0, 20.0, 1000, 500), n)
    assert got == pytest.approx(100.0 * 10 * 200_000 / 500 + 30.0 * 600_000 / 1500)

    # 30 trials of 10 s within a 60 s budget: the last trial started finishes (70 s), plus the fit
    searched = Case({"name": "m"}, "tabular", None, None, None, trials=30, search_timeout_s=60)
    assert project(searched, _timing(10.0, 200_000, 0.0, 0.0, 550_000, 50_000), n) == pytest.approx(70.0 + 10.0)
    unbounded = Case({"name": "m"}, "tabular", None, None, None, trials=30)
    assert project(unbounded, _timing(10.0, 200_000, 0.0, 0.0, 550_000, 50_000), n) == pytest.approx(310.0)


@pytest.mark.sklearn
def test_schedule_is_longest_first_on_equal_workers():
    assert schedule([5.0, 4.0, 3.0, 3.0], 2) == 8.0  # 5+3 | 4+3
    # greedy, not optimal: 5+3 | 4+3+3 = 10 where 5+4 | 3+3+3 = 9 exists (a projection, not a plan)
    assert schedule([5.0, 4.0, 3.0, 3.0, 3.0], 2) == 10.0
    assert schedule([5.0, 4.0, 3.0], 1) == 12.0
    assert schedule([5.0, 4.0, 3.0], 10) == 5.0
    assert schedule([2.0, 2.0], 0) == 4.0  # zero workers is treated as one


@pytest.mark.sklearn
def test_memory_line_counts_every_model_but_the_cnns():
    rows = [{"model": "forest", "family": "tabular", "rss_gb": 2.0, "projected_s": 1.0, "events": 100},
            {"model": "final dnn", "family": "dnn", "rss_gb": 3.0, "projected_s": 1.0, "events": 100},
            {"model": "cnn", "family": "supertml", "rss_gb": 9.0, "projected_s": 1.0, "events": 100, "image_size": 32}]
    lines = []
    perf_scale._print_projection(rows, 2, lines.append)
    memory = next(line for line in lines if line.startswith("peak host memory"))
    assert "3.00 GiB (final dnn)" in memory
    assert any(line.startswith("cnn: peak 9.00 GiB") for line in lines)


@pytest.mark.sklearn
def test_measure_runs_one_model_through_the_command_line_in_a_child(tmp_path):
    from datasets.higgsml_toy import make_higgsml_toy, write_csv

    csv = write_csv(make_higgsml_toy(n_events=3000, seed=1), tmp_path / "toy.csv")
    case = Case({"name": "random-forest", "label": "forest", "params": {"n_estimators": 5}}, "tabular",
                None, None, None, trials=0)
    m = measure(case, csv, tmp_path, "cpu", 0)

    assert m["rss_gb"] > 0.05 and m["gpu_gb"] is None  # the child's own peak, parsed from its output
    assert m["wall_s"] >= m["train_s"] > 0
    # every event of KaggleSet t, b and v is used: train + validation from t, the rest tests
    assert m["n_train"] + m["n_val"] + m["n_test"] == pytest.approx(3000 * 800_000 / perf_scale.FULL_EVENTS, abs=3)
    assert (tmp_path / "run-0" / "results.json").exists()


@pytest.mark.sklearn
def test_a_failing_child_is_one_error_naming_the_model(tmp_path):
    from benchmarks.core.errors import BenchmarkError

    case = Case({"name": "random-forest", "label": "forest", "params": {}}, "tabular", None, None, None, trials=0)
    with pytest.raises(BenchmarkError, match="perf scale: forest failed: "):
        measure(case, tmp_path / "absent.csv", tmp_path, "cpu", 0)


@pytest.mark.tabm
@pytest.mark.realmlp
def test_tabm_and_realmlp_run_a_few_epochs_and_entries_cost_their_refits():
    suite = _suite(
        {"name": "tabm", "entries": ["default", "tuned", "tuned+ensemble"], "search": {"trials": 30},
         "ensemble": {"size": 10}},
        {"name": "realmlp", "params": {"n_epochs": 256}, "entries": ["default", "tuned"], "search": {"trials": 4}},
        {"name": "catboost"},
    )
    tabm, realmlp, catboost = cases(suite, dnn_epochs=2, cnn_events=100)
    assert tabm.entry["params"] == {"max_epochs": 2, "patience": 2} and (tabm.epochs, tabm.suite_epochs) == (2, 1000)
    assert realmlp.entry["params"] == {"n_epochs": 2} and (realmlp.epochs, realmlp.suite_epochs) == (2, 256)
    assert "entries" not in tabm.entry  # the child measures one plain fit
    # default 1 + tuned 1 + ensemble: at most min(size, trials) distinct members refitted
    assert (tabm.fits, realmlp.fits, catboost.fits) == (12, 2, 1)
    t = _timing(10.0, 200_000, 1.0, 2.0, 550_000, 50_000)
    assert project(Case({"name": "m"}, "tabular", None, None, None, trials=4, fits=2), t, perf_scale.FULL_EVENTS) \
        == pytest.approx(4 * 10.0 + 2 * 13.0)


@pytest.mark.sklearn
def test_only_the_models_asked_for_and_an_unknown_one_is_one_line():
    from benchmarks.core.errors import ConfigError

    suite = _suite({"name": "random-forest", "label": "forest"}, {"name": "xgboost"})
    assert [c.label for c in cases(suite, 1, 1, only=("xgboost",))] == ["xgboost"]
    assert [c.label for c in cases(suite, 1, 1, only=("random-forest",))] == ["forest"]
    with pytest.raises(ConfigError, match="no model 'tabm'; it has: forest, xgboost"):
        cases(suite, 1, 1, only=("tabm",))
