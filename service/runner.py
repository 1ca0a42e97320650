"""The process life of `connector run`, the same under systemd, Windows and a terminal.

    load + validate config -> take the instance lock -> logging, notifications
    -> start the loops (a Daemon) -> status endpoint -> READY=1
    -> main loop: act on recorded signals, check heartbeats, WATCHDOG=1 / STATUS=
    -> STOPPING=1 -> stop the loops within service.stop_deadline_seconds -> exit

Exit codes: 0 stopped cleanly; 1 the stop deadline passed with a loop still busy (it
is abandoned: publishing is atomic, so the work in hand is redone at the next start), or
a one-shot command (`connector import --once`...) still held the state directory after
a minute; 2 configuration error, the state store unusable, or another daemon holds the
state directory; 130 a second Ctrl-C (see service.signals).

A reload (SIGHUP) validates the file first: a bad one keeps the running configuration
and logs why; a good one stops the loops (within the deadline), and starts a new
Daemon with the new configuration.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from connector import __version__, i18n
from connector.app import Connector, Daemon
from connector.config import Config, load_config
from connector.errors import ConfigError, StateStoreError
from connector.i18n import _
from connector.logsetup import configure_logging
from connector.oslock import AlreadyRunning, InstanceLock
from service.notify import AlertHandler, Notifier
from service.signals import RELOAD, STOP, SignalInbox
from service.status_http import LiveView
from service.systemd import SystemdNotifier, watchdog_interval

if TYPE_CHECKING:
    from service.console.server import HttpServer

log = structlog.get_logger("service.runner")

EXIT_OK = 0
EXIT_DEADLINE = 1
EXIT_CONFIG = 2
# How often STATUS= is refreshed even when the line did not change.
_STATUS_REFRESH_SECONDS = 30.0
_ONE_SHOT_WAIT = 60.0  # for a one-shot command holding the instance lock at start-up


@dataclass
class _Generation:
    """One configuration's daemon: replaced as a whole on reload."""

    cfg: Config
    daemon: Daemon
    stop: threading.Event
    view: LiveView


class Runner:
    def __init__(self, config_path: str | Path | None, *, debug: bool = False,
                 daemon_factory: Callable[[Config], Daemon] | None = None,
                 systemd: SystemdNotifier | None = None,
                 install_signals: bool = True,
                 extra_log_handlers: Sequence[logging.Handler] = (),
                 console_logs: bool = True) -> None:
        self.config_path = config_path
        self.debug = debug
        # The loops of the configuration, through the facade (tests give their own).
        self.daemon_factory = daemon_factory or (lambda cfg: Connector(cfg).daemon())
        self.sd = systemd or SystemdNotifier()
        self.inbox = SignalInbox()
        self.install_signals = install_signals
        self.extra_log_handlers = list(extra_log_handlers)
        self.console_logs = console_logs
        self.notifier: Notifier | None = None
        self._alert_handler: AlertHandler | None = None
        self._gen: _Generation | None = None
        self.servers: list[HttpServer] = []  # the console and/or the status endpoint
        self.ready = threading.Event()  # set once READY=1 went out (tests, Windows service)

    # Requests from other threads (the Windows service, tests) -----------------------------
    def request_stop(self, reason: str = "service stop") -> None:
        self.inbox.post(STOP, reason)

    def request_reload(self) -> None:
        self.inbox.post(RELOAD)

    @property
    def server(self) -> HttpServer | None:
        """The first HTTP server (the console when on, else status.http)."""
        return self.servers[0] if self.servers else None

    @property
    def view(self) -> LiveView | None:
        return self._gen.view if self._gen else None

    # The whole life ---------------------------------------------------------------------
    def run(self) -> int:
        cfg = load_config(self.config_path)  # ConfigError: the CLI prints it, exit 2
        self.config_path = cfg.source_path or self.config_path
        lock = InstanceLock(cfg.state_dir, version=__version__)
        try:
            self._acquire(lock)
        except AlreadyRunning as exc:
            print(f"connector: {exc}", file=sys.stderr)
            # A second daemon is a configuration error (systemd does not restart on 2); a
            # one-shot command that outlasted the wait is not: 1, and systemd tries again.
            return EXIT_CONFIG if exc.daemon else EXIT_DEADLINE
        try:
            return self._run_locked(cfg)
        finally:
            lock.release()
            self.inbox.close()
            self.sd.close()

    def _acquire(self, lock: InstanceLock) -> None:
        """The instance lock; held by a one-shot command (`connector import --once`...),
        it is waited for, up to _ONE_SHOT_WAIT (under systemd's start timeout)."""
        end = time.monotonic() + _ONE_SHOT_WAIT
        told = False
        while True:
            try:
                lock.acquire()
                return
            except AlreadyRunning as exc:
                if exc.daemon or time.monotonic() > end:
                    raise
                if not told:
                    print(f"connector: waiting up to {_ONE_SHOT_WAIT:g} s for `connector "
                          f"{exc.role}` (process {exc.pid}) to finish", file=sys.stderr)
                    told = True
                time.sleep(0.5)  # before the stop event and signal handling exist

    def _run_locked(self, cfg: Config) -> int:
        self._configure_logging(cfg)
        if self.install_signals:
            self.inbox.install()
        try:
            # Bind the port before any loop starts: a port in use is a configuration error.
            self.servers = self._bind_servers(cfg, required=True)
            gen = self._start_generation(cfg)
        except (ConfigError, StateStoreError) as exc:
            if isinstance(exc, ConfigError):
                log.error("cannot start: invalid configuration", errors=exc.errors)
            else:
                log.error("cannot start: the state store cannot be used", error=str(exc))
            self._stop_servers()
            self._close_notifier()
            raise
        for server in self.servers:
            server.start()
            if server.name == "console":
                # Where to point a browser, on the terminal of `make run` too.
                print(f"connector: the console is at {server.url}", file=sys.stderr)
        self.sd.ready(status=self._status_line(gen))
        self.ready.set()
        log.info("connector started", config=str(cfg.source_path),
                 loops=[lp.name for lp in gen.daemon.loops])
        if self.notifier:
            loops = ", ".join(lp.name for lp in gen.daemon.loops) or _("none")
            self.notifier.notify("info", "started", _("connector started"),
                                 _("loops: {loops}").format(loops=loops))
        try:
            self._main_loop()
        except Exception:  # a bug here must still stop the loops in order
            log.exception("main loop failed; stopping")
            return max(self._shutdown(), EXIT_DEADLINE)
        return self._shutdown()

    def _main_loop(self) -> None:
        interval = watchdog_interval()
        tick = min(1.0, interval) if interval else 1.0
        last_line, last_line_at, was_ok = "", 0.0, True
        while True:
            requests = self.inbox.wait(tick)
            if STOP in requests:
                return
            if RELOAD in requests:
                self._reload()
            gen = self._current()
            health = gen.view.health()
            if interval and health.ok:
                # The watchdog ping comes only from here, and only while every loop beats:
                # a stuck pipeline stops the pings and systemd restarts the service.
                self.sd.watchdog()
            if health.ok != was_ok:
                if health.ok:
                    log.info("every loop is healthy again")
                    if self.notifier:
                        self.notifier.notify("info", "recovered", _("connector healthy again"),
                                             gen.daemon.summary())
                else:
                    log.error("loop unhealthy", problems=health.describe())
                was_ok = health.ok
            line = self._status_line(gen)
            now = time.monotonic()
            if line != last_line or now - last_line_at >= _STATUS_REFRESH_SECONDS:
                self.sd.status(line)
                last_line, last_line_at = line, now

    def _shutdown(self) -> int:
        gen = self._current()
        deadline = gen.cfg.service.stop_deadline_seconds
        self.sd.stopping(status=f"stopping (deadline {deadline:g}s)")
        log.info("stopping", reason=self.inbox.reason, deadline_seconds=deadline)
        clean = self._stop_generation(gen)
        self._stop_servers()
        log.info("stopped", clean=clean)
        if self.notifier:
            self.notifier.notify("info", "stopped", _("connector stopped"),
                                 _("stopped cleanly") if clean else _("stop deadline passed"))
        self._close_notifier()
        return EXIT_OK if clean else EXIT_DEADLINE

    # Generations ------------------------------------------------------------------------
    def _current(self) -> _Generation:
        assert self._gen is not None
        return self._gen

    def _start_generation(self, cfg: Config) -> _Generation:
        # Reports and notifications in the configured language (a reload may change it).
        i18n.set_default(cfg.locale)
        daemon = self.daemon_factory(cfg)
        stop = threading.Event()
        daemon.start(stop)
        self._gen = _Generation(cfg, daemon, stop, LiveView(daemon))
        return self._gen

    def _stop_generation(self, gen: _Generation) -> bool:
        """Stop the loops within the deadline; True when every one ended in time."""
        gen.stop.set()
        deadline = gen.cfg.service.stop_deadline_seconds
        if gen.daemon.join(deadline):
            gen.daemon.store.close()
            return True
        stuck = sorted(n for n, running in gen.daemon.alive().items() if running)
        log.error("stop deadline passed; abandoning loops still busy", loops=stuck,
                  deadline_seconds=deadline)
        return False

    def _reload(self) -> None:
        old = self._current()
        self.sd.reloading()
        try:
            cfg = load_config(self.config_path)
        except ConfigError as exc:
            log.error("reload refused: the configuration is not valid; keeping the running one",
                      config=str(self.config_path), errors=exc.errors)
            self.sd.ready(status=self._status_line(old) + " | reload refused: invalid configuration")
            return
        if cfg.state_dir.resolve() != old.cfg.state_dir.resolve():
            log.error("reload refused: state_dir cannot change while running; restart the service",
                      old=str(old.cfg.state_dir), new=str(cfg.state_dir))
            self.sd.ready(status=self._status_line(old) + " | reload refused: state_dir changed")
            return
        log.info("reloading configuration", config=str(self.config_path))
        self._stop_generation(old)
        self._configure_logging(cfg)
        try:
            gen = self._start_generation(cfg)
        except ConfigError as exc:
            log.error("reload failed: cannot build the loops; back to the previous configuration",
                      errors=exc.errors)
            self._configure_logging(old.cfg)
            gen = self._start_generation(old.cfg)
        if (gen.cfg.status.http, gen.cfg.console) != (old.cfg.status.http, old.cfg.console):
            self._stop_servers()
            self.servers = self._bind_servers(gen.cfg, required=False)
            for server in self.servers:
                server.start()
        self.sd.ready(status=self._status_line(gen))
        log.info("configuration reloaded", loops=[lp.name for lp in gen.daemon.loops])

    # Pieces -----------------------------------------------------------------------------
    def _bind_servers(self, cfg: Config, *, required: bool) -> list[HttpServer]:
        """The console (console.http; it serves /healthz, /status, /metrics too) and
        status.http, the same server without the pages, when it names another address."""
        from service.console.server import console_server, status_server

        view = lambda: self._current().view  # noqa: E731 - the current generation's, at each request
        wanted: list[tuple[str, str, Callable[[], HttpServer]]] = []
        if cfg.console.http:
            wanted.append(("console.http", cfg.console.http,
                           lambda: console_server(cfg, view)))
        if cfg.status.http and cfg.status.http != cfg.console.http:
            address = cfg.status.http
            wanted.append(("status.http", address, lambda: status_server(address, view)))
        servers: list[HttpServer] = []
        for key, address, make in wanted:
            try:
                servers.append(make())
            except (OSError, ValueError, ConfigError) as exc:
                problem = (exc.errors[0] if isinstance(exc, ConfigError) and exc.errors else
                           f"{key}: cannot listen on {address}: "
                           f"{getattr(exc, 'strerror', None) or exc}")
                if required:
                    for s in servers:
                        s.close()
                    raise ConfigError([problem], source=str(cfg.source_path)) from None
                log.error("http server not started", problem=problem)
        return servers

    def _stop_servers(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers = []

    def _configure_logging(self, cfg: Config) -> None:
        root = logging.getLogger()
        # configure_logging closes every root handler; ours live across reloads.
        for h in [self._alert_handler, *self.extra_log_handlers]:
            if h is not None:
                root.removeHandler(h)
        configure_logging("debug" if self.debug else cfg.log.level, cfg.log.dir, cfg.log.format,
                          cfg.log.max_bytes, cfg.log.backups, console=self.console_logs)
        self._close_notifier()
        self.notifier = Notifier(cfg.notifications, cfg.company)
        self._alert_handler = AlertHandler(self.notifier) if self.notifier.enabled else None
        for h in [self._alert_handler, *self.extra_log_handlers]:
            if h is not None:
                root.addHandler(h)

    def _close_notifier(self) -> None:
        if self.notifier is not None:
            self.notifier.flush(5.0)
            self.notifier.close(5.0)
        if self._alert_handler is not None:
            logging.getLogger().removeHandler(self._alert_handler)
            self._alert_handler = None
        self.notifier = None

    @staticmethod
    def _status_line(gen: _Generation) -> str:
        health = gen.view.health()
        line = gen.daemon.summary()
        return line if health.ok else f"{line} | unhealthy: {health.describe()}"


def run_daemon(config_path: str | Path | None, debug: bool = False) -> int:
    return Runner(config_path, debug=debug).run()
