"""Import (Kimo's "export to the ERP"): per stream the mark (lastID), the last import and
the counts; import now; the dead letters with their payload and the ERP's reason; retry,
discard. Import now is handed to the daemon's import loop when it runs (one process writes
to the ERP), as `connector import --once` does."""

from __future__ import annotations

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connector.errors import ConnectorError
from connector.i18n import _
from service.console import auth
from service.console.pages import backend, call
from service.console.render import render

log = structlog.get_logger("service.console")


def _who(request: Request) -> str:
    return str(request.state.user.name)


async def _page(request: Request, status_code: int = 200, flash: str | None = None,
                error: str | None = None, result: dict[str, dict[str, object]] | None = None
                ) -> Response:
    b = backend(request)
    facts = await call(request, b.import_facts)
    letters = await call(request, b.dead_letters)
    return render(request, "import.html", status_code=status_code, facts=facts,
                  letters=letters, flash=flash, error=error, result=result)


async def import_page(request: Request) -> Response:
    return await _page(request)


async def import_now(request: Request) -> Response:
    auth.require_admin(request)
    form = await request.form()
    facts = await call(request, backend(request).import_facts)
    known = list(facts["streams"])
    streams = [str(s) for s in form.getlist("stream") if str(s)] or known
    if any(s not in known for s in streams):
        raise HTTPException(400, "unknown stream")
    if not facts["enabled"]:
        return await _page(request, 400, error=_("The import is not enabled (import.enabled)."))
    try:
        result = await call(request, backend(request).import_now, streams, _who(request))
    except ConnectorError as exc:
        log.warning("console: import now failed", error=str(exc))
        return await _page(request, 503, error=_("The import failed: {error}").format(
            error=exc))
    return await _page(request, flash=_("Import done."), result=result)


async def letter(request: Request) -> Response:
    try:
        shown = await call(request, backend(request).dead_letter, request.path_params["id"])
    except ConnectorError as exc:
        return await _page(request, 404, error=str(exc))
    return render(request, "deadletter.html", shown=shown, d=shown.letter)


async def retry(request: Request) -> Response:
    auth.require_admin(request)
    try:
        res = await call(request, backend(request).retry_dead_letter, request.path_params["id"],
                         _who(request))
    except ConnectorError as exc:
        return await _page(request, 409, error=str(exc))
    if res["state"] == "delivered" or res["state"] == "duplicate":
        return await _page(request, flash=_("{id} written to the ERP.").format(id=res["id"]))
    return await _page(request, 200, error=_("{id}: the ERP refused it again: {reason}").format(
        id=res["id"], reason=res["reason"] or "-"))


async def discard(request: Request) -> Response:
    auth.require_admin(request)
    try:
        d = await call(request, backend(request).discard_dead_letter, request.path_params["id"],
                       _who(request))
    except ConnectorError as exc:
        return await _page(request, 404, error=str(exc))
    return await _page(request, flash=_("{id} discarded: it will not be written to the "
                                        "ERP.").format(id=d.id))


def routes() -> list[Route]:
    return [
        Route("/import", import_page, methods=["GET"]),
        Route("/import/run", import_now, methods=["POST"]),
        Route("/import/dead/{id:path}/retry", retry, methods=["POST"]),
        Route("/import/dead/{id:path}/discard", discard, methods=["POST"]),
        Route("/import/dead/{id:path}", letter, methods=["GET"]),
    ]
