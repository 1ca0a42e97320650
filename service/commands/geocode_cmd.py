"""connector geocode [--once] [--limit N] | --show TEXT | --list STATUS | --forget TEXT |
--set TEXT LAT LON | --retry.

Resolving asks the configured geocoder for the addresses that are due (the daemon's loop
does the same continuously); the other actions look at and correct the cache, with or
without the daemon running. TEXT is some words of the address (street, CAP, city, or the
customer or lead code it was seen with) or an entry's number, `#12`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from connector.config import Config
from connector.i18n import _

_LISTABLE = {"pending": "pending", "found": "found", "manual": "manual",
             "not-found": "not_found", "imprecise": "imprecise", "failed": "failed"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("geocode", help="geocode customers', destinations' and leads' addresses; "
                                       "see and fix the cache")
    p.add_argument("--once", action="store_true",
                   help="one pass over the addresses that are due, then exit (without it: "
                        "keep going until Ctrl-C, as the daemon does)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="ask for at most N addresses")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--show", metavar="TEXT", help="the cache entries matching TEXT, in full")
    act.add_argument("--list", choices=sorted(_LISTABLE), metavar="STATUS",
                     help=f"the entries in one state ({', '.join(sorted(_LISTABLE))})")
    act.add_argument("--forget", metavar="TEXT",
                     help="forget one entry's result: it is asked again on the next pass")
    act.add_argument("--set", nargs=3, metavar=("TEXT", "LAT", "LON"),
                     help="set one entry's coordinates by hand (dot decimals, e.g. 45.406 11.876)")
    act.add_argument("--retry", action="store_true",
                     help="ask again, on the next pass, every failed, not found or imprecise entry")
    p.set_defaults(func=geocode)


def geocode(args: argparse.Namespace) -> int:
    from connector.geocode.cache import GeocodeCache
    from connector.state import StateStore
    from service.commands import config_from, setup_logging

    cfg = config_from(args)
    setup_logging(args, cfg)  # log lines to the log file; -v shows them
    store = StateStore(cfg.state_dir)
    cache = GeocodeCache(store)
    if args.limit is not None and args.limit < 1:
        print("connector: --limit must be at least 1", file=sys.stderr)
        return 2
    if args.show is not None:
        return _show(cache, args.show)
    if args.list is not None:
        return _list(cache, _LISTABLE[args.list])
    if args.forget is not None:
        return _forget(cache, args.forget)
    if args.set is not None:
        return _set(cache, *args.set)
    if args.retry:
        from connector.geocode import texts

        print(_(texts.RETRY_DONE).format(count=cache.retry_now()))
        return 0
    return _resolve(cfg, store, args.once, args.limit)


def _resolve(cfg: Config, store: object, once: bool, limit: int | None) -> int:
    from connector.app import build_geocoder
    from connector.geocode import texts
    from connector.geocode.cache import GeocodeCache
    from connector.geocode.loop import GeocodeLoop
    from connector.geocode.resolver import Resolver, rate_for
    from connector.state import StateStore
    from connector.status import fmt_time

    assert isinstance(store, StateStore)
    if not cfg.geocode.enabled:
        print(f"connector: {_(texts.OFF)}", file=sys.stderr)
        return 2
    stop, restore = _stop_on_signals()
    try:
        if not once and limit is None:
            print(_(texts.RUNNING).format(provider=cfg.geocode.provider,
                                       rate=f"{rate_for(cfg.geocode):g}"))
            GeocodeLoop(cfg.geocode, store, lambda: build_geocoder(cfg)).run(stop, lambda: None)
            return 0
        geocoder = build_geocoder(cfg)
        try:
            result = Resolver(cfg.geocode, store, geocoder, stop).run_pass(limit)
        finally:
            geocoder.close()
    finally:
        restore()
    print(_(texts.PASS_DONE).format(asked=result.asked, found=result.found,
                                 imprecise=result.imprecise, not_found=result.not_found,
                                 failed=result.failed))
    if result.paused_until:
        print(_(texts.PAUSED_UNTIL).format(when=fmt_time(result.paused_until)))
    if result.provider_failing:
        print(_(texts.PROVIDER_FAILING_NOW).format(error=result.provider_failing))
    due = len(GeocodeCache(store).due(1000))
    if due:
        print(_(texts.STILL_DUE).format(due=due if due < 1000 else "1000+"))
    return 1 if result.failed else 0


def _stop_on_signals() -> tuple[threading.Event, Callable[[], None]]:
    """A stop event that SIGTERM and Ctrl-C set (the pass ends after the request in
    hand), and how to put the previous handlers back."""
    stop = threading.Event()
    previous: dict[int, Any] = {}

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return stop, restore


def _pick(cache: object, text: str) -> list[object]:
    from connector.geocode.cache import GeocodeCache

    assert isinstance(cache, GeocodeCache)
    if text.startswith("#") and text[1:].isdigit():
        entry = cache.get(int(text[1:]))
        return [entry] if entry else []
    return list(cache.find(text, limit=50))


def _one(cache: object, text: str) -> object | None:
    from connector.geocode import texts

    found = _pick(cache, text)
    if not found:
        print(f"connector: {_(texts.NOTHING_FOUND).format(text=text)}", file=sys.stderr)
        return None
    if len(found) > 1:
        print(f"connector: {_(texts.MANY_FOUND).format(count=len(found), text=text, first=found[0].id)}",  # type: ignore[attr-defined]
              file=sys.stderr)
        for e in found[:20]:
            print(_line(e), file=sys.stderr)
        return None
    return found[0]


def _show(cache: object, text: str) -> int:
    from connector.geocode import texts

    found = _pick(cache, text)
    if not found:
        print(_(texts.NOTHING_FOUND).format(text=text))
        return 1
    for e in found:
        print("\n".join(_details(e)))
    return 0


def _list(cache: object, status: str) -> int:
    from connector.geocode.cache import GeocodeCache

    assert isinstance(cache, GeocodeCache)
    for e in cache.with_status((status,), limit=200):
        print(_line(e))
    return 0


def _forget(cache: object, text: str) -> int:
    from connector.geocode import texts
    from connector.geocode.cache import Entry, GeocodeCache

    assert isinstance(cache, GeocodeCache)
    entry = _one(cache, text)
    if not isinstance(entry, Entry):
        return 1
    cache.forget(entry.id)
    print(_(texts.FORGOTTEN).format(id=entry.id))
    return 0


def _set(cache: object, text: str, lat_text: str, lon_text: str) -> int:
    from connector.geocode import texts
    from connector.geocode.cache import Entry, GeocodeCache
    from connector.geocode.fill import format_coordinate

    assert isinstance(cache, GeocodeCache)
    try:
        lat, lon = float(lat_text.replace(",", ".")), float(lon_text.replace(",", "."))
    except ValueError:
        lat = lon = float("nan")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        print(f"connector: {_(texts.BAD_COORDINATES)}", file=sys.stderr)
        return 2
    entry = _one(cache, text)
    if not isinstance(entry, Entry):
        return 1
    cache.set_manual(entry.id, lat, lon)
    print(_(texts.SET_DONE).format(id=entry.id, lat=format_coordinate(lat),
                                lon=format_coordinate(lon)))
    return 0


def _line(e: object) -> str:
    from connector.geocode import texts
    from connector.geocode.cache import Entry
    from connector.geocode.fill import format_coordinate

    assert isinstance(e, Entry)
    status = _(texts.STATUS_NAMES.get(e.status, e.status))
    tail = ""
    if e.latitude is not None and e.longitude is not None:
        tail = f"{format_coordinate(e.latitude)}, {format_coordinate(e.longitude)}"
    elif e.last_error:
        tail = e.last_error
    return f"#{e.id:<6} {status:<14} {e.address.text}" + (f"   ({tail})" if tail else "")


def _details(e: object) -> list[str]:
    from connector.geocode import texts
    from connector.geocode.cache import Entry
    from connector.geocode.fill import format_coordinate
    from connector.status import fmt_time

    assert isinstance(e, Entry)
    lines = [texts.ENTRY_HEAD.format(id=e.id, address=e.address.text),
             _(texts.ENTRY_STATUS).format(status=_(texts.STATUS_NAMES.get(e.status, e.status)))]
    if e.latitude is not None and e.longitude is not None:
        lines.append(texts.ENTRY_POINT.format(lat=format_coordinate(e.latitude),
                                              lon=format_coordinate(e.longitude)))
    if e.quality or e.label:
        lines.append(_(texts.ENTRY_MATCH).format(
            quality=_(texts.QUALITY_NAMES.get(e.quality or "", e.quality or "-")),
            provider=e.provider or "-", label=e.label or "-"))
    if e.detail:
        lines.append(_(texts.ENTRY_DETAIL).format(detail=e.detail))
    if e.last_error:
        lines.append(_(texts.ENTRY_ERROR).format(attempts=e.attempts, error=e.last_error))
    if e.next_try_at and e.status not in ("found", "manual"):
        lines.append(_(texts.ENTRY_NEXT).format(when=fmt_time(e.next_try_at)))
    lines.append(_(texts.ENTRY_SEEN).format(when=fmt_time(e.first_seen), seen_in=e.seen_in or "-"))
    return lines
