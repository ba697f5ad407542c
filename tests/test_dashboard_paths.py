"""Filesystem inputs on a server that listens beyond this machine: limited to root folders, or disabled.

The pure check (``dashboard.paths``) is tested on folders, links and ``..`` made
here. The pages are tested through AppTest, with ``server.address`` set to
0.0.0.0 for the test's duration.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

import core
from dashboard import i18n, paths, state
from experiment_helpers import write_shape_folder

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
RUN_TIMEOUT = 120


@pytest.mark.parametrize(("address", "local"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("LOCALHOST", True),
    ("0.0.0.0", False), ("", False), (None, False), ("192.168.1.20", False), ("::", False),
])
def test_local_address(address, local):
    assert paths.is_local_address(address) is local


def test_local_server_allows_any_path(tmp_path):
    policy = paths.filesystem_policy("127.0.0.1", None)

    assert not policy.restricted
    assert policy.check(tmp_path / "anything") == tmp_path / "anything"


def test_wide_server_without_roots_disables_paths(tmp_path):
    policy = paths.filesystem_policy("0.0.0.0", " ")

    assert policy.disabled
    with pytest.raises(paths.PathNotAllowedError) as raised:
        policy.check(tmp_path)
    assert raised.value.kind == "disabled"


def test_parse_roots_splits_and_resolves(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b" / ".." / "c"
    roots = paths.parse_roots(f"{first}{os.pathsep}{os.pathsep}{second}")

    assert roots == (first.resolve(), (tmp_path / "c").resolve())


@pytest.fixture
def allowed_tree(tmp_path) -> tuple[Path, Path]:
    """An allowed root with a subfolder, a link inside pointing outside, and a folder outside."""
    root, outside = tmp_path / "allowed", tmp_path / "private"
    (root / "images" / "cat").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"not for the dashboard")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "inner-link").symlink_to(root / "images", target_is_directory=True)
    return root.resolve(), outside.resolve()


@pytest.mark.parametrize(("relative", "allowed"), [
    ("", True),
    ("images", True),
    ("images/cat", True),
    ("images/../images/cat", True),
    ("inner-link/cat", True),
    ("not-made-yet/file.csv", True),
    ("..", False),
    ("../private", False),
    ("images/../../private/secret.png", False),
    ("escape", False),
    ("escape/secret.png", False),
])
def test_resolve_within_roots(allowed_tree, relative, allowed):
    root, _ = allowed_tree
    path = f"{root}/{relative}" if relative else str(root)

    if allowed:
        assert paths.resolve_within(path, [root]).is_relative_to(root)
    else:
        with pytest.raises(paths.PathNotAllowedError) as raised:
            paths.resolve_within(path, [root])
        assert raised.value.kind == "outside"


def test_sibling_with_root_prefix_refused(tmp_path):
    root = (tmp_path / "data").resolve()
    root.mkdir()
    (tmp_path / "data-private").mkdir()

    with pytest.raises(paths.PathNotAllowedError):
        paths.resolve_within(tmp_path / "data-private", [root])


def test_nul_byte_refused(tmp_path):
    with pytest.raises(paths.PathNotAllowedError) as raised:
        paths.resolve_within(f"{tmp_path}/a\x00b", [tmp_path.resolve()])
    assert raised.value.kind == "invalid"


@pytest.mark.parametrize(("model_id", "folders"), [
    ("demo", []),
    ("ViT-B-32/openai", []),
    ("local-dir:/models/clip", ["/models/clip"]),
    ("local-dir: /models/clip ", ["/models/clip"]),
    ("local-dir:/models/clip@int8", ["/models/clip@int8", "/models/clip"]),
    ("local-dir:/models/a@b/clip", ["/models/a@b/clip"]),
])
def test_local_dir_paths(model_id, folders):
    assert paths.local_dir_paths(model_id) == folders


@pytest.fixture
def wide_server(monkeypatch, tmp_path):
    """Make the app read server.address 0.0.0.0, as a server configured to listen on every interface."""
    monkeypatch.setenv("CLIP_COMPARE_DB", str(tmp_path / "runs.sqlite"))
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", before)


def open_evaluate_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    app.session_state[state.MODELS] = [core.DEMO_MODEL_ID]
    app.run()
    app.switch_page("evaluate_page.py").run()
    assert not app.exception
    return app


def test_wide_server_disables_folder_field(wide_server, monkeypatch):
    monkeypatch.delenv(paths.ROOTS_VARIABLE, raising=False)
    app = open_evaluate_page()

    assert app.text_input(key=state.EVAL_DATA).disabled
    notice = i18n.ENGLISH["paths.disabled"].format(variable=paths.ROOTS_VARIABLE)
    assert notice in [info.value for info in app.main.info]
    assert app.button(key="evaluate_button").disabled


def test_wide_server_refuses_path_outside_roots(wide_server, monkeypatch, allowed_tree):
    root, outside = allowed_tree
    monkeypatch.setenv(paths.ROOTS_VARIABLE, str(root))
    app = open_evaluate_page()
    app.text_input(key=state.EVAL_DATA).set_value(str(root / "escape")).run()

    errors = [error.value for error in app.main.error]
    assert len(errors) == 1
    assert str(root / "escape") in errors[0]
    assert app.button(key="evaluate_button").disabled


def test_wide_server_skips_csv_rows_outside_roots(wide_server, monkeypatch, allowed_tree):
    root, outside = allowed_tree
    write_shape_folder(root / "shapes", images_per_class=1, seed=2, small_images=0)
    write_shape_folder(outside / "shapes", images_per_class=1, seed=3, small_images=0)
    rows = [(f"shapes/{folder.name}/0.png", folder.name) for folder in sorted((root / "shapes").iterdir())]
    rows.append((str(outside / "shapes" / "red_circle" / "0.png"), "red_circle"))
    with open(root / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("image", "label"), *rows])
    monkeypatch.setenv(paths.ROOTS_VARIABLE, str(root))

    app = open_evaluate_page()
    app.text_input(key=state.EVAL_DATA).set_value(str(root / "labels.csv")).run()
    app.button(key="evaluate_button").click().run()

    assert not app.exception
    result, _ = app.session_state[state.EVAL_RESULT]
    assert set(result.metrics["images"]) == {len(rows) - 1}
    skipped = [problem for problem in result.errors if problem["kind"] == "image"]
    assert len(skipped) == 1
    assert "outside the allowed root folders" in skipped[0]["message"]


def test_wide_server_refuses_local_dir_model(wide_server, monkeypatch, allowed_tree, tmp_path):
    root, outside = allowed_tree
    monkeypatch.setenv(paths.ROOTS_VARIABLE, str(root))
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    app.session_state[state.MODELS] = [core.DEMO_MODEL_ID]
    app.session_state[state.OTHER_MODELS] = f"local-dir:{outside}\nlocal-dir:{root}/escape@int8"
    app.run()

    assert not app.exception
    errors = [error.value for error in app.sidebar.error]
    assert len(errors) == 2
    assert str(outside) in errors[0]
    assert f"{root}/escape" in errors[1]
    assert {model for table in app.session_state[state.RESULTS].values() for model in table["model"]} == {
        core.DEMO_MODEL_ID}
