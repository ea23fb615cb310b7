"""Reports rendered from a stored run directory, never from memory.

Three steps: ``analysis`` turns the stored results and predictions into plain data,
``plots`` writes the PNG files from it, and ``markdown``/``sections`` format both.
"""
from __future__ import annotations

from pathlib import Path

from benchmarks import store

from .analysis import analyse_run
from .compare import write_comparison
from .console import console_summary
from .leaderboard_plots import leaderboard_plots
from .markdown import render_report
from .plots import make_plots

__all__ = ["console_summary", "write_comparison", "write_report"]


def write_report(run_dir: Path, unblind: bool = False) -> Path:
    """Render ``report.md`` (and its plots) from the run directory's stored results."""
    run_dir = Path(run_dir)
    results, manifest = store.load_run(run_dir)
    analysis = analyse_run(run_dir, results, manifest, unblind=unblind)
    plots = make_plots(analysis, run_dir)
    board_plots = leaderboard_plots(analysis.leaderboard, run_dir)
    path = run_dir / store.REPORT
    store.write_text(path, render_report(analysis, plots, board_plots))
    return path
