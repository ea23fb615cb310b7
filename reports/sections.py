"""Report sections beyond the main tables: SuperTML details, controls, tuning, AMS audit,
statistics, timing and plots. Every figure is computed from the stored results and
predictions of the run, never from anything else."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks import store
from benchmarks.core import audit, metrics, stats

from .tables import finite, mean_std, seconds, table

N_BOOT = 1000


def _first_seed(recs: list[dict]) -> dict:
    return min(recs, key=lambda r: r["seed"])


def visible_tests(info: dict, blind: bool) -> list[str]:
    names = [n for n in info["splits"] if n not in ("train", "val")]
    return [n for n in names if not (blind and n == "private")]


def main_metric(info: dict, split: str | None = None) -> str:
    if info["metric"] == "ams":
        return f"ams_{split or 'public'}"
    return "accuracy"


def supertml_section(groups: dict, info: dict, blind: bool) -> str:
    rows = []
    for label, recs in groups.items():
        r0 = recs[0]
        if r0.get("family") != "supertml":
            continue
        i = r0.get("info", {})
        metric = main_metric(info)
        rows.append([label, i.get("encoder", "?"), i.get("layout", (i.get("encoder_options") or {}).get("layout", "")),
                     i.get("image_size", "?"), i.get("backbone", "?"), i.get("pretrained", "?"),
                     i.get("training", "?"), i.get("precision", "?"),
                     mean_std([r["metrics"].get(metric) for r in recs], 3 if info["metric"] == "ams" else 2,
                              pct=info["metric"] != "ams")])
    if not rows:
        return ""
    return "\n".join([
        "### SuperTML models", "",
        "Encoder, image size, backbone and the weights actually used. Pretrained and randomly "
        "initialised backbones appear side by side when the suite lists both (the CNN weight control).", "",
        table(["model", "encoder", "layout", "image", "backbone", "weights", "training", "precision",
               "public AMS" if info["metric"] == "ams" else "accuracy"], rows),
    ])


def _random_selection_interval(y: np.ndarray, w: np.ndarray, k: int, n_draws: int = 200, seed: int = 0):
    """AMS of ``k`` events picked at random (weights as stored): the chance distribution."""
    rng = np.random.default_rng(seed)
    sig = y == 1
    values = np.empty(n_draws)
    for i in range(n_draws):
        pick = rng.choice(len(y), size=k, replace=False)
        values[i] = metrics.ams(w[pick][sig[pick]].sum(), w[pick][~sig[pick]].sum())
    return float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975)), float(values.mean())


def rec_real_ams(groups: dict, label: str, seed: int, split: str) -> float | None:
    for r in groups.get(label, []):
        if r["seed"] == seed:
            return r["metrics"].get(f"ams_{split}")
    return None


def _ams_control_verdict(value: float, lo: float, hi: float, real: float | None) -> str:
    """Inside the random-pick interval, just above it (region spread), or a likely leak."""
    if value <= hi:
        return "yes" if value >= lo else "yes (below the random-pick interval)"
    halfway = None if real is None else hi + 0.5 * (real - hi)
    if value > hi + (hi - lo) or (halfway is not None and value >= halfway):
        return "**no: well above chance; look for a leak**"
    return "yes (just above the random-pick interval)"


def controls_section(results: dict, info: dict, groups: dict, run_dir: Path | None, blind: bool) -> str:
    from .markdown import group_records

    shuffled = group_records(results["records"], info["name"], "shuffled")
    if not shuffled:
        return ""
    rows = []
    if info["metric"] == "ams":
        split = "public"
        for label, recs in shuffled.items():
            real = [r["metrics"].get(f"ams_{split}") for r in groups.get(label, [])]
            fake = [r["metrics"].get(f"ams_{split}") for r in recs]
            verdict, chance = "–", "–"
            preds = store.load_predictions(run_dir, _first_seed(recs))
            if preds is not None:
                rec = _first_seed(recs)
                y, w = preds[f"{split}_y"], preds[f"{split}_w"]
                k = int((metrics.signal_scores(preds[f"{split}_proba"]) >= rec["metrics"]["cut"]).sum())
                if k > 0:
                    lo, hi, mean = _random_selection_interval(y, w, k, seed=rec["seed"])
                    chance = f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"
                    value = rec["metrics"].get(f"ams_{split}")
                    verdict = _ams_control_verdict(value, lo, hi, rec_real_ams(groups, label, rec["seed"], split))
            rows.append([label, mean_std(real), mean_std(fake), chance, verdict])
        head = ["model", "real AMS public", "shuffled AMS public", "chance (random pick of as many events) [95%]",
                "shuffled consistent with chance? (first seed)"]
        note = ("Shuffled-label control: each model retrained on labels permuted within the training and "
                "validation splits (weights kept with their events, shuffled labels independent of the true "
                "ones), then scored exactly like the real model on the true test labels. Chance = AMS of "
                "picking the same number of test events at random. A model selects a region of feature "
                "space, not random events, and a region's AMS spreads more than a random pick's, so a value "
                "just above the interval is not by itself a leak; one well above it, or close to the real "
                "model's AMS, is.")
    else:
        n_classes = len(info["class_names"])
        test = info["splits"].get("test", {})
        counts = [test.get(f"n_{c}", 0) for c in info["class_names"]]
        n_test = sum(counts)
        lo, hi = stats.chance_interval_accuracy(n_test, n_classes, class_counts=counts)
        for label, recs in shuffled.items():
            real = [r["metrics"]["accuracy"] for r in groups.get(label, [])]
            fake = [r["metrics"]["accuracy"] for r in recs]
            flags = [stats.consistent_with_chance(a, n_test, n_classes, class_counts=counts) for a in fake]
            verdict = "yes" if all(flags) else f"**no in {flags.count(False)} of {len(flags)} seeds**"
            rows.append([label, mean_std(real, 1, pct=True), mean_std(fake, 1, pct=True),
                         f"{100 / n_classes:.1f}% [{100 * lo:.1f}%, {100 * hi:.1f}%]", verdict])
        head = ["model", "real accuracy", "shuffled accuracy", "chance level [95% interval]", "consistent with chance?"]
        note = ("Shuffled-label control: each model retrained on labels permuted within the training and "
                f"validation splits, evaluated on the true test labels ({n_test} events). The interval is what "
                "label-independent guessing gives; a shuffled result outside it points to a leak or a bug, "
                "one far below it to a small-sample fluke worth a second look.")
    return "\n".join(["### Shuffled-label control", "", note, "", table(head, rows)])


def tuning_section(results: dict, info: dict) -> str:
    rows = []
    for key, s in results.get("tuning", {}).items():
        dataset, _, label = key.partition("/")
        if dataset != info["name"]:
            continue
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in s.get("best_params", {}).items())
        rows.append([label, s.get("trials", "?"), s.get("pruned", 0), s.get("failed", 0),
                     f"{s.get('best_value', float('nan')):.4f}", params, seconds([s.get("search_s")])])
    if not rows:
        return ""
    objective = "validation AMS at the chosen cut" if info["metric"] == "ams" else "validation accuracy"
    return "\n".join([
        "### Hyper-parameter search (Optuna)", "",
        f"Objective: {objective}, on the first seed's splits; test splits are never seen by the search. "
        "The best parameters were then retrained with every seed and evaluated once on the test splits.", "",
        table(["model", "complete trials", "pruned", "failed", "best validation score", "best parameters", "search s"], rows),
    ])


AUDIT_COLUMNS = {
    "result": "honest",
    "optimistic": "max over cuts (optimistic)",
    "inflated": "combined",
    "chance": "subsample max (chance)",
    "reference": "fixed cut",
}


def audit_section(info: dict, groups: dict, run_dir: Path | None, blind: bool) -> str:
    """One row per model; each column one audit figure, mean over seeds."""
    if info["metric"] != "ams" or run_dir is None:
        return ""
    tests = visible_tests(info, blind)
    rows, legend = [], {}
    for label, recs in groups.items():
        per_seed = []
        for rec in recs:
            preds = store.load_predictions(run_dir, rec)
            if preds is None:
                continue
            parts = [audit.ScoredPart(n, metrics.signal_scores(preds[f"{n}_proba"]), preds[f"{n}_y"], preds[f"{n}_w"])
                     for n in tests]
            per_seed.append(audit.audit_table(parts, rec["metrics"]["cut"], seed=rec["seed"]))
        if not per_seed:
            continue
        cells: dict[str, str] = {}
        for i, row in enumerate(per_seed[0]):
            if row["kind"] == "inflated" and len(tests) < 2:
                continue
            for key in row["values"]:
                if key in ("cut", "mean", "std"):
                    continue
                split = "" if row["kind"] in ("inflated",) else row["label"].split(" of ")[-1].split(" ")[0] \
                    if row["kind"] == "chance" else key
                column = f"{AUDIT_COLUMNS[row['kind']]}" + (f" {split}" if split else "")
                if row["kind"] == "inflated":
                    column += " " + key
                legend.setdefault(row["kind"], (row["label"], row["explanation"]))
                cells[column] = mean_std([s[i]["values"].get(key) for s in per_seed])
        rows.append((label, len(per_seed), cells))
    if not rows:
        return ""
    columns = list(dict.fromkeys(c for _, _, cells in rows for c in cells))
    body = table(["model", "seeds", *columns], [[lab, n, *(cells.get(c, "–") for c in columns)] for lab, n, cells in rows])
    hidden = (" Private-split figures, and the public+private combination, are hidden in blind mode."
              if blind else "")
    explained = "\n".join(f"- **{AUDIT_COLUMNS[k]}** ({lab}): {text}" for k, (lab, text) in legend.items())
    return "\n\n".join([
        "### AMS audit",
        "The honest figure (cut chosen on validation, each test split on its own) next to the known ways "
        "of fooling oneself on HiggsML. Only the **honest** columns are results; every other column is "
        "labelled for what it is." + hidden,
        body,
        explained,
    ])


def best_tabular(groups: dict, info: dict) -> str | None:
    """The reference model: the tabular model with the best *validation* score."""
    key = "ams_val" if info["metric"] == "ams" else "accuracy_val"
    best, best_val = None, -np.inf
    for label, recs in groups.items():
        if recs[0].get("family", "tabular") != "tabular":
            continue
        vals = finite(r["metrics"].get(key) for r in recs)
        if vals and np.mean(vals) > best_val:
            best, best_val = label, float(np.mean(vals))
    return best


def statistics_section(info: dict, groups: dict, run_dir: Path | None, blind: bool) -> str:
    if run_dir is None:
        return ""
    ref = best_tabular(groups, info)
    tests = visible_tests(info, blind)
    is_ams = info["metric"] == "ams"
    rows = []
    ref_recs = {r["seed"]: r for r in groups.get(ref, [])} if ref else {}
    for label, recs in groups.items():
        rec = _first_seed(recs)
        preds = store.load_predictions(run_dir, rec)
        if preds is None:
            continue
        for split in tests:
            proba, y, w = preds[f"{split}_proba"], preds[f"{split}_y"], preds[f"{split}_w"]
            if is_ams:
                value = rec["metrics"][f"ams_{split}"]
                lo, hi = stats.bootstrap_ams_ci(proba, y, w, rec["metrics"]["cut"], n_boot=N_BOOT, seed=rec["seed"])
                ci = f"{value:.3f} [{lo:.3f}, {hi:.3f}]"
            else:
                value = rec["metrics"]["accuracy"]
                lo, hi = stats.bootstrap_accuracy_ci(y, proba, n_boot=N_BOOT, seed=rec["seed"])
                ci = f"{100 * value:.1f}% [{100 * lo:.1f}%, {100 * hi:.1f}%]"
            comparison, seeds_p = "reference" if label == ref else "–", "–"
            ref_rec = ref_recs.get(rec["seed"])
            if label != ref and ref_rec is not None:
                ref_preds = store.load_predictions(run_dir, ref_rec)
                if ref_preds is not None:
                    if is_ams:
                        c = stats.paired_ams_comparison(proba, rec["metrics"]["cut"], ref_preds[f"{split}_proba"],
                                                        ref_rec["metrics"]["cut"], y, w, n_boot=N_BOOT, seed=rec["seed"])
                        fmt = lambda v: f"{v:+.3f}"  # noqa: E731
                    else:
                        c = stats.paired_accuracy_comparison(y, proba, ref_preds[f"{split}_proba"], n_boot=N_BOOT, seed=rec["seed"])
                        fmt = lambda v: f"{100 * v:+.1f}%"  # noqa: E731
                    sig = "**significant**" if c["significant"] else "not significant"
                    comparison = f"{fmt(c['diff'])} [{fmt(c['ci_low'])}, {fmt(c['ci_high'])}], p={c['p_value']:.3f}, {sig}"
                    metric = f"ams_{split}" if is_ams else "accuracy"
                    pairs = [(r["metrics"].get(metric), ref_recs[r["seed"]]["metrics"].get(metric))
                             for r in recs if r["seed"] in ref_recs]
                    if len(pairs) >= 2:
                        p = stats.paired_seed_test([a for a, _ in pairs], [b for _, b in pairs])
                        seeds_p = "–" if p is None else f"p={p:.3f} ({len(pairs)} seeds)"
            rows.append([label, split, ci, comparison, seeds_p])
    if not rows:
        return ""
    what = "AMS at the validation cut" if is_ams else "accuracy"
    return "\n".join([
        "### Statistics", "",
        f"95% bootstrap intervals of the {what} ({N_BOOT} resamples of the test events, weights kept with "
        f"their events{' and rescaled per class to the split totals' if is_ams else ''}; first seed). Paired "
        f"comparison against the reference, the tabular model with the best **validation** score (`{ref}`): "
        "paired bootstrap of the difference on the same test events (first seed), and a paired t-test "
        "over seeds where there are several. Significant means the 95% interval excludes zero. A tuned "
        "model's validation score is optimistic (its parameters were chosen on that split), which can "
        "favour it as the reference; its test figures are unaffected.", "",
        table(["model", "test split", f"{what} [95% CI]", f"difference vs {ref} [95% CI]", "over seeds"], rows,
              ["l", "l", "r", "l", "l"]),
    ])


def timing_section(results: dict, info: dict, groups: dict) -> str:
    rows, train_means, infer_means = [], {}, {}
    for label, recs in groups.items():
        train_means[label] = float(np.mean([r["timing"]["train_s"] for r in recs]))
        infer_means[label] = float(np.mean([r["timing"]["predict_per_1k_s"] for r in recs]))
    if not rows and not train_means:
        return ""
    fastest_train, fastest_infer = min(train_means.values()), min(infer_means.values())
    for label, recs in groups.items():
        r0 = recs[0]
        i = r0.get("info", {})
        t = r0["timing"]
        n_test = t.get("n_test", 0)
        images = "–"
        if r0.get("family") == "supertml":
            pred_s = np.mean([r["timing"]["predict_s"] for r in recs])
            # Every epoch (both stages of two-stage training) encodes each training event once.
            train_imgs = t.get("n_train", 0) * i.get("epochs_run", 0)
            images = f"infer {n_test / pred_s:,.0f}" if pred_s > 0 else "–"
            if train_imgs:
                images += f"; train {train_imgs / np.mean([r['timing']['train_s'] for r in recs]):,.0f}"
        rows.append([label, r0.get("device", "?"), i.get("precision", "fp32" if r0.get("family") != "tabular" else "fp64/native"),
                     i.get("batch_size", "–"), i.get("threads", "–"),
                     seconds([r["timing"]["train_s"] for r in recs]), f"{train_means[label] / fastest_train:.1f}x",
                     seconds([r["timing"]["val_predict_s"] for r in recs]), seconds([r["timing"]["predict_s"] for r in recs]),
                     seconds([r["timing"]["predict_per_1k_s"] for r in recs]),
                     f"{infer_means[label] / fastest_infer:.1f}x" if fastest_infer > 0 else "–", images])
    return "\n".join([
        "### Timing", "",
        "Wall-clock seconds, mean over seeds. Inference is timed after a warm-up batch and ends when "
        "probabilities are back in host memory (so GPU work is complete); relative columns are against "
        "the fastest model. Images/s for SuperTML models include encoding.", "",
        table(["model", "device", "precision", "batch", "threads", "train s", "train rel.", "val predict s",
               "test predict s", "per 1k s", "infer rel.", "images/s"], rows),
    ])


def plots_section_for(results: dict, info: dict, run_dir: Path | None, blind: bool) -> str:
    if run_dir is None:
        return ""
    try:
        from .plots import make_plots, plots_section
    except ImportError:  # matplotlib/seaborn are core dependencies; be safe anyway
        return ""
    plots = make_plots({**results, "datasets": {info["name"]: info}}, Path(run_dir), blind)
    return plots_section(plots.get(info["name"], []))


def extra_sections(results: dict, info: dict, groups: dict, run_dir: Path | None, blind: bool) -> list[str]:
    return [
        supertml_section(groups, info, blind),
        controls_section(results, info, groups, run_dir, blind),
        tuning_section(results, info),
        statistics_section(info, groups, run_dir, blind),
        audit_section(info, groups, run_dir, blind),
        timing_section(results, info, groups),
        plots_section_for(results, info, run_dir, blind),
    ]
