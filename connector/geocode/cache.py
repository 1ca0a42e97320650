"""The geocoding cache in the state store: one row per normalised address.

A row is born `pending` when a published row needs coordinates the cache does not have,
and leaves that state only through the background pass (or an operator):

    pending -> found | imprecise | not_found | failed      (the geocoder's answer)
    failed, not_found, imprecise -> asked again once next_try_at has passed
    any -> manual                                           (`connector geocode --set`)
    any -> pending                                          (`connector geocode --forget`)

Only `found` and `manual` coordinates are ever published. Nothing at publish time asks
the network: it reads here and notes what is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from connector.geocode.address import Address, normalise_text
from connector.ports import GeoMatch
from connector.state import StateStore

DDL = """
CREATE TABLE IF NOT EXISTS geocode_cache (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    street TEXT NOT NULL, postcode TEXT NOT NULL, city TEXT NOT NULL, province TEXT NOT NULL,
    country TEXT NOT NULL, country_code TEXT,
    status TEXT NOT NULL,
    latitude REAL, longitude REAL,
    provider TEXT, quality TEXT, label TEXT, detail TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    next_try_at REAL,
    seen_in TEXT, search TEXT NOT NULL,
    first_seen REAL NOT NULL, resolved_at REAL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS geocode_cache_due ON geocode_cache(status, next_try_at);
"""

PENDING, FOUND, MANUAL = "pending", "found", "manual"
NOT_FOUND, IMPRECISE, FAILED = "not_found", "imprecise", "failed"
STATUSES = (PENDING, FOUND, MANUAL, NOT_FOUND, IMPRECISE, FAILED)
USABLE = (FOUND, MANUAL)
RETRIED = (PENDING, FAILED, NOT_FOUND, IMPRECISE)


@dataclass(frozen=True)
class Entry:
    id: int
    address: Address
    status: str
    latitude: float | None
    longitude: float | None
    provider: str | None
    quality: str | None
    label: str | None
    detail: str | None
    attempts: int
    last_error: str | None
    next_try_at: float | None
    seen_in: str | None
    first_seen: float
    resolved_at: float | None
    updated_at: float

    @property
    def point(self) -> tuple[float, float] | None:
        if self.status in USABLE and self.latitude is not None and self.longitude is not None:
            return (self.latitude, self.longitude)
        return None


_COLUMNS = ("id, street, postcode, city, province, country, country_code, status, latitude, "
            "longitude, provider, quality, label, detail, attempts, last_error, next_try_at, "
            "seen_in, first_seen, resolved_at, updated_at")


def _entry(r: object) -> Entry:
    row = dict(r)  # type: ignore[call-overload]
    address = Address(row["street"], row["postcode"], row["city"], row["province"],
                      row["country"], row["country_code"])
    return Entry(row["id"], address, row["status"], row["latitude"], row["longitude"],
                 row["provider"], row["quality"], row["label"], row["detail"], row["attempts"],
                 row["last_error"], row["next_try_at"], row["seen_in"], row["first_seen"],
                 row["resolved_at"], row["updated_at"])


class GeocodeCache:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        store.ensure_schema("geocode", DDL)

    # Publish time: read, and note what is missing --------------------------------------
    def point(self, key: str) -> tuple[float, float] | None:
        row = self.store.query_one(
            "SELECT latitude, longitude FROM geocode_cache WHERE key = ? AND status IN (?, ?)",
            (key, *USABLE))
        if row is None or row["latitude"] is None or row["longitude"] is None:
            return None
        return (float(row["latitude"]), float(row["longitude"]))

    def usable_points(self) -> dict[str, tuple[float, float]]:
        """Every address with coordinates to publish, for a big file (one query, not N)."""
        return {r["key"]: (float(r["latitude"]), float(r["longitude"])) for r in self.store.query(
            "SELECT key, latitude, longitude FROM geocode_cache WHERE status IN (?, ?) "
            "AND latitude IS NOT NULL AND longitude IS NOT NULL", USABLE)}

    def note_pending(self, items: Iterable[tuple[Address, str]]) -> int:
        """Addresses seen without coordinates: new ones become pending, known ones stay."""
        now = time.time()
        added = 0
        with self.store.transaction() as conn:
            for address, seen_in in items:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO geocode_cache(key, street, postcode, city, province, "
                    "country, country_code, status, next_try_at, seen_in, search, first_seen, "
                    "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (address.key, address.street, address.postcode, address.city,
                     address.province, address.country, address.country_code, PENDING, now,
                     seen_in, _search_text(address, seen_in), now, now))
                added += cur.rowcount
        return added

    # The background pass ----------------------------------------------------------------
    def due(self, limit: int, now: float | None = None,
            refresh_after: float | None = None) -> list[Entry]:
        """What to ask now: pending, and retries whose time has come; with refresh_after
        (seconds), also found entries resolved longer ago than that."""
        now = time.time() if now is None else now
        marks = ",".join("?" * len(RETRIED))
        refresh = ("OR (status = ? AND resolved_at <= ? AND COALESCE(next_try_at, 0) <= ?)"
                   if refresh_after is not None else "")
        extra = (FOUND, now - refresh_after, now) if refresh_after is not None else ()
        return [_entry(r) for r in self.store.query(
            f"SELECT {_COLUMNS} FROM geocode_cache WHERE (status IN ({marks}) "
            f"AND COALESCE(next_try_at, 0) <= ?) {refresh} "
            "ORDER BY COALESCE(next_try_at, resolved_at), id LIMIT ?",
            (*RETRIED, now, *extra, limit))]

    def next_due_at(self, refresh_after: float | None = None) -> float | None:
        marks = ",".join("?" * len(RETRIED))
        row = self.store.query_one(
            f"SELECT MIN(COALESCE(next_try_at, 0)) AS t FROM geocode_cache "
            f"WHERE status IN ({marks})", RETRIED)
        t = None if row is None or row["t"] is None else float(row["t"])
        if refresh_after is not None:
            old = self.store.query_one(
                "SELECT MIN(MAX(resolved_at + ?, COALESCE(next_try_at, 0))) AS t "
                "FROM geocode_cache WHERE status = ?", (refresh_after, FOUND))
            if old is not None and old["t"] is not None:
                t = float(old["t"]) if t is None else min(t, float(old["t"]))
        return t

    def record_match(self, entry_id: int, match: GeoMatch, status: str,
                     next_try_at: float | None = None) -> None:
        """found (coordinates published from now on) or imprecise (kept, not published)."""
        now = time.time()
        self._update(entry_id, status, now, latitude=match.latitude, longitude=match.longitude,
                     provider=match.provider, quality=match.quality, label=match.label[:500],
                     detail=match.detail[:500], last_error=None, next_try_at=next_try_at,
                     resolved_at=now)

    def record_not_found(self, entry_id: int, provider: str, next_try_at: float) -> None:
        now = time.time()
        self._update(entry_id, NOT_FOUND, now, latitude=None, longitude=None,
                     provider=provider, quality=None, label=None, detail=None, last_error=None,
                     next_try_at=next_try_at, resolved_at=now)

    def record_failure(self, entry_id: int, provider: str, error: str, attempts: int,
                       next_try_at: float) -> None:
        self._update(entry_id, FAILED, time.time(), provider=provider, last_error=error[:500],
                     attempts=attempts, next_try_at=next_try_at)

    def postpone(self, entry_id: int, error: str, next_try_at: float) -> None:
        """A refresh of a found entry failed: it keeps its coordinates until next time."""
        self.store.execute(
            "UPDATE geocode_cache SET last_error = ?, next_try_at = ?, updated_at = ? "
            "WHERE id = ? AND status = ?", (error[:500], next_try_at, time.time(), entry_id,
                                            FOUND))

    def _update(self, entry_id: int, status: str, now: float, **values: object) -> None:
        # Never over a hand-set entry: an operator's coordinates win over a late answer.
        sets = ", ".join(f"{k} = ?" for k in values)
        self.store.execute(
            f"UPDATE geocode_cache SET status = ?, {sets}, updated_at = ? "
            "WHERE id = ? AND status != ?",
            (status, *values.values(), now, entry_id, MANUAL))

    # Operators ------------------------------------------------------------------------------
    def get(self, entry_id: int) -> Entry | None:
        row = self.store.query_one(f"SELECT {_COLUMNS} FROM geocode_cache WHERE id = ?",
                                   (entry_id,))
        return _entry(row) if row else None

    def find(self, text: str, limit: int = 20) -> list[Entry]:
        """Entries whose address (or where it was seen) holds every word of `text`."""
        words = normalise_text(text).split()
        where = " AND ".join("search LIKE ? ESCAPE '\\'" for _ in words) or "1"
        params = [f"%{_like(w)}%" for w in words]
        return [_entry(r) for r in self.store.query(
            f"SELECT {_COLUMNS} FROM geocode_cache WHERE {where} ORDER BY id LIMIT ?",
            (*params, limit))]

    def with_status(self, statuses: Iterable[str], limit: int = 50) -> list[Entry]:
        wanted = tuple(statuses)
        marks = ",".join("?" * len(wanted))
        return [_entry(r) for r in self.store.query(
            f"SELECT {_COLUMNS} FROM geocode_cache WHERE status IN ({marks}) "
            "ORDER BY updated_at DESC, id LIMIT ?", (*wanted, limit))]

    def set_manual(self, entry_id: int, latitude: float, longitude: float) -> None:
        now = time.time()
        self.store.execute(
            "UPDATE geocode_cache SET status = ?, latitude = ?, longitude = ?, provider = ?, "
            "quality = NULL, label = NULL, detail = NULL, last_error = NULL, next_try_at = NULL, "
            "resolved_at = ?, updated_at = ? WHERE id = ?",
            (MANUAL, latitude, longitude, "manual", now, now, entry_id))

    def forget(self, entry_id: int) -> None:
        """Back to pending: the next pass asks the geocoder again."""
        now = time.time()
        self.store.execute(
            "UPDATE geocode_cache SET status = ?, latitude = NULL, longitude = NULL, "
            "provider = NULL, quality = NULL, label = NULL, detail = NULL, attempts = 0, "
            "last_error = NULL, next_try_at = ?, resolved_at = NULL, updated_at = ? "
            "WHERE id = ?", (PENDING, now, now, entry_id))

    def retry_now(self) -> int:
        """Failed, not found and imprecise entries are asked again on the next pass."""
        now = time.time()
        cur = self.store.execute(
            "UPDATE geocode_cache SET next_try_at = ?, updated_at = ? "
            "WHERE status IN (?, ?, ?)", (now, now, FAILED, NOT_FOUND, IMPRECISE))
        return int(cur.rowcount)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for r in self.store.query(
                "SELECT status, COUNT(*) AS n FROM geocode_cache GROUP BY status"):
            out[r["status"]] = int(r["n"])
        return out


def _search_text(address: Address, seen_in: str) -> str:
    return normalise_text(" ".join((address.text.replace(",", " "), seen_in)))


def _like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
