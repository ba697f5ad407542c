"""The JSON form of a run: how its tables are encoded, and the validated run file format.

A table is encoded column by column with its dtypes, so a decoded DataFrame equals
the saved one exactly: floats are written with Python's shortest round-trip repr,
NaN as null and infinities as the strings "Infinity" and "-Infinity". A run file is::

    {"format": "clip-compare-run", "format_version": 1,
     "run": {"uid", "kind", "name", "created_at", "settings", "provenance", "errors", "warnings"},
     "tables": {"results": {"columns": [...], "dtypes": [...], "data": [[...], ...], "attrs": {...}}, ...}}

Reading one uses only ``json.loads`` and checks every field and value type, so a
file from elsewhere can neither run code nor produce a run that breaks later.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.classify import RESULT_COLUMNS
from core.errors import ClipCompareError, RunFileError, StoreError
from core.evaluate import parse_phrasings
from core.experiment import COMPARISON_TABLES, EVALUATION_TABLES, RUN_KINDS, Run
from core.metrics import AGREEMENT_COLUMNS, METRIC_COLUMNS, PER_CLASS_COLUMNS, PREDICTION_COLUMNS
from core.prompts import make_phrasing_set

FILE_FORMAT = "clip-compare-run"
FILE_FORMAT_VERSION = 1

_INTEGER_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
_FLOAT_DTYPES = {"float32", "float64"}
ALLOWED_DTYPES = _INTEGER_DTYPES | _FLOAT_DTYPES | {"bool", "boolean", "str", "object"}

REQUIRED_COLUMNS = {
    "results": RESULT_COLUMNS,
    "images": ["image", "path", "class", "image_sha256"],
    "predictions": PREDICTION_COLUMNS,
    "metrics": METRIC_COLUMNS,
    "per_class": PER_CLASS_COLUMNS,
    "agreement": AGREEMENT_COLUMNS,
}
_NON_FINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def encode_table(table: pd.DataFrame, name: str = "table") -> dict[str, Any]:
    """Encode a DataFrame as JSON-ready columns; its index is not kept."""
    dtypes = [_dtype_name(table[column], name, column) for column in table.columns]
    data = [_encode_values(table[column], dtype) for column, dtype in zip(table.columns, dtypes)]
    try:
        attrs = json.loads(json.dumps(table.attrs, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise StoreError(f"Table {name!r}: its attrs cannot be stored as JSON ({error}).") from None
    return {"columns": [str(column) for column in table.columns], "dtypes": dtypes, "data": data, "attrs": attrs}


def _dtype_name(column: pd.Series, table: str, name: str) -> str:
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return "str"
    if isinstance(dtype, pd.BooleanDtype):
        return "boolean"
    if str(dtype) in ALLOWED_DTYPES:
        return str(dtype)
    raise StoreError(f"Table {table!r}, column {name!r}: dtype {dtype} cannot be stored; "
                     f"use one of {', '.join(sorted(ALLOWED_DTYPES))}.")


def _encode_values(column: pd.Series, dtype: str) -> list:
    if dtype in _FLOAT_DTYPES:
        return [value if math.isfinite(value) else (None if math.isnan(value) else
                                                      ("Infinity" if value > 0 else "-Infinity"))
                for value in column.astype("float64").tolist()]
    if dtype in ("str", "boolean", "object"):
        return [None if _is_missing(value) else _plain(value) for value in column.tolist()]
    return column.tolist()


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode_table(encoded: Any, where: str, check_values: bool = True) -> pd.DataFrame:
    """Decode a table written by ``encode_table``; raises RunFileError naming what is wrong."""
    if not isinstance(encoded, dict) or not {"columns", "dtypes", "data"} <= set(encoded):
        raise RunFileError(f'{where} must be an object with "columns", "dtypes" and "data".')
    columns, dtypes, data = encoded["columns"], encoded["dtypes"], encoded["data"]
    if not (isinstance(columns, list) and isinstance(dtypes, list) and isinstance(data, list)
            and len(columns) == len(dtypes) == len(data)):
        raise RunFileError(f'{where}: "columns", "dtypes" and "data" must be lists of the same length.')
    if len(set(map(str, columns))) != len(columns) or not all(isinstance(column, str) for column in columns):
        raise RunFileError(f"{where}: column names must be distinct strings.")
    lengths = {len(values) if isinstance(values, list) else -1 for values in data}
    if len(lengths) > 1 or -1 in lengths:
        raise RunFileError(f"{where}: every column must be a list of values of the same length.")

    series = {column: _decode_column(values, dtype, f"{where}, column {column!r}", check_values)
              for column, dtype, values in zip(columns, dtypes, data)}
    table = pd.DataFrame(series, columns=columns)
    attrs = encoded.get("attrs", {})
    if not isinstance(attrs, dict):
        raise RunFileError(f'{where}: "attrs" must be an object.')
    table.attrs = attrs
    return table


def _decode_column(values: list, dtype: Any, where: str, check_values: bool) -> pd.Series:
    if dtype not in ALLOWED_DTYPES:
        raise RunFileError(
            f"{where}: unsupported dtype {dtype!r}; expected one of {', '.join(sorted(ALLOWED_DTYPES))}.")
    if check_values:
        _check_values(values, dtype, where)
    if dtype in _FLOAT_DTYPES:
        values = [math.nan if value is None else _NON_FINITE.get(value, value) for value in values]
        return pd.Series(np.array(values, dtype=np.float64).astype(dtype))
    return pd.Series(values, dtype=dtype)


def _check_values(values: list, dtype: str, where: str) -> None:
    if dtype in _INTEGER_DTYPES:
        valid = all(isinstance(value, int) and not isinstance(value, bool) for value in values)
        expected = "integers"
    elif dtype in _FLOAT_DTYPES:
        valid = all(value is None or value in _NON_FINITE or (isinstance(value, (int, float))
                                                               and not isinstance(value, bool)) for value in values)
        expected = 'numbers, null or "Infinity"'
    elif dtype == "bool":
        valid, expected = all(isinstance(value, bool) for value in values), "true or false"
    elif dtype == "boolean":
        valid, expected = all(value is None or isinstance(value, bool) for value in values), "true, false or null"
    elif dtype == "str":
        valid, expected = all(value is None or isinstance(value, str) for value in values), "strings or null"
    else:
        valid = all(value is None or isinstance(value, (str, int, float, bool)) for value in values)
        expected = "strings, numbers, booleans or null"
    if not valid:
        raise RunFileError(f"{where}: values must be {expected} for dtype {dtype}.")


def run_to_json(run: Run) -> dict[str, Any]:
    """Return the run file content for ``run`` (see the module docstring)."""
    header = {key: getattr(run, key) for key in
              ("uid", "kind", "name", "created_at", "settings", "provenance", "errors", "warnings")}
    tables = {name: encode_table(table, name) for name, table in run.tables.items()}
    return {"format": FILE_FORMAT, "format_version": FILE_FORMAT_VERSION, "run": header, "tables": tables}


def write_run_file(run: Run, path: str | os.PathLike) -> Path:
    """Write ``run`` to a UTF-8 JSON run file, atomically (a crash leaves the old file or none)."""
    path = Path(path).expanduser()
    text = json.dumps(run_to_json(run), ensure_ascii=False, allow_nan=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as handle:
            handle.write(text)
        os.replace(handle.name, path)
    except OSError as error:
        raise StoreError(f"Cannot write the run file {path}: {error}") from None
    return path


def read_run_file(path: str | os.PathLike) -> Run:
    """Read and validate a run file; raises RunFileError for a foreign or malformed file."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFileError(f"Run file not found: {path}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RunFileError(f"Cannot read {path} as a UTF-8 run file: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunFileError(f"{path} is not a CLIP Compare run file: it is not valid JSON ({error.msg} "
                           f"at line {error.lineno}).") from None
    return run_from_json(data, str(path))


def run_from_json(data: Any, source: str = "run file") -> Run:
    """Validate run file content and return the Run (without a database id)."""
    if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
        raise RunFileError(f'{source} is not a CLIP Compare run file: it has no "format": "{FILE_FORMAT}".')
    version = data.get("format_version")
    if version != FILE_FORMAT_VERSION:
        raise RunFileError(f"{source} has run file format version {version!r}; this version of CLIP Compare "
                           f"reads version {FILE_FORMAT_VERSION}. Upgrade CLIP Compare to import it.")
    header, tables = data.get("run"), data.get("tables")
    if not isinstance(header, dict) or not isinstance(tables, dict):
        raise RunFileError(f'{source}: "run" and "tables" must be objects.')

    fields = _check_header(header, source)
    expected = EVALUATION_TABLES if fields["kind"] == "evaluation" else COMPARISON_TABLES
    if set(tables) != set(expected):
        raise RunFileError(f"{source}: a {fields['kind']} run has the tables {', '.join(expected)}; "
                           f"the file has {', '.join(sorted(tables)) or 'none'}.")
    decoded = {name: decode_table(tables[name], f"{source}: table {name!r}") for name in expected}
    for name, table in decoded.items():
        missing = [column for column in REQUIRED_COLUMNS[name] if column not in table.columns]
        if missing:
            raise RunFileError(f"{source}: table {name!r} lacks the columns {', '.join(missing)}.")
    return Run(tables=decoded, **fields)


def _check_header(header: dict, source: str) -> dict[str, Any]:
    types = {"uid": str, "kind": str, "name": str, "created_at": str, "settings": dict, "provenance": dict,
             "errors": list, "warnings": list}
    for key, kind in types.items():
        if not isinstance(header.get(key), kind):
            raise RunFileError(f'{source}: "run.{key}" is missing or not a {kind.__name__}.')
    if header["kind"] not in RUN_KINDS:
        raise RunFileError(f'{source}: "run.kind" must be one of {", ".join(RUN_KINDS)}, not {header["kind"]!r}.')
    if not header["uid"].strip() or len(header["uid"]) > 100:
        raise RunFileError(f'{source}: "run.uid" must be a non-empty string of at most 100 characters.')
    try:
        datetime.fromisoformat(header["created_at"])
    except ValueError:
        raise RunFileError(f'{source}: "run.created_at" is not an ISO 8601 date: {header["created_at"]!r}.') from None
    if not all(isinstance(entry, dict) for entry in header["errors"]) or \
            not all(isinstance(entry, str) for entry in header["warnings"]):
        raise RunFileError(f'{source}: "run.errors" must list objects and "run.warnings" strings.')
    check_settings(header["settings"], header["kind"], source)
    return {key: header[key] for key in types}


def check_settings(settings: dict, kind: str, source: str) -> None:
    """Check that ``settings`` can run the experiment again; raises RunFileError if not."""
    models = settings.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(model, str) for model in models):
        raise RunFileError(f'{source}: "settings.models" must be a non-empty list of model ids.')
    try:
        if kind == "evaluation":
            if not isinstance(settings.get("data"), str):
                raise RunFileError(f'{source}: "settings.data" must be the path of the labelled image set.')
            parse_phrasings(settings.get("phrasings"), f"{source}: settings")
        else:
            _check_comparison_settings(settings, source)
    except RunFileError:
        raise
    except (ClipCompareError, TypeError, KeyError, AttributeError) as error:
        raise RunFileError(f"{source}: invalid settings: {error}") from None


def _check_comparison_settings(settings: dict, source: str) -> None:
    images = settings.get("images")
    if not isinstance(images, list) or not all(
            isinstance(entry, dict) and isinstance(entry.get("name"), str)
            and (entry.get("path") is None or isinstance(entry.get("path"), str)) for entry in images):
        raise RunFileError(f'{source}: "settings.images" must list objects with a "name" and a "path" or null.')
    phrasings = settings.get("phrasings")
    if not isinstance(phrasings, list) or not phrasings:
        raise RunFileError(f'{source}: "settings.phrasings" must be a non-empty list.')
    for entry in phrasings:
        make_phrasing_set(entry["name"], entry["labels"], entry["templates"])
