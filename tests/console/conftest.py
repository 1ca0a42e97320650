"""The console on a real uvicorn server on 127.0.0.1 (port 0), over a daemon with no loops,
and a browser (Debian's Chromium driven by Playwright) for the end-to-end tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import CHROMIUM, FAST_HASHER, Clock, Console

from connector.app import Daemon
from connector.config import Config
from service.console.app import build_app
from service.console.auth import ConsoleSettings
from service.console.backend import ConsoleBackend
from service.console.server import HttpServer
from service.status_http import LiveView


@pytest.fixture
def console_factory(config_factory: Callable[..., Config]) -> Iterator[Callable[..., Console]]:
    made: list[Console] = []

    def make(settings: dict[str, Any] | None = None, tls: tuple[str, str] | None = None,
             loops: list[Any] | None = None, **overrides: Any) -> Console:
        cfg = config_factory(**overrides)
        daemon = Daemon(cfg, loops=loops or [])
        view = LiveView(daemon)
        backend = ConsoleBackend(lambda: view, hasher=FAST_HASHER)
        clock = Clock()
        s = ConsoleSettings(secret=b"k" * 32, clock=clock, default_locale="en",
                            secure_cookies=tls is not None, **(settings or {}))
        server = HttpServer(build_app(backend, s), "127.0.0.1:0", tls=tls)
        server.start()
        c = Console(server.url.rstrip("/"), cfg, backend, s, server, clock)
        if loops:
            daemon.start(c.stop)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop.set()
        c.backend.live.daemon.join(5)
        for client in c.clients:
            client.close()
        c.server.stop()
        c.backend.store.close()


@pytest.fixture
def console(console_factory: Callable[..., Console]) -> Console:
    """A console with the admin's password set."""
    c = console_factory()
    c.add_user()
    return c


# The browser -------------------------------------------------------------------------------
def _install_chromium() -> str | None:
    """Debian's Chromium (never a browser download); None when it is there, else why not."""
    if Path(CHROMIUM).exists():
        return None
    if shutil.which("apt-get") is None:
        return "no /usr/bin/chromium and no apt-get to install it"
    try:
        done = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True,
                              text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get install chromium failed: {exc}"
    if done.returncode != 0 or not Path(CHROMIUM).exists():
        return f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    problem = _install_chromium()
    if problem:
        pytest.skip(problem)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()
