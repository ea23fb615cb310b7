"""Optuna on a real PostgreSQL server (a throwaway one, see conftest.postgres_server): two
workers share a study, one is killed with SIGKILL mid-trial and the study still ends with
exactly the asked number of complete trials; `tune --workers N` on Ray fills a study that
a later `run --storage` reuses (the README's several-machines recipe, on one machine)."""
from __future__ import annotations

import json
import time

import pytest

from test_tuning import SUITE, _optuna_storage, _summary_of, _worker  # test-only models come with it

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402

from benchmarks.cli import main  # noqa: E402

pytestmark = pytest.mark.postgres


def _complete(url: str) -> int:
    try:
        study = optuna.load_study(study_name="shared", storage=_optuna_storage(url))
    except KeyError:  # not created yet
        return 0
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_workers_one_killed_mid_trial_end_with_exactly_n_trials(tmp_path, postgres_url):
    n = 5
    doomed = _worker(tmp_path, postgres_url, n, seed=0,
                     env={"TUNING_TEST_SLEEP": "120", "TUNING_TEST_MARKER": str(tmp_path / "doomed")})
    (tmp_path / "go").touch()
    try:
        _wait_for(lambda: (tmp_path / "doomed").exists() or doomed.poll() is not None, "the first trial")
        assert doomed.poll() is None, doomed.communicate()[1][-2000:]
        survivor = _worker(tmp_path, postgres_url, n, seed=1,
                           env={"TUNING_TEST_SLEEP": "0.3", "TUNING_TEST_MARKER": str(tmp_path / "survivor")})
        _wait_for(lambda: _complete(postgres_url) >= 1, "the survivor's first trial")  # both at work
        doomed.kill()  # SIGKILL, mid-trial
        doomed.wait(timeout=30)
        summary = _summary_of(survivor)
    finally:
        doomed.kill()
    assert summary["trials"] == n and summary["failed"] == 1

    study = optuna.load_study(study_name="shared", storage=_optuna_storage(postgres_url))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == n  # exactly the asked number
    assert study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING)) == []
    (killed,) = study.get_trials(states=(TrialState.FAIL,))
    retried = [t for t in complete if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retried) == 1 and retried[0].params == killed.params


@pytest.mark.ray
def test_tune_workers_on_ray_then_a_run_reuses_the_study(ray_address, tmp_path, postgres_url, capsys):
    suite = tmp_path / "tunetest.toml"
    suite.write_text(SUITE.format(trials=6))
    assert main(["tune", "--suite", str(suite), "--model", "scripted", "--storage", postgres_url,
                 "--workers", "2", "--device", "cpu"]) == 0
    assert "6 complete trials" in capsys.readouterr().out
    out = tmp_path / "run"
    assert main(["run", "--suite", str(suite), "--storage", postgres_url, "--out", str(out), "--quiet"]) == 0
    # nested (scope fold): tune searched repeat 0, the study the run's seed 0 reuses
    summary = json.loads((out / "results.json").read_text())["tuning"]["iris/scripted/seed 0"]
    assert summary["trials"] == 6 and summary["new_trials"] == 0  # every trial came from the workers
    assert summary["storage"].startswith("postgresql://postgres:***@/")
