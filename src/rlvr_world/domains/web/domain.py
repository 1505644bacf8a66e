"""The web domain's bundle (`rlvr_world.domains.base.Domain`)."""

from rlvr_world.domains.base import Domain
from rlvr_world.domains.web.presets import PRESETS

DOMAIN = Domain(
    name="web",
    description="web pages as accessibility trees: predict the page's changes (SPEC §4)",
    prepare_task="rlvr_world.domains.web.setup:prepare_task",
    config_sections={"web": "rlvr_world.domains.web.config:WebConfig"},
    presets=PRESETS,
    quickstart_preset="web-tiny",
    headline={
        "metric": "f1",
        "higher_is_better": True,
        "name": "item F1",
        "examples": "held-out transitions",
    },
    benches={
        "web": "rlvr_world.bench.web:bench_web",
        "mpc": "rlvr_world.bench.mpc:bench_mpc",
    },
    hooks={
        "write_dataset": "rlvr_world.domains.web.setup:write_dataset",
        "report_sections": "rlvr_world.domains.web.report:report_sections",
        "world_model": "rlvr_world.domains.web.plan:world_model",
        "plan": "rlvr_world.domains.web.plan:plan",
        "score_arguments": "rlvr_world.domains.web.score:add_score_arguments",
        "score_files": "rlvr_world.domains.web.score:score_files",
    },
    required_fields={"web-paper": ("model.path", "a pretrained causal LM folder (or hub id)")},
)
