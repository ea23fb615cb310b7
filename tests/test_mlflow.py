"""MLflow tracking against a real local store (SQLite, no mock), read back through MLflow's
own client: one parent run per suite run, one child per record with its metrics, parameters
and tags, the report and plots as artifacts, and never a blind run's private figures."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import store
from benchmarks.cli import main
from conftest import need

pytestmark = pytest.mark.mlflow

BLIND = """name = "tracked-blind"
blind = true
[[datasets]]
name = "higgsml-toy"
options = { n_events = 3000, seed = 2 }
repeats = 2
[[models]]
name = "random-forest"
params = { n_estimators = 20, n_jobs = 1 }
"""


def _client(uri: str):
    need("mlflow", "mlflow")
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _logged(uri: str, experiment: str):
    client = _client(uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    return client, parents[0], children


def _by_fit(children) -> dict:
    return {(c.data.tags["dataset"], c.data.tags["model"], int(c.data.tags["seed"]), c.data.tags["control"]): c
            for c in children}


def test_every_record_is_a_child_run_with_its_metrics(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    out = tmp_path / "run"
    assert main(["run", "--suite", "iris", "--models", "random-forest", "--seeds", "3", "--control", "shuffled",
                 "--quiet", "--out", str(out), "--mlflow", uri]) == 0
    assert f"logged to MLflow at {uri}" in capsys.readouterr().out
    client, parent, children = _logged(uri, "iris")
    run = store.open_run(out)
    assert parent.data.tags["suite"] == "iris" and parent.data.tags["blind"] == "false"
    assert parent.data.tags["git_commit"] == (run.manifest.get("git_commit") or "")
    assert len(children) == len(run.records) == 6
    fits = _by_fit(children)
    for rec in run.records:
        child = fits[(rec.dataset, rec.model, rec.seed, rec.control)]
        numeric = {k: float(v) for k, v in rec.metrics.items() if isinstance(v, (int, float))}
        assert {k: v for k, v in child.data.metrics.items() if not k.startswith("time.")} == numeric
        assert child.data.metrics["time.train_s"] == rec.timing["train_s"]
        given = {k[len("param."):]: v for k, v in child.data.params.items() if k.startswith("param.")}
        assert given == {k: v if isinstance(v, str) else json.dumps(v) for k, v in rec.params.items()}
        assert child.data.params["registry_name"] == "random-forest"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"report.md", "manifest.json", "results.json", "plots"} <= artifacts


def test_a_blind_run_never_sends_its_private_figures(tmp_path, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text(BLIND)
    uri, out = f"sqlite:///{tmp_path}/mlflow.db", tmp_path / "run"
    assert main(["run", "--suite", str(suite), "--quiet", "--unblind", "--out", str(out), "--mlflow", uri]) == 0
    client, parent, children = _logged(uri, "tracked-blind")
    run = store.open_run(out, unblind=True)
    assert parent.data.tags["blind"] == "true" and len(children) == len(run.records) == 2
    assert any("private" in k for rec in run.records for k in rec.metrics)  # the run has them...
    for child in children:  # ...MLflow has none, although the report was unblinded
        assert child.data.metrics and not [k for k in child.data.metrics if "private" in k]
        assert "auc" not in child.data.metrics  # public and private together: hidden, as in the report
        rec = next(r for r in run.records if r.seed == int(child.data.tags["seed"]))
        assert child.data.metrics["ams_public"] == rec.metrics["ams_public"]
        assert child.data.params["param.n_estimators"] == "20" and child.data.tags["model"] == "random-forest"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert "results.json" not in artifacts and "report.md" in artifacts


def test_report_logs_a_stored_run_and_a_bad_store_is_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(["run", "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--quiet",
                 "--out", str(out)]) == 0
    uri = f"sqlite:///{tmp_path}/later.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main(["report", str(out), "--mlflow", "--mlflow-experiment", "later"]) == 0  # the URI from the env
    _, parent, children = _logged(uri, "later")
    assert len(children) == 1 and parent.data.tags["run_dir"] == str(out)
    capsys.readouterr()

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    bad = tmp_path / "never"
    assert main(["run", "--suite", "iris", "--quiet", "--out", str(bad), "--mlflow"]) == 2
    assert "needs a tracking URI" in capsys.readouterr().err and not bad.exists()
    assert main(["run", "--suite", "iris", "--quiet", "--out", str(bad),
                 "--mlflow", "http://alice:s3cret@127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "s3cret" not in err and "alice:***@" in err and not bad.exists()
    json.dumps(err)  # printable


def test_tracking_is_optional_and_never_in_the_run_directory(tmp_path):
    out = tmp_path / "run"
    uri = f"sqlite:///{tmp_path}/m.db"
    assert main(["run", "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--quiet",
                 "--out", str(out), "--mlflow", uri]) == 0
    assert not any(p.name in ("mlruns", "mlartifacts", "m.db") for p in out.rglob("*"))
    assert (tmp_path / "mlartifacts").is_dir() and not Path("mlruns").exists()


def test_the_python_api_logs_like_the_command(tmp_path):
    from benchmarks import run

    uri = f"sqlite:///{tmp_path}/api.db"
    r = run("iris", models=["random-forest"], seeds=2, out=tmp_path / "run", mlflow=uri, mlflow_experiment="api")
    _, parent, children = _logged(uri, "api")
    assert len(children) == len(r.records()) == 2 and parent.data.tags["run_dir"] == str(tmp_path / "run")
