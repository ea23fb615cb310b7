"""The plot step: a report's PNG files, each written atomically, before any Markdown.

ROC curves, the metric's threshold curve on validation (for metrics that choose a
threshold there), timings, Optuna histories, the ladder, and links to the encoder example
sheets the runner wrote. Plots only draw: every curve and figure comes computed in the
analysis (``reports.analysis``, ``reports.curves``); nothing here reads a stored file.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, never a window (headless servers, CI)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from benchmarks import store  # noqa: E402
from benchmarks.core.files import atomic_write  # noqa: E402
from benchmarks.core.naming import file_name  # noqa: E402

from .analysis import DatasetAnalysis, RunAnalysis  # noqa: E402
from .curves import CutCurve  # noqa: E402
from .escape import Markup, code, plain  # noqa: E402
from .summaries import TuningRow  # noqa: E402

DPI = 100
MAX_POINTS = 2000  # points per drawn curve: enough for the eye, fast on 500k-event test sets
LOG_RANGE = 30.0  # timing bars switch to a log axis when max/min exceeds this


@dataclass(frozen=True)
class Plot:
    caption: str
    path: str  # relative to the run directory


# --------------------------------------------------------------------------- helpers


def _save_to(fig, path: Path) -> Path:
    try:
        return atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=DPI, bbox_inches="tight"))
    finally:
        plt.close(fig)


def save_figure(fig, out_dir: Path, name: str) -> str:
    rel = f"{store.PLOTS}/{name}"
    _save_to(fig, Path(out_dir) / rel)
    return rel


def literal_text():
    """Text drawn as it is: a stored label holding `$` is not parsed as mathtext (which would
    fail on, or typeset, whatever lies between two dollars)."""
    return plt.rc_context({"text.parse_math": False})


def subplots(*args, **kw):
    # A local style: importing this module must not change other code's rcParams.
    with sns.axes_style("whitegrid"):
        return plt.subplots(*args, **kw)


def _thin(*arrays: np.ndarray, max_points: int = MAX_POINTS) -> list[np.ndarray]:
    """Evenly spaced subsample (always keeping both ends) for drawing long curves."""
    n = len(arrays[0])
    if n <= max_points:
        return list(arrays)
    idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    return [a[idx] for a in arrays]


@contextmanager
def _seeded_global_rng(seed: int = 0):
    """Seaborn jitters strip plots with NumPy's global generator; seeding it here makes a
    re-rendered plot identical, and restoring it leaves everyone else's draws alone."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def model_colors(labels: Iterable[str]) -> dict[str, Any]:
    """One colour per model label, stable across the plots of a report."""
    labels = list(dict.fromkeys(labels))
    palette = sns.color_palette("tab10" if len(labels) <= 10 else "husl", max(len(labels), 1))
    return dict(zip(labels, palette))


# --------------------------------------------------------------------------- ROC


def roc_plot(out_dir: Path, data: DatasetAnalysis, blind: bool, colors: dict) -> Plot | None:
    """Weighted ROC per model on the visible test splits (never the private one when blind)."""
    if data.roc is None or not data.roc.curves:
        return None
    curves, skipped, multiclass = data.roc.curves, data.roc.skipped, data.roc.multiclass
    class_names = data.info.get("class_names") or ("background", "signal")
    multiclass = multiclass or len(class_names) < 2
    kind = "one-vs-rest micro-average" if multiclass else f"{class_names[1]} vs {class_names[0]}"
    fig, ax = subplots(figsize=(6, 5))
    for label, (fpr, tpr, auc) in curves.items():
        fpr, tpr = _thin(fpr, tpr)
        ax.plot(fpr, tpr, color=colors.get(label), lw=1.5, label=f"{label} (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    eff = ("", "") if multiclass else (f" ({class_names[0]} efficiency)", f" ({class_names[1]} efficiency)")
    ax.set_xlabel("weighted false positive rate" + eff[0])
    ax.set_ylabel("weighted true positive rate" + eff[1])
    what = "+".join(data.tests)
    ax.set_title(f"{data.name}: ROC ({kind}) on test part(s) {what}", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    if skipped:
        ax.text(0.02, 0.98, "no predictions for: " + ", ".join(skipped), transform=ax.transAxes,
                va="top", fontsize=7, color="grey")
    rel = save_figure(fig, out_dir, f"{file_name(data.name)}_roc.png")
    caption = f"ROC curves ({kind}, event-weighted), test part(s) {what}"
    return Plot(caption + (" (blind: private part not used)" if blind else ""), rel)


# --------------------------------------------------------------------------- threshold curve


def _shade_unreliable(ax, curves: Mapping[str, CutCurve]) -> None:
    """Grey where a cut keeps too few events for the figure to mean anything, and the y-axis
    kept on the range the reliable cuts reach (spikes above it are small-number artefacts)."""
    bounds = [c.cuts[~c.reliable].min() for c in curves.values() if (~c.reliable).any()]
    if bounds:
        ax.axvspan(min(bounds), 1.0, color="grey", alpha=0.15, lw=0, label="too few background events (any model)")
    tops = [c.values[c.reliable].max() for c in curves.values() if c.reliable.any()]
    if tops and bounds:
        ax.set_ylim(0, 1.15 * max(tops))


def threshold_plot(out_dir: Path, data: DatasetAnalysis, colors: dict) -> Plot | None:
    """The metric against the cut on the validation split, the cut chosen there marked."""
    curves = data.cuts
    if not curves:
        return None
    title = data.metric.text.title
    fig, ax = subplots(figsize=(7, 4.5))
    for label, curve in curves.items():
        c = colors.get(label)
        cx, vx = _thin(curve.cuts, curve.values)
        ax.plot(cx, vx, color=c, lw=1.2,
                label=f"{label} (cut {curve.cut:.3f}, {title} {data.metric.fmt(curve.at_cut)})")
        ax.axvline(curve.cut, color=c, ls="--", lw=1)
    _shade_unreliable(ax, curves)
    ax.set_xlabel("cut on the signal score (select score >= cut)")
    ax.set_ylabel(f"{title} (validation split)")
    ax.set_title(f"{data.name}: {title} vs cut on validation; dashed: chosen cut", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    rel = save_figure(fig, out_dir, f"{file_name(data.name)}_{file_name(data.metric.name)}_cut.png")
    return Plot(f"{title} vs cut on the validation split (dashed: the cut chosen there; grey: cuts keeping "
                "too few background events for the figure to mean anything)", rel)


# --------------------------------------------------------------------------- timing


def _timing_frame(data: DatasetAnalysis) -> pd.DataFrame:
    return pd.DataFrame([{"model": r.model, "train_s": r.timing.get("train_s"),
                          "predict_per_1k_s": r.timing.get("predict_per_1k_s")}
                         for recs in data.groups.values() for r in recs if r.timing])


def timing_plot(out_dir: Path, data: DatasetAnalysis, colors: dict) -> Plot | None:
    """Train time and inference time per 1k events per model: mean over seeds, seeds as dots."""
    df = _timing_frame(data)
    if df.empty:
        return None
    order = list(dict.fromkeys(df["model"]))
    fig, axes = subplots(1, 2, figsize=(10, 0.5 * len(order) + 1.8), sharey=True)
    for ax, col, title in ((axes[0], "train_s", "training time (s)"),
                           (axes[1], "predict_per_1k_s", "inference time per 1k events (s)")):
        shown = df[df[col].notna() & (df[col] > 0)]
        if shown.empty:
            ax.set_title(f"{title}: not recorded", fontsize=10)
            continue
        # Bars are means; dots are the seeds (an sd bar would dip below zero on skewed timings).
        sns.barplot(data=shown, y="model", x=col, hue="model", order=order, hue_order=order,
                    palette={m: colors.get(m) for m in order}, errorbar=None, legend=False, ax=ax)
        with _seeded_global_rng():
            sns.stripplot(data=shown, y="model", x=col, order=order, color="black", size=3, jitter=0.15, ax=ax)
        means = shown.groupby("model")[col].mean()
        if means.max() / means.min() > LOG_RANGE:
            ax.set_xscale("log")
        ax.set_xlabel(title)
        ax.set_ylabel("")
    fig.suptitle(f"{data.name}: timing (bars: mean over seeds, dots: seeds)", fontsize=10)
    rel = save_figure(fig, out_dir, f"{file_name(data.name)}_timing.png")
    return Plot("Training time and inference time per 1k events (bars: mean over seeds; dots: single seeds)", rel)


# --------------------------------------------------------------------------- Optuna


def tuning_plot(out_dir: Path, name: str, tuning: Sequence[TuningRow], colors: dict) -> Plot | None:
    """Objective per trial (dots) and the running best (line) of every tuned model; studies maximise."""
    searched = [row for row in tuning if row.history]
    if not searched:
        return None
    fig, ax = subplots(figsize=(7, 4.5))
    for row in searched:
        trials, values = np.array(row.history).T
        order = np.argsort(trials, kind="stable")
        trials, values = trials[order], values[order]
        best = np.maximum.accumulate(values)
        c = colors.get(row.label)
        ax.scatter(trials, values, s=14, color=c, alpha=0.6)
        ax.step(trials, best, where="post", color=c, lw=1.5, label=f"{row.name} (best {best[-1]:.4g})")
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("objective on the validation split")
    ax.set_title(f"{name}: Optuna history (dots: trials, line: running best)", fontsize=10)
    ax.legend(fontsize=8)
    rel = save_figure(fig, out_dir, f"{file_name(name)}_tuning.png")
    return Plot("Hyper-parameter search: objective per trial and running best", rel)


# --------------------------------------------------------------------------- encoder sheets


def _encoder_caption(rec) -> Markup:
    info = rec.info or {}
    opts = info.get("encoder_options") or {}
    opts = ", ".join(f"{k}={v}" for k, v in opts.items() if k not in ("size", "channels"))
    bits = [f"encoder {code(info['encoder'])}"] if info.get("encoder") else []
    if info.get("image_size"):
        bits.append(f"{plain(info['image_size'])} px")
    if opts:
        bits.append(plain(opts))
    return Markup(f"Example images of {plain(rec.model)}" + (f" ({'; '.join(bits)})" if bits else ""))


def encoder_sheets(data: DatasetAnalysis) -> list[Plot]:
    """Links to the example sheets the runner wrote for SuperTML models, where present."""
    return [Plot(_encoder_caption(data.first_seed[label]), rel) for label, rel in data.examples.items()]


# --------------------------------------------------------------------------- the step


# --------------------------------------------------------------------------- technique ladder


def _ladder_axis(ax, rows) -> None:
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"{row.experiment}" for row in rows], fontsize=8)
    ax.set_xlabel("rung (the paper's experiment id, in ladder order)")


def ladder_plots(out_dir: Path, data: DatasetAnalysis) -> list[Plot]:
    """As the paper's figures: the metric per rung with error bars over seeds, and the training
    time per rung relative to the baseline; the paper's own figures beside ours only where the
    analysis attached them (HiggsML AMS), never on another metric's axis."""
    ladder = data.ladder
    if ladder is None or not ladder.rows:
        return []
    split, rows, title = ladder.tests[-1], ladder.rows, data.metric.text.title
    x = np.arange(len(rows))
    fig, ax = subplots(figsize=(max(7.0, 0.45 * len(rows) + 2), 4.5))
    means = [np.nanmean([v for v in row.values[split] if v is not None] or [np.nan]) for row in rows]
    errs = [np.nanstd([v for v in row.values[split] if v is not None] or [np.nan], ddof=1)
            if sum(v is not None for v in row.values[split]) > 1 else 0.0 for row in rows]
    ax.errorbar(x, means, yerr=errs, fmt="o", capsize=3, label=f"this run: {title} {split} (mean ± std over seeds)")
    paper = [(i, row.paper) for i, row in enumerate(rows) if row.paper is not None]
    if paper:
        ax.errorbar([i for i, _ in paper], [p.private for _, p in paper], yerr=[p.private_sd for _, p in paper],
                    fmt="s", color="grey", capsize=3, label="paper: private AMS (full data, their machines)")
    _ladder_axis(ax, rows)
    ax.set_ylabel(title)
    ax.set_title(f"{data.name}: {title} by rung of the technique ladder", fontsize=10)
    ax.legend(fontsize=8)
    beside = "; the paper's private AMS beside" if paper else ""
    first = Plot(f"{title} by rung (this run's {split} split, mean ± std over seeds{beside})",
                 save_figure(fig, out_dir, f"{file_name(data.name)}_ladder_{file_name(data.metric.name)}.png"))
    fig, ax = subplots(figsize=(max(7.0, 0.45 * len(rows) + 2), 4.5))
    ax.plot(x, [row.time_ratio if row.time_ratio else np.nan for row in rows], "o-", label="this run")
    if paper:
        ax.plot([i for i, _ in paper], [p.time_ratio for _, p in paper], "s--", color="grey", label="paper")
    _ladder_axis(ax, rows)
    ax.set_yscale("log")
    ax.set_ylabel("training time / the baseline's")
    ax.set_title(f"{data.name}: relative training time by rung", fontsize=10)
    ax.legend(fontsize=8)
    second = Plot(f"Training time by rung relative to the baseline ({'this run and the paper' if paper else 'this run'})",
                  save_figure(fig, out_dir, f"{file_name(data.name)}_ladder_time.png"))
    return [first, second]


def lr_find_plot(out_dir: Path, data: DatasetAnalysis, colors: dict) -> Plot | None:
    """The learning-rate range test of every model that ran one (its first seed): the
    smoothed training loss against the learning rate, the suggested rate marked."""
    curves = {label: rec.info["lr_find"] for label, rec in data.first_seed.items()
              if isinstance((rec.info or {}).get("lr_find"), dict)}
    if not curves:
        return None
    fig, ax = subplots(figsize=(7, 4.5))
    for label, found in curves.items():
        c = colors.get(label)
        ax.plot(found["lrs"], found["losses"], color=c, lw=1.3, label=f"{label} (suggested {found['suggestion']:.2g})")
        ax.axvline(found["suggestion"], color=c, ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed training loss")
    ax.set_title(f"{data.name}: learning-rate range test (dashed: suggestion, a tenth of the minimum's rate)",
                 fontsize=10)
    ax.legend(fontsize=8)
    rel = save_figure(fig, out_dir, f"{file_name(data.name)}_lr_find.png")
    return Plot("Learning-rate range test (lr_find) on the training split, first seed", rel)


# --------------------------------------------------------------------------- feature importance

TOP_FEATURES = 15


def _importance_axes(ax, ranking: dict, title: str, color=None) -> None:
    order = np.argsort(-np.asarray(ranking["mean"]), kind="stable")[:TOP_FEATURES][::-1]
    ax.barh([ranking["features"][i] for i in order], [ranking["mean"][i] for i in order],
            xerr=[ranking["std"][i] for i in order], color=color, capsize=2)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("objective drop when shuffled (validation)")
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="y", labelsize=7)


def importance_plot(out_dir: Path, data: DatasetAnalysis, colors: dict) -> Plot | None:
    """Each model's most important features on validation (first seed), one panel a model."""
    ranked = {label: rec.importance for label, rec in data.first_seed.items() if isinstance(rec.importance, Mapping)}
    if not ranked:
        return None
    fig, axes = subplots(1, len(ranked), figsize=(4.2 * len(ranked), 0.28 * TOP_FEATURES + 1.5), squeeze=False)
    for ax, (label, ranking) in zip(axes[0], ranked.items()):
        _importance_axes(ax, ranking, label, colors.get(label))
    fig.suptitle(f"{data.name}: permutation importance (top {TOP_FEATURES}, mean ± std over repeats)", fontsize=10)
    rel = save_figure(fig, out_dir, f"{file_name(data.name)}_importance.png")
    return Plot("Permutation importance on the validation split (first seed): the objective's drop when a "
                "feature is shuffled", rel)


def write_importance(ranking: dict, title: str, out_dir: Path) -> list[Path]:
    """``importance.csv`` (every feature, ranked) and ``importance.png`` for the importance command."""
    out_dir = Path(out_dir)
    order = np.argsort(-np.asarray(ranking["mean"]), kind="stable")
    lines = ["feature,drop_mean,drop_std"] + [f"{ranking['features'][i]},{ranking['mean'][i]:.6g},{ranking['std'][i]:.6g}"
                                               for i in order]
    csv = atomic_write(out_dir / "importance.csv", lambda fh: fh.write(("\n".join(lines) + "\n").encode()))
    fig, ax = subplots(figsize=(6, 0.28 * TOP_FEATURES + 1.5))
    _importance_axes(ax, ranking, f"{title}: permutation importance (validation)")
    return [csv, _save_to(fig, out_dir / "importance.png")]


def dataset_plots(out_dir: Path, data: DatasetAnalysis, blind: bool) -> list[Plot]:
    colors = model_colors([*data.groups, *(row.label for row in data.tuning)])
    drawn = [roc_plot(out_dir, data, blind, colors), threshold_plot(out_dir, data, colors),
             timing_plot(out_dir, data, colors), tuning_plot(out_dir, data.name, data.tuning, colors),
             lr_find_plot(out_dir, data, colors), importance_plot(out_dir, data, colors)]
    return [p for p in drawn if p is not None] + ladder_plots(out_dir, data) + encoder_sheets(data)


def make_plots(analysis: RunAnalysis, out_dir: Path) -> dict[str, list[Plot]]:
    """Draw every plot of an analysed run under ``out_dir/plots`` (the run directory); dataset ->
    its plots. Nothing here reads a stored file: every curve comes computed in the analysis."""
    out_dir = Path(out_dir)
    with literal_text():
        return {data.name: dataset_plots(out_dir, data, analysis.blind) if data.groups else []
                for data in analysis.datasets}
