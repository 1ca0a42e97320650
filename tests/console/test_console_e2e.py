"""The console in a real browser: Debian's Chromium driven by Playwright.

Log in, read the dashboard (which refreshes by itself), follow the log live, switch to
Italian, change the password. With CONSOLE_SCREENSHOTS=1 the pages are saved as PNG into
docs/guide/img/ (the pictures of docs/guide/console.md); a normal run writes nothing there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from console_helpers import PASSWORD, Console

IMG = Path(__file__).resolve().parents[2] / "docs" / "guide" / "img"
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS") == "1"


def shot(page: Any, name: str, full_page: bool = True) -> None:
    if SHOTS:
        IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMG / f"console-{name}.png"), full_page=full_page)


@pytest.fixture
def page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    p = context.new_page()
    p.set_default_timeout(15000)
    yield p
    context.close()


def _log(path: Path, **ev: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(ev) + "\n")


def test_log_in_read_the_pages_switch_to_italian_and_change_password(
        console_factory: Any, page: Any) -> None:
    from playwright.sync_api import expect

    c: Console = console_factory(**{"import": {"enabled": True}})
    c.add_user()
    c.add_user("lucia", "lucia password", "viewer")
    store = c.backend.store
    store.record_event("error", "import", "orders: the ERP refused order 1042 (customer "
                                          "C0007 unknown); retried in 5 minutes")
    log = c.backend.log_file()
    _log(log, timestamp="2026-12-01T09:14:03", level="info", logger="connector.export",
         event="published", file="io_art.dat", rows=1520, correlation_id="file-3f9a1c2b7d10")
    _log(log, timestamp="2026-12-01T09:15:41", level="warning", logger="connector.importing",
         event="ERP refused the record; retrying later", stream="orders",
         correlation_id="record-ord-1042")

    page.goto(c.url + "/")
    expect(page).to_have_url(c.url + "/login")
    shot(page, "login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not the password")
    page.click("form.card button[type=submit]")
    expect(page.locator("p.error")).to_contain_text("Wrong user name or password")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.card button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("table.parts")).to_contain_text("orders")
    expect(page.locator("ul.errors")).to_contain_text("the ERP refused order 1042")

    # The dashboard refreshes by itself: an action taken elsewhere shows up without a reload.
    c.backend.record_action("import now", "orders", "lucia")
    expect(page.locator("table.actions")).to_contain_text("lucia", timeout=15000)
    shot(page, "dashboard")

    # Logs: the past, then live (server-sent events); a correlation id is a link.
    page.click("nav >> text=Logs")
    expect(page.locator("table.logs")).to_contain_text("published")
    expect(page.locator("a.cid", has_text="file-3f9a1c2b7d10")).to_have_attribute(
        "href", "/logs?q=file-3f9a1c2b7d10")
    # The stream is open (from the end of the file as it was then): a new line shows.
    expect(page.locator("#log-table[data-live='1']")).to_have_count(1)
    _log(log, timestamp="2026-12-01T09:16:02", level="error", logger="connector.export",
         event="file refused, moved to quarantine", file="io_cli.dat",
         correlation_id="file-77aa01be22c3")
    expect(page.locator("table.logs")).to_contain_text("file refused, moved to quarantine")
    shot(page, "logs")

    page.click("nav >> text=Configuration")
    expect(page.locator("h1")).to_have_text("Configuration")
    shot(page, "configuration", full_page=False)  # the first screen: the whole is long

    # Italian, kept across pages.
    page.select_option("#locale-select", "it")
    expect(page.locator("h1")).to_have_text("Configurazione")
    page.click("nav >> text=Cruscotto")
    expect(page.locator("h1")).to_have_text("Cruscotto")
    shot(page, "dashboard-it")

    # Change the password, log out, log in with the new one.
    page.click("nav >> text=Amministratore")
    shot(page, "administrator-it")
    page.fill("#password-form input[name=current]", PASSWORD)
    page.fill("#password-form input[name=new]", "a brand new password")
    page.fill("#password-form input[name=confirm]", "a brand new password")
    page.click("#password-form button[type=submit]")
    expect(page.locator("p.flash")).to_have_text("La tua password è stata cambiata.")
    page.click("header form[action='/logout'] button")
    expect(page).to_have_url(c.url + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "a brand new password")
    page.click("form.card button[type=submit]")
    expect(page.locator("h1")).to_have_text("Cruscotto")
    assert c.backend.users.verify("admin", PASSWORD) is None
