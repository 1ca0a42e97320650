"""The composition root: build the loops from the configuration, run each in a
supervised thread, stop them all with the one stop event.

A loop is anything with a `name` and `run(stop, beat)`: it calls `beat()` at least
once per iteration (the service layer turns stale heartbeats into a failing
/healthz and missing systemd watchdog pings) and returns soon after `stop` is set. A
loop that runs but cannot do its work (the export while the Dropbox folder is missing)
says why in its `outage` attribute (str or None); /healthz fails with it.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from typing import Protocol

import structlog

from connector.config import Config
from connector.errors import AuthError, ConfigError, ConnectorError
from connector.ports import Geocoder, Heartbeat
from connector.state import StateStore

log = structlog.get_logger("connector.app")
_HEALTHY_RUN = 300.0  # a loop that ran this long before crashing starts its backoff afresh


class Loop(Protocol):
    name: str

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None: ...


# Each factory module has build_loops(cfg, store) -> list[Loop] ("module:function" names
# another factory) and decides itself what runs; a part its configuration switches off
# is not even imported (start-up time).
LOOP_FACTORIES: tuple[tuple[str, Callable[[Config], bool]], ...] = (
    ("adapters.appmanager.sandbox_loop", lambda cfg: cfg.sandbox.enabled),
    ("connector.export.loop", lambda cfg: cfg.export.enabled),
    ("connector.importing.loop", lambda cfg: cfg.import_.enabled),
    ("connector.legacy.loop", lambda cfg: cfg.import_.enabled),
    ("connector.extract.loop", lambda cfg: cfg.extract.enabled),
    ("connector.app:geocode_loops", lambda cfg: cfg.geocode.enabled),
)


def build_loops(cfg: Config, store: StateStore) -> list[Loop]:
    loops: list[Loop] = []
    for name, wanted in LOOP_FACTORIES:
        if not wanted(cfg):
            continue
        name, _, factory = name.partition(":")
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        loops.extend(getattr(module, factory or "build_loops")(cfg, store))
    return loops


def build_geocoder(cfg: Config) -> Geocoder:
    """The geocoder adapter of `geocode:`, with its key read from the environment."""
    from adapters.geocode import GeocoderSettings
    from adapters.geocode import build_geocoder as build
    from connector import __version__
    from connector.config import secret
    from connector.geocode import texts

    g = cfg.geocode
    key = secret(g.api_key_env)
    if g.api_key_env and key is None:
        raise ConfigError([texts.KEY_NOT_SET.format(env=g.api_key_env, provider=g.provider)])
    agent = g.user_agent or f"icommerce-connector/{__version__} ({cfg.company})"
    return build(GeocoderSettings(
        provider=g.provider, user_agent=agent, url=g.url, api_key=key,
        timeout=g.timeout_seconds, language=g.language, ca_bundle=g.ca_bundle, proxy=g.proxy))


def geocode_loops(cfg: Config, store: StateStore) -> list[Loop]:
    from connector.geocode.loop import GeocodeLoop

    return [GeocodeLoop(cfg.geocode, store, lambda: build_geocoder(cfg))]


class Daemon:
    """Runs every loop in its own thread; a loop that crashes is restarted with backoff."""

    def __init__(self, cfg: Config, store: StateStore | None = None,
                 loops: list[Loop] | None = None) -> None:
        self.cfg = cfg
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


def import_optional(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise
