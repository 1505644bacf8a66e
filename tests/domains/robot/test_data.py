"""RT-1 `.npz` episodes: round trip, real 13-d actions, the split rule, every bad-file error."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from rlvr_world.domains.robot.data import (
    DataError,
    episode_files,
    load_episode,
    load_episodes,
    save_episodes,
)
from rlvr_world.domains.robot.policies import collect_episodes


def fake_episode(frames=3, height=8, width=8, action_dims=4, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "image": rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8),
        "action": rng.normal(size=(frames, action_dims)).astype(np.float32),
    }


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_round_trip_keeps_arrays_and_metadata(tmp_path):
    episodes = collect_episodes("push", 3, "expert", seed=0, max_steps=12, size=16)
    paths = save_episodes(episodes, tmp_path / "data")
    assert [path.name for path in paths] == [f"episode_00000{i}.npz" for i in range(3)]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [p.name for p in paths]
    loaded = load_episodes(tmp_path / "data")
    for original, episode, path in zip(episodes, loaded, paths):
        assert np.array_equal(original["image"], episode["image"])
        assert np.array_equal(original["action"], episode["action"])
        assert episode["action"].dtype == np.float32
        for key in ("task", "success", "seed", "policy"):
            assert episode[key] == original[key] and type(episode[key]) is type(original[key])
        assert episode["path"] == str(path)


def test_save_numbers_from_start_index_and_leaves_no_temporary_files(tmp_path):
    save_episodes([fake_episode()], tmp_path)
    save_episodes([fake_episode(seed=1), fake_episode(seed=2)], tmp_path, start_index=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "episode_000000.npz",
        "episode_000001.npz",
        "episode_000002.npz",
    ]


def test_save_rejects_bad_episodes_naming_the_index_and_field(tmp_path):
    folder = tmp_path / "out"
    with pytest.raises(DataError, match=r"episodes\[1\]: field 'image'"):
        bad = {**fake_episode(), "image": np.zeros((2, 4, 4, 3))}
        save_episodes([fake_episode(), bad], folder)
    assert not folder.exists()  # validated before anything is written
    with pytest.raises(DataError, match=r"episodes\[0\]: field 'action'"):
        save_episodes([{"image": fake_episode()["image"]}], folder)
    with pytest.raises(DataError, match=r"episodes\[0\]: field 'success'"):
        save_episodes([{**fake_episode(), "success": "yes"}], folder)


def test_real_rt1_episode_with_13_dimensional_actions(tmp_path):
    # RT-1: 13 action dims (alphabetical keys), float64, no metadata, 256 x 320 frames
    # (smaller here), and an extra array our loader ignores.
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (5, 16, 20, 3), dtype=np.uint8)
    action = rng.normal(size=(5, 13))
    write_npz(tmp_path / "0001.npz", image=image, action=action, instruction=np.array("open"))
    (episode,) = load_episodes(tmp_path)
    assert episode["image"].shape == (5, 16, 20, 3)
    assert episode["action"].dtype == np.float32 and episode["action"].shape == (5, 13)
    assert np.allclose(episode["action"], action, atol=1e-6)
    assert set(episode) == {"image", "action", "path"}


def test_split_rule_every_hundredth_sorted_file_is_test(tmp_path):
    tiny = fake_episode(frames=1, height=2, width=2)
    # Names sort differently from creation order; the rule follows sorted names.
    for index in reversed(range(201)):
        write_npz(tmp_path / f"ep{index:04d}.npz", **tiny)
    (tmp_path / "notes.txt").write_text("not an episode")
    test_files = episode_files(tmp_path, split="test")
    assert [p.name for p in test_files] == ["ep0000.npz", "ep0100.npz", "ep0200.npz"]
    train_files = episode_files(tmp_path, split="train")
    assert len(train_files) == 198 and not set(train_files) & set(test_files)
    assert len(episode_files(tmp_path)) == 201
    loaded = load_episodes(tmp_path, split="test")
    assert [Path(e["path"]).name for e in loaded] == ["ep0000.npz", "ep0100.npz", "ep0200.npz"]


def test_single_file_path(tmp_path):
    path = write_npz(tmp_path / "one.npz", **fake_episode())
    assert len(load_episodes(path)) == 1
    with pytest.raises(ValueError, match="single file"):
        load_episodes(path, split="train")
    with pytest.raises(ValueError, match="split"):
        load_episodes(tmp_path, split="validation")
    with pytest.raises(FileNotFoundError):
        load_episodes(tmp_path / "missing")


GOOD = fake_episode()


@pytest.mark.parametrize(
    ("arrays", "field", "reason"),
    [
        ({"action": GOOD["action"]}, "image", "missing key"),
        ({"image": GOOD["image"]}, "action", "missing key"),
        ({**GOOD, "image": GOOD["image"].astype(np.float32)}, "image", "uint8"),
        ({**GOOD, "image": GOOD["image"][..., 0]}, "image", r"\(T, H, W, 3\)"),  # rank 3
        ({**GOOD, "image": np.zeros((3, 8, 8, 4), np.uint8)}, "image", r"\(T, H, W, 3\)"),  # RGBA
        ({**GOOD, "action": GOOD["action"][:, 0]}, "action", r"\(T, D\)"),  # rank 1
        ({**GOOD, "action": GOOD["action"][:2]}, "action", "T = 2 rows but image has T = 3"),
        (
            {"image": np.zeros((0, 8, 8, 3), np.uint8), "action": np.zeros((0, 4))},
            "image",
            "empty episode",
        ),
        ({**GOOD, "action": GOOD["action"].astype(str)}, "action", "numeric"),
        ({**GOOD, "action": np.full((3, 4), np.nan)}, "action", "NaN"),
        ({**GOOD, "task": np.array(3)}, "task", "string"),
        ({**GOOD, "success": np.array([True, False])}, "success", "bool"),
    ],
)  # fmt: skip
def test_bad_arrays_name_the_file_and_field(tmp_path, arrays, field, reason):
    path = write_npz(tmp_path / "episode_000000.npz", **arrays)
    with pytest.raises(DataError, match=reason) as caught:
        load_episodes(tmp_path)
    assert caught.value.path == str(path) and caught.value.field == field
    assert str(path) in str(caught.value) and f"field '{field}'" in str(caught.value)


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    path = tmp_path / "episode.npz"
    np.savez(path, image=GOOD["image"], action=np.array([{"a": 1}] * 3, dtype=object))
    with pytest.raises(DataError, match="unreadable") as caught:
        load_episode(path)
    assert caught.value.field == "action"


def test_corrupt_files_name_the_file(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive at all" * 10)
    good = write_npz(tmp_path / "good.npz", **GOOD)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    single = tmp_path / "single.npz"
    with open(single, "wb") as handle:
        np.save(handle, GOOD["image"])
    for path in (garbage, truncated, single):
        with pytest.raises(DataError, match="<file>") as caught:
            load_episode(path)
        assert caught.value.path == str(path)


def test_corrupt_member_data_names_the_field(tmp_path):
    path = tmp_path / "episode.npz"
    np.savez_compressed(path, image=np.zeros((3, 64, 64, 3), np.uint8), action=GOOD["action"])
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 4  # inside the compressed image member
    raw[middle : middle + 32] = b"\xff" * 32
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError) as caught:
        load_episode(path)
    assert caught.value.path == str(path) and caught.value.field == "image"


def test_uniform_size_and_action_dimensions_across_episodes(tmp_path):
    write_npz(tmp_path / "a.npz", **fake_episode(height=8, width=8))
    write_npz(tmp_path / "b.npz", **fake_episode(height=16, width=12))
    assert len(load_episodes(tmp_path)) == 2  # mixed sizes are fine unless asked
    with pytest.raises(DataError, match="16x12 but .*a.npz has 8x8") as caught:
        load_episodes(tmp_path, uniform_size=True)
    assert caught.value.path == str(tmp_path / "b.npz") and caught.value.field == "image"
    write_npz(tmp_path / "c.npz", **fake_episode(action_dims=13))
    with pytest.raises(DataError, match="D = 13") as caught:
        load_episodes(tmp_path)
    assert caught.value.field == "action"


def test_data_error_survives_pickling():
    error = DataError("some/file.npz", "image", "bad")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.field, copy.reason, str(copy)) == (
        "some/file.npz",
        "image",
        "bad",
        str(error),
    )
