"""The read-ahead thread: how far ahead it reads, restarts, errors, closing."""

from __future__ import annotations

import threading
import time

import pytest

from connector.errors import TransientError
from connector.importing.readahead import ReadAhead
from connector.model import PageMeta, RawPage


class _Queue:
    """A fake feed: pages of `size` ids after lastID, up to `top`; records what was asked."""

    def __init__(self, top: int, size: int = 5, fail_at: int | None = None) -> None:
        self.top, self.size, self.fail_at = top, size, fail_at
        self.asked: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def fetch(self, stream: str, last_id: int, limit: int) -> RawPage:
        self.entered.set()
        self.gate.wait(5)
        self.asked.append(last_id)
        if last_id == self.fail_at:
            raise TransientError("AppManager: server error HTTP 503")
        ids = list(range(last_id + 1, min(last_id + limit, self.top) + 1))
        raws = tuple(f'{{"id": {i}}}'.encode() for i in ids)
        return RawPage(stream, raws, ids[-1] if ids else None, PageMeta())


def _next_id(asked: int, raw: RawPage) -> int | None:
    return raw.last_id if raw.raw_count >= 5 and raw.last_id is not None else None


def _reader(feed: _Queue, depth: int = 3) -> ReadAhead:
    return ReadAhead(feed.fetch, "orders", 5, _next_id, threading.Event(), depth=depth)


def _wait_for(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_pages_come_in_order_and_stop_at_the_last_one() -> None:
    feed = _Queue(top=23)
    reader = _reader(feed)
    reader.restart(0)
    got = [reader.get() for _ in range(5)]
    reader.close()
    assert [a for a, _ in got] == [0, 5, 10, 15, 20]
    assert [p.raw_count for _, p in got] == [5, 5, 5, 5, 3]
    assert feed.asked == [0, 5, 10, 15, 20]  # nothing after the short page


def test_it_reads_no_more_than_depth_pages_ahead() -> None:
    feed = _Queue(top=1000)
    reader = _reader(feed, depth=2)
    reader.restart(0)
    _wait_for(lambda: len(feed.asked) >= 2)
    time.sleep(0.1)
    assert feed.asked == [0, 5]  # two pages wait; the third is not asked for yet
    assert reader.get()[0] == 0
    _wait_for(lambda: len(feed.asked) >= 3)
    reader.close()
    assert feed.asked == [0, 5, 10]


def test_restart_drops_what_was_read_ahead() -> None:
    feed = _Queue(top=1000)
    reader = _reader(feed, depth=3)
    reader.restart(0)
    _wait_for(lambda: len(feed.asked) >= 3)
    reader.restart(100)
    asked, page = reader.get()
    reader.close()
    assert asked == 100 and page.last_id == 105


def test_a_failed_fetch_is_raised_to_the_poller_in_its_turn() -> None:
    feed = _Queue(top=1000, fail_at=10)
    reader = _reader(feed)
    reader.restart(0)
    assert reader.get()[0] == 0
    assert reader.get()[0] == 5
    with pytest.raises(TransientError, match="503"):
        reader.get()
    reader.close()
    assert feed.asked == [0, 5, 10]  # nothing asked after the failure


def test_close_waits_for_the_request_in_flight() -> None:
    feed = _Queue(top=1000)
    feed.gate.clear()
    reader = _reader(feed)
    reader.restart(0)
    assert feed.entered.wait(5)
    closer = threading.Thread(target=reader.close)
    closer.start()
    time.sleep(0.1)
    assert closer.is_alive()  # the feed is not left to a thread still using it
    feed.gate.set()
    closer.join(5)
    assert not closer.is_alive()
    assert feed.asked == [0]


def test_get_without_a_request_is_a_bug_not_a_hang() -> None:
    reader = _reader(_Queue(top=3))
    with pytest.raises(RuntimeError):
        reader.get()
    reader.close()
