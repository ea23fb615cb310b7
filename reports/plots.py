"""PNG plots for a run report: ROC, AMS vs cut, timing, Optuna histories, encoder examples.

Everything is read back from the run directory (results.json and the prediction .npz
files of the first seed, control "none"), so plots can be redrawn for any stored run.
Blind mode never reads the private test part: arrays are loaded by name, and the
"private" part is left out of the names before the file is opened.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, never a window (headless servers, CI)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from benchmarks import store  # noqa: E402
from benchmarks.core import metrics  # noqa: E402

PLOTS = "plots"
DPI = 100
PRIVATE = "private"
MAX_POINTS = 2000  # points per drawn curve: enough for the eye, fast on 500k-event test sets
LOG_RANGE = 30.0  # timing bars switch to a log axis when max/min exceeds this

Plot = tuple[str, str]  # (caption, path relative to the run directory)


# --------------------------------------------------------------------------- helpers


def _safe(s: object) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(s))


def _save(fig, run_dir: Path, name: str) -> str:
    rel = f"{PLOTS}/{name}"
    path = Path(run_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return rel


def _subplots(*args, **kw):
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


def model_colors(labels: Iterable[str]) -> dict[str, Any]:
    """One colour per model label, stable across the plots of a report."""
    labels = list(dict.fromkeys(labels))
    palette = sns.color_palette("tab10" if len(labels) <= 10 else "husl", max(len(labels), 1))
    return dict(zip(labels, palette))


def first_seed_records(results: dict, dataset: str) -> dict[str, dict]:
    """Model label -> the record of the dataset's first seed, control "none"."""
    recs = [r for r in results.get("records", [])
            if r.get("dataset") == dataset and r.get("control", "none") == "none"]
    seeds = (results.get("datasets", {}).get(dataset) or {}).get("seeds") or []
    first = seeds[0] if seeds else (min(r["seed"] for r in recs) if recs else None)
    out: dict[str, dict] = {}
    for r in recs:
        if r.get("seed") == first and r["model"] not in out:
            out[r["model"]] = r
    return out


def stored_test_parts(run_dir: Path, record: dict, blind: bool) -> list[str]:
    """Test parts stored for a record (from the npz member names only), private dropped when blind."""
    path = Path(run_dir) / record.get("predictions", "")
    if not record.get("predictions") or not path.is_file():
        return []
    try:
        with np.load(path) as npz:  # .files lists names without reading any array
            names = [k[: -len("_proba")] for k in npz.files if k.endswith("_proba") and k != "val_proba"]
    except (OSError, ValueError, zipfile.BadZipFile):
        return []
    return [n for n in names if not (blind and n == PRIVATE)]


def load_arrays(run_dir: Path, record: dict, keys: Sequence[str]) -> dict[str, np.ndarray] | None:
    """Only the named arrays of a record's prediction file; None when missing or unreadable."""
    return store.load_predictions(run_dir, record, keys)


# --------------------------------------------------------------------------- ROC


def roc_curve_data(y: np.ndarray, proba: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted ROC (fpr, tpr, auc): signal (class 1) vs rest when binary, else the
    one-vs-rest micro-average over classes."""
    from sklearn.metrics import auc, roc_curve

    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    if proba.ndim == 2 and proba.shape[1] > 2:
        k = proba.shape[1]
        truth = (y[:, None] == np.arange(k)[None, :]).ravel()
        scores = proba.ravel()
        weights = None if w is None else np.repeat(np.asarray(w, dtype=np.float64), k)
    else:
        truth = y == 1
        scores = metrics.signal_scores(proba)
        weights = None if w is None else np.asarray(w, dtype=np.float64)
    fpr, tpr, _ = roc_curve(truth, scores, sample_weight=weights)
    return fpr, tpr, float(auc(fpr, tpr))


def roc_curves(run_dir: Path, records: dict[str, dict], blind: bool) -> tuple[dict[str, tuple], list[str], list[str], bool]:
    """Per model: (fpr, tpr, auc) on the concatenated test parts (public only when blind).

    Returns (curves, part names used, models skipped, multiclass).
    """
    multiclass = False
    curves: dict[str, tuple] = {}
    skipped: list[str] = []
    used: list[str] = []
    for label, rec in records.items():
        parts = stored_test_parts(run_dir, rec, blind)
        arrays = load_arrays(run_dir, rec, [f"{p}_{s}" for p in parts for s in ("proba", "y", "w")]) if parts else None
        if arrays is None:
            skipped.append(label)
            continue
        y = np.concatenate([arrays[f"{p}_y"] for p in parts])
        proba = np.concatenate([arrays[f"{p}_proba"] for p in parts])
        w = np.concatenate([arrays[f"{p}_w"] for p in parts])
        if len(np.unique(y)) < 2:
            skipped.append(label)
            continue
        curves[label] = roc_curve_data(y, proba, w)
        multiclass = multiclass or (proba.ndim == 2 and proba.shape[1] > 2)
        used = used or parts
    return curves, used, skipped, multiclass


def roc_plot(run_dir: Path, dataset: str, records: dict[str, dict], blind: bool, colors: dict,
             class_names: Sequence[str] = ("background", "signal")) -> Plot | None:
    """Weighted ROC per model on the test parts (never the private part when blind)."""
    curves, parts, skipped, multiclass = roc_curves(run_dir, records, blind)
    if not curves:
        return None
    multiclass = multiclass or len(class_names) < 2
    kind = "one-vs-rest micro-average" if multiclass else f"{class_names[1]} vs {class_names[0]}"
    fig, ax = _subplots(figsize=(6, 5))
    for label, (fpr, tpr, auc) in curves.items():
        fpr, tpr = _thin(fpr, tpr)
        ax.plot(fpr, tpr, color=colors.get(label), lw=1.5, label=f"{label} (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    eff = ("", "") if multiclass else (f" ({class_names[0]} efficiency)", f" ({class_names[1]} efficiency)")
    ax.set_xlabel("weighted false positive rate" + eff[0])
    ax.set_ylabel("weighted true positive rate" + eff[1])
    what = "+".join(parts)
    ax.set_title(f"{dataset}: ROC ({kind}) on test part(s) {what}", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    if skipped:
        ax.text(0.02, 0.98, "no predictions for: " + ", ".join(skipped), transform=ax.transAxes,
                va="top", fontsize=7, color="grey")
    rel = _save(fig, run_dir, f"{_safe(dataset)}_roc.png")
    caption = f"ROC curves ({kind}, event-weighted), test part(s) {what}"
    if blind:
        caption += " (blind: private part not used)"
    return caption, rel


# --------------------------------------------------------------------------- AMS vs cut


def ams_cut_plot(run_dir: Path, dataset: str, records: dict[str, dict], colors: dict) -> Plot | None:
    """AMS vs cut on the validation split, the chosen cut (validation only) marked."""
    fig, ax = _subplots(figsize=(7, 4.5))
    drawn = 0
    for label, rec in records.items():
        arrays = load_arrays(run_dir, rec, ["val_proba", "val_y", "val_w"])
        if arrays is None or arrays["val_proba"].ndim != 2 or arrays["val_proba"].shape[1] != 2:
            continue
        s, y, w = arrays["val_proba"][:, 1], arrays["val_y"], arrays["val_w"]
        if not np.dot(y == 1, w) > 0:
            continue
        cuts, values = metrics.ams_scan(s, y, w)
        cut = metrics.choose_cut(s, y, w)
        at_cut = metrics.ams_at_cut(s, y, w, cut)
        c = colors.get(label)
        cx, vx = _thin(cuts, values)
        ax.plot(cx, vx, color=c, lw=1.2, label=f"{label} (cut {cut:.3f}, AMS {at_cut:.3f})")
        ax.axvline(cut, color=c, ls="--", lw=1)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("cut on the signal score (select score >= cut)")
    ax.set_ylabel("AMS (validation split)")
    ax.set_title(f"{dataset}: AMS vs cut on validation; dashed: chosen cut", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    rel = _save(fig, run_dir, f"{_safe(dataset)}_ams_cut.png")
    return "AMS vs cut on the validation split (dashed: the cut chosen there)", rel


# --------------------------------------------------------------------------- timing


def timing_plot(run_dir: Path, dataset: str, records: list[dict], colors: dict) -> Plot | None:
    """Train time and inference time per 1k events per model: mean over seeds, seeds as dots."""
    import pandas as pd

    rows = [{"model": r["model"], "train_s": r["timing"].get("train_s"),
             "predict_per_1k_s": r["timing"].get("predict_per_1k_s")}
            for r in records if r.get("timing")]
    if not rows:
        return None
    df = pd.DataFrame(rows)
    order = list(dict.fromkeys(df["model"]))
    fig, axes = _subplots(1, 2, figsize=(10, 0.5 * len(order) + 1.8), sharey=True)
    for ax, col, title in ((axes[0], "train_s", "training time (s)"),
                           (axes[1], "predict_per_1k_s", "inference time per 1k events (s)")):
        data = df[df[col].notna() & (df[col] > 0)]
        if data.empty:
            ax.set_title(f"{title}: not recorded", fontsize=10)
            continue
        # Bars are means; dots are the seeds (an sd bar would dip below zero on skewed timings).
        sns.barplot(data=data, y="model", x=col, hue="model", order=order, hue_order=order,
                    palette={m: colors.get(m) for m in order}, errorbar=None, legend=False, ax=ax)
        sns.stripplot(data=data, y="model", x=col, order=order, color="black", size=3, jitter=0.15, ax=ax)
        means = data.groupby("model")[col].mean()
        if means.max() / means.min() > LOG_RANGE:
            ax.set_xscale("log")
        ax.set_xlabel(title)
        ax.set_ylabel("")
    fig.suptitle(f"{dataset}: timing (bars: mean over seeds, dots: seeds)", fontsize=10)
    rel = _save(fig, run_dir, f"{_safe(dataset)}_timing.png")
    return "Training time and inference time per 1k events (bars: mean over seeds; dots: single seeds)", rel


# --------------------------------------------------------------------------- Optuna


def tuning_plot(run_dir: Path, dataset: str, tuning: dict, colors: dict) -> Plot | None:
    """Objective per trial (dots) and the running best (line) of every tuned model."""
    fig, ax = _subplots(figsize=(7, 4.5))
    drawn = 0
    prefix = f"{dataset}/"
    for key, summary in tuning.items():
        if not key.startswith(prefix) or not isinstance(summary, dict):
            continue
        label = key[len(prefix):]
        hist = [(h[0], h[1]) for h in summary.get("history") or []
                if len(h) >= 2 and h[1] is not None and np.isfinite(float(h[1]))]
        if not hist:
            continue
        trials = np.array([h[0] for h in hist], dtype=float)
        values = np.array([h[1] for h in hist], dtype=float)
        order = np.argsort(trials, kind="stable")
        trials, values = trials[order], values[order]
        best = (np.minimum if summary.get("direction") == "minimize" else np.maximum).accumulate(values)
        c = colors.get(label)
        ax.scatter(trials, values, s=14, color=c, alpha=0.6)
        ax.step(trials, best, where="post", color=c, lw=1.5, label=f"{label} (best {best[-1]:.4g})")
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("objective on the validation split")
    ax.set_title(f"{dataset}: Optuna history (dots: trials, line: running best)", fontsize=10)
    ax.legend(fontsize=8)
    rel = _save(fig, run_dir, f"{_safe(dataset)}_tuning.png")
    return "Hyper-parameter search: objective per trial and running best", rel


# --------------------------------------------------------------------------- encoder images


def encoder_examples_path(run_dir: Path, dataset: str, model_label: str) -> Path:
    """Where the runner writes a model's encoder examples so that make_plots links them."""
    return Path(run_dir) / PLOTS / f"{_safe(dataset)}__{_safe(model_label)}__examples.png"


def pick_examples(y: np.ndarray, n: int) -> np.ndarray:
    """Up to n row indices, taking the classes in turn (first rows of each), deterministic."""
    y = np.asarray(y)
    by_class = [np.flatnonzero(y == c) for c in np.unique(y)]
    picked: list[int] = []
    for i in range(max((len(b) for b in by_class), default=0)):
        for b in by_class:
            if i < len(b) and len(picked) < n:
                picked.append(int(b[i]))
        if len(picked) >= n:
            break
    return np.asarray(picked, dtype=np.int64)


def write_encoder_examples(encoder, X: np.ndarray, y: np.ndarray, class_names: Sequence[str],
                           out_path: Path, n: int = 8, title: str | None = None) -> str:
    """A grid of `n` images made by a fitted `encoder` from rows of X, labelled by class.

    Call it after the encoder was fitted (on the training split); X may be any split,
    encoding is a pure function after fitting. Returns the written path as a string.
    """
    idx = pick_examples(y, n)
    if len(idx) == 0:
        from benchmarks.core.errors import DataError

        raise DataError("write_encoder_examples needs at least one row")
    images = np.asarray(encoder.transform(np.asarray(X)[idx]))
    if images.ndim == 4:  # (n, C, H, W): channels are replicas, channel 0 shows the content
        images = images[:, 0]
    vmax = 255 if images.dtype == np.uint8 else 1.0
    cols = min(4, len(idx))
    rows = int(np.ceil(len(idx) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, i in zip(axes.ravel(), images, idx):
        ax.imshow(img, cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
        label = int(np.asarray(y)[i])
        name = class_names[label] if 0 <= label < len(class_names) else str(label)
        ax.set_title(f"row {i}: {name}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return str(out_path)


def _encoder_caption(rec: dict) -> str:
    info = rec.get("info") or {}
    opts = info.get("encoder_options") or {}
    opts = ", ".join(f"{k}={v}" for k, v in opts.items() if k not in ("size", "channels"))
    bits = [f"encoder `{info['encoder']}`"] if info.get("encoder") else []
    if info.get("image_size"):
        bits.append(f"{info['image_size']} px")
    if opts:
        bits.append(opts)
    return f"Example images of {rec['model']}" + (f" ({'; '.join(bits)})" if bits else "")


def encoder_example_plots(run_dir: Path, dataset: str, records: dict[str, dict]) -> list[Plot]:
    """Links to example grids the runner wrote for SuperTML models (see encoder_examples_path)."""
    out = []
    for label, rec in records.items():
        path = encoder_examples_path(run_dir, dataset, label)
        if path.is_file():
            out.append((_encoder_caption(rec), path.relative_to(run_dir).as_posix()))
    return out


# --------------------------------------------------------------------------- entry points


def make_plots(results: dict, run_dir: Path, blind: bool,
               examples: dict[str, list[Plot]] | None = None) -> dict[str, list[Plot]]:
    """Write every plot of a run into ``run_dir/plots``; dataset -> [(caption, relative path)].

    `examples` adds plots made elsewhere (e.g. encoder grids) to a dataset's list; grids
    written at ``encoder_examples_path`` are found without it.
    """
    run_dir = Path(run_dir)
    tuning = results.get("tuning") or {}
    out: dict[str, list[Plot]] = {}
    for dataset, info in (results.get("datasets") or {}).items():
        firsts = first_seed_records(results, dataset)
        all_recs = [r for r in results.get("records", [])
                    if r.get("dataset") == dataset and r.get("control", "none") == "none"]
        colors = model_colors([r["model"] for r in all_recs]
                              + [k.split("/", 1)[1] for k in tuning if k.startswith(f"{dataset}/")])
        classes = info.get("class_names") or ("background", "signal")
        plots: list[Plot | None] = [roc_plot(run_dir, dataset, firsts, blind, colors, classes)]
        if info.get("metric") == "ams":
            plots.append(ams_cut_plot(run_dir, dataset, firsts, colors))
        plots.append(timing_plot(run_dir, dataset, all_recs, colors))
        plots.append(tuning_plot(run_dir, dataset, tuning, colors))
        found = [p for p in plots if p is not None]
        found += encoder_example_plots(run_dir, dataset, firsts)
        found += list((examples or {}).get(dataset, []))
        out[dataset] = found
    return out


def plots_section(plots_for_dataset: Sequence[Plot], heading: str = "### Plots") -> str:
    """Markdown embedding the plots of one dataset; empty string when there are none."""
    if not plots_for_dataset:
        return ""
    lines = [heading, ""]
    for caption, rel in plots_for_dataset:
        lines += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    return "\n".join(lines).rstrip() + "\n"
