"""The inbound envelope: one queue item as received (`InboundRecord`: its identity, the
item's JSON text, its decoded record and the warnings it was read with), and the two
decoders that make one.

Both import routes (the AppManager web service and the legacy AM_*.DAT files) produce
`InboundRecord`s; the journal stores them and the ERP sinks write them.

Two decoders give the same result. `decode_raw(stream, raw_json)` (the import path) decodes
an item straight into the model (connector.model.fast), and what that does not take as is
through the checking decoder; `decode_record(stream, item)` decodes an item already read
as JSON through the checking decoder (connector.model.checking). A malformed item raises
RecordError naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import msgspec

from connector.errors import RecordError
from connector.model.checking import decode_model
from connector.model.fast import FAST, exact_json, finish, maybe_nonfinite
from connector.model.records import STREAM_MODELS, Model, Order
from connector.model.wire import require_dict


@dataclass(frozen=True)
class InboundRecord:
    """One record as received, with its decoded model.

    `queue_id` is AppManager's queue `id` (what lastID pages on; a re-queued record gets a
    new one). `unique_id` never changes for a record. `payload` is the item exactly as
    received (journaled as is): kept as the JSON text it came in (`raw`) and decoded into
    a dict only when asked for. `key` is the stable identity ERP writes are idempotent on.
    `sent_id` and `sent_unique_id` are `id` and `unique_id` as sent (number or text).
    `warnings` name what was read in a way of our own choosing (an unknown code value read
    as the reference connector reads it): the record is delivered, the warnings reported.

    A record decoded in another process (the decode worker, connector.importing.decoding)
    arrives without its model (`decoded` None); its model is decoded again from `raw` only
    if something asks for it. What a sink rendered from it there travels beside it
    (connector.ports.Rendered), never inside it.
    """

    stream: str
    queue_id: int
    unique_id: str
    decoded: Model | None = field(default=None, compare=False, repr=False)
    raw: bytes | None = field(default=None, compare=False, repr=False)
    sent_id: Any = field(default=None, compare=False, repr=False)
    sent_unique_id: Any = field(default=None, compare=False, repr=False)
    payload_dict: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def decoded_elsewhere(cls, stream: str, queue_id: int, unique_id: str, raw: bytes,
                          sent_id: Any, sent_unique_id: Any, guid: str | None,
                          warnings: tuple[str, ...] = ()) -> InboundRecord:
        """A record another process decoded (from `raw`, which is kept) and found valid."""
        rec = cls(stream=stream, queue_id=queue_id, unique_id=unique_id, raw=raw,
                  sent_id=sent_id, sent_unique_id=sent_unique_id, warnings=warnings)
        rec.__dict__["guid"] = guid  # what the cached property would compute from the model
        return rec

    @property
    def model(self) -> Model:
        m = self.decoded
        if m is None:
            m = decode_raw(self.stream, self.raw or b"{}").model
            object.__setattr__(self, "decoded", m)
        return m

    @property
    def payload(self) -> dict[str, Any]:
        """The item as received, as a dict (decoded from `raw` on first use)."""
        p = self.payload_dict
        if p is None:
            p = _plain_json(self.raw or b"{}")
            object.__setattr__(self, "payload_dict", p)
        return p

    def payload_json(self) -> str:
        """The item as received, as JSON text."""
        return self.payload_bytes().decode("utf-8")

    def payload_bytes(self) -> bytes:
        """The item as received, as JSON text encoded in UTF-8 (what the journal stores)."""
        return self.raw if self.raw is not None else _ENCODE(self.payload)

    @cached_property
    def key(self) -> str:
        return f"{self.stream}/{self.unique_id}"

    @cached_property
    def guid(self) -> str | None:
        """Orders: the device's guid_test_ord, a second identity (a re-queued order with a
        new unique_id but the same guid is the same order)."""
        model = self.model
        if isinstance(model, Order) and model.guid_test_ord:
            return model.guid_test_ord.strip().lower() or None
        return None


_plain_json = msgspec.json.Decoder().decode
_ENCODE = msgspec.json.Encoder().encode


def decode_record(stream: str, item: Any) -> InboundRecord:
    """Decode one queue item of `stream`. RecordError (naming the field) when malformed."""
    data = require_dict(item, "item") if stream in STREAM_MODELS else item
    queue_id, unique_id, model, warnings = decode_model(stream, data)
    return InboundRecord(stream=stream, queue_id=queue_id, unique_id=unique_id, decoded=model,
                         sent_id=data.get("id"), sent_unique_id=data.get("unique_id"),
                         payload_dict=data, warnings=warnings)


def decode_raw(stream: str, raw: bytes) -> InboundRecord:
    """Decode one queue item of `stream` from its JSON text (kept as the record's payload).

    msgspec decodes it straight into the model; what it cannot take as is (including a
    field the model does not know, which the checking decoder keeps in `extra`) goes
    through the checking decoder (`decode_record`'s), with the same result or a
    RecordError naming the field."""
    dec = FAST.get(stream)
    if dec is None:
        raise ValueError(f"unknown stream {stream!r}")
    if not raw.isascii():  # the text is journaled as is: it must be UTF-8 throughout
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(f"item: not UTF-8 text (byte {exc.start} of the item)",
                              field="item") from None
    if not maybe_nonfinite(raw):
        try:
            model = dec.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError, RecordError):
            pass
        else:
            rec = _finish(stream, model, raw)
            if rec is not None:
                return rec
    try:
        item = exact_json(raw)
    except msgspec.DecodeError:
        raise RecordError("item: not valid JSON", field="item") from None
    queue_id, unique_id, model, warnings = decode_model(stream, item)
    plain = _plain_json(raw)
    return InboundRecord(stream=stream, queue_id=queue_id, unique_id=unique_id, decoded=model,
                         raw=raw, sent_id=plain.get("id"), sent_unique_id=plain.get("unique_id"),
                         payload_dict=plain, warnings=warnings)


def _finish(stream: str, model: Any, raw: bytes) -> InboundRecord | None:
    """The record of a model msgspec decoded, once finished (connector.model.fast.finish);
    None when the checking decoder must take it."""
    done = finish(model)
    if done is None:
        return None
    uid, sent, warnings = done
    return InboundRecord(stream=stream, queue_id=model.id, unique_id=uid, decoded=model, raw=raw,
                         sent_id=model.id, sent_unique_id=sent, warnings=warnings)
