"""Geocoding facts for `connector status` and /status: cached, pending, failed."""

from __future__ import annotations

from typing import Any

from connector.config import Config
from connector.geocode import texts
from connector.geocode.cache import FAILED, GeocodeCache
from connector.geocode.limiter import paused_until
from connector.geocode.resolver import rate_for
from connector.i18n import _
from connector.state import StateStore
from connector.timefmt import fmt_time


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    g = cfg.geocode
    counts = GeocodeCache(store).counts()
    if not g.enabled and not any(counts.values()):
        return {"enabled": False}
    cache = GeocodeCache(store)
    return {
        "enabled": g.enabled,
        "provider": g.provider,
        "requests_per_second": rate_for(g),
        "cached": counts["found"] + counts["manual"],
        "pending": counts["pending"],
        "failed": counts["failed"],
        "counts": counts,
        "paused_until": paused_until(store, g.provider),
        "last_failures": [
            {"id": e.id, "address": e.address.text, "error": e.last_error,
             "next_try_at": e.next_try_at}
            for e in cache.with_status((FAILED,), limit=3)],
    }


def render(section: dict[str, Any]) -> list[str]:
    if not section.get("enabled") and "counts" not in section:
        return [_(texts.STATUS_OFF)]
    head = (_(texts.STATUS_HEAD).format(provider=section["provider"],
                                        rate=f"{section['requests_per_second']:g}")
            if section.get("enabled") else _(texts.STATUS_OFF) + ",")
    c = section["counts"]
    lines = [head, _(texts.STATUS_COUNTS).format(cached=section["cached"], **c)]
    if section.get("paused_until"):
        lines.append(_(texts.STATUS_PAUSED).format(when=fmt_time(section["paused_until"])))
    if section.get("last_failures"):
        lines.append(_(texts.STATUS_LAST_FAILED))
        for f in section["last_failures"]:
            lines.append(f"    #{f['id']} {f['address']}: {f['error']}")
    return lines
