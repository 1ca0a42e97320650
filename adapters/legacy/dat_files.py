"""Parsers for AM_ORD_*.DAT (orders), AM_CF_ANA_*.DAT (customer changes) and
AM_CF_NOTE_*.DAT (customer notes): positions from ../shared/spec/appmanager-api.md §4, the
field lists from the formats package's AM_ORD, AM_CF_ANA and AM_CF_NOTE layouts (the one
place they are written; a problem names a field as the layout does).

Each parser returns web-service-shaped items (wire names of §2), or raises
LegacyFileError listing every bad line and field: a file imports whole or not at all.
"""

from __future__ import annotations

from typing import Any

from adapters.legacy.dat import (
    LineReader,
    check_company,
    company_problem,
    decode_text,
    split_lines,
)
from connector.model.legacy import LegacyFileError, ParsedRecord, Problem
from formats.layout import get_layout

_ORDER_LAYOUT = get_layout("AM_ORD")
# The order's header note is FILLER5 (AMHelper calls it T_NOTE: an alias in the layout).
ORDER_FIELDS: tuple[str, ...] = _ORDER_LAYOUT.field_names
# 52 fields up to FILLER20; AMHelper (2022) may append COD_SERIE_ORDINI and NUM_DOC_AGGIUNTA.
ORDER_FIELD_COUNTS = tuple(range(_ORDER_LAYOUT.min_fields or len(ORDER_FIELDS),
                                 len(ORDER_FIELDS) + 1))
# Header (T_) values repeated on every row: they must agree, or the file holds two orders.
_ORDER_HEADER_IDX = (0, 1, 2, 3, 4, 5, 6, 8, 32, 33, 34, 36, 52, 53)

CUSTOMER_FIELDS: tuple[str, ...] = get_layout("AM_CF_ANA").field_names
_CUSTOMER_WIRE = ("cod_ditta", "cod_cliente", "tipo_clifor", "telefono1", "telefono2", "fax", "cellulare",
                  "email", "partita_iva", "ragione_sociale", "indirizzo", "cap", "citta", "provincia",
                  "cod_cond_pag", "codice_fiscale")

NOTE_FIELDS: tuple[str, ...] = get_layout("AM_CF_NOTE").field_names
_NOTE_WIRE = ("cod_ditta", "cod_cliente", "tipo_clifor", "progressivo", "tipo_nota", "nota")

MAX_PROBLEMS = 200


def _source(name: str, line: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"_source": "legacy", "_source_ref": name}
    if line is not None:
        out["_line"] = line
    return out


def _readers(name: str, data: bytes, names: tuple[str, ...], counts: tuple[int, ...],
             problems: list[Problem]) -> list[LineReader]:
    readers = []
    for no, line in split_lines(decode_text(name, data)):
        fields = line.split("|")
        if len(fields) not in counts:
            expected = " or ".join(str(c) for c in counts)
            hint = " (truncated line?)" if len(fields) < min(counts) else ""
            problems.append(Problem(no, None, None,
                                    f"{len(fields)} fields, expected {expected}{hint}"))
            continue
        readers.append(LineReader(name, no, fields, names))
    return readers


def _finish(name: str, readers: list[LineReader], problems: list[Problem]) -> None:
    for r in readers:
        problems.extend(r.problems)
    if problems:
        problems.sort(key=lambda p: (p.line or 0))
        raise LegacyFileError(name, problems[:MAX_PROBLEMS])


def _legacy_id(value: str | None, fallback: int) -> int:
    text = (value or "").strip()
    return int(text) if text.isdigit() else fallback


def parse_orders(name: str, data: bytes, company: str) -> list[ParsedRecord]:
    """One order per file, one line per row, header values repeated on each line."""
    problems: list[Problem] = []
    readers = _readers(name, data, ORDER_FIELDS, ORDER_FIELD_COUNTS, problems)
    check_company(name, [r.fields[0] for r in readers], company)
    if not readers and not problems:
        raise LegacyFileError(name, [Problem(None, None, None, "no order rows in the file")])
    rows: list[dict[str, Any]] = []
    header: dict[str, Any] = {}
    first: LineReader | None = None
    for r in readers:
        company_problem(r, 0, company)
        if first is None:
            first = r
        else:
            for i in _ORDER_HEADER_IDX:
                a = first.fields[i] if i < len(first.fields) else ""
                b = r.fields[i] if i < len(r.fields) else ""
                if a != b:
                    r.bad(i, f"header value differs from line {first.line} ({a!r}): "
                             "one file must hold one order")
        if r is first:
            header = {
                "cod_ditta": r.text(0), "ext_cod_tipo_ord": r.text(1),
                "data_ordine": r.date(2, required=True), "nr_ord_orig": r.text(3),
                "cod_clifor": r.text(4), "cod_agente": r.text(5), "data_consegna": r.date(6),
                "cod_destinazione": r.text(8), "cod_cond_pag": r.text(32),
                "cod_cond_pag_deperibilita": r.text(33), "cod_operatore": r.text(34),
                "note": r.text(36), "cod_serie_ordini": r.text(52) if len(r.fields) > 52 else None,
                "num_doc_aggiunta": r.text(53) if len(r.fields) > 53 else None,
            }
        row: dict[str, Any] = {
            "id": r.line, "note": r.text(7), "ext_cod_tipo_riga_ord": r.integer(9, range(10)),
            "codice_articolo": r.text(10), "descrizione_riga": r.text(11), "cod_um_1": r.text(12),
            "cod_um_2": r.text(13), "qta": r.decimal(14), "qta_2": r.decimal(15),
            # Any whole number: an unknown unit or free-goods type is read as the
            # reference connector reads it, with a warning (connector.model).
            "prezzo": r.decimal(16), "prezzo_2": r.decimal(17), "tipo_um": r.integer(18),
            "ext_cod_tipo_riga_omag": r.integer(19),
            **{f"sconto_{k}": r.decimal(19 + k) for k in range(1, 7)},
            "sconto_importo": r.decimal(26), "mag_perc_1": r.decimal(27), "mag_perc_2": r.decimal(28),
            "mag_importo": r.decimal(29), "codice_confezione": r.text(30),
            "qta_confezione": r.decimal(31), "data_consegna_riga": r.date(35),
        }
        if row["ext_cod_tipo_riga_ord"] != "2" and not str(row["codice_articolo"] or "").strip():
            r.bad(10, "article row without an article code (R_IND_TIPO_RIGA is not 2)")
        rows.append(row)
    _finish(name, readers, problems)
    assert first is not None
    unique_id = f"legacy:{name}"
    item = {"id": _legacy_id(header.get("nr_ord_orig"), 0), "unique_id": unique_id, **header,
            "righe": rows, **_source(name)}
    return [ParsedRecord("orders", unique_id, item, first.line)]


def _simple(name: str, data: bytes, company: str, stream: str, names: tuple[str, ...],
            wire: tuple[str, ...]) -> list[ParsedRecord]:
    problems: list[Problem] = []
    readers = _readers(name, data, names, (len(names),), problems)
    check_company(name, [r.fields[0] for r in readers], company)
    out = []
    for r in readers:
        company_problem(r, 0, company)
        item: dict[str, Any] = {w: r.text(i) for i, w in enumerate(wire)}
        if not (item.get("cod_cliente") or "").strip():
            r.bad(1, "customer code is empty")
        legacy_id = r.text(len(names) - 1)
        unique_id = f"legacy:{name}:{r.line}"
        item.update({"id": _legacy_id(legacy_id, r.line), "unique_id": unique_id,
                     "legacy_id": legacy_id, **_source(name, r.line)})
        out.append(ParsedRecord(stream, unique_id, item, r.line))
    _finish(name, readers, problems)
    return out


def parse_customers(name: str, data: bytes, company: str) -> list[ParsedRecord]:
    """AM_CF_ANA: one changed customer per line."""
    return _simple(name, data, company, "customers", CUSTOMER_FIELDS, _CUSTOMER_WIRE)


def parse_customer_notes(name: str, data: bytes, company: str) -> list[ParsedRecord]:
    """AM_CF_NOTE: one note per line (PROGRESSIVO 0 = the main note)."""
    return _simple(name, data, company, "customer_notes", NOTE_FIELDS, _NOTE_WIRE)
