"""Timing of the AMS scan + validation cut choice (``python -m benchmarks perf ams``).

Targets (one core, sort-bound numpy): 1M events < 0.25 s, 10M events < 3 s.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from .core.metrics import B_REG, ams_scan, cut_from_scan

TARGETS_S = {1_000_000: 0.25, 10_000_000: 3.0}


def synthetic_higgs_like(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores/labels/weights shaped like HiggsML: ~1/3 signal with tiny weights, float32 scores."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.34).astype(np.int8)
    scores = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.0, 1.0).astype(np.float32)
    w = np.where(y == 1, 0.0016, 1.0) * rng.uniform(0.5, 1.5, n)
    # Renormalise to HiggsML-like full-luminosity totals (s ~ 692, b ~ 411k).
    w[y == 1] *= 692.0 / w[y == 1].sum()
    w[y == 0] *= 410_999.0 / w[y == 0].sum()
    return scores, y, w


def run(
    sizes: Sequence[int] = (1_000_000, 10_000_000),
    repeats: int = 3,
    out: Callable[[str], None] = print,
) -> list[dict]:
    """Time ams_scan + cut choice (best of `repeats`) for each size; print a table, return rows."""
    rows = []
    out(f"{'events':>12} {'seconds':>9} {'events/s':>12} {'n cuts':>10} {'target':>8}  status")
    for n in sizes:
        scores, y, w = synthetic_higgs_like(int(n))
        best = float("inf")
        cut = float("nan")
        n_cuts = 0
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            cuts, values = ams_scan(scores, y, w, B_REG)
            cut = cut_from_scan(cuts, values, 0.1)
            best = min(best, time.perf_counter() - t0)
            n_cuts = len(cuts)
            del cuts, values
        target = TARGETS_S.get(int(n))
        status = "" if target is None else ("PASS" if best < target else "MISS")
        row = {
            "events": int(n),
            "seconds": best,
            "events_per_s": n / best,
            "n_cuts": n_cuts,
            "cut": cut,
            "target_s": target,
            "status": status or None,
        }
        rows.append(row)
        target_txt = f"< {target:g}s" if target is not None else "-"
        out(f"{n:>12,} {best:>9.3f} {n / best:>12,.0f} {n_cuts:>10,} {target_txt:>8}  {status}")
        del scores, y, w
    return rows


if __name__ == "__main__":  # pragma: no cover
    run()
