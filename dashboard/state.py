"""The dashboard's session state: widget keys, defaults, phrasing sets and cached results.

Every widget has a fixed key named here. Functions that change widget values run
as callbacks or before the widget is drawn, because Streamlit rejects a change to
a widget's value after the widget exists in the current run.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Hashable, Sequence

import streamlit as st

from dashboard import i18n, inputs
from dashboard.settings import PhrasingSettings, Settings

if TYPE_CHECKING:
    import pandas as pd

LANGUAGE = i18n.LANGUAGE_KEY
SHAPES = "shapes_example"
UPLOADS = "uploads"
MODELS = "models"
OTHER_MODELS = "other_models"
SET_IDS = "set_ids"
NEXT_SET_ID = "next_set_id"
PRESET = "preset"
SETTINGS_UPLOAD = "settings_upload"
SETTINGS_MESSAGE = "settings_message"
VIEW = "view"
RESULTS = "results_cache"
CLASSIFY_CALLS = "classify_calls"
COMPARE_RUN_NAME = "compare_run_name"
COMPARE_MESSAGE = "compare_message"
TWIN_RESULTS = "twin_results"

# The Evaluate page.
EVAL_DATA = "eval_data"
EVAL_LABELS = "eval_labels"
EVAL_PHRASING_FILE = "eval_phrasing_file"
EVAL_RESULT = "eval_result"
EVAL_PRESET_USED = "eval_preset_used"
EVAL_RUN_NAME = "eval_run_name"
EVAL_MESSAGE = "eval_message"

# The History page.
HISTORY_RUN = "history_run"
HISTORY_A = "history_a"
HISTORY_B = "history_b"
HISTORY_IMPORT = "history_import"
HISTORY_CONFIRM_DELETE = "history_confirm_delete"
HISTORY_MESSAGE = "history_message"

CUSTOM_TEMPLATES = "custom"
# Result tables kept per session, so going back to an earlier choice reruns no model.
RESULTS_KEPT = 8

DEFAULT_SAMPLES = ("cat.jpg",)


# Widget values that must survive a visit to another page. Streamlit deletes the value
# of a widget that a run does not draw, unless the script writes the value itself.
# File uploaders, buttons and download buttons are left out, because they reject such writes.
_KEPT_KEYS = frozenset({SHAPES, MODELS, OTHER_MODELS, PRESET, VIEW, "heatmap_set", "difference_a", "difference_b",
                        COMPARE_RUN_NAME, EVAL_DATA, EVAL_LABELS, EVAL_RUN_NAME, "eval_cm_model",
                        "eval_cm_phrasing", "history_cm_model", "history_cm_phrasing", HISTORY_RUN, HISTORY_A,
                        HISTORY_B})
_KEPT_PATTERN = re.compile(r"(sample|fast):.+|set\d+_(name|labels|template|custom)")


def fast_key(model_id: str) -> str:
    """Return the key of a curated model's fast CPU mode tick box."""
    return f"fast:{model_id}"


def keep_widget_values() -> None:
    """Write back every kept widget value, so that switching pages and back keeps the user's choices."""
    for key in list(st.session_state.keys()):
        if key in _KEPT_KEYS or _KEPT_PATTERN.fullmatch(key):
            st.session_state[key] = st.session_state[key]


def set_message(slot: str, kind: str, text_key: str, **values) -> None:
    """Keep a message for the next run to show; callbacks use it, as they draw nothing themselves."""
    st.session_state[slot] = (kind, text_key, values)


def pop_message(slot: str) -> tuple[str, str, dict] | None:
    """Return and forget the message kept in ``slot``: (kind, text key, values), or None."""
    return st.session_state.pop(slot, None)


def sample_key(file: str) -> str:
    return f"sample:{file}"


def set_key(set_id: int, field: str) -> str:
    """Return the widget key of one field (name, labels, template, custom) of a phrasing set."""
    return f"set{set_id}_{field}"


def init_page(sample_files: Sequence[str]) -> None:
    """Set the defaults that the first widgets need; no model or core import is involved."""
    st.session_state.setdefault(LANGUAGE, i18n.DEFAULT_LANGUAGE)
    st.session_state.setdefault(SHAPES, True)
    st.session_state.setdefault(VIEW, "grid")
    st.session_state.setdefault(OTHER_MODELS, "")
    st.session_state.setdefault(CLASSIFY_CALLS, 0)
    for file in sample_files:
        st.session_state.setdefault(sample_key(file), file in DEFAULT_SAMPLES)


def init_models_and_sets(default_models: list[str], default_preset: str) -> None:
    """Set the default models and phrasing sets (a ready-made pair) the first time a session draws them."""
    st.session_state.setdefault(MODELS, default_models)
    if SET_IDS not in st.session_state:
        st.session_state[PRESET] = default_preset
        replace_sets(inputs.PRESETS[default_preset]())


def set_ids() -> list[int]:
    return list(st.session_state[SET_IDS])


def add_set(draft: PhrasingSettings) -> None:
    """Append a phrasing set and fill its widgets from ``draft``."""
    set_id = st.session_state.get(NEXT_SET_ID, 0)
    st.session_state[NEXT_SET_ID] = set_id + 1
    st.session_state[SET_IDS] = st.session_state.get(SET_IDS, []) + [set_id]
    st.session_state[set_key(set_id, "name")] = draft.name
    st.session_state[set_key(set_id, "labels")] = "\n".join(draft.labels)
    if isinstance(draft.templates, str):
        st.session_state[set_key(set_id, "template")] = draft.templates
        st.session_state[set_key(set_id, "custom")] = ""
    else:
        st.session_state[set_key(set_id, "template")] = CUSTOM_TEMPLATES
        st.session_state[set_key(set_id, "custom")] = "\n".join(draft.templates)


def remove_set(set_id: int) -> None:
    """Remove a phrasing set and forget its widget values."""
    st.session_state[SET_IDS] = [other for other in st.session_state[SET_IDS] if other != set_id]
    for field in ("name", "labels", "template", "custom"):
        st.session_state.pop(set_key(set_id, field), None)


def replace_sets(drafts: Sequence[PhrasingSettings]) -> None:
    """Remove every phrasing set, then add ``drafts``."""
    for set_id in st.session_state.get(SET_IDS, []):
        remove_set(set_id)
    st.session_state[SET_IDS] = []
    for draft in drafts:
        add_set(draft)


def apply_settings(settings: Settings, sample_files: Sequence[str], curated_ids: Sequence[str]) -> list[str]:
    """Set every input from a settings file; return the sample file names this copy does not have."""
    missing = [file for file in settings.samples if file not in sample_files]
    for file in sample_files:
        st.session_state[sample_key(file)] = file in settings.samples
    st.session_state[SHAPES] = settings.shapes_example

    st.session_state[MODELS] = [model for model in settings.models if model in curated_ids]
    st.session_state[OTHER_MODELS] = "\n".join(model for model in settings.models if model not in curated_ids)
    replace_sets(settings.phrasing_sets)
    return missing


def current_settings(sample_files: Sequence[str], uploads: Sequence[str], models: Sequence[str],
                     drafts: Sequence[PhrasingSettings]) -> Settings:
    """Describe the session's current choices as a Settings object, ready for JSON."""
    return Settings(
        samples=tuple(file for file in sample_files if st.session_state.get(sample_key(file))),
        shapes_example=bool(st.session_state.get(SHAPES)),
        uploads=tuple(uploads),
        models=tuple(models),
        phrasing_sets=tuple(drafts),
    )


def keep_translated_choices() -> None:
    """Pin the value of every widget whose option labels are translated, before a language change.

    Select boxes, multiselects and segmented controls send back the label of the
    chosen option. After a language switch that label matches no option, so
    Streamlit would read it as a new value. Values written into session state by
    the language switch's callback take precedence over what the browser sends.
    """
    keys = [PRESET, VIEW, MODELS, EVAL_LABELS]
    keys += [set_key(set_id, "template") for set_id in st.session_state.get(SET_IDS, [])]
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def cached_results(key: Hashable) -> pd.DataFrame | None:
    """Return the result table computed earlier in this session for ``key``, or None."""
    cache: OrderedDict = st.session_state.setdefault(RESULTS, OrderedDict())
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    return None


def store_results(key: Hashable, table: pd.DataFrame) -> None:
    """Keep a result table for ``key``, forgetting the least recently used beyond RESULTS_KEPT."""
    cache: OrderedDict = st.session_state.setdefault(RESULTS, OrderedDict())
    cache[key] = table
    cache.move_to_end(key)
    while len(cache) > RESULTS_KEPT:
        cache.popitem(last=False)
    st.session_state[CLASSIFY_CALLS] = st.session_state.get(CLASSIFY_CALLS, 0) + 1


def forget_results(key: Hashable) -> None:
    """Drop one cached result table, so the next run computes it again (for a retry)."""
    st.session_state.setdefault(RESULTS, OrderedDict()).pop(key, None)
