"""At publish: rows without coordinates get them from the cache, never from the network.

`RowFiller` is the pure part, over a tracciato's header and its rows (lists of field
texts); `FillingWriter` streams the canonical output of the export through it before
the bytes are hashed and staged, so a file whose only change is new coordinates has a
new hash and is published again. `PublishFill` is what the export pipeline holds.

Rules: a row is filled only when LATITUDINE and LONGITUDINE are both empty or zero
(coordinates the ERP sent are never overwritten); only `found` and hand-set (`manual`)
cache entries are used; coordinates are written with a dot and six decimals (about
0.1 m, more than a map pin needs). A layout that lists the coordinate columns gets them
added when the ERP's file lacks them; a layout that does not list them (io_clifor_dest
today) is left alone, since AppManager documents no such columns there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

import structlog

from connector.config import GeocodeConfig
from connector.fsutil import HashingWriter
from connector.geocode.address import Address, normalise
from connector.geocode.cache import GeocodeCache
from connector.state import StateStore

log = structlog.get_logger(__name__)

LAT, LON = "LATITUDINE", "LONGITUDINE"
DECIMALS = 6
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class FillPlan:
    """Where a layout keeps its address, and what names a row for support."""

    layout: str
    street: str = "INDIRIZZO"
    postcode: str = "CAP"
    city: str = "CITTA"
    province: str = "PROVINCIA"
    country: str | None = "NAZIONE"
    origin: tuple[str, ...] = ()
    kind: str | None = None  # TIPO_CLIFOR: 1 is a supplier


PLANS = {
    "io_clifor_gen": FillPlan("io_clifor_gen", origin=("COD_CLIFOR",), kind="TIPO_CLIFOR"),
    "io_clifor_dest": FillPlan("io_clifor_dest", country=None, origin=("COD_CLIFOR", "COD_DEST"),
                               kind="TIPO_CLIFOR"),
    "io_leads": FillPlan("io_leads", origin=("COD_LEAD",)),
}

# What the filler asks for one row's address: the cache's point, or None (then noted).
Lookup = Callable[[Address, str], "tuple[float, float] | None"]


def format_coordinate(value: float) -> str:
    text = str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-DECIMALS), ROUND_HALF_UP))
    return "0." + "0" * DECIMALS if text.lstrip("-").strip("0.") == "" else text


def is_empty(value: str) -> bool:
    """Empty, blank or zero (0, 0.0, 0,000000): how ERPs say "no coordinates"."""
    text = value.strip()
    if not text:
        return True
    try:
        return float(text.replace(",", ".")) == 0.0
    except ValueError:
        return False


@dataclass
class FillCounts:
    filled: int = 0  # rows given coordinates from the cache
    missing: int = 0  # rows still without (address pending, failed or not found)
    kept: int = 0  # rows that came with coordinates of their own
    skipped: int = 0  # suppliers, and rows whose address is too thin to place


class RowFiller:
    """The pure transform of one file: built from its header, applied to each row."""

    def __init__(self, plan: FillPlan, header: list[str], layout_columns: Iterable[str], *,
                 default_country: str, suppliers: bool) -> None:
        self.plan = plan
        self.default_country = default_country
        self.suppliers = suppliers
        self.counts = FillCounts()
        order = {name: i for i, name in enumerate(layout_columns)}
        out = list(header)
        for name in (LAT, LON):
            if name not in out and name in order:
                out.insert(_insert_at(out, name, order), name)
        self.header_out = out
        self.active = LAT in out and LON in out
        self.added = len(out) != len(header)
        self._src = {name: i for i, name in enumerate(header)}
        self._lat, self._lon = out.index(LAT) if self.active else -1, (
            out.index(LON) if self.active else -1)

    def _get(self, fields: list[str], name: str | None) -> str:
        i = self._src.get(name) if name else None
        return fields[i] if i is not None and i < len(fields) else ""

    def address(self, fields: list[str]) -> Address | None:
        p = self.plan
        return normalise(self._get(fields, p.street), self._get(fields, p.postcode),
                         self._get(fields, p.city), self._get(fields, p.province),
                         self._get(fields, p.country), self.default_country)

    def origin(self, fields: list[str]) -> str:
        codes = [self._get(fields, c) for c in self.plan.origin]
        return " ".join([self.plan.layout, *[c for c in codes if c]])

    def fill(self, fields: list[str], lookup: Lookup) -> list[str]:
        """The row as published: `fields` in the input header's order, out in header_out's."""
        if not self.active:
            return fields
        if self.added:
            row = [fields[self._src[n]] if n in self._src and self._src[n] < len(fields) else ""
                   for n in self.header_out]
        else:
            row = list(fields)
        if not (is_empty(row[self._lat]) and is_empty(row[self._lon])):
            self.counts.kept += 1
            return row
        if (self.plan.kind and not self.suppliers
                and self._get(fields, self.plan.kind).strip() == "1"):
            self.counts.skipped += 1
            return row
        address = self.address(fields)
        point = lookup(address, self.origin(fields)) if address is not None else None
        if address is None:
            self.counts.skipped += 1
        elif point is None:
            self.counts.missing += 1
        else:
            self.counts.filled += 1
            row[self._lat], row[self._lon] = format_coordinate(point[0]), format_coordinate(
                point[1])
        return row


def _insert_at(header: list[str], name: str, order: dict[str, int]) -> int:
    """After the last column that comes before `name` in the layout (extras come last)."""
    pos = order[name]
    at = 0
    for i, col in enumerate(header):
        if order.get(col, len(order)) < pos:
            at = i + 1
    return at


def fill_rows(filler: RowFiller, rows: Iterable[list[str]], lookup: Lookup
              ) -> Iterator[list[str]]:
    for fields in rows:
        yield filler.fill(fields, lookup)


class CacheLookup:
    """The cache as the filler sees it: one query per distinct address, misses collected."""

    def __init__(self, cache: GeocodeCache, limit: int = 200_000) -> None:
        self.cache = cache
        self.limit = limit  # distinct addresses remembered per file (memory bound)
        self._seen: dict[str, tuple[float, float] | None] = {}
        self.misses: dict[str, tuple[Address, str]] = {}

    def __call__(self, address: Address, origin: str) -> tuple[float, float] | None:
        key = address.key
        if key in self._seen:
            point = self._seen[key]
        else:
            point = self.cache.point(key)
            if len(self._seen) < self.limit:
                self._seen[key] = point
        if point is None and key not in self.misses and len(self.misses) < self.limit:
            self.misses[key] = (address, origin)
        return point

    def commit(self) -> int:
        misses, self.misses = list(self.misses.values()), {}
        return self.cache.note_pending(misses) if misses else 0


class FillingWriter(HashingWriter):
    """A HashingWriter that passes each line of a canonical tracciato through a RowFiller.

    The header decides the filler; whole lines are transformed as they complete, so the
    memory held is one partial line. `flush()` (called once the file is judged valid)
    writes the rest and notes the missing addresses as pending.
    """

    def __init__(self, raw: BinaryIO, make_filler: Callable[[list[str]], RowFiller],
                 lookup: CacheLookup, name: str) -> None:
        super().__init__(raw)
        self._make_filler = make_filler
        self._lookup = lookup
        self._name = name
        self._filler: RowFiller | None = None
        self._pending = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        n = len(data)
        self._pending += data
        end = self._pending.rfind(b"\n")
        if end >= 0:
            chunk = bytes(self._pending[:end + 1])
            del self._pending[:end + 1]
            super().write(self._transform(chunk))
        return n

    def flush(self) -> None:
        if self._pending:
            chunk = bytes(self._pending)
            self._pending.clear()
            super().write(self._transform(chunk))
        added = self._lookup.commit()
        if self._filler is not None and self._filler.active:
            c = self._filler.counts
            log.info("coordinates from the geocoding cache", file=self._name, filled=c.filled,
                     missing=c.missing, kept=c.kept, skipped=c.skipped, newly_pending=added)
        super().flush()

    def _transform(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        for line in chunk.splitlines(keepends=True):
            body = line.rstrip(b"\r\n")
            ending = line[len(body):]
            if self._filler is None:
                bom = body.startswith(BOM)
                header = body.decode("utf-8", "surrogateescape").lstrip("\ufeff").split("|")
                self._filler = self._make_filler(header)
                out.append((BOM if bom else b"") + "|".join(self._filler.header_out).encode(
                    "utf-8", "surrogateescape") + ending)
                continue
            if not self._filler.active or not body:
                out.append(line)
                continue
            fields = body.decode("utf-8", "surrogateescape").split("|")
            row = self._filler.fill(fields, self._lookup)
            out.append(line if row == fields else
                       "|".join(row).encode("utf-8", "surrogateescape") + ending)
        return b"".join(out)


class PublishFill:
    """The export pipeline's hook: `writer(raw, name)` for every staged file."""

    def __init__(self, cfg: GeocodeConfig, store: StateStore) -> None:
        self.cfg = cfg
        self.store = store
        self._cache: GeocodeCache | None = None

    def plan_for(self, name: str) -> tuple[FillPlan, tuple[str, ...]] | None:
        if not self.cfg.enabled:
            return None
        from formats.layout import layout_for_filename

        layout = layout_for_filename(name.rsplit("/", 1)[-1])
        if layout is None or layout.name not in self.cfg.layouts or layout.name not in PLANS:
            return None
        return PLANS[layout.name], layout.field_names

    def writer(self, raw: BinaryIO, name: str) -> HashingWriter:
        found = self.plan_for(name)
        if found is None:
            return HashingWriter(raw)
        plan, columns = found
        if self._cache is None:
            self._cache = GeocodeCache(self.store)
        country, suppliers = self.cfg.country, self.cfg.suppliers

        def make(header: list[str]) -> RowFiller:
            return RowFiller(plan, header, columns, default_country=country, suppliers=suppliers)

        return FillingWriter(raw, make, CacheLookup(self._cache), name)
