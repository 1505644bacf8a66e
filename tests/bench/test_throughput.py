"""The throughput benchmark (smoke) and the addition task it trains on."""

import json
import math

import pytest
import torch

from rlvr_world.bench.addition import AdditionTask, CharTokenizer
from rlvr_world.core.grpo import GRPOLossConfig
from rlvr_world.core.model import ModelConfig, build_llama
from rlvr_world.core.protocols import Tokenizer
from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.train.config import RLVRConfig
from rlvr_world.train.rlvr import grpo_step, reward_function


def test_addition_task_follows_the_protocols():
    task = AdditionTask(train_size=20, test_size=5, seed=1)
    assert isinstance(task.tokenizer, Tokenizer)
    for name in ("examples", "decode", "score", "reward", "summarize"):
        assert callable(getattr(task, name))
    assert task.name == "addition"
    train = task.examples("train")
    assert len(train) == 20 and len(task.examples("test")) == 5
    example = train[0]
    a, b = example.context["a"], example.context["b"]
    assert 0 <= a < 100 and 0 <= b < 100 and example.reference == str(a + b)
    tok = task.tokenizer
    assert example.question_ids == [tok.bos_id, *tok.encode(f"{a}+{b}=")]
    assert example.response_ids == [*tok.encode(str(a + b)), tok.eos_id]
    # decode stops at EOS; the binary reward checks the prefix, `exact` the whole answer
    answer = tok.encode(str(a + b))
    assert task.decode([*answer, tok.eos_id, *tok.encode("12")]) == str(a + b)
    predictions = [str(a + b) + "7", str(a + b), "x"]
    assert task.reward("binary")(predictions, [example.reference] * 3, [{}] * 3) == [1.0, 1.0, 0.0]
    scores = task.score(predictions, [example] * 3)
    assert [s["exact"] for s in scores] == [0.0, 1.0, 0.0]
    summary = task.summarize(scores, [example] * 3)
    assert summary["accuracy"]["overall"] == pytest.approx(1 / 3)
    with pytest.raises(KeyError):
        task.reward("nope")
    with pytest.raises(KeyError):
        task.examples("nope")


def test_hf_tokenizer_gives_our_ids():
    tok = CharTokenizer()
    hf = tok.hf_tokenizer()
    texts = ["12+34=", "0+9=", "99+99="]
    assert hf(text=texts)["input_ids"] == [[tok.bos_id, *tok.encode(t)] for t in texts]
    ids = [*tok.encode("46"), tok.eos_id, tok.pad_id]
    assert hf.batch_decode([ids], skip_special_tokens=True) == ["46"]
    assert (hf.pad_token_id, hf.bos_token_id, hf.eos_token_id) == (
        tok.pad_id,
        tok.bos_id,
        tok.eos_id,
    )


def test_reward_to_go_credit_needs_per_span_rewards():
    task = AdditionTask(train_size=4, test_size=1)
    assert reward_function(task, RLVRConfig(reward="binary")) is not None
    with pytest.raises(ValueError, match="'addition' task does not"):
        reward_function(task, RLVRConfig(reward="binary", credit="reward-to-go"))
    with pytest.raises(ValueError, match="'addition' task does not"):
        reward_function(task, RLVRConfig(reward="binary", credit="token"))


def test_grpo_step_runs_on_the_addition_task():
    torch.manual_seed(0)
    task = AdditionTask(train_size=8, test_size=2)
    tok = task.tokenizer
    model = build_llama(
        ModelConfig(
            hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64, max_positions=64
        ),
        tok.vocab_size,
        tok.pad_id,
        tok.bos_id,
        tok.eos_id,
    )
    reference = build_llama(
        ModelConfig(
            hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64, max_positions=64
        ),
        tok.vocab_size,
        tok.pad_id,
        tok.bos_id,
        tok.eos_id,
    )
    reference.load_state_dict(model.state_dict())
    reference.eval().requires_grad_(False)
    before = [p.detach().clone() for p in model.parameters()]
    cfg = RLVRConfig(
        questions_per_step=4,
        group_size=4,
        mini_batch_size=2,
        epochs=2,
        max_new_tokens=6,
        lr=1e-3,
        skip_zero_variance=False,
        loss=GRPOLossConfig(kl_coef=0.01, entropy_coef=0.001),
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    generator = torch.Generator().manual_seed(0)
    sampling = SamplingConfig(max_new_tokens=cfg.max_new_tokens)
    reward_fn = task.reward("binary")
    train = task.examples("train")
    for step in range(2):
        metrics = grpo_step(
            model,
            reference,
            optimizer,
            task,
            reward_fn,
            train[4 * step : 4 * step + 4],
            cfg,
            sampling,
            generator,
            "cpu",
        )
        assert metrics["updates"] == 4  # 2 epochs x 2 mini-batches
        assert all(math.isfinite(v) for k, v in metrics.items() if not k.startswith("term_"))
        assert 0.0 <= metrics["reward_mean"] <= 1.0
        assert {"term_exact", "term_prefix"} <= set(metrics)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_quick_benchmark_writes_the_json(tmp_path):
    from rlvr_world.bench.throughput import bench_throughput

    out = tmp_path / "tp.json"
    threads = torch.get_num_threads()
    result = bench_throughput(out, quick=True)
    assert json.loads(out.read_text()) == result
    for side in ("ours", "trl"):
        assert set(result[side]) == {"steps_per_second", "completion_tokens_per_second"}
        assert all(v > 0 for v in result[side].values())
    assert result["ratio_steps"] > 0
    assert set(result["sampler"]) == {"ours_tokens_per_second", "hf_generate_tokens_per_second"}
    assert all(v > 0 for v in result["sampler"].values())
    setup = result["setup"]
    assert setup["quick"] is True and setup["threads"] == 2 and setup["steps_timed"] == 1
    assert {"torch", "transformers", "trl"} <= set(setup)
    assert torch.get_num_threads() == threads  # restored
