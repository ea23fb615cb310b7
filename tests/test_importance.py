"""Permutation importance on validation, feature selection on the search splits."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks import pipeline, store
from benchmarks.cli import main
from benchmarks.core.scoring import get_metric
from benchmarks.importance import permutation_importance
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite
from datasets import Dataset, make_splits
from models import create_model

pytestmark = pytest.mark.sklearn


class _Poison:
    name = "test"

    def __getattr__(self, item):
        raise AssertionError("importance touched a test split")


def _table(n=900, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 2] > 0).astype(np.int64)  # only the third feature carries the label
    return Dataset("t", X, y, ("a", "b", "signal", "d"), ("no", "yes"))


def test_the_informative_feature_ranks_first_and_tests_are_never_read():
    ds = _table()
    splits = make_splits(ds, 0)
    model = create_model("random-forest", n_estimators=30, random_state=0)
    model.fit(splits.train.X, splits.train.y)
    poisoned = replace(splits, tests=(_Poison(),))
    ranked = permutation_importance(model, poisoned, get_metric("accuracy").objective, repeats=3, seed=1)
    assert ranked.ranked()[0] == "signal" and ranked.mean[2] > 0.3
    assert all(abs(m) < 0.05 for i, m in enumerate(ranked.mean) if i != 2)
    again = permutation_importance(model, splits, get_metric("accuracy").objective, repeats=3, seed=1)
    assert again.mean == ranked.mean  # seeded


def test_selection_trains_on_the_top_features_ranked_on_the_search_splits(tmp_path, monkeypatch):
    suite = parse_suite({"name": "s", "datasets": [{"name": "iris", "repeats": 2}],
                         "models": [{"name": "random-forest", "label": "rf-top2", "params": {"n_estimators": 20},
                                     "select": {"top": 2, "by": "random-forest", "repeats": 2}}]})
    seen = []
    real = pipeline.fit

    def spy(model, splits, epoch_callback=None):
        seen.append((splits.feature_names, len(splits.train)))
        return real(model, splits, epoch_callback)

    monkeypatch.setattr(pipeline, "fit", spy)
    out = run_suite(suite, tmp_path / "r", RunOptions(progress=False), log=lambda m: None).run_dir
    sel = store.open_run(out).datasets["iris"]["selections"]["rf-top2"]
    assert len(sel["features"]) == 2 and set(sel["features"]) <= {"petal length (cm)", "petal width (cm)", "sepal length (cm)", "sepal width (cm)"}
    ranking_fit, *fits = seen
    assert len(ranking_fit[0]) == 4 and ranking_fit[1] == 60  # the search pool's training part
    assert [names for names, _ in fits] == [tuple(sel["features"])] * 2
    assert main(["report", str(out)]) == 0
    assert "trains on its top 2 features" in (out / "report.md").read_text()


def test_run_importance_and_the_importance_command(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--importance", "2",
                 "--quiet", "--out", str(out)]) == 0
    rec = store.open_run(out).records[0]
    assert rec.importance["repeats"] == 2 and len(rec.importance["features"]) == 4
    assert "### Feature importance" in (out / "report.md").read_text()
    assert (out / "plots" / "iris_importance.png").is_file()
    assert main(["importance", "--suite", "iris", "--model", "random-forest", "--repeats", "2",
                 "--out", str(tmp_path / "imp")]) == 0
    text = capsys.readouterr().out
    assert "drop when each feature is shuffled" in text
    lines = (tmp_path / "imp" / "importance.csv").read_text().splitlines()
    assert lines[0] == "feature,drop_mean,drop_std" and len(lines) == 5
    assert main(["importance", "--suite", "iris", "--model", "random-forest", "--repeats", "0"]) == 2
