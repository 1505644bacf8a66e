"""`rlvr-world score video` through the real CLI entry point."""

import json

import numpy as np
import pytest

from rlvr_world.cli import build_parser, cmd_score, main
from rlvr_world.video.metrics import METRICS, PSNR_MAX


def frames(seed, n=3, height=32, width=40):
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, 3), dtype=np.uint8)


@pytest.fixture
def pair(tmp_path):
    target = frames(0)
    pred = target.copy()
    pred[1:] = frames(1, n=2)  # frame 0 is perfect, frames 1 and 2 unrelated
    np.savez(tmp_path / "pred.npz", frames=pred)
    np.savez(tmp_path / "target.npz", frames=target)
    return tmp_path, pred, target


@pytest.mark.parametrize("net", ["vgg", "alex"])
def test_score_video_writes_per_frame_and_mean(pair, net, capsys):
    folder, pred, target = pair
    out = folder / "scores" / "s.json"
    argv = ["score", "video", "--pred", str(folder / "pred.npz")]
    argv += ["--target", str(folder / "target.npz"), "--out", str(out)]
    assert main(argv + (["--lpips-net", net] if net != "vgg" else [])) == 0
    printed = capsys.readouterr().out.strip()
    assert len(printed.splitlines()) == 1 and "3 frames: mae" in printed and f"({net})" in printed
    scores = json.loads(out.read_text())
    assert len(scores["per_frame"]) == 3
    assert all(set(frame) == set(METRICS) for frame in scores["per_frame"])
    assert scores["per_frame"][0] == {
        "mae": 0.0,
        "mse": 0.0,
        "psnr": PSNR_MAX,
        "ssim": 1.0,
        "lpips": 0.0,
    }
    mae = np.abs(pred / 255 - target / 255).mean(axis=(1, 2, 3))
    assert [frame["mae"] for frame in scores["per_frame"]] == pytest.approx(mae, abs=1e-6)
    for name in METRICS:
        per_frame = [frame[name] for frame in scores["per_frame"]]
        assert scores["mean"][name] == pytest.approx(np.mean(per_frame))
    assert scores["mean"]["lpips"] > 0.01  # two of three frames differ


def save(path, **arrays):
    np.savez(path, **arrays)
    return path


# (how the --pred file is broken, the message on stderr, why)
BROKEN = [
    (lambda d: d / "missing.npz", "missing.npz: no such file", "missing file"),
    (
        lambda d: save(d / "bad.npz", images=frames(0)),
        "bad.npz: no field 'frames' (fields: images)",
        "missing key",
    ),
    (
        lambda d: save(d / "bad.npz", frames=frames(0).astype(np.float32)),
        "bad.npz: field 'frames' must be uint8, got float32",
        "wrong dtype",
    ),
    (
        lambda d: save(d / "bad.npz", frames=frames(0)[..., 0]),
        "bad.npz: field 'frames' must be N x H x W x 3 (rank 4)",
        "wrong rank",
    ),
    (
        lambda d: save(d / "bad.npz", frames=frames(0, n=2)),
        "field 'frames' shapes differ",
        "mismatched shapes",
    ),
    (
        lambda d: (d / "bad.npz").write_bytes(b"not a zip") and d / "bad.npz",
        "bad.npz: not a readable .npz file",
        "not an npz",
    ),
]


@pytest.mark.parametrize(("breaks", "message", "why"), BROKEN)
def test_score_video_names_the_file_and_field(pair, breaks, message, why, capsys):
    folder, _, _ = pair
    bad = breaks(folder)
    argv = ["score", "video", "--pred", str(bad), "--target", str(folder / "target.npz")]
    assert main(argv + ["--out", str(folder / "s.json")]) == 2, why
    error = capsys.readouterr().err
    assert message in error, why
    assert not (folder / "s.json").exists()


def test_score_textgame_still_parses():
    argv = ["score", "textgame", "--data", "d.jsonl", "--predictions", "p.jsonl", "--out", "o"]
    args = build_parser().parse_args(argv)
    assert args.func is cmd_score and args.domain == "textgame" and args.reward == "binary"
