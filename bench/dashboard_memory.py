"""Resident memory of the dashboard over many reruns that switch between models.

Streamlit's AppTest runs dashboard/app.py in this process, so the process's RSS is
the dashboard's. One warm-up pass loads every model and fills the caches. The growth
counted is from the end of the warm-up to the end of the reruns. Run from the
repository root (``bench/run.py`` runs it in a child process):

    .venv/bin/python -m bench.dashboard_memory [--reruns 50]

It prints one JSON object with the RSS readings in MB.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import open_clip
import torch
from safetensors.torch import save_file
from streamlit.testing.v1 import AppTest

from bench.models_memory import memory_mb, peak_rss_mb
from core.registry import DEMO_MODEL_ID
from dashboard import state

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
# The first run imports PyTorch and loads the demo model.
RUN_TIMEOUT = 300
# A small random CLIP is the third model, so the reruns switch between three sets of weights.
SMALL_MODEL_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "patch_size": 16, "width": 128, "layers": 2, "head_width": 32},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
SMALL_PREPROCESS_CFG = {
    "size": 64, "mode": "RGB", "mean": list(open_clip.OPENAI_DATASET_MEAN),
    "std": list(open_clip.OPENAI_DATASET_STD), "interpolation": "bicubic", "resize_mode": "squash",
}


def small_model_id(folder: Path) -> str:
    """Write a small random CLIP as a local-dir: folder and return its model id."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = open_clip.model.CLIP(**SMALL_MODEL_CFG)
    state_dict = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    state_dict["logit_scale"] = torch.tensor(math.log(100.0))
    save_file(state_dict, str(folder / "open_clip_model.safetensors"))
    config = {"model_cfg": SMALL_MODEL_CFG, "preprocess_cfg": SMALL_PREPROCESS_CFG}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    return f"local-dir:{folder}"


def run_checked(app: AppTest) -> None:
    app.run()
    if app.exception:
        raise RuntimeError(f"the dashboard raised: {[error.value for error in app.exception]}")


def choose_models(app: AppTest, curated: list[str], others: list[str]) -> None:
    """Set the model choice as a user would: the curated list and the free-text field."""
    app.multiselect(key=state.MODELS).set_value(curated)
    app.text_area(key=state.OTHER_MODELS).set_value("\n".join(others))
    run_checked(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=50, help="reruns counted after the warm-up (default 50)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="clip-compare-bench-") as folder:
        choices = [
            ([DEMO_MODEL_ID], []),
            ([], [f"{DEMO_MODEL_ID}@int8"]),
            ([DEMO_MODEL_ID], [small_model_id(Path(folder))]),
        ]
        app = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT)
        run_checked(app)
        app.selectbox(key=state.PRESET).set_value("shapes")
        app.button(key="load_preset").click()
        run_checked(app)
        for curated, others in choices:
            choose_models(app, curated, others)

        start = memory_mb()
        calls_before = app.session_state[state.CLASSIFY_CALLS]
        readings = []
        for rerun in range(args.reruns):
            choose_models(app, *choices[rerun % len(choices)])
            readings.append(memory_mb())

    print(json.dumps({
        "reruns": args.reruns,
        # The page keeps recent results per session, so switching back to a model reuses them.
        "warm_up_classify_calls": calls_before,
        "classify_calls": app.session_state[state.CLASSIFY_CALLS] - calls_before,
        "start_mb": start,
        "end_mb": readings[-1],
        "max_mb": max(readings),
        "growth_mb": readings[-1] - start,
        "peak_mb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main()
