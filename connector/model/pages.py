"""Pages of a stream's queue: as received (`RawPage`, each item its JSON text) and decoded
(`Page`, its records and its malformed items, each kept with its error).

Nothing in an item is trusted (connector.model.jsonguard): an item nested more than
ITEM_DEPTH levels, with a queue id SQLite cannot hold, or that fails to decode
for any reason, is kept aside as malformed with its error, alone: the rest of its page
goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from connector.errors import RecordError
from connector.model.inbound import InboundRecord, decode_raw
from connector.model.jsonguard import ID_MAX, ITEM_DEPTH, shallow, storable_id, within_depth
from connector.model.wire import queue_id_of


@dataclass(frozen=True)
class PageMeta:
    limit: int | None = None
    max_id: int | None = None
    offset: int | None = None
    total_count: int | None = None
    cod_progetto: str | None = None
    last_id: int | None = None


@dataclass(frozen=True)
class Malformed:
    """An item that could not be decoded: kept with its error, never delivered."""

    queue_id: int | None
    item: Any
    error: RecordError


@dataclass(frozen=True)
class RawPage:
    """A page as received: each item its JSON text. `last_id` is the queue id of its last
    item (None when unreadable), read as the decoders read it, without decoding the rest:
    the lastID to ask for the next page with, as the queue comes in id order."""

    stream: str
    raws: tuple[bytes, ...]
    last_id: int | None
    meta: PageMeta

    @property
    def raw_count(self) -> int:
        return len(self.raws)

    def decode(self) -> Page:
        """Decode every item; a malformed one is kept with its error (naming the field)."""
        return self.page([decode_item(self.stream, i, raw) for i, raw in enumerate(self.raws)])

    def page(self, decoded: list[InboundRecord | Malformed]) -> Page:
        """The page of these decoded items (one per raw item, in order)."""
        items = tuple(d for d in decoded if isinstance(d, InboundRecord))
        bad = tuple(d for d in decoded if isinstance(d, Malformed))
        return Page(stream=self.stream, items=items, malformed=bad, meta=self.meta,
                    raw_count=len(self.raws))


@dataclass(frozen=True)
class Page:
    stream: str
    items: tuple[InboundRecord, ...]
    malformed: tuple[Malformed, ...]
    meta: PageMeta
    raw_count: int  # items in the answer, decoded or not

    @property
    def malformed_count(self) -> int:
        return len(self.malformed)

    @property
    def max_queue_id(self) -> int | None:
        ids = [r.queue_id for r in self.items] + [m.queue_id for m in self.malformed
                                                  if m.queue_id is not None]
        return max(ids) if ids else None


def decode_item(stream: str, i: int, raw: bytes) -> InboundRecord | Malformed:
    """Item `i` of a page: its record, or Malformed with the error naming the field. Any
    failure is the item's alone: too deep to decode safely, a queue id out of range, or
    whatever decoding raised."""
    try:
        if not item_within_depth(raw):
            raise RecordError(f"item: nested more than {ITEM_DEPTH} levels deep; "
                              "refused unread", field="item")
        rec = decode_raw(stream, raw)
        if not storable_id(rec.queue_id):
            raise RecordError(f"id: {rec.queue_id} is out of range (0 to {ID_MAX})",
                              field="id")
        return rec
    except Exception as exc:  # noqa: BLE001 - one item's failure, whatever it is, is its own
        if isinstance(exc, RecordError):
            why, field = str(exc), exc.field
        else:
            why, field = f"item: cannot be decoded ({type(exc).__name__}: {exc})", "item"
        qid = raw_queue_id(raw)
        err = RecordError(f"{stream} item {i} (id {qid}): {why}", field=field)
        return Malformed(qid, _kept(raw), err)


def item_within_depth(raw: bytes) -> bool:
    return within_depth(raw, ITEM_DEPTH)


def _kept(raw: bytes) -> Any:
    """A malformed item as it is kept in quarantine: its JSON value, or its text when it is
    not JSON (e.g. not UTF-8) or too deep to decode."""
    if item_within_depth(raw):
        try:
            return _decode_json(raw)
        except (ValueError, RecursionError):
            pass
    return raw.decode("utf-8", "replace")


_decode_json = msgspec.json.Decoder().decode  # about twice as fast as json.loads


class _Id(msgspec.Struct):
    id: Any = None


_read_id = msgspec.json.Decoder(_Id).decode


def raw_queue_id(raw: bytes) -> int | None:
    """An item's queue id as the decoders read it (queue_id_of), without decoding the rest;
    None when it has none that the journal could store."""
    try:
        qid = queue_id_of({"id": _read_id(raw).id})
    except (ValueError, RecursionError):  # not an object, not UTF-8, or too deep to skip
        try:
            qid = queue_id_of({"id": _read_id(shallow(raw)).id})
        except (ValueError, RecursionError):
            return None
    return qid if storable_id(qid) else None
