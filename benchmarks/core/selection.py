"""Greedy ensemble selection (Caruana, Niculescu-Mizil, Crew and Ksikes, "Ensemble selection
from libraries of models", ICML 2004), as post-hoc ensembling over a search's configurations
(AutoGluon, TabArena).

Start from the empty ensemble; each round adds, with replacement, the candidate whose
addition gives the best score of the averaged probabilities; after ``size`` rounds the
ensemble is the prefix of rounds with the best score (the earliest on a tie). A member's
weight is the number of times it was picked over the prefix's length. Ties between
candidates in a round go to the lower index (callers order candidates by their own score,
best first, so a tie keeps the stronger single configuration).

Pure: probabilities and a score function in, weights out. The score is the caller's
validation objective (higher is better); it never sees a test event.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


@dataclass(frozen=True)
class Selection:
    """The chosen weights (one per candidate, summing to 1), the score after each round, and
    how many rounds the chosen ensemble kept."""

    weights: tuple[float, ...]
    scores: tuple[float, ...]
    rounds: int

    @property
    def score(self) -> float:
        return self.scores[self.rounds - 1]

    @property
    def members(self) -> tuple[int, ...]:
        """Indices of the candidates with a non-zero weight."""
        return tuple(i for i, w in enumerate(self.weights) if w > 0)


def greedy_selection(probas: Sequence[np.ndarray], score: Callable[[np.ndarray], float], size: int = 25) -> Selection:
    """Caruana's selection with replacement over ``probas`` (each ``(n, classes)``, the
    candidates' validation probabilities) for ``size`` rounds."""
    if not probas:
        raise ValueError("greedy selection needs at least one candidate")
    if int(size) < 1:
        raise ValueError(f"greedy selection needs size >= 1, got {size!r}")
    stack = np.stack([np.asarray(p, dtype=np.float64) for p in probas])
    if stack.ndim != 3:
        raise ValueError(f"candidates' probabilities must be (n, classes) arrays of one shape, got {stack.shape}")
    total = np.zeros(stack.shape[1:])
    picks, scores = [], []
    for r in range(1, int(size) + 1):
        # Each candidate's score if added now: the mean of the r members' probabilities.
        trial = [float(score((total + p) / r)) for p in stack]
        finite = [s if np.isfinite(s) else -np.inf for s in trial]
        best = int(np.argmax(finite))  # first of the best: the lower index wins a tie
        total += stack[best]
        picks.append(best)
        scores.append(finite[best])
    rounds = int(np.argmax(scores)) + 1  # earliest best prefix
    kept = np.bincount(np.asarray(picks[:rounds]), minlength=len(stack))
    return Selection(tuple(float(c) / rounds for c in kept), tuple(scores), rounds)
