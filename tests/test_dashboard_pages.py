"""The Evaluate and History pages and fast mode, driven through AppTest with the offline demo model.

Every test points the run database at its own temporary file (``CLIP_COMPARE_DB``)
and evaluates a labelled folder of shapes drawn here, so the numbers the pages show
are compared with ``core`` on the same inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import core
from core.experiment import evaluation_run
from core.fast import agreement
from core.store import RunStore
from dashboard import history_page, i18n, state
from experiment_helpers import shape_phrasings, write_shape_folder

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
RUN_TIMEOUT = 120


@pytest.fixture
def database(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("CLIP_COMPARE_DB", str(path))
    return path


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory) -> Path:
    return write_shape_folder(tmp_path_factory.mktemp("labelled") / "shapes", images_per_class=2, seed=4)


def run(target) -> AppTest:
    """Run the app from an AppTest or from a widget just changed; fail on any exception it shows."""
    app = target.run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def open_page(page: str | None = None) -> AppTest:
    """Start the app with only the demo model chosen, on the Compare page or on ``page``."""
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    app.session_state[state.MODELS] = [core.DEMO_MODEL_ID]
    run(app)
    if page is not None:
        run(app.switch_page(page))
    return app


def evaluate_in_page(app: AppTest, folder: Path, phrasings: dict | None, language: str = "en") -> AppTest:
    """Fill in the Evaluate page and press Evaluate, switching language in the same run."""
    app.text_input(key=state.EVAL_DATA).set_value(str(folder))
    if phrasings is not None:
        app.session_state[state.EVAL_LABELS] = "file"
        run(app)
        app.file_uploader(key=state.EVAL_PHRASING_FILE).set_value(
            ("phrasings.json", json.dumps(phrasings).encode(), "application/json"))
    run(app)
    app.radio(key=state.LANGUAGE).set_value(language)
    app.button(key="evaluate_button").click()
    return run(app)


def shown_table(app: AppTest, column: str) -> pd.DataFrame:
    """Return the first dataframe on the page that has ``column``."""
    tables = [frame.value for frame in app.dataframe if column in frame.value.columns]
    assert tables, f"no table with the column {column!r}"
    return tables[0]


@pytest.mark.parametrize("language", ["en", "es"])
def test_evaluate_page_matches_core(language, database, shapes_folder):
    phrasings = shape_phrasings()
    app = evaluate_in_page(open_page("evaluate_page.py"), shapes_folder, phrasings, language)
    strings = i18n.STRINGS[language]

    assert app.title[0].value == strings["evaluate.title"]
    assert not app.main.error
    expected = core.evaluate(shapes_folder, [core.DEMO_MODEL_ID], phrasings).metrics
    shown = shown_table(app, strings["columns.top1"])
    assert list(shown[strings["columns.phrasing"]]) == list(expected["phrasing"])
    assert list(shown[strings["columns.images"]]) == list(expected["images"])
    for column, metric in (("columns.top1", "top1_accuracy"), ("columns.top5", "top5_accuracy"),
                           ("columns.mean_recall", "mean_class_recall")):
        assert list(shown[strings[column]]) == pytest.approx(list(expected[metric]), abs=1e-9)

    subheaders = [header.value for header in app.main.subheader]
    assert strings["evaluate.confusion_header"] in subheaders
    assert strings["evaluate.agreement_header"] in subheaders
    assert len(app.get("vega_lite_chart")) == 1, "one confusion matrix chart"
    worst_header = strings["evaluate.worst_header"].format(model=core.DEMO_MODEL_ID, phrasing="English")
    assert worst_header in subheaders


def test_evaluate_page_saves_run(database, shapes_folder):
    app = evaluate_in_page(open_page("evaluate_page.py"), shapes_folder, None)
    app.text_input(key=state.EVAL_RUN_NAME).set_value("class names")
    run(app.button(key="eval_save").click())

    assert [message.value for message in app.main.success][0].startswith("Saved as run #1")
    listed = RunStore(database).list_runs()
    assert list(listed["name"]) == ["class names"]
    saved = RunStore(database).load(1).tables["metrics"]
    expected = core.evaluate(shapes_folder, [core.DEMO_MODEL_ID]).metrics
    assert saved["top1_accuracy"].tolist() == pytest.approx(expected["top1_accuracy"].tolist(), abs=1e-9)


def test_evaluate_page_reports_missing_folder(database, tmp_path):
    app = evaluate_in_page(open_page("evaluate_page.py"), tmp_path / "nowhere", None)

    errors = [error.value for error in app.main.error]
    assert len(errors) == 1
    assert str(tmp_path / "nowhere") in errors[0]


def save_two_evaluations(database: Path, folder: Path) -> tuple[int, int]:
    store = RunStore(database)
    first = store.save(evaluation_run(core.evaluate(folder, [core.DEMO_MODEL_ID]), "class names"))
    second = store.save(evaluation_run(core.evaluate(folder, [core.DEMO_MODEL_ID], shape_phrasings()), "captions"))
    return first, second


@pytest.mark.parametrize("language", ["en", "es"])
def test_history_reopens_and_compares(language, database, shapes_folder):
    first, second = save_two_evaluations(database, shapes_folder)
    app = open_page("history_page.py")
    run(app.radio(key=state.LANGUAGE).set_value(language))
    strings = i18n.STRINGS[language]

    assert app.title[0].value == strings["history.title"]
    assert not app.main.error
    listed = shown_table(app, strings["columns.run_name"])
    assert list(listed[strings["columns.run_name"]]) == ["class names", "captions"]

    # The newest run opens first, with its metrics exactly as saved.
    assert app.selectbox(key=state.HISTORY_RUN).value == second
    saved = RunStore(database).load(second).tables["metrics"]
    shown = shown_table(app, strings["columns.top1"])
    assert list(shown[strings["columns.top1"]]) == list(saved["top1_accuracy"])

    comparison = core.compare_runs(RunStore(database).load(first), RunStore(database).load(second))
    differences = shown_table(app, strings["columns.top1_difference"])
    assert list(differences[strings["columns.top1_difference"]]) == pytest.approx(
        list(comparison.metrics["top1_accuracy_difference"]), nan_ok=True)
    markdown = " ".join(element.value for element in app.main.markdown)
    for sentence in comparison.settings:
        assert sentence in markdown


def test_history_deletes_after_confirmation(database, shapes_folder):
    first, second = save_two_evaluations(database, shapes_folder)
    app = open_page("history_page.py")
    run(app.selectbox(key=state.HISTORY_RUN).set_value(first))
    run(app.button(key="history_delete").click())

    assert len(RunStore(database).list_runs()) == 2, "deleted before confirmation"
    assert app.main.warning
    run(app.button(key="history_delete_yes").click())

    assert list(RunStore(database).list_runs()["id"]) == [second]
    assert i18n.ENGLISH["history.deleted"].format(id=first) in [message.value for message in app.main.success]
    assert app.selectbox(key=state.HISTORY_RUN).value == second


def test_history_cancel_keeps_run(database, shapes_folder):
    save_two_evaluations(database, shapes_folder)
    app = open_page("history_page.py")
    run(app.button(key="history_delete").click())
    run(app.button(key="history_delete_no").click())

    assert len(RunStore(database).list_runs()) == 2
    assert not app.main.warning


@pytest.mark.parametrize("content", [b"{not json", b'{"format": "something-else"}', "é".encode("latin-1")])
def test_history_import_rejects_bad_file(content, database, shapes_folder):
    save_two_evaluations(database, shapes_folder)
    app = open_page("history_page.py")
    run(app.radio(key=state.LANGUAGE).set_value("es"))
    run(app.file_uploader(key=state.HISTORY_IMPORT).set_value(("bad.json", content, "application/json")))

    errors = [error.value for error in app.main.error]
    assert len(errors) == 1
    assert errors[0].startswith(i18n.SPANISH["history.import_failed"].format(name="bad.json", detail="")[:20])
    assert len(RunStore(database).list_runs()) == 2


def test_history_export_then_import(database, shapes_folder):
    _, second = save_two_evaluations(database, shapes_folder)
    exported = history_page.export_bytes(RunStore(database).load(second))
    app = open_page("history_page.py")
    run(app.file_uploader(key=state.HISTORY_IMPORT).set_value(("run.json", exported, "application/json")))

    assert i18n.ENGLISH["history.imported"].format(name="run.json", id=3) in [
        message.value for message in app.main.success]
    imported = RunStore(database).load(3)
    pd.testing.assert_frame_equal(imported.tables["metrics"], RunStore(database).load(second).tables["metrics"])


def test_history_foreign_database_untouched(database):
    database.write_bytes(b"my notes, not a database\n" * 10)
    app = open_page("history_page.py")

    errors = [error.value for error in app.main.error]
    assert len(errors) == 1
    assert str(database) in errors[0]
    assert database.read_bytes() == b"my notes, not a database\n" * 10


def test_history_empty_database(database):
    app = open_page("history_page.py")

    assert not app.main.error
    assert app.main.info[0].value == i18n.ENGLISH["history.empty"].format(path=str(database))


def test_compare_page_saves_run(database):
    app = open_page()
    app.text_input(key=state.COMPARE_RUN_NAME).set_value("defaults")
    run(app.button(key="compare_save").click())

    run_saved = RunStore(database).load(1)
    assert run_saved.kind == "comparison"
    assert run_saved.name == "defaults"
    samples = [entry for entry in run_saved.settings["images"] if entry["path"]]
    assert samples
    assert all(Path(entry["path"]).is_file() for entry in samples)
    assert set(run_saved.results["model"]) == {core.DEMO_MODEL_ID}


def test_fast_mode_agreement_matches_core(database):
    app = open_page()
    run(app.checkbox(key=state.fast_key(core.DEMO_MODEL_ID)).check())

    assert not app.main.error
    fast_id = f"{core.DEMO_MODEL_ID}@int8"
    table = list(app.session_state[state.RESULTS].values())[-1]
    assert set(table["model"]) == {fast_id}, "the float32 twin is not added to the comparison"
    twin = next(iter(app.session_state[state.TWIN_RESULTS].values()))
    expected = agreement(table, twin)

    shown = shown_table(app, i18n.ENGLISH["columns.top1_agreement"])
    assert list(shown[i18n.ENGLISH["columns.fast_model"]]) == [fast_id]
    assert list(shown[i18n.ENGLISH["columns.reference_model"]]) == [core.DEMO_MODEL_ID]
    assert shown[i18n.ENGLISH["columns.top1_agreement"]].iat[0] == pytest.approx(expected.top1_agreement)
    assert shown[i18n.ENGLISH["columns.pairs"]].iat[0] == expected.pairs
    assert shown[i18n.ENGLISH["columns.max_difference"]].iat[0] == f"{expected.max_probability_difference:.2%}"
    assert set(twin["model"]) == {core.DEMO_MODEL_ID}
    assert expected.pairs == table["image"].nunique() * table["phrasing"].nunique()


def test_pages_keep_choices_across_switches(database):
    app = open_page()
    run(app.checkbox(key=state.fast_key(core.DEMO_MODEL_ID)).check())
    run(app.switch_page("history_page.py"))
    run(app.switch_page("compare_page.py"))

    assert app.session_state[state.MODELS] == [core.DEMO_MODEL_ID]
    assert app.checkbox(key=state.fast_key(core.DEMO_MODEL_ID)).value is True
