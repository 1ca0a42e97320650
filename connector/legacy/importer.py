"""The legacy route: AppManager's return files in <company>/appmanager -> journal -> ERP sink.

For each stable file (size and mtime unchanged over settle_seconds):
1. parse it whole (adapters.legacy); a malformed file moves to quarantine with a
   `<name>.errors.txt` naming each bad line and field, and nothing of it is journaled;
2. journal its records in one transaction (source "legacy"; unique ids derived from the
   file name and line, so reading the same file again is a no-op);
3. deliver the ones not yet delivered through the same ErpSink as the web-service route;
4. only when every record is delivered or dead-lettered (durably in the journal), delete
   the file (or archive it, import.legacy.archive). A record the ERP could not take yet
   (TransientError) keeps the file: it is tried again on the next scan.

A crash anywhere repeats steps on the next start; the journal and the sink's
idempotency make the repeat a no-op, so nothing is lost or written twice.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from adapters.erp import ErpSink
from adapters.legacy import LegacyFileError, ParsedRecord, Problem, kind_of, parse_file
from connector import metrics
from connector.config import Config
from connector.domain import InboundRecord, decode_record
from connector.errors import FormatError, RecordError
from connector.fsutil import atomic_writer, fsync_dir, move_durably
from connector.importing.journal import Journal
from connector.logsetup import bind_correlation
from connector.state import StateStore

log = structlog.get_logger(__name__)

SOURCE = "legacy"
FINAL_STATES = frozenset({"delivered", "dead", "duplicate"})

# Records journaled by this route are decoded back from their payload like API items.
Journal.register_decoder(SOURCE, decode_record)


@dataclass
class ScanResult:
    imported: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # some record could not be delivered yet
    unstable: list[str] = field(default_factory=list)  # still being written
    records_delivered: int = 0
    records_dead: int = 0


def quarantine_dir(cfg: Config) -> Path:
    return cfg.import_.legacy.quarantine or (cfg.export.quarantine / "legacy")


class LegacyImporter:
    def __init__(self, cfg: Config, store: StateStore, sink: ErpSink,
                 journal: Journal | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.sink = sink
        self.journal = journal or Journal(store, retry_seconds=cfg.import_.retry_seconds,
                                          max_retry_seconds=cfg.import_.max_retry_seconds)
        self.folder = cfg.legacy_folder
        self.quarantine = quarantine_dir(cfg)
        self.archive = cfg.import_.legacy.archive

    # Finding complete files -------------------------------------------------------------
    def candidates(self) -> dict[Path, tuple[int, int]]:
        """Our files in the folder with their (size, mtime_ns)."""
        out: dict[Path, tuple[int, int]] = {}
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return out
        for entry in entries:
            if kind_of(entry.name) is None:
                continue
            try:
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue  # vanished between listing and stat
            out[Path(entry.path)] = (st.st_size, st.st_mtime_ns)
        return out

    def stable_files(self, stop: threading.Event) -> tuple[list[Path], list[Path]]:
        """(stable, unstable): files whose size and mtime did not change over settle_seconds."""
        first = self.candidates()
        if not first:
            return [], []
        if stop.wait(self.cfg.import_.legacy.settle_seconds):
            return [], []
        second = self.candidates()
        stable = sorted(p for p, sig in first.items() if second.get(p) == sig)
        unstable = sorted(p for p in second if first.get(p) != second[p])
        return stable, unstable

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
        self.store.put("legacy.last_scan_at", str(time.time()))
        return result

    def import_file(self, path: Path, result: ScanResult) -> None:
        name = path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return  # taken by someone else meanwhile
        except OSError as exc:  # locked by the sync client or an editor: next scan
            log.warning("legacy file not readable yet", file=name, error=str(exc))
            result.waiting.append(name)
            return
        try:
            parsed = parse_file(name, data, self.cfg.company)
            records = [self._decode(p) for p in parsed]
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
            if self.archive is not None:
                day = time.strftime("%Y-%m-%d")
                move_durably(path, self.archive / day)
            else:
                path.unlink()
                fsync_dir(path.parent)
        except FileNotFoundError:
            pass
        except OSError as exc:
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
        lines = [f"{path.name}: not imported, moved to quarantine", ""]
        lines += [str(p) for p in problems] or [str(exc)]
        if exc.__cause__ is not None:
            lines.append(f"cause: {exc.__cause__}")
        lines += ["", "Fix the file (or have AppManager send it again) and put it back in "
                  f"{self.folder} to import it."]
        try:
            target = move_durably(path, self.quarantine)
        except FileNotFoundError:
            return
        except OSError as move_error:
            log.error("cannot quarantine legacy file", file=path.name, error=str(move_error))
            self.store.record_event("error", "legacy",
                                    f"cannot quarantine {path.name}: {move_error}")
            return
        with atomic_writer(target.with_name(target.name + ".errors.txt")) as f:
            f.write(("\n".join(lines) + "\n").encode("utf-8"))
        self.store.record_event("error", "legacy", f"quarantined {exc}")
        self.journal.quarantine(kind_of(path.name) or "orders", {"file": path.name,
                                                                 "quarantined_as": str(target)},
                                exc, source=SOURCE)
        metrics.inc("connector_legacy_files_total", help="legacy return files by outcome",
                    outcome="quarantined")
        log.error("legacy file quarantined", file=path.name, to=str(target), error=str(exc))
