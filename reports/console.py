"""The short table printed on the console at the end of a run."""
from __future__ import annotations

from pathlib import Path

from benchmarks import store

from .markdown import group_records
from .tables import mean_std, seconds


def console_summary(run_dir: Path, unblind: bool = False) -> str:
    results, _ = store.load_run(run_dir)
    blind = results.get("blind") and not unblind
    lines = []
    for name, info in results["datasets"].items():
        groups = group_records(results["records"], name)
        lines.append(f"\n{name} ({'synthetic, ' if info['synthetic'] else ''}{len(info['seeds'])} seed(s))")
        if info["metric"] == "ams":
            auc_key = "auc_public" if blind else "auc"
            lines.append(f"  {'model':28s} {'AMS public':>16s} {'AMS private':>16s} {auc_key.replace('auc', 'AUC'):>16s} {'train s':>8s}")
            for label, recs in groups.items():
                m = lambda k: mean_std([r["metrics"].get(k) for r in recs])  # noqa: E731
                private = "blinded" if blind else m("ams_private")
                lines.append(f"  {label:28s} {m('ams_public'):>16s} {private:>16s} {m(auc_key):>16s} "
                             f"{seconds([r['timing']['train_s'] for r in recs]):>8s}")
        else:
            lines.append(f"  {'model':28s} {'accuracy':>18s} {'train s':>8s}")
            for label, recs in groups.items():
                acc = mean_std([r["metrics"]["accuracy"] for r in recs], 1, pct=True)
                lines.append(f"  {label:28s} {acc:>18s} {seconds([r['timing']['train_s'] for r in recs]):>8s}")
    return "\n".join(lines)
