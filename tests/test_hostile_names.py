"""Hostile names and tables (issue 21): collisions, duplicated columns, weightless classes, quoted bytes.

Each row names a kind of hostile input and builds its files under tmp_path; the table runs
through ``main`` in process. A refused row gives exit 2, one printable line on stderr holding
the row's fragment, and no run directory; a "made distinct" row runs, and its results stay
apart (one predictions file each, none shared).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.cli import main
from benchmarks.core.naming import file_name

pytestmark = pytest.mark.sklearn

RF = ["--models", "random-forest", "--seeds", "1", "--quiet"]
DISTINCT = None  # a row whose names are made distinct, not refused


def _table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "y": np.arange(n) % 2})


def _write(path: Path, df: pd.DataFrame | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (df if df is not None else _table()).to_csv(path, index=False)
    return path


def _raw(path: Path, header: str) -> Path:
    """A CSV whose header line is written as given (pandas would not write it so)."""
    rows = "\n".join(f"{i * 0.1:.1f},{(i * 7) % 5},{i % 2}" for i in range(60))
    path.write_text(header + "\n" + rows + "\n")
    return path


def _suite(tmp_path: Path, datasets: list[str], labels: list[str]) -> Path:
    """A suite of csv tables (target y) and random forests with these labels (5, 6, ... trees)."""
    text = "".join(f'[[datasets]]\nname = {json.dumps(f"csv:{d}")}\noptions = {{ target = "y" }}\n' for d in datasets)
    text += "".join(f'[[models]]\nname = "random-forest"\nlabel = {json.dumps(label)}\n'
                    f"params = {{ n_estimators = {5 + i} }}\n" for i, label in enumerate(labels))
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def _run(suite: Path, tmp_path: Path) -> list[str]:
    return ["run", "--suite", str(suite), "--seeds", "1", "--quiet", "--out", str(tmp_path / "o")]


def _csv_run(path: Path, tmp_path: Path, *extra: str) -> list[str]:
    return ["run", "--suite", "iris", *RF, "--dataset", f"csv:{path}", "--target", "y", *extra,
            "--out", str(tmp_path / "o")]


HOSTILE = "\x1b]0;owned\x07\x1b[2J" + "A" * 500  # a terminal title, a screen wipe and a screenful


def _setup(kind: str, tmp_path: Path, monkeypatch) -> list[str]:
    """The arguments of one hostile case (creating whatever files it needs)."""
    if kind == "csv tables with one file name in two folders":
        a, b = _write(tmp_path / "a" / "t.csv"), _write(tmp_path / "b" / "t.csv", _table(80))
        return _run(_suite(tmp_path, [str(a), str(b)], ["rf"]), tmp_path)
    if kind == "one csv table under two spellings":
        a = _write(tmp_path / "t.csv")
        return _run(_suite(tmp_path, [str(a), f"{tmp_path}/./t.csv"], ["rf"]), tmp_path)
    if kind == "labels that differ only in letter case":
        return _run(_suite(tmp_path, [str(_write(tmp_path / "t.csv"))], ["RF", "rf"]), tmp_path)
    if kind == "labels that differ only where _ stands":
        return _run(_suite(tmp_path, [str(_write(tmp_path / "t.csv"))], ["rf/x", "rf_x", "rf:x"]), tmp_path)
    if kind == "names that hold the file name's separator":
        # dataset csv:p__q.csv with model m, and dataset csv:p with model q.csv__m, once met in one file name
        tables = [str(_write(tmp_path / "p__q.csv")), str(_write(tmp_path / "p", _table(80)))]
        return _run(_suite(tmp_path, tables, ["m", "q.csv__m"]), tmp_path)
    if kind == "a column named twice":
        return _csv_run(_raw(tmp_path / "d.csv", "a,y,y"), tmp_path)
    if kind == "columns that differ only in white space":
        return _csv_run(_raw(tmp_path / "d.csv", "a, y,y"), tmp_path)
    if kind == "a column named like pandas' copy":
        return _csv_run(_raw(tmp_path / "d.csv", "a,y.1,y"), tmp_path)
    if kind == "an unnamed column (an index saved with the table)":
        return _csv_run(_raw(tmp_path / "d.csv", ",a,y"), tmp_path)
    if kind == "a header shorter than its rows":
        path = tmp_path / "d.csv"  # three fields a row under two names: pandas would index by `a`
        path.write_text("a,y\n" + "".join(f"{i},{i % 2},{i / 10}\n" for i in range(60)))
        return _csv_run(path, tmp_path)
    if kind == "a gzipped table with a column named twice":
        path = tmp_path / "d.csv.gz"
        _table().rename(columns={"b": "y"}).to_csv(path, index=False, compression="gzip")
        return _csv_run(path, tmp_path)
    if kind == "a submission with a second Class column, 'Class '":
        from datasets.higgsml_toy import make_higgsml_toy

        sol = make_higgsml_toy(n_events=400, seed=1)
        sol.to_csv(tmp_path / "sol.csv", index=False)
        test = sol[sol.KaggleSet.isin(["b", "v"])]
        sub = pd.DataFrame({"EventId": test.EventId, "RankOrder": np.arange(1, len(test) + 1), "Class": test.Label,
                            "Class ": "b"})  # which Class is the submission's?
        sub.to_csv(tmp_path / "sub.csv", index=False)
        return ["score", "--solution", str(tmp_path / "sol.csv"), "--submission", str(tmp_path / "sub.csv")]
    if kind == "a class that weighs nothing":
        df = _table().assign(w=lambda d: np.where(d.y == 1, 0.0, 1.0))
        return _csv_run(_write(tmp_path / "w.csv", df), tmp_path, "--weight", "w")
    if kind == "weights that are all zero":
        return _csv_run(_write(tmp_path / "w.csv", _table().assign(w=0.0)), tmp_path, "--weight", "w")
    if kind == "a header quoting a terminal escape":
        df = _table().rename(columns={"a": HOSTILE + "\nsecond line"})
        return ["run", "--suite", "iris", *RF, "--dataset", f"csv:{_write(tmp_path / 'e.csv', df)}",
                "--target", "label", "--out", str(tmp_path / "o")]
    if kind == "a KEEL cell quoting a terminal escape":
        (tmp_path / "keel").mkdir()
        (tmp_path / "keel" / "evil.dat").write_text(
            "@relation evil\n@attribute a real\n@attribute class {p, q}\n@data\n"
            f"0.1, p\n{HOSTILE}, q\n0.3, p\n")
        monkeypatch.setenv("KEEL_DATA", str(tmp_path / "keel"))
        return ["run", "--suite", "iris", *RF, "--dataset", "keel:evil", "--out", str(tmp_path / "o")]
    raise AssertionError(kind)


CASES = {
    "csv tables with one file name in two folders": "are both named 'csv:t.csv'",
    "one csv table under two spellings": "are both named 'csv:t.csv'",
    "labels that differ only in letter case": "model labels 'RF' and 'rf' differ only in letter case",
    "labels that differ only where _ stands": DISTINCT,
    "names that hold the file name's separator": DISTINCT,
    "a column named twice": "'y' used more than once",
    "columns that differ only in white space": "differ only in white space",
    "a column named like pandas' copy": "'y.1' is named like pandas' copy",
    "an unnamed column (an index saved with the table)": "column 1 has no name",
    "a header shorter than its rows": "its rows have more fields than its header (2 names)",
    "a gzipped table with a column named twice": "'y' used more than once",
    "a submission with a second Class column, 'Class '": "columns 'Class' and 'Class ' differ only in white space",
    "a class that weighs nothing": "the weights of class '1' sum to zero",
    "weights that are all zero": "the weights of class '0', '1' sum to zero",
    "a header quoting a terminal escape": "'label' not found; columns: \\x1b]0;owned\\x07\\x1b[2JAAA",
    "a KEEL cell quoting a terminal escape": "'\\x1b]0;owned\\x07\\x1b[2JAAA",
}


@pytest.mark.parametrize("kind", list(CASES))
def test_hostile_names_and_tables(kind, tmp_path, monkeypatch, capsys):
    args = _setup(kind, tmp_path, monkeypatch)
    rc = main(args)
    err = capsys.readouterr().err.strip()
    if CASES[kind] is DISTINCT:
        assert rc == 0, err
        _assert_apart(tmp_path / "o")
        return
    assert rc == 2, (kind, err)
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and CASES[kind] in err, (kind, err)
    assert err.isprintable() and len(err) < 600, err  # no escape reaches the terminal; no screenful
    assert not (tmp_path / "o").exists()  # refused before any file was written


def _assert_apart(run_dir: Path) -> None:
    """Every record has its own predictions file, holding its own model's figures."""
    results = json.loads((run_dir / "results.json").read_text())
    records, files = results["records"], [r["predictions"] for r in results["records"]]
    assert not results["failures"] and len(records) >= 3
    assert len(set(files)) == len(files), files
    stored = {}
    for rec, rel in zip(records, files):
        with np.load(run_dir / rel) as npz:
            stored[(rec["dataset"], rec["model"])] = npz["val_proba"]
    for (ds, model), proba in stored.items():  # models of one dataset differ (5, 6, ... trees)
        others = [p for (d, m), p in stored.items() if d == ds and m != model]
        assert all(p.shape != proba.shape or not np.array_equal(p, proba) for p in others), (ds, model)


# ----------------------------------------------------------------------------- the file-name scheme

PLAIN = ["iris", "random-forest", "keel-iris", "xgboost_tuned", "a.b", "A1"]
MERGED_BEFORE = ["a/b", "a_b", "a:b", "a b", "a__b", "a_", "_a_b", "a.b.", "..", ".", "", "é", "e", "~",
                 "a~b", "a" * 80, "a" * 81, "a" * 200, "csv:p__q.csv", "csv_p__q.csv", "q.csv__m"]


def test_plain_names_are_their_own_file_names():
    assert [file_name(n) for n in PLAIN] == PLAIN  # the files of existing runs keep their names


def test_file_names_are_distinct_and_stay_in_their_directory():
    names = [file_name(n) for n in PLAIN + MERGED_BEFORE]
    assert len(set(names)) == len(names), names
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9.~_-]+", name) and "__" not in name, name
        assert not name.startswith((".", "_")) and not name.endswith("_") and len(name) <= 100, name
