"""The Dropbox API publisher's part of `connector status` (a section of connector.status): what
the configuration says (the remote folder, where the refresh token comes from) read here,
on the wiring side, and the publisher's own facts from adapters/dropbox_api/status.py."""

from __future__ import annotations

from typing import Any

from connector.config import Config, secret
from connector.state import StateStore


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    if cfg.dropbox.mode != "api":
        return {"mode": cfg.dropbox.mode}
    from adapters.dropbox_api import status
    from adapters.dropbox_api.paths import company_base
    from connector.wiring import dropbox_token_file

    token = "env" if secret(cfg.dropbox.refresh_token_env) else (
        "file" if dropbox_token_file(cfg).exists() else "keyring or none")
    return status.collect(store, remote=company_base(cfg.dropbox.root, cfg.company),
                          token_from=token)


def render(section: dict[str, Any]) -> list[str]:
    from adapters.dropbox_api import status

    return status.render(section)
