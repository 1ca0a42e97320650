"""The small parts: instance lock, sd_notify, signal inbox, health check."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from svc_helpers import NotifyListener

from connector.app import Daemon
from connector.oslock import AlreadyRunning, InstanceLock, probe, read_holder
from service.health import check
from service.signals import RELOAD, STOP, SignalInbox
from service.systemd import SystemdNotifier, watchdog_interval


def test_lock_is_exclusive_names_the_holder_and_is_released(tmp_path):
    first = InstanceLock(tmp_path / "state")
    first.acquire()
    assert read_holder(first.path) == os.getpid()
    assert probe(tmp_path / "state") == (True, os.getpid())
    with pytest.raises(AlreadyRunning) as exc:
        InstanceLock(tmp_path / "state").acquire()
    assert exc.value.pid == os.getpid() and f"process {os.getpid()}" in str(exc.value)
    first.release()
    assert probe(tmp_path / "state") == (False, None)
    with InstanceLock(tmp_path / "state") as again:
        assert again.held


def test_lock_dies_with_a_killed_holder(tmp_path):
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from pathlib import Path;"
            "from connector.oslock import InstanceLock; InstanceLock(Path(sys.argv[2])).acquire();"
            "print('locked', flush=True); time.sleep(60)")
    repo = str(Path(__file__).resolve().parents[2])
    holder = subprocess.Popen([sys.executable, "-c", code, repo, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunning) as exc:
            InstanceLock(tmp_path).acquire()
        assert exc.value.pid == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
    lock = InstanceLock(tmp_path)
    lock.acquire()  # a crashed holder leaves no stale lock behind
    assert read_holder(lock.path) == os.getpid()
    lock.release()


def test_sd_notify_to_an_abstract_socket():
    listener = NotifyListener()
    try:
        sd = SystemdNotifier(listener.name)
        assert sd.enabled and sd.ready(status="starting")
        assert listener.receive(2) == "READY=1\nSTATUS=starting"
        assert sd.status("line one\nline two")
        assert listener.receive(2) == "STATUS=line one line two"
        sd.reloading()
        msg = listener.receive(2)
        assert msg is not None and msg.startswith("RELOADING=1\nMONOTONIC_USEC=")
        sd.close()
    finally:
        listener.close()


def test_sd_notify_to_a_path_socket_and_without_one(tmp_path, monkeypatch):
    path = tmp_path / "n.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    sd = SystemdNotifier(str(path))
    try:
        assert sd.watchdog()
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        sd.close()
        sock.close()
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    quiet = SystemdNotifier()
    assert not quiet.enabled and not quiet.ready()
    gone = SystemdNotifier(str(tmp_path / "missing.sock"))
    assert not gone.stopping()  # no listener: logged once, never raised
    gone.close()


def test_watchdog_interval(monkeypatch):
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    assert watchdog_interval() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert watchdog_interval() is None  # meant for another process
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 30.0


def test_signal_inbox_records_and_wakes():
    inbox = SignalInbox()
    assert inbox.install()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        assert inbox.wait(10) == [RELOAD]
        assert not inbox.stop_requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert inbox.wait(10) == [STOP] and inbox.stop_requested
        threading.Thread(target=inbox.post, args=(STOP,)).start()
        assert inbox.wait(10) == [STOP]
        assert inbox.wait(0.01) == []
    finally:
        inbox.close()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_signal_inbox_does_not_install_off_the_main_thread():
    inbox = SignalInbox()
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(inbox.install()))
    t.start()
    t.join()
    assert result == [False]
    inbox.close()


class _Idle:
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, stop: threading.Event, beat: object) -> None:
        stop.wait()


def test_health_check_reasons(config_factory):
    cfg = config_factory(status={"heartbeat_timeout_seconds": 10})
    d = Daemon(cfg, loops=[_Idle("a"), _Idle("b")])
    stop = threading.Event()
    d.start(stop)
    try:
        now = time.monotonic()
        d.heartbeats["a"].last = now - 3
        d.heartbeats["b"].last = now - 30
        h = check(d, 10, now)
        assert h.loops["a"].ok and not h.loops["b"].ok
        assert h.describe() == "b: no heartbeat for 30s (limit 10s)"
        d.heartbeats["a"].alive = False
        d.heartbeats["a"].last_error = "auth"
        assert check(d, 10, now).loops["a"].reason == "stopped (auth)"
    finally:
        stop.set()
        assert d.join(5)
    assert check(d, 10).loops["b"].reason == "stopped"
