"""Jinja2 templates of the console, rendered in the reader's language.

`_` in a template is connector.i18n's, called while the request's locale is in use, so the
texts of the pages live in the same catalog as the rest of the connector
(connector/locale/it/LC_MESSAGES/connector.po; `make messages` extracts templates too).
"""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import Scope

from connector import i18n
from connector.timefmt import fmt_time

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

# The navigation: (path, label). Labels are marked for the catalog and translated in base.html.
NAV = (
    ("/", i18n.N_("Dashboard")),
    ("/export", i18n.N_("Export")),
    ("/upload", i18n.N_("Upload")),
    ("/quarantine", i18n.N_("Quarantine")),
    ("/import", i18n.N_("Import")),
    ("/logs", i18n.N_("Logs")),
    ("/config", i18n.N_("Configuration")),
    ("/admin", i18n.N_("Administrator")),
)


# The journal's action names (English, as stored) as people read them; a page that records
# a new kind adds it here (an unknown one is shown as stored).
ACTIONS = {
    "login": i18n.N_("logged in"),
    "logout": i18n.N_("logged out"),
    "password changed": i18n.N_("changed their password"),
    "user added": i18n.N_("added a user"),
    "user password set": i18n.N_("set a user's password"),
    "pause": i18n.N_("paused a part"),
    "resume": i18n.N_("resumed a part"),
}


def _action(name: Any) -> str:
    label = ACTIONS.get(str(name))
    return i18n._(label) if label else str(name)


def _when(ts: Any) -> str:
    """A Unix time as the pages show it ("-" for none)."""
    if ts in (None, "", 0):
        return "-"
    try:
        return fmt_time(float(ts))
    except (TypeError, ValueError):
        return str(ts)


def _ago(ts: Any) -> str:
    if not ts:
        return "-"
    try:
        s = max(0, int(time.time() - float(ts)))
    except (TypeError, ValueError):
        return str(ts)
    if s < 90:
        return i18n._("{n} s ago").format(n=s)
    if s < 5400:
        return i18n._("{n} min ago").format(n=s // 60)
    if s < 2 * 86400:
        return i18n._("{n} h ago").format(n=s // 3600)
    return i18n._("{n} days ago").format(n=s // 86400)


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "xml"], default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(_=lambda text: i18n._(text), ngettext=i18n.ngettext, nav=NAV)
    env.filters.update(when=_when, ago=_ago, action=_action)
    return env


def page_context(scope: Scope) -> dict[str, Any]:
    state = scope.get("state", {})
    return {"user": state.get("user"), "csrf": state.get("csrf", ""),
            "locale": state.get("locale", i18n.current()), "path": scope.get("path", "/"),
            "flash": None, "error": None}


def render_page(scope: Scope, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """A page for a request scope (the middleware's; handlers use `render`)."""
    full = {**page_context(scope), **ctx}
    with i18n.use(full["locale"]):
        html = environment().get_template(template).render(**full)
    return HTMLResponse(html, status_code=status_code)


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """`template` with the user, the CSRF token, the locale, the path and `ctx`."""
    return render_page(request.scope, template, status_code, **ctx)
