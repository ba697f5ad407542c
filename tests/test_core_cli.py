"""The command line, ``python -m core``: the contract runs as subprocesses, argument cases in-process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import core
from core.__main__ import main
from core.registry import CURATED_MODELS, DEMO_MODEL_ID

REPO_ROOT = Path(__file__).resolve().parent.parent
LABELS = ["a red circle", "a blue square"]


@pytest.fixture(scope="module")
def cli_env(empty_hf_home, feature_cache_dir) -> dict[str, str]:
    """The environment for CLI subprocesses: offline, empty Hugging Face cache, temporary feature cache.

    Set explicitly because module-scoped fixtures run before the per-test isolation.
    """
    return dict(os.environ, HF_HOME=str(empty_hf_home), HF_HUB_CACHE=str(empty_hf_home / "hub"),
                HF_HUB_OFFLINE="1", CLIP_COMPARE_CACHE=str(feature_cache_dir))


def run_cli(env: dict[str, str], *args) -> subprocess.CompletedProcess:
    """Run ``python -m core`` from the repository root."""
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory, red_circle) -> dict[str, Path]:
    """A usable PNG, a text file named .png and a path that does not exist."""
    folder = tmp_path_factory.mktemp("cli-images")
    circle = folder / "red circle.png"
    red_circle.save(circle)
    text = folder / "notes.png"
    text.write_text("not an image", encoding="utf-8")
    return {"circle": circle, "text": text, "missing": folder / "missing.jpg"}


def top_label(table: pd.DataFrame, image: Path) -> str:
    rows = table[table["image"] == str(image)]
    return rows.loc[rows["rank"] == 1, "label"].item()


def stderr_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def csv_run(demo_model_dir, cli_env, image_files) -> subprocess.CompletedProcess:
    """The documented command, with one unusable image before the usable one."""
    return run_cli(cli_env, "classify", "--model", "demo", "--labels", *LABELS,
                   image_files["text"], image_files["circle"])


def test_classify_exit_zero(csv_run):
    assert csv_run.returncode == 0, csv_run.stderr
    assert "Traceback" not in csv_run.stderr


def test_classify_prints_csv(csv_run, image_files):
    table = pd.read_csv(io.StringIO(csv_run.stdout))

    assert list(table.columns) == core.RESULT_COLUMNS
    assert list(table["label"]) == LABELS
    assert set(table["image"]) == {str(image_files["circle"])}
    assert top_label(table, image_files["circle"]) == "a red circle"


def test_unusable_image_one_line(csv_run, image_files):
    (line,) = stderr_lines(csv_run)

    assert line.startswith("error: ")
    assert str(image_files["text"]) in line


def test_classify_json_output(demo_model_dir, cli_env, image_files):
    result = run_cli(cli_env, "classify", "--model", "demo", "--labels", *LABELS, "--format", "json",
                     image_files["circle"])

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["label"] for row in rows] == LABELS
    assert set(rows[0]) == set(core.RESULT_COLUMNS)
    assert sum(row["probability"] for row in rows) == pytest.approx(1.0)


def test_no_usable_image_exit_one(demo_model_dir, cli_env, image_files):
    result = run_cli(cli_env, "classify", "--model", "demo", "--labels", *LABELS,
                     image_files["text"], image_files["missing"])

    assert result.returncode == 1
    lines = stderr_lines(result)
    assert len(lines) == 2
    assert str(image_files["text"]) in lines[0]
    assert str(image_files["missing"]) in lines[1]
    assert result.stdout == ""


def test_download_offline_explains(cli_env):
    result = run_cli(cli_env, "download", "ViT-B-32/openai")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = stderr_lines(result)
    assert "ViT-B-32/openai" in line
    assert "MB" in line
    assert "python -m core download ViT-B-32/openai" in line


# In-process argument cases ---------------------------------------------------------------


def test_models_lists_curated(demo_model_dir, capsys):
    status = main(["models"])
    header, *rows = capsys.readouterr().out.splitlines()

    assert status == 0
    assert header.split()[-1] == "cached"
    assert len(rows) == len(CURATED_MODELS)
    for info, row in zip(CURATED_MODELS, rows):
        assert row.split()[0] == info.model_id
        assert row.split()[-1] == ("yes" if info.model_id == DEMO_MODEL_ID else "no")


def classify_in_process(capsys, *args) -> tuple[int, pd.DataFrame | None, str]:
    status = main(["classify", "--model", "demo", *map(str, args)])
    captured = capsys.readouterr()
    table = pd.read_csv(io.StringIO(captured.out)) if captured.out else None
    return status, table, captured.err


@pytest.mark.parametrize("arrangement", ["images-first", "images-last", "separator"])
def test_image_argument_positions(arrangement, demo_model_dir, image_files, capsys):
    circle_file = image_files["circle"]
    arguments = {
        "images-first": [circle_file, "--labels", *LABELS],
        "images-last": ["--labels", *LABELS, circle_file],
        "separator": ["--labels", *LABELS, "--", circle_file],
    }[arrangement]

    status, table, _ = classify_in_process(capsys, *arguments)

    assert status == 0
    assert list(table["label"]) == LABELS


def test_labels_file_read(demo_model_dir, image_files, tmp_path, capsys):
    circle_file = image_files["circle"]
    labels_file = tmp_path / "labels.txt"
    labels_file.write_text("a red circle\na blue square\n\na green triangle\n", encoding="utf-8")

    status, table, _ = classify_in_process(capsys, "--labels-file", labels_file, circle_file)

    assert status == 0
    assert list(table["label"]) == ["a red circle", "a blue square", "a green triangle"]
    assert top_label(table, circle_file) == "a red circle"


def test_missing_labels_file_message(image_files, tmp_path, capsys):
    status, _, error = classify_in_process(capsys, "--labels-file", tmp_path / "nowhere.txt",
                                           image_files["circle"])

    assert status == 2
    assert "nowhere.txt" in error


def test_no_image_given(capsys):
    status, _, error = classify_in_process(capsys, "--labels", *LABELS)

    assert status == 2
    assert "no IMAGE given" in error


def test_mistyped_image_path_reported(demo_model_dir, image_files, capsys):
    missing = image_files["missing"]

    status, table, error = classify_in_process(capsys, "--labels", *LABELS, image_files["circle"], missing)

    assert status == 0
    assert f"{missing}: file not found" in error
    assert list(table["label"]) == LABELS


# A duplicate is rejected before anything runs (2). One label is a problem only for
# softmax models, so it is reported per model and nothing gets classified (1).
@pytest.mark.parametrize("labels, expected_status, expected_words", [
    (["a red circle"], 1, "one label"),
    (["a red circle", "a red circle"], 2, "repeats"),
])
def test_bad_labels_fail_cleanly(labels, expected_status, expected_words, demo_model_dir, image_files, capsys):
    status, table, error = classify_in_process(capsys, "--labels", *labels, "--", image_files["circle"])

    assert status == expected_status
    assert table is None
    assert expected_words in error
    assert error.startswith("error: ")
    assert "Traceback" not in error
