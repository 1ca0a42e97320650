"""Steps 4-5 of a publish: move the committed files into place together, then clean up.

Dropbox has no "move and replace" (files/move_batch_v2 fails an entry whose destination
exists with to/conflict), so the files being replaced are first moved aside into the
run's staging folder, then the new files are moved in with one move_batch_v2
(autorename False), whose async job is polled to completion; a conflict that appears
meanwhile is moved aside and retried. A failure part-way rolls back: the new files out,
the previous ones back, so AppManager keeps reading the whole previous run. Then the
run's staging folder (with the replaced files) is deleted.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import dropbox
import structlog
from dropbox import files as dbx_files

from adapters.dropbox_api import paths
from adapters.dropbox_api.errors import LockContention, error_from_tags, union_tags
from adapters.dropbox_api.flow import BATCH_LIMIT, COMMIT_LOCK, AdaptiveLimit, Caller
from adapters.dropbox_api.plan import Plan, Remote
from connector.errors import (
    AuthError,
    ConnectorError,
    PermanentError,
    StopRequested,
    TransientError,
)

# One publisher, one logger: its lines keep the publisher's name.
log = structlog.get_logger("adapters.dropbox_api.publisher")

MOVE_JOB_DEADLINE_SECONDS = 600.0


@dataclass
class RunState:
    run_dir: str
    displaced: list[tuple[str, str]] = field(default_factory=list)  # (final, aside) done
    landed: list[tuple[str, str]] = field(default_factory=list)  # (staging, final) done


class Placer:
    def __init__(self, dbx: dropbox.Dropbox, stop: threading.Event, caller: Caller,
                 limit: AdaptiveLimit, remote: Remote, staging_root: str) -> None:
        self.dbx = dbx
        self.stop = stop
        self.caller = caller
        self.limit = limit
        self.remote = remote
        self.staging_root = staging_root
        self._stale_cleaned = False

    def move_into_place(self, todo: list[Plan], run: RunState) -> None:
        """Every planned file at its final path, or (rolled back) none of them; raise."""
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

    def _roll_back(self, run: RunState) -> None:
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
        with COMMIT_LOCK:
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

    def _aside(self, run: RunState, p: Plan) -> str:
        return f"{run.run_dir}/{paths.REPLACED_DIR}/{p.item.folder}/{p.item.name}"

    def _move_batch(self, label: str, pairs: list[tuple[str, str]], expect: dict[str, str],
                    displace: bool, aside: dict[str, str] | None = None,
                    record: list[tuple[str, str]] | None = None) -> None:
        what = "files/move_batch_v2"
        with COMMIT_LOCK:
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
                if self.remote.hash(dst) == expect.get(paths.lower(dst)):
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

    def clean_stale_staging(self) -> None:
        """Once per process: drop staging folders of earlier runs (crashed or interrupted).
        One instance publishes one company, so everything there is stale at start."""
        if self._stale_cleaned:
            return
        self.delete_quietly(self.staging_root, "clean stale staging")
        self._stale_cleaned = True

    def delete_quietly(self, path: str, label: str) -> None:
        try:
            self.caller.call("files/delete_v2", self.dbx.files_delete_v2, path)
            log.debug("dropbox_staging_deleted", path=path, label=label)
        except PermanentError as exc:
            if "not_found" not in exc.context.get("tags", ()):
                log.warning("dropbox_staging_delete_failed", path=path, error=str(exc))
        except (TransientError, AuthError) as exc:
            log.warning("dropbox_staging_delete_failed", path=path, error=str(exc))


def run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
