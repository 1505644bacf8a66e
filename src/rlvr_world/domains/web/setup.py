"""Build the web task of a run: transitions (simulated or loaded), tokenizer, prompts."""

from __future__ import annotations

from pathlib import Path

from rlvr_world.domains.web.data import WebTransition, load_transitions, save_transitions
from rlvr_world.domains.web.diff import tree_diff
from rlvr_world.domains.web.goals import GOALS
from rlvr_world.domains.web.policies import ExpertPolicy, rollout
from rlvr_world.domains.web.prompts import answer_text, question_text
from rlvr_world.domains.web.sim import WebSimulator
from rlvr_world.domains.web.site.model import Layout
from rlvr_world.domains.web.task import WebTask
from rlvr_world.text.run_data import SPLITS, load_split_files, prepare_text_data, write_splits

# Each split's episodes come from its own seed stream, so no episode is shared between splits.
SEED_OFFSETS = {"train": 0, "valid": 2_000_003, "test": 1_000_003}


def layout(web_config) -> Layout:
    """The page sizes a `WebConfig` asks for."""
    return Layout(web_config.window, web_config.featured, web_config.related)


def episode_transitions(
    task: str,
    seed: int,
    noise: float,
    max_steps: int,
    prefix: str,
    page_layout: Layout | None = None,
) -> list[WebTransition]:
    """One simulated episode of `task` by the expert with `noise`, as transitions."""
    sim = WebSimulator(layout=page_layout)
    steps = rollout(sim, ExpertPolicy(noise=noise, seed=seed), task, seed, max_steps)
    return [
        WebTransition(
            id=f"{prefix}/{k}",
            url=step.url,
            objective=step.objective,
            previous_action=step.previous_action,
            tree=step.tree,
            action=step.action,
            answer=tree_diff(step.tree, step.next_tree),
            site=step.url.split("//")[-1].split("/")[0].split(".")[0],
            task=task,
        )
        for k, step in enumerate(steps)
    ]


def simulate(web_config, seed: int) -> dict[str, list[WebTransition]]:
    """Training, validation and test transitions: per task, episodes cycle through the
    expert's noise levels."""
    tasks = list(web_config.tasks) or sorted(GOALS)
    unknown = [t for t in tasks if t not in GOALS]
    if unknown:
        raise ValueError(f"web.tasks: unknown tasks {unknown}; known: {', '.join(sorted(GOALS))}")
    counts = {
        "train": web_config.train_episodes_per_task,
        "valid": web_config.valid_episodes_per_task,
        "test": web_config.test_episodes_per_task,
    }
    noise = list(web_config.policy_noise)
    out: dict[str, list[WebTransition]] = {}
    for split in SPLITS:
        out[split] = []
        for task in tasks:
            for episode in range(counts[split]):
                episode_seed = seed + SEED_OFFSETS[split] + 1009 * episode + 7 * tasks.index(task)
                out[split] += episode_transitions(
                    task,
                    episode_seed,
                    float(noise[episode % len(noise)]),
                    web_config.max_episode_steps,
                    prefix=f"{split}/{task}/{episode}",
                    page_layout=layout(web_config),
                )
    return out


def load_splits(config) -> dict[str, list[WebTransition]]:
    """Transitions from files where `data.train_path` is given, else simulated."""
    if not config.data.train_path:
        return simulate(config.web, config.seed)
    return load_split_files(config.data, config.seed, load_transitions)


def prepare_task(config, run_dir: Path, init_dir: Path | None = None, log=None) -> WebTask:
    """The run's task (`config` is a `RunConfig`); data and tokenizer as any text run's
    (`text.run_data.prepare_text_data`)."""
    style = config.data.prompt_style
    splits, tokenizer = prepare_text_data(
        config,
        run_dir,
        init_dir,
        make_splits=lambda: load_splits(config),
        load=load_transitions,
        save=save_transitions,
        texts=lambda t: (question_text(t, style), answer_text(t, style)),
    )
    return WebTask(
        splits, tokenizer, prompt_style=style, max_question_tokens=config.data.max_question_tokens
    )


def write_dataset(config, out: Path, format: str = "jsonl") -> list[str]:
    """`rlvr-world data`: the simulated splits as jsonl or as the RL parquet (full prompts) in
    `out`; one line a file for the terminal."""
    from rlvr_world.domains.web.data import save_parquet

    return write_splits(
        simulate(config.web, config.seed),
        Path(out),
        format,
        save=save_transitions,
        save_parquet=save_parquet,
        full_question=lambda t: question_text(t, "full"),
    )
