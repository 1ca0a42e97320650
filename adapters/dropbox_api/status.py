"""Status section of the Dropbox API publisher: facts from its journal, no network.

For connector.status PROVIDERS: ("dropbox_api", "adapters.dropbox_api.status").
"""

from __future__ import annotations

import time
from typing import Any

from adapters.dropbox_api import paths
from adapters.dropbox_api.auth import token_file_path
from adapters.dropbox_api.journal import Journal
from connector.config import Config, secret
from connector.state import StateStore


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    if cfg.dropbox.mode != "api":
        return {"mode": cfg.dropbox.mode}
    journal = Journal(store)
    last = store.query_one("SELECT MAX(published_at) AS at FROM dropbox_api_files")
    sessions = store.query("SELECT size, offset FROM dropbox_api_sessions")
    token = "env" if secret(cfg.dropbox.refresh_token_env) else (
        "file" if token_file_path(cfg).exists() else "keyring or none")
    return {
        "mode": "api",
        "remote": paths.company_base(cfg.dropbox.root, cfg.company),
        "files_published": journal.count_published(),
        "last_published_at": float(last["at"]) if last and last["at"] else None,
        "open_upload_sessions": len(sessions),
        "bytes_pending_in_sessions": sum(int(r["size"]) - int(r["offset"]) for r in sessions),
        "refresh_token_from": token,
    }


def render(section: dict[str, Any]) -> list[str]:
    if section.get("mode") != "api":
        return []
    last = section.get("last_published_at")
    ago = f"{time.time() - last:.0f} s ago" if last else "never"
    lines = [f"dropbox api: {section['remote']}, {section['files_published']} files published, "
             f"last {ago}, refresh token from {section['refresh_token_from']}"]
    if section.get("open_upload_sessions"):
        lines.append(f"  {section['open_upload_sessions']} large upload(s) to resume, "
                     f"{section['bytes_pending_in_sessions']} bytes left")
    return lines
