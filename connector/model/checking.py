"""The checking decoder: a queue item (decoded JSON) into its record, value by value.

Strict on what identifies a record (`id`, `unique_id` when sent) and on typed fields
(numbers, dates): a malformed item raises RecordError naming the field, so the caller can
quarantine that one item and go on with the page. A record sent without a unique_id (null
or blank: the library declares it a string) gets a fallback identity derived from its
content, and a warning. It reads what the fast decoder (connector.model.fast) does not
take as is, with the same result.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import force_setattr

from connector.model.codes import ACTIVITY_STATES, order_kind, row_codes
from connector.model.extras import carries, extras_of, fallback_identity, plain
from connector.model.records import (
    STREAM_MODELS,
    Activity,
    Model,
    NewCustomer,
    Order,
    OrderRow,
    RowDetail,
    delivery_date_of,
)
from connector.model.wire import as_int, as_text, decode_fields, list_of, require_dict

_ROW_SKIP = frozenset({"details", "is_descriptive", "free_goods", "uom"})


def _decode_row(item: Any, where: str, warnings: list[str]) -> OrderRow:
    row = require_dict(item, where)
    prefix = where + "."
    kw = decode_fields(OrderRow, row, prefix, skip=_ROW_SKIP)
    raw_details = row.get("dettagli")
    details: tuple[RowDetail, ...] = ()
    if raw_details:
        details = tuple(_decode_detail(d, f"{where}.dettagli[{j}]")
                        for j, d in enumerate(list_of(row, "dettagli", f"{where}.dettagli")))
    descriptive, free_goods, uom = row_codes(kw.get("ext_cod_tipo_riga_ord"),
                                             kw.get("ext_cod_tipo_riga_omag"),
                                             kw.get("tipo_um"), where, warnings)
    return OrderRow(**kw, details=details, is_descriptive=descriptive, free_goods=free_goods,
                    uom=uom, extra=extras_of(OrderRow, row, prefix))


def _decode_detail(item: Any, where: str) -> RowDetail:
    d = require_dict(item, where)
    return RowDetail(**decode_fields(RowDetail, d, where + "."),
                     extra=extras_of(RowDetail, d, where + "."))


def _decode_order(item: dict[str, Any], base: dict[str, Any], warnings: list[str]) -> Order:
    kw = decode_fields(Order, item, "", skip=frozenset(
        {"id", "unique_id", "kind", "new_customer", "rows", "delivery_date"}))
    rows = tuple(_decode_row(r, f"righe[{i}]", warnings)
                 for i, r in enumerate(list_of(item, "righe", "righe")))
    extra = extras_of(Order, item)
    new_customer: NewCustomer | None = None
    unused: Any = None
    if not (kw.get("cod_clifor") or "").strip():
        clienti = list_of(item, "clienti", "clienti")
        if clienti:
            first = require_dict(clienti[0], "clienti[0]")
            new_customer = NewCustomer(**decode_fields(NewCustomer, first, "clienti[0]."),
                                       extra=extras_of(NewCustomer, first, "clienti[0]."))
            unused = clienti[1:]
    else:  # a known customer: the clienti sent are not a new customer, but kept
        unused = item.get("clienti")
    if carries(unused):
        extra = {**(extra or {}), "clienti": plain(unused, "clienti")}
    return Order(**base, **kw, kind=order_kind(kw.get("ext_cod_tipo_ord")),
                 new_customer=new_customer, rows=rows,
                 delivery_date=delivery_date_of(rows, kw.get("data_consegna")), extra=extra)


def decode_model(stream: str, item: Any) -> tuple[int, str, Model, tuple[str, ...]]:
    """The checking decoder: (queue id, unique_id, model, warnings), or RecordError naming
    the field."""
    cls = STREAM_MODELS.get(stream)
    if cls is None:
        raise ValueError(f"unknown stream {stream!r}")
    data = require_dict(item, "item")
    queue_id = as_int(data.get("id"), "id", required=True)
    assert queue_id is not None
    warnings: list[str] = []
    unique_id = (as_text(data.get("unique_id"), "unique_id") or "").strip()
    base = {"id": queue_id, "unique_id": unique_id}
    model: Model
    if cls is Order:
        model = _decode_order(data, base, warnings)
    else:
        kw = decode_fields(cls, data, "", skip=frozenset({"id", "unique_id", "state"}))
        if cls is Activity:
            stato = (kw.get("cod_stato") or "").strip().upper()
            kw["state"] = ACTIVITY_STATES.get(stato, "unknown")
        model = cls(**base, **kw, extra=extras_of(cls, data))
    if not unique_id:  # after the fields (a bad one is named first)
        unique_id = fallback_identity(data)
        force_setattr(model, "unique_id", unique_id)
        warnings.insert(0, f"unique_id: missing, the record's identity is derived from its "
                           f"content: {unique_id}")
    return queue_id, unique_id, model, tuple(warnings)
