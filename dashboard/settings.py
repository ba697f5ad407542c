"""Experiment settings as JSON: what a colleague needs to repeat the same comparison.

A settings file names the sample images, the model ids and the phrasing sets.
Uploaded images are listed by name only, because their bytes are not in the file.
Files are parsed with ``json`` and checked against ``SCHEMA``; nothing in them is
ever executed or used as a path outside ``sample_images/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from jsonschema import Draft202012Validator

FORMAT = "clip-compare-settings"
VERSION = 1
MAX_FILE_BYTES = 1_000_000
MAX_TEXT = 500

_TEXT = {"type": "string", "maxLength": MAX_TEXT}
_PHRASING_SET = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "labels", "templates"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "labels": {"type": "array", "minItems": 1, "maxItems": 2000, "items": _TEXT},
        "templates": {
            "oneOf": [
                {"type": "string", "minLength": 1, "maxLength": 100},
                {"type": "array", "minItems": 1, "maxItems": 100, "items": _TEXT},
            ],
        },
    },
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "version", "images", "models", "phrasing_sets"],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "images": {
            "type": "object",
            "additionalProperties": False,
            "required": ["samples"],
            "properties": {
                "samples": {"type": "array", "maxItems": 200, "items": _TEXT},
                "shapes_example": {"type": "boolean"},
                "uploads": {"type": "array", "maxItems": 200, "items": _TEXT},
            },
        },
        "models": {"type": "array", "maxItems": 20, "items": _TEXT},
        "phrasing_sets": {"type": "array", "minItems": 1, "maxItems": 12, "items": _PHRASING_SET},
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


class SettingsError(ValueError):
    """A settings file that is not valid JSON or does not match ``SCHEMA``."""


@dataclass(frozen=True)
class PhrasingSettings:
    """One phrasing set as stored: a built-in template set name, or a list of templates."""

    name: str
    labels: tuple[str, ...]
    templates: str | tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    """A validated experiment: images, model ids and phrasing sets."""

    samples: tuple[str, ...]
    shapes_example: bool
    uploads: tuple[str, ...]
    models: tuple[str, ...]
    phrasing_sets: tuple[PhrasingSettings, ...]


def to_json(settings: Settings) -> str:
    """Serialise settings to indented JSON, non-ASCII text kept as written."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "images": {"samples": list(settings.samples), "shapes_example": settings.shapes_example,
                   "uploads": list(settings.uploads)},
        "models": list(settings.models),
        "phrasing_sets": [
            {"name": phrasing.name, "labels": list(phrasing.labels),
             "templates": phrasing.templates if isinstance(phrasing.templates, str) else list(phrasing.templates)}
            for phrasing in settings.phrasing_sets
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def parse(data: bytes) -> Settings:
    """Parse and validate a settings file; raise SettingsError saying what is wrong and where."""
    if len(data) > MAX_FILE_BYTES:
        raise SettingsError(f"the file has {len(data):,} bytes, over the limit of {MAX_FILE_BYTES:,}")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise SettingsError(f"the file is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise SettingsError(f"invalid JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None

    problem = next(iter(sorted(_VALIDATOR.iter_errors(document), key=lambda error: list(error.path))), None)
    if problem is not None:
        location = "/".join(str(part) for part in problem.absolute_path) or "(top level)"
        message = problem.message if len(problem.message) <= 200 else problem.message[:197] + "..."
        raise SettingsError(f"{location}: {message}")

    images = document["images"]
    return Settings(
        samples=tuple(images["samples"]),
        shapes_example=images.get("shapes_example", False),
        uploads=tuple(images.get("uploads", [])),
        models=tuple(document["models"]),
        phrasing_sets=tuple(
            PhrasingSettings(item["name"], tuple(item["labels"]),
                             item["templates"] if isinstance(item["templates"], str) else tuple(item["templates"]))
            for item in document["phrasing_sets"]
        ),
    )
