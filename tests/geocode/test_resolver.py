"""The background pass against the stand-in: each address asked once, hits without a
request, failures remembered and retried later, 429s and Retry-After honoured, the rate
limit kept (every request the server saw was granted, the grants spaced on the limiter's
clock), a refused key stops the pass."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from connector.app import build_geocoder
from connector.config import Config
from connector.errors import AuthError
from connector.geocode.address import normalise
from connector.geocode.cache import FAILED, FOUND, IMPRECISE, NOT_FOUND, PENDING, GeocodeCache
from connector.geocode.fill import CacheLookup
from connector.geocode.limiter import RateLimiter
from connector.geocode.loop import GeocodeLoop
from connector.geocode.resolver import Resolver
from connector.state import StateStore
from tests.geocode.conftest import PADOVA, VERONA, FakeTime, assert_spaced
from tests.geocode.standin import Place, StandIn

ADDRESSES = {
    "padova": ("Via Roma 1", "35100", "Padova", "PD"),
    "verona": ("Piazza Bra 2", "37121", "Verona", "VR"),
    "nowhere": ("Via Inesistente 9", "35100", "Padova", "PD"),
    "rovigo": ("", "45100", "Rovigo", "RO"),
}


def seed(store: StateStore, *names: str) -> dict[str, str]:
    keys = {}
    items = []
    for n in names:
        a = normalise(*ADDRESSES[n], "", "IT")
        assert a is not None
        keys[n] = a.key
        items.append((a, f"io_clifor_gen {n}"))
    GeocodeCache(store).note_pending(items)
    return keys


def status_of(store: StateStore, key: str) -> Any:
    return store.query_one("SELECT * FROM geocode_cache WHERE key = ?", (key,))


def resolver(cfg: Config, store: StateStore, stop: threading.Event | None = None) -> Resolver:
    return Resolver(cfg.geocode, store, build_geocoder(cfg), stop or threading.Event())


class Recording(RateLimiter):
    """The limiter the resolver uses, on a shared fake clock, noting each grant."""

    def __init__(self, state: Any, t: FakeTime, per_second: float, grants: list[float]) -> None:
        super().__init__(StateStore(state), "nominatim", per_second, clock=t.clock,
                         wall=t.wall_clock, sleep=t.sleep)
        self.grants = grants

    def acquire(self, stop: threading.Event, beat: Any = lambda: None) -> bool:
        granted = super().acquire(stop, beat)
        if granted:
            assert self.last_granted_at is not None
            self.grants.append(self.last_granted_at)
        return granted


def test_each_address_is_asked_once_and_hits_need_no_request(geo_config: Any, store: StateStore,
                                                              standin: StandIn) -> None:
    cfg = geo_config()
    keys = seed(store, "padova", "verona", "nowhere")
    result = resolver(cfg, store).run_pass()
    assert (result.asked, result.found, result.not_found) == (3, 2, 1)
    assert len(standin.requests) == 3
    row = status_of(store, keys["padova"])
    assert (row["status"], row["latitude"], row["longitude"]) == (FOUND, PADOVA.lat, PADOVA.lon)
    assert (row["provider"], row["quality"], row["label"]) == ("nominatim", "house", PADOVA.label)
    assert status_of(store, keys["nowhere"])["status"] == NOT_FOUND

    # A second pass, new drops of the same addresses, publish-time lookups: no request.
    seed(store, "padova", "verona", "nowhere")
    assert resolver(cfg, store).run_pass().asked == 0
    lookup = CacheLookup(GeocodeCache(store))
    a = normalise(*ADDRESSES["verona"], "Italia", "IT")
    assert a is not None and lookup(a, lambda: "x") == (VERONA.lat, VERONA.lon)
    assert len(standin.requests) == 3


def test_not_found_is_asked_again_only_after_the_configured_days(geo_config: Any,
                                                                  store: StateStore,
                                                                  standin: StandIn) -> None:
    cfg = geo_config(retry_not_found_days=30)
    keys = seed(store, "nowhere")
    resolver(cfg, store).run_pass()
    row = status_of(store, keys["nowhere"])
    assert row["next_try_at"] > time.time() + 29 * 86400
    standin.places["INESISTENTE"] = Place(45.0, 11.0)  # the map learnt the street meanwhile
    store.execute("UPDATE geocode_cache SET next_try_at = ?", (time.time() - 1,))
    assert resolver(cfg, store).run_pass().found == 1
    assert status_of(store, keys["nowhere"])["status"] == FOUND


def test_failures_are_remembered_and_retried_later(geo_config: Any, store: StateStore,
                                                   standin: StandIn) -> None:
    """A provider that keeps failing ends the pass: the address is `failed` with a next
    try in the future (not asked on every pass), then asked again and found."""
    cfg = geo_config(attempts=2, retry_failed_minutes=60)
    keys = seed(store, "padova", "verona")
    standin.script.extend(["500", "500"])
    result = resolver(cfg, store).run_pass()
    assert (result.failed, result.found) == (1, 0) and result.provider_failing
    assert len(standin.requests) == 2  # two attempts at the first address, then the pass ended
    row = status_of(store, keys["padova"])
    assert row["status"] == FAILED and row["attempts"] == 1 and "HTTP 500" in row["last_error"]
    assert row["next_try_at"] > time.time() + 59 * 60
    # The next pass goes on with the others; the failed one waits for its time.
    assert resolver(cfg, store).run_pass().found == 1
    assert status_of(store, keys["padova"])["status"] == FAILED
    store.execute("UPDATE geocode_cache SET next_try_at = ? WHERE key = ?",
                  (time.time() - 1, keys["padova"]))
    assert resolver(cfg, store).run_pass().found == 1
    assert status_of(store, keys["padova"])["status"] == FOUND


def test_a_second_failure_waits_twice_as_long(geo_config: Any, store: StateStore,
                                              standin: StandIn) -> None:
    cfg = geo_config(attempts=1, retry_failed_minutes=10)
    keys = seed(store, "padova")
    standin.script.extend(["500", "500"])
    resolver(cfg, store).run_pass()
    store.execute("UPDATE geocode_cache SET next_try_at = 0")
    resolver(cfg, store).run_pass()
    row = status_of(store, keys["padova"])
    assert row["attempts"] == 2 and row["next_try_at"] > time.time() + 19 * 60


@pytest.mark.parametrize("fault", ["malformed", "shape", ("slow", 3), "hang", "500"])
def test_one_bad_answer_is_retried_within_the_pass(geo_config: Any, store: StateStore,
                                                   standin: StandIn, fault: object) -> None:
    """Not JSON, not the documented shape, slower than the timeout, a hang, a 5xx: the
    next attempt (through the retry policy) gets the answer."""
    cfg = geo_config(attempts=2, timeout_seconds=1)
    keys = seed(store, "padova")
    standin.script.append(fault)
    assert resolver(cfg, store).run_pass().found == 1
    assert len(standin.requests) == 2
    assert status_of(store, keys["padova"])["status"] == FOUND


def test_429_retry_after_is_honoured(geo_config: Any, store: StateStore,
                                     standin: StandIn, tmp_path: Any) -> None:
    """The Retry-After becomes the limiter's pause: the retry is granted only after the
    limiter itself waited it out (on its clock, so no wall time is measured)."""
    cfg = geo_config(attempts=3)
    seed(store, "padova")
    standin.script.append(("429", 1))
    grants: list[float] = []
    t = FakeTime()
    lim = Recording(tmp_path / "state", t, 50, grants)
    r = Resolver(cfg.geocode, store, build_geocoder(cfg), threading.Event(), limiter=lim)
    assert r.run_pass().found == 1
    assert len(standin.requests) == len(grants) == 2
    assert sum(t.waits) >= 1.0 and lim.paused_until() is None


def test_a_long_retry_after_pauses_every_process(geo_config: Any, store: StateStore,
                                                 standin: StandIn, tmp_path: Any) -> None:
    cfg = geo_config(attempts=3)
    keys = seed(store, "padova", "verona")
    standin.script.append(("429", 600))
    result = resolver(cfg, store).run_pass()
    assert result.paused_until is not None and result.paused_until > time.time() + 500
    assert result.asked == 0 and len(standin.requests) == 1
    assert status_of(store, keys["padova"])["status"] == PENDING  # not the address's fault
    # Another process (its own connection) is told to wait as well.
    other = RateLimiter(StateStore(tmp_path / "state"), "nominatim", 50)
    assert other._try_take() > 500
    stop = threading.Event()
    stop.set()
    assert resolver(cfg, store, stop).run_pass().stopped


def test_a_refused_key_stops_the_pass(geo_config: Any, store: StateStore,
                                      standin: StandIn) -> None:
    cfg = geo_config()
    keys = seed(store, "padova", "verona")
    standin.script.append("denied")
    with pytest.raises(AuthError) as info:
        resolver(cfg, store).run_pass()
    assert "refused us" in str(info.value)
    assert len(standin.requests) == 1
    assert status_of(store, keys["padova"])["status"] == PENDING


def test_too_vague_a_match_is_kept_but_not_published(geo_config: Any, store: StateStore,
                                                     standin: StandIn) -> None:
    """Only the town: below min_quality (street), kept for support, not on the map."""
    keys = seed(store, "rovigo")
    resolver(geo_config(), store).run_pass()
    row = status_of(store, keys["rovigo"])
    assert row["status"] == IMPRECISE and row["quality"] == "locality"
    assert GeocodeCache(store).point(keys["rovigo"]) is None
    store.execute("UPDATE geocode_cache SET next_try_at = 0")
    resolver(geo_config(min_quality="locality"), store).run_pass()
    assert GeocodeCache(store).point(keys["rovigo"]) is not None


def test_limit(geo_config: Any, store: StateStore, standin: StandIn) -> None:
    seed(store, "padova", "verona", "nowhere")
    assert resolver(geo_config(), store).run_pass(limit=2).asked == 2
    assert len(standin.requests) == 2


def many(store: StateStore, n: int) -> None:
    items = []
    for i in range(n):
        a = normalise(f"Via Roma {i + 100}", "35100", "Padova", "PD", "", "IT")
        assert a is not None
        items.append((a, f"io_clifor_gen C{i}"))
    GeocodeCache(store).note_pending(items)


def test_the_rate_limit_is_kept(geo_config: Any, store: StateStore, standin: StandIn,
                                tmp_path: Any) -> None:
    """12 addresses at 4 requests a second: every request the server saw was granted by
    the limiter, and the grants are one interval (1.02 / 4 s) apart on its clock. No wall
    time is measured: a loaded machine cannot make this fail or pass by chance."""
    many(store, 12)
    grants: list[float] = []
    cfg = geo_config(requests_per_second=4)
    lim = Recording(tmp_path / "state", FakeTime(), 4, grants)
    r = Resolver(cfg.geocode, store, build_geocoder(cfg), threading.Event(), limiter=lim)
    assert r.run_pass().asked == 12
    assert len(standin.requests) == len(grants) == 12
    assert_spaced(grants, 1.02 / 4)


def test_the_rate_limit_holds_across_processes(geo_config: Any, tmp_path: Any,
                                               standin: StandIn) -> None:
    """The daemon's loop and a `connector geocode --once` beside it share one limit: two
    resolvers on their own state-store connections; the union of their grants is spaced."""
    cfg = geo_config(requests_per_second=5)
    many(StateStore(tmp_path / "state"), 16)
    errors: list[BaseException] = []
    grants: list[float] = []
    t = FakeTime()

    def work() -> None:
        try:
            lim = Recording(tmp_path / "state", t, 5, grants)
            Resolver(cfg.geocode, StateStore(tmp_path / "state"), build_geocoder(cfg),
                     threading.Event(), limiter=lim).run_pass(limit=8)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors and len(standin.requests) >= 8
    assert len(standin.requests) == len(grants)
    assert_spaced(grants, 1.02 / 5)


def test_the_loop_resolves_and_stops(geo_config: Any, store: StateStore,
                                     standin: StandIn) -> None:
    """In the daemon: pending addresses are resolved, then the loop waits; the stop
    event ends it even while a request hangs (within the request's timeout)."""
    cfg = geo_config(idle_seconds=0.2, timeout_seconds=2)
    keys = seed(store, "padova")
    loop = GeocodeLoop(cfg.geocode, store, lambda: build_geocoder(cfg))
    stop = threading.Event()
    beats: list[float] = []
    t = threading.Thread(target=loop.run, args=(stop, lambda: beats.append(time.monotonic())))
    t.start()
    try:
        deadline = time.monotonic() + 20
        while status_of(store, keys["padova"])["status"] != FOUND:
            assert time.monotonic() < deadline, "not resolved"
            time.sleep(0.05)
        standin.script.append("hang")
        seed(store, "verona")  # published meanwhile
        assert standin.hanging.wait(20)
    finally:
        stop.set()
        t.join(15)
    assert not t.is_alive() and beats


def test_refresh_found_days(geo_config: Any, store: StateStore, standin: StandIn) -> None:
    """For providers whose terms limit how long results may be kept: found entries are
    asked again after refresh_found_days; a failed refresh keeps the point meanwhile."""
    cfg = geo_config(refresh_found_days=30, attempts=1)
    keys = seed(store, "padova")
    resolver(cfg, store).run_pass()
    assert resolver(cfg, store).run_pass().asked == 0  # fresh: not asked again
    store.execute("UPDATE geocode_cache SET resolved_at = ?", (time.time() - 31 * 86400,))
    standin.script.append("500")
    assert resolver(cfg, store).run_pass().failed == 1
    row = status_of(store, keys["padova"])
    assert row["status"] == FOUND and GeocodeCache(store).point(keys["padova"]) is not None
    assert resolver(cfg, store).run_pass().asked == 0  # postponed, not hammered
    store.execute("UPDATE geocode_cache SET next_try_at = 0")
    standin.places["ROMA 1"] = Place(45.5, 11.9)  # the provider's map improved
    assert resolver(cfg, store).run_pass().found == 1
    assert GeocodeCache(store).point(keys["padova"]) == (45.5, 11.9)
    assert len(standin.requests) == 3
    store.execute("UPDATE geocode_cache SET resolved_at = 0")
    assert resolver(geo_config(), store).run_pass().asked == 0  # without the option: kept


def test_too_many_requests_after_every_retry_pauses_without_blaming_the_address(
        geo_config: Any, store: StateStore, standin: StandIn, monkeypatch: Any) -> None:
    """Google answers OVER_QUERY_LIMIT for a used-up daily quota too: after the retries
    the provider is left alone for a while; the address stays pending."""
    cfg = geo_config(provider="google", api_key_env="TEST_GEO_KEY", attempts=2)
    monkeypatch.setenv("TEST_GEO_KEY", "k")
    keys = seed(store, "padova")
    standin.script.extend(["429", "429"])
    result = resolver(cfg, store).run_pass()
    assert result.paused_until is not None and result.paused_until > time.time() + 800
    assert len(standin.requests) == 2
    assert status_of(store, keys["padova"])["status"] == PENDING
    assert RateLimiter(store, "google", 10)._try_take() > 800
