"""A state store that cannot be used at start-up - damaged, read-only (file or folder),
locked by another program - is one line on stderr saying what to do, and exit code 2
(systemd does not restart on 2), never a traceback. The real `connector` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from connector.state import StateStore
from tests.conftest import make_config_dict

REPO = Path(__file__).resolve().parents[2]


def _connector(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-m", "connector", "--config", str(config), *args],
                          capture_output=True, text=True, env=full, timeout=120)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    data = make_config_dict(tmp_path, export={"enabled": False})
    path = tmp_path / "connector.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    StateStore(tmp_path / "state").close()  # a good store to start from
    return path


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The command's one line (the daemon also logs the event to its console, as it logs
    everything, under a timestamp)."""
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("connector:")]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """chattr +i: read-only even for root (the tests may run as root, who ignores modes)."""
    if not shutil.which("chattr"):
        pytest.skip("chattr is not available")
    marked: list[Path] = []
    yield marked
    for p in marked:
        subprocess.run(["chattr", "-i", str(p)], check=False)


def _chattr(marked: list[Path], path: Path) -> None:
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {done.stderr.strip()}")
    marked.append(path)


@pytest.mark.parametrize("command", [["status"], ["run"], ["import", "--once"]])
def test_a_damaged_state_store(config: Path, tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "state" / "connector.sqlite").write_bytes(os.urandom(5000))
    line = _one_line(_connector(config, *command))
    assert line.startswith("connector: the state store ") and "is damaged" in line
    assert ".recover" in line and "move the file aside" in line


def test_a_read_only_state_file(config: Path, tmp_path: Path, immutable: list[Path]) -> None:
    _chattr(immutable, tmp_path / "state" / "connector.sqlite")
    line = _one_line(_connector(config, "status"))
    assert "cannot be written" in line and "must be writable by the user" in line


def test_a_read_only_state_folder(config: Path, tmp_path: Path, immutable: list[Path]) -> None:
    _chattr(immutable, tmp_path / "state")
    line = _one_line(_connector(config, "run"))  # the daemon's instance lock lives there
    assert "state folder" in line and "must exist and be writable" in line
    line = _one_line(_connector(config, "status"))  # SQLite's -wal file cannot be created
    assert "the state store" in line and "must exist and be writable" in line


def test_a_locked_state_store(config: Path, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys\n"
         f"c = sqlite3.connect({str(tmp_path / 'state' / 'connector.sqlite')!r}, "
         "isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        line = _one_line(_connector(config, "status", CONNECTOR_STATE_BUSY_SECONDS="0.5"))
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    assert "is locked by another program for more than 0.5 s" in line
    assert _connector(config, "status").returncode == 0  # released: all is well again
