"""The dnn estimator on tiny data (CPU, one thread): dense connections, split / bottleneck /
wide-and-deep routing, categorical embeddings, test-time augmentation, determinism, clone
and pickling, one-line configuration errors, the search space, and every rung of the ladder."""
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402

from benchmarks.core.errors import ConfigError  # noqa: E402
from datasets.higgsml import FEATURES  # noqa: E402
from models import validate_model  # noqa: E402
from models.dnn import DNN, LADDER, LADDER_SMALL, embedding_size, ladder_params, search_space  # noqa: E402
from models.dnn_net import build_net, count_parameters  # noqa: E402

pytestmark = pytest.mark.torch

FAST = dict(device="cpu", num_threads=1, progress=False)
NAMES = ["DER_a", "DER_b", "PRI_c", "PRI_d", "PRI_jet_num", "PRI_e"]
JET = NAMES.index("PRI_jet_num")


def _table(n, seed=0):
    """Six features, PRI_jet_num standardised (four non-integer values), label from DER_a,
    PRI_c and the jet count; PRI_e is noise the label is symmetric in."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    jets = rng.integers(0, 4, n)
    X[:, JET] = (jets - 1.2) / 0.97
    y = (X[:, 0] + X[:, 2] + 0.8 * (jets >= 2) + 0.3 * rng.normal(size=n) > 0.5).astype(np.int64)
    return X, y


class FlipE:
    """Sign flip of PRI_e, the feature the label does not depend on."""

    def random(self, X, generator):
        sign = torch.where(torch.rand(X.shape[0], 1, generator=generator, device=X.device) < 0.5, -1.0, 1.0)
        out = X.clone()
        out[:, 5:6] = out[:, 5:6] * sign
        return out

    def views(self):
        return [_identity, _flip_e]


def _identity(x):
    return x


def _flip_e(x):
    out = x.clone()
    out[:, 5] = -out[:, 5]
    return out


def _fit(n=400, **params):
    X, y = _table(n)
    cut = int(0.75 * n)
    kw = dict(n_members=2, max_epochs=2, width=16, depth=2, batch_size=32, feature_names=NAMES, **FAST)
    return DNN(**{**kw, **params}).fit(X[:cut], y[:cut], None, X[cut:], y[cut:]), X, y


# ----------------------------------------------------------------------------- architecture

def test_dense_layers_see_every_earlier_output_and_grow_by_the_rule():
    X, y = _table(64)
    model = DNN(n_members=3, width=4, depth=3, dense=True, growth_rate=0.5, **FAST)
    model._setup(X, y, None)
    net = build_net(model.spec_, [1, 2, 3])
    layers = [seq[0] for seq in net.body.blocks[0].layers]
    # widths 4, 4 + int(4 * 1 * 0.5) = 6, 4 + int(4 * 2 * 0.5) = 8; fan-ins 6, 6 + 4, 6 + 4 + 6
    assert [(l.fan_in, l.fan_out) for l in layers] == [(6, 4), (10, 6), (16, 8)]
    per_member = (6 * 4 + 4) + (10 * 6 + 6) + (16 * 8 + 8) + (8 * 2 + 2)
    assert count_parameters(net) == 3 * per_member
    assert net(torch.zeros(5, 6)).shape == (5, 3, 2) and net(torch.zeros(3, 5, 6)).shape == (3, 5, 2)
    plain = DNN(n_members=1, width=4, depth=3, growth_rate=0.5, **FAST)
    plain._setup(X, y, None)
    assert count_parameters(build_net(plain.spec_, [1])) == (6 * 4 + 4) + (4 * 6 + 6) + (6 * 8 + 8) + (8 * 2 + 2)


def test_fitted_model_reports_its_parameters_and_architecture():
    m, _, _ = _fit(n_members=3, width=33, depth=3, dense=True, activation="swish",
                   categorical_features=["PRI_jet_num"], embedding_sizes=[3])
    assert m.info_["parameters"] == count_parameters(m.net_) == 3 * m.info_["parameters_per_member"]
    assert m.info_["architecture"] == "3 x [dense 3x33] swish +emb PRI_jet_num:4->3"


def _block_grads(net, X, block):
    """Summed |d(block ``block``'s output)/d(input)| per input feature."""
    x = torch.as_tensor(X[:16], dtype=torch.float32).requires_grad_(True)
    seen = {}
    handle = net.body.blocks[block].register_forward_hook(lambda mod, inp, out: seen.setdefault("out", out))
    net(x)
    handle.remove()
    seen["out"].sum().backward()
    return x.grad.abs().sum(0).numpy()


@pytest.mark.parametrize("body", ["split", "bottleneck", "wide-deep"])
def test_feature_groups_only_reach_their_blocks(body):
    X, y = _table(64)
    model = DNN(body=body, feature_names=NAMES, width=8, depth=2, dense=True, high_width=5, n_members=2, **FAST)
    model._setup(X, y, None)
    net = build_net(model.spec_, [5, 6])
    high, low = [0, 1], [2, 3, 4, 5]
    g_wide, g_main = _block_grads(net, X, 0), _block_grads(net, X, 1)
    assert (g_wide[high] > 0).all() and (g_main[low] > 0).all()
    if body == "split":
        assert (g_wide[low] == 0).all() and (g_main[high] == 0).all()
    elif body == "bottleneck":  # the other group arrives, but only through the bottleneck neuron
        assert (g_wide[low] > 0).all() and (g_main[high] > 0).all()
        with torch.no_grad():
            for neck in net.body.necks:
                neck[0].weight.zero_()
        assert (_block_grads(net, X, 0)[low] == 0).all() and (_block_grads(net, X, 1)[high] == 0).all()
    else:  # wide-deep: the deep block sees everything, the wide one only the high-level features
        assert (g_wide[low] == 0).all() and (g_main[high] > 0).all()


def test_split_widths_follow_the_block_inputs():
    X, y = _table(64)
    model = DNN(body="bottleneck", feature_names=NAMES, width="inputs+3", depth=2, high_width=51, **FAST)
    model._setup(X, y, None)
    wide, main = model.spec_.blocks
    assert (wide.width, main.width) == (51, 4 + 3) and wide.others == [2, 3, 4, 5] and main.others == [0, 1]


# ----------------------------------------------------------------------------- embeddings

def test_categorical_feature_is_embedded_by_its_training_values():
    m, X, y = _fit(categorical_features=["PRI_jet_num"])
    values = np.unique(X[:300, JET].astype(np.float32))
    assert len(values) == 4 and not np.allclose(values, np.round(values))  # not integers
    head = m.net_.head
    emb = head.embeddings[0]
    assert emb.weight.shape == (2, 4 + 1, embedding_size(4)) == (2, 5, 2)  # row 0: unseen values
    idx = head.index(0, torch.as_tensor(np.r_[values, 0.123, 99.0], dtype=torch.float32))
    assert idx.tolist() == [1, 2, 3, 4, 0, 0]
    assert JET not in head.cont.tolist()
    unseen = X[300:310].copy()
    unseen[:, JET] = 7.5
    proba = m.predict_proba(unseen)
    assert np.isfinite(proba).all() and not np.allclose(proba, m.predict_proba(X[300:310]))


def test_embedding_sizes_rule_and_override():
    assert [embedding_size(k) for k in (1, 4, 5, 200)] == [1, 2, 3, 50]
    m, _, _ = _fit(categorical_features=["PRI_jet_num"], embedding_sizes=[3])
    assert m.net_.head.embeddings[0].weight.shape[-1] == 3


# ----------------------------------------------------------------------------- augmentation

def test_tta_of_an_invariant_model_equals_its_plain_prediction():
    m, X, _ = _fit(augmentation=FlipE(), augment=True, tta=True)

    def plain_and_tta():
        tta = m.predict_proba(X[:50])
        plain = m.set_params(tta=False).predict_proba(X[:50])
        m.set_params(tta=True)
        return plain, tta

    plain, tta = plain_and_tta()
    assert not np.allclose(plain, tta), "PRI_e mattered not at all"
    flipped = m.set_params(tta=False).predict_proba(_flip_e(torch.as_tensor(X[:50])).numpy())
    m.set_params(tta=True)
    np.testing.assert_allclose(tta, (plain + flipped) / 2, atol=1e-6)  # the mean over the two views
    with torch.no_grad():  # make every member blind to PRI_e: flipping it changes nothing
        m.net_.body.blocks[0].layers[0][0].weight[:, 5, :] = 0.0
    plain, tta = plain_and_tta()
    np.testing.assert_allclose(tta, plain, atol=1e-6)
    assert m.info_["tta_views"] == 2


def test_train_time_augmentation_reaches_every_training_batch():
    calls = []

    class Counting(FlipE):
        def random(self, X, generator):
            calls.append((tuple(X.shape), generator.device.type))
            return super().random(X, generator)

    m, _, _ = _fit(augmentation=Counting(), augment=True, max_epochs=1, batch_size=50)
    assert calls == [((2 * 50, 6), "cpu")] * 6  # 300 rows / 50, both members' rows at once


def test_the_augmentation_survives_clone_and_pickle():
    m, X, _ = _fit(augmentation=FlipE(), augment=True, tta=True)
    twin = clone(m)
    assert isinstance(twin.augmentation, FlipE) and twin.augmentation is not m.augmentation
    again = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(again.predict_proba(X[:40]), m.predict_proba(X[:40]))


# ----------------------------------------------------------------------------- contract

@pytest.mark.parametrize("extra", [{}, dict(schedule="cosine", snapshots=1, cycle_length=1),
                                   dict(swa=True, swa_start=0, swa_renewal=1, batchnorm=True),
                                   dict(schedule="onecycle", onecycle_lengths=(1, 1), activation="selu", dropout=0.1)])
def test_same_seed_same_bits_other_seed_other_model(extra):
    a, X, _ = _fit(random_state=3, **extra)
    b, _, _ = _fit(random_state=3, **extra)
    c, _, _ = _fit(random_state=4, **extra)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_epoch_callback_gets_the_weighted_ensemble_each_epoch():
    seen = []
    X, y = _table(300)
    m = DNN(n_members=3, max_epochs=2, subepochs=2, width=8, depth=2, batch_size=32, **FAST)
    m.fit(X[:200], y[:200], None, X[200:], y[200:], epoch_callback=lambda e, p: seen.append((e, p)))
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert all(p.shape == (100, 2) and np.allclose(p.sum(1), 1) for _, p in seen)


@pytest.mark.parametrize("params,message", [
    (dict(body="split"), "body='split' needs feature_names"),
    (dict(categorical_features=["PRI_jet_num"]), "categorical_features need feature_names"),
    (dict(feature_names=NAMES, categorical_features=["nope"]), "'nope' is not in feature_names"),
    (dict(feature_names=NAMES, categorical_features=["PRI_jet_num"], embedding_sizes=[2, 3]), "embedding_sizes gives 2"),
    (dict(augment=True), "augment=True needs an augmentation"),
    (dict(augmentation=object()), "augmentation must have random"),
    (dict(snapshots=2), "snapshots need a cyclic schedule"),
    (dict(width="wide"), "width must be"),
    (dict(schedule="cosine", lr=1e-3, lr_min=1e-2), "lr_min"),
    (dict(n_members=2, member_ids=[0]), "member_ids lists 1"),
    (dict(momentum_range=(0.9,)), "momentum_range must be a pair"),
])
def test_bad_settings_are_one_line_config_errors(params, message):
    with pytest.raises(ConfigError, match=message) as err:
        validate_model("dnn", **params)
    assert "\n" not in str(err.value)


def test_fit_time_errors():
    X, y = _table(40)
    with pytest.raises(ConfigError, match="6 feature_names for 5 columns"):
        DNN(feature_names=NAMES, **FAST).fit(X[:, :5], y)
    with pytest.raises(ConfigError, match="needs high-level features"):
        DNN(body="split", feature_names=[f"PRI_{i}" for i in range(6)], **FAST).fit(X, y)
    with pytest.raises(ConfigError, match="NaN"):
        DNN(**FAST).fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(ConfigError, match="call fit"):
        DNN(**FAST).predict_proba(X)


def test_search_space_suggests_valid_settings():
    optuna = pytest.importorskip("optuna")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        params = search_space(study.ask())
        assert set(params) == {"depth", "width", "growth_rate", "activation", "lr", "n_members"}
        validate_model("dnn", dense=True, **params)


# ----------------------------------------------------------------------------- the ladder

def _tiny(params: dict) -> dict:
    """A rung's techniques on a budget: one pass, two members, cycles of one epoch."""
    tiny = dict(params, max_epochs=1, subepochs=2, n_members=min(params["n_members"], 2), batch_size=32,
                feature_names=list(FEATURES), **FAST)
    if tiny["schedule"] == "onecycle":
        tiny["onecycle_lengths"] = (1, 1)
    if tiny["schedule"] in ("cosine", "linear"):
        tiny["cycle_length"] = 1
    if tiny.get("augment") or tiny.get("tta"):
        tiny["augmentation"] = FlipE()
    if "embedding_sizes" in tiny:  # the harness's categorical fact for HiggsML
        tiny.setdefault("categorical_features", ["PRI_jet_num"])
    return tiny


@pytest.mark.parametrize("exp", sorted(LADDER))
def test_every_rung_validates_and_fits(exp):
    for table in (LADDER, LADDER_SMALL):
        name, params = table[exp]
        assert params == ladder_params(exp, small=table is LADDER_SMALL) and isinstance(name, str)
        validate_model("dnn", **_tiny(params))
    rng = np.random.default_rng(exp)
    X = rng.normal(size=(120, len(FEATURES)))
    X[:, FEATURES.index("PRI_jet_num")] = rng.integers(0, 4, 120)
    y = (X[:, 0] > 0).astype(np.int64)
    m = DNN(**_tiny(LADDER[exp][1])).fit(X[:80], y[:80], None, X[80:], y[80:])
    assert m.predict_proba(X[80:]).shape == (40, 2) and m.info_["epochs_run"] >= 1


def test_ladder_settings_from_the_notebooks():
    final = LADDER[28][1]
    assert (final["width"], final["depth"], final["dense"], final["activation"], final["n_members"]) == (
        33, 6, True, "swish", 10)
    assert (final["schedule"], final["onecycle_lengths"], final["lr"], final["lr_min"]) == ("onecycle", (45, 90), 1e-2, 1e-4)
    assert LADDER[0][1]["n_members"] == 1 and LADDER[0][1]["lr"] == 2e-3 and LADDER[0][1]["subepochs"] == 9
    assert LADDER[14][1]["snapshot_power"] == -1.0 and LADDER[15][1]["snapshot_power"] == 0.0
    assert all(LADDER_SMALL[e][1]["max_epochs"] <= LADDER[e][1]["max_epochs"] for e in LADDER)


def test_missing_entries_read_as_the_mean_whatever_their_marker():
    """With missing_value set, an absent entry is neither a measurement nor part of the
    scaling: the same table with another marker gives the very same model."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    absent = rng.random((300, 4)) < 0.2
    a = np.where(absent, -999.0, X)
    b = np.where(absent, -555.0, X)
    kw = dict(max_epochs=2, batch_size=64, device="cpu", num_threads=1, progress=False, random_state=1)
    pa = DNN(missing_value=-999.0, **kw).fit(a, y).predict_proba(a)
    pb = DNN(missing_value=-555.0, **kw).fit(b, y).predict_proba(b)
    np.testing.assert_array_equal(pa, pb)
    pc = DNN(**kw).fit(a, y).predict_proba(a)  # without the marker, -999 is a (huge) measurement
    assert not np.allclose(pa, pc)


# ----------------------------------------------------------------------------- the ladder against the notebooks

@pytest.fixture(scope="module")
def cartesian_higgsml():
    """The toy HiggsML events preprocessed as the lumin-ladder suites do (Cartesian, absent
    jets kept, standardised), with and without experiment 6's orientation fix."""
    from datasets import load_dataset, make_splits
    from datasets.preprocess import PreprocessConfig, preprocess_splits

    raw = make_splits(load_dataset("higgsml-toy", n_events=600, seed=4), 0)
    config = dict(missing="keep", cartesian=True, standardise=True)
    return {fix: preprocess_splits(PreprocessConfig(orientation=fix, **config), raw) for fix in (False, True)}


def _resolved(name: str, splits, **params) -> DNN:
    """The model a run builds for ``name``: its registry entry, the data's facts, the suite's params."""
    from benchmarks.pipeline import build_model
    from benchmarks.suite import ModelSpec

    return build_model(ModelSpec(name, name, dict(params, **FAST)), dict(params, **FAST), 0, "cpu", splits)


NUMERIC_RUNGS = (0, 1, 39, 40, 41, 42)  # notebooks 0 and 1 (and the +swish/+onecycle/+dense/+aug ablations)
EMBEDDED_RUNGS = tuple(e for e in LADDER if e not in NUMERIC_RUNGS)  # notebook 2 (experiment 4) on, and 38 (+cat)


def test_rungs_before_4_feed_pri_jet_num_as_a_number(cartesian_higgsml):
    splits = cartesian_higgsml[False]
    assert splits.categorical == ("PRI_jet_num",)  # the data does declare it categorical
    X, y = splits.train.X[:200], splits.train.y[:200]
    for exp in NUMERIC_RUNGS:
        for prefix in ("dnn-lumin-", "dnn-lumin-quick-"):
            model = _resolved(f"{prefix}{exp}", splits)
            assert model.categorical_features == [] and model.embedding_sizes is None, (prefix, exp)
    m = _resolved("dnn-lumin-quick-0", splits, max_epochs=1, subepochs=1).fit(X, y)
    jet = list(splits.feature_names).index("PRI_jet_num")
    assert m.spec_.cats == [] and jet in m.spec_.cont and m.info_["embeddings"] == {}
    assert m.info_["inputs"] == 31
    # a plain standardised input: the model's own scaling moves it like any other column
    assert m.spec_.std[m.spec_.cont.index(jet)] > 0
    for exp in EMBEDDED_RUNGS:
        model = _resolved(f"dnn-lumin-{exp}", splits)
        assert model.categorical_features == ["PRI_jet_num"] and model.embedding_sizes == [3], exp
    m4 = _resolved("dnn-lumin-quick-4", splits, max_epochs=1, subepochs=1, n_members=1).fit(X, y)
    assert m4.info_["embeddings"] == {"PRI_jet_num": 3}
    # a suite's params still win over the rung's settings
    assert _resolved("dnn-lumin-0", splits, categorical_features=["PRI_jet_num"]).categorical_features == [
        "PRI_jet_num"]
    assert _resolved("dnn", splits, categorical_features=[]).categorical_features == []


def test_split_bodies_are_as_wide_as_the_notebooks(cartesian_higgsml):
    """Notebooks 14 and 15: low-level block width len(PRI_ feats) + 2 and + 3 with 18 PRI_
    features (PRI_jet_num and PRI_met_pt among them): 6x20 and 6x21."""
    splits = cartesian_higgsml[False]
    X, y = splits.train.X[:64], splits.train.y[:64]
    assert sum(n.startswith("PRI_") for n in splits.feature_names) == 18
    widths = {}
    for exp in (29, 30):
        model = _resolved(f"dnn-lumin-{exp}", splits)
        model._setup(X, y, None)
        widths[exp] = [(b.name, b.depth, b.width) for b in model.spec_.blocks]
    assert widths[29] == [("high", 1, 50), ("low", 6, 20)]
    assert widths[30] == [("high", 1, 51), ("low", 6, 21)]
    assert len(cartesian_higgsml[True].feature_names) == 30  # experiment 6: the orientation fix drops PRI_lep_py


def test_precision_is_fp32_unless_a_suite_asks_for_bf16():
    """No GPU needed: the decision is made from the device string."""
    from models.dnn import uses_bf16
    from models.torch_utils import autocast

    def trainer(device, **params):
        model = DNN(**params)
        model.device_, model.threads_ = device, 1
        return model._trainer()

    assert DNN().precision == "fp32" and ladder_params(28).get("precision", "fp32") == "fp32"
    assert trainer("cuda").precision == "fp32" and not trainer("cuda").amp
    assert trainer("cuda:0", precision="bf16").precision == "bf16-autocast"
    assert trainer("cpu", precision="bf16").precision == "fp32"  # CPU runs are fp32 whatever is asked
    assert uses_bf16("bf16") and not uses_bf16("fp32")
    assert type(autocast("cuda", uses_bf16("fp32"))).__name__ == "nullcontext"
    assert type(autocast("cpu", uses_bf16("bf16"))).__name__ == "nullcontext"
    with pytest.raises(ConfigError, match="precision"):
        validate_model("dnn", precision="fp16")
    m, _, _ = _fit(max_epochs=1, precision="bf16")
    assert m.info_["precision"] == "fp32"  # what ran on this CPU, recorded truly
