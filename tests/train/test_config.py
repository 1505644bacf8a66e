import pytest

from rlvr_world.train.config import ConfigError, describe, parse_override
from rlvr_world.train.presets import build_config, preset_names


def test_every_preset_builds():
    for name in preset_names():
        assert build_config(name).preset == name


def test_overrides_are_typed_and_nested():
    config = build_config(
        "textgame-tiny",
        parse_override("rlvr.group_size=4"),
        parse_override("rlvr.loss.clip_high=0.28"),
        parse_override("data.games=[boil_water]"),
    )
    assert config.rlvr.group_size == 4
    assert config.rlvr.loss.clip_high == 0.28
    assert config.data.games == ("boil_water",)


@pytest.mark.parametrize(
    "override, message",
    [
        ("rlvr.group_sise=4", "unknown config field 'rlvr.group_sise'"),
        ("rlvr.questions_per_step=10", "multiple of rlvr.mini_batch_size"),
        ("rlvr.advantage_scale=median", "rlvr.advantage_scale must be one of"),
        ("rlvr.credit=per-token", "rlvr.credit must be one of"),
        ("mle.steps=0", "mle.steps must be > 0"),
        ("data.prompt_style=tiny", "data.prompt_style"),
        ("model.num_heads=3", "divisible"),
        ("tokenizer.future_change_weight=-1", "future_change_weight must be >= 0"),
        ("video.reward_weights=[[mae,1],[ssim,1]]", r"\['ssim'\]; known: mae, mse, lpips, obj"),
        ("video.reward_weights=[[objects,-1]]", r"weights must be >= 0, got \['objects'\]"),
    ],
)
def test_invalid_values_name_the_field(override, message):
    with pytest.raises((ConfigError, ValueError), match=message):
        build_config("textgame-tiny", parse_override(override))


def test_unknown_preset_lists_known():
    with pytest.raises(ConfigError, match="textgame-tiny"):
        build_config("nope")


def test_override_needs_equals():
    with pytest.raises(ConfigError, match="key=value"):
        parse_override("rlvr.steps")


def test_describe_has_docs():
    rows = {name: doc for name, _, doc in describe()}
    assert "G: responses sampled per question." in rows["rlvr.group_size"]
    assert rows["rlvr.loss.kl_coef"]  # nested dataclass docs too


def test_the_layout_error_is_a_reward_term():
    config = build_config(
        "robot-debug", parse_override("video.reward_weights=[[mae,1],[objects,2]]")
    )
    assert config.video.reward_weights == (("mae", 1.0), ("objects", 2.0))


def test_float_fields_accept_yaml_exponents_and_reject_words():
    # YAML 1.1 reads "2e-4" as a string; a float field still gets 0.0002
    assert build_config("textgame-tiny", parse_override("rlvr.lr=2e-4")).rlvr.lr == 2e-4
    assert build_config("textgame-tiny", parse_override("mle.lr=1")).mle.lr == 1.0
    with pytest.raises(ConfigError, match="rlvr.lr must be a number"):
        build_config("textgame-tiny", parse_override("rlvr.lr=fast"))


def test_domain_sections_come_from_the_bundles():
    """The run config's `video`, `tokenizer` and `web` sections are the domains' own classes;
    describe() documents them like the generic ones."""
    from rlvr_world.domains.robot.config import TokenizerConfig, VideoConfig
    from rlvr_world.domains.web.config import WebConfig

    config = build_config("robot-debug")
    assert type(config.video) is VideoConfig and type(config.tokenizer) is TokenizerConfig
    assert type(config.web) is WebConfig
    rows = {name: doc for name, _, doc in describe()}
    assert rows["video.mode"].startswith("`single` (4 context frames")
    assert rows["web.window"].startswith("Rows of a long list")


def test_every_preset_names_its_domain():
    from rlvr_world.domains import get_domain

    for name in preset_names():
        assert name in get_domain(build_config(name).data.domain).presets
