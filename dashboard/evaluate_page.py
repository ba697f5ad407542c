"""The Evaluate page: accuracy of models × phrasing sets on a labelled image set.

The labelled set is a folder with one subfolder per class, or an ``image,label`` CSV
file, named by its path on the server. ``dashboard/app.py`` runs this file as a page
of ``st.navigation``. The evaluation runs only when the user presses Evaluate, and
its result stays in the session until the next one, so every view and the Save
run button work without encoding anything again.
"""

from __future__ import annotations

import dataclasses
import json
from types import ModuleType

import streamlit as st

from dashboard import access, engine, evaluation_views, model_choice, paths, runs, state, views
from dashboard.i18n import t

# Largest phrasing file accepted, in bytes: thousands of classes in several languages fit.
MAX_PHRASING_FILE_BYTES = 1_000_000
LABEL_SOURCES = ("classes", "file")


def main() -> None:
    """Draw the Evaluate page."""
    st.title(t("evaluate.title"))
    st.caption(t("evaluate.tagline"))
    with st.sidebar:
        models_slot = st.container()
    policy = access.server_policy()
    data = data_ui(policy)

    core = engine.engine_ui()
    default_model = core.DEFAULT_MODEL_ID if core.is_cached(core.DEFAULT_MODEL_ID) else core.DEMO_MODEL_ID
    st.session_state.setdefault(state.MODELS, [default_model])
    with models_slot:
        models = model_choice.models_ui(core)
    phrasings, preset, labels_ready = labels_ui(core)

    run_ui(core, data, models, phrasings, preset, labels_ready, policy)
    stored = st.session_state.get(state.EVAL_RESULT)
    if stored is None:
        return
    result, preset_used = stored
    st.divider()
    evaluation_views.evaluation_ui(result, "eval", policy, preset_used)
    runs.save_run_ui(state.EVAL_RUN_NAME, "eval_save", state.EVAL_MESSAGE, evaluation_run_maker(result))


def data_ui(policy: paths.FilesystemPolicy) -> str | None:
    """Draw the labelled set path field; return the path when the server's policy allows it."""
    st.subheader(t("evaluate.data_header"))
    access.policy_notice_ui(policy)
    text = st.text_input(t("evaluate.data"), key=state.EVAL_DATA, placeholder=t("evaluate.data_placeholder"),
                         help=t("evaluate.data_help"), disabled=policy.disabled).strip()
    if not text or policy.disabled:
        return None
    try:
        return str(policy.check(text))
    except paths.PathNotAllowedError as error:
        access.refused_ui(error)
        return None


def labels_ui(core: ModuleType) -> tuple[list | dict | None, str | None, bool]:
    """Draw the choice of labels; return the phrasings for core.evaluate, the preset name and readiness.

    The phrasings are None for the class names as labels, a preset's phrasing file
    content, or the sets parsed from an uploaded phrasing file.
    """
    from core.presets import PRESETS

    st.subheader(t("evaluate.labels_header"))
    options = list(LABEL_SOURCES) + list(PRESETS)
    choice = st.radio(t("evaluate.labels"), options, key=state.EVAL_LABELS, horizontal=True,
                      format_func=lambda option: t(f"evaluate.labels_{option}"))
    if choice == "classes":
        st.caption(t("evaluate.classes_hint"))
        return None, None, True
    if choice == "file":
        parsed = phrasing_file_ui(core)
        return parsed, None, parsed is not None

    preset = PRESETS[choice]
    st.caption(t("evaluate.preset_hint", classes=len(preset.classes),
                 sets=", ".join(phrasing.name for phrasing in preset.phrasings)))
    return preset.phrasing_file(), choice, True


def phrasing_file_ui(core: ModuleType) -> list | None:
    """Draw the phrasing file upload; return its parsed sets, or None with a message."""
    from core.evaluate import parse_phrasings

    upload = st.file_uploader(t("evaluate.phrasing_file"), type=["json"], key=state.EVAL_PHRASING_FILE,
                              help=t("evaluate.phrasing_file_help"))
    if upload is None:
        st.info(t("evaluate.need_phrasing_file"))
        return None
    data = upload.getvalue()
    try:
        if len(data) > MAX_PHRASING_FILE_BYTES:
            raise core.PhrasingFileError(f"the file has {len(data):,} bytes, over the limit of "
                                         f"{MAX_PHRASING_FILE_BYTES:,}")
        parsed = parse_phrasings(json.loads(data.decode("utf-8")), upload.name)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        st.error(t("evaluate.bad_phrasing_file", name=upload.name, detail=str(error)))
        return None
    except core.PhrasingError as error:
        st.error(t("evaluate.bad_phrasing_file", name=upload.name, detail=str(error)))
        return None
    st.caption(t("evaluate.phrasing_file_sets", sets=", ".join(phrasing.name for phrasing in parsed)))
    return parsed


def run_ui(core: ModuleType, data: str | None, models: list[str], phrasings, preset: str | None,
           labels_ready: bool, policy: paths.FilesystemPolicy) -> None:
    """Draw the Evaluate button; on a press, evaluate and keep the result in the session."""
    from dashboard import fast_mode

    twins = [twin for _, twin in fast_mode.fast_pairs(models) if twin not in models]
    if twins:
        st.caption(t("evaluate.twins_added", models=", ".join(twins)))
    if not models:
        st.info(t("results.no_models"))
    pressed = st.button(t("evaluate.run"), key="evaluate_button", type="primary", icon=":material/play_arrow:",
                        disabled=not (data and models and labels_ready))
    if not pressed:
        return
    result = evaluate_ui(core, data, models + twins, phrasings, policy)
    if result is not None:
        st.session_state[state.EVAL_RESULT] = (result, preset)


def evaluate_ui(core: ModuleType, data: str, models: list[str], phrasings, policy: paths.FilesystemPolicy):
    """Run core.evaluate with a progress bar; return the result, or None after a message."""
    from core.labelled import read_labelled_set

    bar = st.progress(0.0)

    def report(model_id: str, stage: str, done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 0.0, text=views.progress_text(model_id, stage, done, total))

    try:
        labelled = within_policy(read_labelled_set(data), policy)
        return core.evaluate(labelled, models, phrasings, errors="collect", progress=report)
    except core.ClipCompareError as error:
        st.error(t("evaluate.failed", detail=str(error)))
        return None
    finally:
        bar.empty()


def within_policy(labelled, policy: paths.FilesystemPolicy):
    """Drop the images of a labelled set that lie outside the allowed roots, reporting each as skipped.

    A CSV row may name any path, and a class folder may contain a link to a file
    elsewhere, so each image is checked, not only the set's own path.
    """
    if not policy.restricted:
        return labelled
    kept, refused = [], []
    for item in labelled.images:
        try:
            policy.check(item.path)
        except paths.PathNotAllowedError as error:
            refused.append({"kind": "image", "name": item.name, "message": str(error)})
            continue
        kept.append(item)
    return dataclasses.replace(labelled, images=kept, errors=labelled.errors + refused)


def evaluation_run_maker(result):
    """Return a function that wraps the evaluation as a Run under the name given."""
    def make_run(name: str):
        from core.experiment import evaluation_run

        return evaluation_run(result, name)

    return make_run


if __name__ == "__main__":
    main()
