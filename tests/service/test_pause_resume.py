"""`connector pause` / `connector resume` with a real daemon (`python -m connector run`):
a paused export watches and holds settled files back, says so in `connector status` and
/status, keeps the pause across a restart, and publishes once resumed; a paused import
does nothing, from any door."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from svc_helpers import wait_until

from connector.app import Connector
from connector.config import load_config
from tests.conftest import make_config_dict
from tests.export.conftest import citta_file

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(tmp_path: Path) -> tuple[Path, dict[str, str], int]:
    port = _free_port()
    data = make_config_dict(tmp_path, status={"http": f"127.0.0.1:{port}"})
    data["log"]["format"] = "json"
    config = tmp_path / "connector.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "export").mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "LC_ALL": "C", "LANGUAGE": ""}
    return config, env, port


def _connector(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def _daemon(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "connector", "--config", str(config), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            env=env)


def _stop(daemon: subprocess.Popen[str]) -> None:
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(10)


def _held(config: Path) -> dict[str, Any] | None:
    """The export loop's report while paused, as `connector status --json` reads it."""
    cfg = load_config(config)
    held: dict[str, Any] | None = Connector(cfg).status()["export"]["held"]
    return held


def _held_by_a_later_cycle(config: Path, name: str, after: float = 0.0) -> None:
    """Wait for the daemon to report the file held back, then for a later cycle (still
    paused, still holding it): by then it had every chance to publish it."""
    first = wait_until(lambda: (h := _held(config)) and h["since"] > after
                       and name in h["held"] and h, timeout=60, what=f"{name} held back")
    wait_until(lambda: (h := _held(config)) and h["cycle"] > first["cycle"]
               and name in h["held"], timeout=60, what="a later paused cycle")


def test_a_paused_export_holds_files_across_a_restart_and_publishes_once_resumed(
        tmp_path: Path) -> None:
    config, env, port = _setup(tmp_path)
    gestionale = tmp_path / "Dropbox" / "ACME" / "gestionale"
    paused = _connector(config, env, "pause", "export")
    assert paused.returncode == 0 and "export: paused" in paused.stdout, paused.stderr
    again = _connector(config, env, "pause", "export")
    assert "export: already paused" in again.stdout

    daemon = _daemon(config, env)
    try:
        (tmp_path / "export" / "io_citta.dat").write_bytes(citta_file(2))
        _held_by_a_later_cycle(config, "io_citta.dat")
        assert not (gestionale / "io_citta.dat").exists()
        assert (tmp_path / "export" / "io_citta.dat").exists()

        text = _connector(config, env, "status")
        assert "PAUSED: export (paused " in text.stdout, text.stdout + text.stderr
        assert "paused: the daemon holds 1 settled file(s) back" in text.stdout
        facts = json.loads(_connector(config, env, "status", "--json").stdout)
        assert list(facts["paused"]) == ["export"] and facts["paused"]["export"]["who"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10) as r:
            live = json.loads(r.read())
        assert "export" in live["paused"] and live["export"]["held"]["held"] == ["io_citta.dat"]
        # `export --once` beside the paused daemon publishes nothing either.
        once = _connector(config, env, "export", "--once")
        assert once.returncode == 1 and "the export is paused" in once.stdout, once.stderr
    finally:
        _stop(daemon)
    assert daemon.returncode == 0

    # The pause is in the state store: the next daemon holds the file back too.
    restarted_at = _held(config)["since"]  # type: ignore[index]
    daemon = _daemon(config, env)
    try:
        _held_by_a_later_cycle(config, "io_citta.dat", after=restarted_at)
        assert not (gestionale / "io_citta.dat").exists()

        resumed = _connector(config, env, "resume")  # no part: both
        assert resumed.returncode == 0, resumed.stderr
        assert "export: resumed" in resumed.stdout and "import: was not paused" in resumed.stdout
        wait_until((gestionale / "io_citta.dat").exists, timeout=60,
                   what="published once resumed")
        wait_until(lambda: _held(config) is None, timeout=60, what="the paused report cleared")
    finally:
        _stop(daemon)
    assert daemon.returncode == 0
    cfg = load_config(config)
    log = [(a.action, a.target) for a in Connector(cfg).actions()]
    assert log == [("resume", "export"), ("pause", "export")]
    assert Connector(cfg).paused() == {}


def test_a_paused_import_does_nothing_from_the_command_line(tmp_path: Path) -> None:
    config, env, _port = _setup(tmp_path)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["import"] = {"enabled": True, "source": "legacy",
                      "legacy": {"enabled": True, "folder": str(tmp_path / "appmanager")},
                      "erp": {"sink": "files", "path": str(tmp_path / "erp")}}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert _connector(config, env, "pause", "import").returncode == 0
    once = _connector(config, env, "import", "--once")
    assert once.returncode == 1 and "the import is paused" in once.stderr, once.stdout
    retry = _connector(config, env, "retry")
    assert retry.returncode == 1 and "the import is paused" in retry.stderr
    assert not (tmp_path / "erp").exists()  # the sink was not even opened
    assert "PAUSED: import (paused " in _connector(config, env, "status").stdout
