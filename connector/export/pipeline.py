"""One export burst: claim -> validate and normalise -> stage -> publish -> journal -> archive.

Invariants (ARCHITECTURE.md, outbound):
- only complete, valid files reach Dropbox: each is written to staging (outside the
  synced folder, same volume), fsynced, and only then handed to the publisher;
- a source leaves the export folder only after its output is published and journaled,
  so a crash anywhere repeats work and never loses it;
- identical content is not republished;
- bad input goes to quarantine with a report of every bad line; the rest goes on;
- a tracciato whose errors are confined to a few rows (export.max_bad_rows) is published
  without them: the bad rows are held back in quarantine/held-back/, as a file of their
  own (the header included) with its report, before anything is published, so a crash
  repeats that step (to the same place: the name comes from the rows held) and never
  loses them.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import structlog

from connector import __version__, metrics
from connector.config import Config
from connector.errors import TransientError
from connector.export import formats_bridge as fb
from connector.export.journal import ExportJournal, Outcome
from connector.export.naming import MEDIA_EXT, Target, classify
from connector.export.verdicts import Verdict, Verdicts
from connector.fsutil import (
    HashingWriter,
    UnsafePath,
    atomic_writer,
    copy_into,
    fsync_dir,
    lstat_inside,
    move_durably,
)
from connector.geocode.fill import PublishFill
from connector.inbox import Inbox
from connector.logsetup import new_correlation_id
from connector.ports import Publisher, PublishItem
from connector.state import StateStore

log = structlog.get_logger(__name__)
MB = 1024 * 1024


@dataclass
class _Staged:
    rel: str
    target: Target
    item: PublishItem
    rows: int | None
    started: float
    judged: fb.Judgement | None = None  # tracciati: warnings of the published rows
    held: _Held | None = None  # rows held back in quarantine


@dataclass
class _Held:
    rows: int
    path: Path  # the held-back rows, in quarantine
    report: Path


@dataclass
class BurstResult:
    outcomes: list[Outcome]
    deferred: list[str]  # not taken this time (changed while read, stop requested)
    short_of_space: list[str] = field(default_factory=list)  # deferred: no room to stage them

    @property
    def quarantined(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome == "quarantined"]


class ExportPipeline:
    def __init__(self, cfg: Config, store: StateStore, publisher: Publisher,
                 stop: threading.Event | None = None,
                 beat: Callable[[], None] = lambda: None) -> None:
        self.cfg = cfg
        self.ex = cfg.export
        self.store = store
        self.journal = ExportJournal(store)
        self.verdicts = Verdicts(store)
        self.publisher = publisher
        self.stop = stop or threading.Event()
        self.beat = beat  # the loop's heartbeat: a long burst must not look like a hang
        self.watch = self.ex.watch
        self.inbox = Inbox(self.watch, quarantine=self.ex.quarantine, archive=self.ex.archive,
                           done_marker=self.ex.done_marker)
        self.dialects = tuple((d.match, d.layout) for d in self.ex.dialects)
        # Coordinates from the geocoding cache, written before the output is hashed.
        self.geofill = PublishFill(cfg.geocode, store)

    # The burst -----------------------------------------------------------------------
    def process(self, rels: list[str]) -> BurstResult:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        staging = self.cfg.staging_dir / run_id
        outcomes: list[Outcome] = []
        deferred: list[str] = []
        staged: list[_Staged] = []
        cids: dict[str, str] = {}
        taken: set[tuple[str, str]] = set()
        # An outage (the Dropbox folder is not there) touches nothing: no quarantine, no
        # archive; the files wait where they are (DestinationMissing).
        self.publisher.check_destination()
        self.cfg.staging_dir.mkdir(parents=True, exist_ok=True)
        room = self._room()  # staged as far as space allows; the rest waits for the next burst
        short: list[str] = []
        staging.mkdir(parents=True, exist_ok=True)
        try:
            catalog_in_use = self._catalog_in_use(rels)
            for rel in rels:
                if self.stop.is_set():
                    deferred.append(rel)
                    continue
                self.beat()
                target = classify(rel, self.dialects)
                dest = (target.folder, target.name) if target and target.folder else None
                if dest in taken:
                    deferred.append(rel)  # two sources, one destination: the next burst
                    continue
                need = _space_needed(self.watch, rel, target)
                if need > room:
                    short.append(rel)
                    deferred.append(rel)
                    continue
                room -= need
                if dest:
                    taken.add(dest)
                cids[rel] = new_correlation_id("file")
                with structlog.contextvars.bound_contextvars(correlation_id=cids[rel]):
                    try:
                        result = self._stage_one(rel, target, staging, catalog_in_use)
                    except OSError as exc:
                        if exc.errno not in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
                            raise
                        room, result = 0, None  # the estimate was short: nothing more now
                        short.append(rel)
                if result is None:
                    deferred.append(rel)
                elif isinstance(result, Outcome):
                    outcomes.append(result)
                else:
                    staged.append(result)
            fresh = self._drop_unchanged(staged, outcomes)
            if fresh:
                items = [s.item for s in fresh]
                if (self.ex.info_file and ("gestionale", "io_info.dat") not in taken
                        and any(s.target.folder == "gestionale" for s in fresh)):
                    items.append(self._stage_info(staging))
                receipts = {(r.folder, r.name): r for r in self.publisher.publish_batch(items)}
                for s in fresh:
                    refused = receipts.get((s.item.folder, s.item.name))
                    if refused is not None and refused.refused:
                        # This one file cannot be published there: it alone is quarantined.
                        outcomes.append(self._quarantine(s.rel, fb.Judgement.problem(
                            s.rel, f"line 0: {s.item.folder}/{s.item.name}: the destination "
                            f"refuses it: {refused.refused}"), s.started))
                        continue
                    outcomes.append(Outcome(
                        s.rel, "published", s.item.folder, s.item.name, s.rows, s.item.size,
                        s.item.sha256, s.item.content_hash,
                        int((time.monotonic() - s.started) * 1000)))
            done = [o for o in outcomes if o.outcome in ("published", "unchanged")]
            by_rel = {st.rel: st for st in staged}
            self.verdicts.record([_verdict(o, by_rel[o.source]) for o in done
                                  if o.source in by_rel and by_rel[o.source].judged is not None])
            self.journal.record(run_id, done)
            for o in done:
                self._archive(o.source)
                with structlog.contextvars.bound_contextvars(correlation_id=cids.get(o.source)):
                    self._log_outcome(o, by_rel.get(o.source))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._report_space(short, len(rels), bool(outcomes))
        return BurstResult(outcomes, deferred, short)

    # Staging one file ----------------------------------------------------------------------
    def _stage_one(self, rel: str, target: Target | None, staging: Path,
                   catalog_in_use: bool) -> _Staged | Outcome | None:
        started = time.monotonic()
        if target is None:
            return None
        try:
            fin, before = self.inbox.open(rel, hard_link_ok=self._own_copy(rel))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except UnsafePath as exc:
            return self._quarantine(rel, fb.Judgement.problem(rel, f"line 0: {exc}"), started,
                                    culprit=exc.culprit, copy=False)
        except PermissionError as exc:
            log.warning("file not readable yet, will retry", file=rel, error=str(exc))
            return None
        if target.kind == "unsupported":
            fin.close()
            return self._quarantine(rel, fb.Judgement.problem(
                rel, f"line 0: {rel!r}: this file type is not published to iCommerce (tracciati "
                f"io_*.dat; media {', '.join(sorted(MEDIA_EXT))})"), started)
        out = staging / target.folder / target.name
        out.parent.mkdir(parents=True, exist_ok=True)
        rows: int | None = None
        verdict: fb.Judgement | None = None  # set when the file is refused
        judged: fb.Judgement | None = None
        held_tmp = out.with_name(out.name + ".held")
        held: tuple[fb.Judgement, int] | None = None  # (the first judgement, rows held back)
        try:
            with fin, open(out, "wb") as raw:
                writer = self.geofill.writer(raw, target.name)
                if target.kind in ("media", "report"):
                    head = fin.read(fb.MEDIA_SNIFF_BYTES)
                    problem = (self._media_problem(target, catalog_in_use)
                               or fb.media_content_problem(target.name, head))
                    if problem:
                        verdict = fb.Judgement.problem(rel, problem)
                    else:
                        writer.write(head)
                        copy_into(fin, writer)
                else:
                    judged = fb.judge(fin, writer, rel, target.kind, self.ex, self.cfg.company)
                    hold = fb.lines_to_hold(judged, self.ex)
                    if hold:  # a second pass: the bad rows aside, the rest published
                        fin.seek(0)
                        raw.seek(0)
                        raw.truncate()
                        writer = self.geofill.writer(raw, target.name)
                        with open(held_tmp, "wb") as hf:
                            rest = fb.judge(fin, writer, rel, target.kind, self.ex,
                                            self.cfg.company, hold=hold, held=hf)
                        if rest.valid:  # the first judgement words the held rows' report
                            held = (dataclasses.replace(judged, held=rest.held),
                                    len(rest.held) or len(hold))
                            judged = rest
                    rows = judged.rows
                    verdict = None if judged.valid else judged
                if verdict is None:
                    writer.flush()
                    os.fsync(raw.fileno())
                read = os.fstat(fin.fileno())
            after = lstat_inside(self.watch, rel)
        except (FileNotFoundError, NotADirectoryError, UnsafePath):
            return None  # gone or swapped meanwhile: the next burst looks again
        if ((before.st_size, before.st_mtime_ns) != (read.st_size, read.st_mtime_ns)
                or (after.st_ino, after.st_size, after.st_mtime_ns)
                != (before.st_ino, before.st_size, before.st_mtime_ns)):
            log.info("file changed while being read, will retry", file=rel)
            return None
        if verdict is not None:  # judged on a stable file, and moved once it is closed
            return self._quarantine(rel, verdict, started)
        item = PublishItem(out, target.folder, target.name, writer.size, writer.sha256,
                           writer.content_hash)
        staged = _Staged(rel, target, item, rows, started, judged)
        if held is not None and judged is not None:
            staged.held = self._hold_back(rel, held_tmp, held[0], held[1], judged.rows)
        return staged

    def _hold_back(self, rel: str, tmp: Path, first: fb.Judgement, count: int,
                   published_rows: int) -> _Held:
        """Put the held-back rows (staged in `tmp`) and their report into quarantine.

        The folder is named after the time and a digest of the rows, and a folder with the
        same digest is reused: a repeated attempt (after a crash, or the same file dropped
        again) writes the same rows to the same place instead of a second copy."""
        h = hashlib.sha256(rel.encode("utf-8", "surrogateescape") + b"\0")
        with open(tmp, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        digest = h.hexdigest()[:8]
        base = self.ex.quarantine / "held-back"
        folder = next((d for d in sorted(base.glob(f"*-{digest}")) if d.is_dir()),
                      base / f"{time.strftime('%Y%m%d-%H%M%S')}-{digest}")
        dest = folder / rel
        text = fb.held_report(first, rel, dest.name, published_rows)
        with atomic_writer(dest.with_name(dest.name + ".errors.txt")) as f:
            f.write(text.encode("utf-8"))
        moved = move_durably(tmp, dest.parent, dest.name, overwrite=True)
        metrics.inc("connector_rows_held_back_total", float(count),
                    help="Rows of tracciati held back in quarantine")
        log.warning("rows held back", file=rel, held_back=count, published=published_rows,
                    first_error=first.first, held=str(moved))
        self.store.record_event("warning", "export", f"{rel}: published {published_rows} rows, "
                                f"held back {count}: {first.first}")
        return _Held(count, moved, moved.with_name(moved.name + ".errors.txt"))

    def _own_copy(self, rel: str) -> Callable[[os.stat_result], bool]:
        """A hard-linked file is read only when its other name is the extract's own copy of
        what it handed over (connector/extract/keystore.py keeps <state_dir>/extract/last/<name>):
        any other second name may be a file the writers of the watch folder cannot read."""
        own = self.cfg.state_dir / "extract" / "last" / PurePosixPath(rel).name

        def ok(st: os.stat_result) -> bool:
            if st.st_nlink != 2:
                return False
            try:
                mine = os.stat(own, follow_symlinks=False)
            except OSError:
                return False
            return (mine.st_dev, mine.st_ino) == (st.st_dev, st.st_ino)

        return ok

    def _media_problem(self, target: Target, catalog_in_use: bool) -> str | None:
        ext = Path(target.name).suffix.lower()
        if target.folder == "reports":
            if ext != ".pdf":
                return f"line 0: {target.name!r}: reports must be PDF files"
            return None
        if ext not in MEDIA_EXT:
            return (f"line 0: {target.name!r}: iCommerce shows only "
                    f"{', '.join(sorted(MEDIA_EXT))} in the catalog")
        if not catalog_in_use:
            return fb.media_name_problem(target.name)
        return None

    def _catalog_in_use(self, rels: list[str]) -> bool:
        """io_catalogo.dat in this burst, or published before: then media names are free."""
        if any(r.lower().endswith("io_catalogo.dat") for r in rels):
            return True
        if self.journal.last_sha256("multimedia", "io_catalogo.dat"):
            return True
        return (self.cfg.dropbox.mode == "folder"
                and (self.cfg.dropbox_folder("multimedia") / "io_catalogo.dat").exists())

    def _drop_unchanged(self, staged: list[_Staged], outcomes: list[Outcome]) -> list[_Staged]:
        """Unchanged: the journal says this content was published there, and the destination
        really holds it now (asked in one call for the burst). A file deleted or changed at
        the destination is published again."""
        same = [s for s in staged
                if self.journal.last_sha256(s.item.folder, s.item.name) == s.item.sha256]
        held = self.publisher.holding([s.item for s in same]) if same else set()
        asked = {id(s) for s in same}
        fresh: list[_Staged] = []
        for s in staged:
            if id(s) in asked and (s.item.folder, s.item.name) in held:
                s.item.local_path.unlink(missing_ok=True)
                outcomes.append(Outcome(s.rel, "unchanged", s.item.folder, s.item.name, s.rows,
                                        s.item.size, s.item.sha256, s.item.content_hash,
                                        int((time.monotonic() - s.started) * 1000)))
            else:
                if id(s) in asked:
                    log.info("published before but not at the destination now: publishing "
                             "again", file=s.rel, to=f"{s.item.folder}/{s.item.name}")
                fresh.append(s)
        return fresh

    def _stage_info(self, staging: Path) -> PublishItem:
        out = staging / "gestionale" / "io_info.dat"
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as raw:
            w = HashingWriter(raw)
            fb.write_info(w, {
                "Tracciati": "1.9",
                "Rivenditore": "",
                "Clienti": self.cfg.company,
                "Release": "",
                "Estrazione": datetime.now().strftime("%d%m%Y-%H%M"),
                "Assembly": f"icommerce-connector {__version__}",
            })
            w.flush()
            os.fsync(raw.fileno())
        return PublishItem(out, "gestionale", "io_info.dat", w.size, w.sha256, w.content_hash)

    # Leaving the export folder --------------------------------------------------------------
    def _archive(self, rel: str) -> None:
        try:
            self.inbox.archive(rel)  # gone already: archived by an attempt that crashed
        except UnsafePath as exc:  # swapped for a link after it was read: refused next time
            log.warning("published file not archived: its path changed", file=rel,
                        error=str(exc))

    def _quarantine(self, rel: str, verdict: fb.Judgement, started: float, *,
                    culprit: str | None = None, copy: bool = True) -> Outcome:
        """Move the refused name (`culprit`: the link itself when a link was the problem,
        never what it points to) into quarantine with a report; the rest of the burst goes on."""
        why = ""
        if verdict.bad_lines is not None:  # row errors only, but too many to hold them back
            limit = self.ex.max_bad_rows
            why = (f" {verdict.bad_rows} row(s) are bad: more than export.max_bad_rows allows "
                   f"to hold back (at most {limit.count} rows and {limit.percent:g}% of the "
                   "file), so the file was refused whole.")
        report = verdict.text + f"\nNothing of this file was published.{why} " + (
            "Fix it and drop it again into the export folder.\n" if copy else
            "The link (or linked name) was moved here, never what it points to; if the ERP "
            "must publish that file, copy it into the export folder as a regular file.\n")
        q = self.inbox.quarantine(rel, report, culprit=culprit, copy=copy)
        first, count = verdict.first, verdict.count
        self.journal.quarantined(rel, str(q.path), str(q.report), first, count)
        outcome = Outcome(rel, "quarantined", error=first,
                          duration_ms=int((time.monotonic() - started) * 1000))
        self.journal.record("quarantine", [outcome])
        metrics.inc("connector_files_quarantined_total", help="Files moved to quarantine")
        log.warning("file quarantined", file=rel, problems=count, first_error=first,
                    report=str(q.report))
        self.store.record_event("warning", "export", f"{rel} quarantined: {first}")
        return outcome

    def _log_outcome(self, o: Outcome, staged: _Staged | None = None) -> None:
        if o.outcome == "published":
            metrics.inc("connector_files_published_total", help="Files published", folder=o.folder)
            metrics.inc("connector_bytes_published_total", float(o.bytes or 0),
                        help="Bytes published", folder=o.folder)
            metrics.mark_success("export")
        extra: dict[str, object] = {}
        judged = staged.judged if staged is not None else None
        if judged is not None and judged.warnings:
            extra.update(warnings=judged.warnings, first_warning=judged.first_warnings[0])
        if staged is not None and staged.held is not None:
            extra.update(held_back=staged.held.rows, held=str(staged.held.path))
            log.info(f"file {o.outcome}: published {o.rows} rows, held back "
                     f"{staged.held.rows}", file=o.source, to=f"{o.folder}/{o.name}",
                     rows=o.rows, bytes=o.bytes, duration_ms=o.duration_ms, **extra)
            return
        log.info(f"file {o.outcome}", file=o.source, to=f"{o.folder}/{o.name}", rows=o.rows,
                 bytes=o.bytes, duration_ms=o.duration_ms, **extra)

    def _room(self) -> int:
        """Bytes that may be staged now: the staging volume's free space above the floor."""
        free = shutil.disk_usage(self.cfg.staging_dir).free
        return max(0, free - self.ex.min_free_mb * MB)

    def _report_space(self, short: list[str], asked: int, some_done: bool) -> None:
        """Say what waits for room (log, events, status) and why; clear it once all fit."""
        if not short:
            if self.store.get(SPACE_KEY):
                self.store.put(SPACE_KEY, None)
            return
        free = shutil.disk_usage(self.cfg.staging_dir).free
        text = (f"not enough free space to stage {len(short)} of {asked} file(s) in "
                f"{self.cfg.staging_dir}: {free // MB} MB free, the floor is "
                f"{self.ex.min_free_mb} MB (export.min_free_mb); they wait in the export "
                f"folder for the next burst: {', '.join(short[:10])}"
                f"{', ...' if len(short) > 10 else ''}")
        self.store.put(SPACE_KEY, json.dumps({"at": time.time(), "files": short[:50],
                                              "waiting": len(short), "free_mb": free // MB,
                                              "floor_mb": self.ex.min_free_mb}))
        if not some_done:
            raise TransientError(text + "; nothing was moved")
        log.warning("burst staged in part: not enough free space", waiting=len(short),
                    free_mb=free // MB, floor_mb=self.ex.min_free_mb, files=short[:20])
        self.store.record_event("warning", "export", text)


SPACE_KEY = "export.space"  # kv: files waiting for room to be staged (status shows them)


def _space_needed(watch: Path, rel: str, target: Target | None) -> int:
    """Room to stage a file: media as they are; a tracciato's canonical form (CRLF, BOM)
    can be up to twice its source."""
    try:
        size = os.lstat(watch / rel).st_size
    except OSError:
        return 0
    if target is None or target.kind in ("media", "report", "unsupported"):
        return size
    return 2 * size + 3


def _verdict(o: Outcome, s: _Staged) -> Verdict:
    j = s.judged
    assert j is not None
    h = s.held
    return Verdict(o.folder, o.name, o.source, o.rows, j.warnings, j.first_warnings,
                   h.rows if h else 0, str(h.path) if h else None, str(h.report) if h else None)


def cleanup_staging(cfg: Config) -> None:
    """Leftovers of a crashed burst: their sources are still in the export folder."""
    root = cfg.staging_dir
    if root.is_dir():
        for child in root.iterdir():
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(True)
        fsync_dir(root)

