"""The files sink: one file per inbound record in the ERP's import folder, written atomically.

Formats (import.erp.format):
- `json`: `<stream>_<unique_id>.json`, one record: its `stream`, `id` and `unique_id` as
  AppManager sent them, `received` (the item as received) and `record` (the decoded model:
  interpreted codes, decimals as strings, dates in ISO 8601).
- `tracciato`: the legacy layouts AppManager used to write (tracciati.md §4.1): headerless,
  pipe-separated, dates ddmmyyyy, decimal comma, `§` for newlines, no trailing pipe, UTF-8,
  CRLF. Orders -> `AM_ORD_<ditta>_<unique_id>.DAT` (one line per row, header fields repeated);
  customer changes -> `AM_CF_ANA_<ditta>_<unique_id>.DAT`; customer notes ->
  `AM_CF_NOTE_<ditta>_<unique_id>.DAT`. An order with a new customer first gets
  `AM_CF_ANA_<ditta>_NEW_<unique_id>.DAT` (empty COD_CLIFOR, ID = the order's
  guid_test_ord) so the ERP creates the customer before the order. Leads, lead notes and
  activities have no legacy text layout (AppManager wrote .NET DataSet XML): they are
  written as JSON files in this format too.

Atomic: each file is written as `.~ic-<name>.<pid>.tmp` in the same folder (a dot name no
ERP glob matches), fsynced, moved into place with os.replace, and the folder fsynced.

Idempotent on the record's key even when the ERP consumes (deletes) the files it imported:
the names landed are appended to `.connector-landed.log` in the folder after each write; a
name in that ledger or present on disk is answered with duplicate=True and not rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from adapters.erp import ErpRef
from connector.domain import (
    CustomerChange,
    CustomerNote,
    InboundRecord,
    NewCustomer,
    Order,
    OrderRow,
    to_jsonable,
)
from connector.errors import PermanentError, TransientError

log = structlog.get_logger(__name__)

LEDGER = ".connector-landed.log"
TMP_PREFIX = ".~ic-"
MAX_TEXT = 4000
_SAFE = re.compile(r"[^A-Za-z0-9.-]")


def safe_part(value: str) -> str:
    """A file-name part from an id: unsafe characters become _, plus a short hash when
    anything was replaced, so two different ids never share a name."""
    cleaned = _SAFE.sub("_", value)[:80]
    if cleaned != value:
        cleaned += "-" + hashlib.sha1(value.encode("utf-8")).hexdigest()[:8]
    return cleaned or "_"


# ---------------------------------------------------------------------------------------
# The tracciato (legacy AM_*) form
# ---------------------------------------------------------------------------------------
def _field(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d%m%Y")
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.replace(".", ",")
    if isinstance(value, bool):
        return "-1" if value else "0"
    text = str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "§").replace("|", "_")
    if len(text) > MAX_TEXT:
        raise PermanentError(f"{name} is {len(text)} characters long; the tracciato layout "
                             f"allows {MAX_TEXT}", field=name)
    return text


def pipe_line(values: Sequence[tuple[str, Any]]) -> str:
    """One headerless tracciato line from (field name, value) pairs."""
    return "|".join(_field(v, n) for n, v in values)


def _order_lines(o: Order, ditta: str) -> list[str]:
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
        tipo_om = None if r is None else (r.ext_cod_tipo_riga_omag or "0")
        tipo_um = None if r is None else (r.tipo_um or "1")
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
                  ("T_DAT_CONS_RIG", rv("data_consegna_riga")), ("T_NOTE", o.note),
                  *[(f"FILLER{i}", None) for i in range(6, 21)],
                  ("COD_SERIE_ORDINI", o.cod_serie_ordini),
                  ("NUM_DOC_AGGIUNTA", o.num_doc_aggiunta)]
        lines.append(pipe_line(values))
    return lines


def _new_customer_line(c: NewCustomer, ditta: str, ident: str) -> str:
    return pipe_line([("COD_DITTA", ditta), ("COD_CLIFOR", ""), ("TIPO_CLIFOR", "0"),
                      ("TELEFONO1", c.telefono1), ("TELEFONO2", c.telefono2), ("FAX", c.fax),
                      ("CELLULARE", c.cellulare), ("E_MAIL", c.email),
                      ("PIVA", c.partita_iva), ("RAG_SOC", c.ragione_sociale),
                      ("DES_INDIR", c.indirizzo), ("DES_CAP", c.cap),
                      ("DES_CITTA", c.des_citta), ("DES_PROVINCIA", c.provincia),
                      ("COND_PAG", c.cod_cond_pag), ("CODICE_FISCALE", c.codice_fiscale),
                      ("ID", ident)])


def _customer_line(c: CustomerChange, ditta: str) -> str:
    return pipe_line([("COD_DITTA", ditta), ("COD_CLIFOR", c.cod_cliente), ("TIPO_CLIFOR", "0"),
                      ("TELEFONO1", c.telefono1), ("TELEFONO2", c.telefono2), ("FAX", c.fax),
                      ("CELLULARE", c.cellulare), ("E_MAIL", c.email),
                      ("PIVA", c.partita_iva), ("RAG_SOC", c.ragione_sociale),
                      ("DES_INDIR", c.indirizzo), ("DES_CAP", c.cap), ("DES_CITTA", c.citta),
                      ("DES_PROVINCIA", c.provincia), ("COND_PAG", c.cod_cond_pag),
                      ("CODICE_FISCALE", c.codice_fiscale), ("ID", c.unique_id)])


def _note_line(n: CustomerNote, ditta: str) -> str:
    return pipe_line([("COD_DITTA", ditta), ("COD_CLIFOR", n.cod_cliente), ("TIPO_CLIFOR", "0"),
                      ("PROGRESSIVO", n.progressivo), ("TIPO_NOTA", n.tipo_nota),
                      ("DES_NOTE", n.nota), ("ID", n.unique_id)])


def json_document(record: InboundRecord) -> bytes:
    doc = {
        "stream": record.stream,
        "id": record.payload.get("id", record.queue_id),
        "unique_id": record.payload.get("unique_id", record.unique_id),
        "key": record.key,
        "received": record.payload,
        "record": to_jsonable(record.model),
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n").encode("utf-8")


def render(record: InboundRecord, fmt: str, company: str) -> list[tuple[str, bytes]]:
    """The files for one record, in writing order; the last one is the record's own file."""
    uid = safe_part(record.unique_id)
    if fmt == "tracciato":
        model = record.model
        ditta = safe_part((getattr(model, "cod_ditta", None) or company).strip() or company)
        if isinstance(model, Order):
            files: list[tuple[str, bytes]] = []
            if model.new_customer is not None:
                files.append((f"AM_CF_ANA_{ditta}_NEW_{uid}.DAT", _crlf(
                    [_new_customer_line(model.new_customer, ditta,
                                        model.guid_test_ord or model.unique_id)])))
            files.append((f"AM_ORD_{ditta}_{uid}.DAT", _crlf(_order_lines(model, ditta))))
            return files
        if isinstance(model, CustomerChange):
            return [(f"AM_CF_ANA_{ditta}_{uid}.DAT", _crlf([_customer_line(model, ditta)]))]
        if isinstance(model, CustomerNote):
            return [(f"AM_CF_NOTE_{ditta}_{uid}.DAT", _crlf([_note_line(model, ditta)]))]
    return [(f"{record.stream}_{uid}.json", json_document(record))]


def _crlf(lines: list[str]) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


# ---------------------------------------------------------------------------------------
# The sink
# ---------------------------------------------------------------------------------------
class FilesSink:
    def __init__(self, path: Path, fmt: str = "json", company: str = "") -> None:
        if fmt not in ("json", "tracciato"):
            raise ValueError(f"unknown files-sink format {fmt!r}")
        self.name = "files"
        self.path = Path(path)
        self.format = fmt
        self.company = company
        self._landed: set[str] = set()
        self._ledger_offset = 0
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransientError(f"cannot create the ERP import folder {self.path}: "
                                 f"{exc.strerror or exc}") from None
        self._read_ledger()
        self._clean_temp_files()

    def _read_ledger(self) -> None:
        """Load the names appended since the last read (another process may append too)."""
        ledger = self.path / LEDGER
        try:
            with open(ledger, "rb") as fh:
                fh.seek(self._ledger_offset)
                data = fh.read()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise TransientError(f"cannot read {ledger}: {exc.strerror or exc}") from None
        end = data.rfind(b"\n") + 1  # a torn last line (crash while appending) is ignored
        for line in data[:end].decode("utf-8", "replace").splitlines():
            if line:
                self._landed.add(line)
        self._ledger_offset += end

    def _clean_temp_files(self) -> None:
        cutoff = time.time() - 300
        for p in self.path.glob(TMP_PREFIX + "*.tmp"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
            except OSError:
                pass

    def _landed_already(self, name: str) -> bool:
        if name in self._landed:
            return True
        self._read_ledger()
        return name in self._landed or (self.path / name).exists()

    def write(self, record: InboundRecord) -> ErpRef:
        files = render(record, self.format, self.company)  # PermanentError when unrepresentable
        main = files[-1][0]
        try:
            if self._landed_already(main):
                return ErpRef(self.name, main, duplicate=True)
            for name, data in files:
                if name != main and self._landed_already(name):
                    continue
                self._write_atomic(name, data)
            self._append_ledger([n for n, _ in files])
        except OSError as exc:
            raise TransientError(f"cannot write {record.key} into {self.path}: "
                                 f"{exc.strerror or exc}", key=record.key) from None
        return ErpRef(self.name, main, duplicate=False)

    def _write_atomic(self, name: str, data: bytes) -> None:
        tmp = self.path / f"{TMP_PREFIX}{name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / name)
        except BaseException:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise
        _fsync_dir(self.path)

    def _append_ledger(self, names: list[str]) -> None:
        fd = os.open(self.path / LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, "".join(n + "\n" for n in names).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        self._landed.update(names)

    def close(self) -> None:
        self._landed.clear()


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
