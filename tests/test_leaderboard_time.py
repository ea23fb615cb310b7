"""Tuning time per record (benchmarks/runner.py): every seed's record carries its model's search seconds."""
from __future__ import annotations

import pytest

from benchmarks import store
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite

pytestmark = pytest.mark.sklearn


def test_every_record_carries_the_search_seconds_of_its_model_and_dataset(tmp_path):
    raw = {"name": "tune-time", "datasets": [{"name": "iris", "repeats": 2}],
           "models": [{"name": "random-forest", "params": {"n_estimators": 5}, "search": {"trials": 2}},
                      {"name": "random-forest", "label": "plain", "params": {"n_estimators": 5}}]}
    run = run_suite(parse_suite(raw), tmp_path / "run", RunOptions(progress=False), log=lambda m: None)
    results, _ = store.load_run(run)
    search_s = results["tuning"]["iris/random-forest"]["search_s"]
    assert search_s > 0
    tuned = [r for r in results["records"] if r["model"] == "random-forest"]
    plain = [r for r in results["records"] if r["model"] == "plain"]
    assert len(tuned) == len(plain) == 2
    # The same share on every seed (one search serves them all); none without a search.
    assert all(r["tuned"] and r["timing"]["tune_s"] == search_s for r in tuned)
    assert all(not r["tuned"] and r["timing"]["tune_s"] == 0.0 for r in plain)
