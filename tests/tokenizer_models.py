"""Tiny models with Hugging Face tokenizers, built offline for the tests.

The curated multilingual models pair open_clip with ``transformers``: the SigLIP i18n
model has open_clip's own text tower with a Hugging Face tokenizer, and the
XLM-RoBERTa model has a Hugging Face text tower and tokenizer. The builders here make
small stand-ins for both in a ``local-dir:`` folder: a BPE tokenizer trained with the
``tokenizers`` library on a few English and Spanish sentences, saved as a
``transformers`` fast tokenizer, and randomly initialised weights. Each takes a second
or two.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import open_clip
import torch
from safetensors.torch import save_file

TRAINING_SENTENCES = [
    "a photo of a red circle",
    "a photo of a green square",
    "a photo of a blue triangle",
    "a drawing of a cat on a white background",
    "a picture of a dog in the snow",
    "una foto de un círculo rojo",
    "una foto de un cuadrado verde",
    "una foto de un triángulo azul",
    "un dibujo de un gato sobre fondo blanco",
    "una imagen de un perro en la nieve",
]
# Enough merges for every training word to become one token. Other words split into
# pieces, down to single characters, and characters never seen become <unk>.
BPE_VOCAB_SIZE = 200

# XLM-RoBERTa's special tokens and ids: <s>=0, <pad>=1, </s>=2, <unk>=3.
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]

SIGLIP_LIKE_CONTEXT_LENGTH = 16
# A name that exists on no hub: open_clip must read the tokenizer from the local-dir folder.
UNREACHABLE_TOKENIZER_NAME = "clip-compare-tests/tokenizer-only-in-the-model-folder"

TINY_EMBED_DIM = 32
TINY_VISION_CFG = {"image_size": 32, "patch_size": 8, "width": 32, "layers": 1, "head_width": 16}
TINY_PREPROCESS_CFG = {
    "size": 32, "mode": "RGB", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
    "interpolation": "bicubic", "resize_mode": "squash", "fill_color": 0,
}
# SigLIP's initial logit scale and bias.
SIGLIP_LOGIT_SCALE = 10.0
SIGLIP_LOGIT_BIAS = -10.0


def save_tokenizer(folder: Path, style: str) -> int:
    """Train a small BPE tokenizer, save it in ``folder`` for AutoTokenizer and return its size.

    ``style`` sets the special tokens around a text as the real models do: "siglip"
    appends </s> only, as the T5 tokenizers of SigLIP's vocabularies do, and "xlm-roberta"
    wraps the text in <s> … </s>.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB_SIZE, special_tokens=SPECIAL_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(TRAINING_SENTENCES, trainer)

    start, end = ("<s>", tokenizer.token_to_id("<s>")), ("</s>", tokenizer.token_to_id("</s>"))
    if style == "siglip":
        tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[end])
    elif style == "xlm-roberta":
        tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[start, end])
    else:
        raise ValueError(f"Unknown tokenizer style {style!r}; use 'siglip' or 'xlm-roberta'.")

    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>",
                                      pad_token="<pad>", unk_token="<unk>")
    folder.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(str(folder))
    return len(wrapped)


def build_siglip_like_model(folder: Path, seed: int = 0) -> Path:
    """Write a tiny SigLIP-like model: open_clip's text tower, a Hugging Face tokenizer, a logit bias.

    The text configuration copies the one of ``ViT-B-16-SigLIP-i18n-256`` in open_clip
    3.3 (no causal mask, feature read at the last position, canonicalised text, prompts
    padded to the context length) at a small size.
    """
    vocab_size = save_tokenizer(folder, "siglip")
    model_cfg = {
        "embed_dim": TINY_EMBED_DIM,
        "init_logit_bias": SIGLIP_LOGIT_BIAS,
        "init_logit_scale": math.log(SIGLIP_LOGIT_SCALE),
        "custom_text": True,
        "vision_cfg": TINY_VISION_CFG,
        "text_cfg": {
            "context_length": SIGLIP_LIKE_CONTEXT_LENGTH,
            "vocab_size": vocab_size,
            "hf_tokenizer_name": UNREACHABLE_TOKENIZER_NAME,
            "tokenizer_kwargs": {"clean": "canonicalize"},
            "width": 32,
            "heads": 2,
            "layers": 1,
            "no_causal_mask": True,
            "proj_bias": True,
            "pool_type": "last",
            "norm_kwargs": {"eps": 1e-6},
        },
    }
    return _write_custom_text_model(folder, model_cfg, seed)


def build_xlm_roberta_like_model(folder: Path, seed: int = 0) -> Path:
    """Write a tiny XLM-RoBERTa-like model: a Hugging Face text tower and tokenizer, mean pooling.

    The text tower's ``config.json`` goes in the ``text_config`` subfolder, and
    ``hf_model_name`` names that folder. open_clip loads that configuration with
    AutoConfig and builds the tower without weights, because the folder's checkpoint
    supplies them. Like ``xlm-roberta-base-ViT-B-32``, the configuration sets no context
    length, so open_clip's tokenizer uses its default of 77 tokens.
    """
    from transformers import XLMRobertaConfig

    vocab_size = save_tokenizer(folder, "xlm-roberta")
    text_config_dir = folder / "text_config"
    XLMRobertaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        # RoBERTa numbers positions from pad_token_id + 1, so 77 tokens need 79 positions.
        max_position_embeddings=open_clip.tokenizer.DEFAULT_CONTEXT_LENGTH + 2,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    ).save_pretrained(str(text_config_dir))
    model_cfg = {
        "embed_dim": TINY_EMBED_DIM,
        "vision_cfg": TINY_VISION_CFG,
        "text_cfg": {
            "hf_model_name": str(text_config_dir),
            "hf_tokenizer_name": UNREACHABLE_TOKENIZER_NAME,
            "hf_pooler_type": "mean_pooler",
        },
    }
    return _write_custom_text_model(folder, model_cfg, seed)


def _write_custom_text_model(folder: Path, model_cfg: dict, seed: int) -> Path:
    init_cfg = {key: value for key, value in model_cfg.items() if key != "custom_text"}
    # Without hf_model_pretrained=False, open_clip would load the tower's weights with
    # from_pretrained. Its factory sets it the same way when a full checkpoint follows.
    if "hf_model_name" in init_cfg["text_cfg"]:
        init_cfg["text_cfg"] = dict(init_cfg["text_cfg"], hf_model_pretrained=False)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = open_clip.model.CustomTextCLIP(**init_cfg)
    state_dict = {key: value.detach().contiguous() for key, value in model.state_dict().items()}

    config = {"model_cfg": model_cfg, "preprocess_cfg": TINY_PREPROCESS_CFG}
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    save_file(state_dict, str(folder / "open_clip_model.safetensors"))
    return folder
