"""`rlvr-world plan --domain textgame`: an MPC agent playing a simulated game, step by step."""

from __future__ import annotations

from collections.abc import Callable

from rlvr_world.domains.textgame import agent
from rlvr_world.domains.textgame.simulator import GAMES, make_game


def world_model(kind: str, answer: Callable | None, config) -> object | None:
    """The planner's world model: the simulator (`oracle`), None (`random`), or a trained
    run's `answer(question) -> response` read through its prompt style and scorer."""
    if kind == "oracle":
        return agent.SimulatorWorldModel()
    if answer is None:
        return None
    return agent.LanguageWorldModel(answer, config.data.prompt_style, config.rlvr.compat)


def plan(args, model, config, echo: Callable[[str], None]) -> int:
    """One game of `--task` (default boil_water), each decision shown through `echo`."""
    name = args.task or "boil_water"
    if name not in GAMES:
        raise ValueError(f"--task: unknown game {name!r}; known: {', '.join(sorted(GAMES))}")
    game = make_game(name)

    def show(episode, decision) -> None:
        if len(episode.decisions) == 1:
            echo(f"task: {episode.task}")
        echo(f"\nstep {len(episode.decisions)}  score {game.state()[-1]['score']}")
        for line in agent.describe(decision, game.state()):
            echo("  " + line)

    options = {"noise": args.noise, "num_samples": args.num_samples, "top_k": args.top_k}
    episode = agent.run_episode(
        game, agent.make_planner(model, **options), args.seed, args.max_steps, show
    )
    echo(f"\nwon: {episode.won}  score: {episode.score:g}")
    return 0
