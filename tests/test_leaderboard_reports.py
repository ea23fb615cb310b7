"""The leaderboard in run reports and in ``compare`` (reports/leaderboard*.py).

Run directories are written directly with the store (no training): every figure is chosen,
so the leaderboard can be checked against the worked example of test_leaderboard_stats.py.
Each record's stored predictions are right on exactly its accuracy's share of the 100 test
events, so the paired bootstraps see the same accuracies as the records.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import store
from benchmarks.run_record import Record
from reports import write_report
from reports.analysis import analyse_run
from reports.compare import compare_runs, write_comparison
from reports.leaderboard import paired_outcome, run_cells, run_leaderboard

pytestmark = pytest.mark.sklearn

N_TEST = 100
# Per-seed test accuracies; their means are the worked example (A .90/.85/.70/.95, B .80/.86/.60/.90,
# C .70/.50/.60/.92). Spreads are chosen so that some paired t-tests reject and some do not.
EXAMPLE = {
    "d1": {"A": [.89, .90, .91], "B": [.79, .80, .81], "C": [.69, .70, .71]},
    "d2": {"A": [.84, .85, .86], "B": [.88, .84, .86], "C": [.49, .50, .51]},
    "d3": {"A": [.69, .70, .71], "B": [.60, .60, .60], "C": [.60, .60, .60]},
    "d4": {"A": [.94, .95, .96], "B": [.80, .95, .95], "C": [.91, .92, .93]},
}


def _info(name: str, seeds: list[int]) -> dict:
    return {"name": name, "source": "synthetic test table", "synthetic": False, "metric": "accuracy",
            "metric_options": {}, "task": "binary", "n_events": 300, "n_features": 2, "features": ["x0", "x1"],
            "class_names": ["no", "yes"], "weight_totals": {}, "notes": [], "seeds": seeds,
            "preprocess": {"missing": "keep", "orientation": False, "cartesian": False, "standardise": False},
            "splits": {"train": {"events": 100}, "val": {"events": 100}, "test": {"events": N_TEST}}}


def _arrays(accuracy: float, seed: int) -> dict:
    """Predictions right on the first round(accuracy * N) events of a fixed label vector."""
    y = np.random.default_rng(seed).integers(0, 2, N_TEST)
    right = np.arange(N_TEST) < round(accuracy * N_TEST)
    guess = np.where(right, y, 1 - y)
    proba = np.stack([1.0 - guess, guess], axis=1).astype(np.float32) * 0.8 + 0.1
    w = np.ones(N_TEST)
    return {"val_proba": proba, "val_y": y, "val_w": w, "test_proba": proba, "test_y": y, "test_w": w}


def _record(dataset: str, model: str, seed: int, accuracy: float, timing: dict) -> dict:
    return {"dataset": dataset, "model": model, "registry_name": "random-forest", "family": "tabular", "seed": seed,
            "control": "none", "params": {}, "device": "cpu", "info": {}, "tuned": "tune_s" in timing,
            "metrics": {"accuracy": accuracy, "accuracy_val": accuracy, "per_class_accuracy": [accuracy, accuracy]},
            "timing": {"train_s": 1.0, "val_predict_s": 0.1, "predict_s": 0.1, "predict_per_1k_s": 1.0,
                       "n_train": 100, "n_test": N_TEST, **timing}}


def write_run(run_dir: Path, table: dict, timing: dict | None = None, tuning: dict | None = None) -> Path:
    """A stored run of `table` ({dataset: {model: per-seed accuracies}})."""
    run_dir.mkdir(parents=True)
    writer = store.RunWriter.start(run_dir, "synthetic", False, {"command": "test", "fits": []}, {})
    for key, summary in (tuning or {}).items():
        writer.add_search(key, summary)
    for dataset, models in table.items():
        n_seeds = max(len(v) for v in models.values())
        writer.describe(dataset, _info(dataset, list(range(n_seeds))))
        for model, values in models.items():
            for seed, acc in enumerate(values):
                rec = _record(dataset, model, seed, acc, (timing or {}).get(model, {}))
                writer.add_record(Record.from_json(rec), _arrays(acc, seed))
    return run_dir


def test_the_run_leaderboard_is_the_worked_example(tmp_path):
    run = write_run(tmp_path / "run", EXAMPLE)
    board = run_leaderboard(store.open_run(run))
    assert board.entrants == ("A", "B", "C") and board.datasets == ("d1", "d2", "d3", "d4")
    assert board.mean_rank.tolist() == pytest.approx([1.25, 2.125, 2.625])
    assert board.friedman["chi2"] == pytest.approx(62 / 15)  # tie-corrected (d3 ties B and C)
    assert board.cd == pytest.approx(1.657, abs=1e-3) and board.cliques == ((0, 1, 2),)
    assert board.normalised.tolist() == pytest.approx([(3 + .35 / .36) / 4, .375, .1])
    assert board.elo[0] > board.elo[1] > board.elo[2]


def test_wins_ties_and_losses_come_from_paired_tests_over_seeds(tmp_path):
    board = run_leaderboard(store.open_run(write_run(tmp_path / "run", EXAMPLE)))
    # A vs B: d1, d3 constant gaps (win); d2 noisy (-.04, +.01, 0: tie); d4 (.14, 0, .01: tie).
    assert board.tally("A", "B") == (2, 2, 0, 0)
    assert board.tally("B", "A") == (0, 2, 2, 0)
    # B vs C: d1, d2 constant gaps (win); d3 identical (tie); d4 (-.11, +.03, +.02: tie).
    assert board.tally("B", "C") == (2, 2, 0, 0)
    assert board.outcomes[("d1", "A", "B")].test == "paired t-test over 3 seeds"


def test_with_one_seed_the_paired_bootstrap_decides(tmp_path):
    table = {"d1": {"A": [.95], "B": [.55], "C": [.94]}, "d2": {"A": [.90], "B": [.60], "C": [.90]}}
    run = write_run(tmp_path / "run", table)
    cells = {(c.dataset, c.entrant): c for c in run_cells(store.open_run(run))}
    big = paired_outcome(cells[("d1", "A")], cells[("d1", "B")])
    assert big.result == "win" and big.test.startswith("paired bootstrap")
    assert paired_outcome(cells[("d1", "A")], cells[("d1", "C")]).result == "tie"
    assert paired_outcome(cells[("d2", "C")], cells[("d2", "A")]).result == "tie"


def test_a_dataset_missing_a_model_is_left_out_and_named(tmp_path):
    table = {**EXAMPLE, "d5": {"A": [.5, .5, .5], "B": [.4, .4, .4]}}
    board = run_leaderboard(store.open_run(write_run(tmp_path / "run", table)))
    assert "d5" not in board.datasets and board.left_out == ("d5: no score for C",)


def test_time_to_result_adds_the_search_to_every_seed(tmp_path):
    # A's records carry tune_s; C's predate it (tuned, no tune_s): the run's search summary is used.
    timing = {"A": {"tune_s": 10.0}, "C": {}}
    tuning = {f"{d}/C": {"search_s": 4.0} for d in EXAMPLE}
    run = write_run(tmp_path / "run", EXAMPLE, timing, tuning)
    results = store.read_json(run / store.RESULTS)
    for rec in results["records"]:
        if rec["model"] == "C":
            rec["tuned"] = True
    store.write_json(run / store.RESULTS, results)
    board = run_leaderboard(store.open_run(run))
    times = dict(zip(board.entrants, board.time_per_result()))
    assert times["A"] == pytest.approx(11.2) and times["B"] == pytest.approx(1.2) and times["C"] == pytest.approx(5.2)
    assert dict(zip(board.entrants, board.time_vs_fastest()))["A"] == pytest.approx(11.2 / 1.2)


def test_the_report_shows_the_leaderboard_and_its_plots(tmp_path):
    run = write_run(tmp_path / "run", EXAMPLE)
    text = write_report(store.open_run(run)).read_text()
    assert "## Leaderboard across datasets" in text
    assert text.index("## Leaderboard across datasets") < text.index("## Dataset: d1")
    assert "chi2_F = 4.133" in text and "tie correction" in text and "**1.66 ranks**" in text
    assert "| 1 | A | 1.25 |" in text
    for name in ("leaderboard_cd.png", "leaderboard_time.png"):
        assert f"(plots/{name})" in text
        with Image.open(run / "plots" / name) as img:
            img.verify()


def test_a_single_dataset_run_has_no_leaderboard(tmp_path):
    run = write_run(tmp_path / "run", {"d1": EXAMPLE["d1"]})
    assert analyse_run(store.open_run(run)).leaderboard is None
    assert "Leaderboard" not in write_report(store.open_run(run)).read_text()


def test_compare_ranks_every_model_of_every_run_on_the_common_datasets(tmp_path):
    a = write_run(tmp_path / "a", EXAMPLE)
    b = write_run(tmp_path / "b", {d: {"A": v["A"], "D": [x - 0.3 for x in v["C"]]} for d, v in EXAMPLE.items()})
    text = compare_runs([a, b])
    assert "## Leaderboard across datasets" in text
    for entrant in ("A @ a", "B @ a", "C @ a", "A @ b", "D @ b"):
        assert f"| {entrant} |" in text
    # The same model with the same figures in both runs draws everywhere.
    out = write_comparison([a, b], tmp_path / "cmp" / "ab.md")
    assert (tmp_path / "cmp" / "plots" / "ab_leaderboard_cd.png").is_file()
    assert "(plots/ab_leaderboard_cd.png)" in out.read_text()


def test_compare_without_a_common_dataset_has_no_leaderboard(tmp_path):
    a = write_run(tmp_path / "a", {"d1": EXAMPLE["d1"]})
    b = write_run(tmp_path / "b", {"d2": EXAMPLE["d2"]})
    assert "Leaderboard" not in compare_runs([a, b])
