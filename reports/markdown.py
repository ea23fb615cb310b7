"""The report document: the run header, every dataset's sections, the published figures."""
from __future__ import annotations

from typing import Mapping, Sequence

from .analysis import RunAnalysis
from .escape import code, plain
from .leaderboard_section import leaderboard_section
from .plots import Plot
from .sections import SectionContext, render_dataset
from .literature import LITERATURE
from .tables import table


BLIND_NOTE = ("> **Blind mode**: private-test AMS is hidden. Re-render with "
              "`python -m benchmarks report RUN_DIR --unblind` once every choice is final.")


def run_header(analysis: RunAnalysis) -> str:
    manifest = analysis.manifest
    lines = [f"# Benchmark report: suite {code(analysis.suite)}", ""]
    facts = [
        ("command", code(manifest.get("command", "?"))),
        ("started", plain(manifest.get("started", "?"))),
        ("device", plain(manifest.get("device", "?"))),
        ("CPU", plain(f"{manifest.get('cpu', '?')} ({manifest.get('cpu_count', '?')} logical cores)")),
        ("GPU", plain(manifest.get("gpu") or "none")),
        ("git commit", plain(manifest.get("git_commit") or "unknown")),
        ("packages", plain(", ".join(f"{k} {v}" for k, v in (manifest.get("packages") or {}).items() if v))),
    ]
    lines += [f"- {k}: {v}" for k, v in facts]
    return "\n".join(lines)


# Which of a run's datasets a published figure belongs beside: the real tables only (a
# synthetic HiggsML-schema sample is not the data those figures were measured on).
LITERATURE_DATASETS = {"HiggsML": {"higgsml"}, "Iris": {"iris"}, "Wine": {"wine"}, "Adult": {"openml:1590"}}


def literature_section(datasets: Sequence[str] = ()) -> str:
    """The published figures of the datasets this run has; nothing for a run with none of them."""
    names = {d.lower() for d in datasets}
    rows = [[who, ds, fig] for who, ds, fig in LITERATURE if LITERATURE_DATASETS.get(ds, set()) & names]
    if not rows:
        return ""
    return "\n".join([
        "## Published figures (for context; NOT produced by this run)", "",
        "These numbers come from the literature, on the full tables with their own protocols."
        + (" The SuperTML HiggsML claim matches AMS computed on the public and private sets together "
           "without rescaling the weights (double luminosity, about √2 too high)."
           if any(ds == "HiggsML" for _, ds, _ in rows) else ""), "",
        table(["source", "dataset", "figure"], rows, ["l", "l", "r"]),
    ])


def completeness_note(analysis: RunAnalysis) -> str:
    """What the report lacks, said before anything else: missing fits, unreadable files."""
    lines = []
    if analysis.missing_fits:
        n = len(analysis.missing_fits)
        shown = plain("; ".join(f"{d}/{m} seed {s}" + ("" if c == "none" else f" ({c})")
                                for d, m, s, c in analysis.missing_fits[:12]))
        more = f"; and {n - 12} more" if n > 12 else ""
        state = ("the run is still in progress" if analysis.in_progress
                 else "finish it with `python -m benchmarks run --resume RUN_DIR`")
        lines.append(f"> **Incomplete run**: {n} planned fit(s) have no results ({state}): {shown}{more}. "
                     "Every table below covers only the fits that finished.")
    if analysis.unreadable:
        files = ", ".join(code(f) for f in analysis.unreadable)
        lines.append(f"> **Unreadable prediction files**: {files} (missing or corrupt). Their fits' metrics "
                     "come from results.json, but their intervals, comparisons, audit rows and plots are "
                     "left out; `run --resume RUN_DIR` reruns them.")
    return "\n>\n".join(lines)


def render_report(analysis: RunAnalysis, plots: Mapping[str, Sequence[Plot]],
                  leaderboard_plots: Sequence[Plot] = ()) -> str:
    """The Markdown of an analysed run whose plots are already written; the leaderboard
    across datasets (runs with two or more) comes before the datasets' own sections."""
    parts = [run_header(analysis), completeness_note(analysis)]
    if analysis.blind:
        parts.append(BLIND_NOTE)
    parts.append(leaderboard_section(analysis.leaderboard, leaderboard_plots))
    for data in analysis.datasets:
        parts += render_dataset(SectionContext(analysis, data, tuple(plots.get(data.name, ()))))
    parts.append(literature_section([data.name for data in analysis.datasets]))
    return "\n\n".join(p for p in parts if p) + "\n"
