"""The composition root: build the loops from the configuration, run each in a
supervised thread, stop them all with the one stop event.

A loop is anything with a `name` and `run(stop, beat)`: it calls `beat()` at least
once per iteration (the service layer turns stale heartbeats into a failing
/healthz and missing systemd watchdog pings) and returns soon after `stop` is set. A
loop that runs but cannot do its work (the export while the Dropbox folder is missing)
says why in its `outage` attribute (str or None); /healthz fails with it.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import structlog

from connector.config import Config
from connector.errors import AuthError, ConfigError, ConnectorError, StopRequested
from connector.ports import (
    ErpDatabase,
    ErpSink,
    Geocoder,
    Heartbeat,
    MediaDownloader,
    Publisher,
)
from connector.state import StateStore

if TYPE_CHECKING:
    from adapters.appmanager.client import AppManagerClient
    from adapters.appmanager.sandbox import SandboxServer
    from adapters.dropbox_api.auth import CredentialSources
    from adapters.dropbox_api.settings import DropboxApiSettings
    from adapters.erp.command_sink import CommandSinkSettings
    from adapters.erp.sql_sink import SqlSink, SqlSinkSettings
    from connector.export.loop import ExportLoop, OnceCounts
    from connector.extract.loop import ExtractScheduler
    from connector.extract.runner import ExtractResult, ExtractSources
    from connector.importing.poller import Importer
    from connector.legacy.importer import ScanResult

log = structlog.get_logger("connector.app")
_HEALTHY_RUN = 300.0  # a loop that ran this long before crashing starts its backoff afresh


class Loop(Protocol):
    name: str

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None: ...


# Each factory module has build_loops(cfg, store) -> list[Loop] ("module:function" names
# another factory) and decides itself what runs; a part its configuration switches off
# is not even imported (start-up time).
LOOP_FACTORIES: tuple[tuple[str, Callable[[Config], bool]], ...] = (
    ("connector.app:build_sandbox", lambda cfg: cfg.sandbox.enabled),
    ("connector.app:build_export", lambda cfg: cfg.export.enabled),
    ("connector.app:build_import", lambda cfg: cfg.import_.enabled),
    ("connector.app:build_legacy", lambda cfg: cfg.import_.enabled),
    ("connector.app:build_extract", lambda cfg: cfg.extract.enabled),
    ("connector.app:geocode_loops", lambda cfg: cfg.geocode.enabled),
)


def build_loops(cfg: Config, store: StateStore) -> list[Loop]:
    loops: list[Loop] = []
    for name, wanted in LOOP_FACTORIES:
        if not wanted(cfg):
            continue
        name, _, factory = name.partition(":")
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        loops.extend(getattr(module, factory or "build_loops")(cfg, store))
    return loops


def build_geocoder(cfg: Config) -> Geocoder:
    """The geocoder adapter of `geocode:`, with its key read from the environment."""
    from adapters.geocode.client import GeocoderSettings, GeopyGeocoder
    from connector import __version__
    from connector.config import secret
    from connector.geocode import texts

    g = cfg.geocode
    key = secret(g.api_key_env)
    if g.api_key_env and key is None:
        raise ConfigError([texts.KEY_NOT_SET.format(env=g.api_key_env, provider=g.provider)])
    agent = g.user_agent or f"icommerce-connector/{__version__} ({cfg.company})"
    return GeopyGeocoder(GeocoderSettings(
        provider=g.provider, user_agent=agent, url=g.url, api_key=key,
        timeout=g.timeout_seconds, language=g.language, ca_bundle=g.ca_bundle, proxy=g.proxy))


def geocode_loops(cfg: Config, store: StateStore) -> list[Loop]:
    from connector.geocode.loop import GeocodeLoop

    return [GeocodeLoop(cfg.geocode, store, lambda: build_geocoder(cfg))]


# ---------------------------------------------------------------------------------------
# The import half: AppManager's queues (or the legacy return files) -> journal -> ERP sink.
# The adapters are imported where they are built: a part switched off is not imported.
# ---------------------------------------------------------------------------------------
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def points_at_sandbox(cfg: Config, url: str) -> bool:
    """True when url is the bundled sandbox this configuration enables."""
    sb = cfg.sandbox
    if not sb.enabled:
        return False
    parts = urlsplit(url)
    host_ok = parts.hostname == sb.host or (parts.hostname in _LOCAL_HOSTS
                                            and sb.host in _LOCAL_HOSTS | {"0.0.0.0"})
    return host_ok and parts.port == sb.port


def auth_key(cfg: Config, url: str) -> str:
    """The AppManager authKey: from the environment variable named by
    import.appmanager.auth_key_env; the sandbox's own key when that is unset and the URL
    is the enabled sandbox."""
    from connector.config import secret

    am = cfg.import_.appmanager
    key = secret(am.auth_key_env)
    if key:
        return key
    if points_at_sandbox(cfg, url):
        return cfg.sandbox.auth_key
    raise AuthError(f"the AppManager authKey is not set: put it in the environment variable "
                    f"{am.auth_key_env} (import.appmanager.auth_key_env)")


def base_url(cfg: Config, stop: threading.Event | None = None) -> str:
    """import.appmanager.url, or the one the License Manager gives (license_manager)."""
    from connector.config import secret

    am = cfg.import_.appmanager
    if am.license_manager is not None:
        from adapters.appmanager.license_manager import base_url_from, discover

        lm = am.license_manager
        lm_key = secret(lm.key_env)
        if not lm_key:
            raise AuthError(f"the License Manager key is not set: put it in the environment "
                            f"variable {lm.key_env} (import.appmanager.license_manager.key_env)")
        params = discover(lm.url, lm_key, connect_timeout=am.connect_timeout,
                          read_timeout=am.read_timeout, attempts=am.attempts,
                          ca_bundle=am.ca_bundle, stop=stop,
                          deadline=am.request_deadline_seconds)
        return base_url_from(params)
    if not am.url:
        raise ConfigError(["import.appmanager.url: set url or license_manager"])
    return am.url


def build_client(cfg: Config, stop: threading.Event | None = None,
                 retry_initial: float = 0.5) -> AppManagerClient:
    """The AppManager client of import.appmanager (the stream feed)."""
    from adapters.appmanager.client import AppManagerClient

    am = cfg.import_.appmanager
    url = base_url(cfg, stop)
    return AppManagerClient(url, auth_key(cfg, url), connect_timeout=am.connect_timeout,
                            read_timeout=am.read_timeout, attempts=am.attempts,
                            ca_bundle=am.ca_bundle, status_export=am.status_export, stop=stop,
                            retry_initial=retry_initial,
                            max_bytes=int(am.max_answer_mb * 1024 * 1024),
                            deadline=am.request_deadline_seconds)


def sql_sink_settings(cfg: Config, *, need_url: bool = True) -> SqlSinkSettings:
    """import.erp.sql as the SQL sink takes it, the URL read from the environment variable
    url_env names when set (ConfigError when it is not; with need_url False, as for the DDL
    of a named dialect, the URL is left empty instead)."""
    from adapters.erp.sql_sink import SqlSinkSettings
    from connector.config import secret

    sql = cfg.import_.erp.sql
    url = sql.url
    if sql.url_env:
        from_env = secret(sql.url_env)
        if from_env is None and need_url:
            raise ConfigError([f"import.erp.sql.url_env: environment variable {sql.url_env} "
                               "is not set"])
        url = from_env or ""
    return SqlSinkSettings(url=url, table_prefix=sql.table_prefix, tables=dict(sql.tables),
                           columns=dict(sql.columns))


def build_sql_sink(cfg: Config, *, need_url: bool = True) -> SqlSink:
    from adapters.erp.sql_sink import SqlSink

    return SqlSink(sql_sink_settings(cfg, need_url=need_url))


def command_sink_settings(cfg: Config) -> CommandSinkSettings:
    from adapters.erp.command_sink import CommandSinkSettings

    c = cfg.import_.erp.command
    return CommandSinkSettings(argv=list(c.argv), timeout_seconds=c.timeout_seconds,
                               workdir=c.workdir, ledger=c.ledger,
                               max_output_chars=c.max_output_chars)


def build_sink(cfg: Config) -> ErpSink:
    """The ERP sink import.erp.sink names."""
    erp = cfg.import_.erp
    if erp.sink == "files":
        from adapters.erp.files_sink import FilesSink

        return FilesSink(erp.path, erp.format, company=cfg.company)
    if erp.sink == "sql":
        return build_sql_sink(cfg)
    if erp.sink == "command":
        from adapters.erp.command_sink import CommandSink

        return CommandSink(command_sink_settings(cfg))
    raise ValueError(f"unknown ERP sink {erp.sink!r}")


def build_importer(cfg: Config, store: StateStore, stop: threading.Event | None = None,
                   sink: ErpSink | None = None, beat: Callable[[], None] | None = None,
                   feed: AppManagerClient | None = None) -> Importer:
    """The import path: the AppManager client, the journal, the ERP sink (for `connector
    import --once`; the daemon's loop builds its own with the same parts)."""
    from connector.importing.poller import importer_for

    return importer_for(cfg, store, feed or build_client(cfg, stop), sink or build_sink(cfg),
                        stop=stop, beat=beat)


def build_import(cfg: Config, store: StateStore) -> list[Loop]:
    """The import loop (import.enabled): polls the streams, redelivers the dead letters."""
    from connector.importing.loop import ImportLoop

    if not cfg.import_.enabled:
        return []
    return [ImportLoop(cfg, store, make_sink=lambda: build_sink(cfg),
                       make_feed=lambda stop: build_client(cfg, stop))]


def build_legacy(cfg: Config, store: StateStore) -> list[Loop]:
    """The legacy route's loop (import.legacy.enabled, or import.source legacy / both)."""
    from adapters.legacy import parse_file
    from connector.legacy.loop import LegacyLoop, enabled

    if not enabled(cfg):
        return []
    return [LegacyLoop(cfg, store, make_sink=lambda: build_sink(cfg), parse=parse_file)]


def legacy_once(cfg: Config, store: StateStore, stop: threading.Event | None = None,
                sink: ErpSink | None = None) -> ScanResult:
    """One scan of the legacy folder (`connector import --once`), into `sink` or the one
    import.erp names (closed afterwards)."""
    from adapters.legacy import parse_file
    from connector.legacy.loop import run_once

    own = sink is None
    the_sink = sink if sink is not None else build_sink(cfg)
    try:
        return run_once(cfg, store, the_sink, parse_file, stop)
    finally:
        if own:
            the_sink.close()


def start_sandbox(cfg: Config) -> SandboxServer:
    """A listening sandbox, or a ConfigError naming sandbox.port (e.g. the port is taken)."""
    from adapters.appmanager.sandbox import SandboxServer

    sb = cfg.sandbox
    server = SandboxServer(sb.db, host=sb.host, port=sb.port, auth_key=sb.auth_key,
                           project=sb.project, seed=sb.seed)
    try:
        server.start()
    except OSError as exc:
        server.close()
        raise ConfigError([f"sandbox.port: cannot listen on {sb.host}:{sb.port}: "
                           f"{exc.strerror or exc}"]) from None
    return server


def build_sandbox(cfg: Config, store: StateStore) -> list[Loop]:
    """The bundled AppManager sandbox inside the daemon (sandbox.enabled)."""
    from adapters.appmanager.sandbox_loop import SandboxLoop

    if not cfg.sandbox.enabled:
        return []
    return [SandboxLoop(lambda: start_sandbox(cfg), cfg.sandbox.enqueue_every_seconds)]


# ---------------------------------------------------------------------------------------
# The export half: the publisher (synced folder or Dropbox API), the export loop, the
# extraction from the ERP database. The adapters are imported where they are built.
# ---------------------------------------------------------------------------------------
def build_publisher(cfg: Config, store: StateStore, stop: threading.Event) -> Publisher:
    """The publisher of dropbox.mode: the synced folder (its volume checked at start) or the
    Dropbox API (AuthError when no credentials are found)."""
    if cfg.dropbox.mode == "api":
        from adapters.dropbox_api.auth import load_credentials
        from adapters.dropbox_api.client import make_client
        from adapters.dropbox_api.journal import Journal
        from adapters.dropbox_api.publisher import DropboxApiPublisher

        settings = dropbox_api_settings(cfg)
        creds = load_credentials(dropbox_credential_sources(cfg))
        return DropboxApiPublisher(make_client(settings, creds), settings, stop, Journal(store))
    from adapters.dropbox_folder import FolderPublisher, FolderSettings

    pub = FolderPublisher(FolderSettings(cfg.company_folder, cfg.staging_dir,
                                         cfg.dropbox.create_company_folder))
    pub.check()
    return pub


def dropbox_api_settings(cfg: Config) -> DropboxApiSettings:
    from adapters.dropbox_api.settings import DropboxApiSettings

    d = cfg.dropbox
    return DropboxApiSettings(
        root=d.root, company=cfg.company, chunk_mib=d.chunk_mib,
        single_upload_limit_mib=d.single_upload_limit_mib, concurrency=d.concurrency,
        ca_bundle=d.ca_bundle, timeout_seconds=d.timeout_seconds, attempts=d.attempts,
        create_company_folder=d.create_company_folder)


def dropbox_token_file(cfg: Config) -> Path:
    return cfg.dropbox.token_file or (cfg.state_dir / "dropbox_token.json")


def dropbox_credential_sources(cfg: Config) -> CredentialSources:
    """The Dropbox credentials the environment holds, and where else to look."""
    from adapters.dropbox_api.auth import CredentialSources
    from connector.config import secret

    d = cfg.dropbox
    return CredentialSources(
        token_file=dropbox_token_file(cfg), app_key=secret(d.app_key_env),
        app_secret=secret(d.app_secret_env), refresh_token=secret(d.refresh_token_env),
        app_key_env=d.app_key_env, refresh_token_env=d.refresh_token_env)


def build_export(cfg: Config, store: StateStore) -> list[ExportLoop]:
    from connector.export.loop import ExportLoop

    if not cfg.export.enabled:
        return []
    return [ExportLoop(cfg, store, lambda stop: build_publisher(cfg, store, stop))]


def export_once(cfg: Config, store: StateStore, stop: threading.Event | None = None,
                max_wait: float = 60.0) -> OnceCounts:
    """`connector export --once`: publish what the export folder holds now; what it did."""
    from connector.export.loop import run_once

    return run_once(cfg, store, lambda s: build_publisher(cfg, store, s), stop, max_wait)


def extract_sources(cfg: Config) -> ExtractSources:
    """The extraction's adapters, each built when a run needs it: the ERP database (its
    URL, password included, read from the environment now) and the image downloader."""
    from connector.extract.runner import ExtractSources

    def database() -> ErpDatabase:
        from adapters.erp_db import ErpDbSettings, SqlErpDatabase
        from connector.config import secret

        ex = cfg.extract
        url = secret(ex.url_env) if ex.url_env else None
        if ex.url_env and not url and not ex.url:
            raise ConfigError([f"extract.url_env: the environment variable {ex.url_env} is "
                               "not set"])
        url = url or ex.url
        if not url:
            raise ConfigError(["extract.url: set url or url_env (the ERP database)"])
        return SqlErpDatabase(ErpDbSettings(url=url, fetch_rows=ex.fetch_rows))

    def downloader() -> MediaDownloader:
        from adapters.media_download import DownloadPolicy, HttpImageDownloader

        mc = cfg.extract.media
        return HttpImageDownloader(DownloadPolicy(
            connect_timeout=mc.connect_timeout_seconds, read_timeout=mc.read_timeout_seconds,
            max_bytes=int(mc.max_download_mb * 1024 * 1024),
            content_types=tuple(t.lower() for t in mc.content_types), attempts=mc.attempts,
            verify=str(mc.ca_bundle) if mc.ca_bundle else True))

    return ExtractSources(database=database, downloader=downloader)


def build_extract(cfg: Config, store: StateStore) -> list[ExtractScheduler]:
    """The extraction scheduler, when extraction is enabled and some job has a schedule."""
    from connector.extract.loop import build_loops as extract_loops

    return list(extract_loops(cfg, store, extract_sources(cfg)))


def extract_once(cfg: Config, store: StateStore, **kw: Any) -> ExtractResult:
    """`connector export --once` (SQL part): connector.extract.runner.run_once with the
    adapters of this configuration; the keywords are run_once's."""
    from connector.extract.runner import run_once

    return run_once(cfg, store, extract_sources(cfg), **kw)


class Daemon:
    """Runs every loop in its own thread; a loop that crashes is restarted with backoff."""

    def __init__(self, cfg: Config, store: StateStore | None = None,
                 loops: list[Loop] | None = None) -> None:
        self.cfg = cfg
        from connector.config import create_missing_folders

        for folder in create_missing_folders(cfg):  # create_folders: true (trial set-ups)
            log.warning("folder created at start (create_folders)", folder=str(folder))
        self.store = store or StateStore(cfg.state_dir)
        self.loops = loops if loops is not None else build_loops(cfg, self.store)
        self.heartbeats: dict[str, Heartbeat] = {lp.name: Heartbeat(lp.name) for lp in self.loops}
        self._threads: list[threading.Thread] = []
        self.fatal: ConnectorError | None = None

    def start(self, stop: threading.Event) -> None:
        for lp in self.loops:
            t = threading.Thread(target=self._supervise, args=(lp, stop), name=f"loop-{lp.name}",
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def _supervise(self, lp: Loop, stop: threading.Event) -> None:
        """Run the loop until stop; a crash (the state store failing, a bug) restarts it with
        backoff, 2 s doubling to 60 s (back to 2 s after a loop that ran for 5 minutes),
        for as long as it takes the fault to clear. While it waits the loop counts as down
        (`hb.alive` False: /healthz fails, systemd's watchdog is not pinged). Nothing here
        may raise: the bookkeeping of a crash (the events table, often in the very store
        that failed) is best effort."""
        hb = self.heartbeats[lp.name]
        failures = 0

        def beat() -> None:
            hb.last = time.monotonic()

        while not stop.is_set():
            beat()
            hb.alive = True
            hb.extra.pop("down", None)
            started = time.monotonic()
            try:
                lp.run(stop, beat)
                return
            except StopRequested:  # a wait cut short by the stop event: the loop is done
                return
            except (ConfigError, AuthError) as exc:
                hb.alive = False
                hb.last_error = str(exc)
                log.error("loop stopped", loop=lp.name, error=str(exc))
                self.store.try_record_event("error", lp.name, str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - a loop must never take the daemon down
                if time.monotonic() - started > _HEALTHY_RUN:
                    failures = 0
                failures += 1
                wait = min(60.0, 2.0 ** min(failures, 6))
                hb.alive = False
                hb.last_error = f"crashed: {exc}"
                hb.extra["down"] = f"crashed, restarting in {wait:g}s: {exc}"
                try:
                    log.exception("loop crashed, restarting", loop=lp.name, failures=failures,
                                  restart_in_s=wait)
                except Exception:  # noqa: BLE001, S110 - a log handler failing too: go on
                    pass
                self.store.try_record_event("error", lp.name, f"crashed: {exc}")
                if stop.wait(wait):
                    return
                log.info("restarting loop", loop=lp.name, failures=failures)
        hb.alive = False

    def join(self, timeout: float) -> bool:
        """Wait for every loop thread; True when all ended within the timeout."""
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def alive(self) -> dict[str, bool]:
        return {t.name.removeprefix("loop-"): t.is_alive() for t in self._threads}

    def summary(self) -> str:
        parts = [f"{n}:{'ok' if hb.alive else 'down'}" for n, hb in self.heartbeats.items()]
        return "running " + ", ".join(parts) if parts else "running (no loops enabled)"


def import_optional(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise
