"""The geocoding loop of the daemon: a pass over what is due, then a wait.

New addresses arrive from publishing (as pending cache entries), so the loop looks
again every `idle_seconds`, or sooner when a failed or paused address falls due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from connector.config import GeocodeConfig
from connector.geocode.cache import GeocodeCache
from connector.geocode.resolver import Resolver
from connector.ports import Geocoder
from connector.state import StateStore

log = structlog.get_logger(__name__)
_BEAT_EVERY = 15.0


class GeocodeLoop:
    name = "geocode"

    def __init__(self, cfg: GeocodeConfig, store: StateStore,
                 make_geocoder: Callable[[], Geocoder]) -> None:
        self.cfg = cfg
        self.store = store
        self.make_geocoder = make_geocoder

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        geocoder = self.make_geocoder()
        cache = GeocodeCache(self.store)
        log.info("geocoding addresses", provider=geocoder.name)
        try:
            resolver = Resolver(self.cfg, self.store, geocoder, stop, beat)
            while not stop.is_set():
                beat()
                result = resolver.run_pass()
                if result.asked:
                    log.info("geocoding pass", asked=result.asked, found=result.found,
                             not_found=result.not_found, imprecise=result.imprecise,
                             failed=result.failed)
                wait = self.cfg.idle_seconds
                if result.provider_failing is None and result.paused_until is None:
                    due = cache.next_due_at(resolver.refresh_after)
                    if due is not None:
                        wait = min(wait, max(1.0, due - time.time()))
                elif result.paused_until is not None:
                    wait = max(wait, result.paused_until - time.time())
                end = time.monotonic() + wait
                while not stop.is_set() and (left := end - time.monotonic()) > 0:
                    beat()
                    stop.wait(min(left, _BEAT_EVERY))
        finally:
            geocoder.close()
