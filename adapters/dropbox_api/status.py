"""Status section of the Dropbox API publisher: facts from its journal, no network.

The wiring gives it what the configuration says (connector/dropbox_status.py): the
remote company folder and where the refresh token comes from.
"""

from __future__ import annotations

import time
from typing import Any

from adapters.dropbox_api.journal import Journal
from connector.i18n import _
from connector.state import StateStore


def collect(store: StateStore, *, remote: str, token_from: str) -> dict[str, Any]:
    journal = Journal(store)
    last = store.query_one("SELECT MAX(published_at) AS at FROM dropbox_api_files")
    sessions = store.query("SELECT size, offset FROM dropbox_api_sessions")
    return {
        "mode": "api",
        "remote": remote,
        "files_published": journal.count_published(),
        "last_published_at": float(last["at"]) if last and last["at"] else None,
        "open_upload_sessions": len(sessions),
        "bytes_pending_in_sessions": sum(int(r["size"]) - int(r["offset"]) for r in sessions),
        "refresh_token_from": token_from,
    }


def render(section: dict[str, Any]) -> list[str]:
    if section.get("mode") != "api":
        return []
    last = section.get("last_published_at")
    ago = (_("{n} s ago").format(n=f"{time.time() - last:.0f}") if last else _("never"))
    lines = [_("dropbox api: {remote}, {n} files published, last {ago}, refresh token from "
               "{source}").format(remote=section["remote"], n=section["files_published"],
                                  ago=ago, source=section["refresh_token_from"])]
    if section.get("open_upload_sessions"):
        lines.append("  " + _("{n} large upload(s) to resume, {bytes} bytes left").format(
            n=section["open_upload_sessions"], bytes=section["bytes_pending_in_sessions"]))
    return lines
