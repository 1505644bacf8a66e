"""The report in a real browser: headless Chromium renders a quickstart's `report.html`; the
page raises no console error and its DOM states the headline. `.ci/run` installs Chromium."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from rlvr_world.cli import main
from rlvr_world.eval.report.browser import BINARIES, console_errors, render

pytestmark = pytest.mark.slow


def _chromium() -> None:
    if not any(shutil.which(name) for name in BINARIES):
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    _chromium()
    out = tmp_path_factory.mktemp("browser") / "quickstart"
    assert main(["quickstart", "--preset", "textgame-debug", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def video_quickstart(tmp_path_factory):
    _chromium()
    out = tmp_path_factory.mktemp("browser") / "video"
    args = ["quickstart", "--preset", "robot-debug", "--out", str(out), "video.mode=multi"]
    assert main(args) == 0
    return out


@pytest.mark.parametrize("kind", ["quickstart", "video_quickstart"])
def test_the_rendered_report_states_the_headline_without_console_errors(kind, request):
    folder = request.getfixturevalue(kind)
    sentence = json.loads((folder / "summary.json").read_text())["headline"]["sentence"]
    done = render(folder / "report.html", "--dump-dom")
    assert sentence in done.stdout
    assert '<p class="headline" id="headline">' in done.stdout
    assert console_errors(done.stderr) == []
    if kind == "video_quickstart":  # the per-step LPIPS curve and the strips are drawn
        assert "LPIPS along the rollout" in done.stdout
        assert done.stdout.count('class="frames"') >= 4


def test_report_writes_a_screenshot(quickstart, tmp_path):
    png = tmp_path / "report.png"
    runs = [str(quickstart / "mle"), str(quickstart / "rlvr")]
    code = main(["report", *runs, "--out", str(tmp_path / "r.html"), "--screenshot", str(png)])
    assert code == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_console_errors_are_read_from_the_log():
    log = (
        '[1:2:INFO:CONSOLE(3)] "fine", source: file:///r.html (3)\n'
        '[1:2:INFO:CONSOLE(7)] "Uncaught TypeError: x is undefined", source: r.html (7)\n'
        "[1:2:ERROR:CONSOLE(9)] something\n"
    )
    assert len(console_errors(log)) == 2
