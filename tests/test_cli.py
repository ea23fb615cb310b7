import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.suite import list_suites, load_suite, parse_suite
from benchmarks.core.errors import ConfigError

pytestmark = pytest.mark.sklearn

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_shipped_suites_parse():
    names = list_suites()
    assert {"default", "smoke", "higgsml", "higgsml-quick", "iris", "wine"} <= set(names)
    for name in names:
        suite = load_suite(name)
        assert suite.datasets and suite.models


def _changes(a, b) -> set[str]:
    """The settings in which suite models `a` and `b` differ (params, preprocess.KEY)."""
    keys = {k for k in set(a.params) | set(b.params) if a.params.get(k) != b.params.get(k)}
    return keys | {f"preprocess.{k}" for k in set(a.preprocess) | set(b.preprocess)
                   if a.preprocess.get(k) != b.preprocess.get(k)}


def test_iris_ablation_changes_one_setting_per_step():
    models = {m.label: m for m in load_suite("iris-ablation").models}
    recipe, raw, raw1 = models["text-recipe"], models["text-raw"], models["text-raw-decimals-1"]
    assert _changes(recipe, raw) == {"preprocess.standardise"} and raw.preprocess == {"standardise": False}
    assert _changes(raw, raw1) == {"encoder_options"} and raw1.params["encoder_options"] == {"decimals": 1}
    assert {m.name for m in models.values()} == {"supertml-text-resnet18", "supertml-pixels-resnet18"}
    # The iris suite runs the step the ablation favoured (threads aside: they only let the
    # variants share a small CPU).
    iris_text = next(m for m in load_suite("iris").models if m.name == "supertml-text-resnet18")
    assert _changes(iris_text, raw1) == {"num_threads"}


def test_suite_errors():
    with pytest.raises(ConfigError, match="unknown suite"):
        load_suite("nope")
    with pytest.raises(ConfigError, match="unknown key"):
        parse_suite({"datasets": [{"name": "iris", "bogus": 1}], "models": [{"name": "random-forest"}]})
    with pytest.raises(ConfigError, match="duplicate model labels"):
        parse_suite({"datasets": [{"name": "iris"}], "models": [{"name": "xgboost"}, {"name": "xgboost"}]})


def test_run_iris_writes_results_manifest_report(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", "--suite", "iris", "--models", "random-forest", "--seeds", "2",
               "--out", str(out), "--quiet", "--control", "shuffled"])
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(results["records"]) == 4  # 2 seeds x (real + shuffled control)
    assert {r["control"] for r in results["records"]} == {"none", "shuffled"}
    rec = results["records"][0]
    assert {"dataset", "model", "seed", "metrics", "timing", "device"} <= set(rec)
    assert 0.5 < rec["metrics"]["accuracy"] <= 1.0
    assert rec["timing"]["train_s"] > 0 and rec["timing"]["predict_s"] > 0
    assert (out / rec["predictions"]).is_file()
    assert manifest["seeds"] == [0, 1] and "numpy" in manifest["packages"] and manifest["cpu"]
    report = (out / "report.md").read_text()
    assert "## Dataset: iris" in report and "| random-forest | 2 |" in report
    assert "NOT produced by this run" in report and "### Shuffled-label control" in report
    assert "random-forest" in capsys.readouterr().out  # console summary

    # report re-renders the same file from the stored results
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").read_text() == report
    # a second run into the same directory is refused, not overwritten
    assert main(["run", "--suite", "iris", "--out", str(out), "--quiet"]) == 2


@pytest.mark.parametrize("args, message", [
    (["run", "--suite", "nosuch"], "unknown suite 'nosuch'"),
    (["run", "--suite", "iris", "--models", "xgbost"], "unknown model 'xgbost'"),
    (["run", "--suite", "iris", "--dataset", "csv:/no/such.csv", "--target", "y"], "csv file not found"),
    (["run", "--suite", "iris", "--dataset", "csv:/no/such.csv"], "needs --target"),
    (["run", "--suite", "higgsml", "--data", "/no/such/file.csv.gz"], "/no/such/file.csv.gz"),
    (["report", "/no/such/run"], "run directory not found"),
])
def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path, args, message):
    res = _cli(*args, "--out", str(tmp_path / "o")) if args[0] == "run" else _cli(*args)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert message in res.stderr
    assert res.stderr.strip().count("\n") == 0, res.stderr
    assert not (tmp_path / "o").exists()  # nothing written, not even an empty run directory


def test_csv_dataset_through_run(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    df = pd.DataFrame({"f1": rng.normal(size=200) + 2 * y, "f2": rng.normal(size=200), "label": np.where(y, "sig", "bkg")})
    path = tmp_path / "table.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "run"
    assert main(["run", "--suite", "iris", "--dataset", f"csv:{path}", "--target", "label",
                 "--models", "random-forest", "--seeds", "1", "--out", str(out), "--quiet"]) == 0
    rec = json.loads((out / "results.json").read_text())["records"][0]
    assert rec["dataset"] == "csv:table.csv" and rec["metrics"]["accuracy"] > 0.7


def test_list_shows_everything():
    res = _cli("list")
    assert res.returncode == 0
    for word in ("suites:", "datasets:", "models:", "encoders:", "higgsml", "random-forest", "iris"):
        assert word in res.stdout


def test_encode_all_draws_every_encoder_on_the_same_events(tmp_path):
    from PIL import Image

    from encoders import list_encoders

    out = tmp_path / "gallery"
    assert main(["encode", "--dataset", "iris", "--encoder", "all", "--size", "32", "--n", "3", "--out", str(out)]) == 0
    names = list_encoders()
    assert sorted(p.name for p in out.iterdir()) == sorted(names + ["gallery.png"])
    sheet = Image.open(out / "gallery.png")
    one = Image.open(out / names[0] / "contact_sheet.png")
    assert sheet.height > one.height * (len(names) - 1) / 2  # a row per encoder
    res = _cli("encode", "--dataset", "iris", "--encoder", "all", "--option", "grid=4", "--out", str(tmp_path / "x"))
    assert res.returncode == 2 and "apply to one encoder, not to all" in res.stderr


def test_parse_options_reads_toml_values_and_bare_words():
    from benchmarks.cli import parse_options

    assert parse_options(["grid=12", "blur=true", "embedding=pca", "ratio=0.5", "sizes=[1, 2]"], "--option") == {
        "grid": 12, "blur": True, "embedding": "pca", "ratio": 0.5, "sizes": [1, 2]}


def test_encode_writes_examples_and_contact_sheet(tmp_path):
    from PIL import Image

    out = tmp_path / "enc"
    assert main(["encode", "--dataset", "iris", "--encoder", "text", "--size", "56", "--n", "6", "--out", str(out)]) == 0
    pngs = sorted(out.glob("*.png"))
    assert (out / "contact_sheet.png") in pngs and len(pngs) == 7
    with Image.open(pngs[0]) as im:
        assert im.size[0] >= 56
    # An encoder option that cannot work is one clear line, not a traceback.
    res = _cli("encode", "--dataset", "higgsml-toy", "--encoder", "text", "--size", "24", "--out", str(tmp_path / "bad"))
    assert res.returncode == 2 and "Traceback" not in res.stderr and "error:" in res.stderr


def test_compare_two_runs(tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["run", "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--out", str(out), "--quiet"]) == 0
        runs.append(str(out))
    target = tmp_path / "cmp.md"
    assert main(["compare", *runs, "--out", str(target)]) == 0
    text = target.read_text()
    accuracy = json.loads((tmp_path / "a" / "results.json").read_text())["records"][0]["metrics"]["accuracy"]
    assert "random-forest" in text and f"| {100 * accuracy:.2f}% | 0.00 pp |" in text  # identical seeds: zero delta


def test_tune_cli_fills_a_study_to_its_total(tmp_path):
    import optuna

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    res = _cli("tune", "--suite", "smoke", "--model", "random-forest", "--storage", storage, "--study", "cli",
               "--trials", "2", "--dataset", "iris")
    assert res.returncode == 0, res.stderr
    study = optuna.load_study(study_name="cli", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2
    assert "best validation score" in res.stdout


def test_score_cli(tmp_path):
    import numpy as np
    import pandas as pd

    from datasets.higgsml_toy import make_higgsml_toy

    sol = make_higgsml_toy(n_events=400, seed=1)
    sol.to_csv(tmp_path / "sol.csv", index=False)
    test = sol[sol.KaggleSet.isin(["b", "v"])]
    sub = pd.DataFrame({"EventId": test.EventId, "RankOrder": np.arange(1, len(test) + 1), "Class": test.Label})
    sub.to_csv(tmp_path / "sub.csv", index=False)
    res = _cli("score", "--solution", str(tmp_path / "sol.csv"), "--submission", str(tmp_path / "sub.csv"))
    assert res.returncode == 0, res.stderr
    assert "ams_public:" in res.stdout and "ams_private:" in res.stdout
    sub.iloc[:-1].to_csv(tmp_path / "short.csv", index=False)  # one test event missing
    res = _cli("score", "--solution", str(tmp_path / "sol.csv"), "--submission", str(tmp_path / "short.csv"))
    assert res.returncode == 2 and "Traceback" not in res.stderr and "missing" in res.stderr.lower()


@pytest.mark.parametrize("toml, message", [
    ('[[datasets]]\nname = "iris"\nval_fraction = "x"\n[[models]]\nname = "random-forest"\n', "could not convert"),
    ('[[datasets]]\nname = "iris"\nval_fraction = 0.7\ntest_fraction = 0.5\n[[models]]\nname = "random-forest"\n', "sum below 1"),
    ('[[datasets]]\nname = "iris"\n[[models]]\nname = "random-forest"\nsearch = { trials = -3 }\n', "between 1 and"),
    ('[[datasets]]\nname = "iris"\n[[models]]\nname = "random-forest"\nparams = 3\n', "suite"),
    ('[[datasets]]\nname = "iris"\n[[models]]\nname = "random-forest"\nparams = { n_estimatorz = 3 }\n', "n_estimatorz"),
    ('this is [not toml', "invalid TOML"),
])
def test_bad_suite_files_are_one_line_errors(tmp_path, toml, message):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    res = _cli("run", "--suite", str(path), "--out", str(tmp_path / "o"), "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert message in res.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, message", [
    (["run", "--suite", "iris", "--data", "x.csv"], "no dataset of suite"),
    (["run", "--suite", "iris", "--max-events", "0"], "between 1 and"),
    (["encode", "--dataset", "iris", "--encoder", "text", "--decimals", "x"], "--decimals"),
    (["encode", "--dataset", "iris", "--encoder", "pixels", "--option", "gap"], "--option expects KEY=VALUE"),
    (["encode", "--dataset", "iris", "--encoder", "pixels", "--option", "gapp=1"], "unexpected keyword argument 'gapp'"),
    (["encode", "--dataset", "iris", "--encoder", "pixels", "--option", "gap=-1"], "gap"),
    (["encode", "--dataset", "iris", "--encoder", "text", "--bogus-free"], None),
])
def test_more_bad_options(tmp_path, args, message):
    res = _cli(*args, "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    if message:
        assert message in res.stderr


def test_unknown_loader_option_is_an_error():
    from datasets import load_dataset

    with pytest.raises(ConfigError, match="n_event"):
        load_dataset("higgsml-toy", n_event=10)
