"""A faulty state store: an exclusive lock held by another process past the busy timeout,
and a full state disk (a real tmpfs mounted for the test). The loop that needs the store
goes down (its supervisor survives its own bookkeeping failing in the same store), /healthz
says so while it is down, and the loop comes back by itself once the fault clears."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from svc_helpers import wait_until

from adapters.appmanager.sandbox import SandboxServer
from connector.app import Daemon
from connector.app import build_import as import_loops
from connector.config import Config, parse_config
from connector.state import StateStore
from service.status_http import LiveView, StatusServer
from tests.conftest import make_config_dict

KEY = "state-fault-key"


def _healthz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Rig:
    """The daemon's import loop in this process, on a real state store, against a real
    sandbox, with the real status endpoint."""

    def __init__(self, root: Path, state_dir: Path) -> None:
        self.sb = SandboxServer(root / "sandbox.sqlite", auth_key=KEY, seed=False).start()
        data = make_config_dict(root, **{
            "state_dir": str(state_dir),
            "import": {"enabled": True, "appmanager": {"url": self.sb.url, "poll_seconds": 0.2,
                                                       "page_size": 10},
                       "erp": {"sink": "files", "path": str(root / "erp"), "format": "json"}}})
        self.cfg: Config = parse_config(data, root)
        self.erp = root / "erp"
        self.store = StateStore(state_dir, busy_timeout=0.3)
        self.daemon = Daemon(self.cfg, self.store, loops=import_loops(self.cfg, self.store))
        self.server = StatusServer("127.0.0.1:0", lambda: LiveView(self.daemon))
        self.server.start()
        self.stop = threading.Event()
        self.daemon.start(self.stop)

    def orders(self) -> int:
        return len(list(self.erp.glob("orders_*.json")))

    def health(self) -> tuple[int, dict[str, Any]]:
        return _healthz(self.server.port)

    def close(self) -> None:
        self.stop.set()
        self.daemon.join(10)
        self.server.stop()
        self.sb.close()


@pytest.fixture
def rig_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("APPMANAGER_AUTH_KEY", KEY)
    made: list[Rig] = []

    def make(state_dir: Path) -> Rig:
        r = Rig(tmp_path, state_dir)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def test_a_lock_held_past_the_busy_timeout_downs_the_loop_until_released(rig_at, tmp_path):
    rig = rig_at(tmp_path / "state")
    rig.sb.enqueue_demo("orders", 3, rows=1)
    wait_until(lambda: rig.orders() == 3, what="first orders imported")
    assert rig.health()[0] == 200

    # Another program (an sqlite3 shell, a backup tool) takes the database for itself.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys\n"
         f"c = sqlite3.connect({str(rig.store.path)!r}, isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        rig.sb.enqueue_demo("orders", 4, rows=1)
        _code, body = wait_until(lambda: (h := rig.health())[0] == 503 and h,
                                what="/healthz failing while the store is locked")
        assert "down (crashed, restarting in" in body["bad"]["import"]
        assert "is locked by another program" in body["bad"]["import"]
        assert rig.daemon.summary() == "running import:down"
        assert rig.orders() == 3  # nothing written to the ERP that is not journaled first
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    wait_until(lambda: rig.orders() == 7, timeout=30, what="the orders after the release")
    wait_until(lambda: rig.health()[0] == 200, what="/healthz ok again")
    assert rig.daemon.heartbeats["import"].alive
    events = [r["message"] for r in rig.store.last_events(limit=50)]
    assert any("locked by another program" in m for m in events)  # recorded once it could


def _can_mount() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mount")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MB tmpfs: the state disk the test fills up."""
    if not _can_mount():
        pytest.skip("mounting a tmpfs needs root on Linux")
    where = tmp_path / "statedisk"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path) -> Path:
    """Fill the disk to its last byte."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_a_full_state_disk_downs_the_loop_until_there_is_room(rig_at, small_disk):
    rig = rig_at(small_disk / "state")
    rig.sb.enqueue_demo("orders", 2, rows=1)
    wait_until(lambda: rig.orders() == 2, what="first orders imported")
    filler = _fill(small_disk)

    rig.sb.enqueue_demo("orders", 30, rows=20)  # the journal must grow: no room
    _code, body = wait_until(lambda: (h := rig.health())[0] == 503 and h, timeout=30,
                            what="/healthz failing while the disk is full")
    assert "is full" in body["bad"]["import"], body
    landed = rig.orders()
    assert landed < 32

    filler.unlink()
    wait_until(lambda: rig.orders() == 32, timeout=60, what="the orders once there is room")
    wait_until(lambda: rig.health()[0] == 200, what="/healthz ok again")
    journal_ok = rig.store.query_one("SELECT COUNT(*) AS n FROM import_journal "
                                     "WHERE state = 'delivered'")
    assert journal_ok is not None and journal_ok["n"] == 32
