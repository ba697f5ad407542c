"""CLIP Compare dashboard: compare CLIP models and label phrasings, evaluate them, keep the runs.

Run from the repository root with ``streamlit run dashboard/app.py``. ``main()``
draws what every page shares (the language switch and the page menu), then runs
the chosen page: Compare (``compare_page.py``, the default), Evaluate
(``evaluate_page.py``) or History (``history_page.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repository root.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import state  # noqa: E402
from dashboard.i18n import LANGUAGE_NAMES, t  # noqa: E402

DASHBOARD = Path(__file__).resolve().parent


def main() -> None:
    """Draw the language switch and the page menu, then run the chosen page."""
    st.set_page_config(page_title="CLIP Compare", layout="wide")
    state.keep_widget_values()
    language_ui()
    page = st.navigation([
        st.Page(DASHBOARD / "compare_page.py", title=t("pages.compare"), icon=":material/compare:", default=True),
        st.Page(DASHBOARD / "evaluate_page.py", title=t("pages.evaluate"), icon=":material/fact_check:",
                url_path="evaluate"),
        st.Page(DASHBOARD / "history_page.py", title=t("pages.history"), icon=":material/history:",
                url_path="history"),
    ])
    page.run()


def language_ui() -> None:
    """Draw the English/Español switch; i18n.t reads the choice from session state."""
    st.sidebar.radio("Language · Idioma", options=list(LANGUAGE_NAMES), format_func=LANGUAGE_NAMES.get,
                     key=state.LANGUAGE, horizontal=True, on_change=state.keep_translated_choices)


if __name__ == "__main__":
    main()
