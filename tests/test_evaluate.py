"""Evaluation of labelled folders and CSV files with the offline demo model.

The expected numbers are computed here, independently, from ``core.classify`` on
the same images: an argmax per image, then counts with numpy.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import classify, metrics
from core.__main__ import main
from core.demo import DEMO_MODEL_DIR, draw_shape
from core.errors import LabelledSetError, PhrasingFileError
from core.evaluate import ClassPhrasing, evaluate, load_phrasing_file, parse_phrasings
from core.features import FeatureCache
from core.labelled import read_labelled_set
from core.presets import PRESETS, compare_with_published, get_preset
from core.prompts import make_phrasing_set
from core.store import RunStore
from experiment_helpers import SHAPE_CLASSES, shape_phrasings, write_shape_folder

# Two ids for the same weights exercise the models × phrasings loops without a download.
MODELS = ["demo", f"local-dir:{DEMO_MODEL_DIR}"]
CLASSES = SHAPE_CLASSES
IMAGES_PER_CLASS = 4


def phrasing_content() -> dict:
    return shape_phrasings(spanish_template="un dibujo de {}.")


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory) -> Path:
    root = write_shape_folder(tmp_path_factory.mktemp("shapes"), IMAGES_PER_CLASS, seed=7, small_images=2)
    rng = np.random.default_rng(8)
    (root / "red_circle" / "notes.txt").write_text("not an image", encoding="utf-8")
    (root / "red_circle" / ".DS_Store").write_bytes(b"\x00\x01")
    (root / ".thumbnails").mkdir()
    draw_shape("red", "circle", rng).save(root / ".thumbnails" / "hidden.png")
    draw_shape("blue", "square", rng).save(root / "loose.png")
    return root


@pytest.fixture(scope="module")
def phrasing_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("phrasings") / "phrasings.json"
    path.write_text(json.dumps(phrasing_content(), ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shared_cache() -> FeatureCache:
    """A memory cache that ``result`` fills, for the tests whose numbers do not depend on encoding anew."""
    return FeatureCache(None)


@pytest.fixture(scope="module")
def result(demo_model_dir, labelled_folder, phrasing_file, shared_cache):
    return evaluate(labelled_folder, MODELS, phrasing_file, cache=shared_cache)


def image_truth() -> dict[str, str]:
    return {f"{name}/{index}.png": name for name in CLASSES for index in range(IMAGES_PER_CLASS)}


@pytest.fixture(scope="module")
def classify_table(demo_model_dir, labelled_folder):
    """Return classify's table for the shape images, both phrasing sets and both models."""
    phrasing_sets = [make_phrasing_set(phrasing["name"], [phrasing["labels"][name] for name in CLASSES],
                                       phrasing["templates"])
                     for phrasing in phrasing_content()["phrasings"]]
    images = {name: labelled_folder / name for name in image_truth()}
    return classify(images, phrasing_sets, MODELS, cache=FeatureCache(None))


def hand_predictions(table, model: str, phrasing: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return true class indices, predicted class indices and probabilities, from classify alone."""
    truth = image_truth()
    chosen = table[(table["model"] == model) & (table["phrasing"] == phrasing)]
    probabilities = chosen.pivot(index="image", columns="label_index", values="probability").loc[list(truth)]
    true = np.array([CLASSES.index(name) for name in truth.values()])
    return true, probabilities.to_numpy().argmax(axis=1), probabilities.to_numpy()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("phrasing_index", [0, 1])
def test_metrics_match_classify(result, classify_table, model, phrasing_index):
    phrasing = phrasing_content()["phrasings"][phrasing_index]
    true, predicted, probabilities = hand_predictions(classify_table, model, phrasing["name"])
    row = result.metrics[(result.metrics["model"] == model) & (result.metrics["phrasing"] == phrasing["name"])]
    assert len(row) == 1

    top5 = np.argsort(-probabilities, axis=1, kind="stable")[:, :5]
    recalls = [np.mean(predicted[true == index] == index) for index in range(len(CLASSES))]
    assert row["images"].item() == len(true)
    assert row["top1_accuracy"].item() == pytest.approx(np.mean(predicted == true), abs=1e-12)
    assert row["top5_accuracy"].item() == pytest.approx(np.mean([t in p for t, p in zip(true, top5)]), abs=1e-12)
    assert row["mean_class_recall"].item() == pytest.approx(np.mean(recalls), abs=1e-12)

    per_class = result.per_class[(result.per_class["model"] == model)
                                 & (result.per_class["phrasing"] == phrasing["name"])].set_index("class")
    for index, name in enumerate(CLASSES):
        assert per_class.loc[name, "recall"] == pytest.approx(recalls[index], abs=1e-12), name

    expected = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    np.add.at(expected, (true, predicted), 1)
    matrix = result.confusion_matrix(model, phrasing["name"])
    assert list(matrix.index) == CLASSES
    assert list(matrix.columns) == CLASSES
    assert np.array_equal(matrix.to_numpy(), expected)


def test_shape_set_has_mistakes(result):
    # Guards the tests around it: with no mistakes they could not tell rows from
    # columns, and with equal predictions agreement would be 1.0 whatever it computed.
    matrix = result.confusion_matrix("demo", "Español").to_numpy()
    assert matrix.sum() > np.trace(matrix)
    assert result.agreement["agreement"].iloc[0] < 1.0


def test_agreement_matches_classify(result, classify_table):
    true, predicted_en, _ = hand_predictions(classify_table, "demo", "English")
    _, predicted_es, _ = hand_predictions(classify_table, "demo", "Español")
    row = result.agreement[result.agreement["model"] == "demo"]
    assert row[["phrasing_a", "phrasing_b"]].values.tolist() == [["English", "Español"]]
    assert row["agreement"].item() == pytest.approx(np.mean(predicted_en == predicted_es), abs=1e-12)
    assert row["both_correct"].item() == pytest.approx(
        np.mean((predicted_en == true) & (predicted_es == true)), abs=1e-12)


def test_agreement_compares_predicted_classes():
    # Image c is wrong in both sets but with different classes, so the sets disagree there.
    predictions = pd.DataFrame({
        "model": "m", "phrasing": ["English"] * 3 + ["Español"] * 3, "image": ["a", "b", "c"] * 2,
        "class": ["cat", "dog", "cat"] * 2,
        "predicted_class": ["cat", "cat", "dog", "cat", "dog", "fox"],
    })
    predictions["correct"] = predictions["class"] == predictions["predicted_class"]
    table = metrics.agreement_table(predictions)
    assert table["agreement"].item() == pytest.approx(1 / 3)
    assert table["both_correct"].item() == pytest.approx(1 / 3)


def test_per_class_precision():
    predictions = pd.DataFrame({
        "model": "m", "phrasing": "English", "image": ["a", "b", "c", "d"],
        "class": ["cat", "cat", "dog", "dog"], "predicted_class": ["cat", "dog", "dog", "dog"],
    })
    predictions["correct"] = predictions["class"] == predictions["predicted_class"]
    table = metrics.per_class_table(predictions).set_index("class")
    assert table.loc["cat", "recall"] == 0.5
    assert table.loc["cat", "precision"] == 1.0
    assert table.loc["dog", "recall"] == 1.0
    assert table.loc["dog", "precision"] == pytest.approx(2 / 3)


def test_folder_skips_hidden_and_reports_others(result):
    reported = {problem["name"] for problem in result.errors}
    assert reported == {"red_circle/notes.txt", "loose.png"}
    assert len(result.images) == len(CLASSES) * IMAGES_PER_CLASS
    assert not result.images["image"].str.contains("hidden|DS_Store").any()


def test_csv_matches_folder(result, labelled_folder, tmp_path, shared_cache):
    lines = ["image,label"] + [f"{labelled_folder / name},{class_name}"
                               for name, class_name in image_truth().items()]
    lines += ["missing.png,red_circle", f"{labelled_folder / 'red_circle/0.png'},blue_square", "x.png,"]
    csv_path = tmp_path / "set.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    from_csv = evaluate(csv_path, "demo", phrasing_content(), cache=shared_cache)
    expected = result.metrics[result.metrics["model"] == "demo"].reset_index(drop=True)
    pd.testing.assert_frame_equal(from_csv.metrics, expected)
    messages = " ".join(problem["message"] for problem in from_csv.errors)
    assert "missing.png: file not found" in messages
    assert "listed more than once" in messages
    assert "empty label" in messages


def test_csv_paths_relative_to_csv(tmp_path):
    csv_path = tmp_path / "set.csv"
    csv_path.write_text("label,image\nred_circle,images/1.png\nblue_square,images/2.png\n", encoding="utf-8")
    labelled = read_labelled_set(csv_path)
    assert [item.path for item in labelled.images] == [tmp_path / "images/1.png", tmp_path / "images/2.png"]
    assert [item.name for item in labelled.images] == ["images/1.png", "images/2.png"]
    assert labelled.classes == ("blue_square", "red_circle")


def test_csv_without_header_raises(tmp_path):
    csv_path = tmp_path / "set.csv"
    csv_path.write_text("a.png,cat\n", encoding="utf-8")
    with pytest.raises(LabelledSetError, match="header"):
        read_labelled_set(csv_path)


def test_folder_without_classes_raises(tmp_path):
    draw_shape("red", "circle", np.random.default_rng(0)).save(tmp_path / "a.png")
    with pytest.raises(LabelledSetError, match="no class folders"):
        read_labelled_set(tmp_path)


def test_extra_classes_are_candidates(labelled_folder, result, shared_cache):
    content = phrasing_content()
    content["phrasings"] = content["phrasings"][:1]
    content["phrasings"][0]["labels"]["yellow_star"] = "a yellow star"
    extra = evaluate(labelled_folder, "demo", content, cache=shared_cache)
    assert extra.metrics["labels"].tolist() == [len(CLASSES) + 1]
    matrix = extra.confusion_matrix("demo", "English")
    assert list(matrix.columns) == CLASSES + ["yellow_star"]
    assert list(matrix.index) == CLASSES


def test_default_phrasing_uses_class_names(labelled_folder, result, shared_cache):
    plain = evaluate(labelled_folder, "demo", cache=shared_cache)
    assert plain.metrics["phrasing"].tolist() == ["class names"]
    assert sorted(plain.results["label"].unique()) == sorted(CLASSES)


def test_missing_class_label_raises(labelled_folder):
    content = phrasing_content()
    del content["phrasings"][1]["labels"]["green_square"]
    with pytest.raises(PhrasingFileError, match="Español.*'green_square'"):
        evaluate(labelled_folder, "demo", content)


BAD_PHRASINGS = [
    ([], "single key"),
    ({"phrasings": []}, "non-empty list"),
    ({"phrasings": [{"labels": {"a": "x"}}]}, '"name"'),
    ({"phrasings": [{"name": "A", "labels": {"a": "x"}, "template": "photo"}]}, "unknown keys"),
    ({"phrasings": [{"name": "A", "labels": ["x"]}]}, "class name to label"),
    ({"phrasings": [{"name": "A", "labels": {"a": ""}}]}, "non-empty string"),
    ({"phrasings": [{"name": "A", "labels": {"a": "x", "b": "x"}}]}, "same label"),
    ({"phrasings": [{"name": "A", "labels": {"a": "x"}, "templates": ["no placeholder"]}]}, "has no {}"),
    ({"phrasings": [{"name": "A", "labels": {"a": "x"}, "templates": 3}]}, "templates"),
    ({"phrasings": [{"name": "A", "labels": {"a": "x"}}, {"name": "A", "labels": {"a": "y"}}]}, "repeated: A"),
]


@pytest.mark.parametrize("content, message", BAD_PHRASINGS)
def test_phrasing_file_errors(content, message):
    with pytest.raises(PhrasingFileError, match=message):
        parse_phrasings(content)


def test_phrasing_file_invalid_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"phrasings": [\n  {"name": "A",}\n]}', encoding="utf-8")
    with pytest.raises(PhrasingFileError, match="not valid JSON.*line 2"):
        load_phrasing_file(path)


def test_phrasing_file_resolves_templates(phrasing_file):
    english, spanish = load_phrasing_file(phrasing_file)
    assert english.templates == ("{}",)
    assert spanish.templates == ("un dibujo de {}.",)
    assert spanish.labels["red_circle"] == "un círculo rojo"


def test_worst_images_order(result):
    worst = result.worst_images("demo", "English", count=5, top_labels=2)
    assert len(worst) == 5
    assert worst["true_probability"].is_monotonic_increasing
    chosen = result.predictions[(result.predictions["model"] == "demo") & (result.predictions["phrasing"] == "English")]
    assert worst["true_probability"].iloc[0] == chosen["true_probability"].min()
    assert all(Path(path).is_file() for path in worst["path"])
    assert all(text.count(" · ") == 1 for text in worst["top_labels"])


def test_progress_reports_stages(demo_model_dir, labelled_folder):
    calls = []
    evaluate(labelled_folder, "demo", phrasing_content(), cache=FeatureCache(None),
             progress=lambda model, stage, done, total: calls.append((model, stage, done, total)))
    stages = [(model, stage) for model, stage, _, _ in calls]
    assert ("", "read") in stages
    assert ("demo", "images") in stages
    assert ("demo", "prompts") in stages
    last_read = [call for call in calls if call[1] == "read"][-1]
    assert last_read[2] == last_read[3] == len(CLASSES) * IMAGES_PER_CLASS + 1


def test_cli_evaluate_prints_and_saves(labelled_folder, phrasing_file, result, tmp_path, capsys):
    database = tmp_path / "runs.sqlite"
    status = main(["evaluate", "--model", "demo", "--phrasings", str(phrasing_file), "--format", "json",
                   "--save", "--name", "cli run", "--db", str(database), "--cache-dir", str(tmp_path / "cache"),
                   str(labelled_folder)])
    output = capsys.readouterr()
    assert status == 0
    printed = pd.DataFrame(json.loads(output.out))
    expected = result.metrics[result.metrics["model"] == "demo"].reset_index(drop=True)
    assert printed["top1_accuracy"].tolist() == pytest.approx(expected["top1_accuracy"].tolist(), abs=1e-12)
    assert "notes.txt" in output.err
    assert "Saved run 1" in output.err
    assert RunStore(database).list_runs()["name"].tolist() == ["cli run"]


def test_cli_evaluate_missing_folder(tmp_path, capsys):
    status = main(["evaluate", "--model", "demo", str(tmp_path / "nowhere")])
    assert status == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_phrasings_valid(name):
    preset = get_preset(name)
    parsed = parse_phrasings(preset.phrasing_file())
    for phrasing in parsed:
        assert list(phrasing.labels) == list(preset.classes)
        assert len(set(phrasing.labels.values())) == len(preset.classes)
        phrasing.phrasing_set()


def test_preset_facts():
    cifar10, cifar100 = get_preset("cifar10"), get_preset("cifar100")
    assert len(cifar10.classes) == 10
    assert len(cifar100.classes) == 100
    assert len(cifar10.phrasings[0].templates) == 18
    assert [phrasing.name for phrasing in cifar10.phrasings] == ["English", "Español"]
    assert cifar10.published_top1["ViT-B-32/openai"] == pytest.approx(0.898, abs=5e-4)
    assert cifar100.published_top1["ViT-B-32/openai"] == pytest.approx(0.642, abs=5e-4)
    assert cifar100.phrasings[0].labels["aquarium_fish"] == "aquarium fish"


def test_compare_with_published():
    table = pd.DataFrame({"model": ["ViT-B-32/openai", "ViT-B-32/openai", "demo"],
                          "phrasing": ["English", "Español", "English"], "images": [10, 10, 10],
                          "top1_accuracy": [0.9, 0.8, 0.5]})
    compared = compare_with_published(get_preset("cifar10"), table)
    assert compared["difference"].iloc[0] == pytest.approx(0.9 - 0.8983)
    assert compared["published_top1_accuracy"].iloc[1:].isna().all()


def test_class_phrasing_round_trip():
    phrasing = ClassPhrasing("English", {"cat": "a cat", "dog": "a dog"}, ("a photo of {}.",))
    assert parse_phrasings({"phrasings": [phrasing.to_dict()]}) == [phrasing]
