"""Fast CPU mode (int8) in the dashboard: the agreement of each fast model with its float32 twin.

int8 dynamic quantisation makes CPU inference faster but can move probabilities,
and the size of the change depends on the weights. So for every model id with a
precision suffix, the page also classifies the same images with the float32 twin
(image features come from core's feature cache after the first time) and shows
``core.fast.agreement``: top-1 agreement and the largest probability difference.
"""

from __future__ import annotations

from collections import OrderedDict
from types import ModuleType
from typing import Callable

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.i18n import percent, t


def fast_pairs(models: list[str]) -> list[tuple[str, str]]:
    """Return (fast model id, float32 twin id) for each fast model among ``models``."""
    from core.fast import float32_twin

    pairs = [(model, float32_twin(model)) for model in models]
    return [(model, twin) for model, twin in pairs if twin is not None]


def agreements(table: pd.DataFrame, twin_results: Callable[[str], pd.DataFrame]) -> tuple[list, list[str]]:
    """Compare each fast model of ``table`` with its twin; return the agreements and the unmatched fast models.

    ``twin_results(twin)`` returns the twin's rows, and is called only for a twin
    that ``table`` does not contain already.
    """
    from core.fast import agreement

    found, unmatched = [], []
    for fast, twin in fast_pairs(list(dict.fromkeys(table["model"]))):
        twin_rows = table[table["model"] == twin]
        if twin_rows.empty:
            twin_rows = twin_results(twin)
        try:
            found.append(agreement(table[table["model"] == fast], twin_rows))
        except ValueError:  # The twin failed to load or shares no row with the fast model.
            unmatched.append(fast)
    return found, unmatched


def comparison_twin(core: ModuleType, images: list, phrasings: list) -> Callable[[str], pd.DataFrame]:
    """Return a function that classifies the Compare page's images with a twin, keeping recent results."""
    def classify_twin(twin: str) -> pd.DataFrame:
        key = (twin, tuple((image.name, image.sha256) for image in images), tuple(phrasings))
        cache: OrderedDict = st.session_state.setdefault(state.TWIN_RESULTS, OrderedDict())
        if key not in cache:
            with st.spinner(t("fast.running", model=twin)):
                cache[key] = core.classify({image.name: image for image in images}, phrasings, [twin],
                                           errors="collect")
        cache.move_to_end(key)
        while len(cache) > state.RESULTS_KEPT:
            cache.popitem(last=False)
        return cache[key]

    return classify_twin


def agreement_table(found: list) -> pd.DataFrame:
    """Return the agreements as a table with translated column names."""
    return pd.DataFrame({
        t("columns.fast_model"): [item.fast_model for item in found],
        t("columns.reference_model"): [item.reference_model for item in found],
        t("columns.pairs"): [item.pairs for item in found],
        t("columns.top1_agreement"): [item.top1_agreement for item in found],
        t("columns.max_difference"): [percent(item.max_probability_difference, digits=2) for item in found],
        t("columns.disagreements"): [", ".join(item.disagreements) or "—" for item in found],
    })


def agreement_ui(found: list, unmatched: list[str]) -> None:
    """Draw the fast models' agreement with float32, or nothing when no fast model was used."""
    if not found and not unmatched:
        return
    st.subheader(t("fast.header"))
    st.caption(t("fast.hint"))
    for model in unmatched:
        st.warning(t("fast.unmatched", model=model))
    if found:
        st.dataframe(agreement_table(found), hide_index=True, key="fast_agreement", column_config={
            t("columns.top1_agreement"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                         format="percent"),
        })
