"""Saving runs from the Compare and Evaluate pages into the run database (``core.store``).

The database path is core's default: ``CLIP_COMPARE_DB``, else ``runs.sqlite`` in the
user data folder. Saving runs in a button callback, so the message it leaves is
shown by the run that follows the click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import streamlit as st

from dashboard import state
from dashboard.i18n import t

if TYPE_CHECKING:
    from core.experiment import Run

MESSAGE_STYLES = {"error": st.error, "success": st.success, "info": st.info, "warning": st.warning}


def save_run_ui(name_key: str, button_key: str, message_slot: str, make_run: Callable[[str], Run]) -> None:
    """Draw a run name field and a Save run button that saves ``make_run(name)``."""
    st.subheader(t("runs.save_header"))
    name_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
    name_column.text_input(t("runs.name"), key=name_key, placeholder=t("runs.name_placeholder"))
    button_column.button(t("runs.save"), key=button_key, on_click=_save, args=(name_key, message_slot, make_run),
                         icon=":material/save:", width="stretch")
    message_ui(message_slot)


def _save(name_key: str, message_slot: str, make_run: Callable[[str], Run]) -> None:
    from core.errors import ClipCompareError
    from core.store import RunStore

    store = RunStore()
    try:
        run_id = store.save(make_run(str(st.session_state.get(name_key) or "").strip()))
    except ClipCompareError as error:
        state.set_message(message_slot, "error", "runs.save_failed", detail=str(error))
        return
    state.set_message(message_slot, "success", "runs.saved", id=run_id, path=str(store.path))


def message_ui(slot: str) -> None:
    """Show, once, the message a callback left in ``slot``."""
    message = state.pop_message(slot)
    if message is not None:
        kind, key, values = message
        MESSAGE_STYLES[kind](t(key, **values))
