"""Every request passes here before a page sees it.

Sets `request.state.user` (a users.User or None), `.csrf` (the token every form carries as
`csrf_token`), `.locale` ("it" / "en") and `.session`; then refuses:

- no password set yet: every page but /healthz, /metrics and /static is the page that says
  how to set one (503);
- no session: a page redirects to /login, anything else (a POST, /api/..., /status,
  /logs/stream) is 401;
- a POST without the session's CSRF token (form field `csrf_token`, or the X-CSRF-Token
  header for scripts) is 403, whoever sends it, logged in or not;
- a viewer's POST is 403, except for what concerns only themselves (logout, their own
  password, the language).
- a request body over console.max_upload_mb is 413, before a handler reads it.

The body of a POST is read here (to find the token in the form) into a spooled temporary
file, then handed to the page unchanged: a page reads its form as usual.
"""

from __future__ import annotations

import hmac
import tempfile
from collections.abc import AsyncGenerator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

import anyio
import structlog
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector import i18n
from service.console import auth
from service.console.backend import ConsoleBackend

log = structlog.get_logger("service.console")

PUBLIC = ("/healthz", "/metrics", "/favicon.ico")
PUBLIC_PREFIX = ("/static/",)
ANONYMOUS = ("/login", "/locale")  # reachable without a session (POSTs still need CSRF)
VIEWER_POSTS = ("/login", "/logout", "/locale", "/admin/password")
_CHUNK = 64 * 1024
_FORM_LIMIT = 1024 * 1024  # an urlencoded form is small; an upload is multipart

SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
]


def _is_page(scope: Scope, headers: Headers) -> bool:
    """A browser navigating to a page (redirected to /login) rather than a script or API."""
    path = scope["path"]
    return (scope["method"] in ("GET", "HEAD") and not path.startswith("/api/")
            and path != "/status" and not path.endswith("/stream")
            and "text/event-stream" not in headers.get("accept", ""))


class ConsoleMiddleware:
    def __init__(self, app: ASGIApp, backend: ConsoleBackend,
                 settings: auth.ConsoleSettings) -> None:
        self.app = app
        self.backend = backend
        self.settings = settings
        self.codec = auth.SessionCodec(settings.secret, settings.session_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in PUBLIC or path.startswith(PUBLIC_PREFIX) or self.settings.status_only:
            await self.app(scope, receive, self._secured(send, scope))
            return
        headers = Headers(scope=scope)
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is no session
            cookies = SimpleCookie()
        raw = cookies[auth.SESSION_COOKIE].value if auth.SESSION_COOKIE in cookies else None
        session = self.codec.loads(raw) or {}
        state = scope.setdefault("state", {})
        if not session.get("c"):
            session = {"c": auth.new_token()}
            state["session_out"] = dict(session)  # an anonymous session: a CSRF token
        locale = i18n.normalize(cookies[auth.LOCALE_COOKIE].value
                                if auth.LOCALE_COOKIE in cookies else None) \
            or i18n.normalize(self.settings.default_locale) or i18n.current()
        user = None
        if session.get("u"):
            user = await anyio.to_thread.run_sync(self._user, session["u"])
            if user is None or user.version != session.get("v"):
                user = None
                session = {"c": session["c"]}
                state["session_out"] = dict(session)
        state.update(user=user, csrf=session["c"], locale=locale, session=session)
        send = self._secured(send, scope)
        with i18n.use(locale):
            if not await anyio.to_thread.run_sync(self._any_user):
                await self._reply(scope, receive, send, await self._setup_page(scope))
                return
            if user is None and path not in ANONYMOUS:
                if _is_page(scope, headers):
                    target = "/login" + (f"?next={quote(path)}" if path != "/" else "")
                    await self._reply(scope, receive, send, RedirectResponse(target, 303))
                else:
                    await self._reply(scope, receive, send,
                                      PlainTextResponse("login required", 401))
                return
            if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
                await self._checked_post(scope, receive, send, headers, session, user)
                return
            await self.app(scope, receive, send)

    # Checks -------------------------------------------------------------------------------
    def _user(self, name: str) -> Any:
        try:
            return self.backend.users.get(name)
        finally:
            self.backend.release()

    def _any_user(self) -> bool:
        try:
            return self.backend.users.any()
        finally:
            self.backend.release()

    async def _checked_post(self, scope: Scope, receive: Receive, send: Send, headers: Headers,
                            session: dict[str, Any], user: Any) -> None:
        limit = self.settings.max_body_bytes
        try:
            declared = int(headers.get("content-length", "0") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            await self._reply(scope, receive, send, PlainTextResponse("request too large", 413))
            return
        body = tempfile.SpooledTemporaryFile(max_size=_FORM_LIMIT)  # noqa: SIM115 - closed below
        try:
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    await send_plain(send, 413, "request too large")
                    return
                await anyio.to_thread.run_sync(body.write, chunk)
                more = message.get("more_body", False)
            token = headers.get(auth.CSRF_HEADER) or await self._form_token(headers, body, size)
            if not token or not hmac.compare_digest(str(token), str(session["c"])):
                log.warning("console request refused: missing or wrong CSRF token",
                            path=scope["path"], client=_client(scope))
                await send_plain(send, 403, "missing or wrong CSRF token")
                return
            if user is not None and user.role != "admin" and scope["path"] not in VIEWER_POSTS:
                log.warning("console action refused to a viewer", path=scope["path"],
                            user=user.name)
                await send_plain(send, 403, "administrators only")
                return
            body.seek(0)
            await self.app(scope, _replay(body, receive), send)
        finally:
            body.close()

    async def _form_token(self, headers: Headers, body: Any, size: int) -> str | None:
        ctype = headers.get("content-type", "")
        body.seek(0)
        if ctype.startswith("application/x-www-form-urlencoded"):
            if size > _FORM_LIMIT:
                return None
            values = parse_qs(body.read().decode("latin-1"), keep_blank_values=True)
            found = values.get(auth.CSRF_FIELD)
            return found[0] if found else None
        if ctype.startswith("multipart/form-data"):

            async def stream() -> AsyncGenerator[bytes, None]:
                while chunk := await anyio.to_thread.run_sync(body.read, _CHUNK):
                    yield chunk

            try:
                form = await MultiPartParser(headers, stream(),
                                             max_part_size=_FORM_LIMIT).parse()
            except MultiPartException:
                return None
            try:
                value = form.get(auth.CSRF_FIELD)
                return value if isinstance(value, str) else None
            finally:
                await form.close()
        return None

    async def _setup_page(self, scope: Scope) -> Response:
        from service.console.render import render_page

        return render_page(scope, "setup.html", status_code=503)

    # Replies -------------------------------------------------------------------------------
    async def _reply(self, scope: Scope, receive: Receive, send: Send, response: Response) -> None:
        await response(scope, receive, send)

    def _secured(self, send: Send, scope: Scope) -> Send:
        """Adds the security headers, and the session cookie when it changed."""
        codec = self.codec
        secure = self.settings.secure_cookies

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                out = scope.get("state", {}).get("session_out")
                if out is not None:
                    value = codec.dumps(out)
                    cookie = (f"{auth.SESSION_COOKIE}={value}; Path=/; HttpOnly; "
                              f"SameSite=Strict{'; Secure' if secure else ''}")
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


def client_address(scope: Scope) -> str:
    return _client(scope)


async def send_plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _replay(body: Any, receive: Receive) -> Receive:
    """The body read here, given again to the page; then the client's own messages."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = await anyio.to_thread.run_sync(body.read, _CHUNK)
        more = bool(chunk) and body.tell() < _size(body)
        if not more:
            done = True
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replay


def _size(f: Any) -> int:
    pos = f.tell()
    f.seek(0, 2)
    end = int(f.tell())
    f.seek(pos)
    return end
