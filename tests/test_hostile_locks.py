"""Every command that writes into a run takes its lock before any work (issue 21, kind 7).

Each row is a command aimed at a run directory another process holds: it must refuse with
one line and exit 2, before loading any data (the run's table is gone, so a command that
loaded data first would say so instead), and leave every file in the directory as it was.
A ``--resume`` of a directory that holds no run leaves it byte-identical (no lock file).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import store
from benchmarks.cli import main

pytestmark = pytest.mark.sklearn

SUITE = """
name = "locks"
[[datasets]]
name = "csv:{table}"
options = {{ target = "y" }}
repeats = 1
[[models]]
name = "random-forest"
params = {{ n_estimators = 5 }}
search = {{ trials = 1, pruner = "none" }}
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[Path, Path]:
    """(a finished run, its suite file) whose table is then deleted: loading the data fails."""
    root = tmp_path_factory.mktemp("locks")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    y = (x[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(int)
    table = root / "table.csv"
    table.write_text("a,b,y\n" + "".join(f"{a:.4f},{b:.4f},{c}\n" for (a, b), c in zip(x, y)))
    suite = root / "locks.toml"
    suite.write_text(SUITE.format(table=table))
    run = root / "run"
    assert main(["run", "--suite", str(suite), "--out", str(run), "--no-tune", "--quiet"]) == 0
    table.unlink()
    return run, suite


def _snapshot(d: Path) -> dict[str, bytes | None]:
    return {p.relative_to(d).as_posix(): p.read_bytes() if p.is_file() else None for p in sorted(d.rglob("*"))}


HELD = {
    "report": lambda run, suite: ["report", str(run)],
    "run --resume": lambda run, suite: ["run", "--resume", str(run), "--quiet"],
    "second run": lambda run, suite: ["run", "--suite", str(suite), "--out", str(run), "--quiet"],
    "tune into its optuna.db": lambda run, suite: ["tune", "--suite", str(suite), "--model", "random-forest",
                                                   "--storage", f"sqlite:///{run}/optuna.db", "--trials", "1"],
    "importance --out": lambda run, suite: ["importance", "--suite", str(suite), "--model", "random-forest",
                                            "--out", str(run)],
    "encode --out": lambda run, suite: ["encode", "--dataset", f"csv:{suite.parent / 'table.csv'}", "--target", "y",
                                        "--encoder", "text", "--out", str(run)],
}


@pytest.mark.parametrize("command", HELD)
def test_a_held_run_refuses_every_writer_before_any_work(stored, tmp_path, capsys, command):
    run = tmp_path / "run"
    shutil.copytree(stored[0], run)
    with store.RunLock(run):
        before = _snapshot(run)
        capsys.readouterr()
        assert main(HELD[command](run, stored[1])) == 2
        err = capsys.readouterr().err
        assert _snapshot(run) == before
    assert "in use by another run" in err and err.count("\n") == 1, err


FOREIGN = {
    "a directory of notes": {"notes.txt": b"mine\n"},
    "another tool's results.json": {"results.json": b'{"records": []}\n', "notes.txt": b"mine\n"},
}


@pytest.mark.parametrize("files", FOREIGN.values(), ids=FOREIGN)
def test_resume_of_a_directory_that_holds_no_run_writes_nothing_into_it(tmp_path, capsys, files):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for name, data in files.items():
        (foreign / name).write_bytes(data)
    before = _snapshot(foreign)
    capsys.readouterr()
    args = ["run", "--resume", str(foreign), "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "holds no run to resume" in err and err.count("\n") == 1, err
    assert _snapshot(foreign) == before
