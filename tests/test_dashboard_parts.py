"""The dashboard's pure parts: translations, charts, summary tables and settings files."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dashboard import charts, i18n, settings, summary

ROOT = Path(__file__).resolve().parents[1]
TITLES = charts.AxisTitles(label="label", probability="probability", model="model", image="image",
                           difference="difference")


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def result_rows(image: str, model: str, phrasing: str, probabilities: list[float],
                kind: str = "softmax") -> pd.DataFrame:
    """Build the rows of core.classify's table for one image × model × phrasing set."""
    order = sorted(range(len(probabilities)), key=lambda index: -probabilities[index])
    ranks = [order.index(index) + 1 for index in range(len(probabilities))]
    return pd.DataFrame({
        "image": image, "model": model, "phrasing": phrasing,
        "label_index": range(len(probabilities)),
        "label": [f"{phrasing}-{index}" for index in range(len(probabilities))],
        "probability": probabilities, "probability_kind": kind, "rank": ranks,
    })


def test_page_modules_leave_torch_unimported():
    # The header and sidebar are drawn before core (and PyTorch) is imported, so the
    # modules that app.py imports at its top must not import it either.
    code = ("import sys, dashboard.app, dashboard.compare_page, dashboard.evaluate_page, dashboard.history_page; "
            "print('torch' in sys.modules, 'core' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert output.stdout.split() == ["False", "False"]


def test_languages_have_the_same_keys():
    assert set(i18n.SPANISH) == set(i18n.ENGLISH)


@pytest.mark.parametrize("key", sorted(i18n.ENGLISH))
def test_translation_keeps_placeholders(key):
    assert placeholders(i18n.SPANISH[key]) == placeholders(i18n.ENGLISH[key])


def test_translations_differ_where_words_do():
    same = [key for key in i18n.ENGLISH if i18n.ENGLISH[key] == i18n.SPANISH[key]]
    # Names, format codes, Spanish templates and field terms ("prompt") that read the same in both languages.
    allowed = {"app.title", "templates.foto", "summary.no", "columns.tokens", "columns.imagenet", "columns.top1",
               "views.prompts", "columns.prompt",
               "columns.top5", "columns.top1_a", "columns.top1_b", "columns.top1_difference", "columns.difference",
               "evaluate.confusion_title"}
    assert set(same) <= allowed


def test_percent_follows_language(monkeypatch):
    monkeypatch.setattr(i18n, "language", lambda: "es")
    assert i18n.percent(0.9312) == "93,1 %"
    monkeypatch.setattr(i18n, "language", lambda: "en")
    assert i18n.percent(0.9312) == "93.1%"


@pytest.mark.parametrize("sigmoid", [False, True])
def test_probability_bars_share_unit_axis(sigmoid):
    cell = result_rows("cat.jpg", "demo", "English", [0.1, 0.7, 0.2])
    spec = charts.probability_bars(cell, title="English · demo", subtitle="kind", titles=TITLES,
                                   sigmoid=sigmoid).to_dict(validate=True)

    bars = spec["layer"][0]["encoding"]
    assert bars["x"]["scale"]["domain"] == [0, 1]
    assert spec["layer"][1]["encoding"]["x"]["scale"]["domain"] == [0, 1]
    expected = charts.SIGMOID_COLOURS if sigmoid else charts.SOFTMAX_COLOURS
    assert bars["color"]["scale"]["range"] == [expected[1], expected[0]]
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["English-0", "English-1", "English-2"]


def test_probability_bars_highlight_top_label():
    cell = result_rows("cat.jpg", "demo", "English", [0.1, 0.7, 0.2])
    chart = charts.probability_bars(cell, title="t", subtitle="s", titles=TITLES, sigmoid=False)
    data = chart.data if isinstance(chart.data, pd.DataFrame) else chart.layer[0].data

    assert data.loc[data["top"], "label"].tolist() == ["English-1"]


def test_heatmap_and_difference_are_valid_specs():
    table = pd.concat([result_rows("cat.jpg", "demo", "English", [0.2, 0.8]),
                       result_rows("cat.jpg", "demo", "Español", [0.6, 0.4])], ignore_index=True)
    heat = charts.heatmap(summary.heatmap_table(table, "English", "(sigmoid)"), title="h", titles=TITLES)
    difference = charts.difference_bars(summary.difference_table(table, "English", "Español", "(sigmoid)"),
                                        title="d", subtitle="s", titles=TITLES)

    assert heat.to_dict(validate=True)["spec"]["layer"][0]["mark"]["type"] == "rect"
    assert difference.to_dict(validate=True)["spec"]["layer"][0]["encoding"]["x"]["scale"]["domain"] == [-1, 1]


def test_chart_renders_to_png_and_svg():
    cell = result_rows("cat.jpg", "demo", "English", [0.3, 0.7])
    spec = charts.probability_bars(cell, title="t", subtitle="s", titles=TITLES, sigmoid=False).to_dict()

    assert charts.to_png(spec).startswith(b"\x89PNG\r\n\x1a\n")
    assert charts.to_svg(spec).lstrip().startswith(b"<svg")


def test_top_labels_one_row_per_cell():
    table = pd.concat([result_rows("a.jpg", "m1", "English", [0.2, 0.8]),
                       result_rows("a.jpg", "m2", "English", [0.9, 0.1])], ignore_index=True)
    top = summary.top_labels(table)

    assert top[["model", "label_index"]].values.tolist() == [["m1", 1], ["m2", 0]]
    assert top["probability"].tolist() == [0.8, 0.9]


def test_agreement_across_models_and_phrasings():
    table = pd.concat([
        result_rows("a.jpg", "m1", "English", [0.2, 0.8]),
        result_rows("a.jpg", "m1", "Español", [0.3, 0.7]),
        result_rows("a.jpg", "m2", "English", [0.6, 0.4]),
        result_rows("a.jpg", "m2", "Español", [0.3, 0.7]),
        result_rows("a.jpg", "m1", "Three", [0.1, 0.1, 0.8]),
    ], ignore_index=True)
    top = summary.add_agreement(summary.top_labels(table), {"English": 2, "Español": 2, "Three": 3})
    by_cell = top.set_index(["model", "phrasing"])

    # `in (True,)` accepts Python and NumPy booleans but not None, which means "no comparison".
    assert by_cell.loc[("m1", "English"), "models_agree"] in (False,)
    assert by_cell.loc[("m1", "Español"), "models_agree"] in (True,)
    assert by_cell.loc[("m1", "Three"), "models_agree"] is None
    assert by_cell.loc[("m1", "English"), "phrasings_agree"] in (True,)
    assert by_cell.loc[("m2", "English"), "phrasings_agree"] in (False,)
    assert by_cell.loc[("m1", "Three"), "phrasings_agree"] is None


def test_paired_sets_need_equal_label_counts():
    assert summary.paired_sets({"English": 9, "Español": 9, "Other": 3, "Otro": 3, "Solo": 5}) == [
        ("English", "Español"), ("Other", "Otro")]


def test_consistency_counts_matching_top_index():
    table = pd.concat([
        result_rows("a.jpg", "m1", "English", [0.2, 0.8]),
        result_rows("a.jpg", "m1", "Español", [0.3, 0.7]),
        result_rows("b.jpg", "m1", "English", [0.9, 0.1]),
        result_rows("b.jpg", "m1", "Español", [0.3, 0.7]),
    ], ignore_index=True)
    table_row = summary.consistency(summary.top_labels(table), [("English", "Español")]).iloc[0]

    assert (table_row["agreeing"], table_row["images"]) == (1, 2)
    assert table_row["share"] == pytest.approx(0.5)


def test_difference_is_second_minus_first():
    table = pd.concat([result_rows("a.jpg", "m1", "English", [0.2, 0.8]),
                       result_rows("a.jpg", "m1", "Español", [0.5, 0.5])], ignore_index=True)
    difference = summary.difference_table(table, "English", "Español", "(sigmoid)")

    assert difference["difference"].tolist() == pytest.approx([0.3, -0.3])
    assert difference["pair_label"].tolist() == ["English-0 → Español-0", "English-1 → Español-1"]


def test_difference_keeps_models_apart():
    table = pd.concat([result_rows("a.jpg", "m1", "A", [0.2, 0.8]), result_rows("a.jpg", "m1", "B", [0.4, 0.6]),
                       result_rows("a.jpg", "m2", "A", [0.5, 0.5], kind="sigmoid"),
                       result_rows("a.jpg", "m2", "B", [0.7, 0.9], kind="sigmoid")], ignore_index=True)
    difference = summary.difference_table(table, "A", "B", "(sigmoid)")

    assert sorted(difference["model_label"].unique()) == ["m1", "m2 (sigmoid)"]
    assert len(difference) == 4


def sample_settings() -> settings.Settings:
    return settings.Settings(
        samples=("cat.jpg",), shapes_example=True, uploads=("mine.png",), models=("demo", "ViT-B-32/openai"),
        phrasing_sets=(settings.PhrasingSettings("English", ("a cat", "a dog"), "photo"),
                       settings.PhrasingSettings("Español", ("un gato", "un perro"), ("una foto de {}.",))),
    )


def test_settings_round_trip():
    original = sample_settings()
    assert settings.parse(settings.to_json(original).encode("utf-8")) == original


def test_settings_keep_accents_readable():
    assert "Español" in settings.to_json(sample_settings())


@pytest.mark.parametrize("data, message", [
    (b"{not json", "invalid JSON"),
    ("{}".encode("utf-16"), "not UTF-8"),
    (b"[]", "(top level)"),
    (b'{"format": "other", "version": 1, "images": {"samples": []}, "models": [], "phrasing_sets": []}', "format"),
])
def test_settings_reject_bad_files(data, message):
    with pytest.raises(settings.SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings.parse(data)


def test_settings_name_the_bad_field():
    document = json.loads(settings.to_json(sample_settings()))
    document["phrasing_sets"][1]["labels"] = "un gato"

    with pytest.raises(settings.SettingsError, match="phrasing_sets/1/labels"):
        settings.parse(json.dumps(document).encode())


def test_settings_reject_unknown_keys():
    document = json.loads(settings.to_json(sample_settings()))
    document["run_this"] = "__import__('os').system('true')"

    with pytest.raises(settings.SettingsError, match="run_this"):
        settings.parse(json.dumps(document).encode())


def test_settings_reject_oversized_file():
    with pytest.raises(settings.SettingsError, match="over the limit"):
        settings.parse(b" " * (settings.MAX_FILE_BYTES + 1))


def test_confusion_heatmap_keeps_class_order():
    matrix = pd.DataFrame([[3, 1, 0], [0, 2, 2]], index=pd.Index(["zebra", "ant"], name="true class"),
                          columns=pd.Index(["zebra", "ant", "moth"], name="predicted class"))
    chart = charts.confusion_heatmap(matrix, title="demo · English", true_title="true class",
                                     predicted_title="predicted class", count_title="images")
    spec = chart.to_dict()  # Validates against the Vega-Lite schema.
    encodings = spec["layer"][0]["encoding"]

    assert encodings["x"]["sort"] == ["zebra", "ant", "moth"]
    assert encodings["y"]["sort"] == ["zebra", "ant"]
    counts = {(row["true"], row["predicted"]): row["count"] for row in next(iter(spec["datasets"].values()))}
    assert counts[("zebra", "ant")] == 1
    assert counts[("ant", "moth")] == 2
    assert len(counts) == 6
