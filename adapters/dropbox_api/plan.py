"""Step 1 of a publish: what the destination holds now, and so what is to be uploaded.

The remote content_hash of every destination (get_metadata for a few files in a folder,
list_folder for many); a file whose hash already matches is not uploaded; a name Dropbox
would refuse is set apart (the rest of the burst goes on).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import dropbox
import structlog
from dropbox import files as dbx_files

from adapters.dropbox_api import paths
from adapters.dropbox_api.flow import Caller
from connector.errors import PermanentError
from connector.ports import PublishItem

# One publisher, one logger: its lines keep the publisher's name.
log = structlog.get_logger("adapters.dropbox_api.publisher")

METADATA_LOOKUP_MAX = 8  # up to this many files in a folder: get_metadata each; else list_folder


@dataclass
class Plan:
    item: PublishItem
    final: str
    staging: str
    upload: bool = True
    exists: bool = False  # a file is at the destination now (with other content)
    session_id: str | None = None
    rev: str | None = None
    restarts: int = 0
    refused: str | None = None  # Dropbox refuses this item: not published, the rest goes on


class Remote:
    """The content hashes of files in Dropbox."""

    def __init__(self, dbx: dropbox.Dropbox, caller: Caller) -> None:
        self.dbx = dbx
        self.caller = caller

    def hashes(self, plans: list[Plan]) -> dict[str, str]:
        """path_lower -> content_hash of the files that exist at the destinations: one
        get_metadata per file for a few files in a folder, one listing for more."""
        out: dict[str, str] = {}
        by_folder: dict[str, list[Plan]] = defaultdict(list)
        for p in plans:
            by_folder[p.final.rsplit("/", 1)[0]].append(p)  # nested media: their own folder
        for folder, group in by_folder.items():
            if len(group) <= METADATA_LOOKUP_MAX:
                for p in group:
                    h = self.hash(p.final)
                    if h is not None:
                        out[paths.lower(p.final)] = h
            else:
                out.update(self._list_hashes(folder))
        return out

    def hash(self, path: str) -> str | None:
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


def make_plans(items: Sequence[PublishItem], base: str, remote: Remote) -> list[Plan]:
    """A plan per item: its final and staging paths, refused names apart, uploaded only when
    the destination does not hold these bytes already (asked in one go)."""
    plans: list[Plan] = []
    seen: set[str] = set()
    for item in items:
        final = f"{base}/{item.folder}/{item.name}"
        plan = Plan(item=item, final=final, staging="",
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
    hashes = remote.hashes([p for p in plans if not p.refused])
    for p in plans:
        known = hashes.get(paths.lower(p.final))
        p.upload = known != p.item.content_hash
        p.exists = known is not None
    return plans
