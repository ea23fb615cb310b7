"""SuperTML: table rows drawn as images (text or pixels) and classified by a timm CNN.

Images are made on the fly per batch by an encoder fitted on the training split only; on
CUDA the float batch is encoded on the GPU (``transform_torch``), so no image is ever
stored. Any registered encoder and any timm backbone work by name:
``image-<encoder>-<backbone>`` (e.g. ``image-igtd-resnet18``), or the older spelling
``supertml-<encoder>-<backbone>``, which stays an alias of the same model.

torch and timm are imported inside functions only, so registering these models needs neither.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.core import network
from benchmarks.core.errors import ConfigError, MissingBackendError
from benchmarks.core.registry import Entry

from benchmarks.core.limits import MAX_IMAGE_SIZE

from .base import BOOL, MAPPING, MAX_BATCH, MAX_EPOCHS, MAX_MEMBERS, NAMES, NONE, TEXT, Param, integer, one_of, real
from .registry import MODELS, register_model
from .torch_estimator import TorchEstimator

TRAINING_MODES = ("single", "two-stage")
DEFAULT_ENCODERS = ("text", "pixels")


def _torch_timm():
    try:
        import timm
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingBackendError("SuperTML models need torch and timm; install them with: pip install '.[torch]'") from exc
    return torch, timm


# ----------------------------------------------------------------------------- pretrained weights

def hub_reachable(timeout: float = 1.5) -> bool:
    """Whether the Hugging Face hub (or the proxy to it) answers, unless HF_HUB_OFFLINE says
    not to try."""
    if os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() in ("1", "true", "yes", "on"):
        return False
    return network.reachable(os.environ.get("HF_ENDPOINT", "https://huggingface.co"), timeout)


def cached_hub_file(net) -> str | None:
    """Path of this backbone's default timm weights in the local Hugging Face cache, if any."""
    repo = (getattr(net, "pretrained_cfg", None) or {}).get("hf_hub_id")
    if not repo:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for fname in ("model.safetensors", "pytorch_model.bin"):
        try:
            hit = try_to_load_from_cache(repo, fname)
        except Exception:
            hit = None
        if isinstance(hit, str) and os.path.exists(hit):
            return hit
    return None


def _read_state_dict(path: Path) -> dict:
    torch, _ = _torch_timm()
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        sd = load_file(str(path))
    else:
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
    for key in ("state_dict", "model", "model_state_dict"):  # common training-checkpoint wrappers
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict):
        raise ConfigError(f"pretrained_path {path}: not a state_dict (got {type(sd).__name__})")
    return {k.removeprefix("module."): v for k, v in sd.items() if hasattr(v, "shape")}


def load_pretrained(net, path: str | os.PathLike) -> dict:
    """Load a state_dict into a timm backbone, non-strictly.

    The first conv is adapted when the channel count differs (timm's ``adapt_input_conv``),
    and tensors whose shape does not fit (the old classifier head) are dropped. Returns
    counts of what was loaded; a file that fits none of the backbone is an error.
    """
    from timm.models import adapt_input_conv

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pretrained_path {str(path)!r} does not exist")
    try:
        sd = _read_state_dict(path)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"pretrained_path {path}: cannot read it as a torch state_dict ({exc})") from exc
    own = net.state_dict()
    first_conv = (getattr(net, "pretrained_cfg", None) or {}).get("first_conv")
    if first_conv and f"{first_conv}.weight" in sd and f"{first_conv}.weight" in own:
        key = f"{first_conv}.weight"
        want = own[key].shape[1]
        if sd[key].ndim == 4 and sd[key].shape[1] != want:
            sd[key] = adapt_input_conv(want, sd[key])
    fits = {k: v for k, v in sd.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
    dropped = sorted(k for k in sd if k in own and k not in fits)
    if not fits:
        raise ConfigError(f"pretrained_path {path}: none of its tensors fit the backbone; is it the right architecture?")
    missing, _ = net.load_state_dict(fits, strict=False)
    return {"loaded": len(fits), "dropped_shape_mismatch": dropped, "missing": len(missing),
            "unused": len(sd) - len(fits) - len(dropped)}


def build_backbone(backbone: str, n_classes: int, in_chans: int, pretrained: Any = "auto",
                   pretrained_path: str | None = None):
    """A timm model with a fresh ``n_classes`` head, and where its weights came from:
    ``file:PATH``, ``timm-hub`` or ``random-init`` (with a warning when weights were asked
    for and could not be had)."""
    _, timm = _torch_timm()
    if not timm.is_model(backbone):
        raise ConfigError(f"unknown timm backbone {backbone!r}; see timm.list_models()")
    net = timm.create_model(backbone, pretrained=False, num_classes=n_classes, in_chans=in_chans)
    if pretrained_path:
        detail = load_pretrained(net, pretrained_path)
        return net, f"file:{pretrained_path}", detail
    if pretrained is False:
        return net, "random-init", {}
    cached = cached_hub_file(net)
    if cached:
        try:
            return net, "timm-hub", {"cache": cached, **load_pretrained(net, cached)}
        except Exception as exc:
            warnings.warn(f"could not load cached timm weights {cached}: {exc}; trying the hub", RuntimeWarning)
    if pretrained is True or hub_reachable():
        try:
            hub_net = timm.create_model(backbone, pretrained=True, num_classes=n_classes, in_chans=in_chans)
            return hub_net, "timm-hub", {}
        except Exception as exc:
            reason = f"download failed ({type(exc).__name__}: {exc})"
    else:
        reason = "the hub is unreachable (offline)"
    warnings.warn(
        f"SuperTML: no pretrained weights for {backbone!r}: {reason} and no pretrained_path; "
        "training from random initialisation", RuntimeWarning, stacklevel=3)
    return net, "random-init", {"reason": reason}


# ----------------------------------------------------------------------------- parameter groups

def layer_groups(net) -> list[list]:
    """Backbone parameters in input-to-output order (stem, stages, ...), head excluded.

    Uses timm's ``group_matcher`` where the model has one, else its top-level children.
    """
    from timm.models import group_parameters

    head_ids = {id(p) for p in net.get_classifier().parameters()}
    named = dict(net.named_parameters())
    groups: list[list] = []
    try:
        for names in group_parameters(net, net.group_matcher(coarse=True)).values():
            ps = [named[n] for n in names if id(named[n]) not in head_ids]
            if ps:
                groups.append(ps)
    except Exception:
        groups = []
        for _, child in net.named_children():
            ps = [p for p in child.parameters() if id(p) not in head_ids]
            if ps:
                groups.append(ps)
    return groups


# ----------------------------------------------------------------------------- image batches

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageBatches:
    """Turns index batches of a table into normalised float image tensors on the device.

    On CUDA the table lives on the GPU (HiggsML: 60 MB, kept in float64 so GPU and CPU
    encoders see the same numbers) and each batch is encoded there (``transform_torch``);
    on CPU each batch is encoded in numpy. Pixels in [0, 1] are normalised with the
    ImageNet mean/std for 3 channels, 0.5/0.5 otherwise.
    """

    def __init__(self, encoder, device: str, channels: int, channels_last: bool = True):
        torch, _ = _torch_timm()
        from .torch_utils import is_cuda

        self.encoder = encoder
        self.device = device
        self.cuda = is_cuda(device)
        self.channels_last = bool(channels_last and self.cuda)
        mean, std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 else ((0.5,) * channels, (0.5,) * channels)
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)

    def source(self, X: np.ndarray):
        from .torch_utils import to_device

        X = np.ascontiguousarray(X, dtype=np.float64)
        return to_device(X, self.device) if self.cuda else X

    def rows(self, X: np.ndarray) -> "ImageRows":
        return ImageRows(self, X)

    def raw(self, src, idx):
        """Encoder output for one batch (uint8 or float32 images), on the device."""
        torch, _ = _torch_timm()
        if self.cuda:
            return self.encoder.transform_torch(src[idx.to(self.device, non_blocking=True)])
        return torch.from_numpy(np.ascontiguousarray(self.encoder.transform(src[idx.numpy()])))

    def __call__(self, src, idx, augment: Any = False):
        """``augment``: False, True (random ``jitter``) or a fixed transform of [0, 1] pixels."""
        torch, _ = _torch_timm()
        img = self.raw(src, idx)
        x = img.to(self.device, non_blocking=True).float()
        if img.dtype == torch.uint8:  # encoders may also give float32 in 0..1 (dtype option)
            x = x.div_(255.0)
        if callable(augment):
            x = augment(x)
        elif augment:
            x = jitter(x)
        x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


class ImageRows:
    """One table's rows as images for the training engine (``engine.Rows``): each batch is
    encoded on the fly, so no image is ever stored."""

    def __init__(self, images: ImageBatches, X: np.ndarray):
        self.images = images
        self.src = images.source(X)
        self.n = len(X)

    def __len__(self) -> int:
        return self.n

    def batch(self, idx, augment: Any = False):
        return self.images(self.src, idx, augment)


def jitter(x):
    """Random brightness (+-0.1) and contrast (x0.8-1.2) per image, on [0, 1] pixels."""
    torch, _ = _torch_timm()
    shape = (x.shape[0], 1, 1, 1)
    contrast = torch.empty(shape, device=x.device).uniform_(0.8, 1.2)
    brightness = torch.empty(shape, device=x.device).uniform_(-0.1, 0.1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + brightness).clamp_(0.0, 1.0)


# ----------------------------------------------------------------------------- the model

class SuperTML(TorchEstimator):
    """SuperTML classifier: encoder (text or pixels) + timm CNN.

    ``training="single"`` trains the whole network with one AdamW + one-cycle schedule for
    ``epochs``. ``"two-stage"`` (fastai-style fine-tuning) first trains only the new head for
    ``head_epochs`` at ``head_lr`` (batch-norm statistics still adapt to the new images),
    then unfreezes everything for ``epochs`` with discriminative learning rates spread
    geometrically from ``lr / lr_mult`` (stem) to ``lr`` (last stage and head).
    Both stages stop early on the validation loss, and the best weights are restored.
    ``encoder_options`` go to the encoder and override ``image_size``/``channels``/
    ``missing_value``; the backbone's input channels follow what the encoder actually
    produces. ``missing_value`` is the dataset's missing-value marker (HiggsML: -999.0), drawn
    as missing by the encoder; None: only NaN is missing.
    """

    model_name = "supertml"
    PARAMS = {
        "encoder": Param("text", TEXT, "image encoder (a registered encoder's name)"),
        "encoder_options": Param(None, MAPPING | NONE, "the encoder's options (override image_size, channels, missing_value)"),
        "backbone": Param("resnet34", TEXT, "timm model name"),
        "image_size": Param(224, integer(8, MAX_IMAGE_SIZE), "image side in pixels"),
        "channels": Param(3, one_of(1, 3), "image channels asked of the encoder"),
        "pretrained": Param("auto", one_of("auto", True, False), "timm hub weights: 'auto' (if reachable), True, False"),
        "pretrained_path": Param(None, TEXT | NONE, "a state_dict file to start from"),
        "training": Param("single", one_of(*TRAINING_MODES), "single, or two-stage (head first, then everything)"),
        "lr": Param(1e-3, real(0.0, low_open=True), "peak learning rate (last stage and head)"),
        "head_lr": Param(None, real(0.0, low_open=True) | NONE, "the head stage's learning rate (None: lr)"),
        "lr_mult": Param(100.0, real(0.0, low_open=True), "two-stage: lr over the stem's learning rate"),
        "epochs": Param(10, integer(0, MAX_EPOCHS), "epochs of the (full) training"),
        "head_epochs": Param(2, integer(0, MAX_EPOCHS), "two-stage: epochs of the head stage"),
        "batch_size": Param(64, integer(2, MAX_BATCH, note=" (batch norm)"), "training batch size"),
        "eval_batch_size": Param(None, integer(1, MAX_BATCH) | NONE, "evaluation batch size (None: 2 x batch_size)"),
        "weight_decay": Param(1e-2, real(0.0), "AdamW weight decay"),
        "patience": Param(3, integer(0, MAX_EPOCHS) | NONE, "epochs without a better validation loss before stopping (None: never)"),
        "augment": Param(False, BOOL, "random brightness and contrast in training"),
        "tta": Param(0, integer(0, MAX_MEMBERS), "jittered copies averaged at prediction"),
        "class_balance": Param(True, BOOL, "weight each class to the same total in the loss"),
        "feature_names": Param(None, NAMES | NONE, "the columns' names (the harness passes them)"),
        "missing_value": Param(None, real() | NONE, "the data's missing-value marker (None: only NaN)"),
        "amp": Param(True, BOOL, "bf16 autocast on CUDA"),
        "channels_last": Param(True, BOOL, "channels-last memory format on CUDA"),
        "cudnn_benchmark": Param("auto", BOOL | one_of("auto"), "cuDNN autotuning ('auto': for long trainings)"),
    }

    def check_params(self) -> None:
        """The rules, then what only the encoder, timm and the file system can tell; trains nothing."""
        super().check_params()
        if (self.training == "single" and self.epochs < 1) or self.head_epochs + self.epochs < 1:
            raise ConfigError(f"supertml: epochs={self.epochs}, head_epochs={self.head_epochs} trains nothing")
        _, timm = self._torch()
        if not timm.is_model(self.backbone):
            raise ConfigError(f"supertml: unknown timm backbone {self.backbone!r}; see timm.list_models()")
        if self.pretrained_path and not Path(self.pretrained_path).is_file():
            raise ConfigError(f"supertml: pretrained_path {self.pretrained_path!r} does not exist")
        import encoders

        try:  # the encoder checks its options when made (a font, nothing fitted)
            encoders.create_encoder(self.encoder, **self._encoder_settings())
        except ConfigError as exc:
            raise ConfigError(f"supertml: {exc}") from None

    def _encoder_settings(self) -> dict:
        return {"size": int(self.image_size), "channels": int(self.channels),
                "random_state": int(self.random_state or 0), "missing_value": self.missing_value,
                **(self.encoder_options or {})}

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        w_val: np.ndarray | None = None,
        epoch_callback: Callable[[int, np.ndarray], Any] | None = None,
    ) -> "SuperTML":
        from .engine import Split, loss_weights

        X, y, X_val, y_val = self._fit_inputs(X, y, X_val, y_val)
        if X.ndim != 2 or len(X) != len(y):
            raise ConfigError(f"supertml: X must be 2-D with one row per label, got {X.shape} and {y.shape}")
        has_val = X_val is not None
        self._fit_setup(X, y, y_val)
        self.trainer_ = trainer = self._trainer()
        with trainer.session(self.random_state) as gen:
            self._set_cudnn(len(X))
            w_train = loss_weights(y, sample_weight, self.n_classes_, self.class_balance)
            # The encoder sees the weights the network trains on: with raw HiggsML weights an
            # importance-ordered layout would rank features by how well they describe background.
            options = self._fit_encoder(X, y, w_train if sample_weight is not None else None)
            net, source, detail = self._build_net()
            self.images_ = ImageBatches(self.encoder_, self.device_, self.image_shape_[0], self.channels_last)
            train = Split.of(self.images_.rows(X), y, w_train, self.device_, self.augment)
            val = None
            if has_val:
                w = loss_weights(y_val, w_val, self.n_classes_, self.class_balance)
                val = Split.of(self.images_.rows(X_val), y_val, w, self.device_)
            stages = self._stages(net)
            self.history_: list[dict] = []
            result = trainer.fit(net, stages, train, val, generator=gen,
                                 epoch_callback=epoch_callback if has_val else None, history=self.history_)
        net.eval()
        self.best_epoch_ = result.best_epoch
        self.info_ = self._describe(net, stages, options, source, detail)
        return self

    @classmethod
    def _torch(cls):
        """torch and timm, or a one-line MissingBackendError."""
        return _torch_timm()

    def _check_X(self, X, what: str) -> np.ndarray:
        """Any float64 table: the encoder draws NaN and the missing-value marker as missing."""
        return np.asarray(X, dtype=np.float64)

    def _trainer(self):
        from .engine import OneCycle, Trainer

        bs = int(self.batch_size)
        return Trainer(schedule=OneCycle(weight_decay=float(self.weight_decay)), batch_size=bs,
                       eval_batch_size=int(self.eval_batch_size or 2 * bs),
                       patience=None if self.patience is None else int(self.patience),
                       device=self.device_, amp=self.amp, threads=self.threads_, progress=self.progress)

    def _set_cudnn(self, n_train: int) -> None:
        from .torch_utils import is_cuda

        if not is_cuda(self.device_):
            return
        torch, _ = _torch_timm()
        # cuDNN's autotuning costs seconds for every new input shape; it pays off only
        # when training is long ("auto": from 200k training images on).
        bench = self.cudnn_benchmark
        if bench == "auto":
            bench = n_train * int(self.epochs) >= 200_000
        torch.backends.cudnn.benchmark = bool(bench)

    def _fit_encoder(self, X: np.ndarray, y: np.ndarray, weights: np.ndarray | None) -> dict:
        """Fit ``encoder_`` on the training split; returns the options it was made with."""
        import encoders

        options = self._encoder_settings()
        self.encoder_ = encoders.create_encoder(self.encoder, **options)
        self.encoder_.fit(X, y, sample_weight=weights,
                          feature_names=list(self.feature_names) if self.feature_names is not None else None)
        probe = np.asarray(self.encoder_.transform(X[:2]))
        if probe.ndim != 4 or probe.dtype not in (np.uint8, np.float32):
            raise ConfigError(f"encoder {self.encoder!r} gave {probe.dtype} images of shape {probe.shape}; "
                              "expected uint8 or float32 (n, C, H, W)")
        self.image_shape_ = tuple(int(s) for s in probe.shape[1:])
        return options

    def _build_net(self):
        torch, _ = _torch_timm()
        from .torch_utils import is_cuda

        net, source, detail = build_backbone(self.backbone, self.n_classes_, self.image_shape_[0],
                                             self.pretrained, self.pretrained_path)
        net = net.to(self.device_)
        if is_cuda(self.device_) and self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.net_ = net
        return net, source, detail

    def _stages(self, net) -> list:
        """The fit as data: "single" trains everything for ``epochs``; "two-stage" the head alone for
        ``head_epochs``, then everything for ``epochs`` with discriminative learning rates."""
        from .engine import Stage

        head = list(net.get_classifier().parameters())
        lr = float(self.lr)
        stages = []
        if self.training == "two-stage" and int(self.head_epochs) > 0:
            stages.append(Stage([{"params": head, "lr": float(self.head_lr or lr)}], int(self.head_epochs),
                                name="head", trainable=head, desc=f"{self.backbone} head"))
        if self.training == "two-stage":
            body = layer_groups(net)
            k = len(body)
            # Geometric spread: the stem gets lr / lr_mult, the last stage lr.
            lrs = [lr / float(self.lr_mult) ** ((k - 1 - i) / max(k - 1, 1)) for i in range(k)]
            groups = [{"params": ps, "lr": g_lr} for ps, g_lr in zip(body, lrs)] + [{"params": head, "lr": lr}]
            stages.append(Stage(groups, int(self.epochs), name="full", desc=self.backbone))
        else:
            stages.append(Stage([{"params": list(net.parameters()), "lr": lr}], int(self.epochs),
                                name="single", desc=self.backbone))
        return stages

    def _describe(self, net, stages, options: dict, source: str, detail: dict) -> dict:
        from .torch_utils import is_cuda

        cuda = is_cuda(self.device_)
        lr_info: dict[str, Any] = {}
        for stage in stages:
            if stage.name == "head":
                lr_info["head_stage_lr"] = stage.param_groups[0]["lr"]
            elif stage.epochs > 0:
                lr_info["peak_lr_per_group"] = [float(f"{g['lr']:.3g}") for g in stage.param_groups]
        return {
            "encoder": self.encoder,
            "encoder_options": dict(options),
            "image_size": f"{self.image_shape_[1]}x{self.image_shape_[2]}",
            "image_channels": self.image_shape_[0],
            "backbone": self.backbone,
            "parameters": int(sum(p.numel() for p in net.parameters())),
            "pretrained": source,
            "pretrained_detail": detail,
            "training": self.training,
            **lr_info,
            "device": self.device_,
            "precision": self.trainer_.precision,
            "channels_last": bool(cuda and self.channels_last),
            "image_pipeline": "GPU encoding per batch" if cuda else "CPU encoding per batch",
            "batch_size": int(self.batch_size),
            "threads": self.threads_,
            "augment": bool(self.augment),
            "tta": int(self.tta),
            "epochs_run": len(self.history_),
            "best_epoch": self.best_epoch_,
            "class_balance": bool(self.class_balance),
        }

    # ------------------------------------------------------------------ predict

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Softmax probabilities; with ``tta=k`` averaged over the clean images and k jittered copies."""
        if not hasattr(self, "trainer_") or not hasattr(self, "images_"):
            raise ConfigError("supertml: call fit before predict_proba")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_:
            raise ConfigError(f"supertml: fitted on {self.n_features_} features, got shape {X.shape}")
        if len(X) == 0:
            return np.zeros((0, self.n_classes_))
        views = [False] + [True] * int(self.tta)
        return self.trainer_.predict_proba(self.net_, self.images_.rows(X), views)


# ----------------------------------------------------------------------------- registration

def search_space(trial) -> dict:
    """Optuna space: optimiser settings and augmentation (architecture fixed by the name)."""
    return {
        "lr": trial.suggest_float("lr", 1e-4, 3e-3, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-1, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
        "augment": trial.suggest_categorical("augment", [False, True]),
    }


PREFIXES = ("image-", "supertml-")  # the family name, and SuperTML's, kept as an alias


def _factory(encoder: str, backbone: str, prefix: str = "supertml-") -> Callable[..., SuperTML]:
    def factory(**kw: Any) -> SuperTML:
        for key, fixed in (("encoder", encoder), ("backbone", backbone)):
            if key in kw and kw.pop(key) != fixed:
                raise ConfigError(f"model {prefix}{encoder}-{backbone} fixes {key}={fixed!r}; "
                                  f"use the model name {prefix}<encoder>-<backbone> to change it")
        return SuperTML(encoder=encoder, backbone=backbone, **kw)

    factory.__doc__ = f"SuperTML, {encoder} images, timm {backbone}."
    return factory


_TAGS = dict(backend="torch", family="supertml", accepts_device=True, threads_param="num_threads",
             search_space=search_space, data_facts=("feature_names", "missing_value"))

for _enc, _bb in (("text", "resnet18"), ("text", "resnet34"), ("pixels", "resnet18"), ("pixels", "resnet34"),
                  ("text", "seresnet50"), ("text", "legacy_senet154")):
    register_model(f"supertml-{_enc}-{_bb}", **_TAGS,
                   description=f"SuperTML, {_enc} images, timm {_bb}")(_factory(_enc, _bb))


def _known_encoder(name: str) -> bool:
    if name in DEFAULT_ENCODERS:
        return True
    try:
        import encoders

        return name in encoders.ENCODERS
    except Exception:
        return False


def resolve(name: str) -> Entry | None:
    """``image-<encoder>-<timm backbone>`` (or ``supertml-...``) for any encoder and timm model
    name; None otherwise.

    Without timm installed the name is accepted as-is, so ``create_model`` reports the
    missing backend rather than an unknown name.
    """
    prefix = next((p for p in PREFIXES if name.startswith(p)), None)
    if prefix is None:
        return None
    encoder, sep, backbone = name[len(prefix):].partition("-")
    if not sep or not backbone or not _known_encoder(encoder):
        return None
    try:
        import timm
    except ImportError:
        timm = None
    if timm is not None and backbone not in timm.list_models(backbone) and not timm.is_model(backbone):
        return None
    return MODELS.make_entry(name, _factory(encoder, backbone, prefix), f"CNN on {encoder} images, timm {backbone}", **_TAGS)


MODELS.add_resolver(resolve)
