"""Altair charts of classification results: pure functions from DataFrame to chart.

Every probability axis spans 0 to 1, so bars in different cells can be compared by
eye. Softmax models (probabilities over the labels, summing to 1) and sigmoid models
(an independent score per label) get different colours and axis titles, because the
two kinds of number are not comparable. The callers pass every title already
translated, so this module contains no user-facing text.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd
import vl_convert

# Colours of the top label and of the other labels, per probability kind.
SOFTMAX_COLOURS = ("#1c64b4", "#b9cde5")
SIGMOID_COLOURS = ("#c2410c", "#f3c9ae")
POSITIVE_COLOUR = "#1c64b4"
NEGATIVE_COLOUR = "#c2410c"

BAR_HEIGHT = 24
HEATMAP_STEP = 72
DIFFERENCE_WIDTH = 320
CONFUSION_STEP = 34
# Room for the title, subtitle and x axis around the bars of one grid cell, in pixels.
BARS_FRAME_HEIGHT = 115
# Percentages above this share of the axis are written inside the bar, so they stay in the plot,
# starting this share of the axis before the bar's end.
INSIDE_LABEL_THRESHOLD = 0.8
INSIDE_LABEL_SHIFT = 0.17


@dataclass(frozen=True)
class AxisTitles:
    """Translated names of the fields that charts show in axes, legends and tooltips."""

    label: str
    probability: str
    model: str
    image: str
    difference: str


def probability_bars(cell: pd.DataFrame, *, title: str, subtitle: str, titles: AxisTitles,
                     sigmoid: bool) -> alt.LayerChart:
    """Draw one grid cell: a bar per label, the top-ranked label in a strong colour.

    ``cell`` contains the rows of one image × model × phrasing set, with the columns
    label_index, label, probability and rank of ``core.classify``'s table.
    """
    data = cell[["label_index", "label", "probability", "rank"]].copy()
    data["top"] = data["rank"] == 1
    top_colour, other_colour = SIGMOID_COLOURS if sigmoid else SOFTMAX_COLOURS

    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=label_order(data), title=None,
                axis=alt.Axis(labelLimit=220, labelOverlap=False)),
        tooltip=[alt.Tooltip("label:N", title=titles.label),
                 alt.Tooltip("probability:Q", title=titles.probability, format=".2%")],
    )
    bars = base.mark_bar().encode(
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", title=titles.probability, tickCount=5)),
        color=alt.Color("top:N", scale=alt.Scale(domain=[False, True], range=[other_colour, top_colour]),
                        legend=None),
    )
    # A percentage starts after its bar, or inside a bar that nearly fills the axis, in white.
    inside = f"datum.probability > {INSIDE_LABEL_THRESHOLD}"
    percentages = base.transform_calculate(
        text_x=f"{inside} ? datum.probability - {INSIDE_LABEL_SHIFT} : datum.probability",
    ).mark_text(align="left", dx=3).encode(
        x=alt.X("text_x:Q", scale=alt.Scale(domain=[0, 1])),
        text=alt.Text("probability:Q", format=".1%"),
        color=alt.condition(inside, alt.value("white"), alt.value("black")),
    )
    return alt.layer(bars, percentages).properties(
        title=alt.TitleParams(title, subtitle=subtitle, anchor="start"),
        height=BAR_HEIGHT * len(data),
    )


def label_order(data: pd.DataFrame, column: str = "label") -> list[str]:
    """Return the labels in the order the user typed them.

    An explicit list, because a sort by field is dropped when layers with different
    transforms share the axis, and the labels would then appear alphabetically.
    """
    return list(dict.fromkeys(data.sort_values("label_index", kind="stable")[column]))


def bars_height(label_count: int) -> int:
    """Return the full height in pixels of a ``probability_bars`` chart with ``label_count`` bars.

    Streamlit fits the whole chart, title and axes included, into the height it is
    given, so the page passes this height rather than the height of the bars alone.
    """
    return BAR_HEIGHT * label_count + BARS_FRAME_HEIGHT


def heatmap(data: pd.DataFrame, *, title: str, titles: AxisTitles, columns: int = 3) -> alt.FacetChart:
    """Draw labels × models for one phrasing set, one panel per image.

    ``data`` has the columns image, model_label, label_index, label and
    probability, and model_label is the model id with its probability kind marked.
    """
    base = alt.Chart().encode(
        x=alt.X("model_label:N", title=titles.model, axis=alt.Axis(labelAngle=-30, labelLimit=200)),
        y=alt.Y("label:N", sort=label_order(data), title=titles.label,
                axis=alt.Axis(labelLimit=220, labelOverlap=False)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("probability:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"),
                        legend=alt.Legend(format="%", title=titles.probability)),
        tooltip=[alt.Tooltip("image:N", title=titles.image), alt.Tooltip("model_label:N", title=titles.model),
                 alt.Tooltip("label:N", title=titles.label),
                 alt.Tooltip("probability:Q", title=titles.probability, format=".2%")],
    )
    values = base.mark_text(fontSize=11).encode(
        text=alt.Text("probability:Q", format=".0%"),
        color=alt.condition("datum.probability > 0.5", alt.value("white"), alt.value("black")),
    )
    return alt.layer(cells, values, data=data).properties(width=alt.Step(HEATMAP_STEP)).facet(
        facet=alt.Facet("image:N", title=titles.image), columns=columns,
    ).properties(title=title)


def difference_bars(data: pd.DataFrame, *, title: str, subtitle: str, titles: AxisTitles) -> alt.FacetChart:
    """Draw, per image and model, how much each label's probability changes between two sets.

    ``data`` has the columns image, model_label, label_index, pair_label (label
    in set A → label in set B) and difference (B minus A, between -1 and 1).
    """
    base = alt.Chart().encode(
        y=alt.Y("pair_label:N", sort=label_order(data, "pair_label"), title=None,
                axis=alt.Axis(labelLimit=260, labelOverlap=False)),
    )
    bars = base.mark_bar().encode(
        x=alt.X("difference:Q", scale=alt.Scale(domain=[-1, 1]),
                axis=alt.Axis(format="+%", title=titles.difference, tickCount=5)),
        color=alt.condition("datum.difference >= 0", alt.value(POSITIVE_COLOUR), alt.value(NEGATIVE_COLOUR)),
        tooltip=[alt.Tooltip("image:N", title=titles.image), alt.Tooltip("model_label:N", title=titles.model),
                 alt.Tooltip("pair_label:N", title=titles.label),
                 alt.Tooltip("difference:Q", title=titles.difference, format="+.2%")],
    )
    zero = alt.Chart().mark_rule(color="#555").encode(x=alt.datum(0))
    return alt.layer(bars, zero, data=data).properties(width=DIFFERENCE_WIDTH).facet(
        row=alt.Row("image:N", title=titles.image, header=alt.Header(labelAngle=0, labelAlign="left")),
        column=alt.Column("model_label:N", title=titles.model), spacing=40,
    ).properties(title=alt.TitleParams(title, subtitle=subtitle, anchor="start"))


def confusion_heatmap(matrix: pd.DataFrame, *, title: str, true_title: str, predicted_title: str,
                      count_title: str) -> alt.LayerChart:
    """Draw a confusion matrix: true classes as rows, predicted classes as columns, image counts as colour.

    ``matrix`` is ``core.metrics.confusion_matrix``'s table, whose row and column
    order (the phrasing set's class order) is kept on both axes.
    """
    data = matrix.rename_axis(index="true", columns="predicted").stack().rename("count").reset_index()
    max_count = max(int(data["count"].max()), 1) if len(data) else 1
    base = alt.Chart(data).encode(
        x=alt.X("predicted:N", sort=[str(name) for name in matrix.columns], title=predicted_title,
                axis=alt.Axis(labelAngle=-40, labelLimit=180, orient="top")),
        y=alt.Y("true:N", sort=[str(name) for name in matrix.index], title=true_title,
                axis=alt.Axis(labelLimit=180)),
    )
    cells = base.mark_rect(stroke="#ffffff").encode(
        color=alt.Color("count:Q", scale=alt.Scale(domain=[0, max_count], scheme="blues"),
                        legend=alt.Legend(title=count_title, format="d", tickMinStep=1)),
        tooltip=[alt.Tooltip("true:N", title=true_title), alt.Tooltip("predicted:N", title=predicted_title),
                 alt.Tooltip("count:Q", title=count_title)],
    )
    values = base.transform_filter("datum.count > 0").mark_text(fontSize=11).encode(
        text=alt.Text("count:Q"),
        color=alt.condition(f"datum.count > {max_count / 2}", alt.value("white"), alt.value("black")),
    )
    return alt.layer(cells, values).properties(
        title=title, width=alt.Step(CONFUSION_STEP), height=alt.Step(CONFUSION_STEP),
    )


def to_png(spec: dict, scale: float = 2.0) -> bytes:
    """Render a Vega-Lite spec (``chart.to_dict()``) to PNG bytes with vl-convert, no browser needed."""
    return vl_convert.vegalite_to_png(spec, scale=scale)


def to_svg(spec: dict) -> bytes:
    """Render a Vega-Lite spec to SVG bytes with vl-convert."""
    return vl_convert.vegalite_to_svg(spec).encode("utf-8")
