"""The robot (video) domain's bundle (`rlvr_world.domains.base.Domain`)."""

from rlvr_world.domains.base import Domain
from rlvr_world.domains.robot.presets import PRESETS

DOMAIN = Domain(
    name="robot",
    description="a tabletop robot seen by a camera: predict the next frames (SPEC §5)",
    prepare_task="rlvr_world.domains.robot.setup:prepare_task",
    config_sections={
        "video": "rlvr_world.domains.robot.config:VideoConfig",
        "tokenizer": "rlvr_world.domains.robot.config:TokenizerConfig",
    },
    presets=PRESETS,
    quickstart_preset="robot-quickstart",
    headline={
        "metric": "lpips",
        "higher_is_better": False,
        "name": "LPIPS of the predicted frames",
        "examples": "held-out windows",
    },
    benches={
        "robot": "rlvr_world.bench.robot:bench_robot",
        "policy-eval": "rlvr_world.bench.policy_eval:bench_policy_eval",
    },
    hooks={
        "check_phase": "rlvr_world.domains.robot.config:check_phase",
        "report_sections": "rlvr_world.domains.robot.report:report_sections",
        "commands": "rlvr_world.domains.robot.commands:add_commands",
    },
)
