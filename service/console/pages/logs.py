"""Logs: the last events of the connector's log file, then new ones live (server-sent
events), filtered by level and text; a correlation id links to every line of its file or
record."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from service.console import logtail
from service.console.pages import backend
from service.console.render import render

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
LEVEL_CHOICES = ("debug", "info", "warning", "error")


def _filters(request: Request) -> tuple[str | None, str | None]:
    level = request.query_params.get("level") or None
    if level not in LEVEL_CHOICES:
        level = None
    text = (request.query_params.get("q") or "").strip()[:200] or None
    return level, text


async def logs_page(request: Request) -> Response:
    level, text = _filters(request)
    path = backend(request).log_file()
    events = await anyio.to_thread.run_sync(logtail.last_events, path, level, text)
    return render(request, "logs.html", events=events, level=level or "", q=text or "",
                  levels=LEVEL_CHOICES, log_file=str(path))


async def logs_stream(request: Request) -> Response:
    level, text = _filters(request)
    follower = await anyio.to_thread.run_sync(logtail.Follower, backend(request).log_file())
    stopping: threading.Event = request.app.state.stopping  # set when the server stops

    async def events() -> AsyncIterator[str]:
        idle = 0.0
        try:
            yield "retry: 2000\n\n"
            while not stopping.is_set():
                if await request.is_disconnected():
                    return
                for ev in await anyio.to_thread.run_sync(follower.read):
                    if logtail.matches(ev, level, text):
                        idle = 0.0
                        yield f"data: {json.dumps(logtail.shown(ev), ensure_ascii=False)}\n\n"
                await anyio.sleep(POLL_SECONDS)
                idle += POLL_SECONDS
                if idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ": keep-alive\n\n"
        finally:
            follower.close()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def routes() -> list[Route]:
    return [Route("/logs", logs_page), Route("/logs/stream", logs_stream)]
