"""Configuration: the effective configuration with secrets masked, and the checks of
`connector doctor` (connector.doctor.run_checks)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.console.pages import backend, call
from service.console.render import render


async def config_page(request: Request) -> Response:
    """The configuration; the doctor's checks on request (?checks=1): they try folders,
    Dropbox, AppManager and the databases, which takes seconds, not on every visit."""
    b = backend(request)
    rows = await call(request, b.effective_config)
    available = b.doctor_available()
    run = available and request.query_params.get("checks") == "1"
    checks = await call(request, b.doctor) if run else None
    return render(request, "config.html", rows=rows, checks=checks, source=b.config_path(),
                  doctor=available)


def routes() -> list[Route]:
    return [Route("/config", config_page)]
