"""Labelled image sets: a folder with one subfolder per class, or a CSV of ``image,label`` rows.

Folder layout: each non-hidden subfolder of the root is a class named after the
folder, and every non-hidden file below it, at any depth, is an image of that class.
Names starting with "." are hidden and skipped. Files directly in the root belong to
no class and are reported as errors. Whether a file is an image is decided when it
is opened (see ``core.evaluate``), so a text file in a class folder is reported
there, not raised.

CSV layout: a header row with the columns ``image`` and ``label`` (other columns are
ignored), then one row per image. ``label`` is the class name. Image paths are
relative to the CSV file's folder unless they are absolute.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.errors import LabelledSetError

logger = logging.getLogger(__name__)

CSV_COLUMNS = ("image", "label")


@dataclass(frozen=True)
class LabelledImage:
    """One image file and its class; ``name`` is unique within its set."""

    name: str
    path: Path
    class_name: str


@dataclass
class LabelledSet:
    """The images of a labelled set, its classes in a fixed order, and what could not be used.

    ``errors`` contains a {kind, name, message} entry for each skipped file or row.
    ``warnings`` contains messages such as a class folder with no images.
    """

    source: Path
    images: list[LabelledImage]
    classes: tuple[str, ...]
    errors: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """Return one row per image with the columns image, path and class."""
        return pd.DataFrame({
            "image": [item.name for item in self.images],
            "path": [str(item.path) for item in self.images],
            "class": [item.class_name for item in self.images],
        }, columns=["image", "path", "class"])


def read_labelled_set(source: str | os.PathLike) -> LabelledSet:
    """Read a folder of class folders or an ``image,label`` CSV file, chosen by what ``source`` is."""
    path = Path(source).expanduser()
    if path.is_dir():
        return read_class_folders(path)
    if path.is_file():
        return read_labelled_csv(path)
    raise LabelledSetError(
        f"Labelled image set not found: {path}. Give a folder with one subfolder per class, "
        "or a CSV file with image,label rows."
    )


def read_class_folders(root: str | os.PathLike) -> LabelledSet:
    """Read a folder with one subfolder per class; see the module docstring for the rules."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise LabelledSetError(f"Folder not found: {root}.")

    class_folders, errors = [], []
    for entry in sorted(root.iterdir()):
        if _is_hidden(entry.name):
            continue
        if entry.is_dir():
            class_folders.append(entry)
        else:
            errors.append({"kind": "image", "name": entry.name,
                           "message": f"{entry.name}: not in a class folder, so it has no class; skipped"})
    if not class_folders:
        raise LabelledSetError(
            f"{root} has no class folders. Put each class's images in a subfolder named after "
            f"the class, for example {root / 'cat' / 'photo1.jpg'}."
        )

    images, warnings = [], []
    for folder in class_folders:
        files = _visible_files(folder)
        if not files:
            warnings.append(f"Class folder {folder.name!r} has no images.")
        images += [LabelledImage(path.relative_to(root).as_posix(), path, folder.name) for path in files]
    _require_images(images, root)
    return LabelledSet(root, images, tuple(folder.name for folder in class_folders), errors, warnings)


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _visible_files(folder: Path) -> list[Path]:
    """Return the non-hidden files below ``folder``, skipping hidden folders, in sorted order."""
    found = []
    for directory, subfolders, files in os.walk(folder, followlinks=True):
        subfolders[:] = sorted(name for name in subfolders if not _is_hidden(name))
        found += [Path(directory) / name for name in sorted(files) if not _is_hidden(name)]
    return found


def _require_images(images: list[LabelledImage], source: Path) -> None:
    if not images:
        raise LabelledSetError(f"{source} lists no image files.")


def read_labelled_csv(csv_path: str | os.PathLike) -> LabelledSet:
    """Read a CSV of ``image,label`` rows; a bad row is reported in ``errors`` and skipped."""
    csv_path = Path(csv_path).expanduser()
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LabelledSetError(f"Cannot read the CSV file {csv_path}: {error}") from None

    image_column, label_column = _header_positions(rows, csv_path)
    images, errors, seen = [], [], set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        name = row[image_column].strip() if image_column < len(row) else ""
        class_name = row[label_column].strip() if label_column < len(row) else ""
        problem = _row_problem(name, class_name, seen)
        if problem:
            errors.append({"kind": "row", "name": f"{csv_path.name}:{line}",
                           "message": f"{csv_path.name} line {line}: {problem}; skipped"})
            continue
        seen.add(name)
        path = Path(name).expanduser()
        images.append(LabelledImage(name, path if path.is_absolute() else csv_path.parent / path, class_name))

    _require_images(images, csv_path)
    classes = tuple(sorted({image.class_name for image in images}))
    return LabelledSet(csv_path, images, classes, errors)


def _header_positions(rows: list[list[str]], csv_path: Path) -> tuple[int, int]:
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        found = ",".join(rows[0]) if rows else "an empty file"
        raise LabelledSetError(
            f"{csv_path}: the first row must be a header with the columns image and label, "
            f"but it is {found!r}. Add the line 'image,label' at the top."
        )
    return header.index("image"), header.index("label")


def _row_problem(name: str, class_name: str, seen: set[str]) -> str | None:
    if not name:
        return "the image column is empty"
    if not class_name:
        return f"{name} has an empty label"
    if name in seen:
        return f"{name} is listed more than once"
    return None
