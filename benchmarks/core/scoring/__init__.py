"""Metric objects: what a dataset is scored by, as a registry (like datasets and models).

A dataset names its metric (``Dataset.metric``); everything that depends on the metric
(scoring a fit, the tuning objective, report columns, bootstrap statistics, the chance
model of the shuffled-label control, the AMS audit) asks the metric object instead of
testing the name. Adding a metric is one module here with one decorated class.
"""
from .base import METRICS, PRIVATE, Column, Metric, MetricText, SplitArrays, get_metric, list_metrics, register_metric

# Importing the metric modules registers them.
from . import accuracy, ams, roc_auc  # noqa: E402,F401

__all__ = ["METRICS", "PRIVATE", "Column", "Metric", "MetricText", "SplitArrays", "get_metric", "list_metrics", "register_metric"]
