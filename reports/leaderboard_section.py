"""The leaderboard's Markdown: one section for run reports and for ``compare`` alike."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .escape import image, plain
from .leaderboard import ALPHA, MIN_SEEDS, Leaderboard
from .plots import Plot
from .tables import MISSING, p_value, seconds, table


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if x is not None and np.isfinite(x) else MISSING


def _totals(board: Leaderboard, name: str) -> str:
    w = t = lo = na = 0
    for other in board.entrants:
        if other != name:
            a, b, c, d = board.tally(name, other)
            w, t, lo, na = w + a, t + b, lo + c, na + d
    return f"{w} / {t} / {lo}" + (f" ({na} n/a)" if na else "")


def ranking_table(board: Leaderboard) -> str:
    times, rel = board.time_per_result(), board.time_vs_fastest()
    rows = [[i + 1, name, _num(board.mean_rank[i]), _num(board.normalised[i], 3), f"{board.elo[i]:.0f}",
             _totals(board, name), seconds([times[i]]), MISSING if not np.isfinite(rel[i]) else f"{rel[i]:.1f}x"]
            for i, name in enumerate(board.entrants)]
    return table(["#", "model", "mean rank", "normalised score", "Elo", "wins / ties / losses",
                  "time to result s", "time vs fastest"], rows, ["r", "l", "r", "r", "r", "r", "r", "r"])


def significance(board: Leaderboard) -> str:
    f, n, k = board.friedman, len(board.datasets), len(board.entrants)
    if f is None:
        return (f"One dataset only: no test across datasets (Friedman's needs at least two). "
                f"Ranks over {n} dataset are anecdotes.")
    verdict = ("differ significantly" if f["p_ff"] < ALPHA else "do **not** differ significantly")
    groups = "; ".join("{" + ", ".join(plain(board.entrants[i]) for i in c) + "}" for c in board.cliques) or "none"
    return (f"Friedman's test over N = {n} datasets and k = {k} models: chi2_F = {f['chi2']:.3f} "
            f"(df {f['df']}, with the tie correction for models tied on a dataset, as scipy computes it), "
            f"{p_value(f['p_chi2'])}; Iman-Davenport F_F (from that chi2_F) = {_num(f['ff'], 3)} "
            f"(df {f['df_ff'][0]}, {f['df_ff'][1]}), {p_value(f['p_ff'])}: the models' ranks {verdict} at "
            f"alpha = {ALPHA}. Nemenyi's critical difference (alpha = {ALPHA}) is **{board.cd:.2f} ranks**: two "
            "models differ significantly only when their mean ranks differ by at least that much"
            + ("" if f["p_ff"] < ALPHA else " (and, Friedman's test not rejecting, the post-hoc test is only "
               "indicative)") + f". Groups with no significant difference inside: {groups}.")


def wtl_matrix(board: Leaderboard) -> str:
    names = board.entrants
    rows = []
    for a in names:
        cells = []
        for b in names:
            if a == b:
                cells.append(MISSING)
                continue
            w, t, lo, na = board.tally(a, b)
            cells.append(f"{w}/{t}/{lo}" + (f" ({na} n/a)" if na else ""))
        rows.append([a, *cells])
    tests = sorted({o.test.split(",")[0].split(" over ")[0] for o in board.outcomes.values()})
    return "\n".join([
        "### Wins / ties / losses", "",
        f"Row model against column model, counted over the {len(board.datasets)} ranked datasets: a win or a loss "
        f"only where a paired test on that dataset is significant at {ALPHA} (with at least {MIN_SEEDS} common "
        "seeds a t-test over seeds: the corrected resampled t-test of Nadeau & Bengio (2003) where the seeds are "
        "folds of one table, whose overlapping training sets make the plain test too confident, else the paired "
        "t-test; with fewer seeds the metric's paired bootstrap on the first seed's test events, its verdict "
        "*different*), better meaning higher or lower as the dataset's metric says; a tie otherwise, which only "
        "means *not shown different*, not equivalent; n/a: no paired test was possible (different seeds or test "
        f"events). No correction for the many comparisons. Tests used: {plain(', '.join(tests))}.", "",
        table(["model", *names], rows, ["l"] * (len(names) + 1)),
    ])


def score_table(board: Leaderboard) -> str:
    rows = []
    for d, (dataset, figure) in enumerate(zip(board.datasets, board.figures)):
        fmt = board.fmt[dataset]
        lower = d < len(board.directions) and board.directions[d] == "minimize"
        rows.append([f"{dataset} ({figure}{' ↓' if lower else ''})",
                     *(f"{fmt(board.scores[d, e])} ({board.ranks[d, e]:g})" for e in range(len(board.entrants)))])
    times = [[board.datasets[d], *(seconds([board.seconds[d, e]]) for e in range(len(board.entrants)))]
             for d in range(len(board.datasets))]
    return "\n".join([
        "### Scores and ranks per dataset", "",
        "Each dataset's headline test figure, mean over seeds (rank in brackets, 1 = best, ties share the mean rank"
        + ("; datasets marked ↓ are scored by a lower-is-better figure, ranked lowest first" if "minimize" in
           board.directions else "") + ").",
        "", table(["dataset (figure)", *board.entrants], rows),
        "", "### Time to result", "",
        "Seconds to one result per dataset: the model's whole hyper-parameter search on that dataset (recorded "
        "as `tune_s` on every seed's record; 0 without a search) + training + validation and test inference, mean "
        "over seeds. The leaderboard's time is the mean of these over datasets; time vs fastest is the geometric "
        "mean over datasets of the ratio to the fastest model there.", "",
        table(["dataset", *board.entrants], times),
    ])


def leaderboard_section(board: Leaderboard | None, plots: Sequence[Plot] = (), heading: str = "##") -> str:
    """Markdown of a leaderboard ("" without one), with its plots."""
    if board is None:
        return ""
    ranked = plain(", ".join(f"{d} ({f})" for d, f in zip(board.datasets, board.figures)))
    parts = [f"{heading} Leaderboard across datasets", "",
             f"Every model ranked on each dataset by that dataset's headline test figure, mean over seeds: {ranked}. "
             "Normalised score: 1 = the best model on that dataset, 0 = the worst, averaged over datasets. Elo: a "
             "Bradley-Terry fit of the pairwise dataset outcomes (the better mean figure wins; equal figures draw; one "
             "virtual draw per pair keeps an unbeaten model finite), mean 1000; a 100-point gap means odds of "
             "1.78 (64%) that the higher-rated model wins a dataset, as TabArena reports. Better means higher or "
             "lower as each dataset's metric says (a lower-is-better figure is ranked lowest first)."]
    parts += [*([""] if board.notes else []), *board.notes]
    if board.left_out:
        parts += ["", "Left out of the ranking (a model lacks a score there): " + plain("; ".join(board.left_out)) + "."]
    parts += ["", ranking_table(board), "", significance(board), "", wtl_matrix(board), "", score_table(board)]
    for plot in plots:
        parts += ["", image(plot.caption, plot.path), "", f"*{plain(plot.caption)}*"]
    return "\n".join(parts)
