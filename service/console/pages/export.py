"""Export: run now, the extraction jobs, the last publishes, the history of runs, templates;
and Loyverse's upload, preview, confirm (/upload).

Every action goes through the backend, which records it with the user. An upload is staged
under <state_dir>/console/uploads, judged and compared with the last published version, and
only on confirmation written into the watch folder, where the export pipeline takes it as
any dropped file (service/console/operations.py).
"""

from __future__ import annotations

from typing import Any

import structlog
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from connector.errors import ConnectorError
from connector.i18n import _
from service.console import auth
from service.console.operations import NameTaken, UploadError
from service.console.pages import backend, call, settings
from service.console.render import render

log = structlog.get_logger("service.console")


def _who(request: Request) -> str:
    user = request.state.user
    return str(user.name) if user else "-"


async def _export_page(request: Request, status_code: int = 200, flash: str | None = None,
                       error: str | None = None, report: str | None = None) -> Response:
    facts = await call(request, backend(request).export_facts)
    layouts = await call(request, backend(request).layouts)
    return render(request, "export.html", status_code=status_code, facts=facts,
                  layouts=layouts, flash=flash, error=error, report=report)


async def export_page(request: Request) -> Response:
    return await _export_page(request)


def _publish_words(res: dict[str, Any]) -> str:
    if res.get("delegated"):
        return _("{n} file(s) waiting: the export loop publishes them as soon as each has "
                 "settled; this page shows the outcome.").format(n=res["waiting"])
    return _("Published {published}, unchanged {unchanged}, quarantined {quarantined}."
             ).format(**res)


async def run_now(request: Request) -> Response:
    auth.require_admin(request)
    try:
        res = await call(request, backend(request).publish_waiting, _who(request))
    except ConnectorError as exc:
        log.warning("console: publish now failed", error=str(exc))
        return await _export_page(request, 503, error=_("Publishing failed: {error}").format(
            error=exc))
    return await _export_page(request, flash=_publish_words(res))


async def run_extract(request: Request) -> Response:
    auth.require_admin(request)
    form = await request.form()
    mode = str(form.get("mode") or "full")
    if mode not in ("full", "changed"):
        raise HTTPException(400, "mode: full or changed")
    entities = [str(e) for e in form.getlist("entity") if str(e)] or None
    b = backend(request)
    known = await call(request, b.extract_jobs)
    if not known:
        return await _export_page(request, 400, error=_("The SQL extraction is not enabled "
                                                        "(extract.enabled)."))
    if entities and any(e not in known for e in entities):
        raise HTTPException(400, "unknown extract job")
    try:
        res = await call(request, b.run_extract, mode, entities, _who(request))
    except ConnectorError as exc:
        return await _export_page(request, 503, error=_("The extraction failed: {error}"
                                                        ).format(error=exc))
    text = _("Extraction done.") if res.ok else _("The extraction had problems: read the report.")
    return await _export_page(request, 200 if res.ok else 500, flash=text if res.ok else None,
                              error=None if res.ok else text, report=res.report)


async def template(request: Request) -> Response:
    try:
        filename, text = await call(request, backend(request).template,
                                    request.path_params["layout"])
    except UploadError as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(text.encode("utf-8"), media_type="text/plain; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


# Upload, preview, confirm -------------------------------------------------------------------
async def upload_page(request: Request, status_code: int = 200,
                      error: str | None = None) -> Response:
    return render(request, "upload.html", status_code=status_code, error=error,
                  max_mb=round(settings(request).max_body_bytes / 1024 / 1024))


async def upload(request: Request) -> Response:
    auth.require_admin(request)
    form = await request.form()
    f = form.get("file")
    if not isinstance(f, UploadFile) or f.filename is None:
        return await upload_page(request, 400, _("Choose a file to upload."))
    try:
        token = await call(request, backend(request).stage_upload, f.filename, f.file,
                           _who(request), settings(request).max_body_bytes)
    except UploadError as exc:
        log.warning("console upload refused", name=repr(f.filename)[:200], error=str(exc))
        status = 413 if "max_upload_mb" in str(exc) else 400
        return await upload_page(request, status, str(exc))
    finally:
        await f.close()
    return RedirectResponse(f"/upload/{token}", 303)


async def preview(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        p = await call(request, backend(request).preview_upload, token)
    except UploadError as exc:
        return await upload_page(request, 404, str(exc))
    return render(request, "preview.html", p=p)


async def confirm(request: Request) -> Response:
    auth.require_admin(request)
    token = request.path_params["token"]
    try:
        res = await call(request, backend(request).confirm_upload, token, _who(request))
    except UploadError as exc:
        if isinstance(exc, NameTaken):
            p = await call(request, backend(request).preview_upload, token)
            return render(request, "preview.html", status_code=409, p=p, error=str(exc))
        return await upload_page(request, 404, str(exc))
    except ConnectorError as exc:
        return await _export_page(request, 503, error=_("Publishing failed: {error}").format(
            error=exc))
    text = _("{name} is in the export folder.").format(name=res["name"]) + " " + \
        _publish_words(res)
    return await _export_page(request, flash=text)


async def cancel(request: Request) -> Response:
    auth.require_admin(request)
    try:
        await call(request, backend(request).cancel_upload, request.path_params["token"],
                   _who(request))
    except UploadError:
        pass  # gone already: nothing to cancel
    return RedirectResponse("/upload", 303)


def routes() -> list[Route]:
    return [
        Route("/export", export_page, methods=["GET"]),
        Route("/export/run", run_now, methods=["POST"]),
        Route("/export/extract", run_extract, methods=["POST"]),
        Route("/export/template/{layout}", template, methods=["GET"]),
        Route("/upload", upload_page, methods=["GET"]),
        Route("/upload", upload, methods=["POST"]),
        Route("/upload/{token}", preview, methods=["GET"]),
        Route("/upload/{token}/confirm", confirm, methods=["POST"]),
        Route("/upload/{token}/cancel", cancel, methods=["POST"]),
    ]
