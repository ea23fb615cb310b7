"""User-facing errors: anything raised as these is printed as one line on stderr."""


class BenchmarkError(Exception):
    """A problem the user can fix (bad input, missing file, unknown name).

    The message is one line by construction: values quoted from a user's file may hold
    newlines, and the CLI prints every error as exactly one line.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(" ".join(str(message).split()))


class DataError(BenchmarkError):
    """Input data that fails validation."""


class ConfigError(BenchmarkError):
    """A suite, option or name that does not make sense."""


class MissingBackendError(BenchmarkError):
    """An optional dependency (torch, xgboost, lightgbm, ...) is not installed."""
