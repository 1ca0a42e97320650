"""`connector doctor`: the live system checked against the configuration, one line per check.

check-config says whether the file is right; this says whether the machine is ready for
it: folders readable and writable with space free, the Dropbox folder really synced by the
desktop client (folder mode) or the API token working (api mode), AppManager answering
and accepting the authKey, the ERP database answering, the status and sandbox ports free.
`run_checks(cfg)` returns the checks for the command and for the web console alike; each
says OK or, in plain words, what to do. It builds its adapters through connector.app, so
it is part of the wiring layer.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from connector.config import Config, folder_roles, required_folders
from connector.errors import AuthError, ConfigError, ConnectorError
from connector.i18n import _


@dataclass(frozen=True)
class Check:
    name: str  # what was checked, e.g. "folder export.watch"
    ok: bool | None  # True: fine; False: must be fixed; None: a warning (may be fine)
    message: str  # "OK ..." details, or what to do


# What each folder is for: read (r) and/or write (w), by key.
_ACCESS = {"export.watch": "rw", "export.archive": "rw", "export.quarantine": "rw",
           "state_dir": "rw", "log.dir": "rw", "dropbox.root": "rw", "dropbox.staging": "rw",
           "import.erp.path": "rw", "import.legacy.folder": "rw", "import.legacy.archive": "rw"}
_LOW_SPACE_MB = 1024  # below this a folder's volume gets a warning (export.min_free_mb fails)


def run_checks(cfg: Config) -> list[Check]:
    """Every check that applies to this configuration, in a stable order."""
    checks: list[Check] = []
    for step in (_folders, _dropbox, _appmanager, _databases, _ports):
        try:
            checks.extend(step(cfg))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            checks.append(Check(step.__name__.strip("_"), False, _(
                "could not be checked: {reason}").format(reason=_reason(exc))))
    return checks


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return "; ".join(exc.errors)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _mb(n: float) -> str:
    return f"{n / 1024 ** 3:.1f} GB" if n >= 1024 ** 3 else f"{n / 1024 ** 2:.0f} MB"


# ------------------------------------------------------------------------- folders

def folder_access(path: Path, need: str) -> str | None:
    """None when the process may do `need` (r, w) in the folder, else what is missing."""
    missing = []
    if "r" in need and not os.access(path, os.R_OK | os.X_OK):
        missing.append(_("read"))
    if "w" in need and not os.access(path, os.W_OK | os.X_OK):
        missing.append(_("write"))
    return " + ".join(missing) or None


def _existing_parent(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _folders(cfg: Config) -> Iterator[Check]:
    made_at_start = {key for key, _p in required_folders(cfg)} if cfg.create_folders else set()
    user = _user()
    for key, folder in folder_roles(cfg):
        name = _("folder {key}").format(key=key)
        need = _ACCESS.get(key, "rw")
        if not folder.exists():
            if key in made_at_start or key not in {k for k, _p in required_folders(cfg)}:
                # created by the connector when first needed (or at start: create_folders)
                parent = _existing_parent(folder)
                if folder_access(parent, "w"):
                    yield Check(name, False, _(
                        "{path} does not exist and cannot be created: {user} may not write in "
                        "{parent}; create it and give {user} read and write access").format(
                        path=folder, user=user, parent=parent))
                else:
                    yield Check(name, True, _("{path} does not exist yet: created at start")
                                .format(path=folder))
                continue
            yield Check(name, False, _("{path} does not exist: create it or correct {key}")
                        .format(path=folder, key=key))
            continue
        if not folder.is_dir():
            yield Check(name, False, _("{path} is not a folder: correct {key}").format(
                path=folder, key=key))
            continue
        missing = folder_access(folder, need)
        if missing:
            yield Check(name, False, _("{path}: {user} has no {missing} permission; give it "
                                       "read and write access (chown/chmod or the folder's "
                                       "security settings)").format(
                path=folder, user=user, missing=missing))
            continue
        free = shutil.disk_usage(folder).free
        least = cfg.export.min_free_mb * 1024 * 1024
        if free < least:
            yield Check(name, False, _("{path}: only {free} free, less than export.min_free_mb "
                                       "({least}); free some space").format(
                path=folder, free=_mb(free), least=_mb(least)))
        elif free < max(least * 10, _LOW_SPACE_MB * 1024 * 1024):
            yield Check(name, None, _("{path}: read/write, but only {free} free").format(
                path=folder, free=_mb(free)))
        else:
            yield Check(name, True, _("{path}: read/write, {free} free").format(
                path=folder, free=_mb(free)))


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (a container without passwd entry)
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


# ------------------------------------------------------------------------- Dropbox

# What the Dropbox desktop client writes: a `.dropbox` file and a `.dropbox.cache` folder in
# the root of the folder it syncs (help.dropbox.com: "What is the Dropbox cache folder?"),
# and info.json listing the synced folders (~/.dropbox on Linux and macOS, %APPDATA% or
# %LOCALAPPDATA%\Dropbox on Windows).
DROPBOX_MARKERS = (".dropbox", ".dropbox.cache")


def dropbox_info_files() -> list[Path]:
    places = [Path.home() / ".dropbox" / "info.json"]
    for var in ("APPDATA", "LOCALAPPDATA"):
        if os.environ.get(var):
            places.append(Path(os.environ[var]) / "Dropbox" / "info.json")
    return places


def synced_by_dropbox(root: Path) -> Path | None:
    """The folder (root or one above it) that the Dropbox desktop client syncs, by its
    marker files or its info.json; None when nothing says Dropbox syncs root."""
    try:
        real = root.resolve()
    except OSError:
        real = root
    for folder in (real, *real.parents):
        if any((folder / marker).exists() for marker in DROPBOX_MARKERS):
            return folder
    for info in dropbox_info_files():
        try:
            data = json.loads(info.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for account in data.values() if isinstance(data, dict) else ():
            path = account.get("path") if isinstance(account, dict) else None
            if isinstance(path, str) and path and real.is_relative_to(Path(path)):
                return Path(path)
    return None


def _dropbox(cfg: Config) -> Iterator[Check]:
    if not (cfg.export.enabled or cfg.import_.source != "api" or cfg.import_.legacy.enabled):
        return
    if cfg.dropbox.mode == "folder":
        yield folder_mode_check(cfg)
    else:
        yield api_mode_check(cfg)


def folder_mode_check(cfg: Config) -> Check:
    name = _("Dropbox folder synced")
    root = Path(cfg.dropbox.root)
    if not root.exists() and cfg.create_folders:
        return Check(name, None, _("{path} does not exist yet (created at start: "
                                   "create_folders): no Dropbox desktop client syncs it, so "
                                   "nothing written there leaves this machine").format(path=root))
    if not root.exists():
        return Check(name, False, _("{path} does not exist: start the Dropbox desktop client "
                                    "or correct dropbox.root").format(path=root))
    synced = synced_by_dropbox(root)
    if synced is None:
        return Check(name, None, _(
            "no sign of the Dropbox desktop client in {path} (no .dropbox or .dropbox.cache): "
            "files written there are published only if Dropbox syncs that folder; check "
            "dropbox.root, or that Dropbox runs for this user").format(path=root))
    return Check(name, True, _("{path} is synced by the Dropbox desktop client ({where})")
                 .format(path=root, where=synced))


def api_mode_check(cfg: Config) -> Check:
    """api mode: the refresh token works (as `connector dropbox check` does)."""
    import threading

    from adapters.dropbox_api.auth import load_credentials
    from adapters.dropbox_api.client import make_client
    from adapters.dropbox_api.flow import AdaptiveLimit, Caller
    from connector.app import dropbox_api_settings, dropbox_credential_sources

    name = _("Dropbox API token")
    try:
        creds = load_credentials(dropbox_credential_sources(cfg))
        dbx = make_client(dropbox_api_settings(cfg), creds)
        Caller(threading.Event(), attempts=1, limit=AdaptiveLimit(1)).call(
            "oauth2/token", dbx.check_and_refresh_access_token)
    except ConnectorError as exc:
        return Check(name, False, _("{reason}; run `connector dropbox login`").format(
            reason=_reason(exc)))
    return Check(name, True, _("the refresh token works (from {source})").format(
        source=creds.source))


# ------------------------------------------------------------------------- AppManager

def _appmanager(cfg: Config) -> Iterator[Check]:
    im = cfg.import_
    if not im.enabled or im.source == "legacy":
        return
    yield appmanager_check(cfg)


def appmanager_check(cfg: Config) -> Check:
    """AppManager answers and accepts the authKey: one small request, no retries."""
    from connector.app import base_url, build_client, points_at_sandbox

    name = _("AppManager")
    am = cfg.import_.appmanager
    # one try, short timeouts: a doctor answers in seconds, whatever the daemon's patience
    quick = dataclasses.replace(cfg, import_=dataclasses.replace(
        cfg.import_, appmanager=dataclasses.replace(
            am, attempts=1, connect_timeout=min(am.connect_timeout, 5.0),
            read_timeout=min(am.read_timeout, 10.0),
            request_deadline_seconds=min(am.request_deadline_seconds, 15.0))))
    url = am.url or ""
    try:
        url = base_url(quick)
        client = build_client(quick)
    except AuthError as exc:
        return Check(name, False, _reason(exc))
    except ConnectorError as exc:
        return Check(name, False, _("cannot reach the License Manager: {reason}").format(
            reason=_reason(exc)))
    try:
        client.stats(am.streams[0] if am.streams else "orders")
    except AuthError:
        return Check(name, False, _("{url} refused the authKey: put the right key in the "
                                    "environment variable {env}").format(
            url=url, env=am.auth_key_env))
    except ConnectorError as exc:
        if points_at_sandbox(cfg, url):
            from connector.oslock import probe

            # the sandbox starts with the daemon: silent while none runs is expected
            return Check(name, False if probe(cfg.state_dir)[0] else None, _(
                "nothing answers at {url}: that is the bundled sandbox, which runs only inside "
                "`make run` or `connector run` (or `connector sandbox` in another terminal)")
                .format(url=url))
        return Check(name, False, _("{url} does not answer as AppManager: {reason}; check "
                                    "import.appmanager.url and the network").format(
            url=url, reason=_reason(exc)))
    finally:
        client.close()
    return Check(name, True, _("{url} answers and accepts the authKey").format(url=url))


# ------------------------------------------------------------------------- databases

def _databases(cfg: Config) -> Iterator[Check]:
    from connector.config import secret

    im = cfg.import_
    if im.enabled and im.erp.sink == "sql":
        sql = im.erp.sql
        url = (secret(sql.url_env) if sql.url_env else None) or sql.url
        if sql.url_env and not secret(sql.url_env):
            yield Check(_("ERP database (import.erp.sql)"), False, _(
                "the environment variable {env} is not set").format(env=sql.url_env))
        else:
            yield database_check(_("ERP database (import.erp.sql)"), url)
    ex = cfg.extract
    if ex.enabled and (ex.jobs or ex.media.enabled):
        url = (secret(ex.url_env) if ex.url_env else None) or ex.url or ""
        if not url:
            yield Check(_("ERP database (extract)"), False, _(
                "no URL: set extract.url or the environment variable {env}").format(
                env=ex.url_env or "extract.url_env"))
        else:
            yield database_check(_("ERP database (extract)"), url)


def database_check(name: str, url: str) -> Check:
    import sqlalchemy as sa

    from adapters.erp_db import make_engine, safe_url

    shown = safe_url(url)
    try:
        engine = make_engine(url)
    except ConfigError as exc:
        return Check(name, False, _reason(exc))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - every driver's error: the reason is shown
        return Check(name, False, _("{url} does not answer: {reason}").format(
            url=shown, reason=_reason(getattr(exc, "orig", None) or exc)))
    finally:
        engine.dispose()
    return Check(name, True, _("{url} answers").format(url=shown))


# ------------------------------------------------------------------------- ports

def _ports(cfg: Config) -> Iterator[Check]:
    if cfg.status.http:
        host, _sep, port = cfg.status.http.rpartition(":")
        yield port_check(cfg, _("status port (status.http)"), host.strip("[]"), int(port))
    console = getattr(cfg, "console", None)
    if console is not None and console.http and console.http != cfg.status.http:
        host, _sep, port = console.http.rpartition(":")
        yield port_check(cfg, _("console port (console.http)"), host.strip("[]"), int(port))
    if cfg.sandbox.enabled:
        yield port_check(cfg, _("sandbox port (sandbox.port)"), cfg.sandbox.host,
                         cfg.sandbox.port)


def port_free(host: str, port: int) -> OSError | None:
    """None when host:port can be listened on now (the socket is closed again)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if sys.platform != "win32":  # as the servers bind: a TIME_WAIT is no obstacle
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc
    return None


def port_check(cfg: Config, name: str, host: str, port: int,
               running: Callable[[Path], tuple[bool, int | None]] | None = None) -> Check:
    from connector.oslock import probe

    problem = port_free(host, port)
    if problem is None:
        return Check(name, True, _("{host}:{port} is free").format(host=host, port=port))
    held, pid = (running or probe)(cfg.state_dir)
    if held:
        return Check(name, True, _("{host}:{port} is held by the running connector (process "
                                   "{pid})").format(host=host, port=port, pid=pid or "?"))
    if problem.errno == errno.EADDRINUSE:
        return Check(name, False, _("{host}:{port} is used by another program: stop it or "
                                    "choose another port").format(host=host, port=port))
    return Check(name, False, _("cannot listen on {host}:{port}: {reason}").format(
        host=host, port=port, reason=_reason(problem)))


def render(checks: list[Check]) -> str:
    """One line per check: OK / WARN / FAIL, the name, the message."""
    marks = {True: _("OK"), None: _("WARN"), False: _("FAIL")}
    width = max(len(m) for m in marks.values())
    return "\n".join(f"{marks[c.ok]:<{width}}  {c.name}: {c.message}" for c in checks)
