"""Helpers for the service tests: a config in tmp_path, a notify socket the test listens
on, and the real daemon process (svc_daemon_main.py, the CLI with test loops added)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def config_dict(root: Path, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "company": "ACME",
        "create_folders": True,  # the watch folder and the rest are made at start
        "state_dir": str(root / "state"),
        "log": {"dir": str(root / "log"), "level": "debug", "format": "json"},
        # A trial set-up: the company folder is created at start (a real one must exist).
        "dropbox": {"mode": "folder", "root": str(root / "Dropbox"),
                    "staging": str(root / "staging"), "create_company_folder": True},
        "export": {"enabled": False, "watch": str(root / "export"),
                   "archive": str(root / "archive"), "quarantine": str(root / "quarantine")},
        "import": {"enabled": False},
        "sandbox": {"enabled": False},
        "service": {"stop_deadline_seconds": 10},
        "status": {"heartbeat_timeout_seconds": 5},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return data


def wait_until(cond: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not met within {timeout}s")


class NotifyListener:
    """The service manager's side of sd_notify: an abstract datagram socket."""

    def __init__(self) -> None:
        self.name = f"@icc-test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + self.name[1:].encode())
        self.messages: list[str] = []

    def receive(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            return None
        msg = data.decode()
        self.messages.append(msg)
        return msg

    def wait_for(self, field: str, timeout: float = 15.0) -> str:
        """Receive until a message carrying `field` (e.g. READY=1) arrives."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            msg = self.receive(max(0.01, end - time.monotonic()))
            if msg is not None and field in msg.split("\n"):
                return msg
        raise AssertionError(f"no {field} within {timeout}s; got {self.messages[-5:]}")

    def drain(self) -> list[str]:
        out = []
        while (msg := self.receive(0.001)) is not None:
            out.append(msg)
        return out

    def close(self) -> None:
        self.sock.close()


class DaemonProcess:
    def __init__(self, config: Path, tmp: Path, loops: str, env: dict[str, str]) -> None:
        self.out = tmp / f"daemon-{uuid.uuid4().hex[:6]}.out"
        self.err = self.out.with_suffix(".err")
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        full_env.update({"PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)]),
                         "FAKE_LOOPS": loops, "FAKE_DIR": str(tmp / "fake"), **env})
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / "svc_daemon_main.py"), "--config", str(config), "run"],
                stdout=out, stderr=err, env=full_env, cwd=str(tmp))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
