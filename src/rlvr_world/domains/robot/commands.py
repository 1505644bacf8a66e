"""The robot domain's own command, `rlvr-world policy-eval` (a `Domain` `commands` hook): a
policy's success estimated inside a multi-step video world model."""

from __future__ import annotations

from collections.abc import Callable


def add_commands(sub, load: Callable[[str], Callable], echo: Callable[[str], None]) -> None:
    """Add `policy-eval` to the CLI's subcommands. load(name): a run-loading function of the
    training layer (here `load_video_world_model`); echo: how to show the result."""
    p = sub.add_parser(
        "policy-eval", help="a robot policy's success estimated inside a video world model"
    )
    p.add_argument("--world-model", required=True, help="a multi-step video run's folder")
    p.add_argument("--task", default="lift", help="push, lift or place (default lift)")
    p.add_argument("--policy", default="expert", help="expert, noisy-0.3, noisy-0.6 or random")
    p.add_argument("--episodes", type=int, default=8)
    p.add_argument("--max-steps", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default="best")
    p.set_defaults(func=lambda args: policy_eval(args, load, echo))


def policy_eval(args, load: Callable[[str], Callable], echo: Callable[[str], None]) -> int:
    from rlvr_world.domains.robot.policy_estimates import estimate_policy

    result = estimate_policy(
        args.world_model,
        load("load_video_world_model")(args.world_model, args.checkpoint),
        args.task,
        args.policy,
        episodes=args.episodes,
        max_steps=args.max_steps,
        seed=args.seed,
        checkpoint=args.checkpoint,
        progress=True,
    )
    echo(
        f"{args.task}/{args.policy}: true {result['true']:.1%} (simulator), estimated "
        f"{result['estimated']:.1%} (imagined in {args.world_model}) over {args.episodes} "
        f"episodes; GIFs in {result['folder']}"
    )
    return 0
