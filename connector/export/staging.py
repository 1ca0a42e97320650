"""Staging one dropped file: read once (never through a link, connector.inbox), judged,
written in its canonical form (coordinates filled in from the geocoding cache) into the
burst's staging folder and fsynced, with the hashes the publisher needs; rows to hold
back go aside (heldback.py). A file that changed while it was read waits for the next
burst; a refused one is returned as Refused for the pipeline to quarantine."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

import structlog

from connector import __version__
from connector.config import Config
from connector.export import formats_bridge as fb
from connector.export.heldback import Held, HeldBack
from connector.export.naming import MEDIA_EXT, Target
from connector.fsutil import HashingWriter, UnsafePath, copy_into, lstat_inside
from connector.geocode.fill import PublishFill
from connector.inbox import Inbox
from connector.ports import PublishItem
from formats.report import N_

# One burst, one logger: its lines (and notification keys) keep the pipeline's name.
log = structlog.get_logger("connector.export.pipeline")


@dataclass
class Staged:
    rel: str
    target: Target
    item: PublishItem
    rows: int | None
    started: float
    judged: fb.Judgement | None = None  # tracciati: warnings of the published rows
    held: Held | None = None  # rows held back in quarantine


@dataclass(frozen=True)
class Refused:
    """A file to quarantine: why, and which name to move (the link itself, never what it
    points to; copy=False: never copied across volumes)."""

    verdict: fb.Judgement
    started: float
    culprit: str | None = None
    copy: bool = True


class Stager:
    def __init__(self, cfg: Config, inbox: Inbox, geofill: PublishFill,
                 held_back: HeldBack) -> None:
        self.cfg = cfg
        self.ex = cfg.export
        self.watch = self.ex.watch
        self.inbox = inbox
        self.geofill = geofill
        self.held_back = held_back

    def stage(self, rel: str, target: Target | None, staging: Path,
              catalog_in_use: bool) -> Staged | Refused | None:
        """The file staged; Refused (to quarantine); None when it is not to be taken now
        (gone, not readable yet, changed while it was read)."""
        started = time.monotonic()
        if target is None:
            return None
        try:
            fin, before = self.inbox.open(rel, hard_link_ok=self._own_copy(rel))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except UnsafePath as exc:
            return Refused(fb.Judgement.problem(rel, f"line 0: {exc}"), started,
                           culprit=exc.culprit, copy=False)
        except PermissionError as exc:
            log.warning("file not readable yet, will retry", file=rel, error=str(exc))
            return None
        if target.kind == "unsupported":
            fin.close()
            return Refused(fb.Judgement.problem(rel, fb.file_problem(rel, N_(
                "this file type is not published to iCommerce (tracciati io_*.dat; media "
                "{types})", types=", ".join(sorted(MEDIA_EXT))))), started)
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
            return Refused(verdict, started)
        item = PublishItem(out, target.folder, target.name, writer.size, writer.sha256,
                           writer.content_hash)
        staged = Staged(rel, target, item, rows, started, judged)
        if held is not None and judged is not None:
            staged.held = self.held_back.put(rel, held_tmp, held[0], held[1], judged.rows)
        return staged

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
                return fb.file_problem(target.name, N_("reports must be PDF files"))
            return None
        if ext not in MEDIA_EXT:
            return fb.file_problem(target.name, N_("iCommerce shows only {types} in the "
                                                   "catalog", types=", ".join(sorted(MEDIA_EXT))))
        if not catalog_in_use:
            return fb.media_name_problem(target.name)
        return None

    def info(self, staging: Path) -> PublishItem:
        """io_info.dat: what this export run is (the connector, the company, the time)."""
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
