"""Tuning time per record (benchmarks/runner.py): every seed's record carries its model's search seconds."""
from __future__ import annotations

import pytest

from benchmarks import store
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite

pytestmark = pytest.mark.sklearn


def _run(tmp_path, scope: str):
    raw = {"name": "tune-time", "datasets": [{"name": "iris", "repeats": 2}],
           "models": [{"name": "random-forest", "params": {"n_estimators": 5}, "search": {"trials": 2, "scope": scope}},
                      {"name": "random-forest", "label": "plain", "params": {"n_estimators": 5}}]}
    run = run_suite(parse_suite(raw), tmp_path / scope, RunOptions(progress=False), log=lambda m: None)
    run = store.open_run(run.run_dir)
    tuned = [r for r in run.records if r.model == "random-forest"]
    plain = [r for r in run.records if r.model == "plain"]
    assert len(tuned) == len(plain) == 2
    assert all(not r.tuned and r.timing["tune_s"] == 0.0 for r in plain)  # none without a search
    return run, tuned


def test_a_once_per_dataset_search_charges_every_seed_its_whole_seconds(tmp_path):
    run, tuned = _run(tmp_path, "once")
    search_s = run.tuning["iris/random-forest"]["search_s"]
    assert search_s > 0
    assert all(r.tuned and r.timing["tune_s"] == search_s for r in tuned)  # one search serves them all


def test_a_nested_search_charges_only_the_seed_it_served(tmp_path):
    run, tuned = _run(tmp_path, "fold")
    for r in tuned:
        own = run.tuning[f"iris/random-forest/seed {r.seed}"]["search_s"]
        assert own > 0 and r.tuned and r.timing["tune_s"] == own
    assert tuned[0].timing["tune_s"] != tuned[1].timing["tune_s"]  # two searches, two timings
