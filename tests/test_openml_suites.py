"""OpenML tables in suites and runs: the shipped suites, an offline run of the paper's suite,
and a run on a cached fixture table end to end (network cut, as in test_openml.py)."""
from __future__ import annotations

import pytest
from test_openml import DATA_ID, no_network, write_openml_cache  # noqa: F401 - no_network is autouse

from benchmarks import store
from benchmarks.core.errors import DataError
from benchmarks.runner import RunOptions, plan_run, run_suite
from benchmarks.suite import load_suite, parse_suite
from reports import write_report

pytestmark = pytest.mark.sklearn

# OpenML-CC18 (study 99): its 72 data set ids.
CC18 = {3, 6, 11, 12, 14, 15, 16, 18, 22, 23, 28, 29, 31, 32, 37, 38, 44, 46, 50, 54, 151, 182, 188, 300, 307, 458,
        469, 554, 1049, 1050, 1053, 1063, 1067, 1068, 1461, 1462, 1464, 1468, 1475, 1478, 1480, 1485, 1486, 1487,
        1489, 1494, 1497, 1501, 1510, 1590, 4134, 4534, 4538, 6332, 23381, 23517, 40499, 40668, 40670, 40701, 40923,
        40927, 40966, 40975, 40978, 40979, 40982, 40983, 40984, 40994, 40996, 41027}


def test_tabular_small_is_10_to_20_distinct_cc18_tables():
    suite = load_suite("tabular-small")
    ids = [int(d.name.removeprefix("openml:")) for d in suite.datasets]
    assert all(d.name.startswith("openml:") for d in suite.datasets)
    assert 10 <= len(ids) <= 20 and len(set(ids)) == len(ids) and set(ids) <= CC18


def test_supertml_paper_has_the_papers_four_tables():
    suite = load_suite("supertml-paper")
    assert [d.name for d in suite.datasets] == ["iris", "wine", "openml:1590", "higgsml"]
    assert suite.blind


@pytest.mark.xgboost  # the suite's models are checked first: it needs every backend
@pytest.mark.lightgbm
@pytest.mark.torch
def test_supertml_paper_offline_fails_before_any_work_naming_the_table_and_the_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn"))
    with pytest.raises(DataError) as info:
        plan_run(load_suite("supertml-paper"), RunOptions(progress=False))
    msg = str(info.value)
    assert "\n" not in msg and "openml:1590" in msg and "python -m benchmarks fetch openml:1590" in msg


def test_a_cached_openml_table_runs_end_to_end_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn"))
    write_openml_cache(tmp_path / "sklearn")
    raw = {"name": "openml-mini",
           "datasets": [{"name": "openml", "options": {"id": DATA_ID}, "repeats": 1,
                         "preprocess": {"missing": "impute"}}, {"name": "iris", "repeats": 1}],
           "models": [{"name": "random-forest", "params": {"n_estimators": 10}},
                      {"name": "random-forest", "label": "rf-shallow", "params": {"n_estimators": 10, "max_depth": 2}}]}
    run = run_suite(parse_suite(raw), tmp_path / "run", RunOptions(progress=False, tune=False), log=lambda m: None)
    run = store.open_run(run.run_dir)
    name = f"adult-mini-{DATA_ID}"
    assert {r.dataset for r in run.records} == {name, "iris"}
    report = write_report(run).read_text()
    assert f"## Dataset: {name}" in report and "https://www.openml.org/d/90001" in report
    assert "Categorical columns (1: workclass)" in report and "ordinal" in report
    assert "## Leaderboard across datasets" in report
