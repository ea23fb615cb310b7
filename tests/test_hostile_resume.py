"""A search killed with kill -9 mid-trial and resumed is the same search (issue 21, kind 1).

The run kills itself (SIGKILL) inside one trial's fit, leaving that trial RUNNING in the
study; ``run --resume`` must then give exactly the trials, best parameters and records of an
uninterrupted run, without waiting out the heartbeat grace period. One row per file storage
kept in the run directory.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from benchmarks.cli import main  # noqa: E402
from benchmarks.tuning import GRACE_PERIOD_S, open_storage  # noqa: E402
from models.registry import MODELS  # noqa: E402

pytestmark = pytest.mark.sklearn

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
DIE = "HOSTILE_RESUME_DIE_AT"  # the fit (counted from 0 in the process) that kills its process
TRIALS, KILLED_IN = 6, 3  # the search's budget; the trial the interrupted run dies in
_fits = [0]


class _Killable:
    """Logistic regression whose validation accuracy depends on ``C``; with ``DIE`` set, its
    process kills itself (SIGKILL) at the start of that fit: mid-trial, nothing cleaned up."""

    def __init__(self, C: float = 1.0, random_state: int = 0, **_):
        self.model = LogisticRegression(C=C, max_iter=1000)

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        if os.environ.get(DIE) == str(_fits[0]):
            time.sleep(0.3)  # the trial's first heartbeat lands: killed like a real run, mid-trial
            os.kill(os.getpid(), signal.SIGKILL)
        _fits[0] += 1
        self.model.fit(X, y)
        return self

    def predict_proba(self, X):
        return self.model.predict_proba(X)


def _space(trial) -> dict:
    return {"C": trial.suggest_float("C", 1e-4, 1e2, log=True)}


# Test-only model, registered once per process (the subprocess driver imports this module).
if "hostile-resume-logistic" not in MODELS.names():
    MODELS.register("hostile-resume-logistic", backend="sklearn", family="tabular", accepts_device=False,
                    search_space=_space)(lambda **kw: _Killable(**kw))

SUITE = f"""
name = "hostile-resume"
[[datasets]]
name = "iris"
repeats = 2
[[models]]
name = "hostile-resume-logistic"
label = "logit"
search = {{ trials = {TRIALS}, pruner = "none", scope = "once" }}
"""
DRIVER = ("import sys; sys.path.insert(0, {tests!r}); import test_hostile_resume; from benchmarks.cli import main; "
          "sys.exit(main({args!r}))")


def _driver(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", DRIVER.format(tests=str(TESTS), args=args)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env}, capture_output=True, text=True,
                          timeout=120)


def _storage(out: Path, kind: str) -> str:
    return f"sqlite:///{out.resolve() / 'optuna.db'}" if kind == "sqlite" else f"journal:{out / 'optuna.journal'}"


def _study(out: Path, kind: str):
    storage, _ = open_storage(_storage(out, kind))
    (name,) = optuna.study.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage)


def _complete(out: Path, kind: str) -> list[tuple[dict, float]]:
    return [(t.params, t.value) for t in _study(out, kind).get_trials(states=(TrialState.COMPLETE,))]


def _results(out: Path) -> tuple[list, list]:
    results = json.loads((out / "results.json").read_text())
    searches = [(s["best_params"], s["best_value"], s["trials"]) for s in results["tuning"].values()]
    records = [(r["model"], r["seed"], r["params"], r["metrics"]) for r in results["records"]]
    return searches, records


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_search_killed_mid_trial_resumes_to_the_uninterrupted_result(tmp_path, kind):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    whole, killed = tmp_path / "whole", tmp_path / "killed"

    def run(out: Path) -> list[str]:
        # the default storage is the run directory's SQLite file; a journal file there is the run's too
        return ["run", "--suite", str(suite), "--out", str(out), "--quiet",
                *([] if kind == "sqlite" else ["--storage", _storage(out, kind)])]

    assert main(run(whole)) == 0
    died = _driver(run(killed), {DIE: str(KILLED_IN)})
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    states = [t.state for t in _study(killed, kind).trials]
    assert states == [TrialState.COMPLETE] * KILLED_IN + [TrialState.RUNNING]

    t0 = time.monotonic()
    assert main(["run", "--resume", str(killed), "--quiet"]) == 0
    resume_s = time.monotonic() - t0

    # The same trials, in the same order, with the same values; the same best and the same records.
    assert _complete(killed, kind) == _complete(whole, kind)
    assert len({p["C"] for p, _ in _complete(whole, kind)}) == TRIALS  # a real search: every proposal new
    assert _results(killed) == _results(whole)
    # The dead trial counts for nothing: failed, and its parameters run again as the next trial.
    study = _study(killed, kind)
    assert study.trials[KILLED_IN].state == TrialState.FAIL
    assert study.trials[KILLED_IN + 1].params == study.trials[KILLED_IN].params
    assert resume_s < GRACE_PERIOD_S / 10  # the dead trial's heartbeat was not waited out


def _judged_by_successive_halving(lost: bool) -> bool:
    """Whether successive halving prunes a trial at its first rung, in a study of six trials
    and (``lost``) one a killed process lost, whose re-run repeated its rung score."""
    from benchmarks.tuning import make_pruner

    study = optuna.create_study(direction="maximize", pruner=make_pruner("successive-halving"))
    finished = [0.9, 0.3, 0.4, 0.5, 0.6, 0.8]
    for k, v in enumerate(finished):
        retry = {"failed_trial": 5, "retry_history": [5]} if lost and k == len(finished) - 1 else {}
        if retry:  # the lost trial, killed after its first rung, before its re-run
            study.add_trial(optuna.trial.create_trial(state=TrialState.FAIL, intermediate_values={1: v},
                                                      system_attrs={"completed_rung_0": v}))
        study.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, value=v, intermediate_values={1: v, 8: v},
                                                  system_attrs={"completed_rung_0": v, **retry}))
    trial = study.ask()
    trial.report(0.85, 1)  # second best at its rung: not among the best quarter of 7 scores
    return trial.should_prune()


def test_a_lost_trial_does_not_move_the_pruning_thresholds():
    assert _judged_by_successive_halving(lost=False)  # the uninterrupted search prunes it
    assert _judged_by_successive_halving(lost=True)  # and so does the resumed one
