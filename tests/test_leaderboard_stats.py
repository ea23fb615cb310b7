"""Rank statistics across datasets (benchmarks/core/stats.py), against a worked example by hand.

The example: three models A, B, C on four datasets (higher is better).

    dataset   A     B     C      ranks A, B, C
    d1       .90   .80   .70     1, 2,   3
    d2       .85   .86   .50     2, 1,   3
    d3       .70   .60   .60     1, 2.5, 2.5   (B and C tie for 2nd: both get (2+3)/2)
    d4       .95   .90   .92     1, 3,   2

Mean ranks R = (5/4, 8.5/4, 10.5/4) = (1.25, 2.125, 2.625); they sum to k(k+1)/2 = 6.
Friedman: without ties, chi2_F = 12N/(k(k+1)) (sum R_j^2 - k(k+1)^2/4)
        = 48/12 (1.5625 + 4.515625 + 6.890625 - 12) = 4 x 0.96875 = 3.875. The tie of d3 (one
        group of t = 2) gives the correction 1 - sum(t^3 - t) / (N k (k^2 - 1)) = 1 - 6 / (4 x 3 x 8)
        = 1 - 6/96 = 0.9375, so chi2_F = 3.875 / 0.9375 = 62/15 = 4.13333, on k-1 = 2 degrees of
        freedom; with 2 degrees of freedom the chi-square tail is exp(-x/2), so p = exp(-31/15) = 0.12661.
Iman-Davenport: F_F = (N-1) chi2_F / (N(k-1) - chi2_F) = 3 x 62/15 / (8 - 62/15) = (186/15) / (58/15)
        = 93/29 = 3.20690, on (2, 6) degrees of freedom; F(2, d2) has tail (1 + 2x/d2)^(-d2/2), so
        p = (1 + 2 x (93/29) / 6)^-3 = (60/29)^-3 = 0.11291.
Nemenyi: q_0.05 for k = 3 is 2.343 (Demšar 2006, Table 5a); CD = 2.343 sqrt(3 x 4 / (6 x 4))
        = 2.343 x 0.70711 = 1.6568. The largest gap, A to C, is 1.375 < CD: one clique {A, B, C}.
Normalised (0 = worst, 1 = best per dataset): d1 (1, .5, 0); d2 ((.85-.5)/.36 = .97222, 1, 0);
        d3 (1, 0, 0); d4 (1, 0, (.92-.90)/.05 = .4); means (.99306, .375, .1).
Pairwise wins (ties half): A beats B on d1, d3, d4 (3), B beats A on d2 (1); A beats C on all 4;
        B beats C on d1, d2 (2), ties on d3 (1/2 each), loses d4: B-C = 2.5, C-B = 1.5.
Elo, two models: one beats the other in all of 3 battles; with one virtual draw per pair the
        odds are (3 + 1/2) / (0 + 1/2) = 7, a rating difference of 400 log10 7 = 338.039,
        around a mean of 1000: 1169.020 and 830.980.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.core import stats
from benchmarks.core.errors import BenchmarkError

pytestmark = pytest.mark.sklearn

SCORES = np.array([[.90, .80, .70], [.85, .86, .50], [.70, .60, .60], [.95, .90, .92]])


def test_ranks_by_hand():
    ranks = stats.rank_rows(SCORES)
    assert ranks.tolist() == [[1, 2, 3], [2, 1, 3], [1, 2.5, 2.5], [1, 3, 2]]
    assert ranks.mean(axis=0).tolist() == [1.25, 2.125, 2.625]


def test_friedman_and_iman_davenport_by_hand():
    f = stats.friedman_test(stats.rank_rows(SCORES))
    assert (f["n"], f["k"], f["df"], f["df_ff"]) == (4, 3, 2, (2, 6))
    assert f["chi2"] == pytest.approx(62 / 15, abs=1e-12)
    assert f["p_chi2"] == pytest.approx(math.exp(-31 / 15), abs=1e-12)
    assert f["ff"] == pytest.approx(93 / 29, abs=1e-12)
    assert f["p_ff"] == pytest.approx((29 / 60) ** 3, abs=1e-12)


def test_friedman_with_ties_is_scipys_tie_corrected_statistic():
    from scipy.stats import friedmanchisquare

    # A small table with many ties: without the correction chi2 would be 11.61 (scipy: 15.06).
    scores = np.array([[.9, .9, .8, .7], [.8, .8, .8, .6], [.9, .7, .7, .7], [.95, .9, .9, .8],
                       [.9, .9, .6, .6], [.7, .8, .6, .5], [.9, .8, .8, .8]])
    ours = stats.friedman_test(stats.rank_rows(scores))
    theirs = friedmanchisquare(*scores.T)
    assert ours["chi2"] == pytest.approx(theirs.statistic, abs=1e-12)
    assert ours["p_chi2"] == pytest.approx(theirs.pvalue, abs=1e-12)
    n, k = scores.shape
    assert ours["ff"] == pytest.approx((n - 1) * theirs.statistic / (n * (k - 1) - theirs.statistic))


def test_friedman_of_rows_that_are_all_one_tie_is_zero():
    f = stats.friedman_test(np.full((3, 4), 2.5))
    assert f["chi2"] == 0.0 and f["p_chi2"] == 1.0


def test_friedman_matches_scipy_without_ties():
    from scipy.stats import friedmanchisquare

    scores = np.array([[.90, .80, .70], [.85, .86, .50], [.70, .60, .65], [.95, .90, .92], [.6, .7, .8]])
    ours = stats.friedman_test(stats.rank_rows(scores))
    theirs = friedmanchisquare(*scores.T)
    assert ours["chi2"] == pytest.approx(theirs.statistic) and ours["p_chi2"] == pytest.approx(theirs.pvalue)


def test_identical_rankings_everywhere_are_maximally_significant():
    f = stats.friedman_test(stats.rank_rows(np.array([[3., 2., 1.]] * 5)))
    assert f["chi2"] == pytest.approx(5 * 2) and f["ff"] == math.inf and f["p_ff"] == 0.0


@pytest.mark.parametrize("k, q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (6, 2.850), (10, 3.164)])
def test_nemenyi_q_is_demsars_table(k, q):
    assert stats.nemenyi_q(k) == pytest.approx(q, abs=1e-3)


def test_critical_difference_and_cliques_by_hand():
    cd = stats.critical_difference(3, 4)
    assert cd == pytest.approx(2.343 * math.sqrt(0.5), abs=1e-3)
    assert stats.cd_cliques([1.25, 2.125, 2.625], cd) == [(0, 1, 2)]
    # With a narrower CD the best model stands apart, the other two stay joined.
    assert stats.cd_cliques([1.25, 2.125, 2.625], 0.6) == [(1, 2)]
    assert stats.cd_cliques([3.0, 1.0, 2.0], 1.5) == [(1, 2), (2, 0)]


def test_normalised_scores_by_hand():
    norm = stats.normalised_scores(SCORES)
    assert norm[1].tolist() == pytest.approx([.35 / .36, 1, 0])
    assert norm[3].tolist() == pytest.approx([1, 0, .4])
    assert norm.mean(axis=0).tolist() == pytest.approx([(3 + .35 / .36) / 4, .375, .1])
    assert stats.normalised_scores([[.5, .5]]).tolist() == [[1.0, 1.0]]


def test_pairwise_wins_by_hand():
    assert stats.pairwise_wins(SCORES).tolist() == [[0, 3, 4], [1, 0, 2.5], [0, 1.5, 0]]


def test_elo_two_models_by_hand():
    elo = stats.elo_ratings(np.array([[0, 3], [0, 0]]))
    assert elo[0] - elo[1] == pytest.approx(400 * math.log10(7), abs=1e-6)
    assert elo.tolist() == pytest.approx([1000 + 200 * math.log10(7), 1000 - 200 * math.log10(7)], abs=1e-6)


def test_elo_orders_models_like_their_wins_and_is_symmetric_under_relabelling():
    wins = stats.pairwise_wins(SCORES)
    elo = stats.elo_ratings(wins)
    assert elo[0] > elo[1] > elo[2] and elo.mean() == pytest.approx(1000)
    perm = [2, 0, 1]
    assert stats.elo_ratings(wins[np.ix_(perm, perm)]).tolist() == pytest.approx(elo[perm].tolist())
    # Equal records give equal ratings.
    assert stats.elo_ratings(np.array([[0, 2], [2, 0]])).tolist() == pytest.approx([1000, 1000])


@pytest.mark.parametrize("bad", [[[1.0]], [[np.nan, 1.0]], [1.0, 2.0], np.zeros((0, 3))])
def test_bad_tables_are_one_line_errors(bad):
    with pytest.raises(BenchmarkError):
        stats.rank_rows(bad)
    with pytest.raises(BenchmarkError):
        stats.friedman_test(np.array([[1.0, 2.0]]))  # one dataset: no test
