"""Shared fixtures for the core tests: small model folders made here, isolated caches.

No test downloads anything. Every test runs with Hugging Face offline mode on, an
empty Hugging Face cache and a feature cache in a temporary folder, so the user's
own caches are never read or written.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import open_clip
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import core.features  # noqa: E402
import core.loading  # noqa: E402
from core.demo import DEMO_MODEL_DIR, draw_shape  # noqa: E402
from tokenizer_models import build_siglip_like_model, build_xlm_roberta_like_model  # noqa: E402

# Trained CLIP models end with a logit scale of 100 (its cap during training), so
# the random ViT-B-32 uses it too: probabilities then spread out instead of sitting
# near uniform, and a wrong preprocess or tokenizer shows in the numbers.
TRAINED_LOGIT_SCALE = 100.0

# The eval preprocess open_clip uses for ViT-B-32/openai, stored in the folder so that
# loading it does not depend on open_clip's defaults for a bare architecture.
_OPENAI_TAG = open_clip.get_pretrained_cfg("ViT-B-32", "openai")
VIT_B32_PREPROCESS = {
    "size": 224,
    "mode": "RGB",
    "fill_color": 0,
    **{key: _OPENAI_TAG[key] for key in ("mean", "std", "interpolation", "resize_mode")},
}

# A CLIP small enough to build in well under a second; the token embedding
# (49408 × 32) is most of it.
TINY_MODEL_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 32, "layers": 1, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
TINY_PREPROCESS = dict(VIT_B32_PREPROCESS, size=32, resize_mode="squash")

# SigLIP's initial values: a logit bias of -10 and a logit scale of 10.
SIGMOID_LOGIT_BIAS = -10.0
SIGMOID_LOGIT_SCALE = 10.0


# Written by the unsafe checkpoint if anything ever unpickles it in full.
UNPICKLED_MARKER = "unpickled.marker"


class FileCreatingObject:
    """An object whose unpickling calls open(path, "w"): a harmless stand-in for code in a checkpoint."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def write_model_folder(folder: Path, model_cfg: dict, preprocess_cfg: dict,
                       state_dict: dict, filename: str = "open_clip_model.safetensors") -> Path:
    """Write a folder in open_clip's hub layout and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg}
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    if filename.endswith(".safetensors"):
        save_file(state_dict, str(folder / filename))
    else:
        torch.save(state_dict, folder / filename)
    return folder


def random_state_dict(model_cfg: dict, seed: int) -> dict[str, torch.Tensor]:
    """Build a randomly initialised open_clip CLIP from ``model_cfg`` and return its weights."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = open_clip.model.CLIP(**model_cfg)
    return {key: value.detach().contiguous() for key, value in model.state_dict().items()}


@pytest.fixture(scope="session")
def vit_b32_dir(tmp_path_factory) -> Path:
    """A randomly initialised ViT-B-32 (QuickGELU, as OpenAI's) saved as a local-dir: folder.

    openai-clip's ``build_model`` casts most weights to float16 before it loads a state
    dict, so every weight here is rounded to a float16 value first: both
    implementations then compute with identical weights.
    """
    model_cfg = dict(open_clip.get_model_config("ViT-B-32"), quick_gelu=True)
    state_dict = random_state_dict(model_cfg, seed=0)
    state_dict = {key: value.half().float() for key, value in state_dict.items()}
    state_dict["logit_scale"] = torch.tensor(math.log(TRAINED_LOGIT_SCALE)).half().float()
    folder = tmp_path_factory.mktemp("vit-b-32-random")
    return write_model_folder(folder, model_cfg, VIT_B32_PREPROCESS, state_dict)


@pytest.fixture(scope="session")
def vit_b32_id(vit_b32_dir) -> str:
    return f"local-dir:{vit_b32_dir}"


@pytest.fixture(scope="session")
def sigmoid_model_dir(tmp_path_factory) -> Path:
    """A tiny random model with a logit bias, which makes it a sigmoid-family model."""
    model_cfg = dict(TINY_MODEL_CFG, init_logit_bias=SIGMOID_LOGIT_BIAS,
                     init_logit_scale=math.log(SIGMOID_LOGIT_SCALE))
    state_dict = random_state_dict(model_cfg, seed=1)
    return write_model_folder(tmp_path_factory.mktemp("sigmoid-tiny"), model_cfg, TINY_PREPROCESS, state_dict)


@pytest.fixture(scope="session")
def sigmoid_model_id(sigmoid_model_dir) -> str:
    return f"local-dir:{sigmoid_model_dir}"


@pytest.fixture(scope="session")
def siglip_like_dir(tmp_path_factory) -> Path:
    """A tiny SigLIP-like model with a Hugging Face tokenizer and a 16-token context."""
    return build_siglip_like_model(tmp_path_factory.mktemp("siglip-like-tiny"))


@pytest.fixture(scope="session")
def siglip_like_id(siglip_like_dir) -> str:
    return f"local-dir:{siglip_like_dir}"


@pytest.fixture(scope="session")
def xlm_roberta_like_dir(tmp_path_factory) -> Path:
    """A tiny XLM-RoBERTa-like model: Hugging Face text tower and tokenizer, 77-token context."""
    return build_xlm_roberta_like_model(tmp_path_factory.mktemp("xlm-roberta-like-tiny"))


@pytest.fixture(scope="session")
def xlm_roberta_like_id(xlm_roberta_like_dir) -> str:
    return f"local-dir:{xlm_roberta_like_dir}"


@pytest.fixture(scope="session")
def bin_checkpoint_dir(tmp_path_factory) -> Path:
    """A tiny model whose checkpoint is a plain state dict saved with torch.save (.bin)."""
    state_dict = random_state_dict(TINY_MODEL_CFG, seed=2)
    return write_model_folder(tmp_path_factory.mktemp("bin-plain"), TINY_MODEL_CFG, TINY_PREPROCESS,
                              state_dict, filename="open_clip_pytorch_model.bin")


@pytest.fixture(scope="session")
def unsafe_checkpoint_dir(tmp_path_factory) -> Path:
    """A tiny model whose .bin checkpoint creates a marker file in its folder when fully unpickled."""
    folder = tmp_path_factory.mktemp("bin-unsafe")
    checkpoint = {
        "state_dict": random_state_dict(TINY_MODEL_CFG, seed=3),
        "extra": FileCreatingObject(folder / UNPICKLED_MARKER),
    }
    return write_model_folder(folder, TINY_MODEL_CFG, TINY_PREPROCESS, checkpoint,
                              filename="open_clip_pytorch_model.bin")


@pytest.fixture(scope="session")
def unpickled_marker(unsafe_checkpoint_dir) -> Path:
    """The file that exists only if the unsafe checkpoint was ever fully unpickled."""
    return unsafe_checkpoint_dir / UNPICKLED_MARKER


@pytest.fixture(scope="session")
def demo_model_dir() -> Path:
    """The committed demo model folder; tests that need it skip while it is missing."""
    if not (DEMO_MODEL_DIR / "open_clip_config.json").is_file():
        pytest.skip(f"the demo model is not built yet ({DEMO_MODEL_DIR})")
    return DEMO_MODEL_DIR


@pytest.fixture(scope="session")
def empty_hf_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hf-home-empty")


@pytest.fixture(scope="session")
def feature_cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture(autouse=True)
def isolated_caches(monkeypatch, empty_hf_home, feature_cache_dir):
    """Point the Hugging Face cache and the feature cache at temporary folders; stay offline.

    huggingface_hub reads HF_HOME and HF_HUB_OFFLINE into module constants when it is
    first imported, so the constants are patched as well as the environment that
    subprocesses inherit.
    """
    set_hf_home(monkeypatch, empty_hf_home)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("CLIP_COMPARE_CACHE", str(feature_cache_dir))
    monkeypatch.setattr(core.features, "_default_cache", None)


def set_hf_home(monkeypatch, home: Path) -> Path:
    """Make ``home`` the Hugging Face home folder, here and in subprocesses; return its hub cache."""
    hub_cache = home / "hub"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HOME", str(home))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub_cache))
    return hub_cache


@pytest.fixture
def hub_cache(monkeypatch, tmp_path) -> Path:
    """An empty Hugging Face hub cache folder of this test's own."""
    return set_hf_home(monkeypatch, tmp_path / "hf-home")


@pytest.fixture
def build_calls(monkeypatch) -> list[str]:
    """Record the model id of every real build that core.loading.load_model performs."""
    calls = []
    build = core.loading._build

    def counting_build(spec, device, progress):
        calls.append(spec.model_id)
        return build(spec, device, progress)

    monkeypatch.setattr(core.loading, "_build", counting_build)
    return calls


@pytest.fixture
def memory_cache() -> core.features.FeatureCache:
    """A feature cache that lives in memory only, so every test starts with nothing cached."""
    return core.features.FeatureCache(None)


@pytest.fixture(scope="session")
def make_gradient_image():
    """Return a function that draws a non-uniform RGB test picture of a given size."""
    return gradient_image


def gradient_image(width: int, height: int) -> Image.Image:
    """Draw an RGB image with horizontal, vertical and diagonal gradients and a dark disc off-centre."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    red = 255 * x / max(width - 1, 1)
    green = 255 * y / max(height - 1, 1)
    blue = 127.5 * (1 + np.sin((x + 2 * y) / 9.0))
    pixels = np.stack([red, green, blue], axis=-1)
    disc = (x - 0.3 * width) ** 2 + (y - 0.6 * height) ** 2 < (0.15 * min(width, height)) ** 2
    pixels[disc] = (20, 30, 40)
    return Image.fromarray(np.rint(pixels).astype(np.uint8), mode="RGB")


@pytest.fixture(scope="session")
def red_circle() -> Image.Image:
    """A red circle on a plain background, drawn by the same code as the demo model's training set."""
    return draw_shape("red", "circle", np.random.default_rng(12345), size=(96, 96))
