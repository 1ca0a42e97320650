"""StopRequested is control flow, not an error: outside ConnectorError (and Exception), so
a shutdown is never handled as the failure of the item in hand; the daemon ends the loop it
came out of quietly and the CLI says it in one line."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from connector.app import Daemon
from connector.errors import ConnectorError, StopRequested, TransientError
from connector.retry import retrying
from connector.state import StateStore
from service.cli import main


def test_it_is_outside_the_error_tree() -> None:
    assert issubclass(StopRequested, BaseException)
    assert not issubclass(StopRequested, Exception)
    assert not issubclass(StopRequested, ConnectorError)


def test_a_retry_wait_cut_short_passes_every_error_handler() -> None:
    """retrying raises it when the stop event ends a backoff; an `except ConnectorError`
    (or `except Exception`) around the call no longer takes it for the call's failure."""
    stop = threading.Event()

    def fails() -> None:
        stop.set()  # the service stops while the call is failing
        raise TransientError("server down")

    caught: list[str] = []
    with pytest.raises(StopRequested):
        try:
            retrying(attempts=5, initial=30.0, stop=stop, what="test")(fails)
        except ConnectorError:
            caught.append("ConnectorError")
        except Exception:  # noqa: BLE001 - the point: it is not one
            caught.append("Exception")
    assert caught == []


class _StopsMidWait:
    """A loop whose wait the stop event cuts short, as a retry backoff is."""

    name = "stops"

    def __init__(self) -> None:
        self.runs = 0

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        self.runs += 1
        stop.set()
        raise StopRequested("stop requested while waiting to retry")


def test_the_daemon_ends_the_loop_without_calling_it_a_crash(config_factory: Any) -> None:
    cfg = config_factory()
    store = StateStore(cfg.state_dir)
    loop = _StopsMidWait()
    daemon = Daemon(cfg, store, loops=[loop])
    stop = threading.Event()
    daemon.start(stop)
    assert daemon.join(10)
    hb = daemon.heartbeats["stops"]
    assert loop.runs == 1 and hb.last_error is None and "down" not in hb.extra
    assert store.last_events("error", 5) == []  # no "crashed" event for a shutdown


def test_the_cli_says_it_in_one_line(monkeypatch: pytest.MonkeyPatch, config_file: Any,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from service.commands import import_cmds

    def interrupted(args: Any) -> int:
        raise StopRequested("stop requested while waiting to retry")

    monkeypatch.setattr(import_cmds, "retry", interrupted)
    assert main(["--config", str(config_file()), "retry"]) == 1
    assert capsys.readouterr().err == "connector: stop requested while waiting to retry\n"


def test_a_one_shot_import_in_process_leaves_the_signal_handlers_as_it_found_them(
        config_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    main(["--config", str(config_file()), "import", "--once"])
    main(["--config", str(config_file()), "retry"])
    capsys.readouterr()
    assert {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)} == before
