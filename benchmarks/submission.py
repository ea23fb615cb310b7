"""The HiggsML challenge's own scoring of a Kaggle-format submission.

A submission is a CSV with columns ``EventId,RankOrder,Class``: one row per test event,
``Class`` in {s, b} and ``RankOrder`` a permutation of 1..n (larger = more signal-like).
The solution is the CERN open-data file (columns EventId, Label, KaggleSet, KaggleWeight
at least). Public AMS uses the KaggleSet ``b`` events, private AMS the ``v`` events,
each with its ``KaggleWeight`` (already normalised to the full luminosity per set) and
b_reg = 10, on the events the submission classifies as ``s``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .core.errors import DataError, excerpts
from datasets.higgsml import BACKGROUND_TOTAL, SIGNAL_TOTAL

from .core.metrics import B_REG, ams, weighted_auc
from .core.tables import read_csv

SUBMISSION_COLUMNS = ("EventId", "RankOrder", "Class")
SOLUTION_COLUMNS = ("EventId", "Label", "KaggleSet", "KaggleWeight")
TEST_SETS = {"b": "public", "v": "private"}


def _first(values, k: int = 5) -> str:
    return excerpts(values, k)


def _require_columns(df: pd.DataFrame, needed, what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {', '.join(missing)}; it has {excerpts(df.columns)}")


def _integer_column(df: pd.DataFrame, col: str, what: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() | (values != np.round(values))
    if bad.any():
        raise DataError(f"{what}: {int(bad.sum())} {col} values are not integers (first: {_first(df[col][bad])})")
    return values.to_numpy().astype(np.int64)


def _read_csv(path, what: str, **kwargs) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} file not found: {path}")
    return read_csv(path, what, **kwargs)


def validate_submission(df: pd.DataFrame) -> pd.DataFrame:
    """Check a submission table; returns it with int64 EventId/RankOrder and stripped Class."""
    _require_columns(df, SUBMISSION_COLUMNS, "the submission")
    if len(df) == 0:
        raise DataError("the submission has no rows")
    ids = _integer_column(df, "EventId", "the submission")
    dup = pd.Series(ids).duplicated(keep=False)
    if dup.any():
        dup_ids = np.unique(ids[dup.to_numpy()])
        raise DataError(f"the submission lists {len(dup_ids)} EventIds more than once (first: {_first(dup_ids)})")
    cls = df["Class"].astype(str).str.strip()
    bad = ~cls.isin(["s", "b"])
    if bad.any():
        raise DataError(
            f"the submission has {int(bad.sum())} Class values other than 's' or 'b' "
            f"(first: {_first(sorted(set(df['Class'][bad].astype(str))))})"
        )
    rank = _integer_column(df, "RankOrder", "the submission")
    n = len(df)
    counts = np.bincount(np.clip(rank, 0, n + 1), minlength=n + 2)
    if counts[0] or counts[n + 1] or (counts[1 : n + 1] != 1).any():
        out_of_range = int(((rank < 1) | (rank > n)).sum())
        repeated = int((counts[1 : n + 1] > 1).sum())
        raise DataError(
            f"RankOrder must be a permutation of 1..{n}: {out_of_range} values out of range, "
            f"{repeated} values repeated"
        )
    return pd.DataFrame({"EventId": ids, "RankOrder": rank, "Class": cls.to_numpy()})


def read_submission(path) -> pd.DataFrame:
    """Read and validate a Kaggle-format submission CSV."""
    return validate_submission(_read_csv(path, "submission"))


def read_solution(path) -> pd.DataFrame:
    """Read the solution columns of the CERN HiggsML file (.csv or .csv.gz)."""
    df = _read_csv(path, "solution", usecols=lambda c: c in SOLUTION_COLUMNS)
    _require_columns(df, SOLUTION_COLUMNS, f"the solution file {path}")
    return df


def _warn_partial_sets(weight: np.ndarray, kset: np.ndarray, is_signal: np.ndarray) -> None:
    """Warn when a test set's KaggleWeight does not carry the full luminosity per class.

    In the CERN file each of sets b and v does, and the challenge scored the raw weights.
    A solution holding only part of a set (an excerpt) then gives AMS at a fraction of the
    luminosity: scored as the challenge would, but not comparable to the leaderboard.
    """
    for letter, name in TEST_SETS.items():
        for mask, total, cls in ((is_signal, SIGNAL_TOTAL, "signal"), (~is_signal, BACKGROUND_TOTAL, "background")):
            sel = (kset == letter) & mask
            have = float(weight[sel].sum())
            if sel.any() and not np.isclose(have, total, rtol=1e-6):
                warnings.warn(f"the solution's {name} set (KaggleSet {letter}) carries {have / total:.3g} of the full "
                              f"{cls} luminosity (only part of the set?): its AMS is not comparable to the "
                              "challenge leaderboard", RuntimeWarning)


def _solution_tests(solution_df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The solution's test rows, checked: (all EventIds, test EventIds, KaggleSet, is signal, weight)."""
    _require_columns(solution_df, SOLUTION_COLUMNS, "the solution")
    sol_ids = _integer_column(solution_df, "EventId", "the solution")
    kset = solution_df["KaggleSet"].astype(str).str.strip().to_numpy()
    test = np.isin(kset, list(TEST_SETS))
    if not test.any():
        raise DataError("the solution has no public (KaggleSet b) or private (KaggleSet v) rows to score against")
    label = solution_df["Label"].astype(str).str.strip().to_numpy()[test]
    bad = ~np.isin(label, ["s", "b"])
    if bad.any():
        raise DataError(f"the solution has {int(bad.sum())} Label values other than 's' or 'b' (first: {_first(sorted(set(label[bad])))})")
    test_ids = sol_ids[test]
    weight = pd.to_numeric(solution_df["KaggleWeight"], errors="coerce").to_numpy(dtype=np.float64)[test]
    if not np.isfinite(weight).all():
        raise DataError("the solution has missing or non-numeric KaggleWeight values for test events")
    if (weight < 0).any():
        raise DataError(f"the solution has {int((weight < 0).sum())} negative KaggleWeight values for test events")
    dup = pd.Series(test_ids).duplicated(keep=False).to_numpy()
    if dup.any():
        raise DataError(f"the solution lists {len(np.unique(test_ids[dup]))} test EventIds more than once "
                        f"(first: {_first(np.unique(test_ids[dup]))}); it is not the CERN file")
    return sol_ids, test_ids, kset[test], label == "s", weight


def _aligned(sub: pd.DataFrame, sol_ids: np.ndarray, test_ids: np.ndarray) -> np.ndarray:
    """Row of the submission for each solution test event; every test event exactly once."""
    sub_ids = sub["EventId"].to_numpy()
    unknown = ~np.isin(sub_ids, test_ids)
    if unknown.any():
        extra = sub_ids[unknown]
        in_solution = np.isin(extra, sol_ids)
        detail = (
            f"{int(in_solution.sum())} are training/unused events (KaggleSet t/u), "
            f"{int((~in_solution).sum())} are not in the solution at all"
        )
        raise DataError(f"the submission has {len(extra)} EventIds that are not test events ({detail}; first: {_first(extra)})")
    missing = ~np.isin(test_ids, sub_ids)
    if missing.any():
        raise DataError(
            f"the submission lacks {int(missing.sum())} of the {len(test_ids)} test events "
            f"(first missing EventIds: {_first(np.sort(test_ids[missing]))})"
        )
    order = np.argsort(sub_ids)
    return order[np.searchsorted(sub_ids[order], test_ids)]


def score_submission(solution_df: pd.DataFrame, submission_df: pd.DataFrame, b_reg: float = B_REG) -> dict:
    """Public (KaggleSet b) and private (KaggleSet v) AMS of a submission, as the challenge scored it.

    Returns ams_<set>, s_<set>, b_<set> (selected signal/background KaggleWeight),
    n_<set>, n_selected_<set> and auc_<set> (weighted, RankOrder as the score) for each
    of public/private present in the solution.
    """
    sol_ids, test_ids, kset, is_signal, weight = _solution_tests(solution_df)
    sub = validate_submission(submission_df)
    pos = _aligned(sub, sol_ids, test_ids)
    _warn_partial_sets(weight, kset, is_signal)
    selected = sub["Class"].to_numpy()[pos] == "s"
    rank = sub["RankOrder"].to_numpy()[pos]
    out: dict = {}
    for letter, name in TEST_SETS.items():
        in_set = kset == letter
        if not in_set.any():
            continue
        sel = in_set & selected
        s = float(weight[sel & is_signal].sum())
        b = float(weight[sel & ~is_signal].sum())
        out.update({f"ams_{name}": ams(s, b, b_reg), f"s_{name}": s, f"b_{name}": b, f"n_{name}": int(in_set.sum()),
                    f"n_selected_{name}": int(sel.sum()),
                    f"auc_{name}": weighted_auc(is_signal[in_set].astype(int), rank[in_set].astype(np.float64),
                                                weight[in_set])})
    return out


def score_submission_files(solution_path, submission_path, b_reg: float = B_REG) -> dict:
    """Read both files and score the submission (for a CLI ``score`` subcommand)."""
    return score_submission(read_solution(solution_path), read_submission(submission_path), b_reg)


__all__ = [
    "validate_submission",
    "read_submission",
    "read_solution",
    "score_submission",
    "score_submission_files",
]
