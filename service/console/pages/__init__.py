"""The console's pages, one module each, every one with `routes() -> list[Route]`.

Helpers for handlers: `backend(request)`, `call(request, fn, *args)` (a blocking backend
call in a worker thread, its state store connection closed after), `act(request, name,
detail, target)` (record the action in the journal, with the user), `form(request)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from starlette.datastructures import FormData
from starlette.requests import Request

from service.console.auth import ConsoleSettings
from service.console.backend import ConsoleBackend

T = TypeVar("T")


def backend(request: Request) -> ConsoleBackend:
    b: ConsoleBackend = request.app.state.backend
    return b


def settings(request: Request) -> ConsoleSettings:
    s: ConsoleSettings = request.app.state.settings
    return s


async def call(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in a worker thread (the state store is blocking SQLite)."""
    b = backend(request)

    def run() -> T:
        try:
            return fn(*args)
        finally:
            b.release()

    return await anyio.to_thread.run_sync(run)


async def act(request: Request, name: str, detail: str = "", target: str = "") -> None:
    """Record an action taken by the request's user (connector.controls' journal, shown on
    the dashboard): `target` what it acted on (a part, a file, a record), `detail` the rest."""
    user = request.state.user
    await call(request, backend(request).record_action, name, detail,
               user.name if user else "-", target)


async def form(request: Request) -> FormData:
    return await request.form()


def safe_next(value: object, default: str = "/") -> str:
    """A redirect target from a form: a path on this site only (no //host, no scheme)."""
    text = str(value or "")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return default
    return text
