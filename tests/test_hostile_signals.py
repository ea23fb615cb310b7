"""Signals leave either nothing or a resumable run: SIGTERM or Ctrl-C before anything is stored
removes the run directory (the same --out is free again); after a fit or a search is stored,
the directory stays and ``--resume`` finishes it. Real processes, real signals."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.cli import main

pytestmark = pytest.mark.sklearn

ROOT = Path(__file__).resolve().parents[1]
SLOW = 'params = { n_estimators = 2000, n_jobs = 1 }'  # a few seconds a fit: the signal finds it busy


def _suite(tmp_path: Path, search: bool) -> Path:
    path = tmp_path / "s.toml"
    first = ('[[models]]\nname = "random-forest"\nlabel = "rf-searched"\n'
             'params = { n_estimators = 10, n_jobs = 1 }\nsearch = { trials = 2 }\n') if search else ""
    path.write_text(f'name = "signals"\n[[datasets]]\nname = "iris"\nrepeats = 2\n{first}'
                    f'[[models]]\nname = "random-forest"\n{SLOW}\n')
    return path


def _stored(out: Path) -> dict:
    try:
        return json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        return {}


WHEN = {  # the moment each row's signal is sent
    "before anything is stored": lambda out: (out / "manifest.json").exists(),
    "after a search is stored": lambda out: bool(_stored(out).get("tuning")),
    "after a fit is stored": lambda out: bool(_stored(out).get("records")),
}


@pytest.mark.parametrize("when, sig, search, code, says", [
    ("before anything is stored", signal.SIGTERM, False, 143, "terminated"),
    ("after a search is stored", signal.SIGINT, True, 130, "interrupted"),
    ("after a fit is stored", signal.SIGTERM, False, 143, "terminated"),
])
def test_a_signal_leaves_nothing_or_a_resumable_run(when, sig, search, code, says, tmp_path, capsys):
    suite, out = _suite(tmp_path, search), tmp_path / "o"
    storage = ["--storage", f"journal:{tmp_path}/study.log"] if search else []  # the study outside the run
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks", "run", "--suite", str(suite), *storage,
                             "--out", str(out), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and not WHEN[when](out) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before the signal"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code and err.strip() == says, err[-2000:]
    if when == "before anything is stored":
        assert not out.exists()
        assert main(["run", "--suite", str(suite), "--out", str(out), "--quiet"]) == 0  # the --out is free
    else:
        assert (out / "manifest.json").exists()
        assert main(["run", "--resume", str(out), "--quiet"]) == 0
    assert len(_stored(out)["records"]) == (4 if search else 2) and not _stored(out)["failures"]


@pytest.mark.parametrize("sig, code, says", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_an_interrupt_a_library_turns_into_another_error_is_still_an_interrupt(sig, code, says, monkeypatch, capsys):
    """Optuna's journal lock, interrupted mid-release, raises FileNotFoundError from its clean-up:
    the command must still end as interrupted, not as bad input (exit 2)."""
    import benchmarks.cli as cli

    def cleanup_fails(args):
        try:
            signal.raise_signal(sig)
        finally:
            raise FileNotFoundError(2, "No such file or directory", "study.log.lock1234.rename")

    monkeypatch.setitem(cli.COMMANDS, "list", cleanup_fails)
    assert main(["list"]) == code
    assert capsys.readouterr().err.strip() == says
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
