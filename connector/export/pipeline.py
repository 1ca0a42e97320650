"""One export burst: claim -> validate and normalise -> stage -> publish -> journal -> archive.

Invariants (ARCHITECTURE.md, outbound):
- only complete, valid files reach Dropbox: each is written to staging (outside the
  synced folder, same volume), fsynced, and only then handed to the publisher;
- a source leaves the export folder only after its output is published and journaled,
  so a crash anywhere repeats work and never loses it;
- identical content is not republished;
- bad input goes to quarantine with a report of every bad line; the rest goes on.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from connector import __version__, metrics
from connector.config import Config
from connector.errors import TransientError
from connector.export import formats_bridge as fb
from connector.export.journal import ExportJournal, Outcome
from connector.export.naming import MEDIA_EXT, Target, classify
from connector.fsutil import (
    HashingWriter,
    atomic_writer,
    copy_into,
    fsync_dir,
    move_durably,
    unique_destination,
)
from connector.geocode.fill import PublishFill
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


@dataclass
class BurstResult:
    outcomes: list[Outcome]
    deferred: list[str]  # not taken this time (changed while read, stop requested)

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
        self.publisher = publisher
        self.stop = stop or threading.Event()
        self.beat = beat  # the loop's heartbeat: a long burst must not look like a hang
        self.watch = self.ex.watch
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
        self._check_free_space(rels)
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
                if dest:
                    taken.add(dest)
                cids[rel] = new_correlation_id("file")
                with structlog.contextvars.bound_contextvars(correlation_id=cids[rel]):
                    result = self._stage_one(rel, target, staging, catalog_in_use)
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
                self.publisher.publish_batch(items)
                for s in fresh:
                    outcomes.append(Outcome(
                        s.rel, "published", s.item.folder, s.item.name, s.rows, s.item.size,
                        s.item.sha256, s.item.content_hash,
                        int((time.monotonic() - s.started) * 1000)))
            done = [o for o in outcomes if o.outcome in ("published", "unchanged")]
            self.journal.record(run_id, done)
            for o in done:
                self._archive(o.source)
                with structlog.contextvars.bound_contextvars(correlation_id=cids.get(o.source)):
                    self._log_outcome(o)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return BurstResult(outcomes, deferred)

    # Staging one file ----------------------------------------------------------------------
    def _stage_one(self, rel: str, target: Target | None, staging: Path,
                   catalog_in_use: bool) -> _Staged | Outcome | None:
        started = time.monotonic()
        src = self.watch / rel
        if target is None:
            return None
        try:
            before = src.stat()
        except FileNotFoundError:
            return None
        if target.kind == "unsupported":
            return self._quarantine(rel, fb.Judgement.problem(
                rel, f"line 0: {rel!r}: this file type is not published to iCommerce (tracciati "
                f"io_*.dat; media {', '.join(sorted(MEDIA_EXT))})"), started)
        out = staging / target.folder / target.name
        out.parent.mkdir(parents=True, exist_ok=True)
        rows: int | None = None
        verdict: fb.Judgement | None = None  # set when the file is refused
        try:
            with open(src, "rb") as fin, open(out, "wb") as raw:
                writer = self.geofill.writer(raw, target.name)
                if target.kind in ("media", "report"):
                    problem = self._media_problem(target, catalog_in_use)
                    if problem:
                        verdict = fb.Judgement.problem(rel, problem)
                    else:
                        copy_into(fin, writer)
                else:
                    report = fb.judge(fin, writer, rel, target.kind, self.ex,
                                      self.cfg.company)
                    rows = report.rows
                    verdict = None if report.valid else report
                if verdict is None:
                    writer.flush()
                    os.fsync(raw.fileno())
            after = src.stat()
        except FileNotFoundError:
            return None
        except PermissionError as exc:
            log.warning("file not readable yet, will retry", file=rel, error=str(exc))
            return None
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
            log.info("file changed while being read, will retry", file=rel)
            return None
        if verdict is not None:  # judged on a stable file, and moved once it is closed
            return self._quarantine(rel, verdict, started)
        item = PublishItem(out, target.folder, target.name, writer.size, writer.sha256,
                           writer.content_hash)
        return _Staged(rel, target, item, rows, started)

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
        fresh: list[_Staged] = []
        for s in staged:
            if self.journal.last_sha256(s.item.folder, s.item.name) == s.item.sha256:
                s.item.local_path.unlink(missing_ok=True)
                outcomes.append(Outcome(s.rel, "unchanged", s.item.folder, s.item.name, s.rows,
                                        s.item.size, s.item.sha256, s.item.content_hash,
                                        int((time.monotonic() - s.started) * 1000)))
            else:
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
        src = self.watch / rel
        day = time.strftime("%Y-%m-%d")
        rel_parent = Path(rel).parent
        try:
            move_durably(src, self.ex.archive / day / rel_parent)
        except FileNotFoundError:
            pass  # already archived by an earlier attempt that crashed before journaling
        if self.ex.done_marker:
            (self.watch / (rel + self.ex.done_marker)).unlink(missing_ok=True)

    def _quarantine(self, rel: str, verdict: fb.Judgement, started: float) -> Outcome:
        src = self.watch / rel
        dest_dir = self.ex.quarantine / Path(rel).parent
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = unique_destination(dest_dir / Path(rel).name)
        report = (verdict.text + "\nNothing of this file was published. Fix it and drop it "
                  "again into the export folder.\n")
        with atomic_writer(dest.with_name(dest.name + ".errors.txt")) as f:
            f.write(report.encode("utf-8"))
        try:
            moved = move_durably(src, dest_dir, dest.name, overwrite=True)
        except FileNotFoundError:
            moved = dest
        if self.ex.done_marker:
            (self.watch / (rel + self.ex.done_marker)).unlink(missing_ok=True)
        first, count = verdict.first, verdict.count
        self.journal.quarantined(rel, str(moved), str(moved) + ".errors.txt", first, count)
        outcome = Outcome(rel, "quarantined", error=first,
                          duration_ms=int((time.monotonic() - started) * 1000))
        self.journal.record("quarantine", [outcome])
        metrics.inc("connector_files_quarantined_total", help="Files moved to quarantine")
        log.warning("file quarantined", file=rel, problems=count, first_error=first,
                    report=str(moved) + ".errors.txt")
        self.store.record_event("warning", "export", f"{rel} quarantined: {first}")
        return outcome

    def _log_outcome(self, o: Outcome) -> None:
        if o.outcome == "published":
            metrics.inc("connector_files_published_total", help="Files published", folder=o.folder)
            metrics.inc("connector_bytes_published_total", float(o.bytes or 0),
                        help="Bytes published", folder=o.folder)
            metrics.mark_success("export")
        log.info(f"file {o.outcome}", file=o.source, to=f"{o.folder}/{o.name}", rows=o.rows,
                 bytes=o.bytes, duration_ms=o.duration_ms)

    def _check_free_space(self, rels: list[str]) -> None:
        need = 0
        for rel in rels:
            try:
                need += (self.watch / rel).stat().st_size
            except OSError:
                pass
        self.cfg.staging_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.cfg.staging_dir).free
        floor = self.ex.min_free_mb * MB
        if free - 2 * need < floor:
            raise TransientError(
                f"not enough free space to stage {len(rels)} file(s) in {self.cfg.staging_dir}: "
                f"{free // MB} MB free, {2 * need // MB} MB needed above the "
                f"{self.ex.min_free_mb} MB floor (export.min_free_mb); nothing was moved")


def cleanup_staging(cfg: Config) -> None:
    """Leftovers of a crashed burst: their sources are still in the export folder."""
    root = cfg.staging_dir
    if root.is_dir():
        for child in root.iterdir():
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(True)
        fsync_dir(root)

