"""Direct tests of the harness pieces: registry, store, manifest, pipeline and runner."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from benchmarks import pipeline, store
from benchmarks.core.errors import BenchmarkError, ConfigError
from benchmarks.core.files import atomic_write
from benchmarks.core.naming import safe_name
from benchmarks.core.registry import Entry, Registry
from benchmarks.manifest import command_line, make_manifest
from benchmarks.run_record import Record
from benchmarks.runner import RunOptions, plan_run, run_suite, select_models
from benchmarks.suite import parse_suite
from datasets import load_dataset

pytestmark = pytest.mark.sklearn

RF = {"name": "random-forest", "params": {"n_estimators": 10, "n_jobs": 1}}


def _suite(models=(RF,), datasets=({"name": "iris", "repeats": 2},), **extra):
    return parse_suite({"name": "t", "datasets": list(datasets), "models": list(models), **extra})


# --------------------------------------------------------------------------- registry


def test_registry_rejects_a_name_registered_twice():
    reg = Registry("thing")
    reg.register("a")(lambda: 1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a")(lambda: 2)


def test_registry_unknown_name_suggests_close_matches():
    reg = Registry("thing")
    reg.register("random-forest")(lambda: 1)
    with pytest.raises(ConfigError, match="did you mean random-forest"):
        reg.get("random-forrest")


def test_registry_resolver_handles_parameterised_names():
    reg = Registry("thing")
    reg.add_resolver(lambda name: Entry(name, lambda: name.upper()) if name.startswith("p-") else None)
    assert reg.create("p-abc") == "P-ABC"
    assert "p-x" in reg and "q-x" not in reg
    assert reg.names() == []  # resolved names are not listed


def test_registry_bad_option_is_one_line_but_inner_type_errors_propagate():
    reg = Registry("thing")

    @reg.register("f")
    def f(size: int = 1):
        return len(size)  # a TypeError of the factory's own, for a bad value

    with pytest.raises(ConfigError, match=r"thing 'f'.*unexpected keyword argument 'sise'.*takes size"):
        reg.create("f", sise=3)
    with pytest.raises(TypeError):
        reg.create("f", size=3)


# --------------------------------------------------------------------------- files and store


def test_atomic_write_leaves_old_file_and_no_temp_on_failure(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("old")

    def broken(fh):
        fh.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, broken)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        store.write_json(tmp_path / "a.json", {"x": 1})
        store.write_npz(tmp_path / "b.npz", a=np.zeros(2))
    finally:
        os.umask(old)
    for name in ("a.json", "b.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_safe_name_keeps_paths_inside_their_directory():
    assert safe_name("../../etc/passwd") == ".._.._etc_passwd"
    assert safe_name("..") == "_.." and safe_name("") == "_"
    assert "/" not in store.record_key(Record(dataset="csv:/a/b.csv", model="m/x", control="none", seed=3,
                                              metrics={}, timing={}))


def test_add_record_writes_predictions_then_results(tmp_path):
    writer = store.RunWriter.start(tmp_path, "s", False, {}, {})
    rec = {"dataset": "iris", "model": "rf", "control": "none", "seed": 0, "metrics": {"accuracy": 1.0}, "timing": {}}
    writer.add_record(Record.from_json(rec), {"val_proba": np.ones((2, 3)), "test_y": np.array([0, 1])})
    loaded = store.open_run(tmp_path)
    assert loaded.manifest == {} and loaded.records[0].predictions == "predictions/iris__rf__none__seed0.npz"
    arrays = store._load_npz(tmp_path / loaded.records[0].predictions, ["test_y"])
    assert list(arrays) == ["test_y"] and arrays["test_y"].tolist() == [0, 1]
    assert store._load_npz(tmp_path / "predictions/missing.npz", None) is None


def test_open_run_refuses_what_it_did_not_write(tmp_path):
    with pytest.raises(BenchmarkError, match="not found"):
        store.open_run(tmp_path / "nope")
    with pytest.raises(BenchmarkError, match="holds no results.json"):
        store.open_run(tmp_path)
    (tmp_path / "results.json").write_text("{")
    with pytest.raises(BenchmarkError, match="not valid JSON"):
        store.open_run(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps({"records": [], "schema": 99}))
    with pytest.raises(BenchmarkError, match="schema 99"):
        store.open_run(tmp_path)


# --------------------------------------------------------------------------- manifest


def test_manifest_records_what_the_run_was(monkeypatch):
    monkeypatch.setattr("sys.argv", ["/x/benchmarks/__main__.py", "run", "--suite", "iris"])
    assert command_line() == "python -m benchmarks run --suite iris"
    m = make_manifest({"suite": {}}, [0, 1], "cpu")
    assert m["seeds"] == [0, 1] and m["device"] == "cpu" and m["gpu"] is None
    assert m["packages"]["numpy"] == np.__version__
    assert set(m) >= {"command", "started", "config", "python", "platform", "git_commit", "cpu", "cpu_count"}


# --------------------------------------------------------------------------- pipeline


def test_repeats_auto_asks_the_split_policy():
    suite = _suite(datasets=({"name": "higgsml-toy"},))
    toy = load_dataset("higgsml-toy", n_events=600, with_test_sets=False)
    assert pipeline.resolve_seeds(suite, suite.datasets[0], toy, None) == [0, 1, 2, 3, 4]
    with_tests = load_dataset("higgsml-toy", n_events=600)
    assert pipeline.resolve_seeds(suite, suite.datasets[0], with_tests, None) == [0]
    iris_spec = parse_suite({"datasets": [{"name": "iris"}], "models": [RF]}).datasets[0]
    assert pipeline.resolve_seeds(suite, iris_spec, load_dataset("iris"), None) == [0]
    with pytest.raises(ConfigError, match="at least 1"):
        pipeline.resolve_seeds(suite, iris_spec, load_dataset("iris"), 0)


def test_data_file_reaches_only_loaders_of_files():
    assert pipeline.takes_data_file("higgsml")
    assert not pipeline.takes_data_file("iris") and not pipeline.takes_data_file("csv:/x.csv")
    spec = parse_suite({"datasets": [{"name": "iris"}], "models": [RF]}).datasets[0]
    assert pipeline.load_for_spec(spec, data="/nonexistent.csv").name == "iris"


# --------------------------------------------------------------------------- runner


def test_select_models_by_label_or_registry_name():
    suite = _suite(models=(RF, {"name": "random-forest", "label": "rf2"}))
    assert [m.label for m in select_models(suite, ("rf2",))] == ["rf2"]
    assert [m.label for m in select_models(suite, ("random-forest",))] == ["random-forest", "rf2"]
    with pytest.raises(ConfigError, match="unknown model"):
        select_models(suite, ("no-such-model",))


def test_plan_run_fails_before_writing_anything(tmp_path):
    bad = _suite(models=({"name": "random-forest", "params": {"n_estimators": 10, "bogus": 1}},))
    with pytest.raises(ConfigError, match="bogus"):
        run_suite(bad, tmp_path / "run", RunOptions(progress=False))
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match="unknown control"):
        plan_run(_suite(), RunOptions(control="shufled"))


def test_train_and_evaluate_scores_with_the_dataset_metric():
    ds = load_dataset("iris")
    suite = _suite()
    splits = pipeline.splits_for(ds, suite.datasets[0], 0)
    record, arrays, _ = pipeline.train_and_evaluate(ds, splits, suite.models[0], dict(RF["params"]), 0, "cpu")
    assert record.metrics["accuracy"] == pytest.approx((arrays["test_proba"].argmax(1) == arrays["test_y"]).mean())
    assert set(record.metrics) == {"accuracy", "per_class_accuracy", "n_test", "accuracy_val"}
    assert record.timing["n_train"] == len(splits.train) and record.control == "none"
    assert set(arrays) == {"val_proba", "val_y", "val_w", "test_proba", "test_y", "test_w"}


def test_run_suite_stores_every_fit_and_control(tmp_path):
    out = run_suite(_suite(), tmp_path / "run", RunOptions(progress=False, control="shuffled"),
                    log=lambda m: None).run_dir
    run = store.open_run(out)
    keys = [(r.seed, r.control) for r in run.records]
    assert keys == [(0, "none"), (0, "shuffled"), (1, "none"), (1, "shuffled")]
    assert run.manifest["seeds"] == [0, 1]
    for r in run.records:
        assert (out / r.predictions).is_file()
    # The shuffled control learns nothing about iris: far below the real model.
    real = np.mean([r.metrics["accuracy"] for r in run.records if r.control == "none"])
    fake = np.mean([r.metrics["accuracy"] for r in run.records if r.control == "shuffled"])
    assert real > 0.85 and fake < 0.6


def test_a_once_per_dataset_search_never_sees_a_test_event_of_any_seed(monkeypatch, tmp_path):
    """scope = "once": one search per dataset on a fixed part of the events that no fold ever
    tests on (and every seed still trains on)."""
    suite = _suite(datasets=({"name": "higgsml-toy", "options": {"n_events": 1500, "with_test_sets": False},
                              "repeats": 20},),
                   models=({**RF, "search": {"trials": 1, "scope": "once"}},))
    assert suite.datasets[0].search_pool
    ds = pipeline.load_for_spec(suite.datasets[0], None)
    search = pipeline.splits_for(ds, suite.datasets[0], 0, search="once")
    searched = set(search.train.ids) | set(search.val.ids)
    tested = set()
    for seed in range(20):
        splits = pipeline.splits_for(ds, suite.datasets[0], seed)
        tested |= {i for p in splits.tests for i in p.ids}
        assert searched <= set(splits.train.ids) | set(splits.val.ids)  # every seed trains on them
    assert searched and not searched & tested
    assert pipeline.splits_for(ds, suite.datasets[0], 7, search="once").train.ids.tolist() == search.train.ids.tolist()
    seen = []
    monkeypatch.setattr("benchmarks.executors.LocalExecutor.search",
                        lambda self, job, resources, log: (seen.append(job.splits), ({}, {"best_params": {}}))[1])
    run_suite(suite, tmp_path / "r", RunOptions(progress=False, seeds=2), log=lambda m: None)
    assert len(seen) == 1 and set(seen[0].train.ids) | set(seen[0].val.ids) == searched and seen[0].tests == ()
    info = store.open_run(tmp_path / "r").datasets["higgsml-toy"]
    assert any("never a test event" in n for n in info["search"])
    assert info["resampling"]["search"] == "once" and info["resampling"]["search_pool"]
