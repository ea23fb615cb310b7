"""One run record, read once: typed records, the writer that stores each once, the StoredRun
reports are computed from (each prediction file opened at most once, never a private array
while blind), and the shapes that keep it so (no executor-name branches, no tag lookups)."""
from __future__ import annotations

import ast
import json
import pickle
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import reports
from benchmarks import store
from benchmarks.core.errors import BenchmarkError
from benchmarks.run_record import Failure, Record
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite
from reports.analysis import analyse_run

pytestmark = pytest.mark.sklearn

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmarks", "datasets", "encoders", "models", "reports")


def _record(seed: int = 0, model: str = "m", **extra) -> Record:
    return Record(dataset="d", model=model, registry_name="random-forest", seed=seed, params={"n": 1},
                  metrics={"accuracy_test": 0.5, "accuracy_val": 0.5}, timing={"train_s": 1.0},
                  info={"nested": {"a": [1, 2]}}, **extra)


# --------------------------------------------------------------------------- typed records


def test_a_record_is_frozen_all_the_way_down():
    rec = _record()
    with pytest.raises(AttributeError):
        rec.seed = 3
    with pytest.raises(TypeError):
        rec.metrics["accuracy_test"] = 1.0
    with pytest.raises(TypeError):
        rec.info["nested"]["a"] = 0
    changed = rec.with_(timing={**rec.timing, "tune_s": 2.0})
    assert changed.timing["tune_s"] == 2.0 and "tune_s" not in rec.timing


def test_records_round_trip_through_json_and_pickle():
    rec = _record(facts={"experiment": 1})
    again = Record.from_json(json.loads(json.dumps(rec.to_json())))
    assert again.to_json() == rec.to_json()
    assert pickle.loads(pickle.dumps(rec)).to_json() == rec.to_json()  # Ray ships records this way
    assert "importance" not in rec.to_json()  # optional fields absent, as results.json always had them
    fail = Failure(dataset="d", model="m", seed=0, error_kind="input", error="bad")
    assert Failure.from_json(fail.to_json()).to_json() == fail.to_json()
    assert fail.to_json()["status"] == "failed"


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.update(seed="0"), "field 'seed' must be int"),
    (lambda r: r["metrics"].update(accuracy_test="high"), "'accuracy_test' is not a number"),
    (lambda r: r.update(predictions="../x.npz"), "predictions must name a file in predictions/"),
    (lambda r: r.update(status="failed"), "belongs in 'failures'"),
])
def test_a_bad_record_field_is_one_line(edit, message):
    obj = _record().to_json()
    edit(obj)
    with pytest.raises(BenchmarkError, match=re.escape(message)):
        Record.from_json(obj, "record 0")


# --------------------------------------------------------------------------- the writer


def test_the_writer_stores_each_record_once_in_plan_order(tmp_path):
    order = {("d", "m", s, "none"): s for s in range(3)}
    writer = store.RunWriter.start(tmp_path, "t", False, {"fits": [list(k) for k in order]}, order)
    writer.describe("d", {"name": "d", "metric": "accuracy", "class_names": ["a", "b"], "seeds": [0, 1, 2],
                          "splits": {"train": {}, "val": {}, "test": {}}})
    arrays = {f"{s}_{k}": np.zeros(2) for s in ("val", "test") for k in ("proba", "y", "w")}
    writer.add_failure(Failure(dataset="d", model="m", seed=1, error_kind="internal", error="boom"))
    for seed in (2, 0, 1):  # finished out of order (Ray); seed 1 on its second try
        stored = writer.add_record(_record(seed), arrays)
        assert stored.predictions == f"predictions/{store.record_key(stored)}.npz"
    run = store.open_run(tmp_path)
    assert [r.seed for r in run.records] == [0, 1, 2]
    assert run.failures == ()  # the rerun replaced the failure
    assert run.missing_fits() == ()
    assert [r.to_json() for r in writer.stored().records] == [r.to_json() for r in run.records]


def test_resume_keeps_intact_records_only(tmp_path):
    order = {("d", "m", s, "none"): s for s in range(2)}
    writer = store.RunWriter.start(tmp_path, "t", False, {}, order)
    arrays = {k: v for s in ("val", "test") for k, v in ((f"{s}_proba", np.full((2, 2), 0.5)), (f"{s}_y", np.zeros(2)),
                                                        (f"{s}_w", np.ones(2)))}
    kept, torn = writer.add_record(_record(0), arrays), writer.add_record(_record(1), arrays)
    (tmp_path / torn.predictions).write_bytes(b"not a zip")
    again, n_torn, n_failed = store.RunWriter.resume(tmp_path, order)
    assert (n_torn, n_failed) == (1, 0)
    assert again.done() == {kept.key}


# --------------------------------------------------------------------------- read once


@pytest.fixture(scope="module")
def ams_run(tmp_path_factory):
    """A blind AMS run (public and private test parts, audit, cut curves, shuffled controls,
    two models) and an accuracy dataset beside it (the leaderboard)."""
    raw = {"name": "read-once", "blind": True,
           "datasets": [{"name": "higgsml-toy", "repeats": 2, "options": {"n_events": 3000}},
                        {"name": "wine", "repeats": 2}],
           "models": [{"name": "random-forest", "params": {"n_estimators": 10}},
                      {"name": "random-forest", "label": "rf-shallow",
                       "params": {"n_estimators": 10, "max_depth": 2}}]}
    out = tmp_path_factory.mktemp("read-once") / "run"
    return run_suite(parse_suite(raw), out, RunOptions(progress=False, tune=False, control="shuffled"),
                     log=lambda s: None)


def _count_opens(monkeypatch) -> tuple[Counter, list]:
    opened: Counter = Counter()
    asked: list = []
    real = store._load_npz

    def counting(path, keys):
        opened[Path(path).name] += 1
        asked.append(list(keys) if keys is not None else None)
        return real(path, keys)

    monkeypatch.setattr(store, "_load_npz", counting)
    return opened, asked


def test_a_report_opens_each_prediction_file_at_most_once(ams_run, monkeypatch):
    opened, asked = _count_opens(monkeypatch)
    run = store.open_run(ams_run.run_dir)
    text = reports.write_report(run).read_text()
    files = {r.predictions.split("/")[-1] for r in run.records}
    assert "Shuffled-label control" in text and "Leaderboard" in text  # every reader of arrays ran
    assert opened and set(opened) <= files
    assert max(opened.values()) == 1, opened.most_common(3)
    assert all(not any(k.startswith("private") for k in keys) for keys in asked)  # blind: never named


def test_an_unblinded_view_reads_the_private_part_and_blind_one_does_not(ams_run, monkeypatch):
    opened, asked = _count_opens(monkeypatch)
    run = store.open_run(ams_run.run_dir)
    rec = next(r for r in run.records if r.dataset == "higgsml-toy")
    assert set(run.splits(rec)) == {"val", "public"}
    assert set(run.view(unblind=True).splits(rec)) == {"val", "public", "private"}
    assert any("private_proba" in keys for keys in asked)


def test_cmd_run_renders_from_the_run_it_stored(tmp_path, monkeypatch, capsys):
    """The report and the console summary come from the StoredRun the runner returned:
    results.json is never read back after the run."""
    from benchmarks import cli

    reads = []
    real = store.read_json
    monkeypatch.setattr(store, "read_json", lambda p: (reads.append(Path(p).name), real(p))[1])
    suite = tmp_path / "s.toml"
    suite.write_text('name = "t"\n[[datasets]]\nname = "iris"\nrepeats = 1\n'
                     '[[models]]\nname = "random-forest"\nparams = { n_estimators = 5 }\n')
    assert cli.main(["run", "--suite", str(suite), "--out", str(tmp_path / "r"), "--quiet", "--no-tune"]) == 0
    assert store.RESULTS not in reads
    assert "random-forest" in capsys.readouterr().out
    assert (tmp_path / "r" / store.REPORT).is_file()


def test_analysis_and_report_tables_come_from_the_stored_run_alone(ams_run, monkeypatch):
    """Rendering twice from one StoredRun gives the same text and reads nothing the second time."""
    run = store.open_run(ams_run.run_dir)
    first = analyse_run(run)
    opened, _ = _count_opens(monkeypatch)
    second = analyse_run(run)
    assert not opened  # every array was already loaded once
    assert [d.main for d in first.datasets] == [d.main for d in second.datasets]


# --------------------------------------------------------------------------- shapes that keep it so


def _sources(root: Path):
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            yield path, path.read_text()


def test_no_branch_on_an_executor_name_outside_the_executors():
    offenders = [str(p.relative_to(ROOT)) for p, text in _sources(ROOT)
                 if p.name != "executors.py" and re.search(r"executor\.name\s*[!=]=|executor\s*[!=]=\s*['\"]", text)]
    assert offenders == []


def test_nothing_outside_the_store_writes_results_json():
    offenders = []
    for path, text in _sources(ROOT):
        if path.name == "store.py":
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "write_json" and any(
                    isinstance(a, ast.Attribute) and a.attr == "RESULTS" for a in ast.walk(node)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_a_dataset_described_under_another_name_is_refused(tmp_path):
    info = {"name": "wine", "metric": "accuracy", "class_names": ["a"], "seeds": [0], "splits": {}}
    (tmp_path / store.RESULTS).write_text(json.dumps({"schema": store.SCHEMA, "datasets": {"iris": info},
                                                      "records": []}))
    with pytest.raises(BenchmarkError, match="dataset 'iris' is described as 'wine'"):
        store.open_run(tmp_path)
