"""Fixtures for the import path: a real sandbox on 127.0.0.1, a real state store, a real
import folder, and a client with short retry waits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.appmanager.client import AppManagerClient
from adapters.appmanager.sandbox import SandboxServer
from adapters.erp.files_sink import FilesSink
from connector.config import Config
from connector.importing.journal import Journal
from connector.importing.poller import Importer
from connector.state import StateStore

AUTH_KEY = "s3cr3t-AUTH-7f3a9c"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    sb = SandboxServer(tmp_path / "sandbox.sqlite", auth_key=AUTH_KEY, seed=False)
    sb.set_faults(retry_after=0.2, hang_seconds=1.0)
    with sb:
        yield sb


@pytest.fixture
def seeded_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    sb = SandboxServer(tmp_path / "sandbox.sqlite", auth_key=AUTH_KEY, seed=True)
    with sb:
        yield sb


@pytest.fixture
def import_cfg(config_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("APPMANAGER_AUTH_KEY", AUTH_KEY)

    def make(sb: SandboxServer, **erp: Any) -> Config:
        cfg: Config = config_factory(**{
            "import": {"enabled": True, "retry_seconds": 60, "max_retry_seconds": 600,
                       "appmanager": {"url": sb.url, "page_size": 10, "poll_seconds": 0.2,
                                      "read_timeout": 0.5, "connect_timeout": 0.5},
                       "erp": {"sink": "files", "path": str(tmp_path / "erp"),
                               "format": "json", **erp}}})
        return cfg

    return make


class Rig:
    """An importer wired to a sandbox, with direct access to every part."""

    def __init__(self, sb: SandboxServer, root: Path, fmt: str = "json",
                 page_size: int = 10, sink: Any = None) -> None:
        self.sb = sb
        self.store = StateStore(root / "state")
        self.journal = Journal(self.store, retry_seconds=60, max_retry_seconds=600)
        self.folder = root / "erp"
        self.sink = sink or FilesSink(self.folder, fmt, company="ACME")
        self.client = AppManagerClient(sb.url, AUTH_KEY, connect_timeout=0.5, read_timeout=0.5,
                                       attempts=8, retry_initial=0.01, retry_max=0.05)
        self.importer = Importer(self.client, self.journal, self.sink, self.store,
                                 page_size=page_size)

    def files(self, pattern: str = "*") -> list[Path]:
        return sorted(p for p in self.folder.glob(pattern) if not p.name.startswith("."))

    def docs(self, stream: str) -> list[dict[str, Any]]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in self.files(f"{stream}_*.json")]

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def rig(sandbox: SandboxServer, tmp_path: Path) -> Iterator[Rig]:
    r = Rig(sandbox, tmp_path)
    yield r
    r.close()
