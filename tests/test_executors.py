"""Where fits run: a failing fit is recorded and the run goes on (every executor); on Ray the
run directory equals a local one, a lost worker is retried, a killed driver's run is
finished by --resume, searches run as Ray tasks on one study."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import scale_models  # noqa: F401 - registers scale-test-constant (Ray workers import it too)
from benchmarks import store
from benchmarks.cli import main
from benchmarks.core.errors import BenchmarkError
from benchmarks.run_record import Record
from benchmarks.runner import RunOptions, plan_run, run_suite
from benchmarks.suite import load_suite, parse_suite
from models import backend_available
from test_runs import DRIVER as RUNS_DRIVER, SLOW_SUITE, _metrics, _records, _wait_for  # noqa: I001

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
VOLATILE = {"timing", "executor", "node", "node_id", "gpu_ids"}  # where and how fast: the rest must match


def _key(rec: dict) -> tuple:
    return Record.from_json(rec).key


def _keys(out: Path) -> list[tuple]:
    return [_key(r) for r in _records(out)]


def _suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


FAILING = """
name = "failing"
[[datasets]]
name = "iris"
repeats = 3
[[models]]
name = "scale-test-constant"
label = "constant"
params = {{ fail_if = "{marker}", fail_seed = 1 }}
[[models]]
name = "random-forest"
params = {{ n_estimators = 5 }}
"""


@pytest.mark.sklearn
def test_a_failing_fit_is_recorded_the_run_goes_on_and_resume_reruns_it(tmp_path, capsys):
    marker = tmp_path / "fail"
    marker.touch()
    suite, out = _suite(tmp_path, FAILING.format(marker=marker)), tmp_path / "run"
    assert main(["run", "--suite", str(suite), "--out", str(out), "--quiet"]) == 2  # the model's input error
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 1 fit(s) failed, first iris/constant seed 1: scale-test model refuses seed 1 "
                          "second line;") and len(err.splitlines()) == 1, err
    run = store.open_run(out)  # failures pass the reader's checks
    plan = [tuple(f) for f in run.manifest["fits"]]
    assert _keys(out) == [f for f in plan if f != ("iris", "constant", 1, "none")]  # the others, in plan order
    (failure,) = run.failures
    assert failure.status == "failed" and failure.error_kind == "input" and "predictions" not in failure.to_json()
    assert failure.executor == "local" and failure.node
    head = (out / "report.md").read_text().split("## Dataset")[0]
    assert "**Incomplete run**: 1 planned fit(s) have no results" in head and "iris/constant seed 1" in head

    marker.unlink()
    assert main(["run", "--resume", str(out), "--quiet"]) == 0
    assert store.open_run(out).failures == () and _keys(out) == plan  # rerun, and stored in its place


@pytest.mark.sklearn
def test_records_name_their_threads_node_and_executor(tmp_path):
    out = run_suite(parse_suite({"name": "t", "datasets": [{"name": "iris", "repeats": 1}],
                                 "models": [{"name": "random-forest", "params": {"n_estimators": 5}}]}),
                    tmp_path / "r", RunOptions(progress=False, threads=1), log=lambda m: None).run_dir
    (rec,) = _records(out)
    assert rec["info"]["threads"] == 1 and rec["executor"] == "local" and rec["node"]
    assert json.loads((out / "manifest.json").read_text())["executor"] == {"name": "local", "threads_per_fit": 1}


@pytest.mark.sklearn
def test_reader_refuses_failures_among_records_and_bad_failures(tmp_path):
    good = {"dataset": "d", "model": "m", "seed": 0, "control": "none", "metrics": {}, "timing": {}}
    store.RunWriter.start(tmp_path, "s", False, {}, {})
    base = store.read_json(tmp_path / store.RESULTS)

    def check_results(results: dict) -> None:
        store.write_json(tmp_path / store.RESULTS, results)
        store.open_run(tmp_path)

    with pytest.raises(BenchmarkError, match="belongs in 'failures'"):
        check_results({**base, "records": [{**good, "status": "failed"}]})
    bad = {"dataset": "d", "model": "m", "seed": 0, "control": "none", "status": "failed", "error": "x",
           "predictions": "predictions/x.npz"}
    with pytest.raises(BenchmarkError, match="no predictions"):
        check_results({**base, "failures": [bad]})
    with pytest.raises(BenchmarkError, match="'error' must be str"):
        check_results({**base, "failures": [{**bad, "error": None}]})


@pytest.mark.sklearn
@pytest.mark.parametrize("args, message", [
    (["--address", "127.0.0.1:6379"], "go with --executor ray"),
    (["--workers", "2"], "go with --executor ray"),
    (["--threads", "0"], "--threads"),
    (["--executor", "ray", "--gpus-per-fit", "2"], "--gpus-per-fit"),
    (["--executor", "spark"], "invalid choice"),
])
def test_executor_options_are_checked_before_any_work(tmp_path, capsys, args, message):
    out = tmp_path / "o"
    assert main(["run", "--suite", "iris", "--models", "random-forest", "--out", str(out), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and not out.exists()


@pytest.mark.sklearn
def test_tune_address_needs_workers(capsys):
    assert main(["tune", "--suite", "smoke", "--model", "random-forest", "--storage", "sqlite:///x.db",
                 "--address", "127.0.0.1:1"]) == 2
    assert "--address goes with --workers" in capsys.readouterr().err


# --------------------------------------------------------------------------- Ray

SAME_SUITE = {
    "name": "same-on-ray",
    "datasets": [{"name": "higgsml-toy", "options": {"n_events": 1200, "seed": 3}, "repeats": 1, "max_events": 300,
                  "preprocess": {"missing": "impute", "orientation": True, "standardise": True}}],
    "models": [
        {"name": "random-forest", "params": {"n_estimators": 30}},
        {"name": "xgboost", "params": {"n_estimators": 40}},
        {"name": "lightgbm", "params": {"n_estimators": 40}},
        {"name": "fcnn", "params": {"max_epochs": 3, "batch_size": 64}},
        {"name": "dnn-lumin-quick-9", "label": "dnn", "params": {"max_epochs": 1, "n_members": 2}},  # a ladder rung
        {"name": "supertml-text-resnet10t", "params": {"image_size": 56, "epochs": 1, "batch_size": 32,
                                                       "pretrained": False, "encoder_options": {"decimals": "auto"}}},
    ],
}


@pytest.mark.ray
@pytest.mark.xgboost
@pytest.mark.lightgbm
@pytest.mark.torch
@pytest.mark.slow
def test_ray_run_equals_local_run(ray_address, tmp_path):
    for backend in ("xgboost", "lightgbm", "torch"):
        if not backend_available(backend):
            pytest.skip(f"needs {backend}")
    suite = parse_suite(SAME_SUITE)
    common = {"device": "cpu", "progress": False, "control": "shuffled", "threads": 2}
    local = run_suite(suite, tmp_path / "local", RunOptions(**common), log=lambda m: None).run_dir
    ray = run_suite(suite, tmp_path / "ray", RunOptions(**common, executor="ray"), log=lambda m: None).run_dir
    a, b = _records(local), _records(ray)
    assert len(a) == 6 * 2 and [_key(r) for r in a] == [_key(r) for r in b]
    for ra, rb in zip(a, b):
        assert {k: v for k, v in ra.items() if k not in VOLATILE} == {k: v for k, v in rb.items() if k not in VOLATILE}
        assert rb["executor"] == "ray" and rb["node_id"] and rb["info"]["threads"] == 2
        assert (rb["model"] == "dnn") == ("facts" in rb)  # the rung's report facts come along
        assert ra["timing"]["n_train"] == rb["timing"]["n_train"] and rb["timing"]["train_s"] > 0
        pa, pb = store._load_npz(local / ra["predictions"], None), store._load_npz(ray / rb["predictions"], None)
        assert pa.keys() == pb.keys() and all(np.array_equal(pa[k], pb[k]) for k in pa)  # bit for bit
    examples = sorted(p.name for p in (ray / "plots").glob("*examples.png"))
    assert examples == sorted(p.name for p in (local / "plots").glob("*examples.png")) and examples
    assert json.loads((ray / "manifest.json").read_text())["executor"]["name"] == "ray"


SELECTED = {
    "name": "selected-on-ray",
    "datasets": [{"name": "higgsml-toy", "options": {"n_events": 1200, "seed": 3}, "repeats": 2, "max_events": 300,
                  "preprocess": {"missing": "impute", "orientation": True, "standardise": True}}],
    "models": [
        {"name": "random-forest", "params": {"n_estimators": 20}},
        {"name": "random-forest", "label": "rf-top5-raw", "params": {"n_estimators": 10},  # its own data per fit
         "preprocess": {"orientation": False}, "select": {"top": 5, "by": "random-forest", "repeats": 1}},
    ],
}


@pytest.mark.ray
def test_preprocessing_selection_and_importance_on_ray_equal_local(ray_address, tmp_path):
    suite = parse_suite(SELECTED)
    common = {"progress": False, "threads": 1, "importance": 2}
    local = run_suite(suite, tmp_path / "local", RunOptions(**common), log=lambda m: None).run_dir
    ray = run_suite(suite, tmp_path / "ray", RunOptions(**common, executor="ray"), log=lambda m: None).run_dir
    (da,), (db,) = (store.open_run(d).datasets.values() for d in (local, ray))
    assert da == db and len(da["selections"]["rf-top5-raw"]["features"]) == 5  # one ranking, by the driver
    a, b = _records(local), _records(ray)
    assert [_key(r) for r in a] == [_key(r) for r in b] and len(a) == 4
    for ra, rb in zip(a, b):
        assert {k: v for k, v in ra.items() if k not in VOLATILE} == {k: v for k, v in rb.items() if k not in VOLATILE}
    assert [("importance" in r, r["seed"]) for r in b] == [(True, 0), (True, 0), (False, 1), (False, 1)]
    assert set(b[1]["importance"]["features"]) == set(db["selections"]["rf-top5-raw"]["features"])  # trained on 5


LOST = """
name = "lost"
[[datasets]]
name = "iris"
repeats = 1
[[models]]
name = "scale-test-constant"
label = "dies-once"
params = {{ die_if_absent = "{marker}" }}
[[models]]
name = "scale-test-constant"
label = "dies-always"
params = {{ die_always = true }}
[[models]]
name = "random-forest"
params = {{ n_estimators = 5 }}
"""


@pytest.mark.ray
def test_a_lost_worker_is_retried_and_a_lost_fit_recorded(ray_address, tmp_path):
    marker = tmp_path / "died"
    suite = load_suite(str(_suite(tmp_path, LOST.format(marker=marker))))
    run = run_suite(suite, tmp_path / "r", RunOptions(progress=False, executor="ray"), log=lambda m: None)
    run = store.open_run(run.run_dir)
    assert marker.is_file()  # the first try of dies-once killed its worker...
    assert [r.model for r in run.records] == ["dies-once", "random-forest"]  # ...and the retry finished
    (lost,) = run.failures
    assert lost.model == "dies-always" and lost.error_kind == "lost" and "worker lost in 4 tries" in lost.error


@pytest.mark.ray
def test_ray_run_killed_then_resumed_equals_an_uninterrupted_local_run(ray_address, tmp_path):
    suite = _suite(tmp_path, SLOW_SUITE)  # random forest and a sleepy model, 6 seeds
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    args = ["run", "--suite", str(suite), "--out", str(killed), "--quiet", "--executor", "ray",
            "--address", ray_address]
    proc = subprocess.Popen([sys.executable, "-c", RUNS_DRIVER.format(tests=str(TESTS), args=args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: len(_records(killed)) >= 3 or proc.poll() is not None)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    partial = len(_records(killed))
    assert 3 <= partial < 12, f"the run ended before it could be killed: {proc.stderr.read()[-2000:]}"
    assert main(["run", "--resume", str(killed), "--quiet"]) == 0  # on Ray again, from the manifest
    assert main(["run", "--suite", str(suite), "--out", str(whole), "--quiet"]) == 0  # local
    assert _keys(killed) == _keys(whole) and len(_keys(whole)) == 12
    assert _metrics(killed) == _metrics(whole)
    assert {r["executor"] for r in _records(killed)} == {"ray"}


SEARCHED = """
name = "searched"
[[datasets]]
name = "iris"
repeats = 1
[[models]]
name = "random-forest"
search = { trials = 5, pruner = "none" }
"""


@pytest.mark.ray
def test_a_run_search_runs_as_ray_workers_on_one_study(ray_address, tmp_path):
    optuna = pytest.importorskip("optuna")
    out = tmp_path / "r"
    assert main(["run", "--suite", str(_suite(tmp_path, SEARCHED)), "--executor", "ray", "--workers", "2",
                 "--threads", "1", "--out", str(out), "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    summary = results["tuning"]["iris/random-forest/seed 0"]  # nested: one search per repeat
    assert summary["workers"] == 2 and summary["trials"] == summary["new_trials"] == 5
    (record,) = results["records"]  # the driver charges the search to the record it served
    assert record["tuned"] and record["timing"]["tune_s"] == summary["search_s"] > 0
    study = optuna.load_study(study_name=summary["study"], storage=f"sqlite:///{out / 'optuna.db'}")
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 5


@pytest.mark.ray
def test_tune_workers_run_on_ray_and_stop_at_the_total(ray_address, tmp_path, capsys):
    optuna = pytest.importorskip("optuna")
    url = f"sqlite:///{tmp_path / 'o.db'}"
    assert main(["tune", "--suite", "iris", "--model", "random-forest", "--storage", url, "--study", "s",
                 "--trials", "4", "--workers", "2", "--seed", "3"]) == 0
    assert "study s: 4 complete trials" in capsys.readouterr().out
    study = optuna.load_study(study_name="s", storage=url)
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 4


@pytest.mark.ray
def test_impossible_resources_and_unreachable_clusters_are_one_line_errors(ray_address, tmp_path, capsys):
    out = tmp_path / "o"
    base = ["run", "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--quiet", "--executor", "ray"]
    assert main([*base, "--threads", "64", "--out", str(out)]) == 2
    assert "needs 64 CPUs, but the largest Ray node has 2" in capsys.readouterr().err and not out.exists()
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "benchmarks", *base, "--address", "127.0.0.1:1", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "cannot reach a Ray cluster at 127.0.0.1:1" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and time.monotonic() - t0 < 60 and not out.exists()


@pytest.mark.ray
def test_plan_is_identical_whichever_executor(ray_address):
    suite = parse_suite(SAME_SUITE | {"models": SAME_SUITE["models"][:1]})
    local, ray = RunOptions(), RunOptions(executor="ray", address=ray_address, workers=3)
    assert plan_run(suite, local).fingerprint(local) == plan_run(suite, ray).fingerprint(ray)
