"""Render a run (results.json + manifest.json) as a Markdown report."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .tables import mean_std, seconds, table

LITERATURE = [
    ("HiggsML challenge winner (Melis), private leaderboard", "HiggsML", "AMS 3.80581"),
    ("SuperTML paper (Sun et al., 2019), claimed", "HiggsML", "AMS 3.979"),
    ("SuperTML paper (Sun et al., 2019)", "Iris", "accuracy 93.33%"),
    ("SuperTML paper (Sun et al., 2019)", "Wine", "accuracy 97.30%"),
    ("Strong (2019) SuperTML reproduction, public/private", "HiggsML", "AMS about 2.8-3.5"),
    ("Strong (2020) 4-layer ReLU baseline, private", "HiggsML", "AMS 3.40"),
    ("Strong (2020) final ensemble, private", "HiggsML", "AMS about 3.79"),
]


def group_records(records: list[dict], dataset: str, control: str = "none") -> dict[str, list[dict]]:
    """Records of one dataset and control, by model label, in suite order."""
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r["dataset"] == dataset and r.get("control", "none") == control:
            out[r["model"]].append(r)
    return dict(out)


def _col(recs: list[dict], key: str, section: str = "metrics") -> list:
    return [r[section].get(key) for r in recs]


def dataset_section(info: dict) -> str:
    lines = [f"## Dataset: {info['name']}", ""]
    if info.get("synthetic"):
        lines += ["> **Synthetic data.** These events come from a seeded generator with the CERN "
                  "file's schema; no physics conclusion can be drawn from them.", ""]
    lines += [f"- Source: {info['source']}",
              f"- Events: {info['n_events']}, features used: {info['n_features']}, "
              f"task: {info['task']}, metric: {info['metric'].upper() if info['metric'] == 'ams' else 'accuracy'}",
              f"- Seeds (repeats of split + train + evaluate): {', '.join(map(str, info['seeds']))}",
              "- Preprocessing (fitted on the training split only): "
              + ", ".join(f"{k}={v}" for k, v in info["preprocess"].items())]
    for note in info.get("notes", []):
        lines.append(f"- {note}")
    lines.append("")
    classes = info["class_names"]
    headers = ["split", "events"] + [f"n({c})" for c in classes]
    weighted = any(f"weight_{c}" in e for e in info["splits"].values() for c in classes)
    if weighted:
        headers += [f"Σw({c})" for c in classes]
    rows = []
    for name, e in info["splits"].items():
        row = [name, e["events"]] + [e.get(f"n_{c}", "") for c in classes]
        if weighted:
            row += [f"{e.get(f'weight_{c}', float('nan')):.6g}" for c in classes]
        rows.append(row)
    lines += [f"Split sizes for seed {info['seeds'][0]} (other seeds differ only by the random assignment):", "",
              table(headers, rows)]
    if info.get("weight_totals"):
        totals = ", ".join(f"{c}: {v:.12g}" for c, v in info["weight_totals"].items())
        lines += ["", f"Weights of every split are rescaled per class to the full-data totals ({totals}), "
                      "so AMS is comparable between splits of any size."]
    return "\n".join(lines)


def ams_table(groups: dict[str, list[dict]], blind: bool) -> str:
    # In blind mode the AUC too comes from the public split alone.
    auc_key = "auc_public" if blind else "auc"
    headers = ["model", "seeds", "AMS public", "AMS private", "AMS val", "cut",
               "AUC public" if blind else "AUC", "train s", "predict s / 1k"]
    rows = []
    for label, recs in groups.items():
        private = "blinded" if blind else mean_std(_col(recs, "ams_private"))
        rows.append([label, len(recs), mean_std(_col(recs, "ams_public")), private,
                     mean_std(_col(recs, "ams_val")), mean_std(_col(recs, "cut")),
                     mean_std(_col(recs, auc_key)), seconds(_col(recs, "train_s", "timing")),
                     seconds(_col(recs, "predict_per_1k_s", "timing"))])
    note = ("AMS at the cut chosen on the validation split (mean of the cuts giving the top 10% of "
            "validation AMS values), b_reg = 10; mean ± std over seeds.")
    return note + "\n\n" + table(headers, rows)


def accuracy_table(groups: dict[str, list[dict]], class_names: list[str]) -> str:
    headers = ["model", "seeds", "test accuracy", "val accuracy"] + [f"acc({c})" for c in class_names] + ["train s", "predict s / 1k"]
    rows = []
    for label, recs in groups.items():
        per_class = [mean_std([r["metrics"]["per_class_accuracy"][k] for r in recs], 1, pct=True)
                     for k in range(len(class_names))]
        rows.append([label, len(recs), mean_std(_col(recs, "accuracy"), 2, pct=True),
                     mean_std(_col(recs, "accuracy_val"), 2, pct=True), *per_class,
                     seconds(_col(recs, "train_s", "timing")), seconds(_col(recs, "predict_per_1k_s", "timing"))])
    return "Accuracy on the held-out test split; mean ± std over seeds.\n\n" + table(headers, rows)


def run_header(results: dict, manifest: dict) -> str:
    lines = [f"# Benchmark report: suite `{results.get('suite', '?')}`", ""]
    facts = [
        ("command", f"`{manifest.get('command', '?')}`"),
        ("started", manifest.get("started", "?")),
        ("device", manifest.get("device", "?")),
        ("CPU", f"{manifest.get('cpu', '?')} ({manifest.get('cpu_count', '?')} logical cores)"),
        ("GPU", manifest.get("gpu") or "none"),
        ("git commit", manifest.get("git_commit") or "unknown"),
        ("packages", ", ".join(f"{k} {v}" for k, v in (manifest.get("packages") or {}).items() if v)),
    ]
    lines += [f"- {k}: {v}" for k, v in facts]
    return "\n".join(lines)


def literature_section() -> str:
    rows = [[who, ds, fig] for who, ds, fig in LITERATURE]
    return "\n".join([
        "## Published figures (for context; NOT produced by this run)", "",
        "These numbers come from the literature, on the full HiggsML data or the full Iris/Wine "
        "tables with their own protocols. The SuperTML HiggsML claim matches AMS computed on the "
        "public and private sets together without rescaling the weights (double luminosity, "
        "about √2 too high).", "",
        table(["source", "dataset", "figure"], rows, ["l", "l", "r"]),
    ])


def render_report(results: dict, manifest: dict, run_dir: Path | None = None, unblind: bool = False) -> str:
    from . import sections

    blind = bool(results.get("blind")) and not unblind
    parts = [run_header(results, manifest)]
    if blind:
        parts.append("> **Blind mode**: private-test AMS is hidden. Re-render with "
                     "`python -m benchmarks report RUN_DIR --unblind` once every choice is final.")
    records = results.get("records", [])
    for name, info in results.get("datasets", {}).items():
        parts.append(dataset_section(info))
        groups = group_records(records, name)
        if not groups:
            parts.append("_No results recorded for this dataset._")
            continue
        parts.append("### Results")
        if info["metric"] == "ams":
            parts.append(ams_table(groups, blind))
        else:
            parts.append(accuracy_table(groups, info["class_names"]))
        parts.extend(sections.extra_sections(results, info, groups, run_dir, blind))
    parts.append(literature_section())
    return "\n\n".join(p for p in parts if p) + "\n"
