"""TRL reward functions: same numbers as our rewards, then a real `GRPOTrainer` run on CPU."""

from __future__ import annotations

import doctest
import json
import pickle

import pytest
import torch

from rlvr_world.bench.throughput import quiet_libraries, trl_grpo_config
from rlvr_world.domains.textgame.prompts import ANSWER_MARKER, answer_text, question_text
from rlvr_world.domains.textgame.rewards import binary_reward, task_specific_reward
from rlvr_world.domains.textgame.simulator import generate_transitions
from rlvr_world.domains.web.rewards import web_f1_reward as our_web_f1_reward
from rlvr_world.integrations import trl as trl_rewards
from rlvr_world.integrations.trl import (
    completion_text,
    textgame_dataset,
    textgame_reward,
    web_f1_reward,
)

# Short prompts (~75 tokens) and several unchanged transitions (short, near-identical answers)
GAMES = ["cook_food", "clean_dishes"]


@pytest.fixture(scope="module")
def transitions():
    return generate_transitions(GAMES, episodes_per_game=2, seed=0, max_steps=6)


def chat(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def responses(transition) -> list:
    """Right, half-right, empty and malformed answers for one transition."""
    right = f"Let me think.\n{ANSWER_MARKER} {answer_text(transition)}"
    nothing = f'{ANSWER_MARKER} {{"modified": [], "removed": [], "score": {{}}}}'
    return [right, nothing, "", "I do not know.", None]


# --------------------------------------------------------------------------- unit


@pytest.mark.parametrize("name", ["task_specific", "binary"])
@pytest.mark.parametrize("compat", ["fixed", "reference"])
def test_textgame_reward_matches_ours(transitions, name, compat):
    ours = {"task_specific": task_specific_reward, "binary": binary_reward}[name]
    reward = textgame_reward(name, compat=compat)
    for transition in [transitions[0], *[t for t in transitions if t.changed][:2]]:
        texts = responses(transition)
        n = len(texts)
        expected = ours(texts, [transition.next] * n, [{"current": transition.current}] * n, compat)
        columns = {
            "current": [json.dumps(transition.current)] * n,
            "next": [json.dumps(transition.next)] * n,
        }
        extras = {  # what TRL adds besides the dataset columns: ignored
            "completion_ids": [[1, 2]] * n,
            "trainer_state": None,
            "log_extra": lambda *a, **k: None,
            "log_metric": lambda *a, **k: None,
        }
        plain = reward(prompts=["q"] * n, completions=texts, **columns, **extras)
        conversational = reward(
            prompts=[[{"role": "user", "content": "q"}]] * n,
            completions=[chat(t) for t in texts],
            **columns,
            **extras,
        )
        decoded = reward(  # states already decoded (a caller that is not TRL)
            ["q"] * n, texts, current=[transition.current] * n, next=[transition.next] * n
        )
        assert plain == conversational == decoded == expected
    assert expected[0] > 0  # the right answer scores (max for the last, changed transition)


def test_reward_names_and_pickling():
    assert textgame_reward().__name__ == "textgame_task_specific"
    assert textgame_reward("binary").__name__ == "textgame_binary"
    assert textgame_reward("binary", compat="reference").__name__ == "textgame_binary_reference"
    assert web_f1_reward().__name__ == "web_f1"
    for reward in (textgame_reward("binary", "reference"), web_f1_reward("gold")):
        copy = pickle.loads(pickle.dumps(reward))
        assert copy.__name__ == reward.__name__ and repr(copy) == repr(reward)
    with pytest.raises(ValueError, match="known: binary, task_specific"):
        textgame_reward("f1")
    with pytest.raises(ValueError, match="compat"):
        textgame_reward("binary", compat="paper")


def test_web_f1_reward_matches_ours():
    gold = "New items:\n[7] dialog 'Cart'\n[8] button 'Close'\n\nDeleted items:\nNone\n\n"
    gold += "Updated items:\n[3] button 'Buy'"
    texts = [
        "The cart opens.\n" + gold,
        "New items:\n[7] dialog 'Cart'\n\nDeleted items:\nNone",
        "New items:\nNone\n\nDeleted items:\nNone\n\nUpdated items:\nNone",
        "",
        None,
    ]
    expected = our_web_f1_reward(texts, [gold] * len(texts))
    assert expected == pytest.approx(
        [1.0, 2 * 1 * 0.5 / 1.5, 2 * (1 / 3) * (1 / 4) / (7 / 12), 0, 0]
    )
    reward = web_f1_reward()
    assert reward(["q"] * 5, texts, ground_truth=[gold] * 5, trainer_state=None) == expected
    assert reward(["q"] * 5, [chat(t) for t in texts], ground_truth=[gold] * 5) == expected
    assert web_f1_reward("answer")(["q"], [gold], answer=[gold]) == [1.0]
    # the RL parquet's nested column
    parquet_column = [{"ground_truth": gold, "style": "rule"}] * 5
    assert web_f1_reward("reward_model")(["q"] * 5, texts, reward_model=parquet_column) == expected


@pytest.mark.parametrize(
    ("completion", "text"),
    [
        ("plain", "plain"),
        (chat("chat"), "chat"),
        ({"role": "assistant", "content": "one message"}, "one message"),
        (
            [
                {"role": "assistant", "content": "call"},
                {"role": "tool", "content": "42"},
                {"role": "assistant", "content": "final"},
            ],
            "final",
        ),  # last assistant message
        ([{"content": "no role"}], "no role"),
        (chat([{"type": "text", "text": "a"}, {"type": "image"}, "b"]), "ab"),  # content parts
        ([{"role": "tool", "content": "42"}], None),  # no assistant message
        (chat(None), None),
        ([], None),
        (None, None),
        (17, None),
    ],
)
def test_completion_text(completion, text):
    assert completion_text(completion) == text


def test_broken_dataset_raises(transitions):
    reward = textgame_reward("binary")
    state = json.dumps(transitions[0].current)
    with pytest.raises(KeyError, match="'next'.*'current'"):
        reward(["q"], ["x"], current=[state], trainer_state=None)
    with pytest.raises(ValueError, match="column 'next', row 0"):
        reward(["q"], ["x"], current=[state], next=["{not json"])
    with pytest.raises(KeyError, match="ground_truth"):
        web_f1_reward()(["q"], ["x"], answer=["y"])
    with pytest.raises(TypeError, match="column 'ground_truth', row 1: .* got NoneType"):
        web_f1_reward()(["q", "q"], ["x", "x"], ground_truth=["New items:", None])


def test_textgame_dataset_round_trips_states(transitions):
    dataset = textgame_dataset(transitions)
    assert dataset.column_names == ["prompt", "current", "next"]
    assert len(dataset) == len(transitions)
    for row, transition in zip(dataset, transitions):
        assert row["prompt"] == question_text(transition)
        # exactly the states written: Arrow structs would add missing keys as None
        assert json.loads(row["current"]) == transition.current
        assert json.loads(row["next"]) == transition.next
    chat_dataset = textgame_dataset(transitions[:2], prompt_style="full", conversational=True)
    assert chat_dataset[0]["prompt"] == [
        {"role": "user", "content": question_text(transitions[0], "full")}
    ]


def test_docstring_examples():
    failures, tried = doctest.testmod(trl_rewards, raise_on_error=False)
    assert tried > 0 and failures == 0


# --------------------------------------------------------------------------- GRPOTrainer

GROUP_SIZE = 8
PROMPTS_PER_STEP = 2
STEPS = 2


def warm_up(model, tokenizer, transitions, max_steps: int = 200, target_loss: float = 0.05):
    """A few teacher-forced MLE steps on (prompt, answer) so that sampled completions parse
    some of the time: a random model never parses, every reward is 0, every GRPO advantage
    is 0 and nothing would be learned. Prompt ids are exactly what TRL feeds the model
    (the tokenizer adds no special tokens); the loss is on answer + EOS only. At a mean
    answer-token loss of 0.05 (~40 steps) about half the samples are exactly right."""
    pairs = [
        (tokenizer.encode(question_text(t)), [*tokenizer.encode(answer_text(t)), tokenizer.eos_id])
        for t in transitions
    ]
    length = max(len(q) + len(a) for q, a in pairs)
    ids = torch.full((len(pairs), length), tokenizer.pad_id)  # [B, L], right-padded
    labels = torch.full((len(pairs), length), -100)
    mask = torch.zeros((len(pairs), length), dtype=torch.long)
    for row, (question, answer) in enumerate(pairs):
        sequence = question + answer
        ids[row, : len(sequence)] = torch.tensor(sequence)
        labels[row, len(question) : len(sequence)] = torch.tensor(answer)
        mask[row, : len(sequence)] = 1
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(max_steps):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if loss.item() < target_loss:
            break
    return loss.item()


def grpo_config(output_dir):
    """The throughput benchmark's TRL settings (offline, CPU, one optimiser step per RL step)
    at test size, and weight decay 0: parameters then move only through the policy gradient,
    i.e. only if our reward varied within a group (the KL term has zero gradient at step 1)."""
    return trl_grpo_config(
        output_dir,
        STEPS,
        PROMPTS_PER_STEP,
        seed=0,
        num_generations=GROUP_SIZE,
        per_device_train_batch_size=PROMPTS_PER_STEP * GROUP_SIZE,
        max_completion_length=32,
        beta=0.001,
        learning_rate=1e-4,
        weight_decay=0.0,
        reward_weights=[1.0, 0.0],  # our reward, then the recorder (see the test)
        logging_steps=1,
    )


def test_grpo_trainer_trains_with_our_reward(transitions, tmp_path):
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOTrainer

    from rlvr_world.core.model import ModelConfig, build_llama
    from rlvr_world.text.tokenizer import BOS, EOS, PAD, train_bpe

    # one thread: deterministic, and on a shared 2-core machine 4x faster than two threads
    # that spin-wait for each other (5-6 s instead of 20-30 s for this test)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tokenizer = train_bpe(
            [question_text(t) for t in transitions] + [answer_text(t) for t in transitions],
            vocab_size=384,
        )
        unchanged = [t for t in transitions if not t.changed][: PROMPTS_PER_STEP * STEPS]
        assert len(unchanged) == PROMPTS_PER_STEP * STEPS
        torch.manual_seed(0)
        config = ModelConfig(
            hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_positions=256
        )
        model = build_llama(
            config, tokenizer.vocab_size, tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id
        )
        assert warm_up(model, tokenizer, unchanged) < 0.05
        with quiet_libraries():
            # TRL loads its reference model from the policy's folder (config name), offline
            model.save_pretrained(str(tmp_path / "init"))
            policy = AutoModelForCausalLM.from_pretrained(
                str(tmp_path / "init"), local_files_only=True
            )
            hf_tokenizer = PreTrainedTokenizerFast(
                tokenizer_object=tokenizer.backend,
                pad_token=PAD,
                bos_token=BOS,
                eos_token=EOS,
                padding_side="left",
            )
            before = {k: v.detach().clone() for k, v in policy.named_parameters()}

            # our reward goes to TRL as it is; a second function with weight 0 records what
            # TRL passed (completions and dataset columns) to recompute the rewards here
            calls: list[tuple[list, dict]] = []

            def record(prompts, completions, **columns):
                calls.append((list(completions), columns))
                return [0.0] * len(completions)

            trainer = GRPOTrainer(
                model=policy,
                reward_funcs=[textgame_reward("task_specific"), record],
                args=grpo_config(tmp_path / "trl"),
                train_dataset=textgame_dataset(unchanged),
                processing_class=hf_tokenizer,
            )
            trainer.remove_callback(PrinterCallback)
            trainer.train()
    finally:
        torch.set_num_threads(threads)

    # called once per step on B x G completions, with the dataset columns passed through
    assert len(calls) == STEPS
    dataset_pairs = [(t.current, t.next) for t in unchanged]
    expected = []
    for completions, columns in calls:
        assert len(completions) == PROMPTS_PER_STEP * GROUP_SIZE
        currents = [json.loads(c) for c in columns["current"]]
        nexts = [json.loads(n) for n in columns["next"]]
        assert all(pair in dataset_pairs for pair in zip(currents, nexts))
        contexts = [{"current": current} for current in currents]
        expected.append(task_specific_reward(completions, nexts, contexts))
    # logged under the reward's name, with the mean of our own rewards on those completions
    logs = [
        entry
        for entry in trainer.state.log_history
        if "rewards/textgame_task_specific/mean" in entry
    ]
    assert len(logs) == STEPS
    for entry, rewards in zip(logs, expected):
        assert entry["rewards/textgame_task_specific/mean"] == pytest.approx(
            sum(rewards) / len(rewards), abs=1e-6
        )
        assert entry["reward"] == pytest.approx(entry["rewards/textgame_task_specific/mean"])
    # the warm-up makes some completions parse: rewards vary within a group ...
    assert any(max(rewards) > 0 for rewards in expected)
    assert any(entry["frac_reward_zero_std"] < 1 for entry in logs)
    # ... so the policy gradient is non-zero and the parameters move
    after = dict(trainer.model.named_parameters())
    changed = [name for name, value in before.items() if not torch.equal(value, after[name])]
    assert changed
