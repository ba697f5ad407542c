"""Take the README screenshots of the dashboard in English and Spanish.

Starts ``streamlit run dashboard/app.py`` offline on a free local port, opens it in
Debian's Chromium through Playwright, folds the phrasing set editor away so the grid
shows, and writes docs/screenshot-en.png and docs/screenshot-es.png. The page shows
its defaults: the demo model when the default real model is not cached, on a sample
photograph and the generated shapes example. Run from the repository root:

    .venv/bin/python scripts/take_screenshots.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from streamlit_server import CHROMIUM, streamlit_server  # noqa: E402

VIEWPORT = {"width": 1500, "height": 2350}
LOAD_TIMEOUT_MS = 120_000
# Vega draws a chart a moment after Streamlit adds it to the page.
CHART_SETTLE_MS = 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "docs",
                        help="folder for screenshot-en.png and screenshot-es.png (default: docs/)")
    args = parser.parse_args()

    from playwright.sync_api import expect, sync_playwright

    args.output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        env = {"HF_HUB_OFFLINE": "1", "CLIP_COMPARE_CACHE": str(Path(scratch) / "features")}
        with streamlit_server(Path(scratch) / "streamlit.log", env=env) as url:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            charts = page.locator('[data-testid="stVegaLiteChart"]')
            expect(charts.first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
            page.get_by_text("Phrasing sets", exact=True).click()
            page.wait_for_timeout(CHART_SETTLE_MS)
            page.screenshot(path=str(args.output_dir / "screenshot-en.png"))

            page.locator(".st-key-language").get_by_text("Español").click()
            expect(page.get_by_role("heading", name="Imágenes")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
            page.wait_for_timeout(CHART_SETTLE_MS)
            page.screenshot(path=str(args.output_dir / "screenshot-es.png"))
            browser.close()
    print(f"Wrote {args.output_dir / 'screenshot-en.png'} and {args.output_dir / 'screenshot-es.png'}")


if __name__ == "__main__":
    main()
