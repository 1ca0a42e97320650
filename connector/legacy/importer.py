"""The legacy route: AppManager's return files in <company>/appmanager -> journal -> ERP sink.

The folder is an inbox (connector.inbox, as the export folder is): for each finished file
(size and mtime seen unchanged over settle_seconds; a link or a special file is never
read, it goes to quarantine):
1. parse it whole (the parser it is given: adapters.legacy, through connector/app.py); a
   malformed file moves to quarantine with a
   `<name>.errors.txt` naming each bad line and field, and nothing of it is journaled; a
   file of another company (every COD_DITTA in it another company's) is left where it is
   for that company's connector, as the reference connector does: logged once (the
   file's name, size and mtime are remembered in the state store, so neither a later
   scan nor a restart logs it again or reads it again) and shown by `connector status`;
2. journal its records in one transaction (source "legacy"; unique ids derived from the
   file name and line, so reading the same file again is a no-op);
3. deliver the ones not yet delivered through the same ErpSink as the web-service route;
4. only when every record is delivered or dead-lettered (durably in the journal), delete
   the file (or archive it, import.legacy.archive). A record the ERP could not take yet
   (TransientError) keeps the file: it is tried again on the next scan. Archived files go
   to `<archive>/<YYYY-MM-DD>/`; a quarantined file's report is written before it moves.

A crash anywhere repeats steps on the next start; the journal and the sink's
idempotency make the repeat a no-op, so nothing is lost or written twice.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from connector import metrics
from connector.config import Config
from connector.errors import FormatError, RecordError
from connector.fsutil import UnsafePath
from connector.i18n import _
from connector.importing.journal import Journal, journal_for
from connector.inbox import Inbox, SettleGate
from connector.logsetup import bind_correlation
from connector.model import (
    ForeignCompanyFile,
    InboundRecord,
    LegacyFileError,
    ParsedRecord,
    Problem,
    decode_record,
    kind_of,
)
from connector.ports import ErpSink, ReturnFileParser
from connector.state import StateStore

log = structlog.get_logger(__name__)

SOURCE = "legacy"
FINAL_STATES = frozenset({"delivered", "dead", "duplicate"})
FOREIGN_KEY = "legacy.foreign_files"  # state store: {file name: [size, mtime_ns, companies]}


@dataclass
class ScanResult:
    imported: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # some record could not be delivered yet
    unstable: list[str] = field(default_factory=list)  # still being written
    foreign: list[str] = field(default_factory=list)  # another company's: left in place
    records_delivered: int = 0
    records_dead: int = 0


def foreign_files(store: StateStore) -> dict[str, list[Any]]:
    """The other companies' files seen in the folder: {name: [size, mtime_ns, companies]}."""
    try:
        value = json.loads(store.get(FOREIGN_KEY) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def quarantine_dir(cfg: Config) -> Path:
    return cfg.import_.legacy.quarantine or (cfg.export.quarantine / "legacy")


class LegacyImporter:
    def __init__(self, cfg: Config, store: StateStore, sink: ErpSink, parse: ReturnFileParser,
                 journal: Journal | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.sink = sink
        self.parse = parse
        self.journal = journal or journal_for(cfg, store)
        self.folder = cfg.legacy_folder
        self.quarantine = quarantine_dir(cfg)
        self.archive = cfg.import_.legacy.archive
        self._foreign = foreign_files(store)
        self.inbox = Inbox(self.folder, quarantine=self.quarantine, archive=self.archive)
        # The folder is synced by Dropbox or on a share: stability is what is seen, never
        # the file times (trust_mtime False); AppManager writes the folder itself only.
        self.gate = SettleGate(self.folder, cfg.import_.legacy.settle_seconds, None,
                               accept=lambda rel: kind_of(rel) is not None,
                               trust_mtime=False, flat=True)

    # Finding complete files -------------------------------------------------------------
    def stable_files(self, stop: threading.Event) -> tuple[list[Path], list[Path]]:
        """(stable, unstable): files whose size and mtime did not change over settle_seconds
        (those seen unchanged by an earlier scan are not waited for again)."""
        if not self.folder.is_dir():
            return [], []
        self.gate.rescan()
        started = time.monotonic()
        ready, settling = self.gate.poll()
        if settling:
            while (left := started + self.gate.settle - time.monotonic()) > 0:
                if stop.wait(left):
                    return [], []
            ready, settling = self.gate.poll()
        return ([self.folder / r for r in ready],
                [self.folder / r for r in self.gate.settling])

    # One scan ----------------------------------------------------------------------------
    def scan(self, stop: threading.Event, beat: Callable[[], None] = lambda: None) -> ScanResult:
        result = ScanResult()
        stable, unstable = self.stable_files(stop)
        result.unstable = [p.name for p in unstable]
        for path in stable:
            if stop.is_set():
                break
            with bind_correlation("file"):
                self.import_file(path, result)
            beat()
        if not stop.is_set():  # forget the other companies' files taken away meanwhile
            present = set(self.gate.pending)
            gone = [n for n in self._foreign if n not in present]
            if gone:
                for name in gone:
                    del self._foreign[name]
                self._save_foreign()
        self.store.put("legacy.last_scan_at", str(time.time()))
        return result

    def import_file(self, path: Path, result: ScanResult) -> None:
        name = path.name
        try:
            f, st = self.inbox.open(name)
            with f:
                known = self._foreign.get(name)
                if known is not None and known[:2] == [st.st_size, st.st_mtime_ns]:
                    result.foreign.append(name)  # another company's, seen already: not read again
                    return
                data = f.read()
        except UnsafePath as exc:  # a link, a special file: never read, moved aside
            self._quarantine(path, exc)
            result.quarantined.append(name)
            return
        except FileNotFoundError:
            self.gate.forget(name)
            return  # taken by someone else meanwhile
        except OSError as exc:  # locked by the sync client or an editor: next scan
            log.warning("legacy file not readable yet", file=name, error=str(exc))
            result.waiting.append(name)
            return
        try:
            parsed = self.parse(name, data, self.cfg.company)
            records = [self._decode(p) for p in parsed]
        except ForeignCompanyFile as exc:
            self._leave_foreign(name, st, exc)
            result.foreign.append(name)
            return
        except FormatError as exc:
            self._quarantine(path, exc)
            result.quarantined.append(name)
            return
        stream = kind_of(name) or "orders"
        self.journal.record_page(stream, records, source=SOURCE)
        todo = [r for r in records if self._state(r) == "pending" and self._due(r)]
        outcomes = self.journal.deliver_many(todo, self.sink) if todo else []
        result.records_delivered += sum(o in ("delivered", "duplicate") for o in outcomes)
        result.records_dead += sum(o == "dead" for o in outcomes)
        states = [self._state(r) for r in records]
        if all(s in FINAL_STATES for s in states):
            self._done(path)
            self.gate.forget(name)
            result.imported.append(name)
            metrics.inc("connector_legacy_files_total", help="legacy return files by outcome",
                        outcome="imported")
            metrics.mark_success("import_legacy")
            log.info("legacy file imported", file=name, records=len(records),
                     dead=states.count("dead"))
        else:
            result.waiting.append(name)
            log.warning("legacy file kept: some records wait for the ERP", file=name,
                        pending=sum(s not in FINAL_STATES for s in states))

    def _leave_foreign(self, name: str, st: os.stat_result, exc: ForeignCompanyFile) -> None:
        """Another company's file: left in the folder for its connector, logged once."""
        self._foreign[name] = [st.st_size, st.st_mtime_ns, exc.companies]
        self._save_foreign()
        log.info("legacy file of another company left in place", file=name,
                 companies=exc.companies, company=self.cfg.company)
        metrics.inc("connector_legacy_files_total", help="legacy return files by outcome",
                    outcome="other_company")

    def _save_foreign(self) -> None:
        self.store.put(FOREIGN_KEY, json.dumps(self._foreign, sort_keys=True))

    def _decode(self, p: ParsedRecord) -> InboundRecord:
        try:
            return decode_record(p.stream, p.item)
        except RecordError as exc:
            # The parser checked every field already; this is a second line of defence.
            raise LegacyFileError(str(p.item.get("_source_ref", "?")),
                                  [Problem(p.line, exc.field, None, str(exc))]) from exc

    def _state(self, rec: InboundRecord) -> str:
        entry = self.journal.entry(rec.key)
        return entry.state if entry is not None else "missing"

    def _due(self, rec: InboundRecord) -> bool:
        entry = self.journal.entry(rec.key)
        if entry is None or entry.attempts == 0:
            return True
        return (entry.next_retry_at or 0.0) <= time.time()

    # Moving files ----------------------------------------------------------------------------
    def _done(self, path: Path) -> None:
        try:
            self.inbox.archive(path.name)  # deleted when there is no archive
        except (OSError, UnsafePath) as exc:
            # Its records are safe in the journal; the next scan finds them delivered
            # and tries the removal again.
            log.error("cannot remove imported legacy file", file=path.name, error=str(exc))
            self.store.record_event("error", "legacy", f"cannot remove {path.name}: {exc}")
            return
        n = int(self.store.get("legacy.files_imported", "0") or 0) + 1
        self.store.put("legacy.files_imported", str(n))
        self.store.put("legacy.last_import_at", str(time.time()))

    def _quarantine(self, path: Path, exc: FormatError) -> None:
        problems = getattr(exc, "problems", None) or []
        # In the configured language (the problems themselves are the parser's words).
        lines = [_("{name}: not imported, moved to quarantine").format(name=path.name), ""]
        lines += [str(p) for p in problems] or [str(exc)]
        if exc.__cause__ is not None:
            lines.append(_("cause: {cause}").format(cause=exc.__cause__))
        lines += ["", _("Fix the file (or have AppManager send it again) and put it back in "
                        "{folder} to import it.").format(folder=self.folder)]
        # A link (or a special file) moves as itself, never what it points to.
        culprit = exc.culprit if isinstance(exc, UnsafePath) else None
        try:
            q = self.inbox.quarantine(path.name, "\n".join(lines) + "\n", culprit=culprit,
                                      copy=culprit is None)
        except OSError as move_error:
            log.error("cannot quarantine legacy file", file=path.name, error=str(move_error))
            self.store.record_event("error", "legacy",
                                    f"cannot quarantine {path.name}: {move_error}")
            return
        self.gate.forget(path.name)
        if not q.moved:
            return  # taken by someone else meanwhile
        target = q.path
        self.store.record_event("error", "legacy", f"quarantined {exc}")
        self.journal.quarantine(kind_of(path.name) or "orders", {"file": path.name,
                                                                 "quarantined_as": str(target)},
                                exc, source=SOURCE)
        metrics.inc("connector_legacy_files_total", help="legacy return files by outcome",
                    outcome="quarantined")
        log.error("legacy file quarantined", file=path.name, to=str(target), error=str(exc))
