"""The dashboard page, driven through Streamlit's AppTest with the offline demo model.

These runs execute dashboard/app.py in this process, so the numbers the page shows
can be compared with ``core.classify`` on the same images and phrasing sets.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from core.demo import draw_shape
from dashboard import charts as dashboard_charts
from dashboard import i18n, inputs, state

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
# The first run imports PyTorch and open_clip into the test process.
RUN_TIMEOUT = 120


def run_app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def choose_demo_and_shapes(app: AppTest) -> AppTest:
    """Pick the demo model and the English/Spanish shapes pair, whatever the defaults were."""
    app.multiselect(key=state.MODELS).set_value([core.DEMO_MODEL_ID])
    app.text_area(key=state.OTHER_MODELS).set_value("")
    app.selectbox(key=state.PRESET).set_value("shapes")
    app.button(key="load_preset").click()
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def charts(app: AppTest) -> list:
    return app.get("vega_lite_chart")


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("language", ["en", "es"])
def test_page_renders_in_language(language):
    app = run_app()
    app.radio(key=state.LANGUAGE).set_value(language).run()
    strings = i18n.STRINGS[language]

    assert not app.exception
    assert app.title[0].value == strings["app.title"]
    sidebar_headers = [header.value for header in app.sidebar.header]
    assert sidebar_headers == [strings["images.header"], strings["models.header"], strings["settings.header"]]
    assert app.main.expander[0].label == strings["sets.header"]
    assert app.segmented_control(key=state.VIEW).label == strings["views.label"]
    assert len(charts(app)) > 0


def test_default_page_is_not_empty():
    app = run_app()

    assert app.session_state[state.MODELS], "no model chosen by default"
    assert len(charts(app)) > 0
    assert not app.main.error


def test_grid_and_summary_match_classify():
    app = choose_demo_and_shapes(run_app())
    samples = [sample.file for sample in inputs.sample_images() if app.session_state[state.sample_key(sample.file)]]
    assert samples and app.session_state[state.SHAPES]
    english, spanish = inputs.shapes_pair()

    image_count = len(samples) + 1
    assert len(charts(app)) == image_count * 2 * 1, "one chart per image × phrasing set × model"

    images = {file: core.load_image(ROOT / "sample_images" / file, name=file) for file in samples}
    shape = draw_shape(inputs.SHAPES_EXAMPLE_COLOUR, inputs.SHAPES_EXAMPLE_SHAPE,
                       np.random.default_rng(inputs.SHAPES_EXAMPLE_SEED), size=inputs.SHAPES_EXAMPLE_SIZE)
    images[inputs.SHAPES_EXAMPLE_NAME] = core.load_image(shape, name=inputs.SHAPES_EXAMPLE_NAME)
    phrasings = [core.make_phrasing_set(draft.name, draft.labels, draft.templates) for draft in (english, spanish)]
    expected = core.classify(images, phrasings, [core.DEMO_MODEL_ID])
    expected_top = expected[expected["rank"] == 1].set_index(["image", "phrasing"])

    calls = app.session_state[state.CLASSIFY_CALLS]
    app.segmented_control(key=state.VIEW).set_value("summary").run()
    assert app.session_state[state.CLASSIFY_CALLS] == calls, "changing the view ran a model again"

    shown = app.main.dataframe[0].value
    strings = i18n.ENGLISH
    assert len(shown) == len(expected_top)
    for _, row in shown.iterrows():
        key = (row[strings["columns.image"]], row[strings["columns.phrasing"]])
        assert row[strings["columns.model"]] == core.DEMO_MODEL_ID
        assert row[strings["columns.top_label"]] == expected_top.loc[key, "label"]
        assert row[strings["columns.probability"]] == pytest.approx(expected_top.loc[key, "probability"], abs=1e-6)

    shapes_row = shown[shown[strings["columns.image"]] == inputs.SHAPES_EXAMPLE_NAME]
    assert set(shapes_row[strings["columns.top_label"]]) == {"a blue triangle", "un triángulo azul"}


def test_bad_upload_shows_message_and_others_run():
    app = choose_demo_and_shapes(run_app())
    before = len(charts(app))
    shape = png_bytes(draw_shape("red", "circle", np.random.default_rng(0), size=(128, 128)))

    app.file_uploader(key=state.UPLOADS).set_value([
        ("broken.jpg", b"\xff\xd8\xff\xe0 this is not a JPEG", "image/jpeg"),
        ("red-circle.png", shape, "image/png"),
    ]).run()

    assert not app.exception
    errors = [error.value for error in app.main.error]
    assert len(errors) == 1
    assert "broken.jpg" in errors[0]
    assert len(charts(app)) == before + 2, "the good upload gets one chart per phrasing set"
    captions = [caption for image in app.main.image for caption in image.captions]
    assert "red-circle.png" in captions


def test_label_edit_reuses_uploaded_image():
    app = choose_demo_and_shapes(run_app())
    shape = png_bytes(draw_shape("green", "square", np.random.default_rng(1), size=(96, 96)))
    app.file_uploader(key=state.UPLOADS).set_value(("green-square.png", shape, "image/png")).run()

    first_set = app.session_state[state.SET_IDS][0]
    app.text_area(key=state.set_key(first_set, "labels")).set_value("a green square\na red circle\n\n").run()

    assert not app.exception
    assert not app.main.error
    captions = [caption for image in app.main.image for caption in image.captions]
    assert "green-square.png" in captions
    assert i18n.ENGLISH["sets.dropped"].format(count=1) in [caption.value for caption in app.main.caption]


def test_unknown_model_reports_and_demo_still_runs():
    app = choose_demo_and_shapes(run_app())
    before = len(charts(app))
    app.text_area(key=state.OTHER_MODELS).set_value("no-such-architecture/nothing").run()

    assert not app.exception
    errors = [error.value for error in app.main.error]
    assert any("no-such-architecture/nothing" in error for error in errors)
    assert len(charts(app)) == before


def test_invalid_phrasing_set_reports_in_spanish():
    app = choose_demo_and_shapes(run_app())
    second_set = app.session_state[state.SET_IDS][1]
    app.text_area(key=state.set_key(second_set, "labels")).set_value("un gato\nun gato")
    # AppTest formats select box options in the test thread, which has no session state
    # and so formats them in English. Switching language in the last run avoids a mismatch.
    app.radio(key=state.LANGUAGE).set_value("es").run()

    assert not app.exception
    errors = [error.value for error in app.main.error]
    assert len(errors) == 1
    assert errors[0].startswith(i18n.SPANISH["errors.phrasing"].split("**")[0])
    assert "un gato" in errors[0]


def test_settings_file_round_trip():
    app = choose_demo_and_shapes(run_app())
    document = {
        "format": "clip-compare-settings",
        "version": 1,
        "images": {"samples": ["cat.jpg"], "shapes_example": False, "uploads": []},
        "models": ["demo"],
        "phrasing_sets": [
            {"name": "Animals", "labels": ["a cat", "a dog"], "templates": "photo"},
            {"name": "Animales", "labels": ["un gato", "un perro"], "templates": ["una foto de {}."]},
        ],
    }
    app.file_uploader(key=state.SETTINGS_UPLOAD).set_value(
        ("settings.json", json.dumps(document).encode(), "application/json")).run()

    assert not app.exception
    assert app.session_state[state.SHAPES] is False
    names = [app.session_state[state.set_key(set_id, "name")] for set_id in app.session_state[state.SET_IDS]]
    assert names == ["Animals", "Animales"]
    assert len(charts(app)) == 1 * 2 * 1
    assert app.sidebar.success


def test_invalid_settings_file_changes_nothing():
    app = choose_demo_and_shapes(run_app())
    names_before = [app.session_state[state.set_key(set_id, "name")] for set_id in app.session_state[state.SET_IDS]]
    app.file_uploader(key=state.SETTINGS_UPLOAD).set_value(
        ("settings.json", b'{"format": "clip-compare-settings", "version": 1, "images": 3, "models": [],'
                          b' "phrasing_sets": [{"name": "x", "labels": ["a"], "templates": "none"}]}',
         "application/json")).run()

    assert not app.exception
    errors = [error.value for error in app.sidebar.error]
    assert len(errors) == 1
    assert "images" in errors[0]
    names_after = [app.session_state[state.set_key(set_id, "name")] for set_id in app.session_state[state.SET_IDS]]
    assert names_after == names_before


def test_sigmoid_model_marked_in_grid(sigmoid_model_id):
    app = choose_demo_and_shapes(run_app())
    app.text_area(key=state.OTHER_MODELS).set_value(sigmoid_model_id).run()

    assert not app.exception
    specs = [json.loads(chart.proto.spec) for chart in charts(app)]
    sigmoid = [spec for spec in specs if spec["title"]["text"].endswith(sigmoid_model_id)]
    softmax = [spec for spec in specs if spec["title"]["text"].endswith(f"· {core.DEMO_MODEL_ID}")]
    assert len(sigmoid) == len(softmax) == len(specs) // 2
    for spec in sigmoid:
        assert spec["title"]["subtitle"] == i18n.ENGLISH["charts.sigmoid_subtitle"]
        assert spec["layer"][0]["encoding"]["color"]["scale"]["range"] == list(reversed(dashboard_charts.SIGMOID_COLOURS))
    for spec in softmax:
        assert spec["title"]["subtitle"] == i18n.ENGLISH["charts.softmax_subtitle"]
