"""Publishing into a locally synced Dropbox folder.

Files arrive staged (complete and fsynced) in a staging folder on the same volume but
outside the synced tree; each is moved in with os.replace, so the Dropbox client never
sees a partial file, and a whole burst lands within milliseconds.

The company folder (<root>/<company>) is verified, never assumed: when it is missing
(the volume is not mounted, the Dropbox folder was moved) every call raises
DestinationMissing and nothing is created, so nothing is "published" into a folder on
the disk underneath that Dropbox never sees. Only the folders below it (gestionale,
multimedia and its catalog tree, reports) are created when missing.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from connector.errors import ConfigError, DestinationMissing, PermanentError, TransientError
from connector.fsutil import fsync_dir
from connector.ports import PublishItem, PublishReceipt

log = structlog.get_logger(__name__)

# The name is wrong, not the folder: this item is refused, the others of the burst go on.
_NAME_ERRNOS = {errno.ENAMETOOLONG, errno.EINVAL, errno.EILSEQ}


@dataclass(frozen=True)
class FolderSettings:
    company_folder: Path  # <synced Dropbox folder>/<company>: verified, never created at run time
    staging_dir: Path  # on the company folder's volume, outside the synced tree
    create_company_folder: bool = False  # at start-up only (trial set-ups)


class FolderPublisher:
    name = "dropbox-folder"

    def __init__(self, settings: FolderSettings) -> None:
        self.company_folder = settings.company_folder
        self.staging_dir = settings.staging_dir
        self.create_company_folder = settings.create_company_folder

    def check(self) -> None:
        """At start: create the company folder only when configured to (trial set-ups); the
        staging folder must share its volume (os.replace is atomic only there)."""
        if self.create_company_folder and not self.company_folder.exists():
            self.company_folder.mkdir(parents=True, exist_ok=True)
            log.warning("company folder created at start-up (dropbox.create_company_folder)",
                        folder=str(self.company_folder))
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        try:
            company_dev = os.stat(self.company_folder).st_dev
        except OSError:
            return  # an outage, reported by check_destination until the folder is back
        if company_dev != os.stat(self.staging_dir).st_dev:
            raise ConfigError([f"dropbox.staging: {self.staging_dir} is not on the same volume as "
                               f"{self.company_folder}; an atomic move is impossible"])

    def check_destination(self) -> None:
        try:
            st = os.stat(self.company_folder)
        except OSError as exc:
            raise DestinationMissing(
                f"the Dropbox folder {self.company_folder} is not there ({exc.strerror}): is "
                "the volume mounted, is Dropbox running? Files wait in the export folder; the "
                "connector never creates it", folder=str(self.company_folder)) from None
        if not stat.S_ISDIR(st.st_mode):
            raise DestinationMissing(f"the Dropbox folder {self.company_folder} is not a folder",
                                     folder=str(self.company_folder))
        try:
            staging_dev = os.stat(self.staging_dir).st_dev
        except OSError:
            return  # created by the pipeline before it stages anything
        if staging_dev != st.st_dev:
            raise DestinationMissing(
                f"the Dropbox folder {self.company_folder} is no longer on the volume of the "
                f"staging folder {self.staging_dir} (a volume unmounted or mounted elsewhere?)",
                folder=str(self.company_folder))

    def holding(self, items: Sequence[PublishItem]) -> set[tuple[str, str]]:
        held: set[tuple[str, str]] = set()
        for item in items:
            dest = self.company_folder / item.folder / item.name
            try:
                st = os.stat(dest, follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode) or st.st_size != item.size:
                    continue
                if _sha256(dest) == item.sha256:
                    held.add((item.folder, item.name))
            except OSError:
                continue  # missing or unreadable there: published again
        return held

    def publish_batch(self, items: Sequence[PublishItem]) -> list[PublishReceipt]:
        self.check_destination()
        receipts: list[PublishReceipt] = []
        touched: set[Path] = set()
        for item in items:
            refused = _name_problem(item)
            dest = self.company_folder / item.folder / item.name
            if refused is None:
                try:
                    self._make_dirs(dest.parent)
                    os.replace(item.local_path, dest)
                except FileNotFoundError as exc:
                    if not self.company_folder.is_dir():
                        raise DestinationMissing(f"the Dropbox folder {self.company_folder} "
                                                 "vanished while publishing") from exc
                    raise PermanentError(f"staged file vanished before publishing: {exc}",
                                         name=item.name) from exc
                except OSError as exc:
                    if exc.errno not in _NAME_ERRNOS:
                        raise TransientError(f"cannot move {item.name} into {dest.parent}: "
                                             f"{exc}", name=item.name) from exc
                    refused = f"the file system refuses the name {item.name!r}: {exc.strerror}"
            if refused is not None:
                log.warning("destination refuses a file", file=f"{item.folder}/{item.name}",
                            reason=refused)
                receipts.append(PublishReceipt(item.name, item.folder, item.size,
                                               item.content_hash, uploaded=False,
                                               refused=refused))
                continue
            touched.add(dest.parent)
            receipts.append(PublishReceipt(item.name, item.folder, item.size, item.content_hash,
                                           uploaded=True, remote_path=str(dest)))
        for d in touched:
            fsync_dir(d)
        return receipts

    def _make_dirs(self, folder: Path) -> None:
        """The folders below the company folder, one at a time: never the company folder."""
        rel = folder.relative_to(self.company_folder)
        cur = self.company_folder
        for part in rel.parts:
            cur = cur / part
            try:
                os.mkdir(cur)
            except FileExistsError:
                pass

    def close(self) -> None:
        pass


def _name_problem(item: PublishItem) -> str | None:
    for part in item.name.split("/"):
        if part in ("", ".", "..") or "\0" in part:
            return f"{item.name!r} is not a valid file name"
        if len(part.encode("utf-8", "surrogateescape")) > 255:
            return f"{part[:40]!r}... is longer than 255 bytes, which no file system takes"
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()
