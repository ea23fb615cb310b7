"""Repeats as outer folds: disjoint test parts within a repetition, nested searches."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from benchmarks import pipeline, store
from benchmarks.core.errors import ConfigError, DataError
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite
from datasets import Repeat, load_dataset, make_splits

pytestmark = pytest.mark.sklearn

RF = {"name": "random-forest", "params": {"n_estimators": 5, "n_jobs": 1}}
TOY = {"name": "higgsml-toy", "options": {"n_events": 1500, "with_test_sets": False}}


def _suite(datasets, models=(RF,), **extra):
    return parse_suite({"name": "t", "datasets": list(datasets), "models": list(models), **extra})


def _tested(splits) -> list[int]:
    return [int(i) for p in splits.tests for i in p.ids]


@pytest.mark.parametrize("dataset", [{"name": "wine"}, TOY], ids=["held-out test", "carved public/private"])
def test_within_a_repetition_every_row_is_tested_exactly_once(dataset):
    suite = _suite([{**dataset, "folds": 4, "repeats": 8}])
    spec = suite.datasets[0]
    ds = pipeline.load_for_spec(spec, None)
    everything = set(ds.ids.tolist() if ds.ids is not None else range(ds.n_events))
    partitions = []
    for repetition in range(2):
        seeds = [repetition * 4 + f for f in range(4)]
        counts = Counter(i for seed in seeds for i in _tested(pipeline.raw_splits(ds, spec, seed)))
        assert set(counts) == everything and set(counts.values()) == {1}
        for seed in seeds:  # and the rest of the data trains: nothing lost, nothing twice
            s = pipeline.raw_splits(ds, spec, seed)
            parts = [*s.train.ids, *s.val.ids, *_tested(s)]
            assert len(parts) == len(set(parts)) == len(everything)
        partitions.append([sorted(_tested(pipeline.raw_splits(ds, spec, seed))) for seed in seeds])
    assert partitions[0] != partitions[1]  # each repetition shuffles anew


def test_folds_default_from_test_fraction_and_are_stratified():
    spec = _suite([{"name": "iris", "test_fraction": 0.25}]).datasets[0]
    assert spec.k == 4 and _suite([{"name": "iris"}]).datasets[0].k == 5
    s = make_splits(load_dataset("iris"), 0, repeat=spec.repeat(2))
    assert sorted(np.bincount(s.test("test").y).tolist()) in ([12, 12, 13], [12, 13, 13])
    assert len(s.val) == pytest.approx(30, abs=1)  # val_fraction of every event, from the training folds


def test_the_base_seed_moves_the_folds():
    ds = load_dataset("iris")
    a = make_splits(ds, 0, repeat=Repeat(0, 5, base_seed=0))
    b = make_splits(ds, 3, repeat=Repeat(0, 5, base_seed=3))
    assert a.test("test").ids.tolist() != b.test("test").ids.tolist()


def test_a_nested_search_sees_only_its_own_folds_training_part(monkeypatch, tmp_path):
    suite = _suite([{**TOY, "repeats": 5}], models=({**RF, "search": {"trials": 1}},))
    spec = suite.datasets[0]
    assert not spec.search_pool  # nested searches need no pool: every event is tested once
    ds = pipeline.load_for_spec(spec, None)
    seen = []

    def fake_tune(self, job, resources, log):
        seen.append((job.model_seed, job.splits))
        return {"min_samples_leaf": 1 + job.model_seed}, {"best_params": {}, "search_s": 0.5 + job.model_seed}

    monkeypatch.setattr("benchmarks.executors.LocalExecutor.search", fake_tune)
    out = run_suite(suite, tmp_path / "r", RunOptions(progress=False), log=lambda m: None).run_dir
    assert [seed for seed, _ in seen] == [0, 1, 2, 3, 4]  # one search per repeat
    for seed, searched in seen:
        fold = pipeline.raw_splits(ds, spec, seed)
        ids = set(searched.train.ids) | set(searched.val.ids)
        assert searched.tests == () and not ids & set(_tested(fold))
        assert ids == set(fold.train.ids) | set(fold.val.ids)
    run = store.open_run(out)
    for r in run.records:  # each fit uses its own fold's search, and is charged its seconds
        assert r.params["min_samples_leaf"] == 1 + r.seed and r.timing["tune_s"] == 0.5 + r.seed
    assert sorted(run.tuning) == [f"higgsml-toy/random-forest/seed {s}" for s in range(5)]
    facts = run.datasets["higgsml-toy"]["resampling"]
    assert facts["scheme"] == "folds" and facts["folds"] == 5 and facts["repetitions"] == 1
    assert facts["search"] == "nested" and not facts["search_pool"]
    assert facts["test_train_ratio"] == pytest.approx(300 / 1200)
    # a public or private figure rests on its half of the fold: its correction uses that half's size
    assert facts["test_train_ratios"] == pytest.approx({"public": 150 / 1200, "private": 150 / 1200})
    from reports.records import resampling_ratio

    info = run.datasets["higgsml-toy"]
    assert resampling_ratio(info, "private") == pytest.approx(0.125) and resampling_ratio(info) == pytest.approx(0.25)
    assert resampling_ratio({"resampling": {"test_train_ratio": 0.25}}, "private") == 0.25  # older runs: the fold's


def test_feature_selection_keeps_a_search_pool_apart_from_every_fold():
    suite = _suite([{"name": "wine", "repeats": 5}], models=(RF, {**RF, "label": "top", "select": {"top": 3}}))
    spec = suite.datasets[0]
    assert spec.search_pool
    ds = pipeline.load_for_spec(spec, None)
    pool = pipeline.raw_splits(ds, spec, 0, search="once")
    pooled = set(pool.train.ids) | set(pool.val.ids)
    counts = Counter(i for seed in range(5) for i in _tested(pipeline.raw_splits(ds, spec, seed)))
    assert not pooled & set(counts) and set(counts.values()) == {1}
    assert len(pooled) + len(counts) == ds.n_events


def test_kaggle_sets_keep_their_fixed_tests():
    toy = load_dataset("higgsml-toy", n_events=2000)
    spec = _suite([{"name": "higgsml-toy", "options": {"n_events": 2000}, "repeats": 3}]).datasets[0]
    tests = [{p.name: p.ids.tolist() for p in pipeline.raw_splits(toy, spec, s).tests} for s in range(3)]
    assert tests[0] == tests[1] == tests[2]
    assert not getattr(toy.split_policy, "folded")


def test_suite_keys_for_folds_and_scope_are_checked():
    with pytest.raises(ConfigError, match="folds"):
        _suite([{"name": "iris", "folds": 1}])
    with pytest.raises(ConfigError, match="does not fit"):
        _suite([{"name": "iris", "folds": 2, "val_fraction": 0.5}])
    with pytest.raises(ConfigError, match="scope"):
        _suite([{"name": "iris"}], models=({**RF, "search": {"trials": 1, "scope": "twice"}},))
    with pytest.raises(DataError, match="smallest class"):
        make_splits(load_dataset("iris"), 0, repeat=Repeat(0, 60))


def test_the_report_says_how_repeats_and_searches_were_made(monkeypatch, tmp_path):
    from reports import write_report

    monkeypatch.setattr("benchmarks.executors.LocalExecutor.search",
                        lambda self, job, resources, log: ({}, {"best_params": {}, "trials": 1, "best_value": 0.9,
                                                                "search_s": 0.1}))
    suite = _suite([{"name": "iris", "repeats": 5}], models=({**RF, "search": {"trials": 1}},))
    run = run_suite(suite, tmp_path / "r", RunOptions(progress=False), log=lambda m: None)
    text = write_report(store.open_run(run.run_dir)).read_text()
    assert "repeated stratified 5-fold" in text and "1 repetition(s) (1 complete)" in text
    assert "Nadeau and Bengio 2003, test/train = 0.25" in text
    assert "random-forest nested in each fold" in text and "random-forest (seed 4)" in text


def test_tune_searches_the_repeat_it_is_given_and_names_its_study_for_it(tmp_path):
    from benchmarks.tuning import prepare_tune

    path = tmp_path / "s.toml"
    path.write_text('name = "s"\n[[datasets]]\nname = "wine"\nrepeats = 5\n'
                    '[[models]]\nname = "random-forest"\nsearch = { trials = 1 }\n'
                    '[[models]]\nname = "random-forest"\nlabel = "rf-once"\nsearch = { trials = 1, scope = "once" }\n')
    url = f"sqlite:///{tmp_path / 'o.db'}"
    suite = parse_suite({"name": "s", "datasets": [{"name": "wine", "repeats": 5}],
                         "models": [{"name": "random-forest", "search": {"trials": 1}},
                                    {"name": "random-forest", "label": "rf-once",
                                     "search": {"trials": 1, "scope": "once"}}]})
    ds = pipeline.load_for_spec(suite.datasets[0], None)
    job = prepare_tune(str(path), "random-forest", url, None, None, repeat=3)
    fold = pipeline.raw_splits(ds, suite.datasets[0], 3)
    assert job.study == "s-wine-random-forest-seed3" and job.model_seed == 3
    assert set(job.splits.train.ids) | set(job.splits.val.ids) == set(fold.train.ids) | set(fold.val.ids)
    once = prepare_tune(str(path), "rf-once", url, None, None)
    pool = pipeline.raw_splits(ds, suite.datasets[0], 0, search="once")
    assert once.study == "s-wine-rf-once" and once.splits.train.ids.tolist() == pool.train.ids.tolist()
    with pytest.raises(ConfigError, match="--repeat does not apply"):
        prepare_tune(str(path), "rf-once", url, None, None, repeat=1)
