"""What the files sink writes for one record: the files' names and bytes (pure: no I/O, so
the decode worker process may run it, as the sink's render step `FilesRender`).

Formats (import.erp.format):
- `json`: `<stream>_<unique_id>.json`, one record on one line: its `stream`, `id` and
  `unique_id` as AppManager sent them, `key` (our stable identity), `record` (the decoded
  model: interpreted codes, decimals as strings, dates in ISO 8601; in it and in each of
  its rows, size details and new customer, `extra` holds the fields sent that the model
  does not know, as sent, when there are any) and, when the record was read with
  warnings, `warnings` (the item exactly as received stays in the journal).
- `tracciato`: the legacy layouts AppManager used to write (tracciati.md §4.1): headerless,
  pipe-separated, dates ddmmyyyy, decimal comma, `§` for newlines, no trailing pipe, UTF-8
  with BOM, CRLF, written by formats.writer.write_records with the formats package's
  AM_ORD / AM_CF_ANA / AM_CF_NOTE layouts, which alone list the fields (a value a layout
  cannot hold: PermanentError).
  They carry what their positions can: the codes as interpreted (an unknown unit type is
  written 1, an unknown free-goods type 0), and no colours, materials, 2022 header fields
  or `extra` (no position holds them: use `json`, the SQL or the command sink for those).
  Orders -> `AM_ORD_<ditta>_<unique_id>.DAT` (one line per row, header fields repeated);
  customer changes -> `AM_CF_ANA_<ditta>_<unique_id>.DAT`; customer notes ->
  `AM_CF_NOTE_<ditta>_<unique_id>.DAT`. An order with a new customer first gets
  `AM_CF_ANA_<ditta>_NEW_<unique_id>.DAT` (empty COD_CLIFOR, ID = the order's
  guid_test_ord) so the ERP creates the customer before the order. Leads, lead notes and
  activities have no legacy text layout (AppManager wrote .NET DataSet XML): they are
  written as JSON files in this format too.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from connector.errors import PermanentError, RecordError
from connector.model import (
    FREE_GOODS,
    UOM_TYPES,
    CustomerChange,
    CustomerNote,
    InboundRecord,
    NewCustomer,
    Order,
    OrderRow,
)
from formats.layout import get_layout
from formats.writer import write_records

_SAFE = re.compile(r"[^A-Za-z0-9.-]")


def safe_part(value: str) -> str:
    """A file-name part from an id: unsafe characters become _, plus a short hash when
    anything was replaced, so two different ids never share a name."""
    cleaned = _SAFE.sub("_", value)[:80]
    if cleaned != value:
        cleaned += "-" + hashlib.sha1(value.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return cleaned or "_"


def _order_lines(o: Order, ditta: str) -> list[list[tuple[str, Any]]]:
    head_before = [("COD_DITTA", ditta), ("COD_EXT_ORD", o.ext_cod_tipo_ord),
                   ("T_DAT_ORDINE", o.data_ordine),
                   ("NR_ORD_ORIG", o.guid_test_ord or o.unique_id),
                   ("T_COD_CLIFOR", o.cod_clifor), ("T_COD_AGENTE", o.cod_agente),
                   ("T_DAT_CONS_TES", o.delivery_date)]
    rows: Sequence[OrderRow | None] = o.rows or [None]
    lines = []
    for r in rows:
        def rv(attr: str, row: OrderRow | None = r) -> Any:
            return getattr(row, attr) if row is not None else None
        tipo_riga = None if r is None else ("2" if r.is_descriptive else "0")
        tipo_om = None if r is None else _FREE_GOODS_CODES[r.free_goods]
        tipo_um = None if r is None else (
            "0" if r.is_descriptive and (r.tipo_um or "").strip() in ("0", "00")
            else _UOM_CODES[r.uom])  # a text row's "no unit" stays 0
        values = [*head_before,
                  ("R_DES_NOTE", rv("note")), ("T_COD_DEST", o.cod_destinazione),
                  ("R_IND_TIPO_RIGA", tipo_riga), ("R_COD_ART", rv("codice_articolo")),
                  ("R_DES_RIGA_ORD", rv("descrizione_riga")), ("R_CDA_UM1", rv("cod_um_1")),
                  ("R_CDA_UM2", rv("cod_um_2")), ("R_QTA_1", rv("qta")), ("R_QTA_2", rv("qta_2")),
                  ("R_PREZZO_1", rv("prezzo")), ("R_PREZZO_2", rv("prezzo_2")),
                  ("TIPO_UM", tipo_um), ("R_IND_TIPO_OM", tipo_om),
                  *[(f"R_SCONTO_{i}", rv(f"sconto_{i}")) for i in range(1, 7)],
                  ("R_SCONTO_IMP", rv("sconto_importo")), ("R_MAG_PERC1", rv("mag_perc_1")),
                  ("R_MAG_PERC2", rv("mag_perc_2")), ("R_MAG_IMP", rv("mag_importo")),
                  ("R_COD_CONF", rv("codice_confezione")), ("R_QTA_COLLI", rv("qta_confezione")),
                  ("T_COD_COND_PAG", o.cod_cond_pag),
                  ("T_COD_COND_PAG_DEP", o.cod_cond_pag_deperibilita),
                  ("T_COD_OPERATORE", o.cod_operatore),
                  ("T_DAT_CONS_RIG", rv("data_consegna_riga")),
                  ("FILLER5", o.note),  # AMHelper's T_NOTE (an alias in the layout)
                  ("COD_SERIE_ORDINI", o.cod_serie_ordini),
                  ("NUM_DOC_AGGIUNTA", o.num_doc_aggiunta)]
        lines.append(values)
    return lines


# The interpreted codes written back as the legacy layout's numbers.
_FREE_GOODS_CODES = {name: str(code) for code, name in FREE_GOODS.items()}
_UOM_CODES = {name: str(code) for code, name in UOM_TYPES.items()}


def _new_customer_line(c: NewCustomer, ditta: str, ident: str) -> list[tuple[str, Any]]:
    return ([("COD_DITTA", ditta), ("COD_CLIFOR", ""), ("TIPO_CLIFOR", "0"),
                      ("TELEFONO1", c.telefono1 or c.telefono), ("TELEFONO2", c.telefono2), ("FAX", c.fax),
                      ("CELLULARE", c.cellulare), ("E_MAIL", c.email),
                      ("PIVA", c.partita_iva), ("RAG_SOC", c.ragione_sociale),
                      ("DES_INDIR", c.indirizzo), ("DES_CAP", c.cap),
                      ("DES_CITTA", c.des_citta), ("DES_PROVINCIA", c.provincia),
                      ("COND_PAG", c.cod_cond_pag), ("CODICE_FISCALE", c.codice_fiscale),
                      ("ID", ident)])


def _customer_line(c: CustomerChange, ditta: str) -> list[tuple[str, Any]]:
    return ([("COD_DITTA", ditta), ("COD_CLIFOR", c.cod_cliente),
                      ("TIPO_CLIFOR", c.tipo_clifor or "0"), ("TELEFONO1", c.telefono1), ("TELEFONO2", c.telefono2), ("FAX", c.fax),
                      ("CELLULARE", c.cellulare), ("E_MAIL", c.email),
                      ("PIVA", c.partita_iva), ("RAG_SOC", c.ragione_sociale),
                      ("DES_INDIR", c.indirizzo), ("DES_CAP", c.cap), ("DES_CITTA", c.citta),
                      ("DES_PROVINCIA", c.provincia), ("COND_PAG", c.cod_cond_pag),
                      ("CODICE_FISCALE", c.codice_fiscale), ("ID", c.unique_id)])


def _note_line(n: CustomerNote, ditta: str) -> list[tuple[str, Any]]:
    return ([("COD_DITTA", ditta), ("COD_CLIFOR", n.cod_cliente),
                      ("TIPO_CLIFOR", n.tipo_clifor or "0"),
                      ("PROGRESSIVO", n.progressivo), ("TIPO_NOTA", n.tipo_nota),
                      ("DES_NOTE", n.nota), ("ID", n.unique_id)])


_ENCODER = msgspec.json.Encoder()  # structs, Decimal (as strings), datetime (ISO 8601)


def json_document(record: InboundRecord) -> bytes:
    """The JSON file of one record: stream, id and unique_id as sent, the decoded model
    (with `extra` where fields were sent that it does not know), and its warnings if any."""
    doc = {
        "stream": record.stream,
        "id": record.queue_id if record.sent_id is None else record.sent_id,
        "unique_id": record.unique_id if record.sent_unique_id is None else record.sent_unique_id,
        "key": record.key,
        "record": record.model,
    }
    if record.warnings:
        doc["warnings"] = record.warnings
    return _ENCODER.encode(doc) + b"\n"


def render(record: InboundRecord, fmt: str, company: str) -> list[tuple[str, bytes]]:
    """The files for one record, in writing order; the last one is the record's own file."""
    uid = safe_part(record.unique_id)
    if fmt == "tracciato":
        model = record.model
        ditta = safe_part((getattr(model, "cod_ditta", None) or company).strip() or company)
        if isinstance(model, Order):
            files: list[tuple[str, bytes]] = []
            if model.new_customer is not None:
                files.append((f"AM_CF_ANA_{ditta}_NEW_{uid}.DAT", tracciato_bytes(
                    "AM_CF_ANA", [_new_customer_line(model.new_customer, ditta,
                                                     model.guid_test_ord or model.unique_id)])))
            files.append((f"AM_ORD_{ditta}_{uid}.DAT",
                          tracciato_bytes("AM_ORD", _order_lines(model, ditta))))
            return files
        if isinstance(model, CustomerChange):
            return [(f"AM_CF_ANA_{ditta}_{uid}.DAT",
                     tracciato_bytes("AM_CF_ANA", [_customer_line(model, ditta)]))]
        if isinstance(model, CustomerNote):
            return [(f"AM_CF_NOTE_{ditta}_{uid}.DAT",
                     tracciato_bytes("AM_CF_NOTE", [_note_line(model, ditta)]))]
    return [(f"{record.stream}_{uid}.json", json_document(record))]


@dataclass(frozen=True)
class FilesRender:
    """`render` for one format and company: the files sink's render step, which the decode
    worker process runs on each record it decodes (picklable, compared by value)."""

    format: str
    company: str

    def __call__(self, record: InboundRecord) -> list[tuple[str, bytes]]:
        return render(record, self.format, self.company)


def tracciato_bytes(layout_name: str, rows: list[list[tuple[str, Any]]]) -> bytes:
    """Headerless legacy lines through the formats package's writer (the same rules as
    every tracciato: UTF-8 with BOM, CRLF, typed fields, | and newlines cleaned), in the
    layout's field order; a field not given is empty. A value the layout cannot hold is a
    PermanentError naming the field."""
    buf = io.BytesIO()
    try:
        write_records(buf, get_layout(layout_name), [dict(r) for r in rows], header=False)
    except RecordError as exc:
        raise PermanentError(f"{layout_name}: {exc}", field=exc.field) from None
    return buf.getvalue()
