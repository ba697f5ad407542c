"""Check that sample_images/ and its provenance record sources.json agree.

Every photo must be listed with a licence and author, open as a real image,
and the set as a whole must cover the main kinds of subject the dashboard
demonstrates.
"""

import json
from pathlib import Path

import pytest
from PIL import Image

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_images"
SOURCES_JSON = SAMPLE_DIR / "sources.json"
SOURCES_MD = SAMPLE_DIR / "SOURCES.md"

# Files in sample_images/ that describe the photos rather than being photos.
METADATA_FILES = {"sources.json", "SOURCES.md"}

REQUIRED_KEYS = (
    "file",
    "subject",
    "category",
    "package",
    "package_path",
    "author",
    "licence",
    "changes",
    "labels_en",
    "labels_es",
)
KNOWN_CATEGORIES = {"people", "animal", "food", "vehicle", "scene", "object", "plant"}
REQUIRED_CATEGORIES = {"people", "animal", "food", "vehicle", "scene"}

MIN_IMAGE_COUNT = 8
MIN_SIDE_PX = 200
# This limit keeps the repository small, so larger originals were downscaled
# or re-encoded to fit (see SOURCES.md).
MAX_FILE_BYTES = 400 * 1024


def load_entries():
    with SOURCES_JSON.open(encoding="utf-8") as handle:
        return json.load(handle)


def entry_id(entry):
    return entry.get("file", "<no file key>")


def list_image_files():
    return sorted(
        path.name
        for path in SAMPLE_DIR.iterdir()
        if path.is_file() and path.name not in METADATA_FILES
    )


ENTRIES = load_entries()


def test_sources_json_is_list_of_objects():
    assert isinstance(ENTRIES, list)
    for entry in ENTRIES:
        assert isinstance(entry, dict), f"entry is not an object: {entry!r}"


def test_sources_json_has_no_duplicates():
    names = [entry_id(entry) for entry in ENTRIES]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert duplicates == [], f"files listed more than once in sources.json: {duplicates}"


def test_every_image_is_listed():
    listed = {entry_id(entry) for entry in ENTRIES}
    unlisted = sorted(set(list_image_files()) - listed)
    assert unlisted == [], (
        f"files in sample_images/ missing from sources.json: {unlisted}. "
        "Add an entry for each or delete the file."
    )


def test_every_listed_file_exists():
    present = set(list_image_files())
    missing = sorted(entry_id(entry) for entry in ENTRIES if entry_id(entry) not in present)
    assert missing == [], (
        f"sources.json lists files not found in sample_images/: {missing}. "
        "Add the file or remove its entry."
    )


def test_every_image_is_in_sources_md():
    text = SOURCES_MD.read_text(encoding="utf-8")
    missing = [name for name in list_image_files() if f"`{name}`" not in text]
    assert missing == [], f"files missing from the SOURCES.md table: {missing}. Add a row for each."


def test_minimum_image_count():
    count = len(list_image_files())
    assert count >= MIN_IMAGE_COUNT, f"only {count} images, expected at least {MIN_IMAGE_COUNT}"


def test_categories_cover_required_set():
    categories = {entry.get("category") for entry in ENTRIES}
    missing = sorted(REQUIRED_CATEGORIES - categories)
    assert missing == [], f"no sample image in categories: {missing}"


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_entry_fields_are_filled(entry):
    name = entry_id(entry)
    for key in REQUIRED_KEYS:
        assert key in entry, f"{name}: missing key {key!r}"
        value = entry[key]
        assert isinstance(value, str), f"{name}: {key!r} is not a string: {value!r}"
        assert value.strip(), f"{name}: {key!r} is empty"


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_entry_category_is_known(entry):
    category = entry.get("category")
    assert category in KNOWN_CATEGORIES, (
        f"{entry_id(entry)}: unknown category {category!r}, "
        f"expected one of {sorted(KNOWN_CATEGORIES)}"
    )


@pytest.mark.parametrize("name", list_image_files())
def test_image_opens_as_rgb(name):
    path = SAMPLE_DIR / name

    # verify() checks the file structure but leaves the image unusable, so
    # the file is opened a second time to decode the pixels.
    with Image.open(path) as image:
        image.verify()

    with Image.open(path) as image:
        rgb = image.convert("RGB")

    width, height = rgb.size
    assert rgb.mode == "RGB"
    assert width >= MIN_SIDE_PX, f"{name}: width {width} px is below {MIN_SIDE_PX} px"
    assert height >= MIN_SIDE_PX, f"{name}: height {height} px is below {MIN_SIDE_PX} px"


@pytest.mark.parametrize("name", list_image_files())
def test_image_file_size_limit(name):
    size = (SAMPLE_DIR / name).stat().st_size
    assert size <= MAX_FILE_BYTES, f"{name}: {size} bytes exceeds {MAX_FILE_BYTES} bytes"
