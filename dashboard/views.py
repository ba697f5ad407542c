"""The result views: grid, summary, heatmap, difference and prompts, plus model facts.

Each view reads one result table from ``core.classify`` and draws it; none runs a
model, so switching views or their options costs no encoding.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import charts, inputs, state, summary
from dashboard.i18n import has_text, percent, t

VIEWS = ("grid", "summary", "heatmap", "difference", "prompts")


@dataclass(frozen=True)
class Results:
    """One classification: its tidy table and the inputs in the order the page shows them."""

    table: pd.DataFrame
    images: list
    models: list[str]
    phrasings: list

    @property
    def scored_models(self) -> list[str]:
        """Return the requested models that produced rows, in the order they were chosen."""
        present = set(self.table["model"])
        return [model for model in self.models if model in present]

    @property
    def label_counts(self) -> dict[str, int]:
        return {phrasing.name: len(phrasing.labels) for phrasing in self.phrasings}


def results_views_ui(results: Results) -> None:
    """Draw the view switch, the CSV download and the chosen view."""
    switch, download = st.columns([4, 1], vertical_alignment="bottom")
    view = switch.segmented_control(t("views.label"), VIEWS, format_func=lambda name: t(f"views.{name}"),
                                    key=state.VIEW, required=True)
    download.download_button(t("downloads.csv"), data=lambda: results.table.to_csv(index=False).encode("utf-8"),
                             file_name="clip-compare-results.csv", mime="text/csv", key="download_csv",
                             on_click="ignore", icon=":material/download:", width="stretch")
    {"grid": grid_view, "summary": summary_view, "heatmap": heatmap_view,
     "difference": difference_view, "prompts": prompts_view}[view](results)


def axis_titles(sigmoid: bool = False) -> charts.AxisTitles:
    """Return the translated axis titles; sigmoid scores are not called probabilities."""
    return charts.AxisTitles(
        label=t("charts.label"),
        probability=t("charts.score" if sigmoid else "charts.probability"),
        model=t("charts.model"),
        image=t("charts.image"),
        difference=t("charts.difference"),
    )


def grid_view(results: Results) -> None:
    """Draw, per image, a row per phrasing set and a column per model, one bar chart per cell."""
    st.caption(t("grid.hint"))
    models = results.scored_models
    for image_index, image in enumerate(results.images):
        rows = results.table[results.table["image"] == image.name]
        with st.container(border=True):
            picture, cells = st.columns([1, 6])
            picture.image(inputs.thumbnail_of_loaded(image.sha256, image.image), caption=image.name,
                          width="stretch")
            with cells:
                for set_index, phrasing in enumerate(results.phrasings):
                    for model_index, (column, model) in enumerate(zip(st.columns(len(models)), models)):
                        cell = rows[(rows["model"] == model) & (rows["phrasing"] == phrasing.name)]
                        with column:
                            grid_cell_ui(cell, image.name, phrasing.name, model,
                                         key=f"{image_index}_{set_index}_{model_index}")


def grid_cell_ui(cell: pd.DataFrame, image: str, phrasing: str, model: str, key: str) -> None:
    """Draw one cell: the bar chart, its top label in words, and a PNG download."""
    if cell.empty:
        st.caption(t("grid.no_result", phrasing=phrasing, model=model))
        return
    sigmoid = cell["probability_kind"].iat[0] == "sigmoid"
    top = cell.loc[cell["rank"] == 1].iloc[0]
    top_probability = percent(top["probability"])
    spec = chart_spec("bars", cell[["label_index", "label", "probability", "rank"]], title=f"{phrasing} · {model}",
                      subtitle=t("charts.sigmoid_subtitle" if sigmoid else "charts.softmax_subtitle"),
                      titles=axis_titles(sigmoid), sigmoid=sigmoid)
    description = t("grid.alt", phrasing=phrasing, model=model, image=image, label=top["label"],
                    probability=top_probability)
    st.vega_lite_chart(spec=spec, width="stretch", height=charts.bars_height(len(cell)), alt=description)

    caption, download = st.columns([4, 1], vertical_alignment="center")
    caption.caption(t("grid.top", label=top["label"], probability=top_probability))
    download.download_button("PNG", data=functools.partial(charts.to_png, spec), mime="image/png",
                             file_name=file_name(image, phrasing, model, suffix="png"), key=f"png_{key}",
                             on_click="ignore", type="tertiary", icon=":material/download:",
                             help=t("downloads.chart_help"))


@st.cache_data(show_spinner=False, max_entries=1024)
def chart_spec(kind: str, data: pd.DataFrame, **options) -> dict:
    """Build a chart with ``charts`` and return its Vega-Lite spec, cached by data and options.

    Altair validates a chart against the Vega-Lite schema on every ``to_dict()``. That
    costs a large share of a rerun with many cells, so each spec is converted once,
    without validation here. The tests validate each chart kind.
    """
    builders = {"bars": charts.probability_bars, "heatmap": charts.heatmap, "difference": charts.difference_bars}
    return builders[kind](data, **options).to_dict(validate=False)


def summary_view(results: Results) -> None:
    """Draw the top label of every image × model × phrasing set, with agreement and consistency."""
    top = summary.add_agreement(summary.top_labels(results.table), results.label_counts)
    st.subheader(t("summary.top_header"))
    st.caption(t("summary.top_hint"))
    shown = pd.DataFrame({
        t("columns.image"): top["image"],
        t("columns.model"): top["model"],
        t("columns.phrasing"): top["phrasing"],
        t("columns.top_label"): top["label"],
        t("columns.probability"): top["probability"],
        t("columns.kind"): top["probability_kind"].map(lambda kind: t(f"kind.{kind}")),
        t("columns.models_agree"): top["models_agree"].map(_yes_no),
        t("columns.phrasings_agree"): top["phrasings_agree"].map(_yes_no),
    })
    st.dataframe(shown, hide_index=True, key="summary_table", column_config={
        t("columns.probability"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
    })

    st.subheader(t("summary.consistency_header"))
    pairs = summary.paired_sets(results.label_counts)
    if not pairs:
        st.info(t("summary.no_pairs"))
        return
    st.caption(t("summary.consistency_hint"))
    table = summary.consistency(top, pairs)
    st.dataframe(pd.DataFrame({
        t("columns.model"): table["model"],
        t("columns.set_a"): table["set_a"],
        t("columns.set_b"): table["set_b"],
        t("columns.agreeing"): [t("summary.agreeing", agreeing=agreeing, images=images)
                                for agreeing, images in zip(table["agreeing"], table["images"])],
        t("columns.share"): table["share"],
    }), hide_index=True, key="consistency_table", column_config={
        t("columns.share"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
    })


def _yes_no(value) -> str:
    if value is None or pd.isna(value):
        return "—"
    return t("summary.yes") if value else t("summary.no")


def heatmap_view(results: Results) -> None:
    """Draw labels × models for one phrasing set, one panel per image."""
    names = [phrasing.name for phrasing in results.phrasings]
    if st.session_state.get("heatmap_set") not in names:
        st.session_state["heatmap_set"] = names[0]
    chosen = st.selectbox(t("heatmap.set"), names, key="heatmap_set")
    data = summary.heatmap_table(results.table, chosen, t("charts.sigmoid_mark"))
    if data.empty:
        st.info(t("heatmap.empty", name=chosen))
        return
    if data["model_label"].str.endswith(t("charts.sigmoid_mark")).any():
        st.caption(t("heatmap.sigmoid_note", mark=t("charts.sigmoid_mark")))
    spec = chart_spec("heatmap", data, title=t("heatmap.title", name=chosen), titles=axis_titles())
    st.vega_lite_chart(spec=spec, alt=t("heatmap.alt", name=chosen))
    chart_downloads_ui(spec, f"heatmap-{chosen}", key="heatmap")


def difference_view(results: Results) -> None:
    """Draw, for two paired phrasing sets, the change in each label's probability."""
    counts = results.label_counts
    pairs = summary.paired_sets(counts)
    if not pairs:
        st.info(t("difference.no_pairs"))
        return
    names = [name for name in counts if any(name in pair for pair in pairs)]
    if st.session_state.get("difference_a") not in names:
        st.session_state["difference_a"] = pairs[0][0]
    first_column, second_column = st.columns(2)
    first = first_column.selectbox(t("difference.first"), names, key="difference_a")
    partners = [name for name in names if name != first and counts[name] == counts[first]]
    if st.session_state.get("difference_b") not in partners:
        st.session_state["difference_b"] = partners[0]
    second = second_column.selectbox(t("difference.second"), partners, key="difference_b")

    data = summary.difference_table(results.table, first, second, t("charts.sigmoid_mark"))
    spec = chart_spec("difference", data, title=t("difference.title", first=first, second=second),
                      subtitle=t("difference.subtitle", first=first, second=second), titles=axis_titles())
    st.vega_lite_chart(spec=spec, alt=t("difference.title", first=first, second=second))
    chart_downloads_ui(spec, f"difference-{first}-{second}", key="difference")


def prompts_view(results: Results) -> None:
    """Draw the exact prompts each model encoded, with token counts and truncation warnings."""
    prompts = pd.DataFrame(results.table.attrs.get("prompts", []))
    if prompts.empty:
        st.info(t("prompts.empty"))
        return
    for row in prompts[prompts["truncated"]].itertuples():
        st.warning(t("prompts.truncated", model=row.model, label=row.label, tokens=row.tokens,
                     context=row.context_length))
    st.caption(t("prompts.hint"))
    for model in results.scored_models:
        rows = prompts[prompts["model"] == model]
        st.subheader(model)
        st.caption(t("prompts.context", length=int(rows["context_length"].iat[0])))
        st.dataframe(pd.DataFrame({
            t("columns.phrasing"): rows["phrasing"],
            t("columns.label"): rows["label"],
            t("columns.prompt"): rows["prompt"],
            t("columns.tokens"): rows["tokens"],
            t("columns.truncated"): rows["truncated"].map(_yes_no),
        }), hide_index=True, key=f"prompts_{model}")


def problems_ui(table: pd.DataFrame) -> None:
    """Show each image, model or phrasing set that core could not use, and the prompt warnings."""
    for problem in table.attrs.get("errors", []):
        st.error(t(f"errors.{problem['kind']}", name=problem["name"], detail=problem["message"]))
    truncated = sum(1 for prompt in table.attrs.get("prompts", []) if prompt["truncated"])
    if truncated:
        st.warning(t("prompts.truncated_count", count=truncated))


def chart_downloads_ui(spec: dict, stem: str, key: str) -> None:
    """Draw PNG and SVG download buttons for a chart; the files are rendered only on click."""
    png, svg, _ = st.columns([1, 1, 6])
    png.download_button("PNG", data=functools.partial(charts.to_png, spec), mime="image/png",
                        file_name=file_name(stem, suffix="png"), key=f"png_{key}", on_click="ignore",
                        icon=":material/download:", help=t("downloads.chart_help"))
    svg.download_button("SVG", data=functools.partial(charts.to_svg, spec), mime="image/svg+xml",
                        file_name=file_name(stem, suffix="svg"), key=f"svg_{key}", on_click="ignore",
                        icon=":material/download:", help=t("downloads.chart_help"))


def file_name(*parts: str, suffix: str) -> str:
    """Join parts into a file name of letters, digits, dots, dashes and underscores."""
    stem = "-".join(re.sub(r"[^\w.]+", "_", part).strip("_") for part in parts)
    return f"{stem}.{suffix}"


def model_name(info) -> str:
    """Return a curated model's display name; the demo's name says it is a demo."""
    return t("models.demo_name") if info.model_id == "demo" else info.display_name


def model_status(info, cached: bool) -> str:
    if info.model_id == "demo":
        return t("models.status_demo")
    return t("models.status_cached") if cached else t("models.status_download", size=info.download_mb)


def model_facts(info, cached: bool) -> str:
    """Return one line of facts about a curated model: family, languages, size, cache state."""
    return t("models.facts_line", family=t(f"kind.{info.family}"), languages=t(f"languages.{info.languages}"),
             params=info.params_m, status=model_status(info, cached))


def model_description(info) -> str:
    key = f"model_descriptions.{info.model_id}"
    return t(key) if has_text(key) else info.description


def model_table(curated, cached: dict[str, bool]) -> pd.DataFrame:
    """Return the curated models' facts as a table with translated column names."""
    return pd.DataFrame({
        t("columns.model_name"): [model_name(info) for info in curated],
        t("columns.model_id"): [info.model_id for info in curated],
        t("columns.kind"): [t(f"kind.{info.family}") for info in curated],
        t("columns.languages"): [t(f"languages.{info.languages}") for info in curated],
        t("columns.params"): [info.params_m for info in curated],
        t("columns.imagenet"): [info.imagenet_top1 for info in curated],
        t("columns.status"): [model_status(info, cached[info.model_id]) for info in curated],
        t("columns.description"): [model_description(info) for info in curated],
    })


def download_list(infos) -> str:
    """Return "name (about N MB), …" for models that would be downloaded."""
    return ", ".join(t("models.download_item", name=model_name(info), size=info.download_mb) for info in infos)


def template_name(option: str, template_sets: dict[str, tuple[str, ...]]) -> str:
    """Describe a template choice: a built-in set by its first template and size, or custom."""
    key = f"templates.{option}"
    if has_text(key):
        return t(key)
    templates = template_sets.get(option, ())
    return t("templates.other", name=option, first=templates[0] if templates else "", count=len(templates))


def progress_text(model_id: str, stage: str, done: int, total: int) -> str:
    """Describe one progress step of core.classify or core.evaluate in the chosen language."""
    if stage == "read":
        return t("progress.read", done=done, total=total)
    if stage == "download":
        return t("progress.download", model=model_id, done=done / 1e6, total=total / 1e6)
    return t(f"progress.{stage}", model=model_id, done=done, total=total)
