"""`rlvr-world plan --domain web`: an MPC agent browsing the simulated site, step by step."""

from __future__ import annotations

from collections.abc import Callable

from rlvr_world.domains.web import agent
from rlvr_world.domains.web.config import WebConfig
from rlvr_world.domains.web.goals import GOALS
from rlvr_world.domains.web.setup import layout
from rlvr_world.domains.web.sim import WebSimulator


def world_model(kind: str, answer: Callable | None, config) -> object | None:
    """The planner's world model: the simulator (`oracle`), None (`random`), or a trained
    run's `answer(question) -> response` read through its prompt style."""
    if kind == "oracle":
        return agent.SimulatorWorldModel()
    if answer is None:
        return None
    return agent.LanguageWorldModel(answer, config.data.prompt_style)


def plan(args, model, config, echo: Callable[[str], None]) -> int:
    """One planning episode of `--task` (default add_to_cart) on the site of `--seed`, each
    decision shown through `echo`."""
    task = args.task or "add_to_cart"
    if task not in GOALS:
        raise ValueError(f"--task: unknown web task {task!r}; known: {', '.join(GOALS)}")
    sim = WebSimulator(layout=layout(config.web if config else WebConfig()))

    def show(episode, decision) -> None:
        if len(episode.decisions) == 1:
            echo(f"objective: {episode.objective}")
        echo(f"\nstep {len(episode.decisions)}  {episode.urls[-1]}")
        for line in agent.describe(decision, sim.observation().tree):
            echo("  " + line)

    options = {"noise": args.noise, "num_samples": args.num_samples, "top_k": args.top_k}
    episode = agent.run_episode(
        sim, agent.make_planner(model, **options), task, args.seed, args.max_steps, show
    )
    echo(f"\nsuccess: {episode.success}  progress: {episode.progress:.2f}")
    return 0
