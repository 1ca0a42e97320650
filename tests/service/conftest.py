"""Fixtures for the service tests (the helpers live in svc_helpers.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from svc_helpers import DaemonProcess, NotifyListener, config_dict


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """Tests here configure logging into tmp_path: leave the root logger as it was."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in before:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    def write(**overrides: Any) -> Path:
        path = tmp_path / "connector.yaml"
        path.write_text(yaml.safe_dump(config_dict(tmp_path, **overrides)), encoding="utf-8")
        return path

    return write


@pytest.fixture
def notify_listener() -> Iterator[NotifyListener]:
    listener = NotifyListener()
    yield listener
    listener.close()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(config: Path, loops: str = "beat", **env: str) -> DaemonProcess:
        d = DaemonProcess(config, tmp_path, loops, env)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()
