"""Throughput of the ways to make CPU inference faster, against float32 eager open_clip.

The image tower of each variant encodes the same batch of preprocessed photos; the
variants run interleaved within each repeat. ``@int8`` is what ``core`` ships; the
other variants are here to show what was tried and by how much it lost.
"""

from __future__ import annotations

import copy
import os
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

import core
from bench import clock
from bench.baselines import open_rgb
from bench.workload import label_lists
from core.demo import captions, sample_images
from core.fast import agreements
from core.features import FeatureCache
from core.loading import load_model
from core.prompts import make_phrasing_set

BATCH_SIZE = 8
PROMPT_COUNT = 20
DEMO_AGREEMENT_IMAGES = 90
DEMO_AGREEMENT_SEED = 7


@dataclass
class ThroughputResult:
    """Images per second per variant and repeat, prompts per second, and variants not run."""

    model_id: str
    images_per_second: dict[str, list[float]] = field(default_factory=dict)
    prompts_per_second: dict[str, list[float]] = field(default_factory=dict)
    setup_seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def speedup(self, variant: str, reference: str = "float32 eager") -> float:
        """Median over repeats of the per-repeat throughput ratio to ``reference``."""
        pairs = zip(self.images_per_second[variant], self.images_per_second[reference])
        return statistics.median(mine / theirs for mine, theirs in pairs)

    def text_speedup(self) -> float:
        pairs = zip(self.prompts_per_second["@int8"], self.prompts_per_second["float32 eager"])
        return statistics.median(mine / theirs for mine, theirs in pairs)


def measure_fast_mode(model_id: str, paths: list[Path], repeats: int,
                      try_compile: bool = False, try_onnx: bool = False) -> ThroughputResult:
    """Measure image throughput at batch 8 for each variant and text throughput for 20 prompts."""
    float32 = load_model(model_id, device="cpu")
    int8 = load_model(f"{model_id}@int8", device="cpu")
    pixels = torch.stack([float32.preprocess(open_rgb(path)) for path in paths[:BATCH_SIZE]])
    result = ThroughputResult(model_id)

    variants = _torch_variants(float32.model.visual, int8.model.visual, pixels)
    _warm_up_variants(variants, result)
    if try_compile:
        _add_timed_setup(variants, result, "float32 torch.compile", lambda: _compiled(float32.model.visual, pixels))
    if try_onnx:
        _add_onnx_variants(variants, result, float32.model.visual, pixels)

    tokens = float32.tokenize(label_lists(PROMPT_COUNT, 1)[0])
    encoders = {"float32 eager": float32.model.encode_text, "@int8": int8.model.encode_text}
    for repeat in range(repeats):
        names = list(variants)
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = _seconds(variants[name])
            result.images_per_second.setdefault(name, []).append(len(pixels) / seconds)
        for name, encode in encoders.items():
            seconds = _seconds(lambda: encode(tokens))
            result.prompts_per_second.setdefault(name, []).append(len(tokens) / seconds)
    return result


def _seconds(call: Callable[[], object]) -> float:
    with torch.inference_mode():
        start = clock.now()
        call()
        return clock.now() - start


def _torch_variants(visual: nn.Module, int8_visual: nn.Module, pixels: torch.Tensor) -> dict[str, Callable]:
    linear_only = _quantize_linear_layers_only(copy.deepcopy(visual))
    channels_last = copy.deepcopy(visual).to(memory_format=torch.channels_last)
    pixels_channels_last = pixels.contiguous(memory_format=torch.channels_last)
    variants = {
        "float32 eager": lambda: visual(pixels),
        "@int8": lambda: int8_visual(pixels),
        "int8, nn.Linear only": lambda: linear_only(pixels),
        "float32 channels-last": lambda: channels_last(pixels_channels_last),
    }
    # The other thread setting: one thread, or one per core when the run uses one. CPU
    # time adds up every thread's time, waiting included, so only wall time compares them.
    threads = 1 if torch.get_num_threads() > 1 else (os.cpu_count() or 1)
    if threads != torch.get_num_threads() and clock.clock_name == "wall":
        variants[f"float32, {threads} threads"] = _with_threads(threads, lambda: visual(pixels))
        variants[f"@int8, {threads} threads"] = _with_threads(threads, lambda: int8_visual(pixels))
    return variants


def _warm_up_variants(variants: dict[str, Callable], result: ThroughputResult) -> None:
    """Call each variant once, so first-call costs stay out of the timings; drop those that fail."""
    for name, call in list(variants.items()):
        try:
            _seconds(call)
        except Exception as error:  # a variant that cannot run this architecture is reported, not fatal
            result.skipped[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            del variants[name]


def _quantize_linear_layers_only(tower: nn.Module) -> nn.Module:
    """Quantise what ``quantize_dynamic`` reaches unaided: the MLPs, not the attention projections."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(tower, {nn.Linear}, dtype=torch.qint8, inplace=True)
    for module in tower.modules():
        if isinstance(module, torch.ao.nn.quantized.dynamic.Linear):
            module.int8_original_dtype = torch.float32
    return tower


def _with_threads(threads: int, call: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return call()
        finally:
            torch.set_num_threads(previous)
    return run


def _add_timed_setup(variants: dict[str, Callable], result: ThroughputResult, name: str,
                     build: Callable[[], Callable]) -> None:
    """Build a variant, recording how long that took, or record why it could not be built."""
    start = time.perf_counter()
    try:
        variants[name] = build()
    except Exception as error:  # compilers and exporters fail in many ways; the report names it
        result.skipped[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        return
    result.setup_seconds[name] = time.perf_counter() - start


def _compiled(visual: nn.Module, pixels: torch.Tensor) -> Callable:
    compiled = torch.compile(visual)
    _seconds(lambda: compiled(pixels))  # compiling happens on the first call
    return lambda: compiled(pixels)


def _add_onnx_variants(variants: dict[str, Callable], result: ThroughputResult,
                       visual: nn.Module, pixels: torch.Tensor) -> None:
    try:
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as error:
        result.skipped["ONNX Runtime"] = f"onnxruntime is not installed ({error})"
        return

    folder = Path(tempfile.mkdtemp(prefix="clip-compare-onnx-"))
    float32_path, int8_path = folder / "visual.onnx", folder / "visual-int8.onnx"
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    feed = {"pixels": pixels.numpy()}

    def export() -> Callable:
        torch.onnx.export(visual, (pixels,), str(float32_path), dynamo=False, input_names=["pixels"],
                          dynamic_axes={"pixels": {0: "batch"}})
        session = onnxruntime.InferenceSession(str(float32_path), options, providers=["CPUExecutionProvider"])
        session.run(None, feed)
        return lambda: session.run(None, feed)

    def quantize() -> Callable:
        quantize_dynamic(str(float32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True)
        session = onnxruntime.InferenceSession(str(int8_path), options, providers=["CPUExecutionProvider"])
        session.run(None, feed)
        return lambda: session.run(None, feed)

    _add_timed_setup(variants, result, "ONNX Runtime float32", export)
    if "ONNX Runtime float32" in variants:
        _add_timed_setup(variants, result, "ONNX Runtime int8", quantize)


@dataclass(frozen=True)
class DemoAgreement:
    """The demo model's accuracy in float32 and @int8 per phrasing set, and their agreement."""

    images: int
    accuracy: dict[tuple[str, str], float]
    top1_agreement: float
    max_probability_difference: float


def demo_agreement() -> DemoAgreement:
    """Classify held-out drawn shapes with demo and demo@int8 in English and Spanish."""
    rng = np.random.default_rng(DEMO_AGREEMENT_SEED)
    samples = sample_images(DEMO_AGREEMENT_IMAGES, rng)
    images = {f"shape {index}": image for index, (image, _) in enumerate(samples)}
    phrasings = [make_phrasing_set("English", captions("en")), make_phrasing_set("Español", captions("es"))]
    table = core.classify(images, phrasings, ["demo", "demo@int8"], cache=FeatureCache(None), device="cpu")

    truth = {f"shape {index}": class_index for index, (_, class_index) in enumerate(samples)}
    top = table[table["rank"] == 1]
    correct = top["label_index"].to_numpy() == top["image"].map(truth).to_numpy()
    accuracy = top.assign(correct=correct).groupby(["model", "phrasing"])["correct"].mean()
    [comparison] = agreements(table)
    return DemoAgreement(len(samples), accuracy.to_dict(), comparison.top1_agreement,
                         comparison.max_probability_difference)
