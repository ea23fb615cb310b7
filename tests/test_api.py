"""The Python API (``benchmarks.api``) end to end on bundled data: the README's notebook
example, its numbers against the command line's, records.csv against ``records()``, the
``export`` command, errors as the CLI's one-line messages, and blind runs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import cli
from benchmarks.core.errors import BenchmarkError, ConfigError
from benchmarks.records_table import RECORDS_CSV
from reports.tables import fmt_mean_std

pytestmark = pytest.mark.sklearn

MODELS = ["xgboost", "random-forest"]
XGBOOST = pytest.mark.xgboost
FIGURES = ["accuracy", "accuracy_val", "per_class_accuracy", "n_test", "n_train"]  # not the timings


def _read_csv(path: Path, like: pd.DataFrame) -> pd.DataFrame:
    """A records table read back with the dtypes of ``like`` (floats exactly as written)."""
    return pd.read_csv(path, dtype={c: str(t) for c, t in like.dtypes.items()}, float_precision="round_trip")


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    pytest.importorskip("xgboost")
    from benchmarks import run

    return run("iris", models=MODELS, seeds=3, out=tmp_path_factory.mktemp("api") / "run")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """The same run through ``python -m benchmarks run``: its directory and console output."""
    pytest.importorskip("xgboost")
    import contextlib
    import io

    out = tmp_path_factory.mktemp("cli") / "run"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        rc = cli.main(["run", "--suite", "iris", "--models", ",".join(MODELS), "--seeds", "3", "--out", str(out),
                       "--quiet"])
    assert rc == 0
    return out, stdout.getvalue()


@XGBOOST
def test_the_readme_example_gives_the_numbers_the_cli_shows(api_run, cli_run):
    from benchmarks import load_run

    df = api_run.records()
    means = df.groupby("model").accuracy.mean()
    assert set(means.index) == set(MODELS) and len(df) == 2 * 3
    cli_dir, console = cli_run
    cli_df = load_run(cli_dir).records()
    pd.testing.assert_frame_equal(df[["dataset", "model", "seed", "control", *FIGURES]],
                                  cli_df[["dataset", "model", "seed", "control", *FIGURES]])
    for model in MODELS:  # the console's cells, formatted from the API's table
        cell = fmt_mean_std(df[df.model == model].accuracy.tolist(), 1, True)
        assert re.search(rf"^\s+{re.escape(model)}\s+{re.escape(cell)}\s", console, re.M), (cell, console)
    assert (api_run.run_dir / "report.md").is_file() and (api_run.run_dir / "manifest.json").is_file()
    assert repr(api_run) == f"Run({str(api_run.run_dir)!r}: 6 records, 0 failures)"


@XGBOOST
def test_records_csv_is_written_by_every_run_and_equals_records(api_run, cli_run):
    from benchmarks import load_run

    for run in (api_run, load_run(cli_run[0])):
        df = run.records()
        pd.testing.assert_frame_equal(_read_csv(run.run_dir / RECORDS_CSV, df), df)


@XGBOOST
def test_records_have_one_typed_column_per_figure(api_run):
    df = api_run.records()
    assert list(df.columns[:6]) == ["dataset", "model", "registry_name", "family", "seed", "control"]
    assert df.seed.dtype == "int64" and df.accuracy.dtype == "float64" and df.train_s.dtype == "float64"
    assert df.model.dtype == "string" and df.n_train.dtype == "int64" and df.tuned.dtype == "boolean"
    assert df["param.n_estimators"].dtype == "Int64"  # xgboost's only: a gap for the forest
    assert df.loc[df.model == "xgboost", "param.n_estimators"].eq(300).all()
    assert df.loc[df.model == "random-forest", "param.n_estimators"].isna().all()
    assert json.loads(df.per_class_accuracy[0]) == list(api_run.stored.records[0].metrics["per_class_accuracy"])


@XGBOOST
def test_predictions_are_the_stored_arrays(api_run):
    df = api_run.records()
    arrays = api_run.predictions(df.iloc[0])
    assert set(arrays) == {"val", "test"}
    rec = api_run.stored.records[0]
    assert (api_run.predictions(rec, "test").proba == api_run.stored.splits(rec)["test"].proba).all()
    with pytest.raises(ConfigError, match="no split 'public'"):
        api_run.predictions(rec, "public")
    with pytest.raises(ConfigError, match="holds no record of iris/xgboost seed 99"):
        api_run.predictions({"dataset": "iris", "model": "xgboost", "seed": 99})


@XGBOOST
def test_report_compare_and_leaderboard(api_run, cli_run, tmp_path):
    from benchmarks import compare, leaderboard

    (api_run.run_dir / "report.md").unlink()
    assert api_run.report() == api_run.run_dir / "report.md" and (api_run.run_dir / "report.md").is_file()
    both = compare([api_run, cli_run[0]])
    assert both.columns[0] == "run" and len(both) == 12 and both.run.nunique() == 2
    board = leaderboard(api_run)
    assert set(board.index) == set(MODELS)
    assert board["iris: accuracy"].to_dict() == pytest.approx(api_run.records().groupby("model").accuracy.mean().to_dict())
    assert len(leaderboard([api_run, cli_run[0]])) == 4
    with pytest.raises(ConfigError, match="are the same run"):
        compare([api_run, api_run.run_dir])


@XGBOOST
def test_export_round_trips_csv_and_json(api_run, tmp_path, capsys):
    df = api_run.records()
    rc, out, _ = _cli(capsys, "export", str(api_run.run_dir), "--format", "csv", "--out", str(tmp_path / "t.csv"))
    assert rc == 0 and out.startswith("wrote ")
    pd.testing.assert_frame_equal(_read_csv(tmp_path / "t.csv", df), df)
    rc, _, _ = _cli(capsys, "export", str(api_run.run_dir), "--format", "json")
    rows = json.loads((api_run.run_dir / "records.json").read_text())
    back = pd.DataFrame(rows, columns=list(df.columns)).astype({c: str(t) for c, t in df.dtypes.items()})
    assert rc == 0
    pd.testing.assert_frame_equal(back, df)


@XGBOOST
def test_export_parquet(api_run, tmp_path, capsys):
    pytest.importorskip("pyarrow", reason="pyarrow not installed (pip install -e '.[parquet]')")
    rc, _, _ = _cli(capsys, "export", str(api_run.run_dir), "--format", "parquet", "--out", str(tmp_path / "t.parquet"))
    assert rc == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), api_run.records(), check_dtype=False)


@XGBOOST
def test_export_refuses_bad_input_in_one_line(api_run, tmp_path, capsys, monkeypatch):
    for argv, said in [(["export", str(tmp_path)], "holds no results.json"),
                       (["export", str(api_run.run_dir), "--format", "xls"], "invalid choice: 'xls'")]:
        rc, _, err = _cli(capsys, *argv)
        assert rc == 2 and err.count("\n") == 1 and said in err, err
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    rc, _, err = _cli(capsys, "export", str(api_run.run_dir), "--format", "parquet")
    assert rc == 2 and err == "error: --format parquet needs pyarrow: pip install 'supertml-bench[parquet]'\n"


@pytest.mark.parametrize("options, argv", [
    ({"models": ["no-such-model"]}, ["--models", "no-such-model"]),
    ({"seeds": 0}, ["--seeds", "0"]),
    ({"models": []}, None),
    ({"target": "y"}, ["--target", "y"]),
])
def test_errors_are_the_cli_s_one_line_messages(options, argv, tmp_path, capsys):
    from benchmarks import run

    with pytest.raises(BenchmarkError) as caught:
        run("iris", out=tmp_path / "api", **options)
    assert not (tmp_path / "api").exists()
    if argv is not None:
        rc, _, err = _cli(capsys, "run", "--suite", "iris", "--out", str(tmp_path / "cli"), *argv)
        assert rc == 2 and err == f"error: {caught.value}\n"


def test_an_unknown_option_is_a_config_error(tmp_path):
    from benchmarks import run

    with pytest.raises(ConfigError, match="run\\(\\) has no option 'quiet'"):
        run("iris", quiet=True, out=tmp_path / "x")
    with pytest.raises(BenchmarkError, match="run directory not found"):
        __import__("benchmarks").load_run(tmp_path / "nowhere")


BLIND_SUITE = """
name = "blind-api"
blind = true
[[datasets]]
name = "higgsml-toy"
repeats = 2
options = { n_events = 3000 }
[[models]]
name = "random-forest"
params = { n_estimators = 10 }
"""


def test_a_blind_run_keeps_private_figures_and_arrays_hidden(tmp_path):
    from benchmarks import load_run, run

    suite = tmp_path / "blind.toml"
    suite.write_text(BLIND_SUITE)
    r = run(suite, out=tmp_path / "run", no_tune=True)
    df = r.records()
    assert "ams_public" in df.columns and "auc_public" in df.columns
    hidden = [c for c in df.columns if c.endswith("_private") or c == "auc"]
    assert hidden == []
    csv = pd.read_csv(r.run_dir / RECORDS_CSV)
    assert list(csv.columns) == list(df.columns)
    assert set(r.predictions(df.iloc[0])) == {"val", "public"}
    with pytest.raises(BenchmarkError, match="is blind: its private arrays stay unread"):
        r.predictions(df.iloc[0], "private")
    again = run(resume=r.run_dir)  # the suite and options from the run's manifest, as `run --resume`
    pd.testing.assert_frame_equal(again.records(), df)
    unblind = load_run(r.run_dir, unblind=True)
    assert {"ams_private", "auc"} <= set(unblind.records().columns)
    assert len(unblind.predictions(df.iloc[0], "private").y) > 0
