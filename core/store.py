"""Saved runs in a local SQLite database: save, list, load, delete, export and import.

The database path is ``CLIP_COMPARE_DB`` when set, else ``runs.sqlite`` in the user
data folder (``$XDG_DATA_HOME/clip-compare`` or ``~/.local/share/clip-compare``).

Why the data survive:

- Each save is one transaction, so a crash or a kill mid-save leaves every earlier
  run intact and the half-written one absent.
- The database runs in WAL mode with a busy timeout, so two processes or threads
  that save at once both succeed, one after the other.
- The file is recognised by its SQLite application_id and user_version before
  anything is written. A file that is not SQLite, or is another program's
  database, raises ForeignDatabaseError and is never changed. A damaged one raises
  StoreError, and its damaged pages are never written over.

Tables are stored as zlib-compressed JSON (see ``core.run_format``), so a run
loads exactly as it was saved. SQLite limits one value to about 1 GB by default,
far above the compressed results of 10,000 images × 100 labels × a few models.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd

from core.errors import ForeignDatabaseError, RunNotFoundError, StoreError
from core.experiment import RUN_KINDS, Run, utc_now
from core.run_format import decode_table, encode_table, read_run_file, write_run_file

logger = logging.getLogger(__name__)

# "CLCP" in ASCII: marks the file as a CLIP Compare run database.
APPLICATION_ID = 0x434C4350
SCHEMA_VERSION = 1
DEFAULT_TIMEOUT_S = 60.0
SQLITE_MAGIC = b"SQLite format 3\x00"
TABLE_ENCODING = "json+zlib"

LIST_COLUMNS = ["id", "name", "kind", "created_at", "models", "phrasings", "images", "best_top1_accuracy"]

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('comparison', 'evaluation')),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    models TEXT NOT NULL,
    phrasings TEXT NOT NULL,
    image_count INTEGER NOT NULL,
    best_top1_accuracy REAL,
    settings TEXT NOT NULL,
    provenance TEXT NOT NULL,
    errors TEXT NOT NULL,
    warnings TEXT NOT NULL
);
CREATE TABLE run_tables (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    encoding TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""


def default_db_path() -> Path:
    """Return the run database path: ``CLIP_COMPARE_DB`` or the user data folder."""
    configured = os.environ.get("CLIP_COMPARE_DB")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "clip-compare" / "runs.sqlite"


class RunStore:
    """A run database. Every method opens its own connection, so one store serves many threads."""

    def __init__(self, path: str | os.PathLike | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.timeout_s = timeout_s

    def save(self, run: Run) -> int:
        """Save ``run`` in one transaction and return its new id (also set on ``run.id``)."""
        if run.kind not in RUN_KINDS:
            raise StoreError(f"Cannot save a run of kind {run.kind!r}; expected one of {', '.join(RUN_KINDS)}.")
        # Encode before taking the write lock, so other writers wait only for the inserts.
        blobs = [(name, zlib.compress(json.dumps(encode_table(table, name), allow_nan=False).encode("utf-8"), 6))
                 for name, table in run.tables.items()]
        row = _run_row(run)

        with self._transaction() as connection:
            cursor = connection.execute(
                f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
            run_id = int(cursor.lastrowid)
            connection.executemany("INSERT INTO run_tables (run_id, name, encoding, data) VALUES (?, ?, ?, ?)",
                                   [(run_id, name, TABLE_ENCODING, blob) for name, blob in blobs])
        run.id = run_id
        logger.info("Saved run %d (%s) in %s", run_id, run.kind, self.path)
        return run_id

    def list_runs(self) -> pd.DataFrame:
        """Return one row per saved run, oldest first, with the columns in LIST_COLUMNS."""
        with self._reading() as connection:
            rows = connection.execute(
                "SELECT id, name, kind, created_at, models, phrasings, image_count, best_top1_accuracy "
                "FROM runs ORDER BY id").fetchall()
        table = pd.DataFrame(rows, columns=LIST_COLUMNS)
        table["models"] = [", ".join(json.loads(value)) for value in table["models"]]
        table["phrasings"] = [", ".join(json.loads(value)) for value in table["phrasings"]]
        return table.astype({"id": "int64", "images": "int64", "best_top1_accuracy": "float64"})

    def load(self, run_id: int) -> Run:
        """Return the run with id ``run_id`` exactly as it was saved."""
        with self._reading() as connection:
            row = connection.execute(
                "SELECT id, uid, kind, name, created_at, settings, provenance, errors, warnings "
                "FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            if row is None:
                raise RunNotFoundError(self._not_found_message(run_id))
            stored = connection.execute("SELECT name, encoding, data FROM run_tables WHERE run_id = ? ORDER BY rowid",
                                        (int(run_id),)).fetchall()

        tables = {name: self._decode(run_id, name, encoding, data) for name, encoding, data in stored}
        identifier, uid, kind, name, created_at, settings, provenance, errors, warnings = row
        return Run(kind, json.loads(settings), tables, json.loads(provenance), name=name, created_at=created_at,
                   errors=json.loads(errors), warnings=json.loads(warnings), id=identifier, uid=uid)

    def delete(self, run_id: int) -> None:
        """Delete a run and its tables; raises RunNotFoundError if there is no such run."""
        with self._transaction() as connection:
            connection.execute("DELETE FROM run_tables WHERE run_id = ?", (int(run_id),))
            if connection.execute("DELETE FROM runs WHERE id = ?", (int(run_id),)).rowcount == 0:
                raise RunNotFoundError(self._not_found_message(run_id))
        logger.info("Deleted run %s from %s", run_id, self.path)

    def export_run(self, run_id: int, path: str | os.PathLike) -> Path:
        """Write a saved run to a JSON run file and return its path."""
        return write_run_file(self.load(run_id), path)

    def import_run(self, path: str | os.PathLike) -> int:
        """Validate a JSON run file, save it as a new run and return its id."""
        return self.save(read_run_file(path))

    def _not_found_message(self, run_id: int) -> str:
        return f"No run with id {run_id} in {self.path}. List the saved runs with `python -m core runs list`."

    def _decode(self, run_id: int, name: str, encoding: str, data: bytes) -> pd.DataFrame:
        where = f"run {run_id}, table {name!r} in {self.path}"
        if encoding != TABLE_ENCODING:
            raise StoreError(f"{where}: unknown encoding {encoding!r}; a newer CLIP Compare may have written it.")
        try:
            return decode_table(json.loads(zlib.decompress(data)), where, check_values=False)
        except (zlib.error, ValueError) as error:
            raise StoreError(f"{where} is damaged and cannot be read ({error}).") from None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside a read transaction, so that several queries see one snapshot."""
        with self._connection() as connection:
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside BEGIN IMMEDIATE, committing on success and rolling back on error."""
        with self._connection() as connection:
            # IMMEDIATE takes the write lock now, so a busy database waits here under the busy
            # timeout instead of failing later when a read lock cannot be upgraded.
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        connection = open_database(self.path, self.timeout_s)
        try:
            yield connection
        except sqlite3.OperationalError as error:
            raise StoreError(_operational_message(self.path, error, self.timeout_s)) from None
        except sqlite3.DatabaseError as error:
            raise StoreError(_damaged_message(self.path, error)) from None
        finally:
            connection.close()


def _run_row(run: Run) -> dict:
    metrics = run.tables.get("metrics")
    best = float(metrics["top1_accuracy"].max()) if metrics is not None and len(metrics) else None
    image_count = int(run.results["image"].nunique()) if "image" in run.results else 0
    return {
        "uid": run.uid, "kind": run.kind, "name": run.name, "created_at": run.created_at, "saved_at": utc_now(),
        "models": json.dumps(run.models), "phrasings": json.dumps(run.phrasing_names),
        "image_count": image_count, "best_top1_accuracy": best,
        "settings": json.dumps(run.settings, ensure_ascii=False),
        "provenance": json.dumps(run.provenance, ensure_ascii=False),
        "errors": json.dumps(run.errors, ensure_ascii=False),
        "warnings": json.dumps(run.warnings, ensure_ascii=False),
    }


def open_database(path: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> sqlite3.Connection:
    """Open the run database at ``path``, creating it when absent or empty.

    Raises ForeignDatabaseError, without writing to the file, when it is not an
    SQLite database or is one that CLIP Compare did not create.
    """
    _check_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Autocommit mode: reads need no transaction, and writes use explicit BEGIN IMMEDIATE.
        connection = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    except sqlite3.Error as error:
        raise StoreError(f"Cannot open the run database {path}: {error}") from None
    try:
        _prepare(connection, path)
    except sqlite3.OperationalError as error:
        connection.close()
        raise StoreError(_operational_message(path, error, timeout_s)) from None
    except sqlite3.DatabaseError as error:
        connection.close()
        raise StoreError(_damaged_message(path, error)) from None
    except BaseException:
        connection.close()
        raise
    return connection


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise StoreError(f"The run database path {path} is a folder; give a file path such as {path / 'runs.sqlite'}.")
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as error:
        raise StoreError(f"Cannot read the run database {path}: {error}") from None
    if header and header != SQLITE_MAGIC:
        raise ForeignDatabaseError(
            f"{path} is not an SQLite database, so it is not a CLIP Compare run database. It was left "
            "unchanged. Move it away, or choose another database path (CLIP_COMPARE_DB or --db)."
        )


def _prepare(connection: sqlite3.Connection, path: Path) -> None:
    """Check that the database is ours, creating the schema in an empty one."""
    state = _schema_state(connection, path)
    if state == "ready":
        return

    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have created the schema while this one waited for the lock.
        if _schema_state(connection, path) == "empty":
            _create_schema(connection)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    logger.info("Created the run database %s", path)


def _create_schema(connection: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _schema_state(connection: sqlite3.Connection, path: Path) -> str:
    """Return "ready" for our database, "empty" for one with no tables; raise for anything else."""
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    object_count = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]

    if application_id == APPLICATION_ID:
        if version == SCHEMA_VERSION:
            return "ready"
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path} was written by a newer CLIP Compare (schema {version}; this one reads "
                             f"{SCHEMA_VERSION}). Upgrade CLIP Compare to open it.")
        raise StoreError(f"{path} has the unknown schema version {version}. It was left unchanged.")
    if application_id == 0 and version == 0 and object_count == 0:
        return "empty"
    raise ForeignDatabaseError(
        f"{path} is an SQLite database of another program (application_id {application_id}, user_version "
        f"{version}), not a CLIP Compare run database. It was left unchanged. Choose another database path "
        "(CLIP_COMPARE_DB or --db)."
    )


def _operational_message(path: Path, error: sqlite3.OperationalError, timeout_s: float) -> str:
    if "locked" in str(error) or "busy" in str(error):
        return (f"The run database {path} stayed locked by another save for over {timeout_s:g} s ({error}). "
                "Try again when the other save has finished.")
    return _damaged_message(path, error)


def _damaged_message(path: Path, error: sqlite3.DatabaseError) -> str:
    return (f"The run database {path} cannot be used: {error}. It was left unchanged. If it is damaged, "
            "restore a backup or move it away; a new database is created at that path.")
