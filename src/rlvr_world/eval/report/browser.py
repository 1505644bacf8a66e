"""A report as a browser shows it: headless Chromium renders `report.html` to a PNG
(`rlvr-world report RUN --screenshot FILE.png`) or to its DOM after layout (the tests).

Chromium is not a Python dependency: Debian's `chromium` package (`apt-get install chromium`)
or any Chrome/Chromium binary on the PATH. It runs with no network access of its own (the
page has no external resources) and a throw-away profile.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
"""Headless, offline, no first-run or background traffic (the machine may have no network)."""


class BrowserError(RuntimeError):
    """No Chromium to run, or it failed; the message says which and what to do."""


def chromium() -> str:
    """The path of a Chromium (or Chrome) binary on the PATH."""
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError(
        "a screenshot needs Chromium: install it (Debian: apt-get install chromium) or put "
        f"one of {', '.join(BINARIES)} on the PATH"
    )


def render(page: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Chromium on `page` with `args` (e.g. `--dump-dom`, `--screenshot=...`) in a fresh
    profile; its console messages go to stderr. A failure is a `BrowserError`."""
    page = Path(page).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page}: no such report")
    with tempfile.TemporaryDirectory(prefix="rlvr-world-chromium-") as profile:
        command = [
            chromium(),
            *FLAGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
            page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise BrowserError(f"Chromium took over {timeout:.0f} s on {page}") from error
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BrowserError(f"Chromium failed on {page} (exit {done.returncode}): {last}")
    return done


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 2400) -> Path:
    """A PNG of the top `height` pixels of `page` at `width` pixels wide."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    render(page, f"--screenshot={out}", f"--window-size={width},{height}")
    if not out.is_file():
        raise BrowserError(f"Chromium wrote no screenshot to {out}")
    return out


def console_errors(stderr: str) -> list[str]:
    """The console errors in Chromium's log: uncaught exceptions, failed loads and
    `console.error` calls (`...:ERROR:CONSOLE(...)` or `"Uncaught ..."` lines)."""
    return [
        line
        for line in stderr.splitlines()
        if ("CONSOLE" in line and ("ERROR" in line or "Uncaught" in line))
        or "Failed to load resource" in line
    ]
