from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connector.config import load_config, parse_config
from connector.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_default_configuration_is_valid() -> None:
    cfg = load_config(REPO / "connector.yaml")
    assert cfg.company == "ACME"
    assert cfg.export.watch == REPO / "var/erp/export"
    assert cfg.dropbox_folder("gestionale") == Path(REPO / "var/Dropbox/ACME/gestionale")
    assert cfg.import_.erp.sink == "files"


def test_every_problem_is_listed_with_its_key_path(tmp_path: Path) -> None:
    data = {
        "version": 1,
        "company": "ACME",
        "exprot": {},
        "export": {"settle_seconds": "slow", "rescan_seconds": 5, "length_policy": "maybe"},
        "import": {"appmanager": {"page_size": "x", "streams": ["orders", "ordres"]}},
        "log": {"level": 3},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(data, tmp_path)
    errors = "\n".join(info.value.errors)
    assert "exprot: unknown key (did you mean 'export'?)" in errors
    assert "export.settle_seconds: expected a number" in errors
    assert "export.length_policy: must be one of error, truncate" in errors
    assert "import.appmanager.page_size: expected an integer" in errors
    assert "log.level: must be one of" in errors


def test_semantic_rules(tmp_path: Path) -> None:
    data = {"company": "AC/ME", "dropbox": {"root": str(tmp_path / "db"), "chunk_mib": 6},
            "export": {"watch": str(tmp_path / "db" / "inside")},
            "import": {"appmanager": {"streams": ["ordres"]}}}
    with pytest.raises(ConfigError) as info:
        parse_config(data, tmp_path)
    errors = "\n".join(info.value.errors)
    assert "company:" in errors
    assert "dropbox.chunk_mib" in errors
    assert "export.watch: must be outside the synced Dropbox folder" in errors
    assert "import.appmanager.streams[0]: unknown stream 'ordres'" in errors


def test_missing_company_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="company: required key is missing"):
        parse_config({"version": 1}, tmp_path)
    bad = tmp_path / "c.yaml"
    bad.write_text("company: [ACME\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_check_config_cli_exit_codes(tmp_path: Path) -> None:
    good = subprocess.run([sys.executable, "-m", "connector", "--config", str(REPO / "connector.yaml"),
                           "check-config"], capture_output=True, text=True, cwd=REPO)
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "c.yaml"
    bad.write_text("version: 1\ncompany: ACME\nexport: {settle_seconds: -1}\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "connector", "--config", str(bad), "check-config"],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2
    assert "export.settle_seconds: must be >= 0" in res.stderr
    assert "Traceback" not in res.stderr


def test_relative_defaults_resolve_against_the_config_folder(tmp_path: Path) -> None:
    cfg = parse_config({"company": "ACME", "import": {"erp": {"sink": "sql"}}}, tmp_path)
    assert cfg.state_dir == tmp_path / "var/state"
    assert cfg.sandbox.db == tmp_path / "var/sandbox/appmanager.sqlite"
    assert cfg.import_.erp.path == tmp_path / "var/erp/import"
    assert cfg.import_.erp.sql.url == f"sqlite:///{tmp_path}/var/erp/staging.sqlite"
    absolute = parse_config({"company": "ACME", "import": {"erp": {"sql": {
        "url": "sqlite:////srv/erp.sqlite"}}}}, tmp_path)
    assert absolute.import_.erp.sql.url == "sqlite:////srv/erp.sqlite"


def test_state_store_opened_by_many_threads_at_once_on_a_new_file(tmp_path: Path) -> None:
    """The daemon's loops open their connections at the same moment on a first start."""
    import sqlite3
    import threading

    from connector.state import StateStore

    errors: list[BaseException] = []
    for attempt in range(60):
        folder = tmp_path / f"state{attempt}"
        folder.mkdir()
        sqlite3.connect(folder / "connector.sqlite").close()  # a new, empty database
        barrier = threading.Barrier(12)

        def open_it(folder: Path = folder, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                StateStore(folder).close()
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert errors == []
    assert StateStore(tmp_path / "state0").query_one("PRAGMA journal_mode")[0] == "wal"
