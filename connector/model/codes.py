"""The code values of the inbound streams (appmanager-api.md §2.10) and how they are read.

An unknown value is read as the reference connector reads it (BEIEIBUS.vb GeneraOrdineAPI),
with a warning on the record, never refused.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Literal

# The inbound streams, in the reference order (orders first: a new customer comes with its
# order).
STREAMS = ("orders", "customers", "customer_notes", "leads", "lead_notes", "activities")

# ext_cod_tipo_ord values that mean an offer ("preventivo"); anything else is an order (§2.10).
OFFER_TYPES = frozenset({"CLI-MOBPRE", "CLI-IGAMMAPRE", "P", "Q"})
ORDER_TYPES = frozenset({"CLI-MOBORD", "CLI-IGAMMAORD", "R"})
FREE_GOODS = {
    0: "normal",
    1: "free_goods_recharged",
    2: "free_goods_not_recharged",
    3: "goods_discount",
    4: "goods_discount_not_in_total",
}
UOM_TYPES = {1: "primary", 2: "secondary", 3: "package"}
ACTIVITY_STATES = {"D": "to_do", "E": "done", "A": "cancelled"}

# How codes are written on the wire: the small ones as text (a lookup, not a Decimal).
SMALL_CODES = {str(i): i for i in range(10)}
ROW_TYPES = frozenset({"", "0", "2"})  # article, article, descriptive


def _code_of(value: str | None, default: int) -> int | None:
    """A small numeric code as text ("2", " 02", "2.0"); the default when blank, None when
    it is not a whole number."""
    if value is None or not value.strip():
        return default
    n = SMALL_CODES.get(value.strip())
    if n is not None:
        return n
    try:
        d = Decimal(value.strip())
    except InvalidOperation:
        return None
    return int(d) if d.is_finite() and d == d.to_integral_value() else None


def row_codes(tipo_riga: str | None, omag: str | None, tipo_um: str | None, where: str,
              warnings: list[str]) -> tuple[bool, str, str]:
    """(descriptive, free goods, unit) of a row as the reference connector reads its codes
    (appmanager-api.md §2.10; BEIEIBUS.vb GeneraOrdineAPI): row type 2 is descriptive,
    anything else an article; an unknown free-goods type is a normal row, an unknown unit
    type the primary unit. An unknown value is read that way with a warning, never
    refused. A descriptive row's unit type 0 is no unit at all: no warning."""
    t = (tipo_riga or "").strip()
    descriptive = t == "2"
    if t not in ROW_TYPES:
        warnings.append(f"{where}.ext_cod_tipo_riga_ord: unknown row type {tipo_riga!r}, "
                        "read as an article row (only 2 is descriptive)")
    code = _code_of(omag, 0)
    free_goods = FREE_GOODS.get(code) if code is not None else None
    if free_goods is None:
        warnings.append(f"{where}.ext_cod_tipo_riga_omag: unknown free-goods type {omag!r}, "
                        "read as a normal row (0)")
        free_goods = "normal"
    code = _code_of(tipo_um, 1)
    uom = UOM_TYPES.get(code) if code is not None else None
    if uom is None:
        if not (descriptive and code == 0):
            warnings.append(f"{where}.tipo_um: unknown unit-of-measure type {tipo_um!r}, "
                            "read as 1 (the primary unit)")
        uom = "primary"
    return descriptive, free_goods, uom


def order_kind(ext_cod_tipo_ord: str | None) -> Literal["order", "offer"]:
    """§2.10: offer codes are CLI-MOBPRE, CLI-IGAMMAPRE, P, Q; anything else is an order."""
    return "offer" if (ext_cod_tipo_ord or "").strip().upper() in OFFER_TYPES else "order"
