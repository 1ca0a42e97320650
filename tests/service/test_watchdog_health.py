"""In-process: a frozen pipeline stops the watchdog pings and fails /healthz; a dead loop
fails /healthz; /metrics parses as Prometheus text."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from svc_helpers import NotifyListener, config_dict, wait_until

from connector import metrics
from connector.app import Daemon
from connector.config import Config
from connector.errors import AuthError
from service.runner import Runner
from service.systemd import SystemdNotifier


class ControlledLoop:
    """Beats while `beating` is set; stops beating (but keeps running) when it is cleared;
    raises AuthError (the supervisor gives the loop up) once `die` is set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.beating = threading.Event()
        self.beating.set()
        self.die = threading.Event()

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        while not stop.wait(0.02):
            if self.die.is_set():
                raise AuthError("credentials rejected")
            if self.beating.is_set():
                beat()


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class InProcess:
    def __init__(self, runner: Runner, loops: dict[str, ControlledLoop], port: int) -> None:
        self.runner, self.loops, self.port = runner, loops, port
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.code = self.runner.run()


@pytest.fixture
def in_process(tmp_path: Path, notify_listener: NotifyListener,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., InProcess]]:
    made: list[InProcess] = []
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # a ping every 50 ms while healthy
    monkeypatch.delenv("WATCHDOG_PID", raising=False)

    def make(*names: str, **overrides: Any) -> InProcess:
        cfg_path = tmp_path / "connector.yaml"
        cfg_path.write_text(yaml.safe_dump(config_dict(  # port 0: the OS picks a free one
            tmp_path, status={"http": "127.0.0.1:0", "heartbeat_timeout_seconds": 0.3},
            service={"stop_deadline_seconds": 5}, **overrides)))
        loops = {n: ControlledLoop(n) for n in names}

        def factory(cfg: Config) -> Daemon:
            return Daemon(cfg, loops=list(loops.values()))

        runner = Runner(cfg_path, daemon_factory=factory, install_signals=False,
                        systemd=SystemdNotifier(notify_listener.name), console_logs=False)
        ip = InProcess(runner, loops, 0)
        ip.thread.start()
        made.append(ip)
        assert runner.ready.wait(15) and runner.server is not None
        ip.port = runner.server.port
        return ip

    yield make
    for ip in made:
        ip.runner.request_stop()
        ip.thread.join(15)
        assert not ip.thread.is_alive()


def _pings_during(listener: NotifyListener, seconds: float) -> int:
    end = time.monotonic() + seconds
    count = 0
    while (left := end - time.monotonic()) > 0:
        msg = listener.receive(left)
        if msg is not None and "WATCHDOG=1" in msg.split("\n"):
            count += 1
    return count


def test_frozen_pipeline_stops_the_watchdog_pings(in_process, notify_listener: NotifyListener):
    ip = in_process("export", "import")
    assert _pings_during(notify_listener, 0.3) >= 2  # healthy: pinging
    ip.loops["import"].beating.clear()  # the import loop hangs (still running, no beats)
    wait_until(lambda: _get(ip.port, "/healthz")[0] == 503, what="healthz 503")
    notify_listener.drain()
    assert _pings_during(notify_listener, 0.5) == 0, "still pinging with a stuck loop"
    _code, body = _get(ip.port, "/healthz")
    bad = json.loads(body)["bad"]
    assert list(bad) == ["import"] and "no heartbeat" in bad["import"]
    status = [m for m in notify_listener.messages if m.startswith("STATUS=")]
    assert any("unhealthy: import" in m for m in status), status

    ip.loops["import"].beating.set()  # it recovers: the pings come back
    wait_until(lambda: _get(ip.port, "/healthz")[0] == 200, what="healthz 200 again")
    assert _pings_during(notify_listener, 0.3) >= 1
    ip.runner.request_stop()
    ip.thread.join(15)
    assert ip.code == 0


def test_healthz_turns_503_when_a_loop_dies(in_process):
    ip = in_process("export", "import")
    code, body = _get(ip.port, "/healthz")
    assert code == 200 and json.loads(body) == {"status": "ok", "bad": {},
                                                "loops": {"export": True, "import": True}}
    ip.loops["export"].die.set()
    wait_until(lambda: _get(ip.port, "/healthz")[0] == 503, what="healthz 503")
    bad = json.loads(_get(ip.port, "/healthz")[1])["bad"]
    assert list(bad) == ["export"] and "credentials rejected" in bad["export"]
    status = json.loads(_get(ip.port, "/status")[1])
    assert status["healthy"] is False
    assert status["loops"]["export"]["running"] is False
    assert status["last_errors"][0]["component"] == "export"


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_parse_as_prometheus_text(in_process):
    metrics.reset()
    metrics.inc("connector_files_published_total", 3, "Files published", folder="gestionale")
    metrics.inc("connector_bytes_published_total", 1234.0, "Bytes published")
    metrics.set_gauge("connector_queue_depth", 2, "Files waiting", queue='ex"port')
    metrics.mark_success("export")
    ip = in_process("export", "import")
    code, text = _get(ip.port, "/metrics")
    assert code == 200
    fams = _families(text)
    up = {s.labels["loop"]: s.value for s in fams["connector_loop_up"].samples}
    assert up == {"export": 1.0, "import": 1.0}
    assert fams["connector_loop_up"].type == "gauge"
    published = fams["connector_files_published"].samples[0]
    assert published.value == 3.0 and published.labels == {"folder": "gestionale"}
    assert fams["connector_queue_depth"].samples[0].labels == {"queue": 'ex"port'}
    ages = {s.labels["loop"]: s.value for s in fams["connector_loop_heartbeat_age_seconds"].samples}
    assert set(ages) == {"export", "import"} and all(0 <= a < 60 for a in ages.values())
    assert fams["connector_healthy"].samples[0].value == 1.0

    ip.loops["import"].die.set()
    wait_until(lambda: _get(ip.port, "/healthz")[0] == 503, what="healthz 503")
    fams = _families(_get(ip.port, "/metrics")[1])
    up = {s.labels["loop"]: s.value for s in fams["connector_loop_up"].samples}
    assert up == {"export": 1.0, "import": 0.0}
    metrics.reset()


def test_unknown_path_is_404_with_the_endpoints(in_process):
    ip = in_process("export")
    code, body = _get(ip.port, "/nope")
    assert code == 404 and "/healthz" in json.loads(body)["endpoints"]


def test_runner_sends_started_error_and_stopped_notices(in_process, tmp_path):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    posts: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_a: Any) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        ip = in_process("export", notifications={
            "webhook": f"http://127.0.0.1:{hook.server_address[1]}/", "min_interval_seconds": 60})
        ip.loops["export"].die.set()
        wait_until(lambda: len([p for p in posts if p["level"] == "error"]) >= 2,
                   what="the loop's error and the runner's unhealthy notice")
        ip.runner.request_stop()
        ip.thread.join(15)
        assert ip.code == 0
        wait_until(lambda: posts and posts[-1]["subject"] == "connector stopped", what="stopped")
    finally:
        hook.shutdown()
        hook.server_close()
    subjects = [(p["level"], p["subject"]) for p in posts]
    assert subjects[0] == ("info", "connector started")
    assert ("error", "loop stopped (connector.app)") in subjects
    assert ("error", "loop unhealthy (service.runner)") in subjects
    assert subjects[-1] == ("info", "connector stopped")


def test_a_port_in_use_is_a_configuration_error_before_any_loop_starts(tmp_path):
    import socket

    from connector.errors import ConfigError

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    cfg_path = tmp_path / "connector.yaml"
    cfg_path.write_text(yaml.safe_dump(config_dict(tmp_path, status={"http": f"127.0.0.1:{port}"})))
    built: list[Config] = []

    def factory(cfg: Config) -> Daemon:
        built.append(cfg)
        return Daemon(cfg, loops=[])

    runner = Runner(cfg_path, daemon_factory=factory, install_signals=False, console_logs=False)
    try:
        with pytest.raises(ConfigError) as exc:
            runner.run()
    finally:
        busy.close()
    assert f"status.http: cannot listen on 127.0.0.1:{port}" in str(exc.value)
    assert built == []
