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

This module runs the burst; each step that has a reason of its own to change is beside
it: staging.py (read, judge, write one file), heldback.py (the rows held back),
quarantine.py (a refused file), space.py (room on the staging volume).
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from connector import metrics
from connector.config import Config
from connector.export import formats_bridge as fb
from connector.export import space
from connector.export.heldback import HeldBack
from connector.export.journal import ExportJournal, Outcome
from connector.export.naming import classify
from connector.export.partial import PartialCopies, merge
from connector.export.quarantine import Quarantine
from connector.export.staging import Refused, Staged, Stager
from connector.export.verdicts import Verdict, Verdicts
from connector.fsutil import HashingWriter, UnsafePath, fsync_dir
from connector.geocode.fill import PublishFill
from connector.inbox import Inbox
from connector.logsetup import new_correlation_id
from connector.ports import Publisher, PublishItem
from connector.state import StateStore
from formats.report import N_

log = structlog.get_logger(__name__)


@dataclass
class BurstResult:
    outcomes: list[Outcome]
    deferred: list[str]  # not taken this time (changed while read, stop requested)
    short_of_space: list[str] = field(default_factory=list)  # deferred: no room to stage them
    held_back: dict[str, int] = field(default_factory=dict)  # published source -> rows held back

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
        self.stager = Stager(cfg, self.inbox, self.geofill, HeldBack(self.ex.quarantine, store))
        self.quarantine = Quarantine(self.ex, self.inbox, self.journal, store)
        self.partials = PartialCopies(cfg.state_dir)

    # The burst -----------------------------------------------------------------------
    def process(self, rels: list[str]) -> BurstResult:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        staging = self.cfg.staging_dir / run_id
        outcomes: list[Outcome] = []
        deferred: list[str] = []
        staged: list[Staged] = []
        cids: dict[str, str] = {}
        taken: set[tuple[str, str]] = set()
        # An outage (the Dropbox folder is not there) touches nothing: no quarantine, no
        # archive; the files wait where they are (DestinationMissing).
        self.publisher.check_destination()
        self.cfg.staging_dir.mkdir(parents=True, exist_ok=True)
        room = space.room(self.cfg)  # staged as far as space allows; the rest waits
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
                need = space.space_needed(self.watch, rel, target)
                if need > room:
                    short.append(rel)
                    deferred.append(rel)
                    continue
                room -= need
                if dest:
                    taken.add(dest)
                cids[rel] = new_correlation_id("file")
                with structlog.contextvars.bound_contextvars(correlation_id=cids[rel]):
                    result: Staged | Refused | Outcome | None
                    try:
                        result = self.stager.stage(rel, target, staging, catalog_in_use)
                        if isinstance(result, Refused):
                            result = self.quarantine.refuse(
                                rel, result.verdict, result.started, culprit=result.culprit,
                                copy=result.copy)
                    except OSError as exc:
                        if exc.errno not in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
                            raise
                        room, result = 0, None  # the estimate was short: nothing more now
                        short.append(rel)
                if result is None:
                    deferred.append(rel)
                elif isinstance(result, Outcome):
                    outcomes.append(result)
                elif isinstance(result, Staged):
                    staged.append(result)
            self._merge_into_unconsumed(staged)
            fresh = self._drop_unchanged(staged, outcomes)
            if fresh:
                for s in fresh:
                    if s.judged is not None and s.held is not None:
                        self.partials.prepare(s.item.local_path, s.item.folder, s.item.name)
                items = [s.item for s in fresh]
                if (self.ex.info_file and ("gestionale", "io_info.dat") not in taken
                        and any(s.target.folder == "gestionale" for s in fresh)):
                    items.append(self.stager.info(staging))
                receipts = {(r.folder, r.name): r for r in self.publisher.publish_batch(items)}
                for s in fresh:
                    refused = receipts.get((s.item.folder, s.item.name))
                    if refused is not None and refused.refused:
                        # This one file cannot be published there: it alone is quarantined.
                        outcomes.append(self.quarantine.refuse(s.rel, fb.Judgement.problem(
                            s.rel, N_("line 0: {name}: the destination refuses it: {reason}",
                                      name=f"{s.item.folder}/{s.item.name}",
                                      reason=refused.refused)), s.started))
                        continue
                    if s.judged is not None:
                        if s.held is not None:
                            self.partials.commit(s.item.folder, s.item.name)
                        else:
                            self.partials.drop(s.item.folder, s.item.name)
                    outcomes.append(Outcome(
                        s.rel, "published", s.item.folder, s.item.name, s.rows, s.item.size,
                        s.item.sha256, s.item.content_hash,
                        int((time.monotonic() - s.started) * 1000)))
            done = [o for o in outcomes if o.outcome in ("published", "unchanged")]
            by_rel = {st.rel: st for st in staged}
            held_back = {o.source: h.rows for o in done if o.outcome == "published"
                         and o.source in by_rel and (h := by_rel[o.source].held) is not None}
            self.verdicts.record([_verdict(o, by_rel[o.source]) for o in done
                                  if o.source in by_rel and by_rel[o.source].judged is not None])
            self.journal.record(run_id, done)
            for o in done:
                self._archive(o.source)
                with structlog.contextvars.bound_contextvars(correlation_id=cids.get(o.source)):
                    self._log_outcome(o, by_rel.get(o.source))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        space.report_space(self.cfg, self.store, short, len(rels), bool(outcomes))
        return BurstResult(outcomes, deferred, short, held_back)

    def _catalog_in_use(self, rels: list[str]) -> bool:
        """io_catalogo.dat in this burst, or published before: then media names are free."""
        if any(r.lower().endswith("io_catalogo.dat") for r in rels):
            return True
        if self.journal.last_sha256("multimedia", "io_catalogo.dat"):
            return True
        return (self.cfg.dropbox.mode == "folder"
                and (self.cfg.dropbox_folder("multimedia") / "io_catalogo.dat").exists())

    def _merge_into_unconsumed(self, staged: list[Staged]) -> None:
        """A tracciato whose earlier publish held rows back and is still waiting at the
        destination: the new file is merged into it (connector/export/partial.py)."""
        for s in staged:
            if s.judged is None:
                continue
            base = self.partials.unconsumed(self.publisher, s.item.folder, s.item.name)
            if base is None:
                continue
            path = s.item.local_path
            tmp = path.with_name(path.name + ".merged")
            with open(tmp, "wb") as raw:
                w = HashingWriter(raw)
                rows = merge(base, path, w, s.item.name)
                w.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, path)
            log.info("merged into the earlier publish AppManager has not taken yet",
                     file=s.rel, to=f"{s.item.folder}/{s.item.name}", dropped_rows=s.rows,
                     rows=rows)
            s.item = PublishItem(path, s.item.folder, s.item.name, w.size, w.sha256,
                                 w.content_hash)
            s.rows = rows

    def _drop_unchanged(self, staged: list[Staged], outcomes: list[Outcome]) -> list[Staged]:
        """Unchanged: the journal says this content was published there, and the destination
        really holds it now (asked in one call for the burst). A file deleted or changed at
        the destination is published again."""
        same = [s for s in staged
                if self.journal.last_sha256(s.item.folder, s.item.name) == s.item.sha256]
        held = self.publisher.holding([s.item for s in same]) if same else set()
        asked = {id(s) for s in same}
        fresh: list[Staged] = []
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

    # Leaving the export folder --------------------------------------------------------------
    def _archive(self, rel: str) -> None:
        try:
            self.inbox.archive(rel)  # gone already: archived by an attempt that crashed
        except UnsafePath as exc:  # swapped for a link after it was read: refused next time
            log.warning("published file not archived: its path changed", file=rel,
                        error=str(exc))

    def _log_outcome(self, o: Outcome, staged: Staged | None = None) -> None:
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


def _verdict(o: Outcome, s: Staged) -> Verdict:
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

