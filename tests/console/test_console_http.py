"""The console over HTTP, on a real server: every page, and every refusal."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
from console_helpers import PASSWORD, Console, csrf


def _cookie_header(r: httpx.Response, name: str) -> str:
    found = [v for v in r.headers.get_list("set-cookie") if v.startswith(name + "=")]
    assert found, f"no {name} cookie set"
    return found[-1]


# Before a password exists ---------------------------------------------------------------------
def test_until_a_password_is_set_the_console_only_says_how(console_factory) -> None:
    c = console_factory()
    client = c.client()
    for path in ("/", "/login", "/config", "/logs", "/admin", "/status", "/api/dashboard"):
        r = client.get(path)
        assert r.status_code == 503, path
        assert "connector console password" in r.text
        assert "Effective configuration" not in r.text
    r = client.post("/login", data={"username": "admin", "password": "x" * 10})
    assert r.status_code == 503
    # The monitors' endpoints go on.
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200


# No session --------------------------------------------------------------------------------
def test_pages_redirect_to_login_and_the_rest_is_401(console: Console) -> None:
    client = console.client()
    r = client.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = client.get("/config")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/config"
    for path in ("/api/dashboard", "/status", "/logs/stream"):
        assert client.get(path).status_code == 401, path
    token = csrf(client)
    r = client.post("/admin/users", data={"csrf_token": token, "username": "eve",
                                          "password": "p" * 12, "role": "admin"})
    assert r.status_code == 401
    assert console.backend.users.get("eve") is None
    r = client.get("/login")
    assert r.status_code == 200
    assert 'name="username"' in r.text and 'name="password"' in r.text
    assert 'name="csrf_token"' in r.text


def test_wrong_password_is_refused(console: Console) -> None:
    client = console.client()
    r = client.post("/login", data={"username": "admin", "password": "wrong password",
                                    "csrf_token": csrf(client)})
    assert r.status_code == 401
    assert "Wrong user name or password" in r.text
    r = client.post("/login", data={"username": "nobody", "password": PASSWORD,
                                    "csrf_token": csrf(client)})
    assert r.status_code == 401
    assert client.get("/").status_code == 303


def test_login_sets_a_strict_httponly_cookie_and_opens_every_page(console: Console) -> None:
    client = console.client()
    r = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                    "csrf_token": csrf(client), "next": "/logs"})
    assert r.status_code == 303 and r.headers["location"] == "/logs"
    cookie = _cookie_header(r, "console_session")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would not return
    for path in ("/", "/config", "/logs", "/admin", "/api/dashboard"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "text/html" in r.headers["content-type"]
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert json.loads(client.get("/status").text)["company"] == "ACME"
    assert client.get("/healthz").json()["status"] == "ok"
    assert "connector_healthy" in client.get("/metrics").text
    # Every nav entry is on the page, and the user.
    page = client.get("/").text
    for label in ("Dashboard", "Export", "Upload", "Quarantine", "Import", "Logs",
                  "Configuration", "Administrator"):
        assert f">{label}</a>" in page
    assert "admin (administrator)" in page


def test_a_next_that_leaves_the_site_is_ignored(console: Console) -> None:
    client = console.client()
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                        "csrf_token": csrf(client), "next": evil})
        assert r.headers["location"] == "/", evil
        client.cookies.clear()


def test_a_forged_or_expired_session_cookie_is_no_session(console: Console) -> None:
    client = console.login()
    value = client.cookies["console_session"]
    forged = console.client()
    forged.cookies.set("console_session", value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB"))
    assert forged.get("/").status_code == 303
    console.backend.users.set_password("admin", "another password 1")
    assert client.get("/").status_code == 303  # the password changed: the session ended


# CSRF ------------------------------------------------------------------------------------------
def test_posts_without_or_with_a_wrong_csrf_token_are_refused(console: Console) -> None:
    client = console.login()
    data = {"username": "bob", "password": "p" * 12, "role": "viewer"}
    assert client.post("/admin/users", data=data).status_code == 403
    assert client.post("/admin/users", data={**data, "csrf_token": "x" * 43}).status_code == 403
    other = console.login(client=console.client())  # another session's token is wrong too
    r = client.post("/admin/users", data={**data, "csrf_token": csrf(other, "/admin")})
    assert r.status_code == 403
    assert console.backend.users.get("bob") is None
    # multipart forms carry the token too
    r = client.post("/admin/users", files={"x": ("a.txt", b"abc")}, data=data)
    assert r.status_code == 403
    r = client.post("/admin/users", files={"x": ("a.txt", b"abc")},
                    data={**data, "csrf_token": csrf(client, "/admin")})
    assert r.status_code == 200 and console.backend.users.get("bob") is not None
    # the login form and logout too
    anon = console.client()
    r = anon.post("/login", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 403
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200


def test_the_csrf_header_serves_scripts(console: Console) -> None:
    client = console.login()
    token = csrf(client, "/admin")
    r = client.post("/admin/users", data={"username": "carla", "password": "p" * 12,
                                          "role": "viewer"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200


def test_an_oversized_body_is_refused_before_a_page_reads_it(console_factory) -> None:
    c = console_factory(settings={"max_body_bytes": 4096})
    c.add_user()
    client = c.login()
    token = csrf(client, "/admin")
    r = client.post("/admin/users", files={"f": ("big.dat", b"x" * 10000)},
                    data={"csrf_token": token})
    assert r.status_code == 413

    def chunks():  # no Content-Length: the count while reading stops it
        for _ in range(10):
            yield b"y" * 1000

    r = client.post("/admin/users", content=chunks(),
                    headers={"content-type": "application/octet-stream", "X-CSRF-Token": token})
    assert r.status_code == 413


# Roles -----------------------------------------------------------------------------------------
def test_a_viewer_reads_but_cannot_act(console: Console) -> None:
    console.add_user("vera", "viewer password", "viewer")
    client = console.login("vera", "viewer password")
    for path in ("/", "/config", "/logs", "/admin"):
        assert client.get(path).status_code == 200, path
    assert "Only an administrator can add users" in client.get("/admin").text
    token = csrf(client, "/admin")
    r = client.post("/admin/users", data={"csrf_token": token, "username": "eve",
                                          "password": "p" * 12, "role": "admin"})
    assert r.status_code == 403
    assert console.backend.users.get("eve") is None
    # ... but changes their own password, their language, and logs out.
    r = client.post("/admin/password", data={"csrf_token": token, "current": "viewer password",
                                             "new": "a new viewer pw", "confirm": "a new viewer pw"})
    assert r.status_code == 200 and "Your password has been changed" in r.text
    assert console.backend.users.verify("vera", "a new viewer pw") is not None
    r = client.post("/locale", data={"csrf_token": token, "locale": "it", "next": "/"})
    assert r.status_code == 303
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and client.get("/").status_code == 303


# Rate limit -------------------------------------------------------------------------------------
def test_failed_logins_are_rate_limited_per_client_and_per_user(console: Console) -> None:
    client = console.client()
    for _ in range(5):
        r = client.post("/login", data={"username": "admin", "password": "wrong password",
                                        "csrf_token": csrf(client)})
        assert r.status_code == 401
    r = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                    "csrf_token": csrf(client)})
    assert r.status_code == 429 and "Too many failed attempts" in r.text
    assert int(r.headers["retry-after"]) > 0
    # Another user name from the same client: the client is blocked too.
    console.add_user("bruno", "bruno password", "viewer")
    r = client.post("/login", data={"username": "bruno", "password": "bruno password",
                                    "csrf_token": csrf(client)})
    assert r.status_code == 429
    # Another client (another address) for the same user name: the name is blocked.
    other = console.client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    r = other.post("/login", data={"username": "admin", "password": PASSWORD,
                                   "csrf_token": csrf(other)})
    assert r.status_code == 429
    # ... while that client may log in as someone else.
    r = other.post("/login", data={"username": "bruno", "password": "bruno password",
                                   "csrf_token": csrf(other)})
    assert r.status_code == 303
    console.clock.advance(301)  # the window passes
    r = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                    "csrf_token": csrf(client)})
    assert r.status_code == 303


# Administrator -----------------------------------------------------------------------------------
def test_change_password_ends_the_other_sessions(console: Console) -> None:
    a = console.login()
    b = console.login(client=console.client())
    token = csrf(a, "/admin")
    r = a.post("/admin/password", data={"csrf_token": token, "current": "wrong one",
                                        "new": "new password 1", "confirm": "new password 1"})
    assert r.status_code == 400 and "current password is wrong" in r.text
    r = a.post("/admin/password", data={"csrf_token": token, "current": PASSWORD,
                                        "new": "new password 1", "confirm": "new password 2"})
    assert r.status_code == 400 and "differ" in r.text
    r = a.post("/admin/password", data={"csrf_token": token, "current": PASSWORD,
                                        "new": "short", "confirm": "short"})
    assert r.status_code == 400 and "at least 8 characters" in r.text
    r = a.post("/admin/password", data={"csrf_token": token, "current": PASSWORD,
                                        "new": "new password 1", "confirm": "new password 1"})
    assert r.status_code == 200
    assert a.get("/").status_code == 200  # this session goes on
    assert b.get("/").status_code == 303  # the other one ended
    fresh = console.client()
    r = fresh.post("/login", data={"username": "admin", "password": PASSWORD,
                                   "csrf_token": csrf(fresh)})
    assert r.status_code == 401
    console.login(password="new password 1")


def test_admin_adds_a_user_and_the_journal_shows_who_did_what(console: Console) -> None:
    client = console.login()
    token = csrf(client, "/admin")
    r = client.post("/admin/users", data={"csrf_token": token, "username": "bad name!",
                                          "password": "p" * 12, "role": "viewer"})
    assert r.status_code == 400 and "A user name is" in r.text
    r = client.post("/admin/users", data={"csrf_token": token, "username": "gino",
                                          "password": "gino password", "role": "viewer"})
    assert r.status_code == 200 and "User gino added" in r.text
    assert re.search(r"<td>gino</td><td>viewer", r.text)
    assert console.backend.users.get("gino").role == "viewer"  # type: ignore[union-attr]
    dash = client.get("/api/dashboard").text
    assert "added a user" in dash and "gino (viewer)" in dash
    assert re.search(r"<td>admin</td><td>logged in</td>", dash)


# Pages ------------------------------------------------------------------------------------------
def test_the_locale_switch_turns_the_pages_italian(console: Console) -> None:
    client = console.login()
    r = client.post("/locale", data={"csrf_token": csrf(client, "/"), "locale": "it",
                                     "next": "/admin"})
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    cookie = _cookie_header(r, "console_locale")
    assert "console_locale=it" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/admin").text
    assert '<html lang="it">' in page and "Cambia la tua password" in page
    assert "Amministratore" in page


def test_the_dashboard_shows_parts_errors_and_refreshes(console_factory) -> None:
    c = console_factory(**{"import": {"enabled": True}})
    c.add_user()
    c.backend.store.record_event("error", "import", "the ERP refused order 42: missing customer")
    from connector import controls

    controls.pause(c.backend.store, "export", who="maria")
    client = c.login()
    page = client.get("/").text
    assert 'data-refresh="/api/dashboard"' in page
    assert "Export" in page and "orders" in page
    assert "the ERP refused order 42: missing customer" in page
    assert re.search(r'<tr class="part-paused">\s*<td>Export</td>', page)
    assert "Paused parts: export" in page
    assert re.search(r"<td>maria</td><td>paused a part</td><td>export</td>", page)


def test_the_configuration_is_shown_with_secrets_masked(console_factory) -> None:
    c = console_factory(sandbox={"enabled": False, "auth_key": "sandbox-secret-xyz"},
                        extract={"enabled": False,
                                 "url": "postgresql://erp:hunter2pw@db.example/erp"})
    c.add_user()
    page = c.login().get("/config").text
    assert "sandbox-secret-xyz" not in page and "hunter2pw" not in page
    assert "sandbox.auth_key" in page and "postgresql://erp:***@db.example/erp" in page
    assert "company" in page and "ACME" in page
    assert "connector doctor" in page  # the checks, or where they will be


def _write_log(path, *events: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps(ev) + "\n")


def test_logs_filter_by_level_and_text_and_link_correlation_ids(console: Console) -> None:
    log = console.backend.log_file()
    _write_log(log,
               {"timestamp": "2026-12-01T10:00:00", "level": "info", "logger": "x",
                "event": "published io_art.dat", "correlation_id": "file-abc123"},
               {"timestamp": "2026-12-01T10:00:01", "level": "error", "logger": "x",
                "event": "ERP refused the order", "correlation_id": "record-o-77"},
               {"timestamp": "2026-12-01T10:00:02", "level": "info", "logger": "x",
                "event": "<script>alert(1)</script>"})
    client = console.login()
    page = client.get("/logs").text
    assert "published io_art.dat" in page and "ERP refused the order" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'href="/logs?q=file-abc123"' in page
    page = client.get("/logs", params={"level": "error"}).text
    assert "ERP refused the order" in page and "published io_art.dat" not in page
    page = client.get("/logs", params={"q": "file-abc123"}).text
    assert "published io_art.dat" in page and "ERP refused the order" not in page


def test_logs_follow_live_over_server_sent_events(console: Console) -> None:
    log = console.backend.log_file()
    _write_log(log, {"level": "info", "event": "before the stream"})
    client = console.login()
    with client.stream("GET", "/logs/stream", params={"level": "warning"},
                       headers={"accept": "text/event-stream"}, timeout=15) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        assert next(lines).startswith("retry:")
        _write_log(log, {"level": "info", "event": "not shown: below the level"},
                   {"level": "warning", "event": "disk nearly full", "correlation_id": "file-1"})
        for line in lines:
            if line.startswith("data: "):
                ev = json.loads(line[6:])
                assert ev["event"] == "disk nearly full" and ev["cid"] == "file-1"
                break
        # rotation: the file is renamed away and a new one started
        log.rename(log.with_name("connector.log.1"))
        _write_log(log, {"level": "error", "event": "after rotation"})
        for line in lines:
            if line.startswith("data: "):
                assert json.loads(line[6:])["event"] == "after rotation"
                break


def test_unknown_pages_are_404(console: Console) -> None:
    client = console.login()
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/static/../setup.cfg").status_code == 404
    assert client.get("/static/console.css").status_code == 200


def test_status_only_server_has_no_pages_and_no_login(console_factory: Callable) -> None:
    c = console_factory(settings={"status_only": True})
    client = c.client()
    assert client.get("/status").json()["company"] == "ACME"
    assert client.get("/healthz").status_code == 200
    r = client.get("/login")
    assert r.status_code == 404 and "/healthz" in r.json()["endpoints"]
    assert client.get("/").status_code == 404


def test_stopping_the_server_ends_a_live_log_at_once(console: Console) -> None:
    import threading
    import time

    client = console.login()
    with client.stream("GET", "/logs/stream", timeout=15) as r:
        lines = r.iter_lines()
        assert next(lines).startswith("retry:")
        started = time.monotonic()
        stopper = threading.Thread(target=console.server.stop)
        stopper.start()
        for _ in lines:  # the stream ends (the server closes it), no event needed
            pass
        stopper.join(15)
        assert not stopper.is_alive()
    assert time.monotonic() - started < 3.0


def test_the_rate_limiter_forgets_old_keys_beyond_its_bound() -> None:
    from service.console.auth import RateLimiter

    now = [0.0]
    limiter = RateLimiter(5, 300, lambda: now[0])
    limiter.MAX_KEYS = 100  # type: ignore[misc]
    for i in range(100):
        limiter.fail(f"user:{i}")
    now[0] = 301.0
    limiter.fail("user:new")
    assert limiter.retry_after("user:new") == 0
    assert len(limiter._fails) == 1


def test_the_doctors_checks_run_on_request(console: Console, monkeypatch) -> None:
    import sys
    import types
    from dataclasses import dataclass

    @dataclass
    class Check:
        name: str
        ok: bool | None
        message: str

    calls: list[object] = []

    def run_checks(cfg: object) -> list[Check]:
        calls.append(cfg)
        return [Check("folder export.watch", True, "OK, 20 GB free"),
                Check("dropbox", None, "the folder is not synced by Dropbox"),
                Check("appmanager", False, "AppManager refused the authKey: set APPMANAGER_AUTH_KEY")]

    monkeypatch.setitem(sys.modules, "connector.doctor",
                        types.SimpleNamespace(run_checks=run_checks))
    client = console.login()
    page = client.get("/config").text
    assert 'href="/config?checks=1"' in page and not calls  # not on every visit
    page = client.get("/config", params={"checks": "1"}).text
    assert len(calls) == 1
    assert "OK, 20 GB free" in page and "AppManager refused the authKey" in page
    assert 'badge paused">warning' in page and 'badge down">failed' in page


class _Beating:
    """A loop that works: beats until stopped."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, stop, beat) -> None:  # type: ignore[no-untyped-def]
        while not stop.wait(0.05):
            beat()


class _Refused:
    """A loop that stops with a reason an operator must act on."""

    name = "import"

    def run(self, stop, beat) -> None:  # type: ignore[no-untyped-def]
        from connector.errors import AuthError

        raise AuthError("AppManager rejected the authKey: check APPMANAGER_AUTH_KEY")


def test_the_dashboard_says_which_part_works_and_why_one_does_not(console_factory) -> None:
    import time

    c = console_factory(loops=[_Beating("export"), _Refused()], **{"import": {"enabled": True}})
    c.add_user()
    client = c.login()
    deadline = time.monotonic() + 10
    while True:
        page = client.get("/api/dashboard").text
        if "AppManager rejected the authKey" in page or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert re.search(r'<tr class="part-ok">\s*<td>Export</td>\s*<td><span class="badge ok">'
                     r'working', page)
    assert re.search(r'<tr class="part-down">\s*<td>Import: orders</td>', page)
    assert "AppManager rejected the authKey: check APPMANAGER_AUTH_KEY" in page
    assert "Something needs attention" in page
