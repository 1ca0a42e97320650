"""Steps 2-3 of a publish: upload the files into the run's staging folder and commit them.

Each file small enough goes in one request (upload_session/start with close=True, or
files/upload when the burst has a single file); larger files go in chunk_mib chunks
through an upload session that survives a restart (its offset is journaled, so a SIGKILL
costs at most a chunk). All sessions are committed with upload_session/finish_batch_v2
(<= 1000 entries per call, one commit in flight per process). Uploads run on a few
threads under an adaptive limit and a memory budget; one failing stops the others.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import BinaryIO

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
from adapters.dropbox_api.flow import BATCH_LIMIT, COMMIT_LOCK, AdaptiveLimit, ByteBudget, Caller
from adapters.dropbox_api.journal import Journal, SessionState
from adapters.dropbox_api.plan import Plan, Remote
from adapters.dropbox_api.settings import DropboxApiSettings
from connector import metrics
from connector.errors import (
    AuthError,
    ConnectorError,
    PermanentError,
    StopRequested,
    TransientError,
)
from connector.ports import PublishItem

# One publisher, one logger: its lines keep the publisher's name.
log = structlog.get_logger("adapters.dropbox_api.publisher")

MIB = 1024 * 1024
MAX_SESSION_RESTARTS = 3


class Uploader:
    def __init__(self, dbx: dropbox.Dropbox, cfg: DropboxApiSettings, stop: threading.Event,
                 journal: Journal, caller: Caller, limit: AdaptiveLimit,
                 remote: Remote) -> None:
        self.dbx = dbx
        self.stop = stop
        self.journal = journal
        self.caller = caller
        self.limit = limit
        self.remote = remote
        self.chunk = cfg.chunk_mib * MIB
        self.single_limit = cfg.single_upload_limit_mib * MIB
        self.workers = max(1, cfg.concurrency)
        self.budget = ByteBudget(max(self.single_limit, self.workers * self.chunk))
        self._abort = threading.Event()  # one upload of the burst failed: the others stop

    def upload_and_commit(self, todo: list[Plan]) -> None:
        """Every plan's file committed at its staging path (refused ones marked), or raise."""
        if len(todo) == 1 and todo[0].item.size <= self.single_limit:
            try:
                self._upload_direct(todo[0])  # one request: files/upload commits it as well
            except PermanentError as exc:
                if not refused_item(exc.context.get("tags", [])):
                    raise
                todo[0].refused = str(exc)
            return
        lost = self._commit(self._upload_all(todo))
        if lost:  # sessions Dropbox no longer knows (expired, or lost in a crash): once more
            log.warning("dropbox_sessions_lost", files=len(lost))
            for p in lost:
                self.journal.forget_session(session_key(p))
                p.session_id = None
                p.restarts += 1
            again = self._commit(self._upload_all(lost))
            if again:
                raise TransientError(f"Dropbox lost the upload sessions of {len(again)} files "
                                     "twice; will retry the burst", files=len(again))

    def _upload_all(self, todo: list[Plan]) -> list[Plan]:
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

    def _upload_one(self, p: Plan) -> None:
        if p.item.size <= self.single_limit:
            p.session_id = self._upload_small(p)
        else:
            p.session_id = self._upload_large(p)

    def _upload_direct(self, p: Plan) -> None:
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

    def _upload_small(self, p: Plan) -> str:
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

    def _upload_large(self, p: Plan) -> str:
        """Chunks of chunk_mib through one session; resumes a journaled session after a crash."""
        item = p.item
        size = item.size
        key = session_key(p)
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

    def _commit(self, plans: list[Plan]) -> list[Plan]:
        """finish_batch_v2 in groups of 1000; returns the plans whose session was lost."""
        lost: list[Plan] = []
        sessions = [p for p in plans if p.session_id is not None]
        with COMMIT_LOCK:
            for start in range(0, len(sessions), BATCH_LIMIT):
                lost.extend(self._commit_group(sessions[start:start + BATCH_LIMIT]))
        return lost

    def _commit_group(self, group: list[Plan]) -> list[Plan]:
        what = "files/upload_session/finish_batch_v2"
        pending = list(group)
        lost: list[Plan] = []
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
                retry_later: list[Plan] = []
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
                        if self.remote.hash(p.staging) == p.item.content_hash:
                            self._forget_session(p)
                        else:
                            self._check_local(p.item, tags)
                            lost.append(p)
                        continue
                    err = error_from_tags(tags, what, name=p.item.name)
                    if refused_item(tags):
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

    def _forget_session(self, p: Plan) -> None:
        if p.item.size > self.single_limit:  # only large files journal their session
            self.journal.forget_session(session_key(p))

    def _bytes_sent(self, n: int) -> None:
        metrics.inc("connector_dropbox_api_bytes_total", float(n),
                    "File bytes sent to the Dropbox API")


def refused_item(tags: list[str]) -> bool:
    """Dropbox refuses this one item (its name or content), not the account or the burst."""
    return any(t in ITEM_REFUSALS for t in tags)


def session_key(p: Plan) -> tuple[str, str, int]:
    return (paths.lower(p.final), p.item.content_hash, p.item.size)


def _worst(errors: list[BaseException | None]) -> BaseException:
    """Of several worker failures, the one the caller must act on first."""
    real = [e for e in errors if e is not None]
    for kind in (AuthError, StopRequested, PermanentError, TransientError):
        for e in real:
            if isinstance(e, kind):
                return e
    return real[0] if real else TransientError("upload failed")
