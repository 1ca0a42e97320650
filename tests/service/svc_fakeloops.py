"""Test-only loops for the daemon under test (a real `connector run` process).

svc_daemon_main.py adds these loops to the daemon's (connector.daemon.build_loops); $FAKE_LOOPS says
which loops to run (comma-separated), $FAKE_DIR where they leave their marks:

    beat        beats every 50 ms until stopped
    slowjob     a job that copies 64 KiB chunks into <FAKE_DIR>/staging/job.part for a
                long time; stopped mid-job it deletes the part (rollback), finished it
                publishes with os.replace into <FAKE_DIR>/out/
    stubborn    ignores the stop event (for the stop deadline)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from connector.config import Config
from connector.state import StateStore


def _mark(name: str, text: str = "") -> None:
    d = Path(os.environ["FAKE_DIR"])
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(text, encoding="utf-8")


class BeatLoop:
    name = "beat"

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        while not stop.wait(0.05):
            beat()


class SlowJobLoop:
    name = "slowjob"

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        root = Path(os.environ["FAKE_DIR"])
        staging, out = root / "staging", root / "out"
        staging.mkdir(parents=True, exist_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        part = staging / "job.part"
        chunk = b"x" * 65536
        _mark("job-started", str(os.getpid()))
        with open(part, "wb") as fh:
            for _ in range(100_000):  # minutes of work unless stopped
                beat()
                if stop.wait(0.01):
                    break
                fh.write(chunk)
            else:
                fh.flush()
                os.fsync(fh.fileno())
        if stop.is_set():
            part.unlink()  # roll back the job in hand
            _mark("rolled-back")
            return
        os.replace(part, out / "job.dat")


class StubbornLoop:
    name = "stubborn"

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        gate = threading.Event()
        _mark("stubborn-started")
        while True:
            beat()
            gate.wait(0.05)  # never looks at stop


_LOOPS = {"beat": BeatLoop, "slowjob": SlowJobLoop, "stubborn": StubbornLoop}


def build_loops(cfg: Config, store: StateStore) -> list[object]:
    names = [n for n in os.environ.get("FAKE_LOOPS", "").split(",") if n]
    return [_LOOPS[n]() for n in names]
