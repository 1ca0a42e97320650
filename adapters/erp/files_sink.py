"""The files sink: one file per inbound record in the ERP's import folder, written atomically.

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

Atomic: each file is written as `.~ic-<name>.<pid>.tmp` in the same folder (a dot name no
ERP glob matches), made durable, moved into place with os.replace, and the folder fsynced.
Durable: one record alone is fsynced; a batch (`write_many`, what the poller uses) is
flushed with one syncfs(2) on Linux (one disk flush for the whole page instead of one per
file), elsewhere with one fsync per file from a small thread pool.

Idempotent on the record's key even when the ERP consumes (deletes) the files it imported:
the names landed are appended to `.connector-landed.log` in the folder after each write; a
name in that ledger or present on disk is answered with duplicate=True and not rewritten.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import io
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import msgspec
import structlog

from connector.errors import ConnectorError, PermanentError, RecordError, TransientError
from connector.fsutil import fsync_dir
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
from connector.ports import ErpRef, Rendered
from formats.layout import get_layout
from formats.writer import write_records

log = structlog.get_logger(__name__)

LEDGER = ".connector-landed.log"
LEDGER_MODE = 0o600
FILE_MODE = 0o644
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


# ---------------------------------------------------------------------------------------
# The sink
# ---------------------------------------------------------------------------------------
class FilesSink:
    def __init__(self, path: Path, fmt: str = "json", company: str = "", threads: int = 8) -> None:
        if fmt not in ("json", "tracciato"):
            raise ValueError(f"unknown files-sink format {fmt!r}")
        self.name = "files"
        self.path = Path(path)
        self.format = fmt
        self.company = company
        self.threads = max(1, threads)
        self._pool: ThreadPoolExecutor | None = None
        self._landed: set[str] = set()
        self._ledger_offset = 0
        self._render = FilesRender(fmt, company)
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

    def render_step(self) -> FilesRender:
        """What the decode worker process may run on each record for this sink."""
        return self._render

    def _files(self, record: InboundRecord, rendered: Rendered | None = None
               ) -> list[tuple[str, bytes]]:
        """The record's files: as rendered beside it by our own render step, else rendered
        now (PermanentError when a value cannot be represented)."""
        if rendered is not None and rendered.step == self._render:
            files: list[tuple[str, bytes]] = rendered.output
            return files
        return self._render(record)

    def write(self, record: InboundRecord) -> ErpRef:
        files = self._files(record)
        main = files[-1][0]
        written: list[str] = []
        try:
            if self._landed_already(main):
                return ErpRef(self.name, main, duplicate=True)
            for name, data in files:
                if name != main and self._landed_already(name):
                    continue
                self._write_atomic(name, data)
                written.append(name)
            self._append_ledger([n for n, _ in files])
        except OSError as exc:
            if written and not self._take_back(written, exc):
                return ErpRef(self.name, main, duplicate=False)  # the ERP has it already
            raise TransientError(f"cannot write {record.key} into {self.path}: "
                                 f"{exc.strerror or exc}", key=record.key) from None
        return ErpRef(self.name, main, duplicate=False)

    def _take_back(self, names: list[str], why: OSError) -> bool:
        """Files written whose landing the ledger could not record (a full disk): removed
        again, so that the record is not delivered and its retry writes it afresh (an ERP
        that deletes what it imports would otherwise take it twice). False when the ERP
        took a file in the meantime: it is delivered, the ledger only misses its name."""
        gone = False
        for name in names:
            try:
                os.unlink(self.path / name)
            except FileNotFoundError:
                gone = True
            except OSError:
                pass
        try:
            fsync_dir(self.path, strict=True)
        except OSError:
            pass
        if gone:
            log.warning("the ERP took files whose names the ledger could not record",
                        files=names, error=why.strerror or str(why))
        return not gone

    def write_many(self, records: Sequence[InboundRecord],
                   rendered: Sequence[Rendered | None] = ()) -> list[ErpRef | ConnectorError]:
        """Write a batch: the same as write() for each record, but the files are written
        by a small thread pool (each fsynced before its rename), then one folder fsync and
        one ledger append. Per record: its ErpRef, or the error write() would raise.
        `rendered` (one per record, or empty): what our render step made of each
        elsewhere."""
        results: list[ErpRef | ConnectorError | None] = [None] * len(records)
        jobs: dict[int, list[tuple[str, bytes]]] = {}
        claimed: set[str] = set()
        try:
            self._read_ledger()
        except TransientError as exc:
            return [exc] * len(records)

        def landed(name: str) -> bool:  # on disk too: checked by the writer thread
            return name in claimed or name in self._landed

        for i, rec in enumerate(records):
            try:
                files = self._files(rec, rendered[i] if rendered else None)
                main = files[-1][0]
                if landed(main):
                    results[i] = ErpRef(self.name, main, duplicate=True)
                    continue
            except ConnectorError as exc:
                results[i] = exc
                continue
            except OSError as exc:
                results[i] = TransientError(f"cannot write {rec.key} into {self.path}: "
                                            f"{exc.strerror or exc}", key=rec.key)
                continue
            jobs[i] = [(n, d) for n, d in files if n == main or not landed(n)]
            claimed.update(n for n, _ in files)
        written: list[str] = []
        if _syncfs is not None and len(jobs) > 1:
            self._write_batch_syncfs(records, jobs, results, written)
        else:
            self._write_batch_threads(records, jobs, results, written)
        if written:
            try:
                fsync_dir(self.path, strict=True)
                self._append_ledger(written)
            except OSError as exc:
                err = TransientError(f"cannot record the files written into {self.path}: "
                                     f"{exc.strerror or exc}")
                now_there = set(written)
                for i, r in enumerate(results):
                    if isinstance(r, ErpRef) and not r.duplicate and i in jobs and \
                            self._take_back([n for n, _ in jobs[i] if n in now_there], exc):
                        results[i] = err
        return [r if r is not None else TransientError("not written") for r in results]

    def _write_batch_syncfs(self, records: Sequence[InboundRecord],
                            jobs: dict[int, list[tuple[str, bytes]]],
                            results: list[ErpRef | ConnectorError | None],
                            written: list[str]) -> None:
        """Linux: write every temp file, make them all durable with ONE syncfs(2), then
        rename each into place. Far fewer disk flushes than one fsync per file."""
        staged: list[tuple[int, list[tuple[str, str]]]] = []
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="files-sink")
        # Creating files is slow on a busy disk (kernel time, without the GIL), so it
        # overlaps the caller's Python work, in two writer threads, each half the batch:
        # creations in one folder take the folder's lock in turn, so more threads only
        # spin in the kernel and switch more (measured: 8 threads cost more CPU than 2).
        todo = list(jobs.items())
        share = max(8, -(-len(todo) // min(self.threads, _STAGING_THREADS)))
        futures = [self._pool.submit(self._stage_many, todo[k:k + share])
                   for k in range(0, len(todo), share)]
        for fut in futures:
            for i, tmps in fut.result():
                if isinstance(tmps, OSError):
                    results[i] = TransientError(f"cannot write {records[i].key} into "
                                                f"{self.path}: {tmps.strerror or tmps}",
                                                key=records[i].key)
                elif tmps is None:
                    results[i] = ErpRef(self.name, jobs[i][-1][0], duplicate=True)
                else:
                    staged.append((i, tmps))
        if not staged:
            return
        try:
            _sync_filesystem(self.path)
        except OSError as exc:
            for i, tmps in staged:
                _unlink_all(t for t, _ in tmps)
                results[i] = TransientError(f"cannot flush {self.path} to disk: "
                                            f"{exc.strerror or exc}", key=records[i].key)
            return
        folder = os.fspath(self.path) + os.sep
        for i, tmps in staged:
            try:
                for tmp, name in tmps:
                    os.replace(tmp, folder + name)
            except OSError as exc:
                _unlink_all(t for t, _ in tmps)
                results[i] = TransientError(f"cannot write {records[i].key} into {self.path}: "
                                            f"{exc.strerror or exc}", key=records[i].key)
                continue
            written.extend(name for _, name in tmps)
            results[i] = ErpRef(self.name, jobs[i][-1][0], duplicate=False)

    def _stage_many(self, jobs: list[tuple[int, list[tuple[str, bytes]]]]
                    ) -> list[tuple[int, list[tuple[str, str]] | OSError | None]]:
        """(In a writer thread.) _stage for each record: its temp files, None when its own
        file is there already, or the OSError that stopped it."""
        out: list[tuple[int, list[tuple[str, str]] | OSError | None]] = []
        for i, files in jobs:
            try:
                out.append((i, self._stage(files)))
            except OSError as exc:
                out.append((i, exc))
        return out

    def _stage(self, files: list[tuple[str, bytes]]) -> list[tuple[str, str]] | None:
        """(In a writer thread.) Write one record's temp files, not yet flushed; None when
        its own file is already there."""
        folder = os.fspath(self.path) + os.sep
        main = files[-1][0]
        if os.path.exists(folder + main):
            return None
        tmps: list[tuple[str, str]] = []
        pid = os.getpid()
        try:
            for name, data in files:
                if name != main and os.path.exists(folder + name):
                    continue
                tmp = f"{folder}{TMP_PREFIX}{name}.{pid}.tmp"
                tmps.append((tmp, name))
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_CLOEXEC, FILE_MODE)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                finally:
                    os.close(fd)
        except BaseException:
            _unlink_all(t for t, _ in tmps)
            raise
        return tmps

    def _write_batch_threads(self, records: Sequence[InboundRecord],
                             jobs: dict[int, list[tuple[str, bytes]]],
                             results: list[ErpRef | ConnectorError | None],
                             written: list[str]) -> None:
        """Elsewhere: each file fsynced before its rename, by a small thread pool."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="files-sink")
        futures = [(i, self._pool.submit(self._write_files, files))
                   for i, files in jobs.items()]
        for i, fut in futures:
            rec = records[i]
            try:
                fresh = fut.result()
            except OSError as exc:
                results[i] = TransientError(f"cannot write {rec.key} into {self.path}: "
                                            f"{exc.strerror or exc}", key=rec.key)
                continue
            if fresh:
                written.extend(n for n, _ in jobs[i])
            results[i] = ErpRef(self.name, jobs[i][-1][0], duplicate=not fresh)

    def _write_files(self, files: list[tuple[str, bytes]]) -> bool:
        """(In a writer thread.) Write one record's files unless its own file is already
        there; True when written. The folder is fsynced by the caller, once per batch."""
        if (self.path / files[-1][0]).exists():
            return False
        for name, data in files:
            if name != files[-1][0] and (self.path / name).exists():
                continue
            self._write_atomic(name, data, sync_dir=False)
        return True

    def _write_atomic(self, name: str, data: bytes, sync_dir: bool = True) -> None:
        tmp = self.path / f"{TMP_PREFIX}{name}.{os.getpid()}.tmp"
        try:
            # 0644 whatever the umask: the ERP (maybe another user) reads it, nobody else
            # may change an order before the ERP takes it.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_CLOEXEC, FILE_MODE)
            with open(fd, "wb") as fh:
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
        if sync_dir:
            fsync_dir(self.path, strict=True)

    def _append_ledger(self, names: list[str]) -> None:
        """Append the names, all or nothing: every write is checked, and a short write or
        an error (a full disk) truncates the ledger back to where it was and raises
        OSError. A line torn before (a crash mid-append) is ended first, so it never glues
        onto a name. Created 0600: the connector's own file.

        Not fsynced on purpose: the files are durable already, and the journal records
        them as delivered right after; the ledger only matters for a replay that an ERP
        which deletes imported files could otherwise turn into a second import."""
        data = "".join(n + "\n" for n in names).encode("utf-8")
        fd = os.open(self.path / LEDGER, os.O_RDWR | os.O_APPEND | os.O_CREAT | _O_CLOEXEC,
                     LEDGER_MODE)
        try:
            st = os.fstat(fd)
            if sys.platform != "win32" and st.st_mode & 0o077:
                try:
                    os.fchmod(fd, LEDGER_MODE)
                except OSError:
                    pass
            size = st.st_size
            if size and os.lseek(fd, size - 1, os.SEEK_SET) >= 0 and os.read(fd, 1) != b"\n":
                data = b"\n" + data
            view = memoryview(data)
            try:
                while view:
                    n = os.write(fd, view)
                    if n <= 0:
                        raise OSError(errno.EIO, "the ledger took no more bytes")
                    view = view[n:]
            except OSError:
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    pass
                raise
        finally:
            os.close(fd)
        self._landed.update(names)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._landed.clear()


_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_STAGING_THREADS = 2


def _unlink_all(paths: Iterable[Path | str]) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return cast(Callable[[int], int], fn)


_syncfs = _load_syncfs()


def _sync_filesystem(path: Path) -> None:
    """syncfs(2): flush all dirty data of the filesystem holding path, and wait."""
    assert _syncfs is not None
    fd = os.open(path, os.O_RDONLY)
    try:
        if _syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)
