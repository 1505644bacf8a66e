"""Pretrained Hugging Face causal LMs and LoRA adapters (peft) as world models.

A run that starts from `model.path` loads the model with `AutoModelForCausalLM` (a local
folder, a GGUF file in it, or a hub id where there is network). With `lora.r > 0`, peft wraps
it in adapters; only they train, and checkpoints hold only them (`adapter_model.safetensors`).
The run folder's `base_model.json` says how to rebuild the weights under them:

    {"path": ..., "gguf_file": ..., "dtype": ..., "merged": ["base_adapters/00", ...]}

`merged` lists adapters folded into the base first, oldest first: an RLVR run that starts
from a LoRA MLE run merges the MLE adapters into the base (so the KL reference, the base with
adapters switched off, *is* the MLE model) and trains fresh adapters on top. The merged
adapters are copied into the run folder, which thus stands on its own beside the base model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from rlvr_world.core.model import DTYPES, ModelConfig

BASE_FILE = "base_model.json"


def _local_only(path: str) -> bool:
    """Local folders never touch the network; anything else is a hub id."""
    return Path(path).exists()


def load_pretrained(config: ModelConfig) -> torch.nn.Module:
    """`config.path` (+ `gguf_file`) as a causal LM in `config.dtype`. GGUF weights are
    de-quantised into a plain dense model (trainable, and saved like any other)."""
    from transformers import AutoModelForCausalLM

    if not config.path:
        raise ValueError("model.path is not set")
    kwargs = {}
    if config.gguf_file:
        from transformers import GgufConfig

        kwargs = {
            "gguf_file": config.gguf_file,
            "quantization_config": GgufConfig(gguf_file=config.gguf_file, dequantize=True),
        }
    return AutoModelForCausalLM.from_pretrained(
        config.path,
        dtype=DTYPES[config.dtype],
        local_files_only=_local_only(config.path),
        **kwargs,
    )


def is_adapted(model: torch.nn.Module) -> bool:
    """Whether `model` is a peft model (trains adapters)."""
    try:
        from peft import PeftModel
    except ImportError:
        return False
    return isinstance(model, PeftModel)


def add_lora(model: torch.nn.Module, lora) -> torch.nn.Module:
    """Wrap `model` in fresh LoRA adapters (`lora`: a `LoRAConfig`); only they train."""
    from peft import LoraConfig, get_peft_model

    targets = list(lora.target_modules)
    config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets[0] if targets == ["all-linear"] else targets,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


class AdaptersOff:
    """The KL reference of a LoRA model: the same model called with its adapters switched off
    (the frozen base), so no second copy of the weights is held."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    def __call__(self, *args, **kwargs):
        with torch.no_grad(), self.model.disable_adapter():
            return self.model(*args, **kwargs)

    def parameters(self):
        return self.model.parameters()


def reference_model(model: torch.nn.Module):
    """`AdaptersOff` for a LoRA model; None otherwise (the trainer copies the model)."""
    return AdaptersOff(model) if is_adapted(model) else None


def _base_spec(run_dir: Path) -> dict:
    path = run_dir / BASE_FILE
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} holds adapter checkpoints but no {BASE_FILE}")
    return json.loads(path.read_text())


def _build_base(spec: dict, run_dir: Path) -> torch.nn.Module:
    """The base model of a LoRA run, with its earlier adapters merged in."""
    from peft import PeftModel

    config = ModelConfig(path=spec["path"], gguf_file=spec.get("gguf_file"), dtype=spec["dtype"])
    model = load_pretrained(config)
    for folder in spec.get("merged", []):
        model = PeftModel.from_pretrained(model, str(run_dir / folder)).merge_and_unload()
    return model


def run_of(model_folder: Path) -> Path:
    """`<run>/checkpoints/<name>/model` -> `<run>`."""
    return Path(model_folder).resolve().parents[2]


def load_world_model(model_folder: str | Path, trainable: bool = False) -> torch.nn.Module:
    """A checkpoint's `model/` folder: a whole Hugging Face model, or LoRA adapters that are
    put back on their run's base (`base_model.json`); `trainable` keeps adapters trainable."""
    model_folder = Path(model_folder)
    if not (model_folder / "adapter_config.json").exists():
        from rlvr_world.core.model import load_model

        return load_model(model_folder)
    from peft import PeftModel

    run_dir = run_of(model_folder)
    base = _build_base(_base_spec(run_dir), run_dir)
    return PeftModel.from_pretrained(base, str(model_folder), is_trainable=trainable)


def start_adapters(
    model: torch.nn.Module, lora, run_dir: Path, model_config: ModelConfig, init_folder=None
) -> torch.nn.Module:
    """Set up a new run's LoRA: merge adapters the model came with (from `init_folder`, a
    checkpoint's model folder), record the base in `run_dir/base_model.json`, add fresh
    adapters. Without `lora.r`, adapters the model came with are merged and all weights train.
    """
    sources: list[Path] = []  # adapters folded into the base, oldest first
    if is_adapted(model):
        init_run = run_of(init_folder)
        spec = _base_spec(init_run)
        sources = [init_run / folder for folder in spec.get("merged", [])] + [Path(init_folder)]
        base = {k: spec[k] for k in ("path", "gguf_file")}
        model = model.merge_and_unload()
    elif init_folder is not None:  # a whole model from an earlier run is the base
        base = {"path": str(Path(init_folder).resolve()), "gguf_file": None}
    else:
        base = {"path": model_config.path, "gguf_file": model_config.gguf_file}
    base["dtype"] = model_config.dtype
    if not lora.r:
        return model
    if not base["path"]:
        raise ValueError(
            "lora.r > 0 needs weights to adapt: a pretrained model.path or an --init run"
        )
    merged = []  # kept beside the new adapters: they rebuild the base
    for i, source in enumerate(sources):
        target = run_dir / "base_adapters" / f"{i:02d}"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target)
        merged.append(str(target.relative_to(run_dir)))
    (run_dir / BASE_FILE).write_text(json.dumps({**base, "merged": merged}, indent=2) + "\n")
    return add_lora(model, lora)


def export_merged(model_folder: str | Path, out: str | Path) -> Path:
    """A checkpoint as one standard Hugging Face model folder: adapters merged into the base."""
    model = load_world_model(model_folder)
    if is_adapted(model):
        model = model.merge_and_unload()
    out = Path(out)
    model.save_pretrained(str(out), safe_serialization=True)
    return out
