"""Batched ensembles: one member vs N members as one batched network vs N members one by one.

All three train the same network, the final model of Strong (2020) without augmentation
(``LADDER[28]``'s architecture: dense 6x33 Swish, PRI_jet_num embedded in 3 dimensions,
one-cycle schedule), on the same synthetic HiggsML-schema events (``higgsml-toy``, the
-999 markers replaced by their column's mean), for a fixed number of epochs (no early
stopping, so every fit does the same work). Times are wall-clock seconds of ``fit``
(network built, data moved, training and a validation pass per epoch; CUDA synchronised
by the engine), the median over seeds and repeats.

What is learned is compared member by member: member k of the batched ensemble and the
same member (same initialisation and shuffling, ``member_ids=[k]``) trained alone give
validation AUCs (ROC, unweighted) whose distributions are printed side by side, with the
largest difference in any validation probability and the ensembles' AUCs.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence

import numpy as np

from benchmarks.core.device import gpu_name, resolve_device
from benchmarks.core.errors import MissingBackendError

FINAL_MODEL = dict(width=33, depth=6, dense=True, activation="swish", categorical_features=["PRI_jet_num"],
                   embedding_sizes=[3], schedule="onecycle", lr=1e-2, lr_min=1e-4, batch_size=256)


def _defaults(cuda: bool, quick: bool) -> dict:
    if quick:
        return {"n_events": 6000, "epochs": 2, "seeds": (0,), "repeats": 1}
    if cuda:  # about two minutes on one GPU (the one-by-one members dominate)
        return {"n_events": 100_000, "epochs": 4, "seeds": (0, 1), "repeats": 2}
    return {"n_events": 20_000, "epochs": 6, "seeds": (0, 1, 2), "repeats": 3}


def _data(n: int, seed: int = 0):
    """Toy HiggsML events, -999 replaced by the column mean of the real values; 80/20 split."""
    from datasets import load_dataset

    ds = load_dataset("higgsml-toy", n_events=n, seed=seed, with_test_sets=False)
    X = ds.X.astype(np.float64).copy()
    missing = X == ds.missing_value if ds.missing_value is not None else np.zeros_like(X, dtype=bool)
    for j in np.flatnonzero(missing.any(0)):
        X[missing[:, j], j] = X[~missing[:, j], j].mean() if (~missing[:, j]).any() else 0.0
    order = np.random.default_rng(seed).permutation(n)
    cut = int(0.8 * n)
    tr, va = order[:cut], order[cut:]
    return (X[tr], ds.y[tr], ds.weights[tr]), (X[va], ds.y[va], ds.weights[va]), list(ds.feature_names)


def _fit(params: dict, train, val) -> tuple[object, float]:
    from models.dnn import DNN

    model = DNN(**params)
    t0 = time.perf_counter()
    model.fit(*train, *val)
    return model, time.perf_counter() - t0


def _member_proba(model, X: np.ndarray) -> np.ndarray:
    """Signal probability of every member of a fitted model, ``[N, M]``."""
    import torch

    from models.torch_utils import to_device

    net = model.net_.eval()
    with torch.inference_mode():
        logits = net(to_device(X.astype(np.float32), model.device_)).float()
    return torch.softmax(logits, -1)[..., 1].double().cpu().numpy()


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def _one_seed(base: dict, members: int, seed: int, repeats: int, train, val) -> dict:
    """Times and member AUCs for one seed: one member, the batched ensemble, members one by one."""
    from models.ensemble import ensemble_weights

    one_s, batched_s = [], []
    for _ in range(repeats):
        one_s.append(_fit({**base, "n_members": 1, "random_state": seed}, train, val)[1])
        ens, secs = _fit({**base, "n_members": members, "random_state": seed}, train, val)
        batched_s.append(secs)
    seq_s, seq_p, seq_loss = 0.0, [], []
    for k in range(members):
        alone, secs = _fit({**base, "n_members": 1, "member_ids": [k], "random_state": seed}, train, val)
        seq_s += secs
        seq_p.append(_member_proba(alone, val[0])[:, 0])
        seq_loss.append(alone.member_val_loss_[0])
    batched_p, seq_p = _member_proba(ens, val[0]), np.stack(seq_p, 1)
    weights = ensemble_weights(seq_loss)
    return {
        "one_s": one_s, "batched_s": batched_s, "sequential_s": seq_s,
        "batched_auc": [_auc(val[1], batched_p[:, k]) for k in range(members)],
        "sequential_auc": [_auc(val[1], seq_p[:, k]) for k in range(members)],
        "max_abs_dp": float(np.abs(batched_p - seq_p).max()),
        "ensemble_auc": _auc(val[1], ens.predict_proba(val[0])[:, 1]),
        "sequential_ensemble_auc": _auc(val[1], seq_p @ weights),
    }


def _report(rows: list[dict], members: int, out: Callable[[str], None]) -> dict:
    one = statistics.median(s for r in rows for s in r["one_s"])
    batched = statistics.median(s for r in rows for s in r["batched_s"])
    seq = statistics.median(r["sequential_s"] for r in rows)
    out(f"{'':<28} {'wall s':>9} {'x one member':>13}")
    for label, secs in (("one member", one), (f"{members} members, batched", batched),
                        (f"{members} members, one by one", seq)):
        out(f"{label:<28} {secs:>9.2f} {secs / one:>13.2f}")
    out(f"batched vs one by one: {seq / batched:.2f}x faster")
    b = [a for r in rows for a in r["batched_auc"]]
    s = [a for r in rows for a in r["sequential_auc"]]
    out(f"member validation AUC, batched:    {np.mean(b):.4f} +- {np.std(b):.4f} (min {min(b):.4f}, max {max(b):.4f}, {len(b)} members)")
    out(f"member validation AUC, one by one: {np.mean(s):.4f} +- {np.std(s):.4f} (min {min(s):.4f}, max {max(s):.4f}, {len(s)} members)")
    out(f"same member batched vs alone: max |delta AUC| {max(abs(x - y) for x, y in zip(b, s)):.2e}, "
        f"max |delta probability| {max(r['max_abs_dp'] for r in rows):.2e}")
    out(f"ensemble validation AUC (mean over seeds): batched {np.mean([r['ensemble_auc'] for r in rows]):.4f}, "
        f"one by one {np.mean([r['sequential_ensemble_auc'] for r in rows]):.4f}")
    return {"one_s": one, "batched_s": batched, "sequential_s": seq, "batched_over_one": batched / one,
            "sequential_over_batched": seq / batched, "seeds": rows}


def run(device: str = "auto", quick: bool = False, n_events: int | None = None, members: int = 10,
        epochs: int | None = None, seeds: Sequence[int] | None = None, repeats: int | None = None,
        num_threads: int | None = None, out: Callable[[str], None] = print) -> dict:
    """Train one member, ``members`` members batched and ``members`` members one by one on
    the same data; print wall times, their ratios and the member AUC comparison."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise MissingBackendError("perf ensemble needs torch; install it with: pip install '.[torch]'") from exc
    from models.torch_utils import choose_threads, is_cuda

    dev = resolve_device(device)
    d = _defaults(is_cuda(dev), quick)
    n, n_epochs = int(n_events or d["n_events"]), int(epochs or d["epochs"])
    seeds, repeats = tuple(seeds or d["seeds"]), int(repeats or d["repeats"])
    train, val, names = _data(n)
    rise = max(1, n_epochs // 3)
    base = {**FINAL_MODEL, "feature_names": names, "max_epochs": n_epochs, "patience": None,
            "onecycle_lengths": (rise, max(1, n_epochs - rise)), "device": dev, "num_threads": num_threads,
            "progress": False}
    where = gpu_name(dev) if is_cuda(dev) else f"cpu, {choose_threads(num_threads)} threads"
    out(f"Batched ensembles on {dev} ({where}): higgsml-toy {n:,} events ({len(train[0]):,} train), "
        f"{train[0].shape[1]} features; Strong (2020) final model (dense 6x33 swish, PRI_jet_num embedded, "
        f"one-cycle), {n_epochs} epochs, batch 256; seeds {', '.join(map(str, seeds))}, {repeats} repeat(s)")
    rows = [_one_seed(base, int(members), s, repeats, train, val) for s in seeds]
    return _report(rows, int(members), out)
