"""The error types that core raises for bad input, so callers can catch one family."""


class ClipCompareError(Exception):
    """Base class for every error that core raises on purpose."""


class ImageError(ClipCompareError):
    """An image that cannot be used; the message names the file and the reason."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class ModelIdError(ClipCompareError, ValueError):
    """A model id that does not follow any accepted form or names no known model."""


class ModelNotAvailableError(ClipCompareError):
    """Weights that are not on this machine and cannot be downloaded now."""


class ModelLoadError(ClipCompareError):
    """Weights or configuration that exist but cannot be turned into a model."""


class UnsafeCheckpointError(ModelLoadError):
    """A checkpoint that would need full unpickling, which can run arbitrary code."""


class PhrasingError(ClipCompareError, ValueError):
    """Labels or templates that cannot make a valid phrasing set."""
