"""Turn benchmark measurements into the Markdown of bench/RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import open_clip
import torch

from bench import clock
from bench.fast_mode import PROMPT_COUNT, DemoAgreement, ThroughputResult
from bench.grid import GridResult

# Everything below this line in an existing RESULTS.md is kept when the file is rewritten.
NOTES_MARKER = "<!-- Notes below this line are written by hand and kept when bench/run.py rewrites the file. -->"

# Methods in the order the side-by-side tables list them.
METHODS = (
    "plain loop", "classify", "classify @int8", "per image", "new labels alone", "new labels alone, trimmed",
    "label edit",
    "repeat, loaded images", "repeat, same files", "load images",
)

CLASSIFY_OVER_PLAIN = 1.10
PER_IMAGE_OVER_CLASSIFY = 4.0
EDIT_OVER_NEW_LABELS = 1.2
REPEAT_SHARE = 0.05
INT8_SPEEDUP = 1.8
THREE_MODELS_MB = 2500
DASHBOARD_GROWTH_MB = 50


@dataclass
class Measurements:
    """Everything one benchmark run measured, by model label (such as "ViT-B-32, random weights")."""

    command: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    grids: dict[str, list[GridResult]] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    throughput: dict[str, ThroughputResult] = field(default_factory=dict)
    demo_agreement: DemoAgreement | None = None
    models_memory: dict[str, dict] = field(default_factory=dict)
    dashboard_memory: dict | None = None
    memory_notes: list[str] = field(default_factory=list)


def machine_lines(threads: int) -> list[str]:
    """Describe the CPU, the core count, the software versions and the thread count."""
    return [
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores visible to Python",
        f"- Python {platform.python_version()}, torch {torch.__version__}, open_clip {open_clip.__version__}",
        f"- torch intra-op threads: {threads}; quantised engine: {torch.backends.quantized.engine}",
        f"- Clock: {clock.clock_name} ({'wall time' if clock.clock_name == 'wall' else 'CPU time of the benchmark process'})",
    ]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def render(measurements: Measurements, threads: int, primary: str) -> str:
    """Return the whole RESULTS.md text; ``primary`` is the ViT-B-32-sized model the targets use."""
    today = datetime.date.today().isoformat()
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{measurements.command}` on {today}. See `bench/README.md` for what each method does.",
        "",
        "## Machine",
        "",
        *machine_lines(threads),
        f"- Load average (1, 5, 15 min) at the start: {_load(measurements.load_before)}; "
        f"at the end: {_load(measurements.load_after)}",
        "",
        "## Targets",
        "",
        *_target_lines(measurements, primary),
    ]
    for label, results in measurements.grids.items():
        lines += ["", f"## Side by side: {label}", "", *_grid_lines(results, label, measurements)]
    for label, result in measurements.throughput.items():
        lines += ["", f"## Fast CPU mode: {label}", "", *_throughput_lines(result)]
    if measurements.demo_agreement is not None:
        lines += ["", "## Fast CPU mode: agreement on the demo model", "", *_agreement_lines(measurements.demo_agreement)]
    lines += ["", "## Memory", "", *_memory_lines(measurements)]
    return "\n".join(lines) + "\n"


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


def _target_lines(measurements: Measurements, primary: str) -> list[str]:
    results = measurements.grids.get(primary, [])
    rows = [("Target", "Measured (medians of per-repeat ratios)", "Verdict")]

    if results:
        ratios = [(result.grid.name, result.ratio("classify", "plain loop")) for result in results]
        rows.append((f"classify within {CLASSIFY_OVER_PLAIN:.2f}× of the plain loop",
                     _per_grid(ratios, "×"), _verdict(all(value <= CLASSIFY_OVER_PLAIN for _, value in ratios))))

        per_image = [(result.grid.name, result.ratio("per image", "classify")) for result in results if result.grid.per_image]
        rows.append((f"classify ≥ {PER_IMAGE_OVER_CLASSIFY:.0f}× faster than per image at 8 × 6",
                     _per_grid(per_image, "× faster"),
                     _verdict(all(value >= PER_IMAGE_OVER_CLASSIFY for _, value in per_image) if per_image else None)))

        # Against core's own trimmed text encoding, so the trimming cannot hide the edit's overhead.
        edits = [(result.grid.name, result.ratio("label edit", "new labels alone, trimmed")) for result in results]
        image_encodes = sum(sum(result.edit_image_encodes) for result in results)
        rows.append((f"label edit ≤ {EDIT_OVER_NEW_LABELS}× encoding the new labels alone (trimmed), zero image encodes",
                     f"{_per_grid(edits, '×')}; image encodes in all edits: {image_encodes}",
                     _verdict(image_encodes == 0 and all(value <= EDIT_OVER_NEW_LABELS for _, value in edits))))

        repeats = [(result.grid.name, result.ratio("repeat, loaded images", "classify")) for result in results]
        from_files = [(result.grid.name, result.ratio("repeat, same files", "classify")) for result in results]
        rows.append((f"second identical request < {REPEAT_SHARE:.0%} of the first (images kept decoded, as the dashboard does)",
                     _per_grid(repeats, "", percent=True), _verdict(all(value < REPEAT_SHARE for _, value in repeats))))
        rows.append(("second identical request, images given again as files (no target)",
                     _per_grid(from_files, "", percent=True), "for information"))

    throughput = measurements.throughput.get(primary)
    if throughput is not None:
        speedup = throughput.speedup("@int8")
        rows.append((f"@int8 ≥ {INT8_SPEEDUP}× the image throughput of float32 eager at batch 8",
                     f"{speedup:.2f}×", _verdict(speedup >= INT8_SPEEDUP)))

    three = measurements.models_memory.get("float32")
    if three is not None:
        rows.append((f"three ViT-B-32-sized models loaded at once < {THREE_MODELS_MB / 1000:.1f} GB RSS",
                     f"{three['after_each_load_mb'][-1]:,.0f} MB after the third load "
                     f"({three['after_imports_mb']:,.0f} MB of it after the imports alone); "
                     f"peak while loading {three['peak_mb']:,.0f} MB",
                     _verdict(three["after_each_load_mb"][-1] < THREE_MODELS_MB)))

    dashboard = measurements.dashboard_memory
    if dashboard is not None:
        growth = dashboard["growth_mb"]
        rows.append((f"50 dashboard reruns with model switching grow RSS by < {DASHBOARD_GROWTH_MB} MB",
                     f"{growth:+.1f} MB", _verdict(growth < DASHBOARD_GROWTH_MB)))
    else:
        rows.append((f"50 dashboard reruns with model switching grow RSS by < {DASHBOARD_GROWTH_MB} MB",
                     "not run (see Memory)", _verdict(None)))
    return _table(rows)


def _per_grid(values: list[tuple[str, float]], unit: str, percent: bool = False) -> str:
    if not values:
        return "not run"
    if percent:
        return "; ".join(f"{grid}: {value:.1%}" for grid, value in values)
    return "; ".join(f"{grid}: {value:.2f}{unit}" for grid, value in values)


def _grid_lines(results: list[GridResult], label: str, measurements: Measurements) -> list[str]:
    lines = []
    for result in results:
        rows = [("Method", "Median seconds", "Ratio to the plain loop", "Seconds per repeat")]
        for method in METHODS:
            if method in result.seconds:
                runs = ", ".join(f"{value:.3f}" for value in result.seconds[method])
                rows.append((method, f"{result.median(method):.3f}", f"{result.ratio(method, 'plain loop'):.3f}", runs))
        lines += [f"### {result.grid.name} (images × labels)", "", *_table(rows), ""]
        lines.append(
            f"Label edits encoded {result.edit_image_encodes} images and {result.edit_prompt_encodes} prompts. "
            f"Largest probability difference: classify vs the plain loop {result.max_difference_vs_plain:.2e}; "
            f"@int8 vs float32 {result.max_difference_int8:.3f}"
            + (f"; per image vs the plain loop {result.max_difference_per_image:.2e}."
               if result.grid.per_image else ".")
        )
        lines.append("")
    if label in measurements.peak_rss_mb:
        lines.append(f"Peak RSS of the benchmark process after this model: {measurements.peak_rss_mb[label]:,.0f} MB.")
    return lines


def _throughput_lines(result: ThroughputResult) -> list[str]:
    rows = [("Image tower variant (batch of 8)", "Median images/s", "Speedup over float32 eager", "Setup seconds (wall)")]
    for variant, values in result.images_per_second.items():
        setup = result.setup_seconds.get(variant)
        rows.append((variant, f"{statistics.median(values):.1f}", f"{result.speedup(variant):.2f}×",
                     f"{setup:.0f}" if setup is not None else ""))
    lines = _table(rows)
    lines += ["", f"Text tower, {PROMPT_COUNT} prompts: float32 "
              f"{statistics.median(result.prompts_per_second['float32 eager']):.1f} prompts/s, @int8 "
              f"{statistics.median(result.prompts_per_second['@int8']):.1f} prompts/s ({result.text_speedup():.2f}×)."]
    for variant, reason in result.skipped.items():
        lines.append(f"- {variant} not measured: {reason}")
    return lines


def _agreement_lines(result: DemoAgreement) -> list[str]:
    rows = [("Model", "Phrasing", "Top-1 accuracy")]
    for (model, phrasing), accuracy in sorted(result.accuracy.items()):
        rows.append((model, phrasing, f"{accuracy:.1%}"))
    return [
        f"{result.images} held-out drawn shapes, 9 captions per language.",
        "",
        *_table(rows),
        "",
        f"demo@int8 picks the same top label as demo for {result.top1_agreement:.1%} of image × phrasing "
        f"pairs; the largest probability difference is {result.max_probability_difference:.3f}.",
    ]


def _memory_lines(measurements: Measurements) -> list[str]:
    lines = []
    for precision, report in measurements.models_memory.items():
        loads = ", ".join(f"{value:,.0f}" for value in report["after_each_load_mb"])
        lines.append(
            f"- Three ViT-B-32-sized models ({precision}) in a fresh process: RSS {report['after_imports_mb']:,.0f} MB "
            f"after the imports, then {loads} MB after each load ({report['anonymous_mb']:,.0f} MB anonymous, "
            f"{report['file_backed_mb']:,.0f} MB file-backed at the end); peak {report['peak_mb']:,.0f} MB."
        )
    if measurements.dashboard_memory is not None:
        report = measurements.dashboard_memory
        lines.append(
            f"- Dashboard, {report['reruns']} reruns with model switching (AppTest): RSS {report['start_mb']:,.0f} MB "
            f"after the warm-up, {report['end_mb']:,.0f} MB at the end ({report['growth_mb']:+.1f} MB), "
            f"at most {report['max_mb']:,.0f} MB; the reruns called classify {report['classify_calls']} times "
            "(the page reuses its recent results)."
        )
    lines += [f"- {note}" for note in measurements.memory_notes]
    return lines or ["Not measured in this run."]


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in body]


def write(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, keeping any hand-written notes below NOTES_MARKER."""
    notes = NOTES_MARKER + "\n"
    if path.is_file():
        old = path.read_text(encoding="utf-8")
        if NOTES_MARKER in old:
            notes = NOTES_MARKER + old.split(NOTES_MARKER, 1)[1]
    path.write_text(text + "\n" + notes, encoding="utf-8")
