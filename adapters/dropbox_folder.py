"""Publishing into a locally synced Dropbox folder.

Files arrive staged (complete and fsynced) in a staging folder on the same volume but
outside the synced tree; each is moved in with os.replace, so the Dropbox client never
sees a partial file, and a whole burst lands within milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import structlog

from connector.errors import ConfigError, PermanentError, TransientError
from connector.fsutil import fsync_dir
from connector.ports import PublishItem, PublishReceipt

log = structlog.get_logger(__name__)


class FolderPublisher:
    name = "dropbox-folder"

    def __init__(self, company_folder: Path, staging_dir: Path) -> None:
        self.company_folder = company_folder
        self.staging_dir = staging_dir

    def check(self) -> None:
        """The staging folder must share the Dropbox folder's volume (os.replace is atomic only there)."""
        self.company_folder.mkdir(parents=True, exist_ok=True)
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        if os.stat(self.company_folder).st_dev != os.stat(self.staging_dir).st_dev:
            raise ConfigError([f"dropbox.staging: {self.staging_dir} is not on the same volume as "
                               f"{self.company_folder}; an atomic move is impossible"])

    def publish_batch(self, items: Sequence[PublishItem]) -> list[PublishReceipt]:
        receipts: list[PublishReceipt] = []
        touched: set[Path] = set()
        for item in items:
            dest = self.company_folder / item.folder / item.name
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item.local_path, dest)
            except FileNotFoundError as exc:
                raise PermanentError(f"staged file vanished before publishing: {exc}",
                                     name=item.name) from exc
            except OSError as exc:
                raise TransientError(f"cannot move {item.name} into {dest.parent}: {exc}",
                                     name=item.name) from exc
            touched.add(dest.parent)
            receipts.append(PublishReceipt(item.name, item.folder, item.size, item.content_hash,
                                           uploaded=True, remote_path=str(dest)))
        for d in touched:
            fsync_dir(d)
        return receipts

    def close(self) -> None:
        pass
