"""The HTML report of video world-model runs: fake run folders in the on-disk format written by
the robot domain (config.yaml, metrics.jsonl, eval.json, predictions.npz, tokenizer/eval.json)."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from rlvr_world.eval.report import write_report

N, C, F, SIZE = 3, 2, 3, 32  # examples, context frames, predicted frames, frame side
IDS = ["test/0/0", "test/0/2", "test/1/0"]
MLE_METRICS = {"mae": 0.05, "mse": 0.0123, "psnr": 19.5, "ssim": 0.612, "lpips": 0.2345}
RLVR_METRICS = {"mae": 0.04, "mse": 0.0101, "psnr": 20.25, "ssim": 0.655, "lpips": 0.2125}
TOKENIZER = {"psnr": 27.5, "ssim": 0.8812, "lpips": 0.0571, "steps": 400, "seconds": 12.0}


def frames(seed: int, count: int, steps: int) -> np.ndarray:
    """Deterministic random uint8 frames [count, steps, SIZE, SIZE, 3]."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(count, steps, SIZE, SIZE, 3), dtype=np.uint8)


def write_predictions(folder: Path, seed: int, future: int = F, ids: list[str] = IDS) -> None:
    target = frames(0, len(ids), future)  # the same truth in every run
    noise = frames(seed, len(ids), future)
    prediction = (target // 2 + noise // 2).astype(np.uint8)  # near the truth, not on it
    np.savez_compressed(
        folder / "predictions.npz",
        context=frames(1, len(ids), C),
        target=target,
        prediction=prediction,
        ids=np.asarray(ids),
    )


def make_run(
    folder: Path,
    *,
    init: Path | None,
    mode: str = "single",
    metrics: list[dict] | None = None,
    evaluation: dict | None = None,
    seed: int | None = None,
    future: int = F,
) -> Path:
    """A video run folder; every file but config.yaml only when its argument is given."""
    folder.mkdir(parents=True)
    config = {"preset": "robot-tiny", "seed": 0, "init": str(init) if init else None}
    config.update(data={"domain": "robot"}, video={"mode": mode, "context_frames": C})
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    if metrics is not None:
        text = "".join(json.dumps({"time": 0.0} | row) + "\n" for row in metrics)
        (folder / "metrics.jsonl").write_text(text)
    if evaluation is not None:
        (folder / "eval.json").write_text(json.dumps(evaluation))
    if seed is not None:
        write_predictions(folder, seed, future)
    return folder


def summary(metrics: dict, repetition: float = 0.0, by_task: dict | None = None) -> dict:
    return {
        "metrics": metrics,
        "repetition": repetition,
        "reward": -(metrics["mae"] + metrics["lpips"]),
        "selection": -(metrics["mae"] + metrics["lpips"]),
        "by_task": by_task or {},
        "examples": N,
        "split": "test",
        "checkpoint": "best",
        "seconds": 1.0,
    }


def tokenizer_rows() -> list[dict]:
    rows = [
        {"phase": "tokenizer", "step": s, "loss": 1.0 / s, "l1": 0.1, "lr": 1e-3} for s in (1, 2)
    ]
    return rows + [{"phase": "tokenizer", "step": 2, "valid_psnr": 25.0, "valid_lpips": 0.1}]


def mle_rows() -> list[dict]:
    rows = [{"phase": "mle", "step": s, "loss": 3.0 / s, "grad_norm": 1.0} for s in (1, 2, 3)]
    return rows + [{"phase": "mle/eval", "step": 3, "metrics_lpips": 0.25, "metrics_mse": 0.02}]


def rlvr_rows() -> list[dict]:
    rows = [
        {"phase": "rlvr", "step": s, "reward_mean": -0.5 + 0.1 * s, "reward_std": 0.05}
        | {"kl": 0.01 * s, "clip_fraction": 0.1, "term_mae": 0.05, "term_lpips": 0.2}
        for s in (1, 2)
    ]
    return rows + [{"phase": "rlvr/eval", "step": 2, "metrics_lpips": 0.21, "metrics_mse": 0.01}]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """tokenizer run <- MLE run <- RLVR run (the `init` chain); the report compares the last two."""
    root = tmp_path_factory.mktemp("runs")
    tokenizer = make_run(root / "tokenizer-run", init=None, metrics=tokenizer_rows())
    (tokenizer / "tokenizer").mkdir()
    (tokenizer / "tokenizer" / "eval.json").write_text(json.dumps(TOKENIZER | {"frames": 64}))
    by_task = {"push": 0.25, "lift": 0.2}
    mle = make_run(
        root / "mle-run",
        init=tokenizer,
        mode="multi",
        metrics=mle_rows(),
        evaluation=summary(MLE_METRICS, repetition=0.25, by_task=by_task),
        seed=2,
    )
    rlvr = make_run(
        root / "rlvr-run",
        init=mle,
        mode="multi",
        metrics=rlvr_rows(),
        evaluation=summary(RLVR_METRICS, repetition=0.125, by_task={"push": 0.22, "lift": 0.21}),
        seed=3,
    )
    return [mle, rlvr]


@pytest.fixture(scope="module")
def page(runs, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert write_report(runs, out, title="robot") == out
    return out.read_text(encoding="utf-8")


def images(page: str, kind: str) -> list[bytes]:
    return [
        base64.b64decode(data) for data in re.findall(rf"data:image/{kind};base64,([^\"]+)", page)
    ]


def test_metric_table_scales_compares_and_bolds(page):
    assert "MSE, SSIM and LPIPS ×100" in page and "PSNR (dB)" in page
    for number in ("1.23", "1.01", "61.20", "65.50", "23.45", "21.25", "19.50", "20.25"):
        assert f"{number}</" in page
    assert "<td><b>21.25</b></td>" in page and "<td><b>23.45</b></td>" not in page  # LPIPS
    assert "<td><b>65.50</b></td>" in page  # SSIM: higher is better
    assert "<td><b>0.0400</b></td>" in page  # MAE: lower is better
    change = 100 * (0.2125 - 0.2345) / 0.2345  # -9.38...%
    assert (
        f'<span class="good">LPIPS {change:+.1f}%</span>' == '<span class="good">LPIPS -9.4%</span>'
    )
    assert '<span class="good">LPIPS -9.4%</span>' in page
    assert '<span class="good">PSNR +3.8%</span>' in page  # (20.25 - 19.5) / 19.5
    assert "repetition %" in page and "<td><b>12.50</b></td>" in page  # multi-step rollouts
    assert '<span class="good">repetition -50.0%</span>' in page
    assert ">MLE<" in page and ">RLVR<" in page  # phases (the MLE run's init is no RL)


def test_per_task_and_tokenizer_figures(page):
    assert "LPIPS ×100 per task" in page and "<td>push</td>" in page
    assert "<td><b>22.00</b> <small>" in page  # RLVR is best on push, -12.0%
    assert "-12.0%" in page
    # found two links up the init chain, used by both runs
    assert '">tokenizer-run</td><td>mle-run, rlvr-run</td>' in page
    assert "<td>27.50</td><td>88.12</td><td>5.71</td><td>400</td><td>64</td>" in page


def test_curves_include_the_tokenizer_run_and_every_reward_term(page):
    plots = images(page, "png")
    assert page.count('<img alt="plot"') == 3  # tokenizer, MLE, RLVR
    assert all(plot.startswith(b"\x89PNG") for plot in plots)
    assert "No tokenizer training logged" not in page and "No RLVR training logged" not in page
    assert not re.search(r'(src|href)="(https?:|//)', page)


def test_frame_strips_animations_and_per_frame_errors(page, runs):
    assert page.count("data:image/gif;base64,") == N  # one animation per sample
    assert page.count('alt="ground truth"') == N and page.count('alt="context"') == N
    gif = Image.open(io.BytesIO(images(page, "gif")[0]))
    assert gif.n_frames == F  # one per predicted frame
    assert gif.size == (3 * SIZE + 2 * 2, SIZE)  # truth | MLE | RLVR, stored at frame size
    assert f'width="{4 * (3 * SIZE + 4)}" height="128"' in page  # shown upscaled to 128 px
    strip = Image.open(io.BytesIO(images(page, "png")[3]))  # after the 3 plots: a context strip
    assert strip.size == (C * 128 + (C - 1) * 2, 128)  # frames upscaled in the image
    with np.load(runs[1] / "predictions.npz") as data:
        row = list(data["ids"]).index(IDS[0])
        prediction, target = data["prediction"][row] / 255.0, data["target"][row] / 255.0
    mae = np.abs(prediction - target).mean(axis=(1, 2, 3))
    assert "<th>MAE</th>" + "".join(f"<td>{v:.4f}</td>" for v in mae) in page
    assert f"<td>{mae.mean():.4f}</td>" in page


def test_single_step_runs_skip_repetition_and_alternate_frames(tmp_path):
    run = make_run(
        tmp_path / "single-run", init=None, evaluation=summary(MLE_METRICS), seed=2, future=1
    )
    page = write_report([run], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "repetition" not in page  # a single-step rollout cannot repeat
    assert "<td>baseline</td>" in page
    gif = Image.open(io.BytesIO(images(page, "gif")[0]))
    assert gif.n_frames == 2  # the last context frame, then the predicted one
    assert gif.size == (2 * SIZE + 2, SIZE)  # truth | prediction
    assert "alternating with the last context frame" in page
    assert "No tokenizer/eval.json for single-run" in page
    assert "No MLE training logged" in page and "No RLVR training logged" in page


def test_missing_files_degrade_to_notes(tmp_path, runs):
    bare = make_run(tmp_path / "bare-run", init=None)
    page = write_report([bare], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "no eval.json" in page and "no predictions.npz" in page
    assert "No readable predictions.npz in any run" in page and "No tokenizer training" in page
    assert "not evaluated" in page and "No per-task figures" in page
    # one run without frames: the other's are still shown, and the missing one named
    copy = tmp_path / "no-frames"
    shutil.copytree(runs[1], copy)
    (copy / "predictions.npz").unlink()
    (copy / "metrics.jsonl").unlink()
    page = write_report([runs[0], copy], tmp_path / "r2.html").read_text(encoding="utf-8")
    assert "no-frames: no predictions.npz, left out of the frames." in page
    assert page.count("data:image/gif;base64,") == N
    assert "no metrics.jsonl rows" in page
    # a broken file and disjoint ids are notes too
    (copy / "predictions.npz").write_bytes(b"not a zip")
    page = write_report([copy], tmp_path / "r3.html").read_text(encoding="utf-8")
    assert "predictions.npz could not be read" in page
    write_predictions(copy, seed=3)
    with np.load(copy / "predictions.npz") as data:
        arrays = dict(data) | {"ids": np.asarray(["other/0", "other/1", "other/2"])}
    np.savez(copy / "predictions.npz", **arrays)
    write_predictions(bare, seed=2)
    page = write_report([bare, copy], tmp_path / "r4.html").read_text(encoding="utf-8")
    assert "No example id is in every run" in page


def test_run_names_are_escaped(tmp_path, runs):
    odd = tmp_path / "a<b>run"
    shutil.copytree(runs[1], odd)
    (odd / "metrics.jsonl").unlink()  # no curves: faster, and names in plots are no HTML
    page = write_report([odd], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "a&lt;b&gt;run" in page and "<b>run" not in page
    assert page.count('alt="a&lt;b&gt;run"') == N  # strips and their labels
    assert "left to right: ground truth, a&lt;b&gt;run" in page


def test_report_size_stays_small(page):
    assert len(page.encode()) < 1_000_000
