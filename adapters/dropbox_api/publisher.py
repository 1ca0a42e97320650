"""Publish a burst of staged files through the Dropbox HTTP API, all of them or none visible.

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
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import dropbox
import structlog
from dropbox import files as dbx_files

from adapters.dropbox_api import paths
from adapters.dropbox_api.content_hash import content_hash_bytes, content_hash_file
from adapters.dropbox_api.errors import (
    ITEM_REFUSALS,
    LockContention,
    error_from_tags,
    union_tags,
)
from adapters.dropbox_api.flow import AdaptiveLimit, ByteBudget, Caller
from adapters.dropbox_api.journal import Journal, SessionState
from adapters.dropbox_api.settings import DropboxApiSettings
from connector import metrics
from connector.errors import (
    AuthError,
    ConnectorError,
    DestinationMissing,
    PermanentError,
    StopRequested,
    TransientError,
)
from connector.ports import PublishItem, PublishReceipt

log = structlog.get_logger(__name__)

MIB = 1024 * 1024
BATCH_LIMIT = 1000  # entries per finish_batch_v2 / move_batch_v2 call
METADATA_LOOKUP_MAX = 8  # up to this many files in a folder: get_metadata each; else list_folder
MOVE_JOB_DEADLINE_SECONDS = 600.0
MAX_SESSION_RESTARTS = 3

# Dropbox allows one commit in flight per account; one process publishes one company.
_COMMIT_LOCK = threading.Lock()


@dataclass
class _Plan:
    item: PublishItem
    final: str
    staging: str
    upload: bool = True
    exists: bool = False  # a file is at the destination now (with other content)
    session_id: str | None = None
    rev: str | None = None
    restarts: int = 0
    refused: str | None = None  # Dropbox refuses this item: not published, the rest goes on


@dataclass
class _RunState:
    run_dir: str
    displaced: list[tuple[str, str]] = field(default_factory=list)  # (final, aside) done
    landed: list[tuple[str, str]] = field(default_factory=list)  # (staging, final) done


class DropboxApiPublisher:
    name = "dropbox_api"

    def __init__(self, dbx: dropbox.Dropbox, cfg: DropboxApiSettings, stop: threading.Event,
                 journal: Journal, retry_initial: float = 0.5, retry_max: float = 30.0) -> None:
        self.dbx = dbx
        self.cfg = cfg
        self.stop = stop
        self.journal = journal
        self.base = paths.company_base(cfg.root, cfg.company)
        self.staging_root = f"{self.base}/{paths.STAGING_DIR}"
        self.chunk = cfg.chunk_mib * MIB
        self.single_limit = cfg.single_upload_limit_mib * MIB
        self.workers = max(1, cfg.concurrency)
        self.limit = AdaptiveLimit(self.workers)
        self.budget = ByteBudget(max(self.single_limit, self.workers * self.chunk))
        self.caller = Caller(stop, cfg.attempts, self.limit, retry_initial, retry_max)
        self._lock = threading.Lock()
        self._stale_cleaned = False
        self._abort = threading.Event()  # one upload of the burst failed: the others stop
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
        plans = self._plan(items)
        self._clean_stale_staging()
        todo = [p for p in plans if p.upload and not p.refused]
        if todo:
            run = _RunState(f"{self.staging_root}/{_run_id()}")
            for p in todo:
                p.staging = f"{run.run_dir}/{p.item.folder}/{p.item.name}"
            self._upload_and_commit(todo)
            todo = [p for p in todo if not p.refused]  # refused when committed
            if todo:
                self._move_into_place(todo, run)
            self._delete_quietly(run.run_dir, "delete run staging")
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
        plans = [_Plan(item=i, final=f"{self.base}/{i.folder}/{i.name}", staging="")
                 for i in items if paths.name_problem(i.folder, i.name) is None]
        if not plans:
            return set()
        with self._lock:
            remote = self._remote_hashes(plans)
        return {(p.item.folder, p.item.name) for p in plans
                if remote.get(paths.lower(p.final)) == p.item.content_hash}

    def close(self) -> None:
        session = getattr(self.dbx, "_session", None)
        if session is not None:
            session.close()

    # 1. Plan --------------------------------------------------------------------------------
    def _plan(self, items: Sequence[PublishItem]) -> list[_Plan]:
        plans: list[_Plan] = []
        seen: set[str] = set()
        for item in items:
            final = f"{self.base}/{item.folder}/{item.name}"
            plan = _Plan(item=item, final=final, staging="",
                         refused=paths.name_problem(item.folder, item.name))
            plans.append(plan)
            if plan.refused:
                log.warning("dropbox_name_refused", name=f"{item.folder}/{item.name}",
                            reason=plan.refused)
                continue
            if paths.lower(final) in seen:
                raise PermanentError(f"{item.folder}/{item.name} appears twice in one batch "
                                     "(Dropbox paths ignore case)", name=item.name)
            seen.add(paths.lower(final))
            try:
                size = item.local_path.stat().st_size
            except OSError as exc:
                raise PermanentError(f"staged file {item.local_path} is missing: {exc}",
                                     name=item.name) from None
            if size != item.size:
                raise PermanentError(f"staged file {item.local_path} has {size} bytes, "
                                     f"expected {item.size}", name=item.name)
        remote = self._remote_hashes([p for p in plans if not p.refused])
        for p in plans:
            known = remote.get(paths.lower(p.final))
            p.upload = known != p.item.content_hash
            p.exists = known is not None
        return plans

    def _remote_hashes(self, plans: list[_Plan]) -> dict[str, str]:
        """path_lower -> content_hash of the files that exist at the destinations: one
        get_metadata per file for a few files in a folder, one listing for more."""
        out: dict[str, str] = {}
        by_folder: dict[str, list[_Plan]] = defaultdict(list)
        for p in plans:
            by_folder[p.final.rsplit("/", 1)[0]].append(p)  # nested media: their own folder
        for folder, group in by_folder.items():
            if len(group) <= METADATA_LOOKUP_MAX:
                for p in group:
                    h = self._remote_hash(p.final)
                    if h is not None:
                        out[paths.lower(p.final)] = h
            else:
                out.update(self._list_hashes(folder))
        return out

    def _remote_hash(self, path: str) -> str | None:
        try:
            md = self.caller.call("files/get_metadata", self.dbx.files_get_metadata, path)
        except PermanentError as exc:
            if "not_found" in exc.context.get("tags", ()):
                return None
            raise
        return md.content_hash if isinstance(md, dbx_files.FileMetadata) else None

    def _list_hashes(self, folder: str) -> dict[str, str]:
        out: dict[str, str] = {}
        try:
            res = self.caller.call("files/list_folder", self.dbx.files_list_folder, folder,
                                   limit=2000)
        except PermanentError as exc:
            if "not_found" in exc.context.get("tags", ()):
                return out
            raise
        while True:
            for e in res.entries:
                if isinstance(e, dbx_files.FileMetadata) and e.path_lower:
                    out[e.path_lower] = e.content_hash or ""
            if not res.has_more:
                return out
            res = self.caller.call("files/list_folder/continue",
                                   self.dbx.files_list_folder_continue, res.cursor)

    # 2-3. Upload and commit into staging ------------------------------------------------------
    def _upload_and_commit(self, todo: list[_Plan]) -> None:
        if len(todo) == 1 and todo[0].item.size <= self.single_limit:
            try:
                self._upload_direct(todo[0])  # one request: files/upload commits it as well
            except PermanentError as exc:
                if not _refused_item(exc.context.get("tags", [])):
                    raise
                todo[0].refused = str(exc)
            return
        lost = self._commit(self._upload_all(todo))
        if lost:  # sessions Dropbox no longer knows (expired, or lost in a crash): once more
            log.warning("dropbox_sessions_lost", files=len(lost))
            for p in lost:
                self.journal.forget_session(_session_key(p))
                p.session_id = None
                p.restarts += 1
            again = self._commit(self._upload_all(lost))
            if again:
                raise TransientError(f"Dropbox lost the upload sessions of {len(again)} files "
                                     "twice; will retry the burst", files=len(again))

    def _upload_all(self, todo: list[_Plan]) -> list[_Plan]:
        if len(todo) == 1:
            self._upload_one(todo[0])
            return todo
        self._abort.clear()
        with ThreadPoolExecutor(max_workers=self.workers,
                                thread_name_prefix="dropbox-upload") as pool:
            futures: list[Future[None]] = [pool.submit(self._upload_one, p) for p in todo]
            done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                self._abort.set()  # a large upload in progress stops at its next chunk
                for f in not_done:
                    f.cancel()
                wait(futures)
                raise _worst([f.exception() for f in futures
                              if f.done() and not f.cancelled() and f.exception()])
        return todo

    def _upload_one(self, p: _Plan) -> None:
        if p.item.size <= self.single_limit:
            p.session_id = self._upload_small(p)
        else:
            p.session_id = self._upload_large(p)

    def _upload_direct(self, p: _Plan) -> None:
        item = p.item
        what = "files/upload"
        for attempt in self.caller.retry(what):
            with attempt, self.limit.slot(self.stop), self.budget.take(item.size, self.stop):
                data = self._read(item, 0, item.size, verify_hash=True)
                md = self.caller.invoke(what, self.dbx.files_upload, data, p.staging,
                                        mode=dbx_files.WriteMode.overwrite, autorename=False,
                                        mute=True, content_hash=item.content_hash)
        self.limit.success()
        p.rev = getattr(md, "rev", None)
        self._bytes_sent(item.size)

    def _upload_small(self, p: _Plan) -> str:
        item = p.item
        what = "files/upload_session/start"
        for attempt in self.caller.retry(what):
            with attempt, self.limit.slot(self.stop), self.budget.take(item.size, self.stop):
                # Re-read on every attempt: never resend a consumed buffer (Maestral #925).
                data = self._read(item, 0, item.size, verify_hash=True)
                res = self.caller.invoke(what, self.dbx.files_upload_session_start, data,
                                         close=True, content_hash=item.content_hash)
        self.limit.success()
        self._bytes_sent(item.size)
        return str(res.session_id)

    def _upload_large(self, p: _Plan) -> str:
        """Chunks of chunk_mib through one session; resumes a journaled session after a crash."""
        item = p.item
        size = item.size
        key = _session_key(p)
        state = self.journal.session(key)
        if state is not None:
            log.info("dropbox_session_resumed", name=item.name, offset=state.offset, size=size)
            metrics.inc("connector_dropbox_api_sessions_resumed_total", 1.0,
                        "Large uploads resumed from a journaled session")
        sid = state.session_id if state else None
        offset = state.offset if state else 0
        closed = state.closed if state else False
        restarts = 0
        with open(item.local_path, "rb") as f:
            while not closed:
                if self._abort.is_set():
                    raise TransientError(f"upload of {item.name} stopped: another file of "
                                         "the burst failed", name=item.name)
                if sid is None:
                    n = min(self.chunk, size)
                    sid = self._session_start(f, item, n, close=n == size)
                    offset, closed = n, n == size
                    self.journal.save_session(key,
                                              SessionState(sid, offset, closed))
                    continue
                n = min(self.chunk, size - offset)
                close = offset + n == size
                try:
                    self._session_append(f, item, sid, offset, n, close)
                except PermanentError as exc:
                    tags = exc.context.get("tags", [])
                    server_offset = exc.context.get("correct_offset")
                    if "incorrect_offset" in tags and server_offset is not None \
                            and 0 <= int(server_offset) <= size:
                        # The server has more (or less) than we believed: an append whose
                        # answer was lost, or a crash before we journaled. Continue there.
                        log.info("dropbox_offset_resync", name=item.name, ours=offset,
                                 theirs=int(server_offset))
                        offset = int(server_offset)
                        self.journal.save_session(key,
                                                  SessionState(sid, offset, False))
                        continue
                    if "closed" in tags and (close or offset == size):
                        # Our closing append landed (only it closes the session, and only
                        # at the right offset); its answer did not.
                        offset, closed = size, True
                    elif "not_found" in tags or "closed" in tags:
                        restarts += 1
                        if restarts > MAX_SESSION_RESTARTS:
                            raise TransientError(f"upload session of {item.name} keeps "
                                                 "failing; will retry later",
                                                 name=item.name) from exc
                        log.warning("dropbox_session_restart", name=item.name, tags=tags)
                        self.journal.forget_session(key)
                        sid, offset, closed = None, 0, False
                        continue
                    else:
                        raise
                else:
                    offset += n
                    closed = close
                self.journal.save_session(key,
                                          SessionState(sid, offset, closed))
        if sid is None:
            raise AssertionError("a closed upload session has an id")
        return sid

    def _session_start(self, f: BinaryIO, item: PublishItem, n: int, close: bool) -> str:
        what = "files/upload_session/start"
        for attempt in self.caller.retry(what):
            with attempt, self.limit.slot(self.stop), self.budget.take(n, self.stop):
                data = self._read_at(f, item, 0, n)
                res = self.caller.invoke(what, self.dbx.files_upload_session_start, data,
                                         close=close, content_hash=content_hash_bytes(data))
        self.limit.success()
        self._bytes_sent(n)
        return str(res.session_id)

    def _session_append(self, f: BinaryIO, item: PublishItem, sid: str, offset: int, n: int,
                        close: bool) -> None:
        what = "files/upload_session/append_v2"
        cursor = dbx_files.UploadSessionCursor(session_id=sid, offset=offset)
        for attempt in self.caller.retry(what):
            with attempt, self.limit.slot(self.stop), self.budget.take(n, self.stop):
                data = self._read_at(f, item, offset, n)
                self.caller.invoke(what, self.dbx.files_upload_session_append_v2, data, cursor,
                                   close=close, content_hash=content_hash_bytes(data))
        self.limit.success()
        self._bytes_sent(n)

    def _commit(self, plans: list[_Plan]) -> list[_Plan]:
        """finish_batch_v2 in groups of 1000; returns the plans whose session was lost."""
        lost: list[_Plan] = []
        sessions = [p for p in plans if p.session_id is not None]
        with _COMMIT_LOCK:
            for start in range(0, len(sessions), BATCH_LIMIT):
                lost.extend(self._commit_group(sessions[start:start + BATCH_LIMIT]))
        return lost

    def _commit_group(self, group: list[_Plan]) -> list[_Plan]:
        what = "files/upload_session/finish_batch_v2"
        pending = list(group)
        lost: list[_Plan] = []
        for attempt in self.caller.retry(what):
            with attempt:
                if not pending:
                    continue
                entries = [dbx_files.UploadSessionFinishArg(
                    cursor=dbx_files.UploadSessionCursor(session_id=str(p.session_id),
                                                         offset=p.item.size),
                    commit=dbx_files.CommitInfo(path=p.staging,
                                                mode=dbx_files.WriteMode.overwrite,
                                                autorename=False, mute=True))
                    # No content_hash here: it is the hash of the content uploaded in this
                    # call (none); each start/append carried its own, and the committed
                    # file's hash is checked below.
                    for p in pending]
                res = self.caller.invoke(what, self.dbx.files_upload_session_finish_batch_v2,
                                         entries)
                retry_later: list[_Plan] = []
                first: ConnectorError | None = None
                for p, entry in zip(pending, res.entries, strict=True):
                    if entry.is_success():
                        md = entry.get_success()
                        if md.content_hash and md.content_hash != p.item.content_hash:
                            lost.append(p)
                            continue
                        p.rev = md.rev
                        self._forget_session(p)
                        continue
                    tags = union_tags(entry.get_failure())
                    if "lookup_failed" in tags or "content_hash_mismatch" in tags:
                        # Committed by an earlier attempt whose answer was lost? Then the
                        # staging file is there with our hash; else re-upload it.
                        if self._remote_hash(p.staging) == p.item.content_hash:
                            self._forget_session(p)
                        else:
                            self._check_local(p.item, tags)
                            lost.append(p)
                        continue
                    err = error_from_tags(tags, what, name=p.item.name)
                    if _refused_item(tags):
                        p.refused = str(err)
                        self._forget_session(p)
                        continue
                    if isinstance(err, LockContention):
                        self.limit.decrease(what)
                    if not isinstance(err, TransientError):
                        raise err
                    retry_later.append(p)
                    first = first or err
                pending = retry_later
                if first is not None:
                    raise first
        return lost

    # 4. Move into place ------------------------------------------------------------------------
    def _move_into_place(self, todo: list[_Plan], run: _RunState) -> None:
        # Move aside what is at the destinations now (a listing/metadata told us in _plan).
        existing = [(p.final, self._aside(run, p)) for p in todo if p.exists]
        expect = {paths.lower(p.final): p.item.content_hash for p in todo}
        aside = {paths.lower(p.final): self._aside(run, p) for p in todo}
        try:
            if existing:
                self._move_batch("displace", existing, expect={}, displace=True,
                                 record=run.displaced)
            self._move_batch("publish", [(p.staging, p.final) for p in todo], expect=expect,
                             displace=False, aside=aside, record=run.landed)
        except (ConnectorError, StopRequested):  # a stop too (no longer a ConnectorError)
            self._roll_back(run)
            raise

    def _roll_back(self, run: _RunState) -> None:
        """Moving in failed part-way: take back the new files that landed and put the previous
        versions back, so AppManager keeps reading the whole previous run. Best effort, one
        attempt each, even during a shutdown; the error in hand is what the caller sees."""
        if run.landed:
            self._best_effort_move("undo", [(final, staging) for staging, final in run.landed])
        if run.displaced:
            self._best_effort_move("restore", [(aside, final) for final, aside in run.displaced])
        if run.landed or run.displaced:
            log.warning("dropbox_run_rolled_back", undone=len(run.landed),
                        restored=len(run.displaced))

    def _best_effort_move(self, label: str, pairs: list[tuple[str, str]]) -> None:
        with _COMMIT_LOCK:
            self._best_effort_move_locked(label, pairs)

    def _best_effort_move_locked(self, label: str, pairs: list[tuple[str, str]]) -> None:
        try:
            launch = self.dbx.files_move_batch_v2(
                [dbx_files.RelocationPath(from_path=s, to_path=d) for s, d in pairs],
                autorename=False)
            job = launch.get_async_job_id() if launch.is_async_job_id() else None
            for _ in range(50):
                if job is None or self.dbx.files_move_batch_check_v2(job).is_complete():
                    break
                time.sleep(0.2)  # bounded (10 s), on the way out of a failed publish
        except Exception as exc:  # noqa: BLE001 - best effort; the error in hand matters
            log.error("dropbox_rollback_failed", step=label, files=len(pairs),
                      error=type(exc).__name__)

    def _aside(self, run: _RunState, p: _Plan) -> str:
        return f"{run.run_dir}/{paths.REPLACED_DIR}/{p.item.folder}/{p.item.name}"

    def _move_batch(self, label: str, pairs: list[tuple[str, str]], expect: dict[str, str],
                    displace: bool, aside: dict[str, str] | None = None,
                    record: list[tuple[str, str]] | None = None) -> None:
        what = "files/move_batch_v2"
        with _COMMIT_LOCK:
            for start in range(0, len(pairs), BATCH_LIMIT):
                pending = pairs[start:start + BATCH_LIMIT]
                for attempt in self.caller.retry(f"{what} ({label})"):
                    with attempt:
                        if pending:
                            pending = self._move_once(label, pending, expect, displace, aside,
                                                      record)

    def _move_once(self, label: str, pending: list[tuple[str, str]], expect: dict[str, str],
                   displace: bool, aside: dict[str, str] | None,
                   record: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
        what = "files/move_batch_v2"
        launch = self.caller.invoke(what, self.dbx.files_move_batch_v2,
                                    [dbx_files.RelocationPath(from_path=s, to_path=d)
                                     for s, d in pending], autorename=False)
        entries = self._await_move(launch)
        retry_later: list[tuple[str, str]] = []
        conflicts: list[tuple[str, str]] = []
        first: ConnectorError | None = None
        for (src, dst), entry in zip(pending, entries, strict=True):
            if entry.is_success():
                if record is not None:
                    record.append((src, dst))
                continue
            tags = union_tags(entry.get_failure())
            if "from_lookup" in tags and "not_found" in tags:
                if displace:
                    continue  # nothing to move aside any more
                if self._remote_hash(dst) == expect.get(paths.lower(dst)):
                    if record is not None:
                        record.append((src, dst))
                    continue  # an earlier attempt moved it; its answer was lost
                raise TransientError(f"staged file {src} vanished before it was moved into "
                                     "place; the burst will be published again", path=src)
            if "to" in tags and "conflict" in tags and not displace and aside is not None:
                conflicts.append((src, dst))
                continue
            err = error_from_tags(tags, f"{what} ({label})", path=dst)
            if isinstance(err, LockContention):
                self.limit.decrease(what)
            if not isinstance(err, TransientError):
                raise err
            retry_later.append((src, dst))
            first = first or err
        if conflicts and aside is not None:
            # Something appeared at the destination after we looked: move it aside too.
            moved = [(dst, aside[paths.lower(dst)]) for _, dst in conflicts]
            self._move_once("displace", moved, {}, True, None, None)
            retry_later.extend(conflicts)
            first = first or TransientError(f"{len(conflicts)} destinations appeared meanwhile")
        if first is not None:
            log.warning("dropbox_move_retry", label=label, pending=len(retry_later),
                        error=str(first))
            raise first
        return []

    def _await_move(self, launch: Any) -> list[Any]:
        if launch.is_complete():
            return list(launch.get_complete().entries)
        job = launch.get_async_job_id()
        deadline = time.monotonic() + MOVE_JOB_DEADLINE_SECONDS
        delay = 0.05
        while True:
            status = self.caller.call("files/move_batch/check_v2",
                                      self.dbx.files_move_batch_check_v2, job)
            if status.is_complete():
                return list(status.get_complete().entries)
            if time.monotonic() > deadline:
                raise TransientError(f"Dropbox move job {job} not finished after "
                                     f"{MOVE_JOB_DEADLINE_SECONDS:.0f} s")
            if self.stop.wait(delay):
                raise StopRequested("stop requested while waiting for a Dropbox move job")
            delay = min(delay * 2, 2.0)

    # 5. Staging housekeeping ---------------------------------------------------------------------
    def _clean_stale_staging(self) -> None:
        """Once per process: drop staging folders of earlier runs (crashed or interrupted).
        One instance publishes one company, so everything there is stale at start."""
        if self._stale_cleaned:
            return
        self._delete_quietly(self.staging_root, "clean stale staging")
        self._stale_cleaned = True

    def _delete_quietly(self, path: str, label: str) -> None:
        try:
            self.caller.call("files/delete_v2", self.dbx.files_delete_v2, path)
            log.debug("dropbox_staging_deleted", path=path, label=label)
        except PermanentError as exc:
            if "not_found" not in exc.context.get("tags", ()):
                log.warning("dropbox_staging_delete_failed", path=path, error=str(exc))
        except (TransientError, AuthError) as exc:
            log.warning("dropbox_staging_delete_failed", path=path, error=str(exc))

    # Local reads -----------------------------------------------------------------------------
    def _read(self, item: PublishItem, offset: int, n: int, verify_hash: bool) -> bytes:
        with open(item.local_path, "rb") as f:
            data = self._read_at(f, item, offset, n)
        if verify_hash and content_hash_bytes(data) != item.content_hash:
            raise PermanentError(f"staged file {item.local_path} changed after staging "
                                 "(content hash differs)", name=item.name)
        return data

    @staticmethod
    def _read_at(f: BinaryIO, item: PublishItem, offset: int, n: int) -> bytes:
        f.seek(offset)
        data = f.read(n)
        if len(data) != n:
            raise PermanentError(f"staged file {item.local_path} shrank while uploading "
                                 f"(read {len(data)} of {n} bytes at offset {offset})",
                                 name=item.name)
        return data

    def _check_local(self, item: PublishItem, tags: list[str]) -> None:
        if "content_hash_mismatch" in tags and content_hash_file(item.local_path) \
                != item.content_hash:
            raise PermanentError(f"staged file {item.local_path} changed after staging "
                                 "(content hash differs)", name=item.name)

    def _forget_session(self, p: _Plan) -> None:
        if p.item.size > self.single_limit:  # only large files journal their session
            self.journal.forget_session(_session_key(p))

    def _bytes_sent(self, n: int) -> None:
        metrics.inc("connector_dropbox_api_bytes_total", float(n),
                    "File bytes sent to the Dropbox API")


def _refused_item(tags: list[str]) -> bool:
    """Dropbox refuses this one item (its name or content), not the account or the burst."""
    return any(t in ITEM_REFUSALS for t in tags)


def _session_key(p: _Plan) -> tuple[str, str, int]:
    return (paths.lower(p.final), p.item.content_hash, p.item.size)


def _run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def _worst(errors: list[BaseException | None]) -> BaseException:
    """Of several worker failures, the one the caller must act on first."""
    real = [e for e in errors if e is not None]
    for kind in (AuthError, StopRequested, PermanentError, TransientError):
        for e in real:
            if isinstance(e, kind):
                return e
    return real[0] if real else TransientError("upload failed")
