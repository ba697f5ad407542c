"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against ``streamlit run``.

The test starts the server on a free port of 127.0.0.1, uploads a generated shapes
image, edits a label, checks that the charts change, switches to Spanish and saves
a screenshot. It needs /usr/bin/chromium and skips only when that is missing.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.demo import draw_shape
from streamlit_server import CHROMIUM, streamlit_server

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing; install Debian's chromium package to run this test",
)

# The first page load imports PyTorch in the server, which can take tens of seconds on a cold disk.
FIRST_LOAD_TIMEOUT_MS = 90_000
RERUN_TIMEOUT_MS = 30_000
NEW_LABELS = ("a crimson disc", "a cobalt cube", "a purple elephant")


def test_upload_edit_and_switch_language(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    image_path = tmp_path / "red-circle.png"
    draw_shape("red", "circle", np.random.default_rng(0), size=(160, 160)).save(image_path)
    server_env = {"HF_HUB_OFFLINE": "1", "CLIP_COMPARE_CACHE": str(tmp_path / "features")}

    with streamlit_server(tmp_path / "streamlit.log", env=server_env) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            page.goto(url)
            charts = page.locator('[data-testid="stVegaLiteChart"]')
            expect(page.get_by_role("heading", name="CLIP Compare")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
            expect(charts.first).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
            chart_count = charts.count()

            page.locator(".st-key-uploads input[type=file]").set_input_files(str(image_path))
            captions = page.locator('[data-testid="stImageCaption"]')
            expect(captions.filter(has_text="red-circle.png")).to_have_count(1, timeout=RERUN_TIMEOUT_MS)
            expect(charts).not_to_have_count(chart_count, timeout=RERUN_TIMEOUT_MS)
            assert charts.count() > chart_count, "the uploaded image got no charts"

            labels = page.locator(".st-key-set0_labels textarea")
            old_first_label = labels.input_value().splitlines()[0]
            expect(charts.first).to_contain_text(old_first_label)
            labels.fill("\n".join(NEW_LABELS))
            labels.press("Control+Enter")
            # The charts are SVG, so their axis labels are text in the page.
            for label in NEW_LABELS:
                expect(charts.first).to_contain_text(label, timeout=RERUN_TIMEOUT_MS)
            expect(charts.first).not_to_contain_text(old_first_label)
            # Every cell of the first phrasing set's rows names one of the new labels as its top label.
            captions_per_set = charts.count() // page.locator('[class*="_labels"] textarea').count()
            top_captions = page.locator('[data-testid="stCaptionContainer"]').filter(
                has_text=re.compile("Top label: (" + "|".join(NEW_LABELS) + ")"))
            expect(top_captions).to_have_count(captions_per_set, timeout=RERUN_TIMEOUT_MS)

            page.locator(".st-key-language").get_by_text("Español").click()
            expect(page.get_by_role("heading", name="Imágenes")).to_be_visible(timeout=RERUN_TIMEOUT_MS)
            expect(page.locator('[data-testid="stCaptionContainer"]').filter(
                has_text="Etiqueta ganadora").first).to_be_visible(timeout=RERUN_TIMEOUT_MS)
            expect(page.get_by_text("Top label:")).to_have_count(0)

            screenshot = tmp_path / "dashboard-es.png"
            page.screenshot(path=str(screenshot))
            assert screenshot.stat().st_size > 10_000
        finally:
            browser.close()

