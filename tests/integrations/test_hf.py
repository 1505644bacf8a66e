"""LoRA world models (peft): adapters train, the base stays, the reference is the base with
adapters off, checkpoints hold adapters only, resume and export work."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from rlvr_world.core.checkpoint import atomic_write_text
from rlvr_world.integrations.hf import AdaptersOff, is_adapted, load_world_model
from rlvr_world.train.config import ConfigError
from rlvr_world.train.context import prepare
from rlvr_world.train.pipeline import evaluate_run, export_run, run_mle, run_rlvr
from rlvr_world.train.presets import build_config

pytest.importorskip("peft")

RLVR = {
    "rlvr": {
        "steps": 3,
        "questions_per_step": 4,
        "group_size": 4,
        "mini_batch_size": 2,
        "max_new_tokens": 48,
        "reward": "task_specific",
        "lr": 1e-2,
        "eval_every": 0,
        "save_every": 1,
    },
    "lora": {"r": 4, "alpha": 8},
    "threads": 1,
}


@pytest.fixture(scope="module")
def mle_run(tmp_path_factory):
    """A tiny MLE run (all weights) whose samples earn varied task-specific rewards."""
    config = build_config(
        "textgame-debug",
        {"mle": {"steps": 300, "lr": 1e-2, "eval_every": 100, "save_every": 300}, "threads": 1},
    )
    return run_mle(config, tmp_path_factory.mktemp("hf") / "mle")


def test_lora_rlvr_trains_adapters_only(mle_run, tmp_path):
    run = run_rlvr(build_config("textgame-debug", RLVR), mle_run, tmp_path / "lora")
    saved = run / "checkpoints" / "step_000003" / "model"
    # checkpoints hold the adapters; the run folder says where their base is
    assert (saved / "adapter_model.safetensors").exists()
    assert not (saved / "model.safetensors").exists()
    base = json.loads((run / "base_model.json").read_text())
    assert base["path"] == str((mle_run / "checkpoints" / "best" / "model").resolve())
    adapters = load_file(str(saved / "adapter_model.safetensors"))
    assert adapters and all("lora_" in k for k in adapters)
    # the LoRA B matrices start at zero; GRPO moved them
    assert max(float(v.abs().max()) for k, v in adapters.items() if "lora_B" in k) > 0
    # the base weights under the adapters are exactly the MLE model's
    model = load_world_model(saved)
    assert is_adapted(model)
    original = load_file(str(mle_run / "checkpoints" / "best" / "model" / "model.safetensors"))
    with torch.no_grad():
        base_weight = model.get_base_model().model.layers[0].self_attn.q_proj.base_layer.weight
    assert torch.equal(base_weight, original["model.layers.0.self_attn.q_proj.weight"])


def test_reference_is_the_base_with_adapters_off(mle_run, tmp_path):
    config = build_config("textgame-debug", RLVR)
    ctx = prepare(config, tmp_path / "run", init=mle_run, with_reference=True)
    try:
        assert isinstance(ctx.reference, AdaptersOff)
        trainable = [n for n, p in ctx.model.named_parameters() if p.requires_grad]
        assert trainable and all("lora_" in n for n in trainable)
        with torch.no_grad():  # give the adapters a nonzero update
            for name, p in ctx.model.named_parameters():
                if "lora_B" in name:
                    p.fill_(0.05)
        ids = torch.tensor([[1, 5, 6, 7]])
        mask = torch.ones_like(ids)
        adapted = ctx.model(input_ids=ids, attention_mask=mask).logits
        off = ctx.reference(input_ids=ids, attention_mask=mask).logits
        base = load_world_model(mle_run / "checkpoints" / "best" / "model")
        expected = base(input_ids=ids, attention_mask=mask).logits
        assert torch.allclose(off, expected, atol=1e-5)
        assert not torch.allclose(adapted, expected, atol=1e-3)
    finally:
        ctx.close()


def test_lora_resume_equals_uninterrupted(mle_run, tmp_path):
    config = build_config("textgame-debug", RLVR)
    whole = run_rlvr(config, mle_run, tmp_path / "whole")
    cut = run_rlvr(config, mle_run, tmp_path / "cut")
    shutil.rmtree(cut / "checkpoints" / "step_000003")
    atomic_write_text(cut / "checkpoints" / "latest", "step_000002\n")
    run_rlvr(config, None, cut, resume=True)
    a, b = (
        load_file(str(r / "checkpoints" / "step_000003" / "model" / "adapter_model.safetensors"))
        for r in (whole, cut)
    )
    assert a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-6


def test_export_merges_adapters_into_a_standard_model(mle_run, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = run_rlvr(build_config("textgame-debug", RLVR), mle_run, tmp_path / "lora")
    out = export_run(run, tmp_path / "export", checkpoint="latest")
    plain = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    assert not is_adapted(plain)
    AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    adapted = load_world_model(run / "checkpoints" / "step_000003" / "model")
    ids = torch.tensor([[1, 5, 6, 7, 8]])
    with torch.no_grad():
        expected = adapted(input_ids=ids).logits
        got = plain(input_ids=ids).logits
    assert torch.allclose(got, expected, atol=1e-4)
    summary = evaluate_run(run, progress=False)  # evaluation loads the adapters too
    assert summary["examples"] > 0


def test_lora_settings_are_validated():
    with pytest.raises(ConfigError, match="lora.r"):
        build_config("textgame-debug", {"lora": {"r": -1}})
    with pytest.raises(ConfigError, match="lora.dropout"):
        build_config("textgame-debug", {"lora": {"r": 4, "dropout": 1.5}})


def test_lora_without_weights_to_adapt_is_a_clear_error(tmp_path):
    config = build_config("textgame-debug", {"lora": {"r": 4}})
    with pytest.raises(ValueError, match="needs weights to adapt"):
        prepare(config, tmp_path / "run")


def test_paper_preset_needs_a_model_path(tmp_path):
    with pytest.raises(ConfigError, match="model.path"):
        prepare(build_config("textgame-paper", {"device": "cpu"}), tmp_path / "run")


def test_mixed_precision_mle_trains(tmp_path):
    from rlvr_world.train.run_folder import read_metrics

    config = build_config(
        "textgame-debug", {"model": {"autocast": "bfloat16"}, "mle": {"steps": 3}, "threads": 1}
    )
    run = run_mle(config, tmp_path / "amp")
    losses = [r["loss"] for r in read_metrics(run) if r["phase"] == "mle"]
    assert len(losses) == 3 and all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
