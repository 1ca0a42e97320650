"""build_app(backend, settings): the console as a Starlette application.

Pages are plain imports, each module with `routes()`. The same application, with
`settings.status_only`, is what status.http serves: /healthz, /status, /metrics and
nothing else (no login there: it is meant for a local monitor, as before).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from connector import metrics
from connector.i18n import _
from service.console.auth import ConsoleSettings, RateLimiter
from service.console.backend import ConsoleBackend
from service.console.middleware import ConsoleMiddleware
from service.console.pages import (
    admin,
    config,
    dashboard,
    export,
    importing,
    logs,
    quarantine,
)
from service.console.render import STATIC, render

PAGE_MODULES = (dashboard, export, quarantine, importing, logs, config, admin)


def status_routes(backend: ConsoleBackend) -> list[BaseRoute]:
    """/healthz, /status, /metrics: what service/status_http.py served, the same bodies."""

    async def blocking(fn: Any) -> Any:
        def run() -> Any:
            try:
                return fn()
            finally:
                backend.release()

        return await anyio.to_thread.run_sync(run)

    async def healthz(request: Request) -> Response:
        body = await blocking(backend.health)
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    async def status(request: Request) -> Response:
        facts = await blocking(backend.status)
        return Response(json.dumps(facts, default=str), media_type="application/json")

    async def metrics_(request: Request) -> Response:
        return Response(await blocking(backend.metrics), media_type=metrics.CONTENT_TYPE)

    return [Route("/healthz", healthz), Route("/status", status), Route("/metrics", metrics_)]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.app.state.settings.status_only:  # status.http answers as it always has
        return JSONResponse({"error": "not found" if exc.status_code == 404 else str(exc.detail),
                             "endpoints": ["/healthz", "/status", "/metrics"]},
                            status_code=exc.status_code)
    accept = request.headers.get("accept", "")
    if "text/html" not in accept or getattr(request.state, "user", None) is None:
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
    titles = {403: _("Not allowed"), 404: _("Not found")}
    messages = {403: _("Only an administrator can do this."),
                404: _("There is no such page.")}
    return render(request, "error.html", status_code=exc.status_code,
                  title=titles.get(exc.status_code, str(exc.status_code)),
                  message=messages.get(exc.status_code, str(exc.detail)))


def build_app(backend: ConsoleBackend, settings: ConsoleSettings) -> Starlette:
    routes: list[BaseRoute] = status_routes(backend)
    if not settings.status_only:
        routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
        for module in PAGE_MODULES:
            routes.extend(module.routes())
    app = Starlette(routes=routes,
                    middleware=[Middleware(ConsoleMiddleware, backend=backend,
                                           settings=settings)],
                    exception_handlers={HTTPException: _http_error})
    app.state.backend = backend
    app.state.settings = settings
    app.state.stopping = threading.Event()  # ends the live log streams (server.py sets it)
    app.state.limiter = RateLimiter(settings.login_attempts, settings.login_window_seconds,
                                    settings.clock)
    return app
