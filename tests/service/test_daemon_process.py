"""The real daemon process: sd_notify order, signals, reload, one instance, exit codes."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path
from typing import Any

from svc_helpers import NotifyListener, wait_until


def _fields(messages: list[str]) -> list[str]:
    return [f for m in messages for f in m.split("\n")]


def _get_json(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _log_events(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "log" / "connector.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_ready_watchdog_stopping_in_order(write_config, start_daemon, notify_listener: NotifyListener):
    cfg = write_config()
    d = start_daemon(cfg, "beat", NOTIFY_SOCKET=notify_listener.name, WATCHDOG_USEC="200000")
    notify_listener.wait_for("READY=1")
    notify_listener.wait_for("WATCHDOG=1")
    notify_listener.wait_for("WATCHDOG=1")
    d.signal(signal.SIGTERM)
    notify_listener.wait_for("STOPPING=1")
    assert d.wait(15) == 0, d.stderr()
    fields = _fields(notify_listener.messages)
    ready, stopping = fields.index("READY=1"), fields.index("STOPPING=1")
    pings = [i for i, f in enumerate(fields) if f == "WATCHDOG=1"]
    assert ready < pings[0] and pings[-1] < stopping, fields
    assert any(f.startswith("STATUS=running beat:ok") for f in fields), fields
    events = _log_events(cfg.parent)
    names = [e["event"] for e in events]
    assert "connector started" in names and names[-1] == "stopped"
    assert [e["reason"] for e in events if e["event"] == "stopping"] == ["SIGTERM"]


def test_sigterm_mid_job_rolls_back_and_exits_0(tmp_path, write_config, start_daemon,
                                                notify_listener: NotifyListener):
    cfg = write_config(service={"stop_deadline_seconds": 10})
    d = start_daemon(cfg, "slowjob", NOTIFY_SOCKET=notify_listener.name)
    notify_listener.wait_for("READY=1")
    part = tmp_path / "fake" / "staging" / "job.part"
    wait_until(lambda: part.exists() and part.stat().st_size > 0, what="job in hand")
    d.signal(signal.SIGTERM)
    assert d.wait(15) == 0, d.stderr()  # well inside the deadline: the loop saw the stop event
    assert (tmp_path / "fake" / "rolled-back").exists()
    assert not part.exists(), "half-written job left in staging"
    assert list((tmp_path / "fake" / "out").iterdir()) == [], "half job published"
    events = _log_events(tmp_path)
    assert next(e for e in events if e["event"] == "stopped")["clean"] is True


def test_stop_deadline_abandons_a_stuck_loop_with_exit_1(tmp_path, write_config, start_daemon,
                                                          notify_listener: NotifyListener):
    cfg = write_config(service={"stop_deadline_seconds": 0.5})
    d = start_daemon(cfg, "stubborn,beat", NOTIFY_SOCKET=notify_listener.name)
    notify_listener.wait_for("READY=1")
    d.signal(signal.SIGTERM)
    assert d.wait(15) == 1
    stuck = [e for e in _log_events(tmp_path) if e["event"].startswith("stop deadline passed")]
    assert stuck and stuck[0]["loops"] == ["stubborn"]


def test_second_sigint_exits_at_once(tmp_path, write_config, start_daemon,
                                     notify_listener: NotifyListener):
    cfg = write_config(service={"stop_deadline_seconds": 60})
    d = start_daemon(cfg, "stubborn", NOTIFY_SOCKET=notify_listener.name)
    notify_listener.wait_for("READY=1")
    d.signal(signal.SIGINT)
    notify_listener.wait_for("STOPPING=1")  # the first one is being honoured (60 s deadline)
    d.signal(signal.SIGINT)
    assert d.wait(15) == 130


def test_second_instance_is_refused_naming_the_holder(write_config, start_daemon,
                                                      notify_listener: NotifyListener):
    cfg = write_config()
    first = start_daemon(cfg, "beat", NOTIFY_SOCKET=notify_listener.name)
    notify_listener.wait_for("READY=1")
    second = start_daemon(cfg, "beat")
    assert second.wait(30) == 2
    assert f"process {first.pid}" in second.stderr()
    assert "already runs" in second.stderr()
    first.signal(signal.SIGTERM)
    assert first.wait(15) == 0


def test_invalid_configuration_at_start_exits_2(tmp_path, start_daemon):
    cfg = tmp_path / "connector.yaml"
    cfg.write_text("version: 1\ncompany: ACME\nexprot: {}\n")
    d = start_daemon(cfg, "beat")
    assert d.wait(30) == 2
    err = d.stderr()
    assert "exprot: unknown key" in err and "Traceback" not in err


def test_sighup_reloads_a_good_file_and_keeps_the_old_on_a_bad_one(
        tmp_path, write_config, start_daemon, notify_listener: NotifyListener):
    # port 0: the OS picks a free one, and the daemon's log says which
    cfg = write_config(status={"http": "127.0.0.1:0", "heartbeat_timeout_seconds": 5})
    d = start_daemon(cfg, "beat", NOTIFY_SOCKET=notify_listener.name)
    notify_listener.wait_for("READY=1")
    (port,) = [e["port"] for e in _log_events(tmp_path)
               if e["event"] == "status endpoint listening"]
    assert _get_json(port, "/status")[1]["company"] == "ACME"

    write_config(company="BETA", status={"http": "127.0.0.1:0"})  # the same: the server stays
    d.signal(signal.SIGHUP)
    notify_listener.wait_for("RELOADING=1")
    notify_listener.wait_for("READY=1")
    code, facts = _get_json(port, "/status")
    assert code == 200 and facts["company"] == "BETA"
    assert facts["loops"]["beat"]["running"] is True

    cfg.write_text("version: 1\ncompany: GAMMA\nexport: {settle_seconds: -1}\n  bad: [\n")
    d.signal(signal.SIGHUP)
    notify_listener.wait_for("RELOADING=1")
    refused = notify_listener.wait_for("READY=1")
    assert "reload refused" in refused
    assert _get_json(port, "/status")[1]["company"] == "BETA"
    assert _get_json(port, "/healthz")[0] == 200
    why = [e for e in _log_events(tmp_path) if e["event"].startswith("reload refused")]
    assert why and "not valid YAML" in " ".join(why[0]["errors"])

    d.signal(signal.SIGTERM)
    assert d.wait(15) == 0, d.stderr()
