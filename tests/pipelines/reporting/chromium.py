"""Drive Debian's headless Chromium from tests: rendered DOM and screenshots.

Chromium is a system package (``apt-get install chromium``), not a Python
dependency; tests that need it skip with that instruction where it is absent.
"""

from __future__ import annotations

import functools
import http.server
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CANDIDATES = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
)
# No sandbox (CI runs as root), no GPU, and nothing that phones home: without
# the networking flags Chromium tries to reach Google and stalls offline.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def chromium_path() -> str | None:
    """The Chromium executable: ``$CHROMIUM`` or the Debian package's path."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    return next((path for path in CANDIDATES if Path(path).exists()), None)


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip(
            "headless Chromium not found at /usr/bin/chromium: install it with "
            "`apt-get install -y chromium` (.ci/run does), or set $CHROMIUM"
        )
    return path


def _run(url: str, extra: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    binary = require_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )


def dump_dom(url: str, budget_ms: int = 15000, timeout_s: float = 60) -> str:
    """The DOM after the page's scripts ran for ``budget_ms`` of virtual time."""
    done = _run(url, [f"--virtual-time-budget={budget_ms}", "--dump-dom"], timeout_s)
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(
            f"chromium --dump-dom failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return done.stdout


def screenshot(
    url: str,
    path: Path,
    size: tuple[int, int] = (1600, 1000),
    budget_ms: int = 15000,
    timeout_s: float = 60,
) -> Path:
    """A PNG of the page after ``budget_ms`` of virtual time, ``size`` = (width, height)."""
    done = _run(
        url,
        [
            f"--virtual-time-budget={budget_ms}",
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={path}",
        ],
        timeout_s,
    )
    if done.returncode != 0 or not path.exists():
        raise RuntimeError(
            f"chromium --screenshot failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return path


def free_port(low: int = 20000, high: int = 49151) -> int:
    """A localhost TCP port in ``[low, high]`` that nothing listens on now.

    Below 49152 because ``kedro viz run`` refuses ports in the ephemeral range.
    """
    for port in random.Random().sample(range(low, high + 1), 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free localhost port in {low}..{high}")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free localhost port in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def keep_copy(source: Path, target: Path) -> None:
    """Copy a screenshot into the docs when ``ME_EMOTION_UPDATE_SCREENSHOTS`` is set."""
    if os.environ.get("ME_EMOTION_UPDATE_SCREENSHOTS"):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
