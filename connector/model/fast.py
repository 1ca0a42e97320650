"""The fast decoder: a queue item's JSON text straight into its record with msgspec (C
speed), the dates through a hook. What it does not take as is (a number sent as text, a
date or code it cannot read, a non-finite number, a wrong type, a field the model does not
know) is left to the checking decoder (connector.model.checking), which gives the same
result or the RecordError naming the field. Numbers keep the digits they were sent with
(`12.50` stays `12.50`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET
from msgspec.structs import force_setattr

from connector.model.codes import (
    ACTIVITY_STATES,
    FREE_GOODS,
    ROW_TYPES,
    SMALL_CODES,
    UOM_TYPES,
    order_kind,
    row_codes,
)
from connector.model.records import (
    STREAM_MODELS,
    Activity,
    NewCustomer,
    Order,
    WireDateTime,
    delivery_date_of,
)
from connector.model.wire import parse_wire_datetime


def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is WireDateTime:
        return parse_wire_datetime(obj)  # RecordError: the checking path takes it
    raise NotImplementedError(f"no wire decoding for {tp!r}")


FAST: dict[str, msgspec.json.Decoder[Any]] = {
    stream: msgspec.json.Decoder(cls, dec_hook=_dec_hook) for stream, cls in STREAM_MODELS.items()}
# The checking path reads numbers exactly too (as the fast one does), not through float.
exact_json = msgspec.json.Decoder(float_hook=Decimal).decode
# A text that Decimal() reads as NaN or infinity, which msgspec would take for a number
# field sent as text: such items take the checking path, which refuses non-finite numbers.
# Matched loosely (any non-ASCII or escaped character counts as the blank Decimal() strips),
# and an ASCII letter written as a \u escape sends the item to the checking path too: a
# false alarm costs speed, never a result.
_BLANK = rb'(?:\s|\\[bfnrt/]|\\u[0-9a-fA-F]{4}|[\x80-\xff])*'
_NONFINITE = re.compile(rb'"' + _BLANK + rb'[+-]?(?:inf(?:inity)?|s?nan[0-9]*)' + _BLANK + rb'"',
                        re.IGNORECASE)
_ESCAPED_LETTER = re.compile(rb'\\u00[4-7]')
_NAN, _INF, _ESCAPE = re.compile(b"nan"), re.compile(b"inf"), re.compile(rb"\\u00")  # faster than `in`


def maybe_nonfinite(raw: bytes) -> bool:
    low = raw.lower()
    return bool(((_NAN.search(low) or _INF.search(low)) and _NONFINITE.search(raw))
                or (_ESCAPE.search(raw) and _ESCAPED_LETTER.search(raw)))


def finish(model: Any) -> tuple[str, Any, tuple[str, ...]] | None:
    """Complete a model msgspec decoded as the checking decoder would: unique_id as text,
    interpreted codes, rows and the new customer moved from their wire lists. (unique_id,
    unique_id as sent, warnings); None when something needs the checking decoder (which
    also names the field of an error)."""
    sent = model.unique_id
    uid = (sent if type(sent) is str else str(sent)).strip()
    if not uid or model.extra is not UNSET:  # a key "extra" sent: passed through there
        return None
    warnings: tuple[str, ...] = ()
    if type(model) is Order:
        finished = finish_order(model)
        if finished is None:
            return None
        warnings = finished
    elif type(model) is Activity:
        stato = model.cod_stato
        force_setattr(model, "state",
                      ACTIVITY_STATES.get(stato.strip().upper(), "unknown") if stato else "unknown")
    if uid is not sent:
        force_setattr(model, "unique_id", uid)
    return uid, sent, warnings


_CUSTOMER_FIELDS = tuple(f for f in NewCustomer.__struct_fields__ if f != "extra")


def finish_order(o: Order) -> tuple[str, ...] | None:
    """The rest of an order's decoding: its warnings, or None for the checking path."""
    rows = o._righe
    if not rows:
        rows = ()
    assert isinstance(rows, tuple)
    warnings: list[str] = []
    for i, r in enumerate(rows):
        if r.extra is not UNSET:
            return None
        details = r._dettagli
        if not details:
            details = ()
        for d in details:
            if d.extra is not UNSET:
                return None
        v = r.ext_cod_tipo_riga_omag
        code = SMALL_CODES.get(v.strip()) if v else 0
        free_goods = FREE_GOODS.get(code) if code is not None else None
        v = r.tipo_um
        code = SMALL_CODES.get(v.strip()) if v else 1
        uom = UOM_TYPES.get(code) if code is not None else None
        v = r.ext_cod_tipo_riga_ord
        t = v.strip() if v else ""
        descriptive = t == "2"
        if free_goods is None or uom is None or t not in ROW_TYPES:  # the rule, with warnings
            descriptive, free_goods, uom = row_codes(
                r.ext_cod_tipo_riga_ord, r.ext_cod_tipo_riga_omag, r.tipo_um, f"righe[{i}]",
                warnings)
        if r._dettagli is not UNSET:
            force_setattr(r, "_dettagli", UNSET)
        if r.details is not details:
            force_setattr(r, "details", details)
        if r.is_descriptive is not descriptive:
            force_setattr(r, "is_descriptive", descriptive)
        if r.free_goods is not free_goods:
            force_setattr(r, "free_goods", free_goods)
        if r.uom is not uom:
            force_setattr(r, "uom", uom)
    clienti = o._clienti
    new_customer = None
    if clienti:
        cod = o.cod_clifor
        unused = clienti if (cod.strip() if cod else "") else clienti[1:]
        for c in clienti:
            if c.extra is not UNSET:
                return None
        for c in unused:  # sent with a known customer, or after the first: kept in extra
            if any(getattr(c, f) not in (None, "") for f in _CUSTOMER_FIELDS):
                return None
        if unused is not clienti:
            new_customer = clienti[0]
    if o._righe is not UNSET:
        force_setattr(o, "_righe", UNSET)
    if o._clienti is not UNSET:
        force_setattr(o, "_clienti", UNSET)
    force_setattr(o, "new_customer", new_customer)
    force_setattr(o, "rows", rows)
    force_setattr(o, "kind", order_kind(o.ext_cod_tipo_ord))
    force_setattr(o, "delivery_date", delivery_date_of(rows, o.data_consegna))
    return tuple(warnings) if warnings else ()
