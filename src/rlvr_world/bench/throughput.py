"""Throughput of our GRPO step against TRL's `GRPOTrainer` on identical work, in one process.

Both sides train the same `LlamaForCausalLM` (hidden 256, 4 layers, 4 heads, MLP 1024, same
initial weights, loaded from one saved folder) on the same "a+b=" prompts (a, b < 100,
character tokenizer, identical prompt ids `[BOS, *chars]`), with reward 1 when the completion
starts with the sum. Per RL step: 16 prompts x G = 8 completions of at most 32 new tokens
(temperature 1, no top-k / top-p, both stop at EOS), k3 KL to the frozen initial model with
beta = 0.001, no entropy bonus, token-mean loss, clip 0.2, grad-norm clip 1, AdamW at a
constant learning rate, exactly one optimiser step. 2 CPU threads.

Timing: TRL is driven by `trainer.train()` with `max_steps = K + 1`; a callback stamps the end
of every TRL step and then runs one of our steps, so the two sides alternate step by step and
share whatever load the machine has. The first step of each side is a warm-up; the next K are
timed. A TRL step runs from the end of our previous step to the end of its own (data loading,
logging, callbacks included); ours is one `grpo_step` call. Completion tokens count every
generated token up to and including EOS.

Sampler: tokens per second of `core.sampler.sample` against `model.generate` on the same
16 prompts x 8, both forced to generate exactly 32 tokens (no stop id), median of repeats.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch

from rlvr_world.bench.addition import AdditionTask, question_text, starts_with_sum
from rlvr_world.core.grpo import GRPOLossConfig
from rlvr_world.core.model import ModelConfig, build_llama, count_parameters, load_model
from rlvr_world.core.sampler import SamplingConfig, sample
from rlvr_world.core.sequences import pad_left
from rlvr_world.train.config import RLVRConfig
from rlvr_world.train.rlvr import grpo_step

MODEL = ModelConfig(
    hidden_size=256, num_layers=4, num_heads=4, intermediate_size=1024, max_positions=128
)
THREADS = 2
SEED = 0
LR = 1e-5
BETA = 0.001
MAX_NEW_TOKENS = 32
GROUP_SIZE = 8


def bench_throughput(out: Path, quick: bool = False) -> dict:
    """Run the benchmark, write the JSON result to `out` and return it.

    quick: 1 timed step per side (instead of 8), 2 prompts per step (instead of 16) and one
    sampler repeat (instead of 5); same model. For smoke tests, not for numbers.
    """
    steps = 1 if quick else 8
    prompts = 2 if quick else 16
    repeats = 1 if quick else 5
    out = Path(out)
    load_before = _load_average()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        with quiet_libraries(), tempfile.TemporaryDirectory(prefix="rlvr-bench-") as tmp:
            task = AdditionTask(train_size=(steps + 1) * prompts, test_size=prompts, seed=SEED)
            init = Path(tmp) / "init"
            n_params = _save_initial_model(task, init)
            ours_step = _OursStepper(task, init, prompts)
            trl, ours = _bench_steps(task, init, steps, prompts, Path(tmp) / "trl", ours_step)
            sampler = _bench_sampler(task, init, prompts, repeats)
    finally:
        torch.set_num_threads(previous_threads)

    import transformers
    import trl as trl_module

    result = {
        "ours": {k: ours[k] for k in ("steps_per_second", "completion_tokens_per_second")},
        "trl": {k: trl[k] for k in ("steps_per_second", "completion_tokens_per_second")},
        "ratio_steps": ours["steps_per_second"] / trl["steps_per_second"],
        "sampler": sampler,
        "setup": {
            "quick": quick,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl_module.__version__,
            "python": platform.python_version(),
            "device": "cpu",
            "cpu_count": os.cpu_count(),
            "load_average_1min": {"before": load_before, "after": _load_average()},
            "threads": THREADS,
            "threads_seen_during_steps": sorted(set(trl["threads"])),
            "steps_timed": steps,
            "warmup_steps": 1,
            "timing": "steps interleaved: TRL step, our step, TRL step, ...",
            "prompts_per_step": prompts,
            "group_size": GROUP_SIZE,
            "max_new_tokens": MAX_NEW_TOKENS,
            "sampler_repeats": repeats,
            "sampler_work": f"{prompts} prompts x {GROUP_SIZE}, exactly {MAX_NEW_TOKENS} new tokens "
            "each (no stop id), median of the repeats",
            "model": {
                "class": "LlamaForCausalLM",
                "hidden_size": MODEL.hidden_size,
                "num_layers": MODEL.num_layers,
                "num_heads": MODEL.num_heads,
                "intermediate_size": MODEL.intermediate_size,
                "vocab_size": task.tokenizer.vocab_size,
                "parameters": n_params,
            },
            "lr": LR,
            "beta": BETA,
            "ours_step_seconds": ours["step_seconds"],
            "ours_sampling_seconds": ours["sample_seconds"],
            "trl_step_seconds": trl["step_seconds"],
            "ours_completion_tokens": ours["completion_tokens"],
            "trl_completion_tokens": trl["completion_tokens"],
            "trl_config": trl["config"],
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def _load_average() -> float | None:
    """1-minute load average of the machine (other processes slow both sides down)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


@contextlib.contextmanager
def quiet_libraries():
    """Silence progress bars, info logs and deprecation warnings of the libraries."""
    import datasets
    import transformers

    bars = transformers.utils.logging.is_progress_bar_enabled()
    data_bars = datasets.utils.logging.is_progress_bar_enabled()
    verbosity = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.disable_progress_bar()
    datasets.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        transformers.utils.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()
        if data_bars:
            datasets.utils.logging.enable_progress_bar()


def _save_initial_model(task: AdditionTask, folder: Path) -> int:
    """Build the seeded initial model once and save it; both sides load this folder."""
    tok = task.tokenizer
    torch.manual_seed(SEED)
    model = build_llama(MODEL, tok.vocab_size, tok.pad_id, tok.bos_id, tok.eos_id)
    model.save_pretrained(str(folder))
    return count_parameters(model)


def _batches(task: AdditionTask, prompts: int) -> list[list]:
    train = task.examples("train")
    return [train[i : i + prompts] for i in range(0, len(train), prompts)]


# ------------------------------------------------------------------------------------------
# Ours: `grpo_step` on its own copy of the initial model
# ------------------------------------------------------------------------------------------


class _OursStepper:
    """Runs our RL steps one at a time on the same prompts as TRL, in the same order."""

    def __init__(self, task: AdditionTask, init: Path, prompts: int) -> None:
        self.task = task
        self.cfg = RLVRConfig(
            questions_per_step=prompts,
            group_size=GROUP_SIZE,
            mini_batch_size=prompts,
            epochs=1,
            max_new_tokens=MAX_NEW_TOKENS,
            temperature=1.0,
            top_p=1.0,
            top_k=0,
            lr=LR,
            loss=GRPOLossConfig(kl_coef=BETA, entropy_coef=0.0),
            skip_zero_variance=False,
        )
        cfg = self.cfg
        self.model = load_model(init)
        self.reference = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), weight_decay=cfg.weight_decay
        )
        self.sampling = SamplingConfig(
            max_new_tokens=cfg.max_new_tokens,
            temperature=cfg.temperature,
            top_k=cfg.top_k,
            top_p=cfg.top_p,
        )
        self.generator = torch.Generator().manual_seed(SEED)
        self.reward_fn = task.reward("binary")
        self.batches = _batches(task, prompts)
        self.done = 0

    def __call__(self) -> dict:
        """One RL step on the next batch of prompts -> (seconds, completion tokens, metrics)."""
        examples = self.batches[self.done]
        self.done += 1
        begin = time.perf_counter()
        metrics = grpo_step(
            self.model,
            self.reference,
            self.optimizer,
            self.task,
            self.reward_fn,
            examples,
            self.cfg,
            self.sampling,
            self.generator,
            "cpu",
        )
        seconds = time.perf_counter() - begin
        tokens = round(metrics["response_length"] * len(examples) * GROUP_SIZE)
        return {"seconds": seconds, "tokens": tokens, "sample_seconds": metrics["sample_seconds"]}


# ------------------------------------------------------------------------------------------
# TRL, with our steps interleaved
# ------------------------------------------------------------------------------------------


def trl_grpo_config(output_dir: Path, steps: int, prompts: int, **changes):
    """TRL's `GRPOConfig` set up as our GRPO step (offline, CPU, one optimiser step per RL
    step, token-mean loss, group-std advantages); `changes` override any field."""
    from trl import GRPOConfig

    settings = dict(
        output_dir=str(output_dir),
        use_cpu=True,
        bf16=False,
        fp16=False,
        activation_checkpointing=False,
        seed=SEED,
        # one optimiser step per RL step: a generation batch of prompts x G completions,
        # trained as one batch (steps_per_generation = gradient_accumulation_steps = 1)
        per_device_train_batch_size=prompts * GROUP_SIZE,
        gradient_accumulation_steps=1,
        num_generations=GROUP_SIZE,
        num_iterations=1,
        max_steps=steps,
        max_completion_length=MAX_NEW_TOKENS,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        beta=BETA,
        # our k3 KL has no importance-sampling correction (with one update the ratio is 1)
        use_bias_correction_kl=False,
        # ours: token-mean over all tokens of the update batch == "dapo" with one process and
        # no accumulation (normalised by the number of active tokens of the whole batch)
        loss_type="dapo",
        scale_rewards="group",
        epsilon=0.2,
        mask_truncated_completions=False,
        learning_rate=LR,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.01,  # = RLVRConfig.weight_decay
        max_grad_norm=1.0,  # = RLVRConfig.grad_clip
        shuffle_dataset=False,  # same prompts in the same order as ours
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    return GRPOConfig(**{**settings, **changes})


def _bench_steps(
    task: AdditionTask, init: Path, steps: int, prompts: int, output_dir: Path, ours_step
) -> tuple[dict, dict]:
    """TRL's `trainer.train()` for steps + 1 steps; after each TRL step, one of ours.

    A callback stamps the end of every TRL step and then runs our next step, so the two sides
    alternate step by step and share whatever load the machine has. TRL's time for a step runs
    from the end of our previous step to the end of its own step (data loading, logging and
    callbacks included); the first step of each side is a warm-up.
    """
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, TrainerCallback
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOTrainer

    tok = task.tokenizer
    hf_tokenizer = tok.hf_tokenizer()
    examples = [e for batch in _batches(task, prompts)[: steps + 1] for e in batch]
    texts = [question_text(e.context["a"], e.context["b"]) for e in examples]
    if hf_tokenizer(text=texts)["input_ids"] != [e.question_ids for e in examples]:
        raise RuntimeError("TRL's prompt ids differ from ours")
    dataset = Dataset.from_dict({"prompt": texts, "answer": [e.reference for e in examples]})

    generated: list[int] = []  # TRL's completion tokens per step (EOS included)

    def reward(prompts, completions, completion_ids, answer, **_) -> list[float]:
        generated.append(sum(len(ids) for ids in completion_ids))
        return starts_with_sum(completions, answer)

    class Interleave(TrainerCallback):
        def __init__(self) -> None:
            self.trl_seconds: list[float] = []
            self.ours: list[dict] = []
            self.threads: list[int] = []
            self.resumed: float | None = None

        def on_step_end(self, args, state, control, **kwargs):
            now = time.perf_counter()
            if self.resumed is not None:
                self.trl_seconds.append(now - self.resumed)
            self.threads.append(torch.get_num_threads())
            self.ours.append(ours_step())
            self.resumed = time.perf_counter()

    clock = Interleave()
    config = trl_grpo_config(output_dir, steps + 1, prompts)
    model = AutoModelForCausalLM.from_pretrained(str(init), local_files_only=True)
    trainer = GRPOTrainer(
        model=model,  # TRL re-loads its reference model from the same folder (config name)
        reward_funcs=reward,
        args=config,
        train_dataset=dataset,
        processing_class=hf_tokenizer,
        callbacks=[clock],
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    if len(clock.ours) != steps + 1 or len(generated) != steps + 1:
        raise RuntimeError(
            f"TRL ran {len(clock.ours)} steps and {len(generated)} generations, "
            f"expected {steps + 1} of each"
        )
    trl_seconds = sum(clock.trl_seconds)
    trl_tokens = sum(generated[1:])
    ours_timed = clock.ours[1:]
    ours_seconds = sum(o["seconds"] for o in ours_timed)
    ours_tokens = sum(o["tokens"] for o in ours_timed)
    trl = {
        "steps_per_second": steps / trl_seconds,
        "completion_tokens_per_second": trl_tokens / trl_seconds,
        "completion_tokens": trl_tokens,
        "step_seconds": [round(t, 4) for t in clock.trl_seconds],
        "threads": clock.threads,
        "config": {
            "loss_type": config.loss_type,
            "per_device_train_batch_size": config.per_device_train_batch_size,
            "gradient_accumulation_steps": config.gradient_accumulation_steps,
            "steps_per_generation": config.steps_per_generation,
            "generation_batch_size": config.generation_batch_size,
            "num_generations": config.num_generations,
            "num_iterations": config.num_iterations,
            "max_completion_length": config.max_completion_length,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "top_k": config.top_k,
            "beta": config.beta,
            "use_bias_correction_kl": config.use_bias_correction_kl,
            "scale_rewards": config.scale_rewards,
            "epsilon": config.epsilon,
            "learning_rate": config.learning_rate,
            "lr_scheduler_type": str(getattr(config.lr_scheduler_type, "value", "")),
            "weight_decay": config.weight_decay,
            "max_grad_norm": config.max_grad_norm,
            "optim": str(getattr(config.optim, "value", config.optim)),
            "activation_checkpointing": config.activation_checkpointing,
            "bf16": config.bf16,
            "use_cpu": config.use_cpu,
        },
    }
    ours = {
        "steps_per_second": steps / ours_seconds,
        "completion_tokens_per_second": ours_tokens / ours_seconds,
        "completion_tokens": ours_tokens,
        "step_seconds": [round(o["seconds"], 4) for o in ours_timed],
        "sample_seconds": [round(o["sample_seconds"], 4) for o in ours_timed],
    }
    return trl, ours


# ------------------------------------------------------------------------------------------
# Sampler
# ------------------------------------------------------------------------------------------


def _bench_sampler(task: AdditionTask, init: Path, prompts: int, repeats: int) -> dict:
    tok = task.tokenizer
    model = load_model(init).eval()
    questions = [e.question_ids for e in task.examples("train")[:prompts]]
    q_ids, q_mask = pad_left(questions, tok.pad_id)
    config = SamplingConfig(max_new_tokens=MAX_NEW_TOKENS, temperature=1.0)
    generator = torch.Generator().manual_seed(SEED)
    n_tokens = len(questions) * GROUP_SIZE * MAX_NEW_TOKENS

    def ours() -> float:
        begin = time.perf_counter()
        out = sample(
            model,
            questions,
            config,
            group_size=GROUP_SIZE,
            stop_ids=[],
            pad_id=tok.pad_id,
            generator=generator,
        )
        seconds = time.perf_counter() - begin
        if int(out.response_mask.sum()) != n_tokens:
            raise RuntimeError("our sampler did not generate exactly max_new_tokens per row")
        return seconds

    def hf() -> float:
        begin = time.perf_counter()
        with torch.no_grad():
            ids = model.generate(
                input_ids=q_ids,
                attention_mask=q_mask,
                do_sample=True,
                temperature=1.0,
                top_k=0,
                top_p=1.0,
                max_new_tokens=MAX_NEW_TOKENS,
                num_return_sequences=GROUP_SIZE,
                pad_token_id=tok.pad_id,
                eos_token_id=None,  # no stop id: exactly 32 tokens
            )
        seconds = time.perf_counter() - begin
        if ids.shape != (len(questions) * GROUP_SIZE, q_ids.shape[1] + MAX_NEW_TOKENS):
            raise RuntimeError(f"generate returned shape {tuple(ids.shape)}")
        return seconds

    ours(), hf()  # warm-up
    ours_times, hf_times = [], []
    for _ in range(repeats):
        ours_times.append(ours())
        hf_times.append(hf())
    return {
        "ours_tokens_per_second": n_tokens / statistics.median(ours_times),
        "hf_generate_tokens_per_second": n_tokens / statistics.median(hf_times),
    }
