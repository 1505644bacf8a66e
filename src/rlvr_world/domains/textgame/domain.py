"""The text-game domain's bundle (`rlvr_world.domains.base.Domain`)."""

from rlvr_world.domains.base import Domain
from rlvr_world.domains.textgame.presets import PRESETS

DOMAIN = Domain(
    name="textgame",
    description="ByteSized32-style text games: predict the next object state (SPEC §3)",
    prepare_task="rlvr_world.domains.textgame.setup:prepare_task",
    presets=PRESETS,
    quickstart_preset="textgame-quickstart",
    headline={
        "metric": "exact",
        "higher_is_better": True,
        "name": "next-state accuracy",
        "examples": "held-out transitions",
    },
    benches={"textgame": "rlvr_world.bench.textgame:bench_textgame"},
    hooks={
        "write_dataset": "rlvr_world.domains.textgame.setup:write_dataset",
        "report_sections": "rlvr_world.domains.textgame.report:report_sections",
        "world_model": "rlvr_world.domains.textgame.plan:world_model",
        "plan": "rlvr_world.domains.textgame.plan:plan",
        "score_arguments": "rlvr_world.domains.textgame.score:add_score_arguments",
        "score_files": "rlvr_world.domains.textgame.score:score_files",
    },
    required_fields={
        "textgame-paper": ("model.path", "a pretrained causal LM folder (or hub id)"),
    },
)
