"""Take the README screenshots of the dashboard: the Compare page in English and Spanish, and Evaluate.

Starts ``streamlit run dashboard/app.py`` offline on a free local port, opens it in
Debian's Chromium through Playwright, folds the phrasing set editor away so the grid
shows, and writes docs/screenshot-en.png and docs/screenshot-es.png. The page shows
its defaults: the demo model when the default real model is not cached, on a sample
photograph and the generated shapes example. Then it draws a labelled folder of
shapes (two per class), evaluates it on the Evaluate page with the demo model and
English and Spanish captions, and writes docs/screenshot-evaluate.png. Run from the
repository root:

    .venv/bin/python scripts/take_screenshots.py
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from streamlit_server import CHROMIUM, streamlit_server  # noqa: E402

VIEWPORT = {"width": 1500, "height": 2520}
EVALUATE_VIEWPORT = {"width": 1500, "height": 2450}
IMAGES_PER_CLASS = 2
LOAD_TIMEOUT_MS = 120_000
# Vega draws a chart a moment after Streamlit adds it to the page.
CHART_SETTLE_MS = 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "docs",
                        help="folder for the screenshot PNG files (default: docs/)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    args.output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        scratch = Path(scratch)
        env = {"HF_HUB_OFFLINE": "1", "CLIP_COMPARE_CACHE": str(scratch / "features"),
               "CLIP_COMPARE_DB": str(scratch / "runs.sqlite")}
        with streamlit_server(scratch / "streamlit.log", env=env) as url:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            compare_screenshots(browser.new_page(viewport=VIEWPORT), url, args.output_dir)
            evaluate_screenshot(browser.new_page(viewport=EVALUATE_VIEWPORT), url, scratch, args.output_dir)
            browser.close()
    print(f"Wrote screenshot-en.png, screenshot-es.png and screenshot-evaluate.png in {args.output_dir}")


def compare_screenshots(page, url: str, output_dir: Path) -> None:
    """Screenshot the Compare page with its defaults, in English and then in Spanish."""
    from playwright.sync_api import expect

    page.goto(url)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    expect(charts.first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    page.get_by_text("Phrasing sets", exact=True).click()
    page.wait_for_timeout(CHART_SETTLE_MS)
    page.screenshot(path=str(output_dir / "screenshot-en.png"))

    page.locator(".st-key-language").get_by_text("Español").click()
    expect(page.get_by_role("heading", name="Imágenes")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    page.wait_for_timeout(CHART_SETTLE_MS)
    page.screenshot(path=str(output_dir / "screenshot-es.png"))


def evaluate_screenshot(page, url: str, scratch: Path, output_dir: Path) -> None:
    """Evaluate a generated folder of shapes with English and Spanish captions and screenshot the page."""
    from playwright.sync_api import expect

    folder, phrasing_file = write_labelled_shapes(scratch / "shapes")
    page.goto(f"{url}/evaluate")
    page.locator(".st-key-eval_data input").fill(str(folder))
    page.locator(".st-key-eval_data input").press("Enter")
    page.locator(".st-key-eval_labels").get_by_text("Phrasing file", exact=True).click()
    page.locator(".st-key-eval_phrasing_file input[type=file]").set_input_files(str(phrasing_file))
    expect(page.get_by_text("Phrasing sets in the file")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    page.locator(".st-key-evaluate_button button").click()
    expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    page.wait_for_timeout(CHART_SETTLE_MS)
    page.screenshot(path=str(output_dir / "screenshot-evaluate.png"))


def write_labelled_shapes(folder: Path) -> tuple[Path, Path]:
    """Draw IMAGES_PER_CLASS shapes per class folder and write an English/Spanish phrasing file."""
    from core.demo import COLOURS, SHAPES, caption, draw_shape

    rng = np.random.default_rng(0)
    for colour in COLOURS:
        for shape in SHAPES:
            (folder / f"{colour}_{shape}").mkdir(parents=True)
            for index in range(IMAGES_PER_CLASS):
                draw_shape(colour, shape, rng).save(folder / f"{colour}_{shape}" / f"{index}.png")
    phrasings = {"phrasings": [
        {"name": name, "labels": {f"{c}_{s}": caption(c, s, language) for c in COLOURS for s in SHAPES}}
        for name, language in (("English", "en"), ("Español", "es"))
    ]}
    phrasing_file = folder.parent / "phrasings.json"
    phrasing_file.write_text(json.dumps(phrasings, ensure_ascii=False), encoding="utf-8")
    return folder, phrasing_file


if __name__ == "__main__":
    main()
