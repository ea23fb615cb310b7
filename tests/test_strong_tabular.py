"""What CatBoost, TabM and RealMLP promise beyond the common contract (test_model_conformance):
categorical columns, TabM's table and ensemble, the GPU switch, the unweighted RealMLP."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.core.errors import ConfigError
from models import create_model


def _data(n=400, seed=0):
    """A numeric signal plus a categorical column whose middle category carries the class."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.integers(0, 3, n)
    y = ((X[:, 0] + 2.0 * (X[:, 3] == 1)) > 0.8).astype(np.int64)
    return X, y, rng.uniform(0.5, 2.0, n)


NAMES = dict(feature_names=["a", "b", "c", "cat"], categorical_features=["cat"])


@pytest.mark.catboost
def test_catboost_categories_are_values_whatever_their_scale():
    X, y, w = _data()
    fit = dict(sample_weight=w[:300], X_val=X[300:350], y_val=y[300:350], w_val=w[300:350])
    scaled = X.copy()
    scaled[:, 3] = scaled[:, 3] * -2.5 + 0.3  # what standardisation does to category codes
    kw = dict(NAMES, iterations=60, thread_count=1, random_state=3)
    a = create_model("catboost", **kw).fit(X[:300], y[:300], **fit)
    b = create_model("catboost", **kw).fit(scaled[:300], y[:300], **{**fit, "X_val": scaled[300:350]})
    # The same categories under other numbers: the very same model (CatBoost sees categories, not amounts).
    np.testing.assert_array_equal(a.predict_proba(X[350:]), b.predict_proba(scaled[350:]))
    assert a.info_["categorical"] == 1 and a.info_["best_iteration"] is not None
    ordinal = create_model("catboost", iterations=60, thread_count=1, random_state=3).fit(X[:300], y[:300], **fit)
    assert ordinal.info_["categorical"] == 0
    with pytest.raises(Exception, match="NaN or infinite"):
        bad = X[350:].copy()
        bad[0, 3] = np.nan
        a.predict_proba(bad)


@pytest.mark.catboost
def test_catboost_gpu_switch_and_one_line_library_errors():
    assert create_model("catboost")._task() == {}
    assert create_model("catboost", device="cuda")._task() == {"task_type": "GPU", "devices": "0"}
    assert create_model("catboost", device="cuda:1")._task() == {"task_type": "GPU", "devices": "1"}
    X, y, _ = _data(60)
    with pytest.raises(ConfigError) as err:
        create_model("catboost", iterations=5, grow_policy="Sideways").fit(X, y)
    assert str(err.value).startswith("catboost: ") and ".cpp" not in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="catboost: unknown parameter"):
        create_model("catboost", n_trees_please=3).fit(X, y)
    with pytest.raises(ConfigError, match="not in feature_names"):
        create_model("catboost", feature_names=["a"], categorical_features=["z"]).fit(X, y)


@pytest.mark.tabm
def test_tabm_table_quantiles_categories_and_constant_columns():
    X, y, w = _data()
    X = np.column_stack([X, np.full(len(X), 7.0)])  # a constant column: nothing to learn, no bins
    names = dict(feature_names=["a", "b", "c", "cat", "const"], categorical_features=["cat"])
    m = create_model("tabm", **names, k=4, d_block=32, n_bins=8, max_epochs=3, num_threads=1, progress=False)
    m.fit(X[:300], y[:300], sample_weight=w[:300], X_val=X[300:350], y_val=y[300:350], w_val=w[300:350])
    assert m.num_columns_ == [0, 1, 2] and m.cat_columns_ == [3] and m.constant_columns_ == 1
    table = m._table(X[:300])
    assert table.shape == (300, 4) and table.dtype == np.float32
    # numeric columns: a normal's quantiles (the training rows' median maps near 0)
    assert abs(np.median(table[:, 0])) < 0.1 and table[:, :3].std() == pytest.approx(1.0, abs=0.2)
    # categories by training value, sorted; a value never seen in training is one more category
    np.testing.assert_array_equal(table[:, 3], X[:300, 3])
    unseen = X[350:352].copy()
    unseen[:, 3] = [1.5, 2.0]
    np.testing.assert_array_equal(m._table(unseen)[:, 3], [3.0, 2.0])
    assert m.info_["constant_columns_left_out"] == 1 and "+one-hot 1 categorical" in m.info_["architecture"]
    assert m.info_["architecture"].startswith("tabm k=4 2x32")  # 2 blocks with embeddings, as the paper


@pytest.mark.tabm
def test_tabm_predicts_the_mean_of_its_members_probabilities():
    import torch

    X, y, w = _data()
    m = create_model("tabm", k=5, d_block=16, n_bins=6, max_epochs=2, num_threads=1, progress=False, embeddings=False)
    m.fit(X[:300], y[:300], sample_weight=w[:300], X_val=X[300:350], y_val=y[300:350], w_val=w[300:350])
    assert m.info_["architecture"].startswith("tabm k=5 3x16")  # no embeddings: the package's 3 blocks
    with torch.no_grad():
        members = torch.softmax(m.net_(torch.as_tensor(m._table(X[350:]))), -1)  # [n, k, classes]
    assert members.shape == (50, 5, 2)
    np.testing.assert_allclose(m.predict_proba(X[350:]), members.mean(1).double().numpy(), rtol=1e-6)


@pytest.mark.tabm
def test_tabm_loss_is_the_mean_of_the_members_weighted_losses():
    import torch
    import torch.nn.functional as F

    from models.tabm_net import mean_member_loss

    g = torch.Generator().manual_seed(0)
    logits, y, w = torch.randn(6, 3, 2, generator=g), torch.tensor([0, 1, 1, 0, 1, 0]), torch.rand(6, generator=g)
    by_member = [(F.cross_entropy(logits[:, j], y, reduction="none") * w).mean() for j in range(3)]
    assert float(mean_member_loss(logits, y, w)) == pytest.approx(float(sum(by_member) / 3))


@pytest.mark.tabm
def test_tabm_refuses_what_it_cannot_train():
    X, y, _ = _data(50)
    with pytest.raises(ConfigError, match="no feature varies"):
        create_model("tabm", max_epochs=1, progress=False).fit(np.ones((20, 2)), y[:20])
    with pytest.raises(ConfigError, match="at least 3 training rows"):
        create_model("tabm", max_epochs=1, progress=False).fit(X[:2], np.array([0, 1]))
    with pytest.raises(ConfigError, match="feature_names for"):
        create_model("tabm", feature_names=["a", "cat"], categorical_features=["cat"], max_epochs=1,
                     progress=False).fit(X, y)


@pytest.mark.realmlp
def test_realmlp_trains_unweighted_and_says_so():
    X, y, w = _data()
    kw = dict(NAMES, n_epochs=4, n_threads=1, random_state=0)
    weighted = create_model("realmlp", **kw).fit(X[:300], y[:300], sample_weight=w[:300], X_val=X[300:350],
                                                  y_val=y[300:350], w_val=w[300:350])
    plain = create_model("realmlp", **kw).fit(X[:300], y[:300], X_val=X[300:350], y_val=y[300:350])
    # pytabkit takes no weights: the same fit either way, and the record says the weights went unused
    np.testing.assert_array_equal(weighted.predict_proba(X[350:]), plain.predict_proba(X[350:]))
    assert "not used" in weighted.info_["event_weights"] and plain.info_["event_weights"] == "none"
    assert weighted.info_["categorical"] == 1
    with pytest.raises(ConfigError, match="realmlp: unknown parameter"):
        create_model("realmlp", n_epochz=3).fit(X, y)
