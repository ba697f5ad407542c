"""The run database: round trips, comparisons, reruns, crashes, concurrent saves and foreign files."""

import copy
import hashlib
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import core.experiment
from core.__main__ import main
from core.compare_runs import compare_metrics, compare_probabilities, compare_runs
from core.demo import COLOURS, SHAPES, caption, draw_shape
from core.errors import ClipCompareError, ForeignDatabaseError, RunFileError, RunNotFoundError, StoreError
from core.evaluate import evaluate
from core.experiment import checkpoint_sha256, evaluation_run, rerun, run_comparison
from core.features import FeatureCache
from core.run_format import run_to_json
from core.store import APPLICATION_ID, RunStore, default_db_path
from experiment_helpers import shape_phrasings, synthetic_run, table_checksum, write_shape_folder

# fork shares the already imported modules, so a child starts in milliseconds
# instead of importing torch again; children use only sqlite3, json and zlib.
FORK = multiprocessing.get_context("fork")


def assert_same_run(saved, loaded):
    for key in ("kind", "name", "created_at", "settings", "provenance", "errors", "warnings", "uid"):
        assert getattr(loaded, key) == getattr(saved, key), key
    assert list(loaded.tables) == list(saved.tables)
    for name, table in saved.tables.items():
        pd.testing.assert_frame_equal(loaded.tables[name], table, check_exact=True)
        assert loaded.tables[name].attrs == table.attrs, name


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite")


# -- round trips -------------------------------------------------------------------------


def test_save_load_exact(store):
    run = synthetic_run(images=30, seed=1)
    results = run.tables["results"]
    results.loc[0, "cosine"] = np.nan
    results.loc[1, "logit"] = np.inf
    results.loc[2, "logit"] = -np.inf
    results["score32"] = np.linspace(0, 1, len(results), dtype=np.float32) / 3
    results.loc[3, "prompt"] = None

    run_id = store.save(run)
    assert run.id == run_id
    assert_same_run(run, store.load(run_id))


def test_list_runs(store):
    first = store.save(synthetic_run(seed=1, name="first"))
    second = store.save(synthetic_run(seed=2, name="second"))
    listed = store.list_runs()
    assert listed["id"].tolist() == [first, second]
    assert listed["name"].str.split().str[0].tolist() == ["first", "second"]
    assert listed["kind"].tolist() == ["comparison", "comparison"]
    assert listed["models"].tolist() == ["demo", "demo"]
    assert listed["images"].tolist() == [20, 20]
    assert listed["best_top1_accuracy"].isna().all()


def test_list_empty_database(store):
    assert store.list_runs().empty
    assert store.path.is_file()


def test_delete(store):
    kept_id = store.save(synthetic_run(seed=1))
    deleted = store.save(synthetic_run(seed=2))
    store.delete(deleted)
    assert store.list_runs()["id"].tolist() == [kept_id]
    with pytest.raises(RunNotFoundError, match=f"No run with id {deleted}"):
        store.load(deleted)
    with pytest.raises(RunNotFoundError):
        store.delete(deleted)
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT count(*) FROM run_tables WHERE run_id = ?", (deleted,)).fetchone()[0] == 0


def test_export_import_comparison(store, tmp_path):
    run_id = store.save(synthetic_run(seed=3))
    path = store.export_run(run_id, tmp_path / "exported.json")
    imported_id = store.import_run(path)
    assert imported_id != run_id
    assert_same_run(store.load(run_id), store.load(imported_id))


def test_export_is_plain_json(store, tmp_path):
    run = synthetic_run(seed=3)
    run.tables["results"].loc[0, "cosine"] = np.nan
    path = store.export_run(store.save(run), tmp_path / "exported.json")
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text
    assert json.loads(text)["format"] == "clip-compare-run"
    assert "un círculo rojo" in text


def good_run_file() -> dict:
    return json.loads(json.dumps(run_to_json(synthetic_run(images=4, seed=5))))


def mutate(change):
    def build():
        data = good_run_file()
        change(data)
        return data
    return build


BAD_RUN_FILES = [
    ("not json", lambda: "{nope", "not valid JSON"),
    ("other format", lambda: {"format": "something-else"}, "not a CLIP Compare run file"),
    ("a list", lambda: [1, 2], "not a CLIP Compare run file"),
    ("newer version", mutate(lambda d: d.update(format_version=2)), "Upgrade CLIP Compare"),
    ("bad kind", mutate(lambda d: d["run"].update(kind="training")), "run.kind"),
    ("no settings", mutate(lambda d: d["run"].pop("settings")), "run.settings"),
    ("bad date", mutate(lambda d: d["run"].update(created_at="yesterday")), "ISO 8601"),
    ("no models", mutate(lambda d: d["run"]["settings"].update(models=[])), "settings.models"),
    ("bad phrasing", mutate(lambda d: d["run"]["settings"]["phrasings"][0].update(templates=["no slot"])),
     "invalid settings"),
    ("missing table", mutate(lambda d: d["tables"].clear()), "has the tables results"),
    ("extra table", mutate(lambda d: d["tables"].update(other=d["tables"]["results"])), "has the tables"),
    ("bad dtype", mutate(lambda d: d["tables"]["results"]["dtypes"].__setitem__(0, "datetime64[ns]")),
     "unsupported dtype"),
    ("pickle dtype", mutate(lambda d: d["tables"]["results"]["dtypes"].__setitem__(0, "pickle")),
     "unsupported dtype"),
    ("short column", mutate(lambda d: d["tables"]["results"]["data"][0].pop()), "same length"),
    ("text in floats", mutate(lambda d: d["tables"]["results"]["data"][11].__setitem__(0, "0.5")),
     "column 'probability'"),
    ("float in ints", mutate(lambda d: d["tables"]["results"]["data"][4].__setitem__(0, 1.5)),
     "column 'label_index'"),
    ("missing column", mutate(lambda d: [d["tables"]["results"][key].pop(0) for key in ("columns", "dtypes", "data")]),
     "lacks the columns image"),
]


@pytest.mark.parametrize("case, build, message", BAD_RUN_FILES, ids=[case[0] for case in BAD_RUN_FILES])
def test_import_rejects_bad_file(store, tmp_path, case, build, message):
    kept_id = store.save(synthetic_run(seed=1))
    content = build()
    path = tmp_path / "bad.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    with pytest.raises(RunFileError, match=message):
        store.import_run(path)
    assert store.list_runs()["id"].tolist() == [kept_id]


def test_import_missing_file(store, tmp_path):
    with pytest.raises(RunFileError, match="not found"):
        store.import_run(tmp_path / "nowhere.json")


# -- comparing runs ----------------------------------------------------------------------


def test_compare_probabilities(store):
    a = synthetic_run(images=5, seed=1)
    b = copy.deepcopy(a)
    b.tables["results"]["probability"] += 0.25
    b.tables["results"].loc[b.tables["results"]["image"] == "image 000004.png", "image"] = "renamed.png"
    b.tables["results"].loc[0:2, "image_sha256"] = "0" * 64
    loaded_a, loaded_b = store.load(store.save(a)), store.load(store.save(b))

    table = compare_probabilities(loaded_a, loaded_b)
    assert len(table) == 6 * 3
    shared = table.dropna(subset=["probability_a", "probability_b"])
    assert len(shared) == 4 * 3
    assert np.allclose(shared["difference"], 0.25)
    assert table[table["image"] == "renamed.png"]["probability_a"].isna().all()
    assert table[table["image"] == "image 000004.png"]["probability_b"].isna().all()
    assert shared["same_image"].tolist() == [False] * 3 + [True] * 9


def test_settings_differences():
    a = synthetic_run(seed=1)
    b = copy.deepcopy(a)
    b.settings["models"] = ["demo", "ViT-B-32/openai"]
    b.settings["phrasings"][0]["templates"] = ["a photo of {}."]
    notes = compare_runs(a, b).settings
    assert notes == ["Models only in run b: ViT-B-32/openai.",
                     "Phrasing set 'default' has different labels or templates."]
    assert compare_runs(a, a).settings == []


def test_compare_metrics_without_evaluations():
    table = compare_metrics(synthetic_run(seed=1), synthetic_run(seed=2))
    assert table.empty
    assert "top1_accuracy_difference" in table.columns


# -- runs made with the demo model -------------------------------------------------------


@pytest.fixture(scope="module")
def shape_folder(tmp_path_factory) -> Path:
    return write_shape_folder(tmp_path_factory.mktemp("shapes"), images_per_class=3, seed=3)


@pytest.fixture(scope="module")
def evaluation(demo_model_dir, shape_folder):
    return evaluate(shape_folder, ["demo"], shape_phrasings(), cache=FeatureCache(None))


def test_evaluation_round_trip(store, evaluation, tmp_path):
    run = evaluation_run(evaluation, "shapes")
    loaded = store.load(store.save(run))
    assert_same_run(run, loaded)
    reopened = loaded.evaluation()
    pd.testing.assert_frame_equal(reopened.confusion_matrix("demo", "Español"),
                                  evaluation.confusion_matrix("demo", "Español"))
    pd.testing.assert_frame_equal(reopened.worst_images("demo", "English"), evaluation.worst_images("demo", "English"))
    assert store.list_runs()["best_top1_accuracy"].item() == evaluation.metrics["top1_accuracy"].max()

    imported = store.load(store.import_run(store.export_run(loaded.id, tmp_path / "evaluation.json")))
    assert_same_run(run, imported)


def test_provenance_records_weights(evaluation, demo_model_dir):
    run = evaluation_run(evaluation)
    (model,) = run.provenance["models"]
    checkpoint = Path(model["checkpoint"])
    assert checkpoint.parent == demo_model_dir
    assert model["checkpoint_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert model["family"] == "softmax"
    packages = run.provenance["packages"]
    assert {"torch", "open_clip_torch", "clip_compare_core", "numpy", "pandas"} <= set(packages)
    assert run.created_at.endswith("+00:00")


def test_compare_metrics_of_evaluations(evaluation, shape_folder):
    phrasings = shape_phrasings(english_template="a photo of {}.")
    other = evaluate(shape_folder, ["demo"], phrasings, cache=FeatureCache(None))
    a, b = evaluation_run(evaluation), evaluation_run(other)
    table = compare_metrics(a, b).set_index("phrasing")
    for phrasing in ("English", "Español"):
        before = evaluation.metrics.set_index("phrasing").loc[phrasing, "top1_accuracy"]
        after = other.metrics.set_index("phrasing").loc[phrasing, "top1_accuracy"]
        assert table.loc[phrasing, "top1_accuracy_difference"] == pytest.approx(after - before, abs=1e-12)
    assert table.loc["Español", "top1_accuracy_difference"] == 0
    assert compare_runs(a, b).settings == ["Phrasing set 'English' has different labels or templates."]


def test_rerun_evaluation_reproduces(store, evaluation):
    saved = store.load(store.save(evaluation_run(evaluation)))
    again = rerun(saved, cache=FeatureCache(None))
    differences = compare_probabilities(saved, again)
    assert len(differences) == len(saved.results)
    assert differences["difference"].abs().max() <= 1e-6
    assert differences["same_image"].all()
    pd.testing.assert_frame_equal(again.tables["metrics"], saved.tables["metrics"], atol=1e-6)


def test_rerun_comparison_reproduces(store, shape_folder, demo_model_dir):
    images = sorted(shape_folder.glob("*/1.png"))
    labels = [caption(colour, shape, "en") for colour in COLOURS for shape in SHAPES]
    run = run_comparison(images, labels, "demo", templates=["a photo of {}."], cache=FeatureCache(None))
    saved = store.load(store.save(run))
    again = rerun(saved, cache=FeatureCache(None))
    assert again.settings == saved.settings
    assert compare_probabilities(saved, again)["difference"].abs().max() <= 1e-6


def test_rerun_uploaded_images_needs_them(store, demo_model_dir):
    upload = draw_shape("red", "circle", np.random.default_rng(0))
    run = run_comparison({"upload.png": upload}, ["a red circle", "a blue square"], "demo", cache=FeatureCache(None))
    assert run.settings["images"] == [{"name": "upload.png", "path": None}]
    with pytest.raises(ClipCompareError, match="upload.png"):
        rerun(run)
    again = rerun(run, images={"upload.png": upload}, cache=FeatureCache(None))
    assert compare_probabilities(run, again)["difference"].abs().max() <= 1e-6


def test_checkpoint_hash_cached(tmp_path, monkeypatch):
    weights = tmp_path / "weights.safetensors"
    weights.write_bytes(os.urandom(3000))
    cache_file = tmp_path / "hashes.json"
    calls = []
    real_hash = core.experiment._hash_file
    monkeypatch.setattr(core.experiment, "_hash_file", lambda path: calls.append(path) or real_hash(path))
    monkeypatch.setattr(core.experiment, "_hash_memory", {})

    expected = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert checkpoint_sha256(weights, cache_file) == expected
    assert checkpoint_sha256(weights, cache_file) == expected
    assert len(calls) == 1

    monkeypatch.setattr(core.experiment, "_hash_memory", {})  # a new process: only the file remains
    assert checkpoint_sha256(weights, cache_file) == expected
    assert len(calls) == 1

    weights.write_bytes(os.urandom(3000))
    assert checkpoint_sha256(weights, cache_file) == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert len(calls) == 2
    assert len(json.loads(cache_file.read_text(encoding="utf-8"))) == 1


# -- many writers, crashes ---------------------------------------------------------------


def test_threads_save_at_once(store):
    barrier = threading.Barrier(2)
    saved, failures = [], []

    def save_three(seed: int) -> None:
        try:
            barrier.wait()
            for index in range(3):
                saved.append(store.save(synthetic_run(images=2000, seed=seed * 10 + index)))
        except Exception as error:  # reported below, so the test names the failure
            failures.append(error)

    threads = [threading.Thread(target=save_three, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(saved) == store.list_runs()["id"].tolist()
    assert len(set(saved)) == 6


def save_runs_in_child(path: str, seed: int, barrier) -> None:
    barrier.wait()
    store = RunStore(path)
    for index in range(3):
        store.save(synthetic_run(images=5000, seed=seed * 10 + index))


def test_processes_save_at_once(store):
    store.list_runs()  # create the database first, as the dashboard does at start-up
    barrier = FORK.Barrier(2)
    children = [FORK.Process(target=save_runs_in_child, args=(str(store.path), seed, barrier)) for seed in (1, 2)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    assert [child.exitcode for child in children] == [0, 0]
    listed = store.list_runs()
    assert len(listed) == 6
    for run_id, name in zip(listed["id"], listed["name"]):
        assert name.endswith(table_checksum(store.load(run_id).results))


class SignallingStore(RunStore):
    """Sends "begin" through a pipe once a save holds the write lock, so the test can kill it there."""

    def __init__(self, path, pipe):
        super().__init__(path)
        self.pipe = pipe

    @contextmanager
    def _transaction(self):
        with super()._transaction() as connection:
            self.pipe.send(("begin", None))
            yield connection


def save_until_killed(path: str, pipe) -> None:
    store = SignallingStore(path, pipe)
    for index in range(1000):
        run = synthetic_run(images=15_000, seed=100 + index, name="loop")
        pipe.send(("saved", store.save(run)))


def kill_during_save(path: Path) -> list[int]:
    """Start a child that saves runs, kill it with SIGKILL inside a save, return the ids it reported."""
    receiver, sender = FORK.Pipe(duplex=False)
    child = FORK.Process(target=save_until_killed, args=(str(path), sender))
    child.start()
    sender.close()
    reported, message = [], None
    try:
        # Let one save finish, then kill the next one a random moment after it takes the write lock.
        while not (reported and message == "begin"):
            assert receiver.poll(120), "the child process sent nothing within 120 s"
            message, run_id = receiver.recv()
            if message == "saved":
                reported.append(run_id)
        time.sleep(random.uniform(0, 0.05))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    assert child.exitcode == -signal.SIGKILL
    return reported


def test_kill_during_save_keeps_earlier_runs(store):
    earlier = [synthetic_run(images=50, seed=seed) for seed in range(3)]
    for run in earlier:
        store.save(run)

    reported = []
    for _ in range(3):
        reported += kill_during_save(store.path)

    listed = store.list_runs()["id"].tolist()
    assert listed[:3] == [run.id for run in earlier]
    assert set(reported) <= set(listed)
    for run in earlier:
        assert_same_run(run, store.load(run.id))
    for run_id in listed[3:]:  # the reported runs, and a killed one if its commit had finished
        loaded = store.load(run_id)
        assert loaded.name.endswith(table_checksum(loaded.results))
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    after = synthetic_run(seed=9)
    assert_same_run(after, store.load(store.save(after)))


# -- files that are not our database -----------------------------------------------------


def write_text_file(path: Path) -> None:
    path.write_text("run id,name\n1,my runs\n", encoding="utf-8")


def write_random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(8192))


def write_foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.execute("INSERT INTO notes VALUES ('keep me')")
    connection.close()


def write_other_application_id(path: Path) -> None:
    RunStore(path).list_runs()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA application_id = 1234")
    connection.close()


def write_newer_schema(path: Path) -> None:
    RunStore(path).list_runs()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    connection.close()


FOREIGN_FILES = [
    (write_text_file, ForeignDatabaseError, "not an SQLite database"),
    (write_random_bytes, ForeignDatabaseError, "not an SQLite database"),
    (write_foreign_sqlite, ForeignDatabaseError, "another program"),
    (write_other_application_id, ForeignDatabaseError, "application_id 1234"),
    (write_newer_schema, StoreError, "newer CLIP Compare"),
]


@pytest.mark.parametrize("write, error, message", FOREIGN_FILES, ids=[case[0].__name__ for case in FOREIGN_FILES])
def test_foreign_file_untouched(tmp_path, write, error, message):
    path = tmp_path / "runs.sqlite"
    write(path)
    before = path.read_bytes()
    store = RunStore(path)
    with pytest.raises(error, match=message):
        store.list_runs()
    with pytest.raises(error, match=message):
        store.save(synthetic_run())
    assert path.read_bytes() == before


def test_damaged_database_untouched(store):
    store.save(synthetic_run(seed=1))
    store.save(synthetic_run(seed=2))
    assert not Path(f"{store.path}-wal").exists()  # the last connection moved the WAL into the file
    data = bytearray(store.path.read_bytes())
    data[100:4096] = b"\xab" * (4096 - 100)  # the schema page, after the 100-byte header
    store.path.write_bytes(bytes(data))

    with pytest.raises(StoreError, match="cannot be used.*left unchanged"):
        store.list_runs()
    with pytest.raises(StoreError):
        store.save(synthetic_run(seed=3))
    assert store.path.read_bytes() == bytes(data)


def test_empty_file_becomes_database(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.touch()
    store = RunStore(path)
    store.save(synthetic_run())
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()


def test_folder_path_rejected(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        RunStore(tmp_path).list_runs()


def test_default_db_path(monkeypatch, tmp_path):
    monkeypatch.setenv("CLIP_COMPARE_DB", str(tmp_path / "mine.sqlite"))
    assert default_db_path() == tmp_path / "mine.sqlite"
    monkeypatch.delenv("CLIP_COMPARE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "clip-compare" / "runs.sqlite"


# -- command line ------------------------------------------------------------------------


def test_cli_runs_commands(store, tmp_path, capsys):
    first = store.save(synthetic_run(seed=1, name="first"))
    second = store.save(synthetic_run(seed=2, name="second"))
    database = ["--db", str(store.path)]

    assert main(["runs", *database, "list", "--format", "csv"]) == 0
    listed = capsys.readouterr().out
    assert listed.splitlines()[0] == "id,name,kind,created_at,models,phrasings,images,best_top1_accuracy"
    assert len(listed.splitlines()) == 3

    assert main(["runs", *database, "show", str(first), "--table", "results", "--format", "json"]) == 0
    shown_results = pd.DataFrame(json.loads(capsys.readouterr().out))
    saved_probabilities = store.load(first).results["probability"].tolist()
    assert shown_results["probability"].tolist() == pytest.approx(saved_probabilities, abs=1e-12)

    assert main(["runs", *database, "compare", str(first), str(second), "--probabilities", "--format", "csv"]) == 0
    assert "probability_a,probability_b,difference" in capsys.readouterr().out

    exported = tmp_path / "first.json"
    assert main(["runs", *database, "export", str(first), str(exported)]) == 0
    assert main(["runs", *database, "import", str(exported)]) == 0
    assert capsys.readouterr().out.strip() == str(second + 1)

    assert main(["runs", *database, "delete", str(first)]) == 0
    assert main(["runs", *database, "show", str(first)]) == 2
    assert f"No run with id {first}" in capsys.readouterr().err
