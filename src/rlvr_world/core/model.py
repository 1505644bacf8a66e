"""Sequence models: Hugging Face causal LMs, built from a config for the tiny presets.

The tiny presets build `LlamaForCausalLM` from a `ModelConfig`, so every checkpoint is a
standard Hugging Face folder (`config.json` + `model.safetensors`) that loads anywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class ModelConfig:
    """A Llama-style decoder built from scratch (tiny presets), or a pretrained one (`path`)."""

    hidden_size: int = 128
    """Width of the residual stream."""
    num_layers: int = 4
    """Number of transformer blocks."""
    num_heads: int = 4
    """Attention heads per block."""
    intermediate_size: int = 384
    """Width of the SwiGLU MLP."""
    max_positions: int = 1024
    """Longest sequence (question + response) the model is built for."""
    rope_theta: float = 10000.0
    """RoPE base."""
    tie_embeddings: bool = True
    """Share input and output embeddings (fewer parameters for tiny models)."""
    path: str | None = None
    """Start from a pretrained causal LM instead of building one from the sizes above: a local
    folder (or a hub id where there is network), loaded with `AutoModelForCausalLM`; text
    domains then use its tokenizer and chat template."""
    gguf_file: str | None = None
    """A GGUF file inside `path` to load (transformers de-quantises it)."""
    dtype: str = "float32"
    """Weights' dtype: float32, bfloat16 or float16 (the optimiser works in the same dtype; with
    small learning rates keep float32 weights and use `autocast`)."""
    autocast: str | None = None
    """Mixed precision: run forwards in bfloat16 or float16 under `torch.autocast` while the
    weights and the optimiser stay in `dtype` (None = off)."""
    gradient_checkpointing: bool = False
    """Recompute activations during the backward pass: less memory, ~30% more compute."""
    chat_template: bool = True
    """Pretrained models: wrap prompts in the tokenizer's chat template when it has one."""

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"model.dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.autocast not in (None, "bfloat16", "float16"):
            raise ValueError(
                f"model.autocast must be bfloat16, float16 or None, got {self.autocast!r}"
            )
        for name in (
            "hidden_size",
            "num_layers",
            "num_heads",
            "intermediate_size",
            "max_positions",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"model.{name} must be > 0, got {getattr(self, name)}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"model.hidden_size ({self.hidden_size}) must be divisible by "
                f"model.num_heads ({self.num_heads})"
            )


def build_llama(
    config: ModelConfig, vocab_size: int, pad_id: int, bos_id: int, eos_id: int
) -> torch.nn.Module:
    """A freshly initialised `LlamaForCausalLM` with the given sizes and special ids."""
    from transformers import LlamaConfig, LlamaForCausalLM

    hf_config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_positions,
        rope_theta=config.rope_theta,
        tie_word_embeddings=config.tie_embeddings,
        pad_token_id=pad_id,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        attn_implementation="sdpa",
    )
    return LlamaForCausalLM(hf_config)


def load_model(path: str | Path, dtype: torch.dtype | None = None) -> torch.nn.Module:
    """Any Hugging Face causal LM saved with `save_pretrained` (local folder, no hub)."""
    from transformers import AutoModelForCausalLM

    kwargs = {"dtype": dtype} if dtype is not None else {}
    return AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, **kwargs)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_config_dict(config: ModelConfig) -> dict:
    return asdict(config)
