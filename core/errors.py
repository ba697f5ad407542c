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


class PhrasingFileError(PhrasingError):
    """A phrasing file that is not valid JSON or does not follow the phrasing file format."""


class LabelledSetError(ClipCompareError, ValueError):
    """A labelled image set (class folders or an image,label CSV) that cannot be read."""


class StoreError(ClipCompareError):
    """A run database or run file that cannot be used; the message names the file."""


class ForeignDatabaseError(StoreError):
    """A file at the database path that is not a CLIP Compare run database; it is left untouched."""


class RunNotFoundError(StoreError, LookupError):
    """A run id that is not in the database."""


class RunFileError(StoreError, ValueError):
    """An exported run file that is not valid JSON or does not follow the run file format."""
