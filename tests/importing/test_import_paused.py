"""A paused import loop (connector.controls) asks AppManager for nothing, writes nothing to
the ERP and answers a one-shot command's request with the pause; resumed, it imports."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.appmanager.sandbox import SandboxServer
from connector.app import Connector
from connector.app import build_import as import_loops
from connector.importing.handover import Handover
from connector.importing.loop import PAUSED_ERROR
from tests.importing.conftest import AUTH_KEY


def test_a_paused_import_loop_does_nothing_until_resumed(tmp_path: Path, config_factory: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    erp = tmp_path / "erp"
    with SandboxServer(tmp_path / "sandbox.sqlite", auth_key=AUTH_KEY, seed=False) as sb:
        sb.enqueue_demo("orders", 3, rows=1)
        monkeypatch.setenv("APPMANAGER_AUTH_KEY", AUTH_KEY)
        cfg = config_factory(**{"import": {
            "enabled": True, "appmanager": {"url": sb.url, "poll_seconds": 0.2},
            "erp": {"sink": "files", "path": str(erp), "format": "json"}}})
        c = Connector(cfg)
        c.pause("import", who="test")
        daemon = c.daemon(loops=import_loops(cfg, c.store))
        stop = threading.Event()
        daemon.start(stop)
        try:
            # Answered between two cycles: a paused cycle has run by then.
            handover = Handover(c.store)
            request = handover.ask("import", {"streams": ["orders"]})
            done = handover.wait(request, timeout=30, daemon_alive=lambda: True)
            assert done.error == PAUSED_ERROR
            assert list(erp.glob("orders_*.json")) == []
            assert c.status()["import"]  # the facts still read while paused

            c.resume("import", who="test")
            end = time.monotonic() + 30
            while len(list(erp.glob("orders_*.json"))) < 3 and time.monotonic() < end:
                stop.wait(0.05)
            assert len(list(erp.glob("orders_*.json"))) == 3
        finally:
            stop.set()
            assert daemon.join(10)
