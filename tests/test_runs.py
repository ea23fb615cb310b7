"""Runs that cannot lie: same seed, same numbers; one process per run directory; an
interrupted run (kill -9) finished by --resume equals an uninterrupted one."""
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

from benchmarks import store
from benchmarks.cli import main
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite
from models import backend_available
from models.registry import MODELS

pytestmark = pytest.mark.sklearn

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


class _Sleepy:
    """A fake classifier whose fit takes `seconds`, or waits until the file `gate` exists:
    a run that is certain to be in progress."""

    def __init__(self, seconds: float = 0.5, gate: str | None = None, random_state: int = 0):
        self.seconds, self.gate = seconds, gate

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        time.sleep(self.seconds)
        end = time.monotonic() + 300
        while self.gate and not Path(self.gate).exists() and time.monotonic() < end:
            time.sleep(0.05)
        self.n_classes_ = int(max(y.max(), y_val.max())) + 1
        return self

    def predict_proba(self, X):
        return np.full((len(X), self.n_classes_), 1.0 / self.n_classes_)


# Test-only model, registered once per process (the subprocess driver imports this module).
if "runs-test-sleepy" not in MODELS.names():
    MODELS.register("runs-test-sleepy", backend="sklearn", family="tabular")(lambda **kw: _Sleepy(**kw))

SLEEPY_SUITE = """
name = "sleepy"
[[datasets]]
name = "iris"
repeats = 3
[[models]]
name = "runs-test-sleepy"
params = {{ seconds = 0.0, gate = "{gate}" }}
"""
DRIVER = ("import sys; sys.path.insert(0, {tests!r}); import test_runs; from benchmarks.cli import main; "
          "sys.exit(main({args!r}))")

SLOW_SUITE = """
name = "slow"
[[datasets]]
name = "higgsml-toy"
options = { n_events = 3000, seed = 1 }
repeats = 6
[datasets.preprocess]
missing = "impute"
standardise = true
[[models]]
name = "random-forest"
params = { n_estimators = 60 }
[[models]]
name = "runs-test-sleepy"
params = { seconds = 0.6 }
"""


def _wait_for(predicate, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _records(out: Path) -> list[dict]:
    try:
        return json.loads((out / "results.json").read_text())["records"]
    except (OSError, ValueError, KeyError):
        return []


def _metrics(out: Path) -> dict:
    return {(r["dataset"], r["model"], r["seed"], r["control"]): r["metrics"] for r in _records(out)}


def test_second_process_on_a_run_directory_fails_at_once(tmp_path):
    suite = tmp_path / "sleepy.toml"
    gate = tmp_path / "gate"
    suite.write_text(SLEEPY_SUITE.format(gate=gate))
    out = tmp_path / "run"
    args = ["run", "--suite", str(suite), "--out", str(out), "--quiet"]
    first = subprocess.Popen([sys.executable, "-c", DRIVER.format(tests=str(TESTS), args=args)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: store.is_locked(out))
        second = subprocess.run([sys.executable, "-m", "benchmarks", "run", "--suite", "iris", "--models",
                                 "random-forest", "--out", str(out), "--quiet"], cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 2 and "in use by another run" in second.stderr
        assert first.poll() is None  # at once: while the first run is still going
        gate.touch()  # now let the first run finish
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        first.kill()
    assert {r["model"] for r in _records(out)} == {"runs-test-sleepy"} and len(_records(out)) == 3
    assert "random-forest" not in first.stdout.read()  # its summary shows its own results only


def test_a_held_lock_refuses_a_run_and_a_dead_holder_frees_it(tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    args = ["run", "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--quiet", "--out", str(out)]
    with store.RunLock(out):
        assert store.is_locked(out)
        assert main(args) == 2
    assert "in use by another run" in capsys.readouterr().err and not (out / "results.json").exists()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from benchmarks import store; "
                               f"store.RunLock({str(out)!r}).__enter__(); print('held', flush=True); time.sleep(60)"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held" and store.is_locked(out)
        holder.kill()  # SIGKILL: the kernel releases the lock with the process
        holder.wait(timeout=30)
    finally:
        holder.kill()
    assert not store.is_locked(out)
    assert main(args) == 0


def test_run_over_an_existing_run_is_refused(tmp_path, capsys):
    args = ["run", "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--quiet", "--out", str(tmp_path / "r")]
    assert main(args) == 0
    before = (tmp_path / "r" / "results.json").read_text()
    assert main(args) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (tmp_path / "r" / "results.json").read_text() == before


def test_kill_then_resume_equals_an_uninterrupted_run(tmp_path):
    suite = tmp_path / "slow.toml"
    suite.write_text(SLOW_SUITE)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    args = ["run", "--suite", str(suite), "--out", str(killed), "--quiet"]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER.format(tests=str(TESTS), args=args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: len(_records(killed)) >= 3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    partial = len(_records(killed))
    assert 3 <= partial < 12, "the run finished before it could be killed"
    # Tear one stored prediction file: a corrupt record is rerun, not trusted.
    torn = killed / _records(killed)[0]["predictions"]
    torn.write_bytes(torn.read_bytes()[:50])
    # Until then, the report says at its top what is missing and which file is unreadable.
    assert main(["report", str(killed)]) == 0
    head = (killed / "report.md").read_text().split("## Dataset")[0]
    assert f"**Incomplete run**: {12 - partial} planned fit(s) have no results" in head
    assert _records(killed)[0]["predictions"] in head and "Unreadable prediction files" in head
    assert main(["run", "--resume", str(killed), "--quiet"]) == 0
    assert "Incomplete run" not in (killed / "report.md").read_text()
    assert main(["run", "--suite", str(suite), "--out", str(whole), "--quiet"]) == 0
    assert _metrics(killed) == _metrics(whole) and len(_metrics(killed)) == 12
    assert (killed / "report.md").is_file()


def test_resume_refuses_another_setup(tmp_path, capsys):
    out = tmp_path / "r"
    base = ["run", "--suite", "iris", "--models", "random-forest", "--quiet"]
    assert main([*base, "--seeds", "1", "--out", str(out)]) == 0
    assert main([*base, "--seeds", "2", "--resume", str(out)]) == 2
    assert "another suite, options or data" in capsys.readouterr().err
    assert main(["run", "--resume", str(out), "--quiet"]) == 0  # nothing missing: a no-op
    assert len(_records(out)) == 1
    assert main(["run", "--resume", str(tmp_path / "none"), "--quiet"]) == 2


SAME_SEED_SUITE = {
    "name": "same-seed",
    "datasets": [{"name": "higgsml-toy", "options": {"n_events": 1200, "seed": 3}, "repeats": 1, "max_events": 300,
                  "preprocess": {"missing": "impute", "orientation": True, "standardise": True}}],
    "models": [
        {"name": "random-forest", "params": {"n_estimators": 30}},  # n_jobs=-1: threads must not matter
        {"name": "xgboost", "params": {"n_estimators": 40}},
        {"name": "lightgbm", "params": {"n_estimators": 40}},
        {"name": "fcnn", "params": {"max_epochs": 3, "batch_size": 64}},
        {"name": "supertml-text-resnet10t", "params": {"image_size": 56, "epochs": 1, "batch_size": 32,
                                                       "pretrained": False, "encoder_options": {"decimals": "auto"}}},
        {"name": "supertml-pixels-resnet10t", "params": {"image_size": 32, "epochs": 1, "batch_size": 32,
                                                         "pretrained": False, "augment": True, "tta": 1}},
    ],
}


@pytest.mark.torch
@pytest.mark.xgboost
@pytest.mark.lightgbm
@pytest.mark.slow
def test_same_seed_gives_bit_identical_metrics_on_cpu(tmp_path):
    for backend in ("xgboost", "lightgbm", "torch"):
        if not backend_available(backend):
            pytest.skip(f"needs {backend}")
    suite = parse_suite(SAME_SEED_SUITE)
    opts = RunOptions(device="cpu", progress=False, control="shuffled")
    a = run_suite(suite, tmp_path / "a", opts, log=lambda m: None).run_dir
    b = run_suite(suite, tmp_path / "b", opts, log=lambda m: None).run_dir
    ma, mb = _metrics(a), _metrics(b)
    assert len(ma) == 6 * 2 and ma.keys() == mb.keys()
    for key in ma:
        assert ma[key] == mb[key], key  # exact: every float bit for bit
