"""SuperTML on tiny images (CPU, one thread, timm's test_resnet): training, two-stage,
pretrained weights from a file, offline fallback, registry names. Nothing downloads."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from benchmarks.core.errors import ConfigError  # noqa: E402
from models import create_model, model_entry, model_info, validate_model  # noqa: E402
from models import supertml  # noqa: E402
from models.supertml import SuperTML, build_backbone  # noqa: E402

pytestmark = pytest.mark.torch

BACKBONE = "test_resnet"  # 0.4M parameters: a real ResNet, small enough for CPU tests
FAST = dict(backbone=BACKBONE, image_size=32, batch_size=16, lr=3e-3, num_threads=1, progress=False, device="cpu")


@pytest.fixture(scope="module")
def easy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(384, 4)) * [1.0, 5.0, 0.5, 2.0]
    y = (X[:, 0] > 0).astype(np.int64)
    return X[:256], y[:256], X[256:], y[256:]


@pytest.fixture
def offline(monkeypatch):
    """No hub and no cached weights, whatever the machine has."""
    monkeypatch.setattr(supertml, "hub_reachable", lambda timeout=1.5: False)
    monkeypatch.setattr(supertml, "cached_hub_file", lambda net: None)


def _accuracy(m, X, y):
    proba = m.predict_proba(X)
    assert proba.shape == (len(X), 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    return (proba.argmax(1) == y).mean()


def _backbone_params(net):
    head = {id(p) for p in net.get_classifier().parameters()}
    return {n: p.detach().clone() for n, p in net.named_parameters() if id(p) not in head}


def test_text_encoder_trains_and_beats_chance(easy):
    X, y, Xv, yv = easy
    calls = []
    m = SuperTML(encoder="text", pretrained=False, epochs=3, **FAST)
    m.fit(X, y, None, Xv, yv, epoch_callback=lambda e, p: calls.append((e, p.shape)))
    assert _accuracy(m, Xv, yv) > 0.75
    assert calls == [(0, (128, 2)), (1, (128, 2)), (2, (128, 2))]
    info = m.info_
    assert info["encoder"] == "text" and info["image_size"] == "32x32" and info["backbone"] == BACKBONE
    assert info["pretrained"] == "random-init" and info["training"] == "single"
    assert info["precision"] == "fp32" and info["batch_size"] == 16 and m.device_ == "cpu"
    assert [h["stage"] for h in m.history_] == ["single"] * 3


def test_pixels_encoder_with_augmentation_tta_and_offline_fallback(easy, offline):
    X, y, Xv, yv = easy
    m = SuperTML(encoder="pixels", pretrained="auto", epochs=3, augment=True, tta=1, **FAST)
    with pytest.warns(RuntimeWarning, match="random initialisation"):
        m.fit(X, y, None, Xv, yv)
    assert m.info_["pretrained"] == "random-init"
    assert m.info_["encoder"] == "pixels" and m.info_["tta"] == 1
    assert _accuracy(m, Xv, yv) > 0.75


def test_download_failure_falls_back(monkeypatch):
    monkeypatch.setattr(supertml, "cached_hub_file", lambda net: None)
    real = timm.create_model

    def no_network(name, pretrained=False, **kw):
        if pretrained:
            raise OSError("simulated: no network")
        return real(name, pretrained=False, **kw)

    monkeypatch.setattr(timm, "create_model", no_network)
    with pytest.warns(RuntimeWarning, match="simulated: no network"):
        net, source, _ = build_backbone(BACKBONE, 2, 3, pretrained=True)
    assert source == "random-init" and net.get_classifier().out_features == 2


def test_pretrained_file_loads_and_drops_the_old_head(tmp_path):
    src = timm.create_model(BACKBONE, pretrained=False, num_classes=7)
    path = tmp_path / "backbone.pth"
    torch.save(src.state_dict(), path)
    net, source, detail = build_backbone(BACKBONE, 2, 3, pretrained=False, pretrained_path=str(path))
    assert source == f"file:{path}"
    assert detail["dropped_shape_mismatch"] == ["fc.bias", "fc.weight"]
    want, got = _backbone_params(src), _backbone_params(net)
    assert want.keys() == got.keys()
    assert all(torch.equal(want[k], got[k]) for k in want)
    # One-channel images: the first conv is adapted (summed over RGB), not dropped.
    net1, _, detail1 = build_backbone(BACKBONE, 2, 1, pretrained_path=str(path))
    assert "conv1.0.weight" not in detail1["dropped_shape_mismatch"]
    torch.testing.assert_close(net1.conv1[0].weight, src.conv1[0].weight.sum(1, keepdim=True))
    with pytest.raises(ConfigError, match="does not exist"):
        build_backbone(BACKBONE, 2, 3, pretrained_path=str(tmp_path / "missing.pth"))
    torch.save({"unrelated.weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(ConfigError, match="none of its tensors fit"):
        build_backbone(BACKBONE, 2, 3, pretrained_path=str(tmp_path / "other.pth"))


def test_two_stage_freezes_backbone_in_stage_one(easy, tmp_path):
    X, y, Xv, yv = easy
    torch.manual_seed(0)
    src = timm.create_model(BACKBONE, pretrained=False, num_classes=1000)
    path = tmp_path / "imagenet-like.pth"
    torch.save(src.state_dict(), path)
    start = _backbone_params(src)
    seen = {}

    def check(epoch, proba):
        now = _backbone_params(m.net_)
        seen[epoch] = all(torch.equal(now[k], start[k]) for k in start)

    m = SuperTML(encoder="text", pretrained_path=str(path), training="two-stage", head_epochs=1, epochs=3, **FAST)
    m.fit(X, y, None, Xv, yv, epoch_callback=check)
    assert [h["stage"] for h in m.history_] == ["head", "full", "full", "full"]
    assert seen[0], "stage 1 changed backbone weights"
    assert not seen[3], "stage 2 did not train the backbone"
    assert m.info_["pretrained"] == f"file:{path}" and m.info_["training"] == "two-stage"
    lrs = m.info_["peak_lr_per_group"]  # stem lr / lr_mult ... last stage and head lr
    assert lrs[0] == pytest.approx(3e-5) and lrs[-1] == lrs[-2] == pytest.approx(3e-3) and lrs == sorted(lrs)
    assert _accuracy(m, Xv, yv) > 0.75


def test_resolver_and_registered_names():
    entry = model_entry("supertml-pixels-resnet10t")
    assert entry.meta.family == "supertml" and entry.meta.accepts_device
    m = create_model("supertml-pixels-resnet10t", image_size=32, device="cpu")
    assert isinstance(m, SuperTML) and m.encoder == "pixels" and m.backbone == "resnet10t"
    with pytest.raises(ConfigError, match="unknown model"):
        model_entry("supertml-text-nonexistentnet")
    for name in ("supertml-text-resnet18", "supertml-text-resnet34", "supertml-pixels-resnet18",
                 "supertml-pixels-resnet34", "supertml-text-seresnet50", "supertml-text-legacy_senet154"):
        assert model_info(name).search_space is supertml.search_space
    with pytest.raises(ConfigError, match="fixes backbone"):
        create_model("supertml-text-resnet18", backbone="resnet34")
    model = SuperTML(training="three-stage")  # stored as given, checked before training
    assert model.training == "three-stage"
    with pytest.raises(ConfigError, match="^supertml: training must be one of 'single', 'two-stage', got 'three-stage'$"):
        validate_model("supertml-text-resnet10t", training="three-stage")
    with pytest.raises(ConfigError, match="training must be"):
        model.fit(np.zeros((4, 2)), np.array([0, 1, 0, 1]))


def test_missing_value_reaches_the_encoder(easy):
    X, y = easy[0][:64].copy(), easy[1][:64]
    X[::4, 1] = -999.0  # the HiggsML marker, row 0 included
    kw = dict(FAST, encoder="text", pretrained=False, epochs=1)
    marked = SuperTML(missing_value=-999.0, **kw).fit(X, y)
    plain = SuperTML(**kw).fit(X, y)
    explicit = SuperTML(missing_value=-999.0, encoder_options={"missing_value": None}, **kw).fit(X, y)
    assert marked.encoder_.missing_value == -999.0 and marked.info_["encoder_options"]["missing_value"] == -999.0
    assert plain.encoder_.missing_value is None  # only NaN is missing unless the dataset says otherwise
    assert explicit.encoder_.missing_value is None  # encoder_options win
    # Drawn as missing ("NA") with the marker, printed as the number -999 without it.
    assert not np.array_equal(marked.encoder_.transform(X[:1]), plain.encoder_.transform(X[:1]))
    np.testing.assert_array_equal(explicit.encoder_.transform(X[:8]), plain.encoder_.transform(X[:8]))
    with pytest.raises(ConfigError, match="supertml: missing_value must be a number or None, got 'NA'"):
        validate_model("supertml-text-resnet10t", missing_value="NA")
