from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.app import build_export
from connector.config import Config
from connector.export.loop import ExportLoop
from connector.state import StateStore

CITTA_HEADER = "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD"


def citta_file(rows: int = 3, start: int = 1, company: str = "ACME") -> bytes:
    lines = [CITTA_HEADER]
    for i in range(start, start + rows):
        code = f"A{i:03d}" if i < 1000 else f"{i:04d}"  # CODICE is at most 4 characters
        lines.append(f"{company}§{code}|{company}|{code}|CITTA {i}|350{i % 100:02d}|PD|01011900000000")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def wait_for(cond: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@contextlib.contextmanager
def running_export(cfg: Config) -> Iterator[ExportLoop]:
    store = StateStore(cfg.state_dir)
    (loop,) = build_export(cfg, store)
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            loop.run(stop, lambda: None)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    try:
        yield loop
    finally:
        stop.set()
        t.join(10)
        assert not t.is_alive(), "export loop did not stop"
        if errors:
            raise errors[0]


@pytest.fixture
def gestionale(tmp_path: Path) -> Path:
    return tmp_path / "Dropbox" / "ACME" / "gestionale"
