"""Configuration: the effective configuration with secrets masked, and the checks of
`connector doctor` when that command exists."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.console.pages import backend, call
from service.console.render import render


async def config_page(request: Request) -> Response:
    b = backend(request)
    rows = await call(request, b.effective_config)
    checks = await call(request, b.doctor)
    return render(request, "config.html", rows=rows, checks=checks, source=b.config_path())


def routes() -> list[Route]:
    return [Route("/config", config_page)]
