"""The one OS lock (instance lock and extraction lock are built on it): exclusive, says
who holds it, gone with a SIGKILLed holder, and a holder's leftover note never makes a
free lock look held."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from connector.extract.lock import ExtractBusy, RunLock
from connector.oslock import InstanceLock, OsLock, probe

REPO = Path(__file__).resolve().parents[2]


def test_exclusive_with_its_holder_beside_it(tmp_path: Path) -> None:
    first, second = OsLock(tmp_path / "x.lock"), OsLock(tmp_path / "x.lock")
    assert first.holder() is None  # never taken: no file, nobody
    assert first.try_acquire({"pid": os.getpid(), "role": "test"})
    assert first.held and not second.try_acquire({"pid": 1}) and not second.held
    assert second.holder() == {"pid": os.getpid(), "role": "test"}
    assert stat.S_IMODE(os.stat(first.info_path).st_mode) == 0o644
    first.release()
    first.release()  # twice is harmless
    assert not first.info_path.exists() and second.holder() is None
    assert second.try_acquire({"pid": 2})
    second.release()


def test_a_killed_holder_frees_the_lock_and_its_note_is_not_believed(tmp_path: Path) -> None:
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from pathlib import Path;"
            "from connector.extract.lock import RunLock;"
            "RunLock(Path(sys.argv[2])).hold(mode='full', trigger='manual', entities=None)"
            ".acquire(); print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(REPO), str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(ExtractBusy) as busy:
            RunLock(tmp_path).hold(mode="changed", trigger="schedule", entities=None).acquire()
        assert f"full run of every tracciato, manual, pid {holder.pid}" in str(busy.value)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
    lock = RunLock(tmp_path)
    assert json.loads(lock.info_path.read_text())["pid"] == holder.pid  # left behind ...
    assert lock.holder() is None  # ... but the lock is free, so nobody holds it
    with lock.hold(mode="changed", trigger="schedule", entities=["io_art"]):
        assert json.loads(lock.info_path.read_text())["pid"] == os.getpid()


def test_the_two_locks_are_separate_files(tmp_path: Path) -> None:
    with InstanceLock(tmp_path), RunLock(tmp_path).hold(mode="full", trigger="manual",
                                                       entities=None):
        assert probe(tmp_path) == (True, os.getpid())
    assert probe(tmp_path) == (False, None)


def test_an_unreadable_note_is_an_unknown_holder(tmp_path: Path) -> None:
    lock = OsLock(tmp_path / "x.lock")
    assert lock.try_acquire({"pid": 7})
    lock.info_path.write_text("{not json", encoding="utf-8")
    assert OsLock(tmp_path / "x.lock").holder() == {}
    lock.release()
