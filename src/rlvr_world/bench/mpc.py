"""`rlvr-world bench mpc`: the paper's downstream claim at tiny scale: a planning agent
succeeds more often with the RLVR world model than with the MLE one.

The same MPC web agent (`domains.web.agent`: a weak proposal policy, N=20 samples, the k=3
most frequent actions, the verifiable tree-progress value) plays the same held-out tasks with
each world model:

- `random`: no world model, a uniform choice among the candidates;
- `no_change`: a world model that predicts nothing happens (then ties go to the most often
  proposed action: the proposal policy's own vote);
- `mle`, `rlvr`: the language world models of a `bench web` pair (MLE, RLVR from it);
- `oracle`: the simulator itself.

The world models come from `--runs DIR` (a `bench web` runs folder with `mle/` and `rlvr/`),
or are trained here first with the `web-bench` preset. Held-out tasks: `episodes_per_task`
sites and objectives per task, drawn from a seed stream no training episode uses. Target:
success(rlvr) >= 1.184 x success(mle) (the paper: 12.06% -> 14.29%) and mle > random.
"""

from __future__ import annotations

import time
from pathlib import Path

from rlvr_world.core.checkpoint import write_json
from rlvr_world.core.stats import headline, headline_sentence, paired_comparison

TARGET_RATIO = 1.184
SEED_OFFSET = 3_000_017  # planning episodes: a seed stream apart from every data split
WORLD_MODELS = ("random", "no_change", "mle", "rlvr", "oracle")
NOISE = 0.9  # the proposal policy's: the expert's action in about 2 of the 20 samples
MAX_STEPS = 15


def _no_change(state, actions):
    tree = state.sim.observation().tree
    return [tree] * len(actions)


def plan_success(
    world_models: dict,
    tasks: list[str],
    episodes_per_task: int,
    layout,
    *,
    seed: int = 0,
    noise: float = NOISE,
    max_steps: int = MAX_STEPS,
    progress: bool = False,
) -> dict:
    """Success rate, mean final progress and steps of the MPC agent with each world model
    (name -> `predict` callable, None = random choice) over the same episodes."""
    from tqdm.auto import tqdm

    from rlvr_world.domains.web.agent import make_planner, run_episode
    from rlvr_world.domains.web.sim import WebSimulator

    out: dict = {}
    for name, world_model in world_models.items():
        planner = make_planner(world_model, noise=noise)
        rows = []
        start = time.perf_counter()
        episodes = [(t, e) for t in tasks for e in range(episodes_per_task)]
        for task, episode in tqdm(episodes, desc=f"plan {name}", disable=not progress):
            episode_seed = seed + SEED_OFFSET + 1009 * episode + 7 * tasks.index(task)
            result = run_episode(
                WebSimulator(layout=layout), planner, task, episode_seed, max_steps=max_steps
            )
            rows.append((task, result))
        out[name] = {
            "success": sum(r.success for _, r in rows) / len(rows),
            "progress": sum(r.progress for _, r in rows) / len(rows),
            "steps": sum(len(r.decisions) for _, r in rows) / len(rows),
            "outcomes": [int(r.success) for _, r in rows],  # per episode, in `episodes` order
            "by_task": {
                task: sum(r.success for t, r in rows if t == task) / episodes_per_task
                for task in tasks
            },
            "seconds": time.perf_counter() - start,
        }
    return out


def bench_mpc(
    out: Path,
    quick: bool = False,
    runs: Path | None = None,
    episodes: int | None = None,
    preset: str = "web-bench",
) -> dict:
    """Run the benchmark; writes `out` (JSON) and, when it trains, the run folders beside it.
    episodes: planning episodes per held-out task (default 10)."""
    from rlvr_world.domains.web.goals import GOALS
    from rlvr_world.domains.web.setup import layout
    from rlvr_world.train.pipeline import load_text_world_model, run_mle, run_rlvr
    from rlvr_world.train.presets import build_config

    start = time.perf_counter()
    preset = "web-debug" if quick else preset
    if runs is None:
        runs = out.parent / f"{out.stem}-runs"
        if runs.exists():
            raise FileExistsError(f"{runs} exists; remove it, pass it as --runs, or change --out")
        config = build_config(preset)
        mle_run = run_mle(config, runs / "mle")
        run_rlvr(config, mle_run, runs / "rlvr")
    from rlvr_world.domains.web.agent import LanguageWorldModel, SimulatorWorldModel

    learned, configs = {}, {}
    for name in ("mle", "rlvr"):
        if not (runs / name / "config.yaml").exists():
            raise FileNotFoundError(f"{runs / name}: not a run folder (expected mle/ and rlvr/)")
        answer, run_config = load_text_world_model(runs / name)
        if run_config.data.domain != "web":
            domain = run_config.data.domain
            raise ValueError(f"{runs / name}: a {domain} run; bench mpc needs web runs")
        learned[name] = LanguageWorldModel(answer, style=run_config.data.prompt_style)
        configs[name] = run_config
    config = configs["mle"]  # the planning episodes use the MLE run's page sizes and seed
    world_models = {
        "random": None,
        "no_change": _no_change,
        "mle": learned["mle"],
        "rlvr": learned["rlvr"],
        "oracle": SimulatorWorldModel(),
    }
    tasks = list(config.web.tasks) or sorted(GOALS)
    episodes = 1 if quick else episodes or 10
    results = plan_success(
        world_models,
        tasks,
        episodes,
        layout(config.web),
        seed=config.seed,
        progress=config.progress,
    )
    success = {name: results[name]["success"] for name in WORLD_MODELS}
    ratio = success["rlvr"] / success["mle"] if success["mle"] else None
    outcomes = [[float(o) for o in results[name]["outcomes"]] for name in ("mle", "rlvr")]
    top = headline("success", True, *outcomes)
    top["sentence"] = headline_sentence(top, "the planner's success rate", "held-out episodes")
    result = {
        "headline": top,
        "success": success,
        "episodes": episodes * len(tasks),
        "rlvr_over_mle": ratio,
        # the same episodes with both models: is the difference more than chance?
        "rlvr_vs_mle": paired_comparison(results["rlvr"]["outcomes"], results["mle"]["outcomes"]),
        "details": results,
        "target": {
            "rlvr_over_mle": TARGET_RATIO,
            "met": ratio is not None
            and ratio >= TARGET_RATIO
            and success["mle"] > success["random"],
        },
        "setup": {
            "runs": str(runs),
            "tasks": tasks,
            "episodes_per_task": episodes,
            "proposal_noise": NOISE,
            "num_samples": 20,
            "top_k": 3,
            "max_steps": MAX_STEPS,
        },
        "wall_seconds": time.perf_counter() - start,
    }
    write_json(out, result)
    return result
