"""Dashboard: the daemon's state, each part with its last success, what waits, errors in
words, paused parts and the last actions people took. It refreshes itself: the page asks
/api/dashboard (the same facts, as HTML fragment) every few seconds (static/console.js)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.console.pages import backend, call
from service.console.render import render

REFRESH_SECONDS = 5


async def dashboard(request: Request) -> Response:
    facts = await call(request, backend(request).dashboard)
    return render(request, "dashboard.html", facts=facts, refresh=REFRESH_SECONDS)


async def fragment(request: Request) -> Response:
    facts = await call(request, backend(request).dashboard)
    return render(request, "dashboard_parts.html", facts=facts)


def routes() -> list[Route]:
    return [Route("/", dashboard), Route("/api/dashboard", fragment)]
