"""User-facing errors: anything raised as these is printed as one line on stderr."""


class BenchmarkError(Exception):
    """A problem the user can fix (bad input, missing file, unknown name)."""


class DataError(BenchmarkError):
    """Input data that fails validation."""


class ConfigError(BenchmarkError):
    """A suite, option or name that does not make sense."""


class MissingBackendError(BenchmarkError):
    """An optional dependency (torch, xgboost, lightgbm, ...) is not installed."""
