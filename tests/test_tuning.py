"""Optuna search: budgets, pruning, no test data, shared studies, killed workers."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402

pytestmark = pytest.mark.sklearn

from benchmarks.core.errors import BenchmarkError, ConfigError  # noqa: E402
from benchmarks.suite import ModelSpec, SearchSpec  # noqa: E402
from benchmarks.core.secrets import redact as redact_url  # noqa: E402
from benchmarks.tuning import run_tune_worker, tune, tune_for_run  # noqa: E402
from datasets import load_dataset, make_splits  # noqa: E402
from models.registry import MODELS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 6


class _Scripted:
    """A fake classifier whose validation accuracy is ``quality * (epoch + 1) / EPOCHS``.

    It needs no real learning: the point is the objective's plumbing (epoch reports,
    pruning, budgets). With ``TUNING_TEST_SLEEP`` set, fit announces itself in
    ``TUNING_TEST_MARKER`` and sleeps, to be killed or to overlap with another worker.
    """

    def __init__(self, quality: float = 0.5, epochs: int = EPOCHS, random_state: int = 0, **_):
        self.quality, self.epochs = quality, epochs

    def _proba(self, y: np.ndarray, fraction: float) -> np.ndarray:
        k = int(round(min(fraction, 1.0) * len(y)))
        pred = np.where(np.arange(len(y)) < k, y, (y + 1) % 3)
        return np.eye(3)[pred]

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        if os.environ.get("TUNING_TEST_SLEEP"):
            Path(os.environ["TUNING_TEST_MARKER"]).write_text(str(os.getpid()))
            time.sleep(float(os.environ["TUNING_TEST_SLEEP"]))
        self.y_val_ = np.asarray(y_val)
        for epoch in range(self.epochs):
            self.proba_ = self._proba(self.y_val_, self.quality * (epoch + 1) / self.epochs)
            if epoch_callback is not None:
                epoch_callback(epoch, self.proba_)
        return self

    def predict_proba(self, X):
        assert len(X) == len(self.y_val_), "tuning predicted on something other than the validation part"
        return self.proba_


def _quality_space(trial) -> dict:
    return {"quality": trial.suggest_float("quality", 0.0, 1.0)}


# Test-only models, registered once per process (subprocess workers import this module).
if "tuning-test-scripted" not in MODELS.names():
    MODELS.register("tuning-test-scripted", backend="sklearn", family="tabular",
                    accepts_device=False, search_space=_quality_space)(lambda **kw: _Scripted(**kw))
    MODELS.register("tuning-test-nospace", backend="sklearn", family="tabular",
                    accepts_device=False, search_space=None)(lambda **kw: _Scripted(**kw))


class _Poison:
    """Stands in for data the search must never read: any attribute access fails the test."""

    def __getattribute__(self, name):
        raise AssertionError(f"hyper-parameter search touched forbidden data (.{name})")


class _MetricOnlyDataset:
    """A dataset of which only the name and the metric (object) may be read."""

    def __init__(self, name: str, scorer):
        object.__setattr__(self, "_fields", {"name": name, "scorer": scorer})

    def __getattr__(self, item):
        fields = object.__getattribute__(self, "_fields")
        if item in fields:
            return fields[item]
        raise AssertionError(f"hyper-parameter search read the full dataset (.{item}), test rows included")


@pytest.fixture(scope="module")
def iris():
    ds = load_dataset("iris")
    return ds, make_splits(ds, 0)


def _scripted(trials=4, pruner="none", **params) -> ModelSpec:
    return ModelSpec("tuning-test-scripted", "scripted", params, SearchSpec(trials=trials, pruner=pruner))


def _study(url: str, name: str):
    return optuna.load_study(study_name=name, storage=url)


def test_random_forest_on_iris_stays_in_its_space(iris, tmp_path):
    ds, splits = iris
    spec = ModelSpec("random-forest", "rf", {"n_estimators": 10, "n_jobs": 1}, SearchSpec(trials=4))
    best, summary = tune_for_run(ds, splits, spec, "cpu", tmp_path, None, seed=0, suite_name="t")

    assert summary["trials"] == 4 and summary["new_trials"] == 4
    for key in ("pruned", "failed", "best_value", "best_params", "search_s", "study", "storage", "history"):
        assert key in summary
    assert summary["study"] == "t-iris-rf"
    assert summary["storage"] == f"sqlite:///{(tmp_path / 'optuna.db').resolve()}"
    assert (tmp_path / "optuna.db").is_file()
    assert [n for n, _ in summary["history"]] == [0, 1, 2, 3]
    assert summary["best_value"] == max(v for _, v in summary["history"])
    assert 0.0 <= summary["best_value"] <= 1.0
    assert best == summary["best_params"]
    assert best["n_estimators"] in range(100, 601, 100)
    assert best["max_depth"] in (None, 8, 16, 32)
    assert 1 <= best["min_samples_leaf"] <= 20
    assert best["max_features"] in ("sqrt", "log2", 0.5)

    # A second call (a `run` after `tune` workers) finds the finished study and adds nothing.
    again, summary2 = tune_for_run(ds, splits, spec, "cpu", tmp_path, None, seed=0, suite_name="t")
    assert summary2["new_trials"] == 0 and summary2["trials"] == 4 and again == best


def test_search_never_reads_test_parts_or_the_full_table(iris, tmp_path):
    ds, splits = iris
    poisoned = replace(splits, tests=(_Poison(), _Poison()))
    spy = _MetricOnlyDataset(ds.name, ds.scorer)
    best, summary = tune_for_run(spy, poisoned, _scripted(trials=3), "cpu", tmp_path, None, seed=0)
    assert summary["trials"] == 3 and 0.0 <= best["quality"] <= 1.0
    # The objective is validation accuracy: the scripted model makes it round(q * n_val) / n_val.
    n_val = len(splits.val)
    assert summary["best_value"] == pytest.approx(round(best["quality"] * n_val) / n_val)


def test_seeded_search_is_reproducible(iris, tmp_path):
    ds, splits = iris
    runs = [tune_for_run(ds, splits, _scripted(trials=3), "cpu", tmp_path / str(k), None, seed=7)[1]
            for k in range(2)]
    assert runs[0]["history"] == runs[1]["history"]
    assert len({v for _, v in runs[0]["history"]}) > 1  # the trials did differ


def test_time_budget_alone_ends_the_search(iris, tmp_path):
    ds, splits = iris
    spec = ModelSpec("tuning-test-scripted", "s", {}, SearchSpec(timeout_s=0.5, pruner="none"))
    best, summary = tune_for_run(ds, splits, spec, "cpu", tmp_path, None, seed=0)
    assert summary["trials"] >= 1 and summary["budget"] == {"trials": None, "timeout_s": 0.5}
    assert set(best) == {"quality"}


def test_pruning_stops_hopeless_trials_early(iris, tmp_path):
    ds, splits = iris
    _, summary = tune_for_run(ds, splits, _scripted(trials=4, pruner="successive-halving"), "cpu",
                              tmp_path, None, seed=0)
    assert summary["trials"] == 4 and summary["pruned"] >= 1
    study = _study(f"sqlite:///{tmp_path / 'optuna.db'}", summary["study"])
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    # Pruned trials reported some epochs and stopped before the last one.
    assert all(0 < len(t.intermediate_values) < EPOCHS for t in pruned)
    assert all(len(t.intermediate_values) == EPOCHS for t in study.get_trials(states=(TrialState.COMPLETE,)))

    _, plain = tune_for_run(ds, splits, _scripted(trials=4, pruner="none"), "cpu", tmp_path / "nop", None, seed=0)
    assert plain["pruned"] == 0 and plain["trials"] == 4


def test_configuration_errors(iris, tmp_path):
    ds, splits = iris
    with pytest.raises(ConfigError, match="no search space"):
        tune_for_run(ds, splits, ModelSpec("tuning-test-nospace", "x", {}, SearchSpec(trials=2)),
                     "cpu", tmp_path, None, seed=0)
    with pytest.raises(ConfigError, match="budget"):
        tune_for_run(ds, splits, ModelSpec("tuning-test-scripted", "x", {}, SearchSpec()), "cpu", tmp_path, None, 0)
    with pytest.raises(ConfigError, match="pruner"):
        tune_for_run(ds, splits, _scripted(pruner="hyperband"), "cpu", tmp_path, None, seed=0)
    for bad in ("not-a-url", "nosuchdb://u:hunter2@h/db", f"sqlite:///{tmp_path}/missing/dir/x.db",
                f"journal:{tmp_path}/missing/x.journal"):
        with pytest.raises(BenchmarkError) as err:
            tune_for_run(ds, splits, _scripted(), "cpu", tmp_path, bad, seed=0)
        assert "\n" not in str(err.value) and "hunter2" not in str(err.value)
    assert redact_url("postgresql://bob:s3cret@db.example/optuna") == "postgresql://bob:***@db.example/optuna"
    # A study made for other data is refused rather than mixed in.
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    tune(ds.name, ds.scorer, splits, _scripted(trials=1), "cpu", url, "s", seed=0)
    with pytest.raises(ConfigError, match="other data"):
        tune(ds.name, ds.scorer, make_splits(ds, 1), _scripted(trials=1), "cpu", url, "s", seed=0)


# --------------------------------------------------------------------------- several processes

SUITE = """
name = "tunetest"
[[datasets]]
name = "iris"
repeats = 1
[[models]]
name = "tuning-test-scripted"
label = "scripted"
search = {{ trials = {trials}, pruner = "none" }}
"""

WORKER = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
import test_tuning  # registers the test-only models
from benchmarks.tuning import run_tune_worker

go = Path({go!r})
while not go.exists():  # start all workers together
    time.sleep(0.02)
s = run_tune_worker({suite!r}, "scripted", {storage!r}, "shared", {n}, device="cpu", seed={seed},
                    log=lambda m: None, heartbeat_interval=1, grace_period=2)
print("SUMMARY " + json.dumps(s))
"""


def _worker(tmp_path: Path, storage: str, n: int, seed: int, env: dict | None = None) -> subprocess.Popen:
    suite = tmp_path / "tunetest.toml"
    if not suite.exists():
        suite.write_text(SUITE.format(trials=n))
    code = WORKER.format(tests=str(ROOT / "tests"), go=str(tmp_path / "go"), suite=str(suite),
                         storage=storage, n=n, seed=seed)
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _summary_of(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(next(line for line in out.splitlines() if line.startswith("SUMMARY "))[8:])


def test_two_workers_share_one_study_exactly(tmp_path):
    # Both start at once on a fresh SQLite file: table creation races too.
    storage = f"sqlite:///{tmp_path / 'o.db'}"
    n = 6
    slow = {"TUNING_TEST_SLEEP": "0.3", "TUNING_TEST_MARKER": str(tmp_path / "marker")}
    procs = [_worker(tmp_path, storage, n, seed=k, env=slow) for k in range(2)]
    (tmp_path / "go").touch()
    summaries = [_summary_of(p) for p in procs]

    study = optuna.load_study(study_name="shared", storage=_optuna_storage(storage))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == n  # exactly N, never more
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    assert sum(s["new_trials"] for s in summaries) == n  # no trial lost or counted twice
    assert all(s["new_trials"] >= 1 for s in summaries)  # the work was shared
    assert all(s["trials"] == n for s in summaries)


def _optuna_storage(url: str):
    from benchmarks.tuning import open_storage

    return open_storage(url, heartbeat_interval=1, grace_period=2)[0]


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_killed_worker_trial_is_failed_and_retried(tmp_path, kind):
    storage = f"sqlite:///{tmp_path / 'o.db'}" if kind == "sqlite" else f"journal:{tmp_path / 'o.journal'}"
    marker = tmp_path / "marker"
    proc = _worker(tmp_path, storage, 2, seed=0, env={"TUNING_TEST_SLEEP": "60", "TUNING_TEST_MARKER": str(marker)})
    (tmp_path / "go").touch()
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the worker never started its trial"
        time.sleep(0.05)
    time.sleep(0.5)  # let the first heartbeat land
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    study = optuna.load_study(study_name="shared", storage=_optuna_storage(storage))
    (killed,) = study.get_trials(states=(TrialState.RUNNING,))  # killed mid-trial

    # A new worker declares it dead after the grace period and re-runs its parameters.
    summary = run_tune_worker(str(tmp_path / "tunetest.toml"), "scripted", storage, "shared", 2, device="cpu",
                              seed=1, log=lambda m: None, heartbeat_interval=1, grace_period=2)
    assert summary["trials"] == 2 and summary["failed"] == 1

    study = optuna.load_study(study_name="shared", storage=_optuna_storage(storage))
    assert study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING)) == []
    assert study.trials[killed.number].state == TrialState.FAIL
    retried = [t for t in study.get_trials(states=(TrialState.COMPLETE,))
               if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retried) == 1 and retried[0].params == killed.params
