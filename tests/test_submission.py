import numpy as np
import pandas as pd
import pytest

from benchmarks.core.errors import DataError
from datasets.higgsml_toy import write_higgsml_toy
from benchmarks.submission import read_solution, read_submission, score_submission, score_submission_files

pytestmark = pytest.mark.sklearn


def _solution():
    # EventIds 1-2 training, 3-6 public (b), 7-9 private (v)
    return pd.DataFrame(
        {
            "EventId": [1, 2, 3, 4, 5, 6, 7, 8, 9],
            "Label": ["s", "b", "s", "b", "b", "s", "s", "b", "s"],
            "KaggleSet": ["t", "t", "b", "b", "b", "b", "v", "v", "v"],
            "KaggleWeight": [9.0, 9.0, 2.0, 10.0, 30.0, 1.0, 1.0, 40.0, 2.0],
            "Weight": [1.0] * 9,
        }
    )


def _submission():
    return pd.DataFrame(
        {
            "EventId": [3, 4, 5, 6, 7, 8, 9],
            "RankOrder": [7, 5, 1, 4, 6, 2, 3],
            "Class": ["s", "s", "b", "b", "s", "b", "s"],
        }
    )


def test_score_hand_computed():
    with pytest.warns(RuntimeWarning, match="public set .* not comparable"):
        out = score_submission(_solution(), _submission())
    # public: selected 3 (s, 2.0) and 4 (b, 10.0) -> AMS(2, 10) = 0.440054...
    assert out["s_public"] == 2.0 and out["b_public"] == 10.0
    assert out["ams_public"] == pytest.approx(0.44005444139367, rel=1e-10)
    # private: selected 7 (s, 1.0) and 9 (s, 2.0) -> AMS(3, 0) = 0.906350...
    assert out["s_private"] == 3.0 and out["b_private"] == 0.0
    assert out["ams_private"] == pytest.approx(0.90635030543095, rel=1e-10)
    assert out["n_public"] == 4 and out["n_selected_private"] == 2
    # private ranks: 7(s)=6, 8(b)=2, 9(s)=3 -> both signals above the background
    assert out["auc_private"] == pytest.approx(1.0)


def test_row_order_does_not_matter():
    sub = _submission().sample(frac=1.0, random_state=0)
    assert score_submission(_solution(), sub) == score_submission(_solution(), _submission())


def test_csv_round_trip(tmp_path):
    sol_path = tmp_path / "solution.csv.gz"
    _solution().to_csv(sol_path, index=False)
    sub_path = tmp_path / "sub.csv"
    _submission().to_csv(sub_path, index=False)
    sub = read_submission(sub_path)
    assert list(sub.columns) == ["EventId", "RankOrder", "Class"]
    assert "Weight" not in read_solution(sol_path).columns
    out = score_submission_files(sol_path, sub_path)
    assert out["ams_public"] == pytest.approx(0.44005444139367, rel=1e-10)
    with pytest.raises(DataError, match="not found"):
        read_submission(tmp_path / "nope.csv")


def test_missing_events():
    sub = _submission().iloc[:4]  # lacks 7, 8, 9
    sub = sub.assign(RankOrder=[4, 3, 1, 2])
    with pytest.raises(DataError, match=r"lacks 3 of the 7 test events.*7, 8, 9"):
        score_submission(_solution(), sub)


def test_duplicate_event_ids():
    sub = _submission()
    sub.loc[1, "EventId"] = 3
    with pytest.raises(DataError, match=r"1 EventIds more than once.*3"):
        score_submission(_solution(), sub)


def test_unknown_and_training_event_ids():
    sub = _submission()
    sub.loc[0, "EventId"] = 999
    with pytest.raises(DataError, match=r"1 EventIds that are not test events.*1 are not in the solution"):
        score_submission(_solution(), sub)
    sub = _submission()
    sub.loc[0, "EventId"] = 1
    with pytest.raises(DataError, match=r"1 are training/unused events"):
        score_submission(_solution(), sub)


def test_bad_class_values():
    sub = _submission()
    sub.loc[2, "Class"] = "signal"
    with pytest.raises(DataError, match=r"1 Class values other than 's' or 'b'.*signal"):
        score_submission(_solution(), sub)


def test_missing_columns():
    with pytest.raises(DataError, match="lacks column.*RankOrder"):
        score_submission(_solution(), _submission().drop(columns="RankOrder"))
    with pytest.raises(DataError, match="solution lacks column.*KaggleWeight"):
        score_submission(_solution().drop(columns="KaggleWeight"), _submission())


def test_solution_without_test_rows():
    sol = _solution()
    sol["KaggleSet"] = "t"
    with pytest.raises(DataError, match="no public .* or private"):
        score_submission(sol, _submission())


def test_rank_order_must_be_permutation():
    sub = _submission()
    sub.loc[0, "RankOrder"] = 5  # 5 twice, 7 missing
    with pytest.raises(DataError, match=r"permutation of 1\.\.7.*1 values repeated"):
        score_submission(_solution(), sub)
    sub = _submission()
    sub.loc[0, "RankOrder"] = 0
    with pytest.raises(DataError, match="1 values out of range"):
        score_submission(_solution(), sub)


def test_only_public_rows_scores_public_only():
    sol = _solution()
    sol = sol[sol.KaggleSet != "v"]
    sub = _submission().iloc[:4].assign(RankOrder=[4, 3, 1, 2])
    out = score_submission(sol, sub)
    assert "ams_private" not in out
    assert out["ams_public"] == pytest.approx(0.44005444139367, rel=1e-10)
    assert np.isfinite(out["auc_public"])


def test_read_solution_keeps_only_the_scorer_columns(tmp_path):
    path = write_higgsml_toy(tmp_path / "toy.csv", n_events=200, seed=0)
    sol = read_solution(path)
    assert list(sol.columns) == ["EventId", "Label", "KaggleSet", "KaggleWeight"]
    assert len(sol) == 200


def test_bad_solution_weights_and_ids_are_blamed_on_the_solution():
    sol = _solution()
    sol.loc[4, "KaggleWeight"] = -1.0
    with pytest.raises(DataError, match="solution has 1 negative KaggleWeight"):
        score_submission(sol, _submission())
    sol = _solution()
    sol.loc[5, "EventId"] = 3  # a duplicate test id in the solution, not the submission
    with pytest.raises(DataError, match="solution lists 1 test EventIds more than once"):
        score_submission(sol, _submission())
