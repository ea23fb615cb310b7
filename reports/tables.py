"""Small Markdown building blocks: tables and the text of single cells."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from .escape import plain

MISSING = "–"


def table(headers: Sequence[object], rows: Iterable[Sequence[object]], align: Sequence[str] | None = None) -> str:
    """A Markdown table; every header and cell that is not :class:`Markup` is escaped (a
    stored label can neither end its cell nor become markup)."""
    headers = [plain(h) for h in headers]
    rows = [[plain(c) for c in r] for r in rows]
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def finite(values: Iterable[object]) -> list[float]:
    out = []
    for v in values:
        if v is None:
            continue
        f = float(v)
        if math.isfinite(f):
            out.append(f)
    return out


def fmt_mean_std(values: Iterable[object], digits: int = 3, pct: bool = False) -> str:
    """``mean ± std`` over seeds as text; std with ddof=1; a lone value prints alone."""
    vals = finite(values)
    if not vals:
        return MISSING
    scale = 100.0 if pct else 1.0
    arr = np.asarray(vals) * scale
    unit = "%" if pct else ""
    if len(arr) == 1:
        return f"{arr[0]:.{digits}f}{unit}"
    return f"{arr.mean():.{digits}f} ± {arr.std(ddof=1):.{digits}f}{unit}"


def seconds(values: Iterable[object]) -> str:
    vals = finite(values)
    if not vals:
        return MISSING
    m = float(np.mean(vals))
    if m >= 100:
        return f"{m:.0f}"
    if m >= 1:
        return f"{m:.2f}"
    return f"{m:.3g}"


def times(relative: float | None) -> str:
    """A multiple of the fastest, e.g. ``14.2x``."""
    return MISSING if relative is None else f"{relative:.1f}x"


def p_value(p: float) -> str:
    return f"p={p:.3f}"
