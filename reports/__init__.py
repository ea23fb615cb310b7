"""Reports rendered from one stored run (``benchmarks.store.StoredRun``), read once.

Three steps: ``analysis`` turns the stored run into plain data (every figure and curve),
``plots`` only draws it into PNG files, and ``markdown``/``sections`` only format both;
``html`` turns that Markdown, unchanged, into report.html.
"""
from __future__ import annotations

from pathlib import Path

from benchmarks import store

from .analysis import analyse_run
from .compare import write_comparison
from .console import console_summary
from .html import report_page, run_images
from .leaderboard_plots import leaderboard_plots
from .markdown import render_report
from .plots import make_plots

__all__ = ["console_summary", "write_comparison", "write_report"]


def write_report(run: store.StoredRun, html: bool = True) -> Path:
    """Render ``report.md`` (and its plots) into the run's directory from the stored run
    (``run.view(unblind=True)`` for a blind suite's private figures); with ``html``, also
    ``report.html``: the same Markdown as one self-contained page (its plots embedded);
    without, a report.html of an earlier rendering is removed."""
    analysis = analyse_run(run)
    plots = make_plots(analysis, run.run_dir)
    board_plots = leaderboard_plots(analysis.leaderboard, run.run_dir)
    path = run.run_dir / store.REPORT
    markdown = render_report(analysis, plots, board_plots)
    store.write_text(path, markdown)
    page = run.run_dir / store.REPORT_HTML
    if html:
        store.write_text(page, report_page(markdown, run_images(run.run_dir)))
    elif page.is_file():  # an earlier rendering's page would no longer say what report.md says
        page.unlink()
    return path
