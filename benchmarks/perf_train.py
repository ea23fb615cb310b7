"""Throughput of SuperTML CNNs: images/s for encoding, training and inference.

The data pipeline is included: every timed step encodes its batch from the float table
(on the GPU with CUDA, in numpy on CPU), exactly as ``models.supertml`` does in training.
CUDA timings synchronise the device and exclude warm-up steps (cuDNN autotuning, lazy
initialisation). Backbones are randomly initialised: nothing is downloaded.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from benchmarks.core.device import resolve_device
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
    from models import torch_utils as tu

    for idx in batches[:n_warm]:
        step(idx)
    with tu.Timer(dev) as timer:
        for idx in batches[n_warm:]:
            step(idx)
    return timer


def run(
    backbones: Sequence[str] = ("resnet18", "resnet34"),
    sizes: Sequence[int] = (56, 224),
    device: str = "auto",
    n_events: int | None = None,
    encoder: str = "text",
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
    """
    try:
        import timm
        import torch
    except ImportError as exc:
        raise MissingBackendError("perf train needs torch and timm; install them with: pip install '.[torch]'") from exc
    from models import torch_utils as tu
    from models.supertml import ImageBatches, make_encoder

    if quick:
        backbones, sizes = tuple(backbones)[:1], tuple(sizes)[:1]
    dev = resolve_device(device)
    cuda = tu.is_cuda(dev)
    d = _defaults(cuda)
    bs = int(batch_size or d["batch_size"])
    n_steps = int(steps or d["steps"])
    n_warm = int(d["warmup"] if warmup is None else warmup)
    n = int(n_events or bs * (n_steps + n_warm))
    X, y = _table(n)
    threads = tu.choose_threads(num_threads)
    rows: list[dict] = []
    gpu = torch.cuda.get_device_name(dev) if cuda else f"cpu, {threads} threads"
    out(f"SuperTML throughput on {dev} ({gpu}); {encoder} encoder, batch {bs}, "
        f"{n_warm} warm-up + {n_steps} timed steps, {tu.precision_name(dev, amp)}")
    with tu.torch_threads(threads):
        if cuda:
            torch.backends.cudnn.benchmark = True
        yt = tu.to_device(y, dev)
        for size in sizes:
            opts = dict(encoder_options) if encoder_options is not None else (
                {"decimals": "auto"} if encoder == "text" else {})
            enc = make_encoder(encoder, size=int(size), channels=int(channels), **opts).fit(X, y)
            images = ImageBatches(enc, dev, int(channels))
            src = images.source(X)
            batches = [torch.arange(i * bs, (i + 1) * bs) % n for i in range(n_warm + n_steps)]
            for _ in range(max(n_warm, 1)):  # warm the encoder's device tables
                images(src, batches[0])
            with tu.Timer(dev) as t_enc:
                for idx in batches[n_warm:]:
                    images(src, idx)
            for backbone in backbones:
                tu.seed_everything(0)
                net = timm.create_model(backbone, pretrained=False, num_classes=2, in_chans=int(channels)).to(dev)
                if cuda:
                    net = net.to(memory_format=torch.channels_last)
                opt = torch.optim.AdamW(net.parameters(), lr=1e-4)

                def train_step(idx):
                    x = images(src, idx)
                    with tu.autocast(dev, amp):
                        logits = net(x)
                    loss = torch.nn.functional.cross_entropy(logits.float(), yt[idx.to(dev)])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()

                def infer_step(idx):
                    with torch.inference_mode(), tu.autocast(dev, amp):
                        net(images(src, idx))

                net.train()
                t_train = _warm_then_time(train_step, batches, n_warm, dev)
                net.eval()
                t_infer = _warm_then_time(infer_step, batches, n_warm, dev)
                n_img = n_steps * bs
                rows.append({
                    "backbone": backbone, "size": int(size), "device": dev, "gpu": gpu,
                    "precision": tu.precision_name(dev, amp), "batch_size": bs, "steps": n_steps,
                    "encode_img_s": n_img / max(t_enc.seconds, 1e-9),
                    "train_img_s": n_img / max(t_train.seconds, 1e-9),
                    "infer_img_s": n_img / max(t_infer.seconds, 1e-9),
                })
                del net, opt
                if cuda:
                    torch.cuda.empty_cache()
    out(f"{'backbone':<16} {'size':>5} {'encode img/s':>13} {'train img/s':>12} {'infer img/s':>12}")
    for r in rows:
        out(f"{r['backbone']:<16} {r['size']:>5} {r['encode_img_s']:>13,.0f} {r['train_img_s']:>12,.1f} {r['infer_img_s']:>12,.1f}")
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict]:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbones", default="resnet18,resnet34")
    p.add_argument("--sizes", default="56,224")
    p.add_argument("--device", default="auto")
    p.add_argument("--encoder", default="text")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    return run(backbones=a.backbones.split(","), sizes=[int(s) for s in a.sizes.split(",")],
               device=a.device, encoder=a.encoder, batch_size=a.batch_size, steps=a.steps, quick=a.quick)


if __name__ == "__main__":
    main()
