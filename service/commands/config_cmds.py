"""connector check-config."""

from __future__ import annotations

import argparse

from connector.config import secret
from connector.errors import ConnectorError
from connector.i18n import _
from service.commands import config_from


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check-config", help="validate the configuration, list every problem")
    p.set_defaults(func=check_config)


def check_config(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    print(_("configuration OK: {path}").format(path=cfg.source_path))
    warnings = []
    im = cfg.import_
    if im.enabled and im.source in ("api", "both") and not cfg.sandbox.enabled \
            and not secret(im.appmanager.auth_key_env):
        warnings.append("import.appmanager.auth_key_env: " + _(
            "the environment variable {env} is not set").format(env=im.appmanager.auth_key_env))
    if cfg.dropbox.mode == "api":
        from adapters.dropbox_api.auth import load_credentials
        from connector.app import dropbox_credential_sources

        try:
            # environment, keyring or token file, as the daemon does
            load_credentials(dropbox_credential_sources(cfg))
        except ConnectorError as exc:
            warnings.append(f"dropbox: {exc}")
    for w in warnings:
        print("  " + _("warning: {text}").format(text=w))
    return 0
