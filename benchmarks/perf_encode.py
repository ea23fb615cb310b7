"""Encoder throughput: events/s of each encoder and layout, the fast text path's speed-up
over the per-event Pillow reference, and peak memory.

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
)

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
    reference on `n_reference` events) and speedup.
    """
    from encoders import create_encoder

    if device not in ("cpu", "cuda", "auto"):
        raise ConfigError(f"perf encode: device must be cpu, cuda or auto, got {device!r}")
    if quick:
        repeats, n_reference = 2, min(n_reference, 30)
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
    for size in sizes:
        n = n_events or max(1_000, int((10_000 if quick else 50_000) * (56 / size) ** 2))
        X, _ = higgs_like(n, seed=2)
        for name, options in configs:
            enc = create_encoder(name, size=size, **options).fit(X_train, y_train)
            enc.transform(X[:64])  # warm caches (glyph atlases)
            buf = np.empty((n, *enc.image_shape), dtype=np.uint8 if enc.dtype == "uint8" else np.float32)
            base = {"encoder": name, "layout": options.get("layout", ""), "size": size,
                    "decimals": getattr(enc, "decimals_", None), "n_events": n}
            rows += _cpu_rows(enc, name, X, buf, base, threads, repeats, n_reference)
            enc.n_jobs = 1
            if use_cuda:
                rows.append(dict(base, **_cuda_row(enc, X, repeats)))
    _print_table(rows, out)
    return rows


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

    head = (f"{'encoder':8} {'layout':9} {'size':>4} {'dec':>3} {'backend':10} {'thr':>3} "
            f"{'events/s':>11} {'(out=)':>11} {'peak MB':>8} {'Pillow ev/s':>11} {'speed-up':>8}")
    out(head)
    out("-" * len(head))
    for r in rows:
        out(
            f"{r['encoder']:8} {r['layout']:9} {r['size']:>4} {num(r['decimals'], 'd'):>3} "
            f"{r['backend']:10} {num(r.get('threads'), 'd'):>3} {num(r['events_per_s']):>11} "
            f"{num(r['events_per_s_out']):>11} {num(r.get('peak_mb'), '.1f'):>8} "
            f"{num(r.get('reference_events_per_s')):>11} {num(r.get('speedup'), ',.0f', 'x'):>8}"
        )


if __name__ == "__main__":
    run()
