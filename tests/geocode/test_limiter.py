"""The rate limiter's guarantee, checked without timing: on a fake clock whose only way
forward is the limiter's own wait, every two grants are at least one interval apart,
across limiters on their own state-store connections (the daemon and `connector geocode
--once`), whatever the wall clock does."""

from __future__ import annotations

import threading
from pathlib import Path

from connector.geocode.limiter import FILENAME, RateLimiter
from connector.state import StateStore
from tests.geocode.conftest import FakeTime, assert_spaced


def limiter(state: Path, t: FakeTime, per_second: float = 4.0) -> RateLimiter:
    return RateLimiter(StateStore(state), "nominatim", per_second, clock=t.clock,
                       wall=t.wall_clock, sleep=t.sleep)


def take(lim: RateLimiter, n: int, grants: list[float], stop: threading.Event | None = None) -> None:
    for _ in range(n):
        assert lim.acquire(stop or threading.Event())
        assert lim.last_granted_at is not None
        grants.append(lim.last_granted_at)


def test_grants_are_one_interval_apart_and_no_more(tmp_path: Path) -> None:
    t = FakeTime()
    lim = limiter(tmp_path / "state", t)
    assert lim.interval == 1.02 / 4
    grants: list[float] = []
    take(lim, 20, grants)
    assert_spaced(grants, lim.interval)
    # Not slower than needed either: the first at once, then one interval each.
    assert grants[0] == 1000.0
    assert grants[-1] - grants[0] < 19 * lim.interval + 1e-6


def test_two_limiters_on_their_own_connections_share_the_spacing(tmp_path: Path) -> None:
    t = FakeTime()
    grants: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        mine: list[float] = []
        try:
            take(limiter(tmp_path / "state", t), 15, mine)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        with lock:
            grants.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors and len(grants) == 45
    assert_spaced(grants, 1.02 / 4)


def test_a_wall_clock_step_does_not_bunch_requests(tmp_path: Path) -> None:
    t = FakeTime()
    lim = limiter(tmp_path / "state", t)
    grants: list[float] = []
    take(lim, 1, grants)
    t.wall += 3600.0  # NTP steps the wall clock an hour ahead
    take(lim, 1, grants)
    t.wall -= 7200.0  # and two hours back
    take(lim, 2, grants)
    assert_spaced(grants, lim.interval)


def test_a_mark_of_another_boot_is_dropped(tmp_path: Path) -> None:
    """A mark far ahead of the monotonic clock (another boot, or an older version's
    wall-clock mark) would hold every request for days: it is ignored."""
    t = FakeTime()
    lim = limiter(tmp_path / "state", t)
    StateStore(tmp_path / "state", FILENAME).execute(
        "INSERT INTO geocode_rate(provider, next_at) VALUES ('nominatim', 1.7e9)")
    assert lim.acquire(threading.Event()) and t.waits == []


def test_a_pause_holds_every_limiter_on_the_wall_clock(tmp_path: Path) -> None:
    t = FakeTime()
    first, other = limiter(tmp_path / "state", t), limiter(tmp_path / "state", t)
    first.pause(30.0)
    assert other.paused_until() == t.wall + 30.0
    assert other.acquire(threading.Event())
    assert sum(t.waits) >= 30.0
    assert other.paused_until() is None


def test_stop_ends_the_wait(tmp_path: Path) -> None:
    t = FakeTime()
    lim = limiter(tmp_path / "state", t)
    assert lim.acquire(threading.Event())
    stop = threading.Event()
    stop.set()
    assert not lim.acquire(stop)
