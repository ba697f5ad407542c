"""The model picker shared by the Compare and Evaluate pages: curated models, fast mode, other ids.

Both pages use the same widget keys, so a model chosen on one page is chosen on
the other. A ``local-dir:`` id typed in the free field names a folder, so it goes
through the server's filesystem policy (``dashboard.paths``) before any model loads.
"""

from __future__ import annotations

from types import ModuleType

import streamlit as st

from dashboard import access, paths, state
from dashboard.i18n import t

FAST_SUFFIX = "@int8"


def models_ui(core: ModuleType) -> list[str]:
    """Draw the curated model list with its facts and a free field; return the chosen model ids."""
    from dashboard import views

    st.header(t("models.header"))
    curated = {info.model_id: info for info in core.CURATED_MODELS}
    cached = {model_id: core.is_cached(model_id) for model_id in curated}
    chosen = st.multiselect(t("models.curated"), options=list(curated), key=state.MODELS,
                            format_func=lambda model_id: views.model_name(curated[model_id]))
    chosen_ids = []
    for model_id in chosen:
        st.caption(views.model_facts(curated[model_id], cached[model_id]))
        chosen_ids.append(fast_choice_ui(model_id))

    other_text = st.text_area(t("models.other"), key=state.OTHER_MODELS, height=80, help=t("models.other_help"))
    others = [line.strip() for line in other_text.replace(",", "\n").splitlines() if line.strip()]
    others = allowed_model_ids(others, access.server_policy())

    downloads = [curated[model_id] for model_id in chosen if not cached[model_id]]
    if downloads:
        st.warning(t("models.will_download", models=views.download_list(downloads)))
    with st.expander(t("models.facts"), key="model_facts_expander"):
        st.dataframe(views.model_table(core.CURATED_MODELS, cached), hide_index=True, key="model_facts")
    return list(dict.fromkeys(chosen_ids + others))


def fast_choice_ui(model_id: str) -> str:
    """Draw a curated model's fast CPU mode tick box; return its id, with ``@int8`` when ticked."""
    if st.checkbox(t("fast.choice"), key=state.fast_key(model_id), help=t("fast.choice_help")):
        return f"{model_id}{FAST_SUFFIX}"
    return model_id


def allowed_model_ids(model_ids: list[str], policy: paths.FilesystemPolicy) -> list[str]:
    """Keep the model ids the policy allows; show a message for each ``local-dir:`` folder it refuses."""
    allowed = []
    for model_id in model_ids:
        try:
            for folder in paths.local_dir_paths(model_id):
                policy.check(folder)
        except paths.PathNotAllowedError as error:
            access.refused_ui(error)
            continue
        allowed.append(model_id)
    return allowed
