"""What the reports' statistics mean: metric direction, the HiggsML headline figure, the
reference without a tabular model, and the test over seeds that are folds of one table.

Runs are written directly with the store (no training), every figure chosen. Each record's
stored predictions are right on exactly its accuracy's share of the test events.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest

from benchmarks import store
from benchmarks.core import metrics, stats
from benchmarks.core.registry import Entry
from benchmarks.core.scoring import METRICS, Column, Metric, MetricText, SplitArrays
from benchmarks.run_record import Record
from reports.analysis import analyse_run
from reports.leaderboard import run_leaderboard
from reports.leaderboard_plots import pareto
from reports.leaderboard_section import leaderboard_section
from reports.records import reference_model
from reports.sections import SectionContext, statistics_section

pytestmark = pytest.mark.sklearn

N_TEST = 100


class ErrorRate(Metric):
    """A lower-is-better figure (1 - accuracy), registered by the tests that need it."""

    name = "error-rate"
    text = MetricText(title="error rate")
    direction = "minimize"
    validation_key = "error_val"

    def test_key(self, split: str) -> str:
        return "error"

    def value(self, arrays: SplitArrays, state: Mapping[str, Any]) -> float:
        return 1.0 - metrics.accuracy(arrays.y, arrays.proba)

    def result_columns(self, tests, class_names, blind):
        return [Column("error", "test error")]


@pytest.fixture
def error_metric(monkeypatch):
    # Registered for this test only: the registry has no removal, and monkeypatch restores it,
    # so other tests still see the real metrics alone.
    monkeypatch.setitem(METRICS._entries, ErrorRate.name, Entry(ErrorRate.name, ErrorRate, "test only"))
    return ErrorRate


def _arrays(accuracy: float, seed: int, splits=("test",)) -> dict:
    y = np.random.default_rng(seed).integers(0, 2, N_TEST)
    guess = np.where(np.arange(N_TEST) < round(accuracy * N_TEST), y, 1 - y)
    proba = np.stack([1.0 - guess, guess], axis=1).astype(np.float32) * 0.8 + 0.1
    out = {"val_proba": proba, "val_y": y, "val_w": np.ones(N_TEST)}
    for split in splits:
        out.update({f"{split}_proba": proba, f"{split}_y": y, f"{split}_w": np.ones(N_TEST)})
    return out


def _info(name: str, seeds: list[int], metric: str, splits=("test",), **extra) -> dict:
    return {"name": name, "source": "synthetic test table", "synthetic": False, "metric": metric,
            "metric_options": {}, "task": "binary", "n_events": 300, "n_features": 2, "features": ["x0", "x1"],
            "class_names": ["no", "yes"], "weight_totals": {}, "notes": [], "seeds": seeds,
            "preprocess": {"missing": "keep", "orientation": False, "cartesian": False, "standardise": False},
            "splits": {"train": {"events": 100}, "val": {"events": 100}, **{s: {"events": N_TEST} for s in splits}},
            **extra}


def _write(run_dir: Path, datasets: dict, blind: bool = False) -> store.StoredRun:
    """datasets: {name: (info, {model: [(metrics, accuracy of the stored predictions, family)]})}."""
    run_dir.mkdir(parents=True)
    writer = store.RunWriter.start(run_dir, "synthetic", blind, {"command": "test", "fits": []}, {})
    for name, (info, models) in datasets.items():
        writer.describe(name, info)
        splits = [s for s in info["splits"] if s not in ("train", "val")]
        for model, seeds in models.items():
            for seed, (figures, acc, family) in enumerate(seeds):
                rec = {"dataset": name, "model": model, "registry_name": "random-forest", "family": family,
                       "seed": seed, "control": "none", "params": {}, "device": "cpu", "info": {}, "tuned": False,
                       "metrics": figures, "timing": {"train_s": 1.0, "val_predict_s": 0.1, "predict_s": 0.1,
                                                      "predict_per_1k_s": 1.0, "n_train": 100, "n_test": N_TEST}}
                writer.add_record(Record.from_json(rec), _arrays(acc, seed, splits))
    return writer.stored()


def _accuracy(values, family="tabular"):
    return [({"accuracy": v, "accuracy_val": v, "per_class_accuracy": [v, v]}, v, family) for v in values]


def _errors(values, family="tabular"):
    return [({"error": e, "error_val": e}, 1.0 - e, family) for e in values]


# ------------------------------------------------------------------ direction


def test_a_lower_is_better_metric_is_ranked_lowest_first(tmp_path, error_metric):
    # A has the lower error everywhere (constant gaps over 3 seeds: the t-test rejects); on the
    # accuracy dataset A is better too. Ranked backwards, B would come first on e1 and e2.
    run = _write(tmp_path / "run", {
        "e1": (_info("e1", [0, 1, 2], "error-rate"), {"A": _errors([.10, .11, .12]), "B": _errors([.30, .33, .31])}),
        "e2": (_info("e2", [0, 1, 2], "error-rate"), {"A": _errors([.20, .22, .21]), "B": _errors([.25, .27, .26])}),
        "acc": (_info("acc", [0, 1, 2], "accuracy"), {"A": _accuracy([.9, .91, .92]), "B": _accuracy([.8, .81, .82])}),
    })
    board = run_leaderboard(run)
    assert board.entrants == ("A", "B")
    assert board.ranks.tolist() == [[1, 2], [1, 2], [1, 2]] and board.mean_rank.tolist() == [1, 2]
    # The board shows the real figures, not the negated ones it ranked.
    assert board.scores[0].tolist() == pytest.approx([.11, .94 / 3]) and board.directions[0] == "minimize"
    assert board.normalised.tolist() == pytest.approx([1.0, 0.0])
    assert board.elo[0] > board.elo[1]
    assert board.tally("A", "B") == (3, 0, 0, 0) and board.tally("B", "A") == (0, 0, 3, 0)
    # The score-vs-time front keeps A (as fast, better), not B.
    assert pareto(np.array([1.2, 1.2]), board.normalised) == [0]
    text = leaderboard_section(board)
    assert "e1 (error rate ↓)" in text and "lower-is-better" in text


def test_the_reference_is_the_lowest_validation_error(tmp_path, error_metric):
    run = _write(tmp_path / "run", {
        "e1": (_info("e1", [0], "error-rate"), {"B": _errors([.30]), "A": _errors([.10])})})
    groups = {m: [r for r in run.records if r.model == m] for m in ("B", "A")}
    assert reference_model(groups, ErrorRate()) == ("A", True)


def test_with_one_seed_the_bootstrap_win_follows_the_direction(tmp_path, error_metric):
    run = _write(tmp_path / "run", {
        "e1": (_info("e1", [0], "error-rate"), {"A": _errors([.05]), "B": _errors([.45])}),
        "e2": (_info("e2", [0], "error-rate"), {"A": _errors([.05]), "B": _errors([.45])})})
    board = run_leaderboard(run)
    assert board.entrants == ("A", "B") and board.tally("A", "B") == (2, 0, 0, 0)
    assert board.outcomes[("e1", "A", "B")].test.startswith("paired bootstrap")


# ------------------------------------------------------------------ the HiggsML headline


def _ams(public, private):
    return [({"ams_public": pu, "ams_private": pr, "ams_val": pu, "cut": 0.5, "auc": .8, "auc_public": .8},
             .8, "tabular") for pu, pr in zip(public, private)]


def _higgs_run(tmp_path, blind):
    # On the public split A leads; on the private split (the final figure) B does.
    models = {"A": _ams([3.0, 3.1, 3.2], [2.0, 2.1, 2.2]), "B": _ams([2.5, 2.6, 2.7], [2.8, 2.9, 3.0])}
    return _write(tmp_path / "run", {
        "h1": (_info("h1", [0, 1, 2], "ams", splits=("public", "private")), models),
        "h2": (_info("h2", [0, 1, 2], "ams", splits=("public", "private")), models)}, blind=blind)


def test_an_unblinded_higgs_run_is_ranked_by_the_private_ams(tmp_path):
    run = _higgs_run(tmp_path, blind=False)
    board = run_leaderboard(run)
    assert board.figures == ("AMS private", "AMS private") and board.entrants == ("B", "A")
    assert board.scores[0].tolist() == pytest.approx([2.9, 2.1])
    assert "ranked by the private AMS" in leaderboard_section(board)


def test_a_blind_higgs_run_is_ranked_by_the_public_ams(tmp_path):
    run = _higgs_run(tmp_path, blind=True)
    board = run_leaderboard(run)
    assert board.figures == ("AMS public", "AMS public") and board.entrants == ("A", "B")
    text = leaderboard_section(board)
    assert "ranked by the public AMS" in text and "2.9" not in text  # no private figure shown


# ------------------------------------------------------------------ the reference


def _statistics_text(run: store.StoredRun, dataset: str) -> tuple[Any, str]:
    analysis = analyse_run(run)
    data = next(d for d in analysis.datasets if d.name == dataset)
    return data.statistics, statistics_section(SectionContext(analysis, data))


def test_without_a_tabular_model_the_reference_is_the_best_other_model_and_says_so(tmp_path):
    run = _write(tmp_path / "run", {"d1": (_info("d1", [0], "accuracy"), {
        "cnn-a": _accuracy([.70], "supertml"), "cnn-b": _accuracy([.80], "supertml")})})
    st, text = _statistics_text(run, "d1")
    assert st.reference == "cnn-b" and not st.reference_is_tabular
    assert "`cnn-b`; **not a tabular model**" in text and "None" not in text
    assert "difference vs cnn-b" in text


def test_a_single_model_has_no_reference(tmp_path):
    run = _write(tmp_path / "run", {"d1": (_info("d1", [0], "accuracy"), {
        "cnn-a": _accuracy([.70], "supertml")})})
    st, text = _statistics_text(run, "d1")
    assert st.reference is None and "one model only" in text and "None" not in text
    assert "difference vs" not in text


def test_the_statistics_section_prints_the_verdict(tmp_path):
    run = _write(tmp_path / "run", {"d1": (_info("d1", [0], "accuracy"), {
        "A": _accuracy([.95]), "B": _accuracy([.55]), "C": _accuracy([.94])})})
    st, text = _statistics_text(run, "d1")
    verdicts = {row.label: row.comparison["verdict"] for row in st.rows if row.comparison}
    assert verdicts == {"B": "different", "C": "inconclusive"}  # one point on 100 events: not shown either way
    assert "**different**" in text and "inconclusive" in text and "MDD" in text
    assert "resolution" not in text


# ------------------------------------------------------------------ folds: the corrected t-test


FOLDS = {"scheme": "folds", "folds": 4, "repeats": 3, "search": "once", "test_train_ratio": 1 / 3}
A_SEEDS, B_SEEDS = [.90, .86, .88], [.85, .84, .86]


def _fold_run(tmp_path, resampling):
    extra = {} if resampling is None else {"resampling": resampling}
    models = {"A": _accuracy(A_SEEDS), "B": _accuracy(B_SEEDS)}
    return _write(tmp_path / "run", {"d1": (_info("d1", [0, 1, 2], "accuracy", **extra), models),
                                     "d2": (_info("d2", [0, 1, 2], "accuracy", **extra), models)})


def test_seeds_that_are_folds_get_the_corrected_resampled_ttest(tmp_path):
    run = _fold_run(tmp_path, FOLDS)
    st, text = _statistics_text(run, "d1")
    row = next(r for r in st.rows if r.label == "B")
    corrected = stats.corrected_resampled_ttest(B_SEEDS, A_SEEDS, 1 / 3)["p_value"]
    plain = stats.paired_seed_test(B_SEEDS, A_SEEDS)
    assert row.over_seeds.p_value == pytest.approx(corrected) and corrected > plain
    assert "corrected resampled t-test (Nadeau & Bengio 2003)" in text
    board = run_leaderboard(run)
    assert board.outcomes[("d1", "A", "B")].test == "corrected resampled t-test over 3 seeds"
    assert "Nadeau & Bengio" in leaderboard_section(board)


@pytest.mark.parametrize("resampling", [None, {"scheme": "fixed", "test_train_ratio": None}])
def test_older_runs_and_fixed_test_sets_keep_the_paired_ttest(tmp_path, resampling):
    run = _fold_run(tmp_path, resampling)
    st, text = _statistics_text(run, "d1")
    row = next(r for r in st.rows if r.label == "B")
    assert row.over_seeds.p_value == pytest.approx(stats.paired_seed_test(B_SEEDS, A_SEEDS))
    assert "paired t-test over seeds" in text and "corrected resampled" not in text
    board = run_leaderboard(run)
    assert board.outcomes[("d1", "A", "B")].test == "paired t-test over 3 seeds"
