"""Build the import path from the configuration: the AppManager client (URL or License
Manager discovery, key from the environment), the journal, the ERP sink, the importer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from adapters.appmanager.client import AppManagerClient
from adapters.erp import ErpSink, build_sink
from connector.config import Config, secret
from connector.errors import AuthError, ConfigError
from connector.importing.decoding import PageDecoder
from connector.importing.journal import Journal
from connector.importing.poller import Importer
from connector.state import StateStore

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
    am = cfg.import_.appmanager
    key = secret(am.auth_key_env)
    if key:
        return key
    if points_at_sandbox(cfg, url):
        return cfg.sandbox.auth_key
    raise AuthError(f"the AppManager authKey is not set: put it in the environment variable "
                    f"{am.auth_key_env} (import.appmanager.auth_key_env)")


def base_url(cfg: Config, stop: threading.Event | None = None) -> str:
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
    am = cfg.import_.appmanager
    url = base_url(cfg, stop)
    return AppManagerClient(url, auth_key(cfg, url), connect_timeout=am.connect_timeout,
                            read_timeout=am.read_timeout, attempts=am.attempts,
                            ca_bundle=am.ca_bundle, status_export=am.status_export, stop=stop,
                            retry_initial=retry_initial,
                            max_bytes=int(am.max_answer_mb * 1024 * 1024),
                            deadline=am.request_deadline_seconds)


def build_journal(cfg: Config, store: StateStore) -> Journal:
    return Journal(store, retry_seconds=cfg.import_.retry_seconds,
                   max_retry_seconds=cfg.import_.max_retry_seconds)


def build_importer(cfg: Config, store: StateStore, stop: threading.Event | None = None,
                   sink: ErpSink | None = None, beat: Callable[[], None] | None = None,
                   feed: AppManagerClient | None = None) -> Importer:
    sink = sink or build_sink(cfg)
    # Only for a sink that can take its input ready-made from the worker (the files sink):
    # any other would decode each record's model here again.
    preparer = getattr(sink, "preparer", None)
    decoder = PageDecoder(preparer()) if cfg.import_.decode_worker and preparer else None
    return Importer(feed or build_client(cfg, stop), build_journal(cfg, store), sink, store,
                    page_size=cfg.import_.appmanager.page_size, stop=stop, beat=beat,
                    decoder=decoder)
