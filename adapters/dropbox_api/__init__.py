"""Dropbox API publisher (dropbox.mode: api): the official SDK, batch commits, content-hash
skips, rate-limit handling, one staging folder per run moved into place together.

The export pipeline builds it with `build_publisher(cfg, stop, store)`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from connector.config import Config

if TYPE_CHECKING:
    from adapters.dropbox_api.publisher import DropboxApiPublisher
    from connector.state import StateStore


def build_publisher(cfg: Config, stop: threading.Event, store: StateStore) -> DropboxApiPublisher:
    """The Publisher for dropbox.mode == "api". Raises AuthError when no credentials exist."""
    from adapters.dropbox_api.auth import load_credentials
    from adapters.dropbox_api.client import make_client
    from adapters.dropbox_api.journal import Journal
    from adapters.dropbox_api.publisher import DropboxApiPublisher

    creds = load_credentials(cfg)
    dbx = make_client(cfg.dropbox, creds)
    return DropboxApiPublisher(dbx, cfg.dropbox, cfg.company, stop, Journal(store),
                               attempts=cfg.dropbox.attempts,
                               create_company_folder=cfg.dropbox.create_company_folder)


__all__ = ["build_publisher"]
