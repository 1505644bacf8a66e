"""Action binning exactly as SPEC §5, with its edge cases."""

import math

import numpy as np
import pytest

from rlvr_world.video.actions import ActionBinner


def reference_bin(a: float, low: float, high: float, bins: int = 256) -> int:
    """SPEC §5 written out for one scalar."""
    scaled = min(max((a - low) / (high - low + 1e-8), 0.0), 1.0)
    return min(max(math.floor(bins * scaled), 0), bins - 1)


@pytest.mark.parametrize(
    "value, expected, why",
    [
        (-1.0, 0, "the minimum is bin 0"),
        (1.0, 255, "the maximum lands in the last bin (floor(256 * ~1) = 255)"),
        (0.0, 127, "the midpoint: 256 * 0.4999999975 = 127.99..."),
        (-5.0, 0, "below the range clips to bin 0"),
        (7.0, 255, "above the range clips to the last bin"),
        (-1.0 + 2.0 / 256, 0, "the first bin edge still rounds down (epsilon in the divisor)"),
        (-1.0 + 2.0 / 256 + 1e-6, 1, "just past the first edge"),
        (float("nan"), 0, "NaN goes to bin 0, never an undefined cast"),
    ],
)
def test_bin_table(value, expected, why):
    binner = ActionBinner(minimum=(-1.0,), maximum=(1.0,))
    assert binner.bins(np.array([[value]]))[0, 0] == expected, why


def test_matches_the_formula_on_random_values():
    rng = np.random.default_rng(0)
    low, high = np.array([-0.3, 0.0, 2.0]), np.array([0.7, 1.0, 2.0])  # last dim is constant
    binner = ActionBinner(tuple(low), tuple(high))
    actions = rng.uniform(-1, 3, size=(500, 3))
    got = binner.bins(actions)
    want = [[reference_bin(a, lo, hi) for a, lo, hi in zip(row, low, high)] for row in actions]
    assert got.tolist() == want
    # a constant dimension: everything at or below it is bin 0, everything above the last bin
    assert set(got[:, 2][actions[:, 2] <= 2.0]) == {0}


def test_fit_tokens_and_inverse():
    episodes = [np.array([[0.0, -2.0], [1.0, 2.0]]), np.array([[0.5, 0.0]])]
    binner = ActionBinner.fit(episodes)
    assert binner.minimum == (0.0, -2.0) and binner.maximum == (1.0, 2.0)
    tokens = binner.tokens(episodes[0], offset=100)
    # dimension d uses ids offset + d*256 .. offset + d*256 + 255
    assert tokens.tolist() == [[100, 356], [355, 611]]
    values = binner.actions(tokens, offset=100)
    # bin centres are within half a bin of the originals
    assert np.abs(values - episodes[0]).max() <= (np.array([1.0, 4.0]) / 256 / 2 + 1e-9).max()
    assert binner.vocab_size == 512


def test_save_load_and_errors(tmp_path):
    binner = ActionBinner((0.0, -1.0), (1.0, 1.0), num_bins=16)
    binner.save(tmp_path / "actions.json")
    assert ActionBinner.load(tmp_path / "actions.json") == binner
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="bad.json"):
        ActionBinner.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="dimensions"):
        binner.bins(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="min <= max"):
        ActionBinner((1.0,), (0.0,))
    with pytest.raises(ValueError, match="NaN"):
        ActionBinner.fit([np.array([[np.nan]])])
