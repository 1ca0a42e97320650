"""Shared fixtures: real folders in tmp_path, a configuration that lives there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from connector import i18n
from connector.config import Config, parse_config


@pytest.fixture(autouse=True)
def _reset_structlog() -> Any:
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Tests speak English whatever the machine's LANG (a test of Italian asks for it), and
    a command that set the process's locale from a configuration does not leak it."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    i18n.set_default("en")
    yield
    i18n.set_default("en")


def make_config_dict(root: Path, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "company": "ACME",
        "create_folders": True,  # the watch folder and the rest are made at start
        "state_dir": str(root / "state"),
        "log": {"dir": str(root / "log"), "level": "debug"},
        # A trial set-up: the company folder is created at start (a real one must exist).
        "dropbox": {"mode": "folder", "root": str(root / "Dropbox"),
                    "staging": str(root / "staging"), "create_company_folder": True},
        "export": {"watch": str(root / "export"), "archive": str(root / "archive"),
                   "quarantine": str(root / "quarantine"), "settle_seconds": 0.3,
                   "rescan_seconds": 5, "min_free_mb": 1},
        "import": {"enabled": False},
        "sandbox": {"enabled": False},
    }
    for key, value in overrides.items():
        section = data.setdefault(key, {}) if isinstance(value, dict) else None
        if section is not None and isinstance(section, dict):
            section.update(value)
        else:
            data[key] = value
    return data


@pytest.fixture
def config_factory(tmp_path: Path) -> Any:
    def make(**overrides: Any) -> Config:
        return parse_config(make_config_dict(tmp_path, **overrides), tmp_path)

    return make


@pytest.fixture
def config_file(tmp_path: Path) -> Any:
    def write(**overrides: Any) -> Path:
        path = tmp_path / "connector.yaml"
        path.write_text(yaml.safe_dump(make_config_dict(tmp_path, **overrides)), encoding="utf-8")
        return path

    return write
