"""A model as three entries of a suite (default, tuned, tuned+ensemble), and the greedy
ensemble selection (Caruana et al. 2004) the last one is made by."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.core.errors import ConfigError
from benchmarks.core.selection import greedy_selection
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite

pytestmark = pytest.mark.sklearn


# ----------------------------------------------------------------------------- greedy selection

def _brier_score(y: np.ndarray):
    """Higher is better: minus the mean squared error of P(class 1)."""
    return lambda proba: -float(np.mean((proba[:, 1] - y) ** 2))


def _two_columns(p1) -> np.ndarray:
    p1 = np.asarray(p1, dtype=np.float64)
    return np.column_stack([1 - p1, p1])


def test_greedy_selection_on_a_case_computed_by_hand():
    # Two validation events, labels (1, 0). P(class 1) of three configurations:
    #   A (0.7, 0.3): Brier 0.09    B (1.0, 0.5): 0.125    C (0.5, 0.0): 0.125
    # round 1: A (0.09); round 2: A+A 0.09, A+B = A+C = 0.09125 -> A again (0.09);
    # round 3: AAB = AAC = (0.04 + 0.134444) / 2 = 0.087222 -> B (the lower index wins the tie);
    # round 4 from AAB (sums 2.4, 1.1): +A 0.0865625, +B 0.09125, +C (0.725, 0.275) 0.075625 -> C.
    y = np.array([1, 0])
    probas = [_two_columns([0.7, 0.3]), _two_columns([1.0, 0.5]), _two_columns([0.5, 0.0])]
    picked = greedy_selection(probas, _brier_score(y), size=4)
    np.testing.assert_allclose(picked.scores, [-0.09, -0.09, -0.0872222222, -0.075625], rtol=1e-9)
    assert picked.rounds == 4 and picked.weights == (0.5, 0.25, 0.25) and picked.members == (0, 1, 2)
    assert picked.score == pytest.approx(-0.075625)
    # The ensemble's probabilities are the weighted mean: better than any one configuration.
    mixed = sum(w * p for w, p in zip(picked.weights, probas))
    assert _brier_score(y)(mixed) == pytest.approx(picked.score)

    # Two rounds: the best prefix is the first (round 2 only ties it): A alone.
    short = greedy_selection(probas, _brier_score(y), size=2)
    assert short.rounds == 1 and short.weights == (1.0, 0.0, 0.0) and short.members == (0,)


def test_greedy_selection_refuses_nonsense():
    score = _brier_score(np.array([1, 0]))
    with pytest.raises(ValueError, match="at least one"):
        greedy_selection([], score)
    with pytest.raises(ValueError, match="size >= 1"):
        greedy_selection([_two_columns([0.5, 0.5])], score, size=0)
    with pytest.raises(ValueError):
        greedy_selection([_two_columns([0.5, 0.5]), _two_columns([0.5, 0.5, 0.5])], score)


def test_a_non_finite_score_is_never_picked_over_a_finite_one():
    y = np.array([1, 0])
    bad = _two_columns([0.9, 0.1])
    score = lambda p: float("nan") if np.allclose(p, bad) else _brier_score(y)(p)  # noqa: E731
    picked = greedy_selection([bad, _two_columns([0.6, 0.4])], score, size=1)
    assert picked.weights == (0.0, 1.0)


# ----------------------------------------------------------------------------- suite entries

def _suite(entries, search=True, **model):
    # breast-cancer: ranked by ROC AUC, a validation figure fine enough for an ensemble to move
    m = {"name": "random-forest", "label": "rf", "params": {"n_estimators": 8, "n_jobs": 1}, **model}
    if entries is not None:
        m["entries"] = entries
    if search:
        m["search"] = {"trials": 4}
    return {"name": "entries", "datasets": [{"name": "breast-cancer", "repeats": 1}], "models": [m]}


def test_entries_become_one_spec_each_sharing_one_search():
    suite = parse_suite(_suite(["default", "tuned", "tuned+ensemble"], ensemble={"size": 5}))
    labels = [m.label for m in suite.models]
    assert labels == ["rf (default)", "rf (tuned)", "rf (tuned+ensemble)"]
    default, tuned, ens = suite.models
    assert default.search is None and tuned.search is not None and ens.search == tuned.search
    assert tuned.search.keep_predictions  # the ensemble needs every trial's validation probabilities
    assert {m.search_label for m in suite.models} == {"rf"} and ens.is_ensemble and ens.ensemble_size == 5
    assert default.facts() == {"entry": "default", "entry_of": "rf"}
    assert suite.model("rf") is ens  # `tune --model rf` fills the one search the entries share
    plain = parse_suite(_suite(None)).models
    assert [m.label for m in plain] == ["rf"] and plain[0].facts() == {} and not plain[0].search.keep_predictions
    only_tuned = parse_suite(_suite(["tuned"])).models[0]
    assert not only_tuned.search.keep_predictions


@pytest.mark.parametrize("raw, message", [
    (_suite(["tuned", "best"]), "entries must name each of"),
    (_suite(["tuned", "tuned"]), "entries must name each of"),
    (_suite("tuned"), "entries must be a list"),
    (_suite([]), "entries must be a list"),
    (_suite(["default", "tuned"], search=False), "need a \\[search\\]"),
    (_suite(["tuned"], ensemble={"size": 3}), "goes with entries"),
    (_suite(None, ensemble={"size": 3}), "goes with entries"),
    (_suite(["tuned+ensemble"], ensemble={"size": 0}), "size"),
    (_suite(["tuned+ensemble"], ensemble={"rounds": 3}), "rounds"),
])
def test_bad_entries_are_one_line_errors(raw, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_suite(raw)
    assert "\n" not in str(err.value)


def test_a_run_of_three_entries(tmp_path):
    # Base seed 1: its search's selection has two members, so the weighted mean of refits is
    # exercised (at seed 0 the best single configuration wins every round: weight 1). The
    # selection itself is checked on a case computed by hand above.
    suite = parse_suite({**_suite(["default", "tuned", "tuned+ensemble"], ensemble={"size": 6}), "base_seed": 1})
    run = run_suite(suite, tmp_path / "run", RunOptions(seeds=1, progress=False), log=lambda m: None)
    records = {r.model: r for r in run.records}
    assert set(records) == {"rf (default)", "rf (tuned)", "rf (tuned+ensemble)"}
    default, tuned, ens = records["rf (default)"], records["rf (tuned)"], records["rf (tuned+ensemble)"]
    assert [r.facts["entry"] for r in (default, tuned, ens)] == ["default", "tuned", "tuned+ensemble"]
    assert not default.tuned and tuned.tuned and ens.tuned
    # Time to result: nothing searched for the default; the whole search for the other two.
    assert default.timing["tune_s"] == 0 and tuned.timing["tune_s"] == ens.timing["tune_s"] > 0
    assert default.params == {"n_estimators": 8, "n_jobs": 1}

    (search,) = run.tuning.values()
    chosen = search["ensemble"]
    assert search["label"] == "rf" and search["trials"] == 4 and chosen["candidates"] == 4
    assert chosen["val_score"] >= chosen["best_single"]  # round 1 is the best single configuration
    members = ens.params["ensemble"]
    assert members == chosen["members"] and abs(sum(m["weight"] for m in members) - 1) < 1e-12
    trials = {t["number"]: t for t in _trials(tmp_path / "run", search)}
    for m in members:  # each member is a complete trial of the search, with its parameters
        assert trials[m["trial"]]["state"] == "COMPLETE"
        assert m["params"] == {**trials[m["trial"]]["params"]}
    assert len(members) >= 2 and len(ens.info["members"]) == len(members)
    # Its probabilities are the weighted mean of its members, each refitted as the harness fits a model.
    from benchmarks import pipeline
    from datasets import load_dataset

    spec, dspec = suite.models[2], suite.datasets[0]
    splits = pipeline.SeedSplits(load_dataset("breast-cancer"), dspec, ens.seed).for_model(spec)
    expected = 0
    for m in members:
        one = pipeline.build_model(suite.models[1], {**spec.params, **m["params"]}, ens.seed, "cpu", splits)
        pipeline.fit(one, splits)
        expected = expected + m["weight"] * one.predict_proba(splits.val.X)
    np.testing.assert_allclose(run.splits(ens)["val"].proba, expected, atol=1e-7)  # stored as float32
    # The tuned entry is the study's best trial.
    best = max(trials.values(), key=lambda t: t["value"])
    assert {k: tuned.params[k] for k in best["params"]} == best["params"]
    json.dumps(run.records[0].to_json())  # strict JSON all the way
    from reports import write_report

    report = write_report(run).read_text()
    for label in ("rf (default)", "rf (tuned)", "rf (tuned+ensemble)", "Tuned+ensemble entries"):
        assert label in report
    members_cell = ", ".join(f"#{m['trial']} x {m['weight']:.3g}" for m in members)
    assert members_cell in report


def _trials(run_dir, search) -> list[dict]:
    import optuna

    from benchmarks.tuning import open_storage

    storage, _ = open_storage(search["storage"])
    study = optuna.load_study(study_name=search["study"], storage=storage)
    return [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params}
            for t in study.get_trials(deepcopy=False)]


def test_no_tune_runs_only_the_default_entries(tmp_path):
    suite = parse_suite(_suite(["default", "tuned", "tuned+ensemble"]))
    run = run_suite(suite, tmp_path / "run", RunOptions(seeds=1, progress=False, tune=False), log=lambda m: None)
    assert [r.model for r in run.records] == ["rf (default)"]
    only_tuned = parse_suite(_suite(["tuned"]))
    with pytest.raises(ConfigError, match="--no-tune leaves no model"):
        run_suite(only_tuned, tmp_path / "run2", RunOptions(seeds=1, progress=False, tune=False), log=lambda m: None)
