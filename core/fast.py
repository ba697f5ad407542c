"""The opt-in fast CPU mode (model ids ending in ``@int8``) and its agreement with float32.

``@int8`` applies dynamic int8 quantisation to the linear layers of both towers:
weights are stored as int8 with one scale per output channel, and each batch of
activations is quantised on the fly. Embeddings, layer norms, convolutions and the
attention products stay in float32. On the AMD EPYC CPU of ``bench/RESULTS.md`` this
made a ViT-B-32's image tower about 2× faster with two threads and 4 to 5× with one.
The features change slightly, though, which can swap the top label when two labels
score close together. ``agreement`` measures that on the images at hand.

Each batch of activations shares one quantisation scale, so an image's or a prompt's
features also move slightly with the other inputs of its batch (by up to about 0.01 in
a feature component, measured on a random ViT-B-32). A cached feature therefore
depends a little on the batch it was first encoded in.
"""

from __future__ import annotations

import ctypes
import gc
import warnings
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from open_clip.modified_resnet import AttentionPool2d
from open_clip.transformer import ResidualAttentionBlock
from torch import nn

from core.registry import split_precision

# Columns that identify one result row across two runs on the same images and labels.
ROW_KEY = ["image_sha256", "phrasing", "label_index", "label"]


class QuantizableSelfAttention(nn.Module):
    """Self-attention with its input projection as an ``nn.Linear``.

    ``nn.MultiheadAttention`` keeps the query, key and value projection as a bare
    parameter, which dynamic quantisation cannot reach, so that quarter of each
    transformer block's multiply-adds would stay in float32. This module takes the
    same weights and computes the same result with scaled dot-product attention.
    Input and output are [batch, tokens, width], or [tokens, batch, width] when the
    replaced module was not batch-first.
    """

    def __init__(self, attention: nn.MultiheadAttention):
        super().__init__()
        width = attention.embed_dim
        self.heads = attention.num_heads
        self.batch_first = attention.batch_first
        self.in_proj = nn.Linear(width, 3 * width, bias=attention.in_proj_bias is not None)
        self.out_proj = nn.Linear(width, width, bias=attention.out_proj.bias is not None)
        with torch.no_grad():
            self.in_proj.weight.copy_(attention.in_proj_weight)
            self.out_proj.weight.copy_(attention.out_proj.weight)
            if attention.in_proj_bias is not None:
                self.in_proj.bias.copy_(attention.in_proj_bias)
            if attention.out_proj.bias is not None:
                self.out_proj.bias.copy_(attention.out_proj.bias)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                need_weights: bool = False, attn_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        """Match ``nn.MultiheadAttention``'s call for self-attention; weights are never returned."""
        if key is not query or value is not query or need_weights:
            raise ValueError("QuantizableSelfAttention handles self-attention without attention weights only.")
        x = query if self.batch_first else query.transpose(0, 1)
        batch, tokens, width = x.shape

        # [batch, tokens, 3 * width] → three tensors of [batch, heads, tokens, head width].
        qkv = self.in_proj(x).view(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        mask = self._broadcastable_mask(attn_mask, batch)
        attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
        out = self.out_proj(attended.transpose(1, 2).reshape(batch, tokens, width))
        return (out if self.batch_first else out.transpose(0, 1)), None

    def _broadcastable_mask(self, attn_mask: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """Reshape a [batch * heads, tokens, tokens] mask, as MultiheadAttention takes it, for SDPA."""
        if attn_mask is None or attn_mask.dim() == 2:
            return attn_mask
        return attn_mask.view(batch, self.heads, *attn_mask.shape[-2:])


def make_attention_quantizable(model: nn.Module) -> nn.Module:
    """Swap the attention of open_clip's self-attention blocks for QuantizableSelfAttention, in place.

    Cross-attention blocks (CoCa's decoder) keep theirs. Towers from timm or Hugging
    Face already use ``nn.Linear`` projections and are left alone.
    """
    for module in model.modules():
        if isinstance(module, ResidualAttentionBlock) and not hasattr(module, "ln_1_kv"):
            if isinstance(module.attn, nn.MultiheadAttention) and module.attn.in_proj_weight is not None:
                module.attn = QuantizableSelfAttention(module.attn)
    return model


def quantize_int8(model: nn.Module) -> nn.Module:
    """Quantise a float32 CPU model's linear layers to int8, in place, and return the model.

    The layers that ``_linear_layers_called_as_modules`` leaves out stay in float32.
    """
    make_attention_quantizable(model)

    # NOTE: torch 2.14 deprecates eager-mode quantisation in favour of the torchao
    # package. It still works with the pinned torch, and a user cannot act on the warning.
    qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(
            model, {name: qconfig for name in _linear_layers_called_as_modules(model)},
            dtype=torch.qint8, inplace=True,
        )

    # open_clip reads the compute dtype from the first MLP's weight, which a
    # quantised layer no longer has; this attribute is where open_clip looks first.
    for module in model.modules():
        if isinstance(module, torch.ao.nn.quantized.dynamic.Linear):
            module.int8_original_dtype = torch.float32
    release_freed_memory()
    return model


def release_freed_memory() -> None:
    """Free the float32 layers that quantisation replaced, and return the freed heap to the system.

    Some replaced modules sit in reference cycles, which only the cycle collector
    frees, and glibc keeps freed heap memory for reuse unless asked to give it back.
    Measured with ``bench/models_memory.py``, this lowers the resident memory of a
    loaded ``@int8`` ViT-B-32 by about 500 MB.
    """
    gc.collect()
    try:
        malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): their allocators return memory on their own terms
        return
    malloc_trim(0)


def _linear_layers_called_as_modules(model: nn.Module) -> list[str]:
    """Name every ``nn.Linear`` except those that their parent uses as more than a module.

    ``nn.MultiheadAttention`` left in place (cross-attention, CoCa's pooler) and
    open_clip's AttentionPool2d (the image tower of its ResNet models) hand their
    projection weights to ``F.multi_head_attention_forward``, which needs float
    tensors. open_clip's TextTransformer checks that ``text_projection`` is an
    ``nn.Linear``, which a quantised layer is not. Those layers stay in float32.
    """
    read_directly = set()
    for name, module in model.named_modules():
        if isinstance(module, (AttentionPool2d, nn.MultiheadAttention)):
            read_directly.update(f"{name}.{child}" for child, _ in module.named_children())
    return [name for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and name not in read_directly
            and name.rpartition(".")[2] != "text_projection"]


@dataclass(frozen=True)
class Agreement:
    """The closeness of a fast model's results to its float32 twin's on the same images.

    ``pairs`` counts the image × phrasing pairs compared. ``top1_agreement`` is the
    fraction of them whose top-ranked label is the same in both.
    ``max_probability_difference`` is the largest absolute difference between the two
    probabilities of any image × phrasing × label. ``disagreements`` names the images
    whose top label differs, once each.
    """

    fast_model: str
    reference_model: str
    pairs: int
    top1_agreement: float
    max_probability_difference: float
    disagreements: tuple[str, ...]


def float32_twin(model_id: str) -> str | None:
    """Return the float32 model id behind a fast model id, or None for a float32 id."""
    base, precision = split_precision(model_id)
    return base if precision != "fp32" else None


def agreement(results_fast: pd.DataFrame, results_fp32: pd.DataFrame) -> Agreement:
    """Compare two ``classify`` tables of one model each, on the rows they share.

    Rows are matched by image content (``image_sha256``), phrasing set and label,
    so the two tables may list the images in different orders or under different
    names. Raises ValueError when a table contains other than one model, when the two
    use different kinds of probability, or when they share no row.
    """
    fast_model = _single_model(results_fast, "results_fast")
    reference_model = _single_model(results_fp32, "results_fp32")
    kinds = set(results_fast["probability_kind"]) | set(results_fp32["probability_kind"])
    if len(kinds) > 1:
        raise ValueError(f"The tables use different kinds of probability ({sorted(kinds)}), so they cannot be compared.")

    # The same picture under two names gives the same rows twice; keep one.
    columns = ROW_KEY + ["image", "probability", "rank"]
    fast_rows = results_fast[columns].drop_duplicates(ROW_KEY)
    fp32_rows = results_fp32[columns].drop_duplicates(ROW_KEY)
    merged = fast_rows.merge(fp32_rows, on=ROW_KEY, suffixes=("_fast", "_fp32"))
    if merged.empty:
        raise ValueError(
            f"{fast_model} and {reference_model} share no image × phrasing × label row: "
            "classify the same images with the same labels with both models."
        )

    top_fast = merged[merged["rank_fast"] == 1].set_index(["image_sha256", "phrasing"])["label"]
    top_fp32 = merged[merged["rank_fp32"] == 1].set_index(["image_sha256", "phrasing"])["label"]
    top_fast, top_fp32 = top_fast.align(top_fp32, join="inner")
    same = top_fast == top_fp32
    names = merged.drop_duplicates("image_sha256").set_index("image_sha256")["image_fast"]
    differing = same[~same].index.get_level_values("image_sha256").unique()

    return Agreement(
        fast_model=fast_model,
        reference_model=reference_model,
        pairs=int(len(same)),
        top1_agreement=float(same.mean()) if len(same) else float("nan"),
        max_probability_difference=float((merged["probability_fast"] - merged["probability_fp32"]).abs().max()),
        disagreements=tuple(str(names[sha]) for sha in differing),
    )


def agreements(results: pd.DataFrame) -> list[Agreement]:
    """Compare every fast model in one ``classify`` table with its float32 twin, when present."""
    models = list(dict.fromkeys(results["model"]))
    pairs = [(model, float32_twin(model)) for model in models]
    return [
        agreement(results[results["model"] == model], results[results["model"] == twin])
        for model, twin in pairs
        if twin is not None and twin in models
    ]


def _single_model(results: pd.DataFrame, argument: str) -> str:
    models = list(dict.fromkeys(results["model"]))
    if len(models) != 1:
        raise ValueError(f"{argument} must contain the results of one model; it contains {models or 'none'}.")
    return str(models[0])
