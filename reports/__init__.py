"""Reports: Markdown, plots and console summaries rendered from a stored run directory."""
from __future__ import annotations

from pathlib import Path

from benchmarks import store

from .compare import write_comparison
from .console import console_summary
from .markdown import render_report

__all__ = ["console_summary", "write_comparison", "write_report"]


def write_report(run_dir: Path, unblind: bool = False) -> Path:
    """Render ``report.md`` (and its plots) from the run directory's stored results."""
    run_dir = Path(run_dir)
    results, manifest = store.load_run(run_dir)
    path = run_dir / store.REPORT
    store.write_text(path, render_report(results, manifest, run_dir=run_dir, unblind=unblind))
    return path
