"""One-shot commands beside a running daemon: a real `connector run` process, real
`connector import --once` / `retry` / `export --once` processes, the command sink running a
real ERP import program that logs each run. The program never runs twice for a record:
the command hands its work to the daemon, which alone writes to the ERP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from svc_helpers import wait_until

from adapters.appmanager.sandbox import SandboxServer
from connector.oslock import InstanceLock
from tests.conftest import make_config_dict

REPO = Path(__file__).resolve().parents[2]
KEY = "one-shot-key"
PROGRAM = """\
import os, sys, time
start = time.time()
time.sleep(0.05)  # an ERP import takes a moment: room for a second one to overlap
with open(os.environ["ERP_LOG"], "a") as fh:
    fh.write(f"{sys.argv[1]} {os.getpid()} {start} {time.time()}\\n")
"""


@pytest.fixture
def sandbox(tmp_path: Path):
    with SandboxServer(tmp_path / "sandbox.sqlite", auth_key=KEY, seed=False) as sb:
        yield sb


@pytest.fixture
def setup(tmp_path: Path, sandbox: SandboxServer):
    program = tmp_path / "erp_import.py"
    program.write_text(PROGRAM, encoding="utf-8")
    data = make_config_dict(tmp_path, **{
        "export": {"enabled": False},
        "import": {"enabled": True, "appmanager": {"url": sandbox.url, "poll_seconds": 30,
                                                   "page_size": 10},
                   "erp": {"sink": "command", "command": {
                       "argv": [sys.executable, str(program), "{unique_id}"],
                       "ledger": str(tmp_path / "state" / "erp_command.sqlite")}}}})
    data["log"]["format"] = "json"
    config = tmp_path / "connector.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "APPMANAGER_AUTH_KEY": KEY,
           "ERP_LOG": str(tmp_path / "erp.log")}
    return config, env, tmp_path / "erp.log"


def _runs(log: Path) -> list[tuple[str, int, float, float]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        uid, pid, start, end = line.split()
        out.append((uid, int(pid), float(start), float(end)))
    return out


def _connector(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=180)


def test_import_once_beside_the_daemon_never_runs_the_erp_program_twice(setup, sandbox):
    config, env, log = setup
    sandbox.enqueue_demo("orders", 40, rows=1)
    daemon = subprocess.Popen([sys.executable, "-m", "connector", "--config", str(config), "run"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=env)
    try:
        wait_until(lambda: _runs(log), timeout=30, what="the daemon importing")
        # Right in the middle of the daemon's cycle: before, this one ran the same records.
        first = _connector(config, env, "import", "--once")
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"the daemon (process {daemon.pid}) is running" in first.stdout
        wait_until(lambda: len(_runs(log)) >= 40, what="40 records imported")

        sandbox.enqueue_demo("orders", 5, rows=1)  # the daemon would wait 30 s for these
        second = _connector(config, env, "import", "--once", "--stream", "orders")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "orders          new 5     delivered 5" in second.stdout
        assert len(_runs(log)) == 45  # done by the time the command returned

        again = _connector(config, env, "retry")
        assert again.returncode == 0 and "retried 0" in again.stdout, again.stderr
        export = _connector(config, env, "export", "--once")
        assert export.returncode == 0 and "left to the running daemon" in export.stdout
        refused = _connector(config, env, "import", "--once", "--stream", "orders",
                             "--from-id", "3")
        assert refused.returncode == 2 and "stop the daemon first" in refused.stderr
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
    runs = _runs(log)
    twice = [uid for uid, n in Counter(r[0] for r in runs).items() if n > 1]
    assert twice == [] and len(runs) == 45


def test_alone_the_command_takes_the_lock_and_the_daemon_waits_for_it(setup, sandbox):
    config, env, log = setup
    held = InstanceLock(Path(yaml.safe_load(config.read_text())["state_dir"]),
                        role="import --once")
    held.acquire()  # a long `connector import --once` in progress
    daemon = subprocess.Popen([sys.executable, "-m", "connector", "--config", str(config), "run"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=env)
    try:
        assert daemon.stderr is not None
        line = daemon.stderr.readline()
        assert "waiting up to 60 s for `connector import --once`" in line, line
        sandbox.enqueue_demo("orders", 2, rows=1)
        held.release()
        wait_until(lambda: len(_runs(log)) == 2, timeout=30, what="the daemon started after it")
    finally:
        held.release()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
