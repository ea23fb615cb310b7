"""Ordinary tables: scikit-learn's bundled Iris, Wine, breast cancer and digits, and any user CSV."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.core.errors import DataError, excerpt, excerpts
from benchmarks.core.limits import check_table_file
from benchmarks.core.tables import check_columns, read_csv

from .base import Dataset
from .registry import register_dataset


def _from_sklearn(name: str, loader, metric: str = "accuracy", notes: tuple[str, ...] = ()) -> Dataset:
    bunch = loader()
    return Dataset(
        name=name,
        X=np.asarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target, dtype=np.int64),
        feature_names=tuple(bunch.feature_names),
        class_names=tuple(str(c) for c in bunch.target_names),
        metric=metric,
        source=f"scikit-learn bundled copy ({name}, {len(bunch.target)} rows, offline)",
        notes=notes,
    )


@register_dataset("iris")
def iris() -> Dataset:
    """Fisher's Iris (150 rows, 4 features, 3 classes), bundled with scikit-learn."""
    from sklearn.datasets import load_iris

    return _from_sklearn("iris", load_iris)


@register_dataset("wine")
def wine() -> Dataset:
    """UCI Wine (178 rows, 13 features, 3 classes), bundled with scikit-learn."""
    from sklearn.datasets import load_wine

    return _from_sklearn("wine", load_wine)


@register_dataset("breast-cancer")
def breast_cancer() -> Dataset:
    """UCI breast cancer Wisconsin, diagnostic (569 rows, 30 features, 2 classes; ROC AUC), bundled with scikit-learn."""
    from sklearn.datasets import load_breast_cancer

    # Binary and imbalanced (212 malignant, 357 benign): ranked by ROC AUC of class 1 (benign, as
    # scikit-learn codes it), from the metric registry, not by accuracy.
    return _from_sklearn("breast-cancer", load_breast_cancer, metric="roc-auc")


@register_dataset("digits")
def digits() -> Dataset:
    """Handwritten digits (1797 rows, 64 features = 8x8 pixels, 10 classes), bundled with scikit-learn."""
    from sklearn.datasets import load_digits

    # Each row is an 8x8 grey image read row by row (pixel_0_0 ... pixel_7_7, values 0-16): a
    # table whose columns have a true 2-D arrangement, so image encoders have something to find.
    return _from_sklearn("digits", load_digits, notes=(
        "Each row is an 8x8 image of a handwritten digit, pixels 0-16 in row-major order "
        "(pixel_<row>_<col>): the one table here whose columns have a true 2-D layout.",))


@register_dataset("csv")
def csv(path: str | None = None, target: str | None = None, weight: str | None = None,
        id_column: str | None = None, metric: str = "accuracy", categorical: str | list | tuple = ()) -> Dataset:
    """Any user table: ``--dataset csv:PATH --target COL [--weight COL] [--metric NAME] [--categorical A,B]``."""
    if not path:
        raise DataError("csv dataset needs a path: --dataset csv:PATH")
    if not target:
        raise DataError("csv dataset needs the label column: --target COL")
    p = check_table_file(Path(path), "csv file")
    df = read_csv(p, "CSV file")
    return table_dataset(df, target=target, weight=weight, id_column=id_column,
                         name=f"csv:{p.name}", source=str(p), metric=metric, categorical=categorical)


def _names(value: str | list | tuple) -> tuple[str, ...]:
    """Column names from ``"a,b"`` or ``["a", "b"]``."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value)


def table_dataset(df: pd.DataFrame, target: str, weight: str | None = None,
                  id_column: str | None = None, name: str = "csv", source: str = "",
                  metric: str = "accuracy", categorical: str | list | tuple = ()) -> Dataset:
    """Validate a DataFrame and turn it into a Dataset (labels from any column type)."""
    check_columns(df.columns, name)
    for role, col in (("target", target), ("weight", weight), ("id", id_column)):
        if col is not None and col not in df.columns:
            raise DataError(f"{name}: {role} column {excerpt(col)} not found; columns: {excerpts(df.columns)}")
    feature_cols = [c for c in df.columns if c not in {target, weight, id_column}]
    if not feature_cols:
        raise DataError(f"{name}: no feature columns besides {excerpt(target)}")
    bad = [c for c in feature_cols if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])]
    if bad:
        raise DataError(f"{name}: non-numeric feature columns: {excerpts(bad)} (encode them as numbers first)")
    labels = df[target]
    if labels.isna().any():
        raise DataError(f"{name}: target column {excerpt(target)} has {int(labels.isna().sum())} missing values")
    classes, y = np.unique(labels.astype(str).to_numpy(), return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"{name}: target column {excerpt(target)} has a single class")
    w = None
    if weight is not None:
        w = pd.to_numeric(df[weight], errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(w).all() or (w < 0).any():
            raise DataError(f"{name}: weight column {excerpt(weight)} must hold finite non-negative numbers")
    ids = df[id_column].to_numpy() if id_column else None
    return Dataset(
        name=name,
        X=df[feature_cols].to_numpy(dtype=np.float64),
        y=y.astype(np.int64),
        feature_names=tuple(map(str, feature_cols)),
        class_names=tuple(classes),
        weights=w,
        ids=ids,
        metric=metric,
        source=source or name,
        categorical=_names(categorical),
    )
