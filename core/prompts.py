"""Phrasing sets: labels plus the templates that turn each label into prompts.

A template marks the label with ``{}``. One template gives one prompt per label;
several templates are a template ensemble, whose text features are averaged per
label (see ``core.features``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES

from core.errors import PhrasingError

PLACEHOLDER = "{}"

# Spanish templates written for this project. Each adjective agrees with "foto",
# "imagen" or "dibujo", never with the label, so any Spanish label with its own
# article fits ("una foto de un gato.", "una foto de la torre.").
SPANISH_ENSEMBLE = (
    "una foto de {}.",
    "una imagen de {}.",
    "una foto borrosa de {}.",
    "una foto de cerca de {}.",
    "una foto luminosa de {}.",
    "una foto oscura de {}.",
    "un dibujo de {}.",
)

TEMPLATE_SETS: dict[str, tuple[str, ...]] = {
    "none": (PLACEHOLDER,),
    "photo": ("a photo of a {}.",),
    "imagenet7": tuple(template(PLACEHOLDER) for template in SIMPLE_IMAGENET_TEMPLATES),
    "imagenet80": tuple(template(PLACEHOLDER) for template in OPENAI_IMAGENET_TEMPLATES),
    "foto": ("una foto de {}.",),
    "es7": SPANISH_ENSEMBLE,
}
"""Built-in templates by name: no template; one English photo template; the CLIP
paper's ImageNet ensembles of 7 and 80 templates as open_clip ships them; and the
Spanish counterparts of the photo template and of the 7-template ensemble."""


@dataclass(frozen=True)
class PhrasingSet:
    """A named list of labels and the templates that turn each label into prompts."""

    name: str
    labels: tuple[str, ...]
    templates: tuple[str, ...] = (PLACEHOLDER,)

    def prompts(self, label: str) -> list[str]:
        """Return the exact prompt strings for one label, one per template."""
        # str.replace, not str.format: labels and templates may hold other braces.
        return [template.replace(PLACEHOLDER, label) for template in self.templates]


def make_phrasing_set(name: str, labels: Iterable[str], templates: Sequence[str] | str = "none") -> PhrasingSet:
    """Build a validated phrasing set.

    ``templates`` is the name of a built-in set (see TEMPLATE_SETS) or a list of
    templates. Labels are stripped of surrounding whitespace. Raises PhrasingError
    for no labels, a blank label, duplicate labels, or a template without ``{}``.
    """
    name = (name or "").strip()
    if not name:
        raise PhrasingError("A phrasing set needs a name.")
    return PhrasingSet(name, _check_labels(name, labels), resolve_templates(templates))


def resolve_templates(templates: Sequence[str] | str) -> tuple[str, ...]:
    """Return the templates named by a built-in set name, or check a list of templates."""
    if isinstance(templates, str):
        if templates in TEMPLATE_SETS:
            return TEMPLATE_SETS[templates]
        templates = [templates]

    checked = tuple(str(template) for template in templates)
    if not checked:
        raise PhrasingError(f"No templates given. Use one with {{}} for the label, or one of: {', '.join(TEMPLATE_SETS)}.")
    for template in checked:
        if PLACEHOLDER not in template:
            raise PhrasingError(
                f"Template {template!r} has no {{}} where the label goes, so every label "
                "would give the same prompt. Example: 'a photo of a {}.'"
            )
    return checked


def _check_labels(name: str, labels: Iterable[str]) -> tuple[str, ...]:
    if isinstance(labels, str):
        raise PhrasingError(f"Phrasing set {name!r}: labels must be a list of strings, not one string.")
    stripped = [str(label).strip() for label in labels]
    if not stripped:
        raise PhrasingError(f"Phrasing set {name!r} has no labels.")

    blank = [index + 1 for index, label in enumerate(stripped) if not label]
    if blank:
        raise PhrasingError(f"Phrasing set {name!r}: label {_positions(blank)} is blank. Remove it or type a label.")

    seen: dict[str, int] = {}
    duplicates = []
    for index, label in enumerate(stripped, start=1):
        if label in seen:
            duplicates.append(f"{label!r} (labels {seen[label]} and {index})")
        seen.setdefault(label, index)
    if duplicates:
        raise PhrasingError(f"Phrasing set {name!r} repeats {', '.join(duplicates)}. Keep each label once.")
    return tuple(stripped)


def _positions(numbers: list[int]) -> str:
    return ", ".join(str(number) for number in numbers)


def split_label_text(text: str) -> tuple[list[str], int]:
    """Split text typed one label per line (or comma-separated on one line).

    Returns the labels and how many empty entries were dropped, so a caller can tell
    the user that a trailing comma or empty line was ignored.
    """
    lines = text.splitlines() if "\n" in text.strip() else text.split(",")
    labels = [line.strip() for line in lines]
    kept = [label for label in labels if label]
    return kept, len(labels) - len(kept)
