"""The daemon's loops, each in a supervised thread, stopped together by the one stop event.

A loop is anything with a `name` and `run(stop, beat)` (connector.wiring.Loop): it calls
`beat()` at least once per iteration (the service layer turns stale heartbeats into a
failing /healthz and missing systemd watchdog pings) and returns soon after `stop` is set.
A loop that runs but cannot do its work (the export while the Dropbox folder is missing)
says why in its `outage` attribute (str or None); /healthz fails with it.
"""

from __future__ import annotations

import threading
import time

import structlog

from connector.config import Config
from connector.errors import AuthError, ConfigError, ConnectorError, StopRequested
from connector.ports import Heartbeat
from connector.state import StateStore
from connector.wiring import Loop, build_loops

# The name operators know from the logs and the alert mails ("loop stopped (connector.app)").
log = structlog.get_logger("connector.app")
_HEALTHY_RUN = 300.0  # a loop that ran this long before crashing starts its backoff afresh


class Daemon:
    """Runs every loop in its own thread; a loop that crashes is restarted with backoff."""

    def __init__(self, cfg: Config, store: StateStore | None = None,
                 loops: list[Loop] | None = None) -> None:
        self.cfg = cfg
        from connector.config import create_missing_folders

        for folder in create_missing_folders(cfg):  # create_folders: true (trial set-ups)
            log.warning("folder created at start (create_folders)", folder=str(folder))
        self.store = store or StateStore(cfg.state_dir)
        self.loops = loops if loops is not None else build_loops(cfg, self.store)
        self.heartbeats: dict[str, Heartbeat] = {lp.name: Heartbeat(lp.name) for lp in self.loops}
        self._threads: list[threading.Thread] = []
        self.fatal: ConnectorError | None = None

    def start(self, stop: threading.Event) -> None:
        for lp in self.loops:
            t = threading.Thread(target=self._supervise, args=(lp, stop), name=f"loop-{lp.name}",
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def _supervise(self, lp: Loop, stop: threading.Event) -> None:
        """Run the loop until stop; a crash (the state store failing, a bug) restarts it with
        backoff, 2 s doubling to 60 s (back to 2 s after a loop that ran for 5 minutes),
        for as long as it takes the fault to clear. While it waits the loop counts as down
        (`hb.alive` False: /healthz fails, systemd's watchdog is not pinged). Nothing here
        may raise: the bookkeeping of a crash (the events table, often in the very store
        that failed) is best effort."""
        hb = self.heartbeats[lp.name]
        failures = 0

        def beat() -> None:
            hb.last = time.monotonic()

        while not stop.is_set():
            beat()
            hb.alive = True
            hb.extra.pop("down", None)
            started = time.monotonic()
            try:
                lp.run(stop, beat)
                return
            except StopRequested:  # a wait cut short by the stop event: the loop is done
                return
            except (ConfigError, AuthError) as exc:
                hb.alive = False
                hb.last_error = str(exc)
                log.error("loop stopped", loop=lp.name, error=str(exc))
                self.store.try_record_event("error", lp.name, str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - a loop must never take the daemon down
                if time.monotonic() - started > _HEALTHY_RUN:
                    failures = 0
                failures += 1
                wait = min(60.0, 2.0 ** min(failures, 6))
                hb.alive = False
                hb.last_error = f"crashed: {exc}"
                hb.extra["down"] = f"crashed, restarting in {wait:g}s: {exc}"
                try:
                    log.exception("loop crashed, restarting", loop=lp.name, failures=failures,
                                  restart_in_s=wait)
                except Exception:  # noqa: BLE001, S110 - a log handler failing too: go on
                    pass
                self.store.try_record_event("error", lp.name, f"crashed: {exc}")
                if stop.wait(wait):
                    return
                log.info("restarting loop", loop=lp.name, failures=failures)
        hb.alive = False

    def join(self, timeout: float) -> bool:
        """Wait for every loop thread; True when all ended within the timeout."""
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def alive(self) -> dict[str, bool]:
        return {t.name.removeprefix("loop-"): t.is_alive() for t in self._threads}

    def summary(self) -> str:
        parts = [f"{n}:{'ok' if hb.alive else 'down'}" for n, hb in self.heartbeats.items()]
        return "running " + ", ".join(parts) if parts else "running (no loops enabled)"
