"""Encoder throughput: events/s of each encoder and layout, against the per-event references
(the Pillow text renderer; TINTOlib's own transform, PNG files included, for every method it
has), the ratio to our ``pixels`` encoder, peak memory, and the layout fit time of each
pixel-placement method at 30, 100 and 1,000 features.

Called by ``python -m benchmarks perf encode``; timing lives here, never in tests. Data are
HiggsML-like (30 features with the real magnitudes and signs, -999 for missing jet
variables), so no data file is needed.
"""
from __future__ import annotations

import time
import tracemalloc
from typing import Callable

import numpy as np

from benchmarks.core.errors import ConfigError

# (name, options) for each configuration timed. Text uses decimals="auto": at 56x56, 30
# features of 8 characters (3 decimals) do not fit the equal grid at a legible font.
CONFIGS: tuple[tuple[str, dict], ...] = (
    ("pixels", {"layout": "blocks"}),
    ("pixels", {"layout": "bars"}),
    ("text", {"layout": "equal", "decimals": "auto"}),
    ("text", {"layout": "variable", "decimals": "auto"}),
    ("deepinsight", {}),
    ("igtd", {}),
    ("refined", {}),
    ("tinto", {}),
    ("tinto", {"blur": True}),
    ("bargraph", {}),
    ("distmatrix", {}),
    ("combination", {}),
    ("featurewrap", {}),
    ("bie", {}),
)
# encoders whose layout is learned (fit time printed at 30, 100 and 1,000 features)
LAYOUT_ENCODERS = ("deepinsight", "igtd", "refined", "tinto")
FIT_FEATURES = (30, 100, 1000)


def _reference_options(name: str, enc) -> tuple[str, str, dict] | None:
    """TINTOlib's class for encoder `name` (module, class, options matching `enc`), or None."""
    grid = getattr(enc, "grid_shape_", None)
    table = {
        "text": ("supertml", "SuperTML", {"pixels": enc.size}),
        "deepinsight": ("deepInsight", "DeepInsight", {"image_dim": grid[0] if grid else 0}),
        "igtd": ("igtd", "IGTD", {"scale": list(grid) if grid else []}),
        "refined": ("refined", "REFINED", {"n_processors": 1}),
        "tinto": ("tinto", "TINTO", {"pixels": grid[0] if grid else 0, "blur": bool(getattr(enc, "blur", False))}),
        "bargraph": ("barGraph", "BarGraph", {}),
        "distmatrix": ("distanceMatrix", "DistanceMatrix", {}),
        "combination": ("combination", "Combination", {}),
        "featurewrap": ("featureWrap", "FeatureWrap", {}),
        "bie": ("bie", "BIE", {}),
    }
    return table.get(name)


def tintolib_events_per_s(name: str, enc, X_train, y_train, X, n_rows: int) -> float | str:
    """TINTOlib's rate for the same method: its own transform of `n_rows` rows, PNGs written
    to a temporary folder (that is how it is used); fitted on at most 500 training rows, fit
    not timed. A string says why it could not run (not installed, or its error)."""
    import importlib
    import tempfile
    import warnings

    ref = _reference_options(name, enc)
    if ref is None:
        return "no reference"
    try:
        module = importlib.import_module(f"TINTOlib.{ref[0]}")
    except ImportError:
        return "TINTOlib not installed (pip install '.[reference]')"
    import pandas as pd

    cols = [f"f{i}" for i in range(X.shape[1])]
    train = pd.DataFrame(X_train[:500], columns=cols).assign(target=y_train[:500])
    rows = pd.DataFrame(X[:n_rows], columns=cols).assign(target=np.zeros(n_rows, dtype=np.int64))
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="tintolib-") as tmp:
            warnings.simplefilter("ignore")
            method = getattr(module, ref[1])(problem="classification", **ref[2])
            method.fit(train)
            t = time.perf_counter()
            method.transform(rows, f"{tmp}/images")
            return n_rows / (time.perf_counter() - t)
    except Exception as exc:  # a reference's failure is reported, never fatal to our figures
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:60] if str(exc) else ''}"


def correlated_table(n: int, n_features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): features driven by 8 shared latent factors (so a layout has structure to find)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 8))
    A = rng.standard_normal((8, n_features)) * (rng.random((8, n_features)) < 0.4)
    X = Z @ A + 0.5 * rng.standard_normal((n, n_features))
    return X, (Z[:, 0] > 0).astype(np.int64)


def layout_fit_times(names=LAYOUT_ENCODERS, n_features=FIT_FEATURES, n_rows: int = 2_000,
                     out: Callable[[str], None] = print) -> list[dict]:
    """Fit seconds of each layout-learning encoder at each feature count (one fit each)."""
    from encoders import ENCODERS, create_encoder

    rows = []
    for f in n_features:
        X, y = correlated_table(n_rows, f)
        for name in names:
            if name not in ENCODERS:
                continue
            enc = create_encoder(name, size=224)
            t = time.perf_counter()
            enc.fit(X, y)
            seconds = time.perf_counter() - t
            rows.append({"encoder": name, "features": f, "rows": n_rows, "fit_s": seconds,
                         "iterations": getattr(enc, "n_iter_", None), "objective": getattr(enc, "objective_", None),
                         "grid": "x".join(map(str, enc.grid_shape_))})
    head = f"{'encoder':12} {'features':>8} {'grid':>7} {'fit s':>8} {'iterations':>10} {'objective':>12}"
    out("layout fit time (training rows: %d, correlated features)" % n_rows)
    out(head)
    out("-" * len(head))
    for r in rows:
        it = "" if r["iterations"] is None else f"{r['iterations']:,}"
        ob = "" if r["objective"] is None else f"{r['objective']:.4g}"
        out(f"{r['encoder']:12} {r['features']:>8} {r['grid']:>7} {r['fit_s']:>8.2f} {it:>10} {ob:>12}")
    return rows

# |value| scale per HiggsML feature, which ones take negative values, which can be -999
_SCALE = np.array([120, 45, 80, 60, 2.5, 400, 3, 2.4, 19, 164, 1.4, 1.2, 0.5, 40, 1.2, 1.8,
                   46, 1.2, 1.8, 42, 1.8, 215, 1, 87, 1.8, 1.8, 57, 2.1, 1.8, 77.0])
_SIGNED = np.zeros(30, bool)
_SIGNED[[6, 11, 14, 15, 17, 18, 20, 24, 25, 27, 28]] = True
_MAY_MISS = np.zeros(30, bool)
_MAY_MISS[[0, 4, 5, 6, 12, 23, 24, 25, 26, 27, 28]] = True


def higgs_like(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): n events x 30 features with HiggsML's magnitudes, about 7% of values -999."""
    rng = np.random.default_rng(seed)
    X = np.abs(rng.standard_normal((n, 30))) * _SCALE
    X[:, _SIGNED] = rng.standard_normal((n, int(_SIGNED.sum()))) * _SCALE[_SIGNED]
    X[:, 22] = rng.integers(0, 4, n)  # PRI_jet_num
    X = np.round(X, 3)
    miss = (rng.random((n, 30)) < 0.2) & _MAY_MISS
    X[miss] = -999.0
    y = (np.where(miss[:, 0], 0, X[:, 0]) + 30 * rng.standard_normal(n) > 120).astype(np.int64)
    return X, y


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _peak_numpy_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run(
    sizes: tuple[int, ...] = (56, 224),
    n_events: int | None = None,
    out: Callable[[str], None] = print,
    device: str = "cpu",
    repeats: int = 3,
    n_reference: int = 100,
    configs: tuple[tuple[str, dict], ...] = CONFIGS,
    threads: tuple[int, ...] = (1, 2),
    quick: bool = False,
    only: tuple[str, ...] | None = None,
    n_tintolib: int = 50,
    fit_features: tuple[int, ...] = FIT_FEATURES,
) -> list[dict]:
    """Time every encoder configuration at every size; print a table, return its rows.

    n_events: events per transform call (default 50,000 at 56 px, scaled down with the
    image area to keep the output near 160 MB). device: "cpu" (numpy only), "cuda" (also
    transform_torch on the GPU) or "auto" (CUDA when available). threads: the encoders'
    n_jobs values timed on the CPU. quick: a fifth of the events, two repeats, 30 reference
    events (a quick look, noisier). Each row: encoder, layout, size, decimals (text),
    backend, threads, events_per_s (fresh output array),
    events_per_s_out (into a reused `out=` buffer), peak_mb (numpy: tracemalloc; CUDA:
    max_memory_allocated), and for the fast text path reference_events_per_s (the Pillow
    reference on `n_reference` events) and speedup; for every method TINTOlib has,
    tintolib_events_per_s (its transform of `n_tintolib` rows, PNGs included, at the first
    size the method fits: its per-row cost is file writing, nearly independent of size) and
    tintolib_speedup; vs_pixels (events/s over pixels-blocks' at the same size, backend and
    threads). `only`: encoder names to time (default all registered). Then the layout fit
    table (``layout_fit_times``) at `fit_features` features.
    """
    from encoders import ENCODERS, create_encoder

    if device not in ("cpu", "cuda", "auto"):
        raise ConfigError(f"perf encode: device must be cpu, cuda or auto, got {device!r}")
    if quick:
        repeats, n_reference, n_tintolib = 2, min(n_reference, 30), min(n_tintolib, 20)
        fit_features = tuple(f for f in fit_features if f <= 100)
    if only is not None:
        unknown = sorted(set(only) - set(ENCODERS.names()))
        if unknown:
            raise ConfigError(f"perf encode: unknown encoder(s) {', '.join(unknown)}; use {', '.join(ENCODERS.names())}")
    configs = tuple((name, o) for name, o in configs
                    if name in ENCODERS and (only is None or name in only or name == "pixels"))
    X_train, y_train = higgs_like(5_000, seed=1)
    use_cuda = False
    if device in ("cuda", "auto"):
        try:
            import torch

            use_cuda = torch.cuda.is_available()
        except ImportError:
            use_cuda = False
        if device == "cuda" and not use_cuda:
            out("CUDA requested but not available: timing the CPU only")
    rows: list[dict] = []
    skipped: list[str] = []
    referenced: set[tuple] = set()  # TINTOlib is timed once per method, at the first size it fits
    for size in sizes:
        n = n_events or max(1_000, int((10_000 if quick else 50_000) * (56 / size) ** 2))
        X, _ = higgs_like(n, seed=2)
        for name, options in configs:
            try:
                enc = create_encoder(name, size=size, **options).fit(X_train, y_train)
            except ConfigError as err:  # e.g. a native image larger than the size
                skipped.append(f"{name} {_label(options)} at {size} px: not timed ({err})".replace("  ", " "))
                continue
            enc.transform(X[:64])  # warm caches (glyph atlases)
            buf = np.empty((n, *enc.image_shape), dtype=np.uint8 if enc.dtype == "uint8" else np.float32)
            base = {"encoder": name, "layout": _label(options), "size": size,
                    "decimals": getattr(enc, "decimals_", None), "n_events": n}
            new = _cpu_rows(enc, name, X, buf, base, threads, repeats, n_reference)
            key = (name, _label(options))
            if key not in referenced and name != "pixels":
                referenced.add(key)
                rate = tintolib_events_per_s(name, enc, X_train, y_train, X, n_tintolib)
                new[0]["tintolib_events_per_s"] = rate
                if isinstance(rate, float):
                    new[0]["tintolib_speedup"] = new[0]["events_per_s"] / rate
            rows += new
            enc.n_jobs = 1
            if use_cuda:
                rows.append(dict(base, **_cuda_row(enc, X, repeats)))
    _ratio_to_pixels(rows)
    _print_table(rows, out)
    notes = {(r["encoder"], r["layout"]): r["tintolib_events_per_s"] for r in rows
             if isinstance(r.get("tintolib_events_per_s"), str) and r["tintolib_events_per_s"] != "no reference"}
    for (name, layout), why in notes.items():
        out(f"TINTOlib {name} {layout}: not timed ({why})")
    for line in skipped:
        out(line)
    layouts = tuple(n for n in LAYOUT_ENCODERS if n in {c[0] for c in configs})
    if layouts and fit_features:
        out("")
        rows_fit = layout_fit_times(layouts, fit_features, out=out)
        rows += [dict(r, table="fit") for r in rows_fit]
    return rows


def _label(options: dict) -> str:
    if "layout" in options:
        return str(options["layout"])
    return "blur" if options.get("blur") else ""


def _ratio_to_pixels(rows: list[dict]) -> None:
    """vs_pixels: events/s over pixels-blocks' at the same size, backend and threads."""
    ref = {(r["size"], r["backend"], r.get("threads")): r["events_per_s"] for r in rows
           if r["encoder"] == "pixels" and r["layout"] == "blocks"}
    for r in rows:
        base = ref.get((r["size"], r["backend"], r.get("threads")))
        r["vs_pixels"] = None if base is None else r["events_per_s"] / base


def _cpu_rows(enc, name: str, X: np.ndarray, buf: np.ndarray, base: dict, threads: tuple[int, ...],
              repeats: int, n_reference: int) -> list[dict]:
    """One encoder configuration on the CPU: events/s per thread count, memory, and for the
    fast text path its speed-up over the per-event Pillow reference."""
    from encoders.text import render_reference

    rows, n = [], len(X)
    for jobs in threads:
        enc.n_jobs = jobs
        t_fresh = _best_time(lambda: enc.transform(X), repeats)
        t_out = _best_time(lambda: enc.transform(X, out=buf), repeats)
        row = dict(base, backend="numpy", threads=jobs, events_per_s=n / t_fresh, events_per_s_out=n / t_out)
        if jobs == threads[0]:
            row["peak_mb"] = _peak_numpy_mb(lambda: enc.transform(X[: min(n, 10_000)]))
            if name == "text":
                m = min(n_reference, n)
                row["reference_events_per_s"] = m / _best_time(lambda: render_reference(enc, X[:m]), 1)
                row["speedup"] = row["events_per_s"] / row["reference_events_per_s"]
        rows.append(row)
    return rows


def _cuda_row(enc, X, repeats) -> dict:
    import torch

    batch = min(len(X), 16_384)
    Xt = torch.as_tensor(X[:batch], device="cuda")
    enc.transform_torch(Xt[:64])
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()

    def step():
        enc.transform_torch(Xt)
        torch.cuda.synchronize()

    t = _best_time(step, repeats)
    return {"backend": "torch-cuda", "threads": None, "n_events": batch, "events_per_s": batch / t,
            "events_per_s_out": None, "peak_mb": torch.cuda.max_memory_allocated() / 2**20}


def _print_table(rows: list[dict], out: Callable[[str], None]) -> None:
    def num(v, fmt=",.0f", suffix=""):
        return "" if v is None else format(v, fmt) + suffix

    head = (f"{'encoder':11} {'layout':9} {'size':>4} {'dec':>3} {'backend':10} {'thr':>3} "
            f"{'events/s':>11} {'(out=)':>11} {'vs pixels':>9} {'peak MB':>8} {'Pillow ev/s':>11} "
            f"{'speed-up':>8} {'TINTOlib ev/s':>13} {'speed-up':>9}")
    out(head)
    out("-" * len(head))
    for r in rows:
        tl = r.get("tintolib_events_per_s")
        tl = num(tl, ",.1f") if isinstance(tl, float) else ("n/a" if tl and tl != "no reference" else "")
        out(
            f"{r['encoder']:11} {r['layout']:9} {r['size']:>4} {num(r['decimals'], 'd'):>3} "
            f"{r['backend']:10} {num(r.get('threads'), 'd'):>3} {num(r['events_per_s']):>11} "
            f"{num(r['events_per_s_out']):>11} {num(r.get('vs_pixels'), '.2f', 'x'):>9} "
            f"{num(r.get('peak_mb'), '.1f'):>8} "
            f"{num(r.get('reference_events_per_s')):>11} {num(r.get('speedup'), ',.0f', 'x'):>8} "
            f"{tl:>13} {num(r.get('tintolib_speedup'), ',.0f', 'x'):>9}"
        )


if __name__ == "__main__":
    run()
