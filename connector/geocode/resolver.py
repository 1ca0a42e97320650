"""One pass of the geocoder over the addresses that are due, within the rate limit.

Each address is asked through the one retry policy (connector/retry.py): timeouts, 5xx,
malformed answers and 429s are retried with backoff, a Retry-After is honoured (and
pauses every process through the limiter). What still fails is remembered as `failed`
and asked again later, after a wait that doubles; "no result" is remembered for
`retry_not_found_days`. A refused key (AuthError) ends the pass and is raised: the
operator must act. Publishing never waits for any of this.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from connector import metrics
from connector.config import GeocodeConfig
from connector.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    PermanentError,
    RateLimited,
    StopRequested,
    TransientError,
)
from connector.geocode import texts
from connector.geocode.cache import FOUND, IMPRECISE, Entry, GeocodeCache
from connector.geocode.limiter import RateLimiter
from connector.ports import Geocoder, GeoMatch, GeoQuery
from connector.retry import retrying
from connector.state import StateStore

log = structlog.get_logger(__name__)

# Requests a second when geocode.requests_per_second is not set: each provider's policy
# or free tier (public Nominatim: "an absolute maximum of 1 request per second").
DEFAULT_RATES = {"nominatim": 1.0, "google": 10.0, "opencage": 1.0, "mapbox": 5.0, "here": 5.0,
                 "photon": 1.0, "pelias": 5.0}
_RANK = {"house": 0, "street": 1, "locality": 2, "region": 3}
MAX_WAIT_IN_PASS = 60.0  # a longer Retry-After pauses the provider instead of holding the pass
MAX_PAUSE = 24 * 3600.0
MAX_FAILED_BACKOFF = 7 * 86400.0
RATE_LIMITED_PAUSE = 900.0  # after every retry of one address was refused as too many
BATCH = 50


def rate_for(cfg: GeocodeConfig) -> float:
    return cfg.requests_per_second or DEFAULT_RATES.get(cfg.provider, 1.0)


def acceptable(quality: str, min_quality: str) -> bool:
    """Good enough to publish? A provider that does not say ("unknown") is trusted."""
    if min_quality == "any" or quality not in _RANK:
        return True
    return _RANK[quality] <= _RANK.get(min_quality, 1)


class ProviderPaused(ConnectorError):
    """The provider asked for a longer pause than a pass waits: come back later."""

    def __init__(self, message: str, until: float) -> None:
        super().__init__(message, until=until)
        self.until = until


@dataclass
class PassResult:
    asked: int = 0
    found: int = 0
    imprecise: int = 0
    not_found: int = 0
    failed: int = 0
    stopped: bool = False
    paused_until: float | None = None
    provider_failing: str | None = None  # the pass ended early: the provider keeps failing


class Resolver:
    def __init__(self, cfg: GeocodeConfig, store: StateStore, geocoder: Geocoder,
                 stop: threading.Event, beat: Callable[[], None] = lambda: None,
                 limiter: RateLimiter | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.cache = GeocodeCache(store)
        self.geocoder = geocoder
        self.stop = stop
        self.beat = beat
        self.limiter = limiter or RateLimiter(store, cfg.provider, rate_for(cfg))
        self.refresh_after = (cfg.refresh_found_days * 86400.0
                              if cfg.refresh_found_days is not None else None)

    def run_pass(self, limit: int | None = None) -> PassResult:
        """Ask for every due address (at most `limit`), oldest first."""
        result = PassResult()
        while not self.stop.is_set():
            room = BATCH if limit is None else min(BATCH, limit - result.asked)
            if room <= 0:
                break
            due = self.cache.due(room, refresh_after=self.refresh_after)
            if not due:
                break
            for entry in due:
                self.beat()
                if self.stop.is_set() or not self._one(entry, result):
                    return result
        result.stopped = result.stopped or self.stop.is_set()
        return result

    def _one(self, entry: Entry, result: PassResult) -> bool:
        """Ask for one address; False when the pass must end."""
        try:
            match = retrying(attempts=self.cfg.attempts, initial=1.0, maximum=30.0,
                             stop=self.stop, what="geocode")(self._ask, entry.address.query())
        except StopRequested:
            result.stopped = True
            return False
        except ProviderPaused as exc:
            result.paused_until = exc.until
            log.warning("geocoder asked us to pause", provider=self.cfg.provider,
                        until=exc.until)
            self.store.record_event("warning", "geocode", str(exc))
            return False
        except (AuthError, ConfigError):
            raise  # the operator must act: the daemon records it and stops the loop
        except RateLimited as exc:
            # Still "too many" after every retry (Google says so for a used-up daily quota
            # too): not this address's fault; leave the provider alone for a while.
            until = time.time() + max(exc.retry_after or 0.0, RATE_LIMITED_PAUSE)
            self.limiter.pause(until - time.time())
            result.paused_until = until
            log.warning("geocoder keeps saying too many requests, pausing",
                        provider=self.cfg.provider, until=until)
            self.store.record_event("warning", "geocode", texts.PROVIDER_PAUSED.format(
                provider=self.cfg.provider, seconds=round(until - time.time())))
            return False
        except (TransientError, PermanentError, ConnectorError) as exc:
            result.asked += 1
            result.failed += 1
            attempts = entry.attempts + 1 if entry.status != FOUND else 1
            wait = min(self.cfg.retry_failed_minutes * 60.0 * 2 ** (attempts - 1),
                       MAX_FAILED_BACKOFF)
            if entry.status == FOUND:  # a refresh: the map keeps the point meanwhile
                self.cache.postpone(entry.id, str(exc), time.time() + wait)
            else:
                self.cache.record_failure(entry.id, self.cfg.provider, str(exc), attempts,
                                          time.time() + wait)
            metrics.inc("connector_geocode_requests_total", help="Addresses asked",
                        outcome="failed")
            log.warning("address not geocoded, asked again later", entry=entry.id,
                        error=str(exc), retry_in_s=round(wait))
            if isinstance(exc, TransientError):
                # The provider is failing, not this address: stop here, the loop comes back.
                result.provider_failing = str(exc)
                self.store.record_event("warning", "geocode", texts.PROVIDER_FAILING.format(
                    provider=self.cfg.provider, error=exc))
                return False
            return True
        result.asked += 1
        self._record(entry, match, result)
        return True

    def _ask(self, query: GeoQuery) -> GeoMatch | None:
        self.beat()  # each attempt: a pass of slow answers and retries is not a hang
        if not self.limiter.acquire(self.stop, self.beat):
            raise StopRequested("stop requested while waiting for the rate limit")
        try:
            return self.geocoder.geocode(query)
        except RateLimited as exc:
            wait = exc.retry_after
            if wait is not None and wait > 0:
                self.limiter.pause(min(wait, MAX_PAUSE))
            if wait is not None and wait > MAX_WAIT_IN_PASS:
                until = time.time() + min(wait, MAX_PAUSE)
                raise ProviderPaused(texts.PROVIDER_PAUSED.format(
                    provider=self.cfg.provider, seconds=round(wait)), until) from exc
            raise

    def _record(self, entry: Entry, match: GeoMatch | None, result: PassResult) -> None:
        later = time.time() + self.cfg.retry_not_found_days * 86400.0
        if match is None:
            result.not_found += 1
            self.cache.record_not_found(entry.id, self.cfg.provider, later)
            outcome = "not_found"
        elif acceptable(match.quality, self.cfg.min_quality):
            result.found += 1
            self.cache.record_match(entry.id, match, FOUND)
            outcome = "found"
        else:
            result.imprecise += 1
            self.cache.record_match(entry.id, match, IMPRECISE, next_try_at=later)
            outcome = "imprecise"
        metrics.inc("connector_geocode_requests_total", help="Addresses asked", outcome=outcome)
        log.debug("address geocoded", entry=entry.id, outcome=outcome,
                 quality=match.quality if match else None)
