"""Full-scale rehearsal: the HiggsML suite's models on a file of the real one's size.

``python -m benchmarks perf scale`` writes synthetic events with the CERN file's schema,
size (818,238 events) and KaggleSet proportions (``higgsml-toy``), then runs each model of
the ``higgsml`` suite through the real command line (``run --suite ... --data FILE``: the
loader, splits, preprocessing, fit, inference, scoring, the run directory), one model per
child process so that each child's peak memory is that model's run alone:

* tabular models on the full file with the suite's parameters (no search);
* the DNN (a ``dnn``-family model of the suite, else the FCNN) on the full file for a few
  epochs, projected to the suite's epoch budget;
* the SuperTML CNNs at the suite's image size on a subsample (``--max-events``), for one
  epoch from random weights, projected to the full training set and the suite's epochs.

It prints wall time, peak host memory (and peak GPU memory under CUDA), training and
inference events/s per model, and the projected wall time of the whole suite (each search
trial costed as one full fit, early stopping ignored: upper bounds) on this machine and on
N workers. Figures are printed, never asserted by tests.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from models import create_model, model_info

from . import store
from .core.device import gpu_name, resolve_device
from .core.errors import BenchmarkError, ConfigError
from .suite import SUITES_DIR

FULL_EVENTS = 818_238  # the CERN file: KaggleSet t 250,000, b 100,000, v 450,000, u 18,238
EPOCH_PARAMS = ("max_epochs", "epochs", "n_epochs")  # n_epochs: RealMLP's (pytabkit's name)

# A child: the real CLI in this interpreter, then its own peak memory on stdout.
CHILD = """
import json, resource, sys
from benchmarks.cli import main
rc = main({argv!r})
gpu = None
if "torch" in sys.modules:
    import torch
    if torch.cuda.is_available():
        gpu = torch.cuda.max_memory_allocated() / 2**30
print("PEAK " + json.dumps({{"rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "gpu_gb": gpu}}))
sys.exit(rc)
"""


@dataclass(frozen=True)
class Case:
    """One model of the suite as the rehearsal runs it."""

    entry: dict  # the suite's [[models]] table, as measured
    family: str
    max_events: int | None  # subsample every split (CNNs)
    epochs: int | None  # epochs run (None: as the suite, or not an epoch model)
    suite_epochs: int | None  # the suite's epoch budget
    trials: int  # the suite's search trials (each costed as one fit)
    search_timeout_s: float | None = None  # the suite's search time budget
    fits: int = 1  # fits after the search: one per entry, a tuned+ensemble entry one per member (at most)

    @property
    def label(self) -> str:
        return self.entry.get("label", self.entry["name"])


def _defaults(name: str) -> dict:
    """The registered model's own parameters (a ladder rung's settings live there, not in the suite)."""
    try:
        return create_model(name).get_params()
    except Exception:  # noqa: BLE001 - a model without get_params or defaults: the suite's params only
        return {}


def _epochs(params: dict) -> tuple[str | None, int | None]:
    for key in EPOCH_PARAMS:
        if key in params:
            return key, int(params[key]) + int(params.get("head_epochs", 0) if key == "epochs" else 0)
    return None, None


def _fits(m: dict, trials: int) -> int:
    """Fits a [[models]] table costs after its search: one per entry; a tuned+ensemble entry
    refits each member, at most ``ensemble.size`` distinct configurations of the ``trials``."""
    from .suite import DEFAULT, ENSEMBLE, ENSEMBLE_SIZE, TUNED

    entries = m.get("entries")
    if not entries:
        return 1
    size = int((m.get("ensemble") or {}).get("size", ENSEMBLE_SIZE))
    return (DEFAULT in entries) + (TUNED in entries) + (min(size, max(trials, 1)) if ENSEMBLE in entries else 0)


def cases(suite: dict, dnn_epochs: int, cnn_events: int, only: tuple[str, ...] | None = None) -> list[Case]:
    """The suite's models: tabular as they are, the deep networks for a few epochs, CNNs on a
    subsample. Each keeps its own preprocessing and feature selection (``preprocess``,
    ``select``). ``only``: the tables whose label or model name is listed (None: all)."""
    out = []
    known = [(m.get("label", m["name"]), m["name"]) for m in suite["models"]]
    missing = [n for n in only or () if not any(n in k for k in known)]
    if missing:
        raise ConfigError(f"perf scale: the higgsml suite has no model {missing[0]!r}; it has: "
                          f"{', '.join(label for label, _ in known)}")
    for m in suite["models"]:
        if only and m.get("label", m["name"]) not in only and m["name"] not in only:
            continue
        family = model_info(m["name"]).family
        params = dict(m.get("params", {}))
        search = m.get("search") or {}
        budget = (int(search.get("trials") or 0), search.get("timeout_s"), _fits(m, int(search.get("trials") or 0)))
        defaults = _defaults(m["name"])
        key, suite_epochs = _epochs({**defaults, **params})
        entry = {"name": m["name"], "label": m.get("label", m["name"]), "params": params,
                 **{k: dict(m[k]) for k in ("preprocess", "select") if m.get(k)}}
        if family == "supertml":
            params.update(epochs=1, training="single", pretrained=False)
            params.pop("head_epochs", None)
            out.append(Case(entry, family, cnn_events, 1, suite_epochs, *budget))
        elif key in ("max_epochs", "n_epochs"):  # deep networks: a fixed number of epochs (patience never stops them)
            params[key] = dnn_epochs
            if "patience" in defaults:  # counted in sub-epochs where a model has them
                params["patience"] = dnn_epochs * int(params.get("subepochs", defaults.get("subepochs", 1)) or 1)
            out.append(Case(entry, family, None, dnn_epochs, suite_epochs, *budget))
        else:
            out.append(Case(entry, family, None, None, None, *budget))
    return out


def write_events(path: Path, n_events: int, out: Callable[[str], None]) -> dict:
    """The synthetic full-size file; returns how long generating and writing took."""
    from datasets.higgsml_toy import make_higgsml_toy, write_csv

    t0 = time.perf_counter()
    df = make_higgsml_toy(n_events=n_events, seed=0)
    t_gen = time.perf_counter() - t0
    write_csv(df, path)
    t_write = time.perf_counter() - t0 - t_gen
    counts = df["KaggleSet"].value_counts().to_dict()
    out(f"higgsml-toy: {n_events:,} events generated in {t_gen:.1f} s, written in {t_write:.1f} s "
        f"({path.stat().st_size / 2**20:.0f} MiB); KaggleSet " + ", ".join(f"{k}={counts.get(k, 0):,}" for k in "tbvu"))
    return {"generate_s": t_gen, "write_s": t_write}


def measure(case: Case, csv: Path, work: Path, device: str, index: int) -> dict:
    """One model's full run in a child process: the record's timings and the child's peaks."""
    suite = {"name": f"scale-{index}", "blind": True,
             "datasets": [{"name": "higgsml", "repeats": 1,
                           "preprocess": {"missing": "impute", "orientation": True, "standardise": True}}],
             "models": [case.entry]}
    suite_path = work / f"model-{index}.toml"
    suite_path.write_text(_toml(suite))
    run_dir = work / f"run-{index}"
    argv = ["run", "--suite", str(suite_path), "--data", str(csv), "--no-tune", "--quiet", "--device", device,
            "--out", str(run_dir)] + (["--max-events", str(case.max_events)] if case.max_events else [])
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD.format(argv=argv)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    wall = time.perf_counter() - t0
    peak = next((json.loads(line[5:]) for line in proc.stdout.splitlines() if line.startswith("PEAK ")), None)
    if proc.returncode != 0 or peak is None:
        raise BenchmarkError(f"perf scale: {case.label} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    run = store.open_run(run_dir)
    if not run.records:
        raise BenchmarkError(f"perf scale: {case.label} failed: {run.failures[0].error}")
    n_val = run.datasets["higgsml"]["splits"]["val"]["events"]
    return {"wall_s": wall, **peak, **run.records[0].timing, "epochs_run": case.epochs, "n_val": n_val}


def _toml(obj: dict) -> str:
    """A suite as TOML (inline tables; strings, numbers and booleans only)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v)

    lines = [f"{k} = {value(v)}" for k, v in obj.items() if not isinstance(v, list)]
    for table in ("datasets", "models"):
        for item in obj[table]:
            lines += ["", f"[[{table}]]"] + [f"{k} = {value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def project(case: Case, m: dict, n_events: int) -> float:
    """Seconds of the model's part of the suite on the file of ``n_events``: its fit (DNN/CNN
    epochs scaled to the suite's, CNN events to the whole training split) plus inference,
    plus its search (trials costed as full fits, within the search's time budget)."""
    n_train = round(n_events * 250_000 / FULL_EVENTS * 0.8)  # KaggleSet t less the validation split
    n_infer = round(n_events * 600_000 / FULL_EVENTS)  # validation, public (b) and private (v)
    train = m["train_s"]
    if case.epochs is not None and case.suite_epochs:
        train *= case.suite_epochs / case.epochs
    if case.max_events:
        train *= n_train / max(m["n_train"], 1)
    infer = m["val_predict_s"] + m["predict_s"]
    if case.max_events:
        infer *= n_infer / max(m["n_test"] + m["n_val"], 1)
    search = case.trials * train
    if case.search_timeout_s:  # no trial starts after the budget; the last one finishes
        search = min(search, float(case.search_timeout_s) + train)
    return search + case.fits * (train + infer)


def schedule(jobs: list[float], workers: int) -> float:
    """Wall time of independent jobs on `workers` equal workers (longest first, greedy)."""
    loads = [0.0] * max(1, workers)
    for t in sorted(jobs, reverse=True):
        loads[loads.index(min(loads))] += t
    return max(loads)


def run(device: str = "auto", quick: bool = False, n_events: int | None = None, workers: int = 4,
        dnn_epochs: int | None = None, cnn_events: int | None = None, out: Callable[[str], None] = print,
        only: tuple[str, ...] | None = None) -> list[dict]:
    """Measure every model of the ``higgsml`` suite (or those ``only`` names) at full size;
    print and return one row per model."""
    dev = resolve_device(device)
    n_events = int(n_events or (100_000 if quick else FULL_EVENTS))
    suite = tomllib.loads((SUITES_DIR / "higgsml.toml").read_text())
    chosen = cases(suite, dnn_epochs or (2 if quick else 5),
                   cnn_events or ((5000 if quick else 20000) if dev.startswith("cuda") else (100 if quick else 500)),
                   only)
    where = gpu_name(dev) if dev.startswith("cuda") else f"cpu, {os.cpu_count()} logical CPUs"
    out(f"perf scale on {dev} ({where}); load average {os.getloadavg()[0]:.1f}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="supertml-scale-") as tmp:
        work = Path(tmp)
        csv = work / "higgsml-toy.csv"
        made = write_events(csv, n_events, out)
        for i, case in enumerate(chosen):
            m = measure(case, csv, work, dev, i)
            rows.append({"model": case.label, "family": case.family, "projected_s": project(case, m, n_events),
                         "events": n_events, "image_size": case.entry["params"].get("image_size"), **made, **m})
            _print_row(rows[-1], case, out)
    if only:
        out("no projection of the whole suite: only some of its models were measured (--models)")
    else:
        _print_projection(rows, workers, out)
    return rows


def _print_row(r: dict, case: Case, out: Callable[[str], None]) -> None:
    epochs = r["epochs_run"] or 1
    train_rate = r["n_train"] * epochs / max(r["train_s"], 1e-9)
    infer_rate = (r["n_test"] + r["n_val"]) / max(r["val_predict_s"] + r["predict_s"], 1e-9)
    gpu = "" if r["gpu_gb"] is None else f", GPU peak {r['gpu_gb']:.2f} GiB"
    sub = f" [subsample {case.max_events}/split, {epochs} epoch]" if case.max_events else (
        f" [{epochs} of {case.suite_epochs} epochs]" if case.epochs else "")
    out(f"{r['model']:<36} wall {r['wall_s']:7.1f} s  train {r['train_s']:7.1f} s on {r['n_train']:,}"
        f"  {train_rate:9,.0f} train ev/s  {infer_rate:9,.0f} infer ev/s  host peak {r['rss_gb']:.2f} GiB{gpu}{sub}")


def _print_projection(rows: list[dict], workers: int, out: Callable[[str], None]) -> None:
    total = sum(r["projected_s"] for r in rows)
    jobs = [r["projected_s"] for r in rows]
    out(f"projected higgsml suite on {rows[0]['events']:,} events (1 seed; search trials as full fits within "
        f"their time budgets; early stopping ignored: an upper bound): {total / 3600:.1f} h "
        f"on this machine; {schedule(jobs, workers) / 3600:.1f} h on {workers} workers like it "
        f"(one fit per worker; a search split over workers would shorten the longest job)")
    tab = [r for r in rows if r["family"] != "supertml"]  # the DNN family is not "tabular" but counts here
    if tab:
        worst = max(tab, key=lambda r: r["rss_gb"])
        out(f"peak host memory of a run on {worst['events']:,} events, tabular models (forest, BDTs, DNN): "
            f"{worst['rss_gb']:.2f} GiB ({worst['model']}); target < 8 GB")
    for r in rows:
        if r["family"] == "supertml":
            size = r["events"] * 3 * r["image_size"] ** 2 / 2**30
            out(f"{r['model']}: peak {r['rss_gb']:.2f} GiB, while the file's full image set would be {size:,.0f} GiB "
                f"(uint8, {r['image_size']} px): images are made per batch, never all held")
