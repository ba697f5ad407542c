"""Benchmark core.classify against the usual ways of running CLIP, side by side in one process.

Run from the repository root:

    .venv/bin/python -m bench.run           # full run; rewrites bench/RESULTS.md
    .venv/bin/python -m bench.run --quick   # smoke run on the demo model; writes no file

See bench/README.md for what each method measures and how to read the results.
"""

from __future__ import annotations

import os
import sys


def _threads_argument(argv: list[str]) -> str | None:
    for index, argument in enumerate(argv):
        if argument.startswith("--threads="):
            return argument.partition("=")[2]
        if argument == "--threads" and index + 1 < len(argv):
            return argv[index + 1]
    return None


# BLAS libraries read their thread count once, when numpy or torch loads them, so
# --threads must reach them before those imports. Left multi-threaded on a busy
# machine, numpy's BLAS spent 4 to 12 ms on a 200 × 512 by 512 × 10 product.
if _threads_argument(sys.argv[1:]):
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, _threads_argument(sys.argv[1:]))

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from bench import clock, report  # noqa: E402
from bench.fast_mode import BATCH_SIZE, demo_agreement, measure_fast_mode  # noqa: E402
from bench.grid import Grid, GridResult, measure_grid, warm_up  # noqa: E402
from bench.models_memory import peak_rss_mb  # noqa: E402
from bench.workload import photo_files, random_vit_b32  # noqa: E402
from core.registry import DEMO_MODEL_DIR, DEMO_MODEL_ID  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
VIT_LABEL = "ViT-B-32, random weights"
DEMO_LABEL = "demo"

# (grid, repeats): the slow per-image baseline runs on the smallest grid only.
FULL_GRIDS = ((Grid(8, 6, per_image=True), 5), (Grid(32, 20), 3), (Grid(200, 10), 3))
QUICK_GRIDS = ((Grid(4, 3, per_image=True), 2), (Grid(8, 6), 2))
THREE_MODEL_SEEDS = (0, 1, 2)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark CLIP Compare; see bench/README.md.")
    parser.add_argument("--quick", action="store_true",
                        help="small grids on the demo model only, no memory runs; writes no file unless --output is given")
    parser.add_argument("--repeats", type=int, help="repeats per grid (default: 5, 3 and 3; 2 with --quick)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's own choice)")
    parser.add_argument("--clock", choices=sorted(clock.CLOCKS), default="wall",
                        help="time every method by wall time or by this process's CPU time (default: wall)")
    parser.add_argument("--work-dir", type=Path, default=REPO_ROOT / ".cache" / "bench",
                        help="folder for the random ViT-B-32 weights and the test images (default: .cache/bench)")
    parser.add_argument("--output", type=Path, help="results file (default: bench/RESULTS.md, none with --quick)")
    parser.add_argument("--models", nargs="+", choices=("vit", "demo"),
                        help="models to run: the random ViT-B-32 and the demo model (default: both; demo with --quick)")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the child-process memory runs")
    parser.add_argument("--compile", action="store_true", help="also try torch.compile (minutes of compiling)")
    parser.add_argument("--onnx", action="store_true", help="also try ONNX Runtime (needs onnxruntime and onnx)")
    return parser.parse_args()


def main() -> int:
    args = parse_arguments()
    if args.threads:
        torch.set_num_threads(args.threads)
    clock.use_clock(args.clock)
    grids = [(grid, args.repeats or repeats) for grid, repeats in (QUICK_GRIDS if args.quick else FULL_GRIDS)]
    output = args.output or (None if args.quick else REPO_ROOT / "bench" / "RESULTS.md")

    chosen = args.models or (["demo"] if args.quick else ["vit", "demo"])
    models = []
    if "vit" in chosen:
        models.append((VIT_LABEL, random_vit_b32(args.work_dir / "vit-b-32-random")))
    if "demo" in chosen and (DEMO_MODEL_DIR / "open_clip_config.json").is_file():
        models.append((DEMO_LABEL, DEMO_MODEL_ID))
    elif "demo" in chosen:
        print(f"The demo model is missing ({DEMO_MODEL_DIR}); it is left out.", file=sys.stderr)
    if not models:
        print("No model to benchmark.", file=sys.stderr)
        return 1

    paths = photo_files(args.work_dir / "images", max(max(grid.images for grid, _ in grids), BATCH_SIZE))
    measurements = report.Measurements(command=" ".join(["python -m bench.run", *sys.argv[1:]]),
                                       load_before=os.getloadavg())
    for label, model_id in models:
        _benchmark_model(measurements, label, model_id, grids, paths, args)
    if any(model_id == DEMO_MODEL_ID for _, model_id in models):
        print("Agreement of demo@int8 with demo on held-out shapes...", flush=True)
        measurements.demo_agreement = demo_agreement()
    if not (args.quick or args.skip_memory):
        _measure_memory(measurements, args.work_dir)
    measurements.load_after = os.getloadavg()

    primary = VIT_LABEL if VIT_LABEL in measurements.grids else models[0][0]
    text = report.render(measurements, torch.get_num_threads(), primary)
    print(text)
    if output is not None:
        report.write(output, text)
        print(f"Wrote {output}")
    return 0


def _benchmark_model(measurements: report.Measurements, label: str, model_id: str,
                     grids: list[tuple[Grid, int]], paths: list[Path], args: argparse.Namespace) -> None:
    print(f"{label}: warming up...", flush=True)
    warm_up(model_id, paths)
    results: list[GridResult] = []
    for grid, repeats in grids:
        print(f"{label}: {grid.name}, {repeats} repeats...", flush=True)
        results.append(measure_grid(model_id, grid, paths, repeats))
        _print_grid(results[-1])
    measurements.grids[label] = results
    measurements.peak_rss_mb[label] = peak_rss_mb()

    print(f"{label}: fast CPU mode...", flush=True)
    heavy = model_id != DEMO_MODEL_ID
    measurements.throughput[label] = measure_fast_mode(
        model_id, paths, repeats=max(repeats for _, repeats in grids),
        try_compile=args.compile and heavy, try_onnx=args.onnx and heavy,
    )


def _print_grid(result: GridResult) -> None:
    summary = ", ".join(f"{method} {result.median(method):.3f} s" for method in result.seconds)
    print(f"  {summary}", flush=True)


def _measure_memory(measurements: report.Measurements, work_dir: Path) -> None:
    """Load three ViT-B-32-sized models in fresh processes, in float32 and @int8; run the dashboard check."""
    model_ids = [random_vit_b32(work_dir / f"vit-b-32-random-{seed}", seed) for seed in THREE_MODEL_SEEDS]
    for precision, suffix in (("float32", ""), ("@int8", "@int8")):
        print(f"Memory: three ViT-B-32-sized models, {precision}...", flush=True)
        try:
            measurements.models_memory[precision] = _child_json(
                ["-m", "bench.models_memory", *[model_id + suffix for model_id in model_ids]])
        except RuntimeError as error:
            measurements.memory_notes.append(f"Three models, {precision}: {error}")

    if not (REPO_ROOT / "dashboard" / "app.py").is_file():
        measurements.memory_notes.append("Dashboard reruns: dashboard/app.py does not exist yet.")
        return
    print("Memory: dashboard reruns...", flush=True)
    try:
        measurements.dashboard_memory = _child_json(["-m", "bench.dashboard_memory"])
    except RuntimeError as error:
        measurements.memory_notes.append(f"Dashboard reruns: {error}")


def _child_json(arguments: list[str]) -> dict:
    """Run ``python ARGUMENTS`` from the repository root and parse the JSON on its last output line."""
    completed = subprocess.run([sys.executable, *arguments], cwd=REPO_ROOT, capture_output=True, text=True)
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"`python {' '.join(arguments)}` failed with exit code {completed.returncode}: {last}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
