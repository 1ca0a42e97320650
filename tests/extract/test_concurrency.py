"""One run at a time per target: a second run (another process, the CLI, the daemon's
scheduler) is refused with a clear message while one holds the lock; a holder killed
with SIGKILL leaves no stale lock."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from connector.app import build_extract, extract_sources
from connector.app import extract_once as run_once
from connector.extract.lock import ExtractBusy, RunLock
from connector.extract.loop import ExtractScheduler
from connector.state import StateStore
from tests.conftest import make_config_dict

REPO = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from pathlib import Path
from connector.extract.lock import RunLock
lock = RunLock(Path(sys.argv[1])).hold(mode="full", trigger="manual", entities=["io_art"])
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the extraction lock of tmp_path/state."""
    procs: list[subprocess.Popen[str]] = []

    def start(state_dir: Path) -> subprocess.Popen[str]:
        p = subprocess.Popen([sys.executable, "-c", HOLDER, str(state_dir)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_second_run_is_refused_then_allowed_after_sigkill(sqlite_erp, extract_config, holder):
    cfg = extract_config(sqlite_erp, jobs=sqlite_erp.jobs(["io_art"]))
    store = StateStore(cfg.state_dir)
    proc = holder(cfg.state_dir)
    with pytest.raises(ExtractBusy) as err:
        run_once(cfg, store, mode="changed", out=io.StringIO())
    message = str(err.value)
    assert message.startswith("another extraction is already running (full run of io_art, "
                              f"manual, pid {proc.pid}, started ")
    assert "full and changed runs never overlap, so this run was refused" in message
    assert not list(cfg.export.watch.glob("*")) if cfg.export.watch.exists() else True
    # a dry run is a run too: refused the same way
    with pytest.raises(ExtractBusy):
        run_once(cfg, store, mode="full", dry_run=True, out=io.StringIO())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    res = run_once(cfg, store, mode="changed", out=io.StringIO())
    assert res.ok and (cfg.export.watch / "io_art.dat").exists()
    assert RunLock(cfg.state_dir).holder() is None


def test_cli_refuses_with_one_clear_line(sqlite_erp, tmp_path, holder):
    data = make_config_dict(tmp_path, extract={"enabled": True, "url": sqlite_erp.url,
                                               "jobs": sqlite_erp.jobs(["io_art"])})
    path = tmp_path / "connector.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    holder(tmp_path / "state")
    env = {k: v for k, v in os.environ.items() if k != "CONNECTOR_CONFIG"}
    cp = subprocess.run([sys.executable, "-m", "connector", "--config", str(path), "export",
                         "--once", "--changed", "--dry-run"], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 1, cp.stderr
    assert "connector: another extraction is already running (full run of io_art, manual" \
        in cp.stderr
    assert "Traceback" not in cp.stderr


def test_two_runs_in_one_process_never_overlap(sqlite_erp, extract_config):
    """Two threads start a run at the same moment: one runs, the other is refused."""
    cfg = extract_config(sqlite_erp)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def go() -> None:
        store = StateStore(cfg.state_dir)
        barrier.wait()
        try:
            results.append(run_once(cfg, store, mode="full", out=io.StringIO()))
        except ExtractBusy as exc:
            results.append(exc)
        finally:
            store.close()

    # hold the lock across both attempts so the race is certain, then release
    lock = RunLock(cfg.state_dir).hold(mode="changed", trigger="scheduler", entities=None)
    lock.acquire()
    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    lock.release()
    assert len(results) == 2 and all(isinstance(r, ExtractBusy) for r in results)
    assert "changed run of every tracciato, scheduler" in str(results[0])
    store = StateStore(cfg.state_dir)
    assert run_once(cfg, store, out=io.StringIO()).ok


class _Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_scheduler_waits_for_the_lock_and_runs_when_due(sqlite_erp, extract_config):
    cfg = extract_config(sqlite_erp, jobs=[
        {**sqlite_erp.jobs(["io_art"])[0], "schedule": {"every_minutes": 30, "mode": "changed"}},
        {**sqlite_erp.jobs(["io_giacenze"])[0],
         "schedule": {"cron": "0 23 * * *", "mode": "full"}},
        sqlite_erp.jobs(["io_clifor_gen"])[0],  # manual only
    ])
    store = StateStore(cfg.state_dir)
    clock = _Clock(dt.datetime(2026, 3, 2, 22, 0))
    sched = ExtractScheduler(cfg, store, extract_sources(cfg), clock=clock)
    assert [j.name for j in sched.jobs] == ["io_art", "io_giacenze"]
    stop = threading.Event()

    lock = RunLock(cfg.state_dir).hold(mode="full", trigger="manual", entities=None)
    lock.acquire()
    sched.tick(stop)  # io_art is due (never ran) but a manual run holds the lock
    assert not cfg.export.watch.exists() or not any(cfg.export.watch.iterdir())
    lock.release()

    sched.tick(stop)
    assert sorted(p.name for p in cfg.export.watch.iterdir()) == ["io_art.dat"]
    clock.now = dt.datetime(2026, 3, 2, 22, 20)
    assert sched.due(clock.now) == {}
    clock.now = dt.datetime(2026, 3, 2, 23, 0)
    assert sched.due(clock.now) == {"changed": ["io_art"], "full": ["io_giacenze"]}
    sched.tick(stop)
    assert sorted(p.name for p in cfg.export.watch.iterdir()) == ["io_art.dat", "io_giacenze.dat"]
    runs = store.query("SELECT mode, trigger, entities FROM extract_runs ORDER BY id")
    assert [(r["mode"], r["trigger"]) for r in runs] == [
        ("changed", "scheduler"), ("full", "scheduler"), ("changed", "scheduler")]
    # a restart remembers the last runs
    again = ExtractScheduler(cfg, store, extract_sources(cfg), clock=clock)
    assert again.due(dt.datetime(2026, 3, 2, 23, 10)) == {}


def test_loop_runs_until_stopped_and_beats(sqlite_erp, extract_config):
    cfg = extract_config(sqlite_erp, jobs=[
        {**sqlite_erp.jobs(["io_art"])[0], "schedule": {"every_minutes": 60}}],
        tick_seconds=0.05)
    store = StateStore(cfg.state_dir)
    (loop,) = build_extract(cfg, store)
    stop = threading.Event()
    beats: list[float] = []
    t = threading.Thread(target=loop.run, args=(stop, lambda: beats.append(time.monotonic())))
    t.start()
    deadline = time.monotonic() + 20
    while not (cfg.export.watch / "io_art.dat").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(10)
    assert not t.is_alive() and len(beats) >= 1
    assert (cfg.export.watch / "io_art.dat").exists()


def test_no_loop_when_disabled_or_unscheduled(sqlite_erp, extract_config, config_factory):
    assert build_extract(config_factory(), StateStore(Path(config_factory().state_dir))) == []
    cfg = extract_config(sqlite_erp)
    assert build_extract(cfg, StateStore(cfg.state_dir)) == []
