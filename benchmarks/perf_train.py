"""Throughput of SuperTML CNNs: images/s for encoding, training and inference.

The data pipeline is included: every timed step encodes its batch from the float table
(on the GPU with CUDA, in numpy on CPU), and the training step is the training engine's
(``models.engine.Trainer.step``), exactly as ``models.supertml`` trains.
CUDA timings synchronise the device and exclude warm-up steps (cuDNN autotuning, lazy
initialisation). Backbones are randomly initialised: nothing is downloaded.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from benchmarks.core.device import gpu_name, resolve_device
from benchmarks.core.errors import MissingBackendError

HIGGS_LIKE_FEATURES = 30


def _defaults(cuda: bool) -> dict:
    # CPU: a handful of small batches so the default run ends in a minute or two.
    return {"batch_size": 256, "warmup": 3, "steps": 20} if cuda else {"batch_size": 16, "warmup": 1, "steps": 2}


def _table(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """HiggsML-shaped synthetic table: 30 features at physics-like scales, two classes."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 200.0, HIGGS_LIKE_FEATURES)
    X = rng.normal(size=(n, HIGGS_LIKE_FEATURES)) * scale
    y = (X[:, 0] + rng.normal(scale=scale[0], size=n) > 0).astype(np.int64)
    return X, y


def _warm_then_time(step, batches, n_warm: int, dev: str):
    """Run the warm-up batches untimed, then time the rest (CUDA-synchronised)."""
    from models.torch_utils import Timer

    for idx in batches[:n_warm]:
        step(idx)
    with Timer(dev) as timer:
        for idx in batches[n_warm:]:
            step(idx)
    return timer


def _time_encoding(rows, batches, n_warm: int, dev: str):
    """Time encoding the timed batches, after at least one warm-up call (it builds the
    encoder's device tables)."""
    from models.torch_utils import Timer

    for _ in range(max(n_warm, 1)):
        rows.batch(batches[0])
    with Timer(dev) as timer:
        for idx in batches[n_warm:]:
            rows.batch(idx)
    return timer


def _time_backbone(trainer, backbone: str, channels: int, train, batches, n_warm: int) -> tuple[float, float]:
    """Seconds for the timed training steps (the engine's own step: encode, forward,
    weighted loss, backward, AdamW, schedule) and for the timed inference batches."""
    import timm
    import torch

    from models.torch_utils import autocast, is_cuda, seed_everything

    dev = trainer.device
    seed_everything(0)
    net = timm.create_model(backbone, pretrained=False, num_classes=2, in_chans=channels).to(dev)
    if is_cuda(dev):
        net = net.to(memory_format=torch.channels_last)
    opt, sched = trainer.schedule([{"params": list(net.parameters()), "lr": 1e-4}], len(batches), 1)

    def train_step(idx):
        x = train.rows.batch(idx)
        idx_d = idx.to(dev)
        trainer.step(net, opt, sched, x, train.y[idx_d], train.weight[idx_d])

    def infer_step(idx):
        with torch.inference_mode(), autocast(dev, trainer.amp):
            net(train.rows.batch(idx))

    net.train()
    t_train = _warm_then_time(train_step, batches, n_warm, dev)
    net.eval()
    t_infer = _warm_then_time(infer_step, batches, n_warm, dev)
    del net, opt, sched
    if is_cuda(dev):
        torch.cuda.empty_cache()
    return t_train.seconds, t_infer.seconds


def _size_rows(trainer, backbones: Sequence[str], size: int, X: np.ndarray, y: np.ndarray, encoder: str,
               encoder_options: dict | None, channels: int, bs: int, n_warm: int, n_steps: int,
               gpu: str) -> list[dict]:
    """One image size: the encoder timed once, then every backbone's train and inference steps."""
    import torch

    import encoders
    from models.engine import Split
    from models.supertml import ImageBatches

    dev, n = trainer.device, len(y)
    opts = dict(encoder_options) if encoder_options is not None else ({"decimals": "auto"} if encoder == "text" else {})
    enc = encoders.create_encoder(encoder, size=size, channels=channels, **opts).fit(X, y)
    train = Split.of(ImageBatches(enc, dev, channels).rows(X), y, np.ones(n), dev)
    batches = [torch.arange(i * bs, (i + 1) * bs) % n for i in range(n_warm + n_steps)]
    t_enc = _time_encoding(train.rows, batches, n_warm, dev)
    rows, n_img = [], n_steps * bs
    for backbone in backbones:
        t_train, t_infer = _time_backbone(trainer, backbone, channels, train, batches, n_warm)
        rows.append({"backbone": backbone, "size": size, "device": dev, "gpu": gpu, "precision": trainer.precision,
                     "batch_size": bs, "steps": n_steps, "encode_img_s": n_img / max(t_enc.seconds, 1e-9),
                     "train_img_s": n_img / max(t_train, 1e-9), "infer_img_s": n_img / max(t_infer, 1e-9)})
    return rows


def run(
    backbones: Sequence[str] = ("resnet18", "resnet34"),
    sizes: Sequence[int] = (56, 224),
    device: str = "auto",
    n_events: int | None = None,
    encoder: str | Sequence[str] = "text",
    encoder_options: dict | None = None,
    channels: int = 3,
    batch_size: int | None = None,
    steps: int | None = None,
    warmup: int | None = None,
    amp: bool = True,
    num_threads: int | None = None,
    quick: bool = False,
    out: Callable[[str], None] = print,
) -> list[dict]:
    """Time encoding, a training step (encode + forward + backward + AdamW) and inference
    (encode + forward) per backbone and image size; print a table and return its rows.

    The text encoder defaults to ``decimals="auto"`` so 30 features fit small images (56 px
    holds them only without decimals); pixel content does not change the timings.
    ``quick`` keeps only the first backbone and size (a smoke run of the pipeline).
    ``encoder`` may name several encoders (each timed with the same backbones and sizes);
    ``encode %`` is the share of a training step spent encoding its batch (encode time over
    the step's time, the step including its encoding).
    """
    try:
        import timm  # noqa: F401
        import torch
    except ImportError as exc:
        raise MissingBackendError("perf train needs torch and timm; install them with: pip install '.[torch]'") from exc
    from models.engine import OneCycle, Trainer
    from models.torch_utils import choose_threads, is_cuda

    if quick:
        backbones, sizes = tuple(backbones)[:1], tuple(sizes)[:1]
    dev = resolve_device(device)
    cuda = is_cuda(dev)
    d = _defaults(cuda)
    bs = int(batch_size or d["batch_size"])
    n_steps = int(steps or d["steps"])
    n_warm = int(d["warmup"] if warmup is None else warmup)
    n = int(n_events or bs * (n_steps + n_warm))
    X, y = _table(n)
    trainer = Trainer(schedule=OneCycle(weight_decay=1e-2), batch_size=bs, eval_batch_size=bs, device=dev,
                      amp=amp, threads=choose_threads(num_threads), progress=False)
    rows: list[dict] = []
    gpu = gpu_name(dev) if cuda else f"cpu, {trainer.threads} threads"
    names = (encoder,) if isinstance(encoder, str) else tuple(encoder)
    import encoders

    for name in names:
        encoders.ENCODERS.get(name)  # an unknown name fails before any timing
    out(f"SuperTML throughput on {dev} ({gpu}); {', '.join(names)} encoder, batch {bs}, "
        f"{n_warm} warm-up + {n_steps} timed steps, {trainer.precision}")
    with trainer.session(0):
        if cuda:
            torch.backends.cudnn.benchmark = True
        for name in names:
            for size in sizes:
                for r in _size_rows(trainer, backbones, int(size), X, y, name, encoder_options, int(channels),
                                    bs, n_warm, n_steps, gpu):
                    r["encoder"] = name
                    r["encode_share"] = r["train_img_s"] / r["encode_img_s"]
                    rows.append(r)
    out(f"{'encoder':<12} {'backbone':<16} {'size':>5} {'encode img/s':>13} {'train img/s':>12} "
        f"{'encode %':>9} {'infer img/s':>12}")
    for r in rows:
        out(f"{r['encoder']:<12} {r['backbone']:<16} {r['size']:>5} {r['encode_img_s']:>13,.0f} "
            f"{r['train_img_s']:>12,.1f} {100 * r['encode_share']:>8.2f}% {r['infer_img_s']:>12,.1f}")
    return rows
