"""Command line for experiments: ``python -m core evaluate`` and ``python -m core runs ...``.

Tables go to stdout as CSV, JSON or aligned text. Progress bars, skipped files and
status lines such as "Saved run 3" go to stderr, so stdout can be redirected to a
file. ``runs import`` prints the new run id on stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from core.compare_runs import compare_runs
from core.evaluate import evaluate
from core.experiment import evaluation_run
from core.features import FeatureCache, default_cache_dir
from core.presets import PRESETS, compare_with_published
from core.registry import DEFAULT_MODEL_ID
from core.store import RunStore, default_db_path

RESULT_TABLES = ("metrics", "per_class", "agreement", "predictions")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register the ``evaluate`` and ``runs`` commands on the CLI's subparsers."""
    run = commands.add_parser("evaluate", help="evaluate models × phrasing sets on a labelled image folder or CSV")
    run.add_argument("data", metavar="DATA",
                     help="a folder with one subfolder per class, or a CSV file with image,label rows")
    run.add_argument("--model", action="append", dest="models", metavar="ID",
                     help=f"model id, repeatable: --model A --model B (default {DEFAULT_MODEL_ID})")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--phrasings", type=Path, metavar="FILE",
                        help="a JSON phrasing file mapping each class to a label per phrasing set "
                             "(default: the class names are the labels)")
    source.add_argument("--preset", choices=sorted(PRESETS),
                        help="use a preset's phrasing sets and show its published top-1 accuracy")
    run.add_argument("--table", choices=RESULT_TABLES, default="metrics", help="which table to print (default metrics)")
    run.add_argument("--format", choices=("csv", "json", "text"), default="csv", help="output format (default csv)")
    run.add_argument("--save", action="store_true", help="save the run in the run database and print its id")
    run.add_argument("--name", default="", help="a name for the saved run")
    run.add_argument("--db", type=Path, default=None, help=f"run database (default {default_db_path()})")
    run.add_argument("--cache-dir", type=Path, default=None,
                     help=f"feature cache folder (default {default_cache_dir()})")
    run.add_argument("--no-progress", action="store_true", help="do not draw progress bars on stderr")
    run.set_defaults(run=_evaluate)

    runs = commands.add_parser("runs", help="list, show, compare, delete, export or import saved runs")
    runs.add_argument("--db", type=Path, default=None, help=f"run database (default {default_db_path()})")
    actions = runs.add_subparsers(required=True, metavar="ACTION")
    _add_runs_actions(actions)


def _add_runs_actions(actions: argparse._SubParsersAction) -> None:
    listing = actions.add_parser("list", help="list saved runs")
    listing.add_argument("--format", choices=("csv", "json", "text"), default="text")
    listing.set_defaults(run=_runs_list)

    show = actions.add_parser("show", help="print a saved run's settings and a table")
    show.add_argument("run_id", type=int, metavar="ID")
    show.add_argument("--table", default="metrics", help="table to print: metrics, per_class, agreement, "
                                                          "predictions, images or results (default metrics)")
    show.add_argument("--format", choices=("csv", "json", "text"), default="text")
    show.set_defaults(run=_runs_show)

    compare = actions.add_parser("compare", help="compare two saved runs (differences are B - A)")
    compare.add_argument("run_a", type=int, metavar="A")
    compare.add_argument("run_b", type=int, metavar="B")
    compare.add_argument("--probabilities", action="store_true", help="print per-label probability differences")
    compare.add_argument("--format", choices=("csv", "json", "text"), default="text")
    compare.set_defaults(run=_runs_compare)

    delete = actions.add_parser("delete", help="delete a saved run")
    delete.add_argument("run_id", type=int, metavar="ID")
    delete.set_defaults(run=_runs_delete)

    export = actions.add_parser("export", help="write a saved run to a JSON file")
    export.add_argument("run_id", type=int, metavar="ID")
    export.add_argument("path", type=Path, metavar="FILE")
    export.set_defaults(run=_runs_export)

    load = actions.add_parser("import", help="save a run from a JSON file written by `runs export`")
    load.add_argument("path", type=Path, metavar="FILE")
    load.set_defaults(run=_runs_import)


class ProgressBars:
    """One tqdm bar on stderr per model and stage, fed by evaluate's progress callback."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._key: tuple[str, str] | None = None
        self._bar: tqdm | None = None

    def __call__(self, model_id: str, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if (model_id, stage) != self._key:
            self.close()
            description = "reading images" if stage == "read" else f"{model_id}: {stage}"
            unit = "B" if stage == "download" else "it"
            self._bar = tqdm(total=total, desc=description, unit=unit, unit_scale=stage == "download",
                             file=sys.stderr, leave=False)
            self._key = (model_id, stage)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._key = None, None


def _evaluate(args: argparse.Namespace) -> int:
    phrasings = PRESETS[args.preset].phrasing_file() if args.preset else args.phrasings
    cache = FeatureCache(args.cache_dir) if args.cache_dir else None
    bars = ProgressBars(enabled=not args.no_progress)
    try:
        result = evaluate(args.data, args.models or [DEFAULT_MODEL_ID], phrasings, errors="collect",
                          cache=cache, progress=bars)
    finally:
        bars.close()

    for problem in result.errors:
        print(f"error: {problem['message']}", file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.metrics.empty:
        print("error: no model produced results, so there are no metrics.", file=sys.stderr)
        return 1

    table = getattr(result, args.table)
    if args.preset and args.table == "metrics":
        published = compare_with_published(PRESETS[args.preset], result.metrics)
        table = table.assign(published_top1_accuracy=published["published_top1_accuracy"])
    _write_table(table, args.format)

    if args.save:
        store = RunStore(args.db)
        run_id = store.save(evaluation_run(result, args.name))
        print(f"Saved run {run_id} in {store.path}", file=sys.stderr)
    return 0


def _runs_list(args: argparse.Namespace) -> int:
    _write_table(RunStore(args.db).list_runs(), args.format)
    return 0


def _runs_show(args: argparse.Namespace) -> int:
    run = RunStore(args.db).load(args.run_id)
    if args.table not in run.tables:
        print(f"error: run {run.id} has no table {args.table!r}; it has {', '.join(run.tables)}.", file=sys.stderr)
        return 2
    if args.format == "text":
        print(f"run {run.id}: {run.kind} {run.name!r}, created {run.created_at}")
        print(f"models: {', '.join(run.models)}; phrasing sets: {', '.join(run.phrasing_names)}")
        packages = run.provenance.get("packages", {})
        print("packages: " + ", ".join(f"{name} {version}" for name, version in packages.items()))
        for problem in run.errors:
            print(f"skipped: {problem.get('message', problem)}")
        print()
    _write_table(run.tables[args.table], args.format)
    return 0


def _runs_compare(args: argparse.Namespace) -> int:
    store = RunStore(args.db)
    comparison = compare_runs(store.load(args.run_a), store.load(args.run_b))
    if args.format == "text":
        for note in comparison.settings or ["The settings are the same."]:
            print(note)
        print()
    _write_table(comparison.probabilities if args.probabilities else comparison.metrics, args.format)
    return 0


def _runs_delete(args: argparse.Namespace) -> int:
    RunStore(args.db).delete(args.run_id)
    print(f"Deleted run {args.run_id}.", file=sys.stderr)
    return 0


def _runs_export(args: argparse.Namespace) -> int:
    path = RunStore(args.db).export_run(args.run_id, args.path)
    print(f"Wrote run {args.run_id} to {path}.", file=sys.stderr)
    return 0


def _runs_import(args: argparse.Namespace) -> int:
    store = RunStore(args.db)
    run_id = store.import_run(args.path)
    print(run_id)
    print(f"Imported {args.path} as run {run_id} in {store.path}.", file=sys.stderr)
    return 0


def _write_table(table: pd.DataFrame, output_format: str) -> None:
    if output_format == "json":
        sys.stdout.write(table.to_json(orient="records", force_ascii=False, indent=1, double_precision=15) + "\n")
    elif output_format == "csv":
        table.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
            print(table.to_string(index=False))
