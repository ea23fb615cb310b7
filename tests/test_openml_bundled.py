"""The offline tables beside the OpenML ones: scikit-learn's bundled breast cancer and digits."""
from __future__ import annotations

import numpy as np
import pytest

from datasets import load_dataset, make_splits

pytestmark = pytest.mark.sklearn


def test_breast_cancer_is_binary_and_ranked_by_roc_auc():
    ds = load_dataset("breast-cancer")
    assert ds.X.shape == (569, 30) and ds.class_names == ("malignant", "benign")
    assert ds.metric == "roc-auc" and ds.task == "binary"
    assert np.bincount(ds.y).tolist() == [212, 357]
    splits = make_splits(ds, seed=0)
    # Every split holds both classes (ROC AUC refuses a one-class split).
    assert all(len(np.unique(p.y)) == 2 for p in splits.parts)


def test_digits_rows_are_8x8_images():
    ds = load_dataset("digits")
    assert ds.X.shape == (1797, 64) and ds.n_classes == 10 and ds.metric == "accuracy"
    assert ds.feature_names[:2] == ("pixel_0_0", "pixel_0_1") and ds.feature_names[8] == "pixel_1_0"
    assert ds.X.min() == 0 and ds.X.max() == 16
    assert any("8x8" in n for n in ds.notes)
