"""Administrator: login, logout, the language, change one's password, users and roles.

Login is rate-limited per client address and per user name (console.login_attempts
failures within console.login_window_seconds); a success clears the name's count. Every
login, logout, password change and new user goes into the journal of actions.
"""

from __future__ import annotations

import math

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from connector.i18n import _
from service.console import auth
from service.console.middleware import client_address
from service.console.pages import act, backend, call, safe_next, settings
from service.console.render import render
from service.console.users import ROLE_RULE, ROLES, UserError, check_name

log = structlog.get_logger("service.console")
LOCALE_COOKIE_SECONDS = 365 * 86400


def _login_page(request: Request, status_code: int = 200, error: str | None = None,
                username: str = "", next_: str = "/") -> Response:
    return render(request, "login.html", status_code=status_code, error=error,
                  username=username, next=next_)


async def login_form(request: Request) -> Response:
    if request.state.user is not None:
        return RedirectResponse("/", 303)
    return _login_page(request, next_=safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    next_ = safe_next(form.get("next"))
    limiter: auth.RateLimiter = request.app.state.limiter
    keys = (f"client:{client_address(request.scope)}", f"user:{name.lower()}")
    wait = limiter.retry_after(*keys)
    if wait > 0:
        log.warning("console login refused: too many failed attempts",
                    client=client_address(request.scope), user=name)
        minutes = max(1, math.ceil(wait / 60))
        response = _login_page(request, 429, _("Too many failed attempts: try again in {n} "
                                               "minutes.").format(n=minutes), name, next_)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = await call(request, backend(request).users.verify, name, password)
    if user is None:
        limiter.fail(*keys)
        log.warning("console login failed", client=client_address(request.scope), user=name)
        return _login_page(request, 401, _("Wrong user name or password."), name, next_)
    limiter.clear(keys[1])
    request.state.session_out = {"u": user.name, "v": user.version, "c": auth.new_token()}
    request.state.user = user
    log.info("console login", user=user.name, client=client_address(request.scope))
    await act(request, "login", client_address(request.scope))
    return RedirectResponse(next_, 303)


async def logout(request: Request) -> Response:
    if request.state.user is not None:
        await act(request, "logout")
    request.state.session_out = {"c": auth.new_token()}
    return RedirectResponse("/login", 303)


async def set_locale(request: Request) -> Response:
    form = await request.form()
    from connector.i18n import normalize

    locale = normalize(str(form.get("locale") or "")) or "en"
    response = RedirectResponse(safe_next(form.get("next")), 303)
    response.set_cookie(auth.LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_SECONDS, path="/",
                        httponly=True, samesite="strict",
                        secure=settings(request).secure_cookies)
    return response


async def _admin_page(request: Request, status_code: int = 200, flash: str | None = None,
                      error: str | None = None) -> Response:
    users = await call(request, lambda: backend(request).users.all())
    return render(request, "admin.html", status_code=status_code, users=users, roles=ROLES,
                  flash=flash, error=error)


async def admin_page(request: Request) -> Response:
    return await _admin_page(request)


async def change_password(request: Request) -> Response:
    form = await request.form()
    user = request.state.user
    current = str(form.get("current") or "")
    new = str(form.get("new") or "")
    if new != str(form.get("confirm") or ""):
        return await _admin_page(request, 400, error=_("The two new passwords differ."))
    users = backend(request).users
    if await call(request, users.verify, user.name, current) is None:
        log.warning("console password change refused: wrong current password", user=user.name)
        return await _admin_page(request, 400, error=_("The current password is wrong."))
    try:
        changed = await call(request, users.set_password, user.name, new, user.role)
    except UserError as exc:
        return await _admin_page(request, 400, error=str(exc))
    # This session goes on with the new version; every other one of this user ends.
    request.state.session_out = {"u": changed.name, "v": changed.version,
                                 "c": request.state.csrf}
    request.state.user = changed
    await act(request, "password changed", "", changed.name)
    return await _admin_page(request, flash=_("Your password has been changed."))


async def add_user(request: Request) -> Response:
    auth.require_admin(request)
    form = await request.form()
    name = str(form.get("username") or "").strip()
    role = str(form.get("role") or "viewer")
    password = str(form.get("password") or "")
    users = backend(request).users
    try:
        check_name(name)
        if role not in ROLES:
            raise UserError(ROLE_RULE)
        existed = await call(request, users.get, name) is not None
        await call(request, users.set_password, name, password, role)  # type: ignore[arg-type]
    except UserError as exc:
        return await _admin_page(request, 400, error=str(exc))
    await act(request, "user password set" if existed else "user added", f"({role})", name)
    text = _("The password of {name} has been set.") if existed else _("User {name} added.")
    return await _admin_page(request, flash=text.format(name=name))


def routes() -> list[Route]:
    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/locale", set_locale, methods=["POST"]),
        Route("/admin", admin_page, methods=["GET"]),
        Route("/admin/password", change_password, methods=["POST"]),
        Route("/admin/users", add_user, methods=["POST"]),
    ]
