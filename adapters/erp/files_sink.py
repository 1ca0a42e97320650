"""The files sink: one file per inbound record in the ERP's import folder, written atomically.

What it writes (the formats json and tracciato, the file names) is adapters.erp.files_render's,
a pure render step the decode worker process may run too (`render_step`); how it writes
(atomic, durable, a batch with one disk flush) is adapters.erp.files_writer's.

Idempotent on the record's key even when the ERP consumes (deletes) the files it imported:
the names landed are appended to `.connector-landed.log` in the folder after each write; a
name in that ledger or present on disk is answered with duplicate=True and not rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from adapters.erp.files_render import FilesRender
from adapters.erp.files_writer import DurableFolder, Failed, Files, Ledger
from connector.errors import ConnectorError, TransientError
from connector.model import InboundRecord
from connector.ports import ErpRef, Rendered


class FilesSink:
    def __init__(self, path: Path, fmt: str = "json", company: str = "", threads: int = 8) -> None:
        if fmt not in ("json", "tracciato"):
            raise ValueError(f"unknown files-sink format {fmt!r}")
        self.name = "files"
        self.path = Path(path)
        self.format = fmt
        self.company = company
        self._render = FilesRender(fmt, company)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransientError(f"cannot create the ERP import folder {self.path}: "
                                 f"{exc.strerror or exc}") from None
        self.folder = DurableFolder(self.path, threads)
        self.ledger = Ledger(self.path)
        self.ledger.read()
        self.folder.clean_temp_files()

    def _landed_already(self, name: str) -> bool:
        if name in self.ledger:
            return True
        self.ledger.read()
        return name in self.ledger or (self.path / name).exists()

    def render_step(self) -> FilesRender:
        """What the decode worker process may run on each record for this sink."""
        return self._render

    def _files(self, record: InboundRecord, rendered: Rendered | None = None) -> Files:
        """The record's files: as rendered beside it by our own render step, else rendered
        now (PermanentError when a value cannot be represented)."""
        if rendered is not None and rendered.step == self._render:
            files: Files = rendered.output
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
                self.folder.write_atomic(name, data)
                written.append(name)
            self.ledger.append([n for n, _ in files])
        except OSError as exc:
            if written and not self.folder.take_back(written, exc):
                return ErpRef(self.name, main, duplicate=False)  # the ERP has it already
            raise TransientError(f"cannot write {record.key} into {self.path}: "
                                 f"{exc.strerror or exc}", key=record.key) from None
        return ErpRef(self.name, main, duplicate=False)

    def write_many(self, records: Sequence[InboundRecord],
                   rendered: Sequence[Rendered | None] = ()) -> list[ErpRef | ConnectorError]:
        """Write a batch: the same as write() for each record, but the files are written
        together (one disk flush for the batch where the platform allows, else a small
        thread pool fsyncing each before its rename), then one folder fsync and one ledger
        append. Per record: its ErpRef, or the error write() would raise. `rendered` (one
        per record, or empty): what our render step made of each elsewhere."""
        results: list[ErpRef | ConnectorError | None] = [None] * len(records)
        jobs: dict[int, Files] = {}
        claimed: set[str] = set()
        try:
            self.ledger.read()
        except TransientError as exc:
            return [exc] * len(records)

        def landed(name: str) -> bool:  # on disk too: checked by the writer thread
            return name in claimed or name in self.ledger

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
        for i, out in self.folder.write_batch(jobs).items():
            key = records[i].key
            if out is None:
                results[i] = ErpRef(self.name, jobs[i][-1][0], duplicate=True)
            elif isinstance(out, Failed):
                why = out.error.strerror or out.error
                results[i] = TransientError(
                    f"cannot flush {self.path} to disk: {why}" if out.flushing
                    else f"cannot write {key} into {self.path}: {why}", key=key)
            else:
                written.extend(out)
                results[i] = ErpRef(self.name, jobs[i][-1][0], duplicate=False)
        if written:
            try:
                self.folder.sync()
                self.ledger.append(written)
            except OSError as exc:
                err = TransientError(f"cannot record the files written into {self.path}: "
                                     f"{exc.strerror or exc}")
                now_there = set(written)
                for i, r in enumerate(results):
                    if isinstance(r, ErpRef) and not r.duplicate and i in jobs and \
                            self.folder.take_back([n for n, _ in jobs[i] if n in now_there],
                                                  exc):
                        results[i] = err
        return [r if r is not None else TransientError("not written") for r in results]

    def close(self) -> None:
        self.folder.close()
        self.ledger.clear()
