"""Quarantine: the refused files and held-back rows, each with its report; download the
file, requeue it after a fix (it goes back into the export folder and is judged again),
purge it. The same functions as `connector quarantine list|show|requeue|purge`."""

from __future__ import annotations

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
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
                error: str | None = None) -> Response:
    entries = await call(request, backend(request).quarantine)
    return render(request, "quarantine.html", status_code=status_code, entries=entries,
                  flash=flash, error=error)


async def quarantine_page(request: Request) -> Response:
    return await _page(request)


async def show(request: Request) -> Response:
    try:
        shown = await call(request, backend(request).quarantine_show, request.path_params["id"])
    except ConnectorError as exc:
        return await _page(request, 404, error=str(exc))
    return render(request, "quarantine_show.html", shown=shown, e=shown.entry)


async def download(request: Request) -> Response:
    try:
        found = await call(request, backend(request).quarantine_file, request.path_params["id"])
    except ConnectorError as exc:
        raise HTTPException(404, str(exc)) from None
    if found is None:
        raise HTTPException(404, "no file to download")
    name, path = found
    return FileResponse(path, filename=name, media_type="application/octet-stream")


async def requeue(request: Request) -> Response:
    auth.require_admin(request)
    try:
        done = await call(request, backend(request).quarantine_requeue,
                          request.path_params["id"], _who(request))
    except ConnectorError as exc:
        log.warning("console: requeue refused", error=str(exc))
        return await _page(request, 409, error=str(exc))
    return await _page(request, flash=_("{name} is back in the export folder: it is judged "
                                        "again and published if it is valid now.").format(
                                            name=done.entry.name))


async def purge(request: Request) -> Response:
    auth.require_admin(request)
    try:
        done = await call(request, backend(request).quarantine_purge,
                          request.path_params["id"], _who(request))
    except ConnectorError as exc:
        return await _page(request, 404, error=str(exc))
    names = ", ".join(e.name for e in done.entries)
    return await _page(request, flash=_("Deleted from the quarantine: {names}.").format(
        names=names))


def routes() -> list[Route]:
    return [
        Route("/quarantine", quarantine_page, methods=["GET"]),
        Route("/quarantine/{id}", show, methods=["GET"]),
        Route("/quarantine/{id}/file", download, methods=["GET"]),
        Route("/quarantine/{id}/requeue", requeue, methods=["POST"]),
        Route("/quarantine/{id}/purge", purge, methods=["POST"]),
    ]
