"""Command line: ``python -m core classify|models|download|evaluate|runs``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PIL import Image

from core.classify import classify
from core.cli_experiments import add_commands as add_experiment_commands
from core.errors import ClipCompareError
from core.features import FeatureCache, default_cache_dir
from core.loading import load_model
from core.prompts import TEMPLATE_SETS, make_phrasing_set, split_label_text
from core.registry import CURATED_MODELS, DEFAULT_MODEL_ID, DEMO_MODEL_ID, is_cached


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except ClipCompareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Compare CLIP models on images and labels.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log where weights and features come from")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("classify", help="classify images and print one row per image × model × label")
    # nargs="*": --labels takes every value after it, so images written after the labels
    # arrive among the labels and _split_trailing_images moves them back.
    run.add_argument("images", nargs="*", metavar="IMAGE", help="image files")
    run.add_argument("--model", action="append", dest="models", metavar="ID",
                     help=f"model id, repeatable (default {DEFAULT_MODEL_ID}); see `python -m core models`")
    run.add_argument("--labels", nargs="+", default=[], metavar="LABEL", help="labels to score")
    run.add_argument("--labels-file", type=Path, metavar="FILE", help="a UTF-8 file with one label per line")
    run.add_argument("--template", action="append", dest="templates", metavar="T",
                     help="a template with {} for the label, or a built-in set: "
                          f"{', '.join(TEMPLATE_SETS)}; repeat for an ensemble (default: none)")
    run.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")
    run.add_argument("--cache-dir", type=Path, default=None,
                     help=f"feature cache folder (default {default_cache_dir()})")
    run.set_defaults(run=_classify)

    models = commands.add_parser("models", help="list the curated models and whether their weights are cached")
    models.set_defaults(run=_models)

    download = commands.add_parser("download", help="download a model's weights into the Hugging Face cache")
    download.add_argument("model_id", metavar="ID")
    download.set_defaults(run=_download)

    add_experiment_commands(commands)
    return parser


def _classify(args: argparse.Namespace) -> int:
    images, labels = list(args.images), list(args.labels)
    if not images:
        images, labels = _split_trailing_images(labels)
    if not images:
        print("error: no IMAGE given. List image files after the labels, or end the labels with --.",
              file=sys.stderr)
        return 2
    if args.labels_file:
        try:
            labels += split_label_text(args.labels_file.read_text(encoding="utf-8"))[0]
        except (OSError, UnicodeDecodeError) as error:
            print(f"error: cannot read --labels-file {args.labels_file}: {error}", file=sys.stderr)
            return 2
    templates = args.templates or "none"
    if isinstance(templates, list) and len(templates) == 1 and templates[0] in TEMPLATE_SETS:
        templates = templates[0]
    phrasing = make_phrasing_set("default", labels, templates)

    cache = FeatureCache(args.cache_dir) if args.cache_dir else None
    table = classify(images, phrasing, args.models or [DEFAULT_MODEL_ID], errors="collect", cache=cache)
    for problem in table.attrs["errors"]:
        print(f"error: {problem['message']}", file=sys.stderr)

    if table.empty:
        return 1
    if args.format == "json":
        sys.stdout.write(table.to_json(orient="records", force_ascii=False, indent=1) + "\n")
    else:
        table.to_csv(sys.stdout, index=False)
    return 0


def _split_trailing_images(values: list[str]) -> tuple[list[str], list[str]]:
    """Split ``--labels a b photo.jpg`` into images and labels: trailing files or image names are images.

    A trailing value counts as an image when it is an existing file or ends with an image
    extension registered in Pillow, so a mistyped path still gets its "file not found" line.
    """
    extensions = Image.registered_extensions()
    split = len(values)
    while split > 0 and (Path(values[split - 1]).is_file()
                         or Path(values[split - 1]).suffix.lower() in extensions):
        split -= 1
    return values[split:], values[:split]


def _models(args: argparse.Namespace) -> int:
    header = f"{'model id':46} {'family':8} {'languages':12} {'params':>8} {'download':>10} {'ImageNet':>9}  cached"
    print(header)
    for info in CURATED_MODELS:
        top1 = f"{info.imagenet_top1:.1f}%" if info.imagenet_top1 is not None else "n/a"
        download = "included" if info.model_id == DEMO_MODEL_ID else f"{info.download_mb:,} MB"
        print(f"{info.model_id:46} {info.family:8} {info.languages:12} {info.params_m:>7.1f}M "
              f"{download:>10} {top1:>9}  {'yes' if is_cached(info.model_id) else 'no'}")
    return 0


def _download(args: argparse.Namespace) -> int:
    loaded = load_model(args.model_id)
    print(f"{args.model_id} is ready: {loaded.checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
