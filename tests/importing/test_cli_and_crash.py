"""The import path as users run it: real `connector` processes against the sandbox, the
daemon's loops, SIGKILL at random moments, and the authKey kept out of every log line."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.appmanager import sandbox_demo
from adapters.appmanager.sandbox import SandboxServer
from connector.app import Daemon, Loop
from connector.app import build_import as import_loops
from connector.app import build_sandbox as sandbox_loops
from connector.importing.journal import Journal
from connector.state import StateStore
from tests.conftest import make_config_dict
from tests.importing.conftest import AUTH_KEY

REPO = Path(__file__).resolve().parents[2]


def _write_config(root: Path, sb_url: str, page_size: int = 10, **erp: Any) -> Path:
    data = make_config_dict(root, **{
        "import": {"enabled": True, "retry_seconds": 30,
                   "appmanager": {"url": sb_url, "page_size": page_size, "read_timeout": 2,
                                  "connect_timeout": 1},
                   "erp": {"sink": "files", "path": str(root / "erp"), "format": "json",
                           **erp}}})
    data["log"]["level"] = "debug"
    path = root / "connector.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _env(key: str | None = AUTH_KEY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "APPMANAGER_AUTH_KEY"}
    if key is not None:
        env["APPMANAGER_AUTH_KEY"] = key
    env["PYTHONPATH"] = str(REPO)
    return env


def _connector(config: Path, *args: str, key: str | None = AUTH_KEY,
               outputs: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "connector", "--config", str(config), *args],
                          capture_output=True, text=True, env=_env(key), cwd=REPO, timeout=60)
    if outputs is not None:
        outputs += [proc.stdout, proc.stderr]
    return proc


def test_cli_import_retry_status_and_no_key_in_any_log_line(sandbox: SandboxServer,
                                                            tmp_path: Path) -> None:
    outputs: list[str] = []
    sandbox.enqueue_demo("orders", 12, rows=3)
    sandbox.enqueue_demo("customers", 3)
    refused = sandbox.enqueue("orders", {**sandbox_demo.demo_order(random.Random(4), rows=1),
                                         "note": "lunga " * 900})  # > 4000 chars
    sandbox.enqueue("customer_notes", '{"unique_id":"N9","data_import":"ieri"}')
    sandbox.fail_next("reset", "500", "429")
    config = _write_config(tmp_path, sandbox.url, format="tracciato")

    first = _connector(config, "--debug", "import", "--once", outputs=outputs)
    assert first.returncode == 1, first.stderr  # a refused record and a malformed one
    assert "dead 1" in first.stdout and "malformed 1" in first.stdout
    assert len(list((tmp_path / "erp").glob("AM_ORD_*.DAT"))) == 12
    assert len(list((tmp_path / "erp").glob("AM_CF_ANA_*.DAT"))) == 3

    status = _connector(config, "status", outputs=outputs)
    assert status.returncode == 0
    assert f"orders/{100013}" in status.stdout and "4000" in status.stdout
    assert "data_import" in status.stdout  # the malformed note, with its field
    facts = json.loads(_connector(config, "status", "--json", outputs=outputs).stdout)
    assert facts["import"]["streams"]["orders"]["dead"] == 1
    assert facts["import"]["dead_letters"][0]["queue_id"] == refused

    still = _connector(config, "retry", outputs=outputs)
    assert still.returncode == 1 and "still refused 1" in still.stdout

    # The ERP now takes JSON: `connector retry` lands the refused order, once.
    config = _write_config(tmp_path, sandbox.url, format="json")
    fixed = _connector(config, "retry", "--stream", "orders", outputs=outputs)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "delivered 1" in fixed.stdout
    assert (tmp_path / "erp" / "orders_100013.json").exists()
    again = _connector(config, "import", "--once", "--stream", "orders", outputs=outputs)
    assert again.returncode == 0 and "new 0" in again.stdout

    # A wrong key: one clear line, exit 1, and the wrong key is not echoed either.
    wrong = _connector(config, "import", "--once", key="wrong-key-0000", outputs=outputs)
    assert wrong.returncode == 1 and "refused (HTTP 401)" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) >= 1
    missing = _connector(config, "import", "--once", key=None, outputs=outputs)
    assert missing.returncode == 1 and "APPMANAGER_AUTH_KEY" in missing.stderr

    log_lines = (tmp_path / "log" / "connector.log").read_text(encoding="utf-8").splitlines()
    assert any("codaOrdini" in line for line in log_lines)  # debug request lines are there
    assert any("retrying" in line for line in log_lines)  # and the fault retries
    every_line = log_lines + [ln for out in outputs for ln in out.splitlines()]
    assert len(every_line) > 50
    leaks = [ln for ln in every_line if AUTH_KEY in ln or "wrong-key-0000" in ln]
    assert leaks == []


def test_import_once_usage_errors(sandbox: SandboxServer, tmp_path: Path) -> None:
    config = _write_config(tmp_path, sandbox.url)
    proc = _connector(config, "import", "--once", "--from-id", "3")
    assert proc.returncode == 2
    proc = _connector(config, "import", "--stream", "orders")
    assert proc.returncode == 2 and "--once" in proc.stderr


def test_from_id_resets_a_mark(sandbox: SandboxServer, tmp_path: Path) -> None:
    ids = sandbox.enqueue_demo("leads", 4)
    config = _write_config(tmp_path, sandbox.url)
    assert _connector(config, "import", "--once", "--stream", "leads").returncode == 0
    proc = _connector(config, "import", "--once", "--stream", "leads", "--from-id", str(ids[1]))
    assert proc.returncode == 0 and "new 0" in proc.stdout and f"mark {ids[-1]}" in proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_daemon_runs_the_sandbox_and_imports_without_any_key(config_factory: Any,
                                                             tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """What `make run` does: the sandbox loop and the import loop; the key is the sandbox's."""
    monkeypatch.delenv("APPMANAGER_AUTH_KEY", raising=False)
    port = _free_port()
    cfg = config_factory(**{
        "import": {"enabled": True,
                   "appmanager": {"url": f"http://127.0.0.1:{port}/api/v1/progetti/ic.acme",
                                  "poll_seconds": 0.3},
                   "erp": {"path": str(tmp_path / "erp")}},
        "sandbox": {"enabled": True, "port": port, "db": str(tmp_path / "sb.sqlite"),
                    "enqueue_every_seconds": 1.0}})
    store = StateStore(cfg.state_dir)
    loops: list[Loop] = [*sandbox_loops(cfg, store), *import_loops(cfg, store)]
    assert [lp.name for lp in loops] == ["sandbox", "import"]
    daemon = Daemon(cfg, store, loops=loops)
    stop = threading.Event()
    daemon.start(stop)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if len(list((tmp_path / "erp").glob("orders_*.json"))) >= 9:  # 8 seeded + 1 sent
                break
            stop.wait(0.2)
    finally:
        stop.set()
        assert daemon.join(10)
    assert len(list((tmp_path / "erp").glob("orders_*.json"))) >= 9
    assert len(list((tmp_path / "erp").glob("activities_*.json"))) == 3
    assert store.last_events("error") == []


def _count(folder: Path) -> int:
    return sum(1 for _ in folder.glob("orders_*.json")) if folder.exists() else 0


def _decode_workers(tag: str) -> set[int]:
    """The live decode worker processes of the connectors started with `tag` in their
    environment (Linux: read from /proc); other tests' workers, running beside this one
    under xdist, are not ours to count."""
    needle = f"CONNECTOR_TEST_TAG={tag}".encode()
    found = set()
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and b"spawn_main" in (d / "cmdline").read_bytes() and \
                    (d / "stat").read_text().split(") ")[1][0] != "Z" and \
                    needle in (d / "environ").read_bytes().split(b"\0"):
                found.add(int(d.name))
        except OSError:
            pass
    return found


@pytest.mark.slow
@pytest.mark.parametrize("page_size, rows", [(10, 2), (20, 8)],
                         ids=["small pages", "big pages through the decode worker"])
def test_sigkill_at_random_moments_each_order_lands_exactly_once(
        sandbox: SandboxServer, tmp_path: Path, page_size: int, rows: int) -> None:
    seed = int(os.environ.get("CRASH_SEED", time.time()))
    rng = random.Random(seed)
    tag = uuid.uuid4().hex  # marks this test's connectors and their decode workers
    ids = sandbox.enqueue_demo("orders", 1000, rows=rows)
    config = _write_config(tmp_path, sandbox.url, page_size=page_size)
    folder = tmp_path / "erp"
    kills = 0
    requeued: list[int] = []
    landed: list[int] = []
    attempts = 0
    while kills < 12 and attempts < 40:
        attempts += 1
        proc = subprocess.Popen([sys.executable, "-m", "connector", "--config", str(config),
                                 "import", "--once", "--stream", "orders"],
                                env={**_env(), "CONNECTOR_TEST_TAG": tag}, cwd=REPO,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # The moment to kill at: once the import is under way (a random number of further
        # orders landed), plus a random few milliseconds, so every step gets hit.
        target = min(999, _count(folder) + rng.randint(1, 70))
        while proc.poll() is None and _count(folder) < target:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.03))
        # AppManager re-queues a few already-seen orders meanwhile (same unique_id, new id).
        requeued.append(sandbox.requeue("orders", rng.choice(ids[:len(requeued) * 40 + 40])))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
            landed.append(_count(folder))
        proc.wait(10)
    assert kills >= 10, f"only {kills} kills (seed {seed})"
    # the kills hit the import while it was under way, not only before or after it
    assert len([n for n in landed if 0 < n < 1000]) >= 5, (landed, seed)
    final = subprocess.run([sys.executable, "-m", "connector", "--config", str(config),
                            "import", "--once", "--stream", "orders"],
                           env=_env(), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stdout + final.stderr

    visible = [p for p in folder.iterdir() if not p.name.startswith(".")]
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in visible]
    uids = [d["unique_id"] for d in docs]
    assert len(uids) == 1000 and set(uids) == {100000 + i for i in range(1, 1001)}, seed
    print(f"crash test seed {seed}: {kills} kills, orders landed at each kill: {landed}")
    journal = Journal(StateStore(tmp_path / "state"))
    entries = journal.entries("orders")
    assert len(entries) == 1000
    assert {e.state for e in entries} == {"delivered"}
    assert {e.erp_ref for e in entries} == {p.name for p in visible}
    assert journal.mark("orders") == max(requeued)
    assert sum(e.seen for e in entries) == 1000 + len(requeued)
    assert journal.quarantined() == []
    if sys.platform.startswith("linux"):  # no decode worker outlived its killed connector
        deadline = time.monotonic() + 10
        while _decode_workers(tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _decode_workers(tag)
