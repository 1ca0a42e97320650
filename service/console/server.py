"""uvicorn in a daemon thread of the connector's own process (also under the Windows
service): the console at console.http, and/or the status endpoint alone at status.http.

The socket is bound when the server is made, before any loop starts, so a port in use is a
configuration error at start-up (as for the old status endpoint); serving starts later.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import structlog
import uvicorn

from connector.config import Config, is_loopback
from connector.errors import ConfigError
from service.console.app import build_app
from service.console.auth import ConsoleSettings, load_secret
from service.console.backend import ConsoleBackend
from service.status_http import LiveView, parse_address

log = structlog.get_logger("service.console")
_GRACE_SECONDS = 3  # open requests (a live log) get this long at stop


def settings_for(cfg: Config) -> ConsoleSettings:
    """The console's settings from console: (the session key read, or made, here)."""
    c = cfg.console
    secret_file = c.session_secret_file or (cfg.state_dir / "console_secret")
    try:
        secret = load_secret(secret_file)
    except OSError as exc:
        raise ConfigError([f"console.session_secret_file: cannot read or create {secret_file}: "
                           f"{exc.strerror or exc}"], source=str(cfg.source_path)) from None
    return ConsoleSettings(
        secret=secret, secure_cookies=c.tls_cert is not None,
        session_seconds=c.session_hours * 3600, login_attempts=c.login_attempts,
        login_window_seconds=c.login_window_seconds,
        max_body_bytes=int(c.max_upload_mb * 1024 * 1024), default_locale=cfg.locale)


def bind(address: str) -> socket.socket:
    host, port = parse_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=64)


class HttpServer:
    """One Starlette application served by uvicorn on a socket bound here."""

    def __init__(self, app: Any, address: str, *, name: str = "console",
                 tls: tuple[str, str] | None = None) -> None:
        self.app = app
        self.address = address
        self.name = name
        self.tls = tls
        if tls is not None:  # a bad certificate or key fails here, at start-up
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(*tls)
        self._sock = bind(address)
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=_GRACE_SECONDS,
                                ssl_certfile=tls[0] if tls else None,
                                ssl_keyfile=tls[1] if tls else None,
                                server_header=False, proxy_headers=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=f"{name}-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        host, _ = parse_address(self.address)
        shown = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{shown}:{self.port}/"

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except Exception:  # noqa: BLE001 - the daemon goes on without its pages
            log.exception("http server failed", server=self.name)

    def start(self) -> None:
        self._thread.start()
        log.info("status endpoint listening" if self.name == "status" else "console listening",
                 address=self.address, port=self.port, url=self.url)

    def stop(self) -> None:
        stopping = getattr(getattr(self.app, "state", None), "stopping", None)
        if stopping is not None:
            stopping.set()
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(_GRACE_SECONDS + 5.0)
        self._sock.close()

    def close(self) -> None:
        """Release the port of a server bound but never started."""
        self.stop()


def console_server(cfg: Config, view: Callable[[], LiveView]) -> HttpServer:
    """The console at console.http (TLS when tls_cert is set)."""
    c = cfg.console
    assert c.http is not None
    host, _ = parse_address(c.http)
    if c.tls_cert is None and not is_loopback(host):
        log.warning("the console is served without TLS on a non-loopback address: passwords "
                    "and sessions travel in clear (console.allow_plain_http)", address=c.http)
    tls = (str(c.tls_cert), str(c.tls_key)) if c.tls_cert and c.tls_key else None
    app = build_app(ConsoleBackend(view), settings_for(cfg))
    return HttpServer(app, c.http, name="console", tls=tls)


def status_server(address: str, view: Callable[[], LiveView]) -> HttpServer:
    """status.http: /healthz, /status, /metrics without the console pages and login."""
    app = build_app(ConsoleBackend(view), ConsoleSettings(secret=b"-" * 32, status_only=True))
    return HttpServer(app, address, name="status")
