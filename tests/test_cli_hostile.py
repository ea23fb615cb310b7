"""Hostile input to the command line: every kind gives one line on stderr and exit 2.

Each row names a kind of bad input (an unwritable path, a truncated file, an absurd size,
a malformed suite or results file, ...); the table runs through ``main`` in process, and a
few rows again as real subprocesses, where a traceback would show.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import store
from benchmarks.cli import main
from benchmarks.core import files

pytestmark = pytest.mark.sklearn

ROOT = Path(__file__).resolve().parents[1]
RF = ["--suite", "iris", "--models", "random-forest", "--seeds", "1", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "good"
    assert main(["run", *RF, "--out", str(out)]) == 0
    return out


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(run_dir, dest)
    return dest


def _csv(tmp_path: Path, name: str, df: pd.DataFrame, gz: bool = False) -> Path:
    path = tmp_path / name
    df.to_csv(path, index=False, compression="gzip" if gz else None)
    return path


def _table(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "y": np.arange(60) % 2})


def _setup(kind: str, tmp_path: Path, run_dir: Path) -> list[str]:
    """The arguments of one hostile case (creating whatever files it needs)."""
    if kind == "out under /proc":
        return ["run", *RF, "--out", "/proc/no/such/dir"]
    if kind == "predictions is a file":
        (tmp_path / "o").mkdir()
        (tmp_path / "o" / "predictions").write_text("x")
        return ["run", *RF, "--out", str(tmp_path / "o")]
    if kind == "report.md is a directory":
        d = _copy(run_dir, tmp_path)
        (d / "report.md").unlink()
        (d / "report.md").mkdir()
        return ["report", str(d)]
    if kind == "report.html is a directory":
        d = _copy(run_dir, tmp_path)
        (d / "report.html").unlink()
        (d / "report.html").mkdir()
        return ["report", str(d)]
    if kind == "plots is a file":
        d = _copy(run_dir, tmp_path)
        shutil.rmtree(d / "plots", ignore_errors=True)
        (d / "plots").write_text("x")
        return ["report", str(d)]
    if kind == "truncated gz csv":
        path = tmp_path / "t.csv.gz"
        path.write_bytes(gzip.compress(_table(tmp_path).to_csv(index=False).encode())[:60])
        return ["run", *RF, "--dataset", f"csv:{path}", "--target", "y", "--out", str(tmp_path / "o")]
    if kind == "huge values in csv":
        df = _table(tmp_path)
        df.loc[3, "a"] = 1e305
        return ["run", *RF, "--dataset", f"csv:{_csv(tmp_path, 'h.csv', df)}", "--target", "y", "--out", str(tmp_path / "o")]
    if kind == "absurd seeds":
        return ["run", "--suite", "iris", "--seeds", str(10**9), "--out", str(tmp_path / "o")]
    if kind == "absurd toy size":
        suite = tmp_path / "s.toml"
        suite.write_text('[[datasets]]\nname = "higgsml-toy"\noptions = { n_events = 1000000000000 }\n'
                         '[[models]]\nname = "random-forest"\n')
        return ["run", "--suite", str(suite), "--out", str(tmp_path / "o")]
    if kind == "absurd image size":
        return ["encode", "--dataset", "iris", "--encoder", "pixels", "--size", "100000", "--out", str(tmp_path / "e")]
    if kind == "negative example count":
        return ["encode", "--dataset", "iris", "--encoder", "pixels", "--n", "-3", "--out", str(tmp_path / "e")]
    if kind == "suite not utf-8":
        suite = tmp_path / "s.toml"
        suite.write_bytes(b'name = "\xff\xfe"\n')
        return ["run", "--suite", str(suite), "--out", str(tmp_path / "o")]
    if kind == "suite nested deeply":
        suite = tmp_path / "s.toml"
        suite.write_text("x = " + "[" * 3000 + "]" * 3000 + "\n")
        return ["run", "--suite", str(suite), "--out", str(tmp_path / "o")]
    if kind == "non-integer base seed":
        suite = tmp_path / "s.toml"
        suite.write_text('base_seed = 1.7\n[[datasets]]\nname = "iris"\n[[models]]\nname = "random-forest"\n')
        return ["run", "--suite", str(suite), "--out", str(tmp_path / "o")]
    if kind == "non-integer max_events":
        suite = tmp_path / "s.toml"
        suite.write_text('[[datasets]]\nname = "iris"\nmax_events = 0.5\n[[models]]\nname = "random-forest"\n')
        return ["run", "--suite", str(suite), "--out", str(tmp_path / "o")]
    if kind == "results.json with wrong types":
        d = _copy(run_dir, tmp_path)
        results = json.loads((d / "results.json").read_text())
        results["records"][0]["metrics"]["accuracy"] = "high"
        (d / "results.json").write_text(json.dumps(results))
        return ["report", str(d)]
    if kind == "results.json pointing outside the run":
        d = _copy(run_dir, tmp_path)
        results = json.loads((d / "results.json").read_text())
        results["records"][0]["predictions"] = "../../etc/passwd"
        (d / "results.json").write_text(json.dumps(results))
        return ["report", str(d)]
    if kind == "compare --out a directory":
        return ["compare", str(run_dir), str(run_dir), "--out", str(tmp_path)]
    if kind == "compare --out into a run":
        d = _copy(run_dir, tmp_path)
        return ["compare", str(run_dir), str(d), "--out", str(d / "results.json")]
    if kind == "tune --seed negative":
        return ["tune", "--suite", "smoke", "--model", "random-forest", "--storage", f"journal:{tmp_path}/j", "--seed", "-1"]
    if kind == "tune --seed huge":
        return ["tune", "--suite", "smoke", "--model", "random-forest", "--storage", f"journal:{tmp_path}/j",
                "--seed", str(2**40)]
    if kind == "journal that is not a journal":
        (tmp_path / "j.txt").write_text("hello\n")
        return ["tune", "--suite", "smoke", "--model", "random-forest", "--storage", f"journal:{tmp_path}/j.txt",
                "--trials", "1"]
    if kind in ("sqlite of something else", "sqlite that is not sqlite"):
        db = tmp_path / "other.db"
        if kind == "sqlite that is not sqlite":
            db.write_text("a text file\n")
        else:
            with contextlib.closing(sqlite3.connect(db)) as con:
                con.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
                con.commit()
        return ["tune", "--suite", "smoke", "--model", "random-forest", "--storage", f"sqlite:///{db}", "--trials", "1"]
    if kind == "empty --models":
        return ["run", "--suite", "iris", "--models", ",,,", "--out", str(tmp_path / "o")]
    if kind == "unknown metric":
        path = _csv(tmp_path, "b.csv", _table(tmp_path))
        return ["run", *RF, "--dataset", f"csv:{path}", "--target", "y", "--metric", "f1", "--out", str(tmp_path / "o")]
    raise AssertionError(kind)


CASES = {
    "out under /proc": "/proc/no",
    "predictions is a file": "predictions",
    "report.md is a directory": "report.md",
    "report.html is a directory": "report.html",
    "plots is a file": "plots",
    "truncated gz csv": "cannot read",
    "huge values in csv": "beyond",
    "absurd seeds": "--seeds",
    "absurd toy size": "n_events",
    "absurd image size": "size",
    "negative example count": "--n",
    "suite not utf-8": "UTF-8",
    "suite nested deeply": "nested",
    "non-integer base seed": "base_seed must be an integer",
    "non-integer max_events": "max_events must be an integer",
    "results.json with wrong types": "'accuracy' is not a number",
    "results.json pointing outside the run": "predictions must name a file",
    "compare --out a directory": "is a directory",
    "compare --out into a run": "inside a run directory",
    "tune --seed negative": "--seed",
    "tune --seed huge": "--seed",
    "journal that is not a journal": "not an Optuna journal",
    "sqlite of something else": "a database of something else (tables customers)",
    "sqlite that is not sqlite": "is not an SQLite database",
    "empty --models": "no name",
    "unknown metric": "unknown metric",
}


@pytest.mark.parametrize("kind", list(CASES))
def test_hostile_input_is_one_line_and_exit_2(kind, tmp_path, run_dir, capsys):
    args = _setup(kind, tmp_path, run_dir)
    rc = main(args)
    err = capsys.readouterr().err.strip()
    assert rc == 2, (kind, err)
    lines = err.splitlines()
    assert len(lines) == 1, (kind, err)  # the error alone: no progress or info line before it
    assert lines[0].startswith("error: ") and CASES[kind] in lines[0], (kind, err)
    assert not (tmp_path / "o").exists() or kind == "predictions is a file"  # no half-made run directory


@pytest.mark.parametrize("kind", ["truncated gz csv", "suite nested deeply", "results.json with wrong types"])
def test_hostile_input_in_a_real_process(kind, tmp_path, run_dir):
    args = _setup(kind, tmp_path, run_dir)
    res = subprocess.run([sys.executable, "-m", "benchmarks", *args], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_full_disk_is_one_line(tmp_path, run_dir, capsys, monkeypatch):
    d = _copy(run_dir, tmp_path)

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(files, "atomic_write", full)
    monkeypatch.setattr(store, "atomic_write", full)
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: No space left on device: ") and len(err.splitlines()) == 1, err
    assert (d / "report.md").read_text().startswith("# ")  # the old report is untouched


def test_storage_password_never_written(tmp_path, capsys):
    out = tmp_path / "o"
    url = f"sqlite:///{tmp_path}/o.db?password=hunter2"
    assert main(["run", *RF, "--out", str(out), "--storage", url]) == 0
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".md"):
            assert "hunter2" not in path.read_text(), path
    assert "hunter2" not in capsys.readouterr().err


def test_internal_errors_are_one_line_with_exit_1(monkeypatch, capsys):
    import benchmarks.cli as cli

    monkeypatch.setitem(cli.COMMANDS, "list", lambda args: {}["boom"])
    monkeypatch.delenv("SUPERTML_DEBUG", raising=False)
    assert main(["list"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: internal error (KeyError") and len(err.splitlines()) == 1


def test_suite_name_cannot_leave_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "s.toml"
    suite.write_text('name = "../../../escape/x"\n[[datasets]]\nname = "iris"\nrepeats = 1\n'
                     '[[models]]\nname = "random-forest"\nparams = { n_estimators = 5 }\n')
    assert main(["run", "--suite", str(suite), "--quiet"]) == 0
    made = list((tmp_path / "runs").iterdir())
    assert len(made) == 1 and made[0].name.startswith(".._.._.._escape_x-")
    assert not (tmp_path.parent / "escape").exists() and not Path("/escape").exists()


def test_failure_after_loading_leaves_no_run_directory(tmp_path, capsys):
    out = tmp_path / "o"
    args = ["run", "--suite", "smoke", "--models", "random-forest", "--out", str(out), "--quiet",
            "--storage", "postgresql://user:secret@127.0.0.1:1/nodb"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "cannot open Optuna storage" in err and "secret" not in err and "***" in err
    assert not out.exists()


def test_a_database_of_something_else_gets_no_optuna_tables(tmp_path, capsys):
    args = _setup("sqlite of something else", tmp_path, None)
    assert main(args) == 2
    with contextlib.closing(sqlite3.connect(tmp_path / "other.db")) as con:
        tables = [row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["customers"]
