"""Three browser sessions classifying at the same moment against one dashboard server.

Each round, every session types the same new labels and switches the demo model
in or out of fast mode (int8) without waiting for the others. The server then runs
the three classifications at once with the same cached model and tokenizer. Every
session must show no error and the top labels that ``core.classify`` computes in
this process, one session at a time, for the same images and labels. The rounds
stop after ``TEST_SECONDS``. Needs /usr/bin/chromium, like test_browser.py.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

import core
from core.demo import draw_shape
from dashboard import inputs
from streamlit_server import CHROMIUM, streamlit_server

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing; install Debian's chromium package to run this test",
)

SESSIONS = 3
FIRST_LOAD_TIMEOUT_MS = 90_000
RERUN_TIMEOUT_MS = 60_000
# Rounds start until this many seconds have passed since the first one, and at least MIN_ROUNDS run.
TEST_SECONDS = 35
MIN_ROUNDS = 2
TOP_CAPTION = re.compile(r"^Top label: (.+) \((\d+\.\d)%\)$")


def round_labels(number: int) -> tuple[str, ...]:
    return ("a red circle", "a blue triangle", f"a green square seen {number} times")


def expected_captions(labels: tuple[str, ...], model_id: str) -> list[str]:
    """Return the top-label captions of the edited set for the page's default images, in page order."""
    shape = draw_shape(inputs.SHAPES_EXAMPLE_COLOUR, inputs.SHAPES_EXAMPLE_SHAPE,
                       np.random.default_rng(inputs.SHAPES_EXAMPLE_SEED), size=inputs.SHAPES_EXAMPLE_SIZE)
    images = {"cat.jpg": inputs.SAMPLE_DIR / "cat.jpg", inputs.SHAPES_EXAMPLE_NAME: shape}
    english = core.make_phrasing_set("English", labels, inputs.ENGLISH_PHOTO_TEMPLATES)
    table = core.classify(images, [english], [model_id])
    top = table[table["rank"] == 1].set_index("image")
    return [f"Top label: {top.loc[name, 'label']} ({top.loc[name, 'probability'] * 100:.1f}%)" for name in images]


def shown_captions(page, labels: tuple[str, ...]) -> list[str]:
    """Return the page's top-label captions that name one of ``labels``, in page order."""
    texts = page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
    return [text.strip() for text in texts
            if (match := TOP_CAPTION.match(text.strip())) and match.group(1) in labels]


def start_round(page, labels: tuple[str, ...], toggle_fast: bool) -> None:
    """Change the labels (and the fast mode tick box) without waiting for the rerun to finish."""
    if toggle_fast:
        page.get_by_text("Fast CPU mode (int8)", exact=True).click()
    editor = page.locator(".st-key-set0_labels textarea")
    editor.fill("\n".join(labels))
    editor.press("Control+Enter")


def wait_for_round(page, labels: tuple[str, ...], fast: bool) -> None:
    from playwright.sync_api import expect

    first_chart = page.locator('[data-testid="stVegaLiteChart"]').first
    expect(first_chart).to_contain_text(labels[-1], timeout=RERUN_TIMEOUT_MS)
    if fast:
        expect(first_chart).to_contain_text("demo@int8", timeout=RERUN_TIMEOUT_MS)
    else:
        expect(first_chart).not_to_contain_text("demo@int8", timeout=RERUN_TIMEOUT_MS)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=RERUN_TIMEOUT_MS)


def test_sessions_classify_at_once(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    server_env = {"HF_HUB_OFFLINE": "1", "CLIP_COMPARE_CACHE": str(tmp_path / "features"),
                  "CLIP_COMPARE_DB": str(tmp_path / "runs.sqlite")}
    with streamlit_server(tmp_path / "streamlit.log", env=server_env) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            pages = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                     for _ in range(SESSIONS)]
            for page in pages:
                page.goto(url)
            for page in pages:
                expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible(
                    timeout=FIRST_LOAD_TIMEOUT_MS)

            started, number, fast = time.monotonic(), 0, False
            while number < MIN_ROUNDS or time.monotonic() - started < TEST_SECONDS:
                labels, fast = round_labels(number), not fast if number % 2 else fast
                for page in pages:
                    start_round(page, labels, toggle_fast=number % 2 == 1)
                expected = expected_captions(labels, "demo@int8" if fast else core.DEMO_MODEL_ID)
                for index, page in enumerate(pages):
                    wait_for_round(page, labels, fast)
                    assert page.locator('[data-testid="stException"]').count() == 0, f"session {index}"
                    assert shown_captions(page, labels) == expected, f"session {index}, round {number}"
                number += 1
        finally:
            browser.close()
    assert number >= MIN_ROUNDS
