"""The leaderboard's plots: the critical-difference diagram and score against time to result."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .leaderboard import Leaderboard
from .plots import Plot, literal_text, model_colors, plt, save_figure, subplots

CD_PLOT = "leaderboard_cd.png"
TIME_PLOT = "leaderboard_time.png"


def _label_side(ax, ranks: np.ndarray, names, k: int, left: bool, top: float) -> None:
    """Each model's name on one side of the axis (better half left), joined to its mean rank
    by an elbow line; the first name sits at height `top`, below the clique bars."""
    idx = [i for i in range(len(ranks)) if (i < (len(ranks) + 1) // 2) == left]
    for row, i in enumerate(idx if left else idx[::-1]):
        y = top - 0.28 * row
        x_text = 0.6 if left else k + 0.4
        ax.plot([ranks[i], ranks[i], x_text], [0, y, y], color="black", lw=0.8)
        ax.text(x_text + (-0.05 if left else 0.05), y, f"{names[i]} ({ranks[i]:.2f})", ha="right" if left else "left",
                va="center", fontsize=8)


def cd_diagram(board: Leaderboard, out_dir: Path, prefix: str = "") -> Plot | None:
    """Demšar's critical-difference diagram: mean ranks on an axis (1 = best, at the left),
    Nemenyi's CD as a bar above it, and thick bars joining models whose mean ranks lie
    within the CD of each other (not significantly different)."""
    if board.cd is None:
        return None
    k, ranks = len(board.entrants), board.mean_rank
    n_rows = (k + 1) // 2
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.3 * n_rows + 0.1 * len(board.cliques)))
    ax.plot([1, k], [0, 0], color="black", lw=1)
    for r in range(1, k + 1):
        ax.plot([r, r], [0, 0.06], color="black", lw=1)
        ax.text(r, 0.1, str(r), ha="center", va="bottom", fontsize=8)
    ax.plot([1, 1 + board.cd], [0.45, 0.45], color="black", lw=1.5)
    ax.text(1 + board.cd / 2, 0.5, f"CD = {board.cd:.2f}", ha="center", va="bottom", fontsize=8)
    for j, clique in enumerate(board.cliques):
        lo, hi = min(ranks[list(clique)]), max(ranks[list(clique)])
        ax.plot([lo - 0.03, hi + 0.03], [-0.15 - 0.08 * j] * 2, color="tab:red", lw=3, solid_capstyle="round")
    top = -0.3 - 0.08 * len(board.cliques)
    _label_side(ax, ranks, board.entrants, k, left=True, top=top)
    _label_side(ax, ranks, board.entrants, k, left=False, top=top)
    ax.set_xlim(-0.3 if k > 2 else 0.2, k + 1.3)
    ax.set_ylim(top - 0.15 - 0.28 * n_rows, 0.75)
    ax.axis("off")
    f = board.friedman or {}
    ax.set_title(f"Mean ranks over {len(board.datasets)} datasets (1 = best); Friedman p = {f.get('p_chi2', np.nan):.3g}, "
                 f"Nemenyi CD at alpha 0.05; red bars: not significantly different", fontsize=9)
    rel = save_figure(fig, out_dir, f"{prefix}{CD_PLOT}")
    return Plot("Critical-difference diagram: mean rank per model across datasets; models joined by a red bar "
                "do not differ significantly (Nemenyi, alpha 0.05)", rel)


def pareto(times: np.ndarray, scores: np.ndarray) -> list[int]:
    """Entrants no other beats on both counts (at most the time and at least the score, one strictly)."""
    front = []
    for i in range(len(times)):
        if not np.isfinite(times[i]):
            continue
        dominated = any(np.isfinite(times[j]) and times[j] <= times[i] and scores[j] >= scores[i]
                        and (times[j] < times[i] or scores[j] > scores[i]) for j in range(len(times)) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: times[i])


def time_plot(board: Leaderboard, out_dir: Path, prefix: str = "") -> Plot | None:
    """Mean normalised score against time to one result (search + training + inference), log time axis."""
    times = board.time_per_result()
    shown = np.isfinite(times) & (times > 0)
    if not shown.any():
        return None
    colors = model_colors(board.entrants)
    fig, ax = subplots(figsize=(7, 4.5))
    for i, name in enumerate(board.entrants):
        if shown[i]:
            ax.scatter(times[i], board.normalised[i], s=40, color=colors[name], zorder=3)
            ax.annotate(name, (times[i], board.normalised[i]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    front = [i for i in pareto(np.where(shown, times, np.nan), board.normalised)]
    ax.step(times[front], board.normalised[front], where="post", color="grey", lw=1, ls="--",
            label="Pareto front (no model is both faster and better)")
    ax.set_xscale("log")
    ax.set_xlabel("time to one result, s (search + training + inference; mean over datasets)")
    ax.set_ylabel("mean normalised score (1 = best per dataset)")
    ax.set_ylim(-0.05, 1.08)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"Score against cost over {len(board.datasets)} datasets", fontsize=10)
    rel = save_figure(fig, out_dir, f"{prefix}{TIME_PLOT}")
    return Plot("Mean normalised score against time to one result (log scale): a model far to the right of "
                "the front pays much more time for its score", rel)


def leaderboard_plots(board: Leaderboard | None, out_dir: Path, prefix: str = "") -> list[Plot]:
    """Both plots under ``out_dir/plots`` (file names start with `prefix`)."""
    if board is None:
        return []
    with literal_text():
        return [p for p in (cd_diagram(board, out_dir, prefix), time_plot(board, out_dir, prefix)) if p is not None]
