"""Publish a burst of staged files through the Dropbox HTTP API, all of them or none visible
(the Publisher port of connector/ports.py).

One publish_batch call:
1. plan: the remote content_hash of every destination (get_metadata for a few files,
   list_folder for many); files whose hash already matches are skipped (no upload);
2. upload the others into <base>/.connector-staging/<run-id>/<folder>/<name>: each file
   small enough in one request (upload_session/start with close=True, or files/upload
   when the burst has a single file), larger files in chunk_mib chunks through an upload
   session that survives a restart (its offset is journaled);
3. commit all sessions with upload_session/finish_batch_v2 (<= 1000 entries per call,
   one commit in flight per process);
4. move into place: Dropbox has no "move and replace" (files/move_batch_v2 fails an entry
   whose destination exists with to/conflict), so the files being replaced are first
   moved aside into the run's staging folder, then the new files are moved in with one
   move_batch_v2 (autorename False), whose async job is polled to completion; a conflict
   that appears meanwhile is moved aside and retried;
5. delete the run's staging folder (with the replaced files), journal, return receipts.

Steps 1 (plan.py), 2-3 (upload.py) and 4-5 (placement.py) each have a module; this one
is the port and the order of the steps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import dropbox
import structlog
from dropbox import files as dbx_files

from adapters.dropbox_api import paths
from adapters.dropbox_api.flow import AdaptiveLimit, Caller
from adapters.dropbox_api.journal import Journal
from adapters.dropbox_api.placement import Placer, RunState, run_id
from adapters.dropbox_api.plan import Plan, Remote, make_plans
from adapters.dropbox_api.settings import DropboxApiSettings
from adapters.dropbox_api.upload import Uploader
from connector import metrics
from connector.errors import ConnectorError, DestinationMissing, PermanentError, TransientError
from connector.ports import PublishItem, PublishReceipt

log = structlog.get_logger(__name__)


class DropboxApiPublisher:
    name = "dropbox_api"

    def __init__(self, dbx: dropbox.Dropbox, cfg: DropboxApiSettings, stop: threading.Event,
                 journal: Journal, retry_initial: float = 0.5, retry_max: float = 30.0) -> None:
        self.dbx = dbx
        self.cfg = cfg
        self.stop = stop
        self.journal = journal
        self.base = paths.company_base(cfg.root, cfg.company)
        self.limit = AdaptiveLimit(max(1, cfg.concurrency))
        self.caller = Caller(stop, cfg.attempts, self.limit, retry_initial, retry_max)
        self.remote = Remote(dbx, self.caller)
        self.uploader = Uploader(dbx, cfg, stop, journal, self.caller, self.limit, self.remote)
        self.placer = Placer(dbx, stop, self.caller, self.limit, self.remote,
                             f"{self.base}/{paths.STAGING_DIR}")
        self._lock = threading.Lock()
        self._may_create = cfg.create_company_folder  # once, at the first check (start-up)

    # The port ------------------------------------------------------------------------------
    def publish_batch(self, items: Sequence[PublishItem]) -> list[PublishReceipt]:
        if not items:
            return []
        with self._lock:
            try:
                return self._publish(items)
            except ConnectorError:
                raise
            except Exception as exc:
                # A defect here must not quarantine the ERP's files: retry later, loudly.
                log.exception("dropbox_publish_unexpected_error")
                raise TransientError(f"Dropbox API publisher failed unexpectedly: "
                                     f"{type(exc).__name__}: {exc}") from exc

    def _publish(self, items: Sequence[PublishItem]) -> list[PublishReceipt]:
        started = time.monotonic()
        plans = make_plans(items, self.base, self.remote)
        self.placer.clean_stale_staging()
        todo = [p for p in plans if p.upload and not p.refused]
        if todo:
            run = RunState(f"{self.placer.staging_root}/{run_id()}")
            for p in todo:
                p.staging = f"{run.run_dir}/{p.item.folder}/{p.item.name}"
            self.uploader.upload_and_commit(todo)
            todo = [p for p in todo if not p.refused]  # refused when committed
            if todo:
                self.placer.move_into_place(todo, run)
            self.placer.delete_quietly(run.run_dir, "delete run staging")
        placed = [p for p in plans if not p.refused]
        self.journal.record_published(
            [(paths.lower(p.final), p.final, p.item.content_hash, p.item.size, p.rev)
             for p in placed])
        uploaded = sum(1 for p in placed if p.upload)
        metrics.inc("connector_dropbox_api_files_total", uploaded,
                    "Files published through the Dropbox API", result="uploaded")
        metrics.inc("connector_dropbox_api_files_total", len(placed) - uploaded,
                    result="unchanged")
        if len(placed) < len(plans):
            metrics.inc("connector_dropbox_api_files_total", len(plans) - len(placed),
                        result="refused")
        metrics.mark_success("dropbox_api")
        log.info("dropbox_published", files=len(plans), uploaded=uploaded,
                 skipped=len(placed) - uploaded, refused=len(plans) - len(placed),
                 seconds=round(time.monotonic() - started, 3))
        return [PublishReceipt(name=p.item.name, folder=p.item.folder, size=p.item.size,
                               content_hash=p.item.content_hash,
                               uploaded=p.upload and not p.refused,
                               remote_path="" if p.refused else p.final, refused=p.refused)
                for p in plans]

    # The destination ---------------------------------------------------------------------
    def check_destination(self) -> None:
        """The company folder must exist in Dropbox: a missing one (deleted, unshared) is an
        outage, never recreated (a new folder would not be the one shared with AppManager)."""
        try:
            md = self.caller.call("files/get_metadata", self.dbx.files_get_metadata, self.base)
        except PermanentError as exc:
            if "not_found" not in exc.context.get("tags", ()):
                raise
            md = None
        if md is None and self._may_create:
            self.caller.call("files/create_folder_v2", self.dbx.files_create_folder_v2,
                             self.base, autorename=False)
            log.warning("dropbox_company_folder_created", path=self.base)
            md = dbx_files.FolderMetadata(name=self.base.rsplit("/", 1)[-1], path_lower="")
        self._may_create = False
        if not isinstance(md, dbx_files.FolderMetadata):
            raise DestinationMissing(
                f"the Dropbox folder {self.base} is not there"
                f"{' (a file has its name)' if md is not None else ''}: was it deleted, "
                "moved or unshared? Files wait in the export folder; the connector never "
                "creates it", folder=self.base)

    def holding(self, items: Sequence[PublishItem]) -> set[tuple[str, str]]:
        plans = [Plan(item=i, final=f"{self.base}/{i.folder}/{i.name}", staging="")
                 for i in items if paths.name_problem(i.folder, i.name) is None]
        if not plans:
            return set()
        with self._lock:
            remote = self.remote.hashes(plans)
        return {(p.item.folder, p.item.name) for p in plans
                if remote.get(paths.lower(p.final)) == p.item.content_hash}

    def close(self) -> None:
        session = getattr(self.dbx, "_session", None)
        if session is not None:
            session.close()
