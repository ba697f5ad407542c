"""Views of an evaluation result, shared by the Evaluate page and by a run reopened on the History page.

Every view reads the tables of a ``core.evaluate.EvaluationResult``; none runs a
model. ``key`` keeps the widget keys of the two pages apart.
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dashboard import charts, fast_mode, inputs, paths, views
from dashboard.i18n import percent, t

WORST_IMAGES = 8
WORST_COLUMNS = 4
PERCENT_COLUMN = {"min_value": 0.0, "max_value": 1.0, "format": "percent"}


def evaluation_ui(result, key: str, policy: paths.FilesystemPolicy, preset: str | None = None) -> None:
    """Draw problems, metrics, agreement, fast mode, the confusion matrix and the worst images."""
    problems_ui(result)
    metrics_ui(result, preset)
    agreement_ui(result)
    fast_mode.agreement_ui(*fast_mode.agreements(result.results, lambda twin: result.results.iloc[0:0]))
    if result.metrics.empty:
        return
    model, phrasing = confusion_ui(result, key)
    worst_images_ui(result, model, phrasing, policy)


def problems_ui(result) -> None:
    """Show failed models and phrasing sets one by one, and skipped files in one folded table."""
    skipped = [problem for problem in result.errors if problem["kind"] not in ("model", "phrasing")]
    for problem in result.errors:
        if problem["kind"] in ("model", "phrasing"):
            st.error(t(f"errors.{problem['kind']}", name=problem["name"], detail=problem["message"]))
    if skipped:
        with st.expander(t("evaluate.skipped", count=len(skipped)), icon=":material/warning:"):
            st.dataframe(pd.DataFrame({t("columns.file"): [problem["name"] for problem in skipped],
                                       t("columns.reason"): [problem["message"] for problem in skipped]}),
                         hide_index=True)
    for warning in result.warnings:
        st.warning(warning)


def metrics_ui(result, preset: str | None) -> None:
    """Draw the metrics table, one row per model × phrasing set, with published figures for a preset."""
    st.subheader(t("evaluate.metrics_header"))
    metrics = result.metrics
    if preset is not None:
        from core.presets import PRESETS, compare_with_published

        metrics = compare_with_published(PRESETS[preset], metrics)
    shown = pd.DataFrame({
        t("columns.model"): metrics["model"],
        t("columns.phrasing"): metrics["phrasing"],
        t("columns.images"): metrics["images"],
        t("columns.labels"): metrics["labels"],
        t("columns.top1"): metrics["top1_accuracy"],
        t("columns.top5"): metrics["top5_accuracy"],
        t("columns.mean_recall"): metrics["mean_class_recall"],
    })
    percent_columns = [t("columns.top1"), t("columns.top5"), t("columns.mean_recall")]
    if "published_top1_accuracy" in metrics:
        shown[t("columns.published_top1")] = metrics["published_top1_accuracy"]
        st.caption(t("evaluate.published_hint"))
    st.dataframe(shown, hide_index=True, column_config={
        column: st.column_config.ProgressColumn(**PERCENT_COLUMN) for column in percent_columns
    })
    st.caption(t("evaluate.metrics_hint"))


def agreement_ui(result) -> None:
    """Draw how often two phrasing sets of one model pick the same class (English↔Spanish)."""
    if result.agreement.empty:
        return
    st.subheader(t("evaluate.agreement_header"))
    table = result.agreement
    st.dataframe(pd.DataFrame({
        t("columns.model"): table["model"],
        t("columns.set_a"): table["phrasing_a"],
        t("columns.set_b"): table["phrasing_b"],
        t("columns.images"): table["images"],
        t("columns.share"): table["agreement"],
        t("columns.both_correct"): table["both_correct"],
    }), hide_index=True, column_config={
        t("columns.share"): st.column_config.ProgressColumn(**PERCENT_COLUMN),
        t("columns.both_correct"): st.column_config.ProgressColumn(**PERCENT_COLUMN),
    })


def confusion_ui(result, key: str) -> tuple[str, str]:
    """Draw the model and phrasing set choice and their confusion matrix; return the choice."""
    st.subheader(t("evaluate.confusion_header"))
    model_column, phrasing_column = st.columns(2)
    model = choice_ui(model_column, t("columns.model"), list(dict.fromkeys(result.metrics["model"])),
                      f"{key}_cm_model")
    phrasing = choice_ui(phrasing_column, t("columns.phrasing"), list(dict.fromkeys(result.metrics["phrasing"])),
                         f"{key}_cm_phrasing")

    matrix = result.confusion_matrix(model, phrasing)
    chart = charts.confusion_heatmap(matrix, title=t("evaluate.confusion_title", model=model, phrasing=phrasing),
                                     true_title=t("charts.true_class"), predicted_title=t("charts.predicted_class"),
                                     count_title=t("charts.images"))
    spec = chart.to_dict(validate=False)
    st.vega_lite_chart(spec=spec, alt=t("evaluate.confusion_title", model=model, phrasing=phrasing))
    views.chart_downloads_ui(spec, f"confusion-{model}-{phrasing}", key=f"{key}_confusion")
    return model, phrasing


def choice_ui(column, label: str, options: list[str], key: str) -> str:
    """Draw a select box whose remembered value falls back to the first option when it is gone."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    return column.selectbox(label, options, key=key)


def worst_images_ui(result, model: str, phrasing: str, policy: paths.FilesystemPolicy) -> None:
    """Draw the images whose true label got the lowest probability, each with its top labels."""
    st.subheader(t("evaluate.worst_header", model=model, phrasing=phrasing))
    worst = result.worst_images(model, phrasing, count=WORST_IMAGES)
    if worst.empty:
        st.info(t("evaluate.no_worst"))
        return
    columns = st.columns(WORST_COLUMNS)
    for index, row in enumerate(worst.itertuples()):
        with columns[index % WORST_COLUMNS], st.container(border=True):
            thumbnail = image_thumbnail(row.path, policy)
            if thumbnail is None:
                st.caption(t("evaluate.no_thumbnail"))
            else:
                st.image(thumbnail, width="stretch")
            st.markdown(f"**{row.image}**")
            st.caption(t("evaluate.worst_truth", label=row.true_label, probability=percent(row.true_probability),
                         rank=row.true_rank))
            st.caption(t("evaluate.worst_top", labels=row.top_labels))


def image_thumbnail(path: str, policy: paths.FilesystemPolicy) -> bytes | None:
    """Return a thumbnail of an image file the policy allows, or None when it cannot be shown."""
    if not path:
        return None
    try:
        resolved = policy.check(path)
        return _thumbnail(str(resolved), os.stat(resolved).st_mtime_ns)
    except (paths.PathNotAllowedError, OSError, ValueError):
        return None


@st.cache_data(show_spinner=False, max_entries=256)
def _thumbnail(path: str, modified_ns: int) -> bytes | None:
    """Decode an image with core's checks (pixel limit included) and return a small PNG, or None."""
    from core.errors import ImageError
    from core.images import load_image

    try:
        loaded = load_image(path, name=os.path.basename(path))
    except ImageError:
        return None
    return inputs.thumbnail_of_loaded(loaded.sha256, loaded.image)
