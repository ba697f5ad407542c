"""CLIP Compare's engine: compare CLIP backbones on images and label phrasings.

The main entry point is ``classify``; see ``python -m core --help`` for the CLI.
"""

from core.classify import RESULT_COLUMNS, classify
from core.compare_runs import RunComparison, compare_runs
from core.errors import (
    ClipCompareError,
    ForeignDatabaseError,
    ImageError,
    LabelledSetError,
    ModelIdError,
    ModelLoadError,
    ModelNotAvailableError,
    PhrasingError,
    PhrasingFileError,
    RunFileError,
    RunNotFoundError,
    StoreError,
    UnsafeCheckpointError,
)
from core.evaluate import ClassPhrasing, EvaluationResult, evaluate, load_phrasing_file
from core.experiment import Run, evaluation_run, rerun, run_comparison
from core.features import FeatureCache
from core.images import LoadedImage, load_image, load_images
from core.loading import LoadedModel, load_model
from core.prompts import TEMPLATE_SETS, PhrasingSet, make_phrasing_set
from core.registry import CURATED_MODELS, DEFAULT_MODEL_ID, DEMO_MODEL_ID, ModelInfo, is_cached
from core.store import RunStore
from core.version import __version__

__all__ = [
    "CURATED_MODELS", "DEFAULT_MODEL_ID", "DEMO_MODEL_ID", "RESULT_COLUMNS", "TEMPLATE_SETS",
    "ClipCompareError", "FeatureCache", "ImageError", "LoadedImage", "LoadedModel", "ModelIdError",
    "ModelInfo", "ModelLoadError", "ModelNotAvailableError", "PhrasingError", "PhrasingSet",
    "UnsafeCheckpointError", "classify", "is_cached", "load_image", "load_images", "load_model",
    "make_phrasing_set",
    "ClassPhrasing", "EvaluationResult", "ForeignDatabaseError", "LabelledSetError", "PhrasingFileError",
    "Run", "RunComparison", "RunFileError", "RunNotFoundError", "RunStore", "StoreError", "__version__",
    "compare_runs", "evaluate", "evaluation_run", "load_phrasing_file", "rerun", "run_comparison",
]
