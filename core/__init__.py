"""CLIP Compare's engine: compare CLIP backbones on images and label phrasings.

The main entry point is ``classify``; see ``python -m core --help`` for the CLI.
"""

from core.classify import RESULT_COLUMNS, classify
from core.errors import (
    ClipCompareError,
    ImageError,
    ModelIdError,
    ModelLoadError,
    ModelNotAvailableError,
    PhrasingError,
    UnsafeCheckpointError,
)
from core.features import FeatureCache
from core.images import LoadedImage, load_image, load_images
from core.loading import LoadedModel, load_model
from core.prompts import TEMPLATE_SETS, PhrasingSet, make_phrasing_set
from core.registry import CURATED_MODELS, DEFAULT_MODEL_ID, DEMO_MODEL_ID, ModelInfo, is_cached

__all__ = [
    "CURATED_MODELS", "DEFAULT_MODEL_ID", "DEMO_MODEL_ID", "RESULT_COLUMNS", "TEMPLATE_SETS",
    "ClipCompareError", "FeatureCache", "ImageError", "LoadedImage", "LoadedModel", "ModelIdError",
    "ModelInfo", "ModelLoadError", "ModelNotAvailableError", "PhrasingError", "PhrasingSet",
    "UnsafeCheckpointError", "classify", "is_cached", "load_image", "load_images", "load_model",
    "make_phrasing_set",
]
