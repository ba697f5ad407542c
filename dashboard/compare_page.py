"""The Compare page: images × models × phrasing sets, side by side.

``dashboard/app.py`` runs this file as the default page of ``st.navigation``.
``main()`` draws the page top to bottom and each ``*_ui`` function draws one part
and returns what the user chose. All computing happens in ``core``, which is
imported only after the header and the image gallery are drawn, because importing
it imports PyTorch.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import ModuleType

import streamlit as st

from dashboard import engine, i18n, inputs, model_choice, state
from dashboard.i18n import t
from dashboard.settings import PhrasingSettings, SettingsError, parse, to_json

SAMPLE_COLUMNS = 2
SETS_PER_ROW = 3


def main() -> None:
    """Draw the Compare page: images, models and phrasing sets in, probabilities side by side out."""
    samples = inputs.sample_images()
    state.init_page([sample.file for sample in samples])

    st.title(t("app.title"))
    st.caption(t("app.tagline"))
    with st.sidebar:
        st.header(t("images.header"))
        chosen_samples = sample_gallery_ui(samples)
        shapes_slot = st.container()
        uploads = uploads_ui()
        models_slot = st.container()
        settings_slot = st.container()

    core = engine.engine_ui()
    real_model_cached = core.is_cached(core.DEFAULT_MODEL_ID)
    state.init_models_and_sets(
        [core.DEFAULT_MODEL_ID] if real_model_cached else [core.DEMO_MODEL_ID],
        "photos" if real_model_cached else "shapes",
    )
    if not real_model_cached:
        offline_notice_ui(core)
    with shapes_slot:
        use_shapes = shapes_example_ui()
    with models_slot:
        models = model_choice.models_ui(core)
    drafts, phrasings = phrasing_sets_ui(core)
    with settings_slot:
        settings_ui(core, samples, [name for name, _ in uploads], models, drafts)

    images = images_ui(chosen_samples, use_shapes, uploads)
    results_ui(core, images, models, phrasings, chosen_samples)


def sample_gallery_ui(samples) -> list[str]:
    """Draw a thumbnail and a tick box per sample photograph; return the ticked file names."""
    st.caption(t("images.samples_hint"))
    columns = st.columns(SAMPLE_COLUMNS)
    for index, sample in enumerate(samples):
        with columns[index % SAMPLE_COLUMNS]:
            st.image(inputs.thumbnail_png(str(sample.path), sample.path.stat().st_mtime_ns), width="stretch")
            label = sample.label_es if st.session_state[state.LANGUAGE] == "es" else sample.label_en
            st.checkbox(Path(sample.file).stem.replace("_", " "), key=state.sample_key(sample.file), help=label)
    return [sample.file for sample in samples if st.session_state[state.sample_key(sample.file)]]


def uploads_ui() -> list[tuple[str, bytes]]:
    """Draw the multi-file uploader; return each file's name and bytes."""
    files = st.file_uploader(t("images.upload"), accept_multiple_files=True, key=state.UPLOADS,
                             help=t("images.upload_help"))
    return [(file.name, file.getvalue()) for file in files or []]


def offline_notice_ui(core: ModuleType) -> None:
    """Explain that the page starts with the demo model, and which models would download and how much."""
    from dashboard import views

    missing = [info for info in core.CURATED_MODELS if info.model_id != core.DEMO_MODEL_ID
               and not core.is_cached(info.model_id)]
    st.info(t("models.offline_notice", default=core.DEFAULT_MODEL_ID, models=views.download_list(missing)),
            icon=":material/cloud_off:")


def shapes_example_ui() -> bool:
    """Draw the generated shapes example with its tick box; return whether it is ticked."""
    example = inputs.shapes_example()
    left, right = st.columns([1, 2])
    left.image(inputs.thumbnail_of_loaded(example.sha256, example.image), width="stretch")
    right.checkbox(t("images.shapes"), key=state.SHAPES,
                   help=t("images.shapes_help", caption=inputs.shapes_example_caption(i18n.language())))
    return bool(st.session_state[state.SHAPES])


def images_ui(chosen_samples: list[str], use_shapes: bool, uploads: list[tuple[str, bytes]]) -> list:
    """Decode the chosen images; show a message for each unusable one and keep the others."""
    from core.errors import ImageError

    images, used_names = [], set()
    for file in chosen_samples:
        try:
            images.append(inputs.load_sample(file))
        except ImageError as error:  # A sample file damaged or removed in this copy.
            st.error(t("errors.image", name=file, detail=error.reason))
            continue
        used_names.add(file)
    if use_shapes:
        images.append(inputs.shapes_example())
        used_names.add(inputs.SHAPES_EXAMPLE_NAME)

    for name, data in uploads:
        try:
            loaded = inputs.decode_upload(name, data)
        except ImageError as error:
            st.error(t("errors.image", name=name, detail=error.reason))
            continue
        unique = inputs.unique_name(name, used_names)
        used_names.add(unique)
        images.append(loaded if unique == name else dataclasses.replace(loaded, name=unique))
    return images


def phrasing_sets_ui(core: ModuleType) -> tuple[list[PhrasingSettings], list]:
    """Draw the phrasing set editors; return every set as typed and the valid PhrasingSet objects."""
    with st.expander(t("sets.header"), expanded=True, key="sets_expander"):
        st.caption(t("sets.hint"))
        preset_ui()
        drafts, phrasings = [], []
        set_ids = state.set_ids()
        for row_start in range(0, len(set_ids), SETS_PER_ROW):
            columns = st.columns(SETS_PER_ROW)
            for column, set_id in zip(columns, set_ids[row_start:row_start + SETS_PER_ROW]):
                with column, st.container(border=True):
                    draft, phrasing = phrasing_set_ui(core, set_id, removable=len(set_ids) > 1)
                drafts.append(draft)
                if phrasing is not None:
                    phrasings.append(phrasing)
        return drafts, unique_set_names(phrasings)


def preset_ui() -> None:
    """Draw the ready-made pairs and the add button."""
    preset_column, load_column, add_column = st.columns([3, 1, 1], vertical_alignment="bottom")
    preset_column.selectbox(t("sets.preset"), options=list(inputs.PRESETS), key=state.PRESET,
                            format_func=lambda preset: t(f"presets.{preset}"))
    load_column.button(t("sets.load_preset"), key="load_preset", on_click=_load_preset, width="stretch")
    add_column.button(t("sets.add"), key="add_set", on_click=_add_blank_set, width="stretch",
                      icon=":material/add:")


def _load_preset() -> None:
    state.replace_sets(inputs.PRESETS[st.session_state[state.PRESET]]())


def _add_blank_set() -> None:
    number = len(state.set_ids()) + 1
    state.add_set(PhrasingSettings(t("sets.new_name", number=number), (), "none"))


def phrasing_set_ui(core: ModuleType, set_id: int, removable: bool):
    """Draw one phrasing set's fields; return it as typed and as a PhrasingSet, or None if invalid."""
    from dashboard import views

    name = st.text_input(t("sets.name"), key=state.set_key(set_id, "name"))
    text = st.text_area(t("sets.labels"), key=state.set_key(set_id, "labels"), height=220,
                        help=t("sets.labels_help"))
    options = list(core.TEMPLATE_SETS) + [state.CUSTOM_TEMPLATES]
    choice = st.selectbox(t("sets.template"), options=options, key=state.set_key(set_id, "template"),
                          format_func=lambda option: views.template_name(option, core.TEMPLATE_SETS))
    templates: str | tuple[str, ...] = choice
    if choice == state.CUSTOM_TEMPLATES:
        custom = st.text_area(t("sets.custom"), key=state.set_key(set_id, "custom"), height=90,
                              help=t("sets.custom_help"))
        templates = tuple(line.strip() for line in custom.splitlines() if line.strip())

    labels, dropped = core.prompts.split_label_text(text)
    if dropped:
        st.caption(t("sets.dropped", count=dropped))
    st.button(t("sets.remove"), key=f"remove_set_{set_id}", on_click=state.remove_set, args=(set_id,),
              disabled=not removable, icon=":material/delete:", type="tertiary")

    draft = PhrasingSettings(name, tuple(labels), templates)
    if not labels:
        st.info(t("sets.empty"))
        return draft, None
    try:
        phrasing = core.make_phrasing_set(name, labels, templates)
    except core.PhrasingError as error:
        st.error(t("errors.phrasing", name=name or "?", detail=str(error)))
        return draft, None
    st.caption(t("sets.example_prompt", prompt=phrasing.prompts(phrasing.labels[0])[0],
                 count=len(phrasing.templates)))
    return draft, phrasing


def unique_set_names(phrasings: list) -> list:
    """Keep the first set of each name and explain why the others are left out."""
    kept, seen = [], set()
    for phrasing in phrasings:
        if phrasing.name in seen:
            st.error(t("errors.duplicate_set", name=phrasing.name))
            continue
        seen.add(phrasing.name)
        kept.append(phrasing)
    return kept


def settings_ui(core: ModuleType, samples, upload_names: list[str], models: list[str],
                drafts: list[PhrasingSettings]) -> None:
    """Draw the experiment settings download and upload."""
    st.header(t("settings.header"))
    sample_files = [sample.file for sample in samples]
    current = state.current_settings(sample_files, upload_names, models, drafts)
    st.download_button(t("settings.download"), data=to_json(current).encode("utf-8"),
                       file_name="clip-compare-settings.json", mime="application/json",
                       key="settings_download", on_click="ignore", icon=":material/download:")
    st.file_uploader(t("settings.upload"), type=["json"], key=state.SETTINGS_UPLOAD,
                     on_change=_apply_uploaded_settings,
                     args=(sample_files, [info.model_id for info in core.CURATED_MODELS], tuple(core.TEMPLATE_SETS)))

    message = st.session_state.pop(state.SETTINGS_MESSAGE, None)
    if message is not None:
        kind, key, values = message
        (st.error if kind == "error" else st.success)(t(key, **values))


def _apply_uploaded_settings(sample_files: list[str], curated_ids: list[str], template_names: tuple[str, ...]) -> None:
    upload = st.session_state.get(state.SETTINGS_UPLOAD)
    if upload is None:
        return
    try:
        settings = parse(upload.getvalue())
    except SettingsError as error:
        st.session_state[state.SETTINGS_MESSAGE] = ("error", "settings.invalid", {"detail": str(error)})
        return

    # A template string that is not a built-in set name is one custom template, as core reads it.
    sets = tuple(
        draft if not isinstance(draft.templates, str) or draft.templates in template_names
        else dataclasses.replace(draft, templates=(draft.templates,))
        for draft in settings.phrasing_sets
    )
    missing = state.apply_settings(dataclasses.replace(settings, phrasing_sets=sets), sample_files, curated_ids)
    values = {"missing": ", ".join(missing + list(settings.uploads)) or "—"}
    st.session_state[state.SETTINGS_MESSAGE] = ("success", "settings.loaded", values)


def results_ui(core: ModuleType, images: list, models: list[str], phrasings: list,
               chosen_samples: list[str]) -> None:
    """Classify (or reuse this session's earlier result), draw the chosen view and offer to save the run."""
    from dashboard import fast_mode, runs, views

    st.divider()
    for missing, key in ((images, "results.no_images"), (models, "results.no_models"), (phrasings, "results.no_sets")):
        if not missing:
            st.info(t(key))
            return

    key = (tuple((image.name, image.sha256) for image in images), tuple(models), tuple(phrasings))
    table = state.cached_results(key)
    if table is None:
        table = classify_ui(core, images, models, phrasings)
        if table is None:
            return
        state.store_results(key, table)

    views.problems_ui(table)
    if table.attrs.get("errors") and any(error["kind"] == "model" for error in table.attrs["errors"]):
        st.button(t("results.retry"), key="retry", on_click=state.forget_results, args=(key,),
                  icon=":material/refresh:")
    if table.empty:
        return
    views.results_views_ui(views.Results(table, images, models, phrasings))
    fast_mode.agreement_ui(*fast_mode.agreements(table, fast_mode.comparison_twin(core, images, phrasings)))
    runs.save_run_ui(state.COMPARE_RUN_NAME, "compare_save", state.COMPARE_MESSAGE,
                     comparison_run_maker(table, images, models, phrasings, chosen_samples))


def comparison_run_maker(table, images: list, models: list[str], phrasings: list, chosen_samples: list[str]):
    """Return a function that wraps this comparison as a Run; sample photos are recorded by their path."""
    def make_run(name: str):
        from core.experiment import comparison_run, comparison_settings

        sources = {image.name: str(inputs.SAMPLE_DIR / image.name) if image.name in chosen_samples else image
                   for image in images}
        return comparison_run(table, comparison_settings(sources, phrasings, models), name)

    return make_run


def classify_ui(core: ModuleType, images: list, models: list[str], phrasings: list):
    """Run core.classify with a progress bar per model and stage; None after an error."""
    from dashboard import views

    slot = st.empty()
    area = slot.container()
    bars = {}

    def report(model_id: str, stage: str, done: int, total: int) -> None:
        if (model_id, stage) not in bars:
            bars[model_id, stage] = area.progress(0.0)
        fraction = min(done / total, 1.0) if total else 0.0
        bars[model_id, stage].progress(fraction, text=views.progress_text(model_id, stage, done, total))

    try:
        with st.spinner(t("results.running", count=len(models))):
            table = core.classify({image.name: image for image in images}, phrasings, models,
                                  errors="collect", progress=report)
    except core.ClipCompareError as error:
        st.error(t("errors.run", detail=str(error)))
        return None
    finally:
        slot.empty()
    return table


if __name__ == "__main__":
    main()
