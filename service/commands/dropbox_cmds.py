"""connector dropbox login | check: the Dropbox API credentials (dropbox.mode: api).

login walks the operator through Dropbox's offline OAuth flow without a redirect: it
prints the authorization URL, reads the code the user pastes, exchanges it for a refresh
token and stores that in the OS keyring or in a token file only its owner can read. The
token is never printed or logged. With no app secret in the environment the flow uses
PKCE, and the daemon later refreshes with the app key alone.
"""

from __future__ import annotations

import argparse
import sys

from connector.config import Config
from connector.i18n import _


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("dropbox", help="Dropbox API credentials: login, check")
    dsub = p.add_subparsers(dest="dropbox_command", metavar="ACTION")
    login = dsub.add_parser("login", help="authorise this connector on a Dropbox account "
                                          "(offline OAuth flow), store the refresh token")
    login.add_argument("--store", choices=("auto", "keyring", "file"), default="auto",
                       help="where to keep the refresh token (auto: keyring if usable, "
                            "else the token file)")
    login.add_argument("--code", default=None,
                       help="the authorization code (default: prompt for it)")
    login.set_defaults(func=login_cmd)
    check = dsub.add_parser("check", help="api mode: refresh the access token and list the "
                                          "company folder (proves credentials, TLS and root); "
                                          "folder mode: is the folder synced by Dropbox")
    check.set_defaults(func=check_cmd)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def login_cmd(args: argparse.Namespace) -> int:
    import requests
    from dropbox.oauth import DropboxOAuth2FlowNoRedirect

    from adapters.dropbox_api.auth import store_refresh_token
    from adapters.dropbox_api.client import make_session
    from connector.app import dropbox_api_settings, dropbox_token_file
    from connector.config import secret
    from connector.errors import AuthError, ConfigError, TransientError
    from service.commands import config_from

    cfg = config_from(args)
    d = cfg.dropbox
    app_key = secret(d.app_key_env)
    if not app_key:
        raise ConfigError([f"dropbox.app_key_env: set {d.app_key_env} to the app key of your "
                           "Dropbox app (App Console > Settings)"])
    app_secret = secret(d.app_secret_env)
    flow = DropboxOAuth2FlowNoRedirect(app_key, consumer_secret=app_secret,
                                       token_access_type="offline", use_pkce=not app_secret,  # noqa: S106
                                       timeout=d.timeout_seconds)
    # honours dropbox.ca_bundle over the environment
    flow.requests_session = make_session(dropbox_api_settings(cfg))
    url = flow.start()
    print("1. Open this address in a browser and sign in to the Dropbox account that will "
          "hold the published files:")
    print(f"   {url}")
    print("2. Click Allow (you might have to log in first).")
    print("3. Copy the authorization code.")
    code = args.code
    if not code:
        try:
            code = input("Enter the authorization code here: ").strip()
        except EOFError:
            code = ""
    if not code:
        print("connector: no authorization code given; nothing stored", file=sys.stderr)
        return 2
    try:
        result = flow.finish(code)
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise AuthError(f"Dropbox refused the authorization code (HTTP {status}); codes are "
                        "single-use and expire quickly: run `connector dropbox login` "
                        "again") from None
    except requests.RequestException as exc:
        raise TransientError(f"cannot reach Dropbox to finish the login: "
                             f"{type(exc).__name__}") from None
    if not result.refresh_token:
        raise AuthError("Dropbox returned no refresh token (the flow must be offline)")
    where = store_refresh_token(dropbox_token_file(cfg), app_key, result.refresh_token,
                                args.store)
    print(f"Logged in (account {result.account_id}). Refresh token stored in {where}.")
    if not app_secret:
        print("PKCE was used: the app secret is not needed to refresh the token.")
    print("Set dropbox.mode: api in the configuration, then run: connector dropbox check")
    return 0


def check_cmd(args: argparse.Namespace) -> int:
    import threading

    from adapters.dropbox_api import paths
    from adapters.dropbox_api.auth import load_credentials
    from adapters.dropbox_api.client import make_client
    from adapters.dropbox_api.flow import AdaptiveLimit, Caller
    from connector.app import dropbox_api_settings, dropbox_credential_sources
    from connector.errors import PermanentError
    from service.commands import config_from

    cfg = config_from(args)
    if cfg.dropbox.mode == "folder":
        return _check_folder_mode(cfg)
    creds = load_credentials(dropbox_credential_sources(cfg))
    dbx = make_client(dropbox_api_settings(cfg), creds)
    caller = Caller(threading.Event(), attempts=3, limit=AdaptiveLimit(1))
    caller.call("oauth2/token", dbx.check_and_refresh_access_token)
    base = paths.company_base(cfg.dropbox.root, cfg.company)
    print(f"credentials OK (refresh token from {creds.source}, app key {creds.app_key})")
    try:
        res = caller.call("files/list_folder", dbx.files_list_folder, base, limit=100)
    except PermanentError as exc:
        if "not_found" in exc.context.get("tags", ()):
            print(f"{base}: does not exist yet (the first publish creates it)")
            return 0
        raise
    names = sorted(e.name for e in res.entries)
    print(f"{base}: {', '.join(names) if names else '(empty)'}")
    return 0


def _check_folder_mode(cfg: Config) -> int:
    """Folder mode: no API key is involved; the check is that the desktop client syncs the
    folder the files are written to (the doctor's check)."""
    from connector.doctor import folder_mode_check, render

    print(_("dropbox.mode is folder: the Dropbox desktop client syncs {root}; no API key is "
            "needed (the API keys are for dropbox.mode: api)").format(root=cfg.dropbox.root))
    check = folder_mode_check(cfg)
    print(render([check]))
    return 1 if check.ok is False else 0
